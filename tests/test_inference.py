"""Tests for kerasreg.inference: mc_predict, dropout_layers, fold_batchnorm.

References: a NumPy forward pass with BatchNormalization in inference mode
(mc_predict's mean within 5 standard errors of the Monte Carlo estimate),
and the unfolded model itself (fold_batchnorm within 1e-4 of the largest
output, the contract's relative tolerance).
"""

import doctest

import keras
import numpy as np
import pytest

import kerasreg.inference
from kerasreg.inference import dropout_layers, fold_batchnorm, mc_predict
from kerasreg.layers import MCDropout, VanillaDropout

FOLD_TOLERANCE = 1e-4


def _randomize_batchnorms(model, rng=None):
    """Moving mean far from 0, variance far from 1, random gamma and beta."""
    rng = rng or np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            _randomize_batchnorms(layer, rng)
        elif isinstance(layer, keras.layers.BatchNormalization):
            channels = layer.moving_mean.shape[0]
            values = {"gamma": rng.uniform(0.5, 2.0, channels),
                      "beta": rng.normal(0.0, 1.0, channels),
                      "moving_mean": rng.normal(3.0, 1.0, channels),
                      "moving_variance": rng.uniform(0.2, 4.0, channels)}
            for weight in layer.weights:
                weight.assign(values[weight.name].astype("float32"))
    return model


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


# ---------------------------------------------------------------- mc_predict

def _dense_bn_dropout_dense(rate=0.5):
    inputs = keras.Input((5,))
    hidden = keras.layers.Dense(8, name="dense_1")(inputs)
    hidden = keras.layers.BatchNormalization(name="bn")(hidden)
    hidden = keras.layers.Dropout(rate, seed=1, name="dropout")(hidden)
    outputs = keras.layers.Dense(3, name="dense_2")(hidden)
    return _randomize_batchnorms(keras.Model(inputs, outputs))


def _features(rows=6, columns=5):
    return np.random.default_rng(0).normal(size=(rows, columns)).astype("float32")


def _numpy_inference(model, x):
    """Dense -> BatchNormalization (moving statistics) -> E[dropout] = identity -> Dense."""
    kernel_1, bias_1 = model.get_layer("dense_1").get_weights()
    gamma, beta, mean, variance = model.get_layer("bn").get_weights()
    kernel_2, bias_2 = model.get_layer("dense_2").get_weights()
    epsilon = model.get_layer("bn").epsilon
    hidden = gamma * (x @ kernel_1 + bias_1 - mean) / np.sqrt(variance + epsilon) + beta
    return hidden @ kernel_2 + bias_2


def test_mc_predict_mean_keeps_batchnorm_in_inference_mode():
    model, x, samples = _dense_bn_dropout_dense(), _features(), 4000
    mean, std = mc_predict(model, x, samples=samples, seed=0)
    standard_error = std / np.sqrt(samples)
    assert np.all(np.abs(mean - _numpy_inference(model, x)) <= 5 * standard_error + 1e-5)


def test_mc_predict_differs_from_training_mode_trap():
    model, x = _dense_bn_dropout_dense(), _features()
    mean, _ = mc_predict(model, x, samples=200, seed=0)
    # The trap: training=True also normalizes with the batch's own statistics.
    trap = _numpy(model(np.tile(x, (200, 1)), training=True)).reshape(200, *mean.shape)
    assert np.abs(trap.mean(axis=0) - mean).max() > 1.0


def test_mc_predict_masks_differ():
    _, std = mc_predict(_dense_bn_dropout_dense(), _features(), samples=20, seed=0)
    assert np.all(std > 0)


def test_mc_predict_std_is_zero_without_dropout():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8),
                              keras.layers.BatchNormalization(), keras.layers.Dense(3)])
    x = _features()
    mean, std = mc_predict(_randomize_batchnorms(model), x, samples=20)
    assert np.all(std == 0)
    np.testing.assert_allclose(mean, _numpy(model(x, training=False)), rtol=1e-6, atol=1e-6)


def test_mc_predict_same_seed_same_result():
    model, x = _dense_bn_dropout_dense(), _features()
    first, second = mc_predict(model, x, seed=7), mc_predict(model, x, seed=7)
    other = mc_predict(model, x, seed=8)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])


def test_mc_predict_without_seed_draws_new_masks():
    model, x = _dense_bn_dropout_dense(), _features()
    assert not np.array_equal(mc_predict(model, x)[0], mc_predict(model, x)[0])


def test_mc_predict_batches_give_the_shape_of_predict():
    model, x = _dense_bn_dropout_dense(), _features(rows=7)
    mean, std = mc_predict(model, x, samples=3, batch_size=2, seed=0)
    assert mean.shape == std.shape == model.predict(x, verbose=0).shape


def test_mc_predict_reaches_nested_models():
    block = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8),
                              keras.layers.Dropout(0.5)])
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(2)(block(inputs)))
    assert dropout_layers(model) == [block.layers[1]]
    _, std = mc_predict(model, _features(), samples=10, seed=0)
    assert np.all(std > 0)


@pytest.mark.parametrize("make_dropout", [
    lambda: keras.layers.SpatialDropout1D(0.5), lambda: keras.layers.GaussianDropout(0.5),
    lambda: keras.layers.AlphaDropout(0.5), lambda: VanillaDropout(0.5),
    lambda: MCDropout(0.5)],
    ids=["SpatialDropout1D", "GaussianDropout", "AlphaDropout", "VanillaDropout", "MCDropout"])
def test_mc_predict_switches_on_each_dropout_type(make_dropout):
    model = keras.Sequential([keras.Input((4, 5)), keras.layers.Dense(6), make_dropout(),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    _, std = mc_predict(model, _features().reshape(6, 1, 5).repeat(4, axis=1),
                        samples=10, seed=0)
    assert np.all(std > 0)


def test_mc_predict_leaves_the_model_deterministic_afterwards():
    model, x = _dense_bn_dropout_dense(), _features()
    state = _numpy(model.get_layer("dropout").seed_generator.state)
    mc_predict(model, x, seed=0)
    assert "call" not in vars(model.get_layer("dropout"))
    np.testing.assert_array_equal(_numpy(model(x)), _numpy(model(x)))
    np.testing.assert_array_equal(
        _numpy(model.get_layer("dropout").seed_generator.state), state)


def test_mc_predict_restores_dropout_layers_after_an_error():
    model = _dense_bn_dropout_dense()
    with pytest.raises(ValueError):
        mc_predict(model, np.ones((2, 7), "float32"), seed=0)  # wrong feature count
    assert "call" not in vars(model.get_layer("dropout"))
    x = _features()
    np.testing.assert_array_equal(_numpy(model(x)), _numpy(model(x)))


@pytest.mark.parametrize("samples", [0, -1, 2.5, True])
def test_mc_predict_rejects_bad_samples(samples):
    with pytest.raises(ValueError, match=f"`samples` must be an integer >= 1. "
                                         f"Received: samples={samples!r}"):
        mc_predict(_dense_bn_dropout_dense(), _features(), samples=samples)


@pytest.mark.parametrize("argument, value, requirement", [
    ("batch_size", 0, "an integer >= 1"), ("seed", -1, "an integer >= 0"),
    ("seed", 1.5, "an integer >= 0")])
def test_mc_predict_rejects_bad_batch_size_and_seed(argument, value, requirement):
    with pytest.raises(ValueError, match=f"`{argument}` must be {requirement}. "
                                         f"Received: {argument}={value!r}"):
        mc_predict(_dense_bn_dropout_dense(), _features(), **{argument: value})


# ------------------------------------------------------------ fold_batchnorm

def _batchnorm_names(model):
    names = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            names += _batchnorm_names(layer)
        elif isinstance(layer, keras.layers.BatchNormalization):
            names.append(layer.name)
    return names


def _images(shape=(4, 12, 12, 3)):
    return np.random.default_rng(0).normal(size=shape).astype("float32")


def _assert_same_predictions(model, folded, x):
    expected = _numpy(model(x, training=False))
    np.testing.assert_allclose(_numpy(folded(x, training=False)), expected, rtol=FOLD_TOLERANCE,
                               atol=FOLD_TOLERANCE * np.abs(expected).max())


def _mixed_model():
    """Foldable: conv (no bias), depthwise (no bias, multiplier 2), dense; kept: two."""
    layers = keras.layers
    inputs = keras.Input((12, 12, 3))
    x = layers.Conv2D(8, 3, use_bias=False, name="conv")(inputs)
    x = layers.BatchNormalization(name="bn_conv")(x)
    x = layers.ReLU()(x)
    y = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False,
                               name="depthwise")(x)
    y = layers.BatchNormalization(name="bn_depthwise")(y)
    y = layers.Activation("relu")(y)
    y = layers.BatchNormalization(name="bn_after_activation")(y)
    z = layers.Conv2D(16, 1, name="conv_bias")(x)
    z = layers.BatchNormalization(name="bn_conv_bias")(z)
    x = layers.BatchNormalization(name="bn_after_add")(layers.Add()([y, z]))
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(5, name="dense")(x)
    outputs = layers.BatchNormalization(name="bn_dense")(x)
    return _randomize_batchnorms(keras.Model(inputs, outputs))


KEPT = ["bn_after_activation", "bn_after_add"]


def test_fold_batchnorm_keeps_predictions():
    model = _mixed_model()
    _assert_same_predictions(model, fold_batchnorm(model), _images())


def test_fold_batchnorm_removes_exactly_the_foldable_batchnorms():
    folded = fold_batchnorm(_mixed_model())
    assert sorted(_batchnorm_names(folded)) == KEPT
    assert len(folded.layers) == len(_mixed_model().layers) - 4


def test_fold_batchnorm_adds_a_bias_to_layers_without_one():
    folded = fold_batchnorm(_mixed_model())
    assert folded.get_layer("conv").use_bias and folded.get_layer("depthwise").use_bias


def test_fold_batchnorm_leaves_the_input_model_unchanged():
    model = _mixed_model()
    weights, count = [w.copy() for w in model.get_weights()], len(model.layers)
    fold_batchnorm(model)
    assert len(model.layers) == count and len(_batchnorm_names(model)) == 6
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_fold_batchnorm_folds_sequential_models():
    layers = keras.layers
    model = keras.Sequential([keras.Input((12, 12, 3))] + [
        layer for filters in (8, 16) for layer in (
            layers.Conv2D(filters, 3, use_bias=False), layers.BatchNormalization(),
            layers.ReLU())] + [layers.Flatten(), layers.Dense(4), layers.BatchNormalization()])
    folded = fold_batchnorm(_randomize_batchnorms(model))
    assert isinstance(folded, keras.Sequential) and _batchnorm_names(folded) == []
    _assert_same_predictions(model, folded, _images())


def test_fold_batchnorm_folds_nested_models():
    block = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.BatchNormalization()])
    inputs = keras.Input((12, 12, 3))
    model = _randomize_batchnorms(keras.Model(inputs, keras.layers.ReLU()(block(inputs))))
    folded = fold_batchnorm(model)
    assert _batchnorm_names(folded) == []
    _assert_same_predictions(model, folded, _images())


@pytest.mark.parametrize("layer, shape", [
    (keras.layers.Conv1D(6, 3), (4, 10, 3)),
    (keras.layers.Conv3D(6, 3), (4, 6, 6, 6, 3)),
    (keras.layers.Conv2D(6, 3, groups=3), (4, 8, 8, 3)),
    (keras.layers.DepthwiseConv1D(3, depth_multiplier=3), (4, 10, 3)),
    (keras.layers.SeparableConv2D(6, 3, depth_multiplier=2), (4, 8, 8, 3)),
    (keras.layers.Dense(6), (4, 7, 3))],
    ids=["Conv1D", "Conv3D", "grouped Conv2D", "DepthwiseConv1D", "SeparableConv2D",
         "Dense on rank 3"])
def test_fold_batchnorm_folds_each_layer_type(layer, shape):
    model = keras.Sequential([keras.Input(shape[1:]), layer, keras.layers.BatchNormalization()])
    folded = fold_batchnorm(_randomize_batchnorms(model))
    assert _batchnorm_names(folded) == []
    _assert_same_predictions(model, folded, _images(shape))


@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_fold_batchnorm_handles_center_and_scale_off(center, scale):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.BatchNormalization(center=center, scale=scale,
                                                              epsilon=0.1)])
    folded = fold_batchnorm(_randomize_batchnorms(model))
    assert _batchnorm_names(folded) == []
    _assert_same_predictions(model, folded, _images((4, 8, 8, 3)))


def test_fold_batchnorm_keeps_batchnorm_after_a_nonlinear_activation():
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.BatchNormalization()])
    folded = fold_batchnorm(_randomize_batchnorms(model))
    assert len(_batchnorm_names(folded)) == 1
    _assert_same_predictions(model, folded, _images((4, 8, 8, 3)))


def test_fold_batchnorm_keeps_batchnorm_whose_input_is_also_used_elsewhere():
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3)(inputs)
    outputs = keras.layers.Add()([keras.layers.BatchNormalization()(conv), conv])
    model = _randomize_batchnorms(keras.Model(inputs, outputs))
    folded = fold_batchnorm(model)
    assert len(_batchnorm_names(folded)) == 1
    _assert_same_predictions(model, folded, _images((4, 8, 8, 3)))


def test_fold_batchnorm_keeps_batchnorm_called_in_training_mode():
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3)(inputs)
    model = keras.Model(inputs, keras.layers.BatchNormalization()(conv, training=True))
    folded = fold_batchnorm(_randomize_batchnorms(model))
    assert len(_batchnorm_names(folded)) == 1
    _assert_same_predictions(model, folded, _images((4, 8, 8, 3)))


def test_fold_batchnorm_rejects_a_non_graph_model():
    class Subclassed(keras.Model):
        def call(self, inputs):
            return inputs

    with pytest.raises(ValueError, match="`model` must be a Functional or Sequential"):
        fold_batchnorm(Subclassed())


def test_inference_docstring_examples_run():
    results = doctest.testmod(kerasreg.inference)
    assert results.attempted > 0 and results.failed == 0
