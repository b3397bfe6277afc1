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


# Every public layer, in one place: a new layer in kerasreg.layers without an
# entry here fails tests/test_public_layers.py. Each entry builds the layer with
# non-default arguments and gives an input shape.
def layer_cases():
    import kerasreg.layers as kl

    image = (8, 8, 3)
    cases = {
        "AugmentationPipeline": (lambda: kl.AugmentationPipeline(
            [keras.layers.RandomFlip(seed=1), kl.Cutout(2, seed=2)], value_range=(0, 1),
            name="augment"), image),
        "Cutout": (lambda: kl.Cutout(0.25, count=2, fill_value=0.5, seed=1), image),
        "Dequantize": (lambda: kl.Dequantize(16, seed=1), image),
        "GroupNorm": (lambda: kl.GroupNorm(
            3, epsilon=1e-3, gamma_regularizer=keras.regularizers.L2(0.1),
            beta_constraint="non_neg", gamma_initializer="zeros"), image),
        "InstanceNorm": (lambda: kl.InstanceNorm(
            epsilon=1e-3, gamma_regularizer=keras.regularizers.L2(0.1),
            beta_constraint="non_neg", beta_initializer="ones"), image),
        "MCDropout": (lambda: kl.MCDropout(0.25, noise_shape=(None, 1, 1, 3), seed=1), image),
        "PCAWhitening": (lambda: kl.PCAWhitening(epsilon=1e-3, zca=True), (5,)),
        "RandomLensDistortion": (lambda: kl.RandomLensDistortion(0.1, seed=1), image),
        "RandomPCALighting": (lambda: kl.RandomPCALighting(0.2, seed=1), image),
        "RandomScaleCrop": (lambda: kl.RandomScaleCrop((8, 10), 6, seed=1), image),
        "StochasticDepth": (lambda: kl.StochasticDepth(
            keras.Sequential([keras.layers.Conv2D(3, 1), keras.layers.BatchNormalization()]),
            0.7, mode="sample", scale_at_test=False, seed=1,
            shortcut=keras.layers.Conv2D(3, 1)), image),
        "VanillaDropout": (lambda: kl.VanillaDropout(0.25, seed=1), image),
    }
    if hasattr(kl, "RandAugment"):  # kerasreg/layers/auto_augment.py
        cases["RandAugment"] = (lambda: kl.RandAugment(1, 5, value_range=(0, 1), seed=1),
                                image)
        cases["TrivialAugment"] = (lambda: kl.TrivialAugment(value_range=(0, 1), seed=1),
                                   image)
    return cases


def public_layer_names():
    """The layer classes `kerasreg.layers` exports."""
    import kerasreg.layers

    return sorted(name for name, value in vars(kerasreg.layers).items()
                  if isinstance(value, type) and issubclass(value, keras.layers.Layer))


def built_model(make, input_shape):
    """`Input -> layer` on random data; adapting layers are adapted on it first."""
    layer = make()
    x = np.random.default_rng(0).random((4,) + tuple(input_shape)).astype("float32")
    if hasattr(layer, "adapt"):
        layer.adapt(x)
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs)), x


def assert_loads_in_fresh_processes(directory):
    """Save every public layer here; load each in one fresh process after `import kerasreg`.

    The reload sees only what a bare `import kerasreg` registers (what a
    same-process round trip cannot show). Outputs at inference must match,
    except MCDropout's (random at inference: shape only).
    """
    names = []
    for name, (make, shape) in layer_cases().items():
        model, x = built_model(make, shape)
        model.save(str(directory / f"{name}.keras"))
        np.save(directory / f"{name}_x.npy", x)
        np.save(directory / f"{name}_y.npy", keras.ops.convert_to_numpy(model(x, training=False)))
        names.append(name)
    code = textwrap.dedent(f"""
        import numpy as np, keras, kerasreg
        for name in {names!r}:
            model = keras.models.load_model({str(directory)!r} + f"/{{name}}.keras",
                                            safe_mode=True)
            x = np.load({str(directory)!r} + f"/{{name}}_x.npy")
            y = np.load({str(directory)!r} + f"/{{name}}_y.npy")
            out = keras.ops.convert_to_numpy(model(x, training=False))
            assert out.shape == y.shape and (name == "MCDropout" or np.allclose(out, y)), name
            print("loaded", name)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ), timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("loaded") == len(names)
