"""Checks every kerasreg layer must pass: `.keras` round trip, mixed
precision, and data-parallel execution under `tf.distribute.MirroredStrategy`."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest


def assert_save_load_roundtrip(layer, x, tmp_path):
    """Save a model around `layer`, load it with safe_mode and no custom_objects."""
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, layer(inputs))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(x, training=False)),
        keras.ops.convert_to_numpy(loaded(x, training=False)))
    assert type(loaded.layers[-1]) is type(layer)
    assert loaded.layers[-1].get_config() == layer.get_config()


def assert_runs_mixed_precision(make_layer, x):
    """The layer trains and infers under the `mixed_float16` policy."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        layer = make_layer()
        for training in (True, False):
            y = keras.ops.convert_to_numpy(layer(keras.ops.convert_to_tensor(x), training=training))
            assert y.dtype == np.float16 and np.isfinite(y).all()
    finally:
        keras.config.set_dtype_policy(previous)


def assert_trains_mixed_precision(make_model, x, y, loss="mse", steps=4):
    """A model built by `make_model()` under `mixed_float16` fits `steps` batches.

    Compiled as `fit` compiles it on each backend; the loss stays finite.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = make_model()
        model.compile(keras.optimizers.SGD(0.01), loss)
        history = model.fit(x, y, batch_size=max(1, len(x) // steps), epochs=1, verbose=0)
    finally:
        keras.config.set_dtype_policy(previous)
    assert np.isfinite(history.history["loss"][-1])
    return model


def assert_runs_mirrored(layer_expression, input_shape):
    """Train one epoch of a model holding `layer_expression` on two logical CPUs.

    Runs in a subprocess: logical devices must be configured before
    TensorFlow initializes its devices. Under another backend the test is
    skipped: MirroredStrategy is TensorFlow's (tests/test_distribution.py
    covers JAX's data parallelism).
    """
    if keras.config.backend() != "tensorflow":
        pytest.skip("tf.distribute.MirroredStrategy needs the TensorFlow backend")
    code = textwrap.dedent(f"""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras, kerasreg.layers
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        with strategy.scope():
            inputs = keras.Input({tuple(input_shape)!r})
            x = {layer_expression}(inputs)
            x = keras.layers.Flatten()(x)
            model = keras.Model(inputs, keras.layers.Dense(2)(x))
            model.compile("sgd", "mse")
        x = np.random.default_rng(0).random((16,) + {tuple(input_shape)!r}, "float32")
        history = model.fit(x, np.zeros((16, 2), "float32"), batch_size=8, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        print("ok")
    """)
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=240)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
