"""Checks run on every public layer of kerasreg.layers (cases in tests/layer_checks.py):
registration in a fresh process, every argument through configs and `.keras`, and a
mixed-precision training step."""

import keras
import numpy as np
import pytest

from tests.layer_checks import (assert_loads_in_fresh_processes, assert_trains_mixed_precision,
                                built_model, layer_cases, public_layer_names)


def test_every_public_layer_has_a_harness_case():
    assert public_layer_names() == sorted(layer_cases())


def test_every_public_layer_loads_in_a_fresh_process_after_import_kerasreg(tmp_path):
    assert_loads_in_fresh_processes(tmp_path)


def _seeded(make, seed=0):
    """`make()` with the global seed set: Keras draws an unseeded initializer's seed
    when the layer is made, so the same seed before making and before building
    gives the same initial values."""
    keras.utils.set_random_seed(seed)
    return make()


def _built(layer, input_shape, seed=0):
    keras.utils.set_random_seed(seed)
    layer(keras.Input(input_shape))  # builds nested layers too (Keras' Pipeline has no build)
    return layer


@pytest.mark.parametrize("name", sorted(layer_cases()))
def test_every_constructor_argument_survives_from_config(name):
    """Non-default arguments, and the base class's `name` and `trainable`, come back unchanged.

    (Keras' own `Pipeline`, which AugmentationPipeline extends, has no `trainable`.)
    """
    make, shape = layer_cases()[name]
    original = make()
    config = original.get_config()
    config.update({key: value for key, value in {"name": "renamed", "trainable": False}.items()
                   if key in config or key == "name"})
    layer = _seeded(lambda: type(original).from_config(config))
    copy = _seeded(lambda: type(layer).from_config(layer.get_config()))
    assert copy.get_config() == layer.get_config() == config
    # same initial values: the initializers came back too
    for original, copied in zip(_built(layer, shape).weights, _built(copy, shape).weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(original),
                                      keras.ops.convert_to_numpy(copied))


@pytest.mark.parametrize("name", sorted(layer_cases()))
def test_every_layer_behaves_the_same_after_a_keras_round_trip(name, tmp_path):
    """Outputs, regularization losses and constraints survive `.keras`."""
    model, x = built_model(*layer_cases()[name])
    model.save(str(tmp_path / "model.keras"))
    loaded = keras.models.load_model(str(tmp_path / "model.keras"), safe_mode=True)
    layer, loaded_layer = model.layers[-1], loaded.layers[-1]
    assert loaded_layer.get_config() == layer.get_config()
    outputs = [keras.ops.convert_to_numpy(m(x, training=False)) for m in (model, loaded)]
    if name != "MCDropout":  # random at inference
        np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-6, atol=1e-6)
    losses = [[float(keras.ops.convert_to_numpy(loss)) for loss in m.losses] for m in (model, loaded)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)
    constraints = [[type(weight.constraint).__name__ for weight in m.weights] for m in (model, loaded)]
    assert constraints[0] == constraints[1]


@pytest.mark.parametrize("name", sorted(layer_cases()))
def test_every_layer_trains_a_step_in_mixed_precision(name):
    """`mixed_float16`, the usual Colab GPU setting: one finite training step.

    StochasticDepth's case holds a BatchNormalization in its branch (issue 16 item 1).
    """
    make, shape = layer_cases()[name]
    x = np.random.default_rng(0).random((8,) + tuple(shape)).astype("float32")

    def make_model():
        layer = make()
        if hasattr(layer, "adapt"):
            layer.adapt(x)
        inputs = keras.Input(shape)
        outputs = keras.layers.Dense(2, dtype="float32")(keras.layers.Flatten()(layer(inputs)))
        return keras.Model(inputs, outputs)

    assert_trains_mixed_precision(make_model, x, np.zeros((8, 2), "float32"), steps=2)
