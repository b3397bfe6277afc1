"""Tests for kerasreg.inference: mc_predict, dropout_layers, fold_batchnorm,
bn_audit, recalibrate_bn.

References: a NumPy forward pass with BatchNormalization in inference mode
(mc_predict's mean within 5 standard errors of the Monte Carlo estimate),
the unfolded model itself (fold_batchnorm within 1e-4 of the largest
output, the contract's relative tolerance), a real `fit` and `predict`
(bn_audit's modes: the moving statistics change exactly where it says
"batch statistics"), and NumPy's per-feature mean and biased variance of
each layer's input (recalibrate_bn within 1e-5 relative).
"""

import doctest
import warnings

import keras
import numpy as np
import pytest

import kerasreg.inference
from kerasreg.inference import (BATCH_STATISTICS, MOVING_STATISTICS, bn_audit,
                                dropout_layers, fold_batchnorm, mask_sampling_accuracy,
                                mc_predict, recalibrate_bn)
from kerasreg.layers import MCDropout, StochasticDepth, VanillaDropout

FOLD_TOLERANCE = 1e-4
STATISTICS_TOLERANCE = 1e-5


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


def test_mask_sampling_accuracy_scores_mc_predict_and_predict():
    model, x = _dense_bn_dropout_dense(), _features(rows=40)
    y = np.arange(40) % 3
    sampled, scaled = mask_sampling_accuracy(model, x, y, mask_counts=(1, 7), seed=3)
    for count, accuracy in zip((1, 7), sampled):
        mean, _ = mc_predict(model, x, samples=count, seed=3)
        assert accuracy == np.mean(mean.argmax(axis=1) == y)
    assert scaled == np.mean(model.predict(x, verbose=0).argmax(axis=1) == y)


def test_mask_sampling_accuracy_equals_scaling_without_dropout():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    x, y = _features(rows=20), np.arange(20) % 3
    sampled, scaled = mask_sampling_accuracy(model, x, y, mask_counts=(1, 5), seed=0)
    assert sampled == [scaled, scaled]


@pytest.mark.parametrize("mask_counts", [(0,), (1, 2.5), (-3,)])
def test_mask_sampling_accuracy_rejects_bad_mask_counts(mask_counts):
    model, x = _dense_bn_dropout_dense(), _features()
    with pytest.raises(ValueError, match="mask_counts"):
        mask_sampling_accuracy(model, x, np.zeros(len(x), "int32"), mask_counts=mask_counts)


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


def test_mc_predict_rejects_an_empty_batch():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dropout(0.5),
                              keras.layers.Dense(2)])
    with pytest.raises(ValueError) as error:
        mc_predict(model, np.zeros((0, 5), "float32"))
    assert str(error.value) == ("`x` must be an array of at least one example. "
                                "Received: x of shape (0, 5)")


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

def _batchnorms(model):
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += _batchnorms(layer)
        elif isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
    return found


def _batchnorm_names(model):
    return [layer.name for layer in _batchnorms(model)]


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


# ------------------------------------------------------------------ bn_audit

def _base(name="base"):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, name="dense"),
                             keras.layers.BatchNormalization(name="bn1")], name=name)


def _fine_tuning_model(base_trainable=True, training=False):
    """The transfer-learning recipe: `base(x, training=False)` under a new head."""
    base = _base()
    base.trainable = base_trainable
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(1)(base(inputs, training=training)),
                       name="outer")


def _batchnorm_written(training):
    inputs = keras.Input((4,))
    hidden = keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(4)(inputs),
                                                        training=training)
    return keras.Model(inputs, keras.layers.Dense(1)(hidden), name="outer")


class _SiblingAfterInference(keras.Model):
    """Keras 3: a training=False passed to one sublayer also reaches the calls after it."""

    def __init__(self):
        super().__init__(name="outer")
        self.first = keras.layers.BatchNormalization()
        self.second = keras.layers.BatchNormalization()

    def call(self, inputs, training=None):
        return self.first(inputs, training=False) + self.second(inputs)


class _ExplicitInference(keras.Model):
    """A subclassed model whose `call` passes training=False to its base itself."""

    def __init__(self):
        super().__init__(name="outer")
        self.base = _base()
        self.head = keras.layers.Dense(1)

    def call(self, inputs, training=None):
        return self.head(self.base(inputs, training=False))


def _shifted_features(rows=16):
    return np.random.default_rng(1).normal(3.0, 2.0, size=(rows, 4)).astype("float32")


def _moving_variances(model):
    return [_numpy(layer.moving_variance).copy() for layer in _batchnorms(model)]


def _changed(model, action):
    """Which BatchNormalization layers' moving variances `action()` changes."""
    before = _moving_variances(model)
    action()
    return [not np.array_equal(old, new) for old, new in zip(before, _moving_variances(model))]


AUDIT_MODELS = {
    "base(x, training=False), base unfrozen": lambda: _fine_tuning_model(),
    "base(x, training=False), base frozen": lambda: _fine_tuning_model(base_trainable=False),
    "base(x, training=True)": lambda: _fine_tuning_model(training=True),
    "base inside a Sequential": lambda: keras.Sequential(
        [keras.Input((4,)), _base(), keras.layers.Dense(1)], name="outer"),
    "bn(x, training=False)": lambda: _batchnorm_written(False),
    "bn(x, training=True)": lambda: _batchnorm_written(True),
    "subclassed call passes training=False": _ExplicitInference,
    "subclassed call, a sibling after training=False": _SiblingAfterInference,
}


@pytest.mark.parametrize("make_model", AUDIT_MODELS.values(), ids=AUDIT_MODELS.keys())
def test_bn_audit_modes_match_what_fit_and_predict_really_do(make_model):
    model, x = make_model(), _shifted_features()
    audit = bn_audit(model, x[:2])
    model.compile(optimizer="sgd", loss="mse")
    fit_changed = _changed(model, lambda: model.fit(x, np.zeros((16, 1)), batch_size=16,
                                                     verbose=0))
    predict_changed = _changed(model, lambda: model.predict(x, verbose=0))
    assert fit_changed == [row.fit_mode == BATCH_STATISTICS for row in audit.rows]
    assert predict_changed == [row.predict_mode == BATCH_STATISTICS for row in audit.rows]


def test_bn_audit_flags_the_fine_tuning_trap():
    row, = bn_audit(_fine_tuning_model()).rows
    assert (row.name, row.trainable, row.training_argument) == ("outer/base/bn1", True, False)
    assert (row.fit_mode, row.predict_mode, row.trap) == (
        BATCH_STATISTICS, MOVING_STATISTICS, True)


def test_bn_audit_frozen_base_uses_moving_statistics_without_trap():
    row, = bn_audit(_fine_tuning_model(base_trainable=False)).rows
    assert (row.trainable, row.fit_mode, row.predict_mode, row.trap) == (
        False, MOVING_STATISTICS, MOVING_STATISTICS, False)


def test_bn_audit_flags_training_true_that_predict_overrides():
    row, = bn_audit(_batchnorm_written(True)).rows
    assert (row.training_argument, row.predict_mode, row.trap) == (True, MOVING_STATISTICS, True)


def test_bn_audit_no_training_argument_is_no_trap():
    model = keras.Sequential([keras.Input((4,)), _base(), keras.layers.Dense(1)], name="outer")
    row, = bn_audit(model).rows
    assert (row.training_argument, row.fit_mode, row.trap) == (None, BATCH_STATISTICS, False)


def test_bn_audit_shows_training_false_leaking_to_a_later_sibling():
    rows = bn_audit(_SiblingAfterInference(), _shifted_features(2)).rows
    assert [(row.training_argument, row.fit_mode) for row in rows] == [
        (False, MOVING_STATISTICS), (False, MOVING_STATISTICS)]


def test_bn_audit_names_layers_by_their_path_through_nested_models():
    middle = keras.Sequential([keras.Input((4,)), _base("inner"),
                               keras.layers.BatchNormalization(name="bn2")], name="middle")
    inputs = keras.Input((4,))
    outer = keras.Model(inputs, keras.layers.BatchNormalization(name="bn3")(middle(inputs)),
                        name="outer")
    assert [row.name for row in bn_audit(outer).rows] == [
        "outer/middle/inner/bn1", "outer/middle/bn2", "outer/bn3"]


def test_bn_audit_names_a_batchnorm_inside_a_wrapper_layer():
    drop_path = StochasticDepth(_base("branch"), 0.5, mode="sample", name="drop_path")
    model = keras.Sequential([keras.Input((4,)), drop_path], name="outer")
    row, = bn_audit(model).rows
    assert (row.name, row.fit_mode) == ("outer/drop_path/branch/bn1", BATCH_STATISTICS)


def test_bn_audit_joins_the_modes_of_a_layer_called_twice():
    class TwoCalls(keras.Model):
        def __init__(self):
            super().__init__()
            self.bn = keras.layers.BatchNormalization()

        def call(self, inputs, training=None):
            return self.bn(inputs) + self.bn(inputs, training=False)

    row, = bn_audit(TwoCalls(), _shifted_features(2)).rows
    assert row.fit_mode == f"{BATCH_STATISTICS} / {MOVING_STATISTICS}"
    assert not row.trap  # the explicit training=False is obeyed under fit


def test_bn_audit_leaves_every_variable_and_call_unchanged():
    model = _randomize_batchnorms(_fine_tuning_model())
    before = [_numpy(variable).copy() for variable in model.variables]
    bn_audit(model, _shifted_features())
    for old, variable in zip(before, model.variables, strict=True):
        np.testing.assert_array_equal(old, _numpy(variable))
    assert "call" not in vars(model.get_layer("base").get_layer("bn1"))


def test_bn_audit_restores_the_calls_after_an_error():
    model = _fine_tuning_model()
    with pytest.raises(ValueError):
        bn_audit(model, np.ones((2, 7), "float32"))  # wrong feature count
    assert "call" not in vars(model.get_layer("base").get_layer("bn1"))


def test_bn_audit_table_and_summary():
    text = str(bn_audit(_fine_tuning_model()))
    assert text.splitlines() == [
        "layer           trainable  training=  fit               predict            trap",
        "outer/base/bn1  True       False      batch statistics  moving statistics  TRAP",
        "1 BatchNormalization layer, 1 trap "
        "(fit or predict ignores the `training=` written in the model)"]


def test_bn_audit_of_a_model_without_batchnorm_is_empty():
    audit = bn_audit(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))
    assert audit.rows == [] and str(audit).splitlines()[-1] == (
        "0 BatchNormalization layers, 0 traps")


def test_bn_audit_needs_x_when_the_input_shape_is_unknown():
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.BatchNormalization()])
    with pytest.raises(ValueError, match="`x` must be a batch of inputs when `model` has no "
                                         "fixed input shape. Received: x=None"):
        bn_audit(model)
    assert len(bn_audit(model, np.ones((2, 5, 3), "float32")).rows) == 1


def test_bn_audit_needs_x_for_a_subclassed_model():
    with pytest.raises(ValueError, match="`x` must be a batch of inputs"):
        bn_audit(_ExplicitInference())


def _named_inputs_model():
    """Inputs "a" (3 features) and "b" (1), concatenated, then BatchNormalization."""
    a, b = keras.Input((3,), name="a"), keras.Input((1,), name="b")
    outputs = keras.layers.BatchNormalization(name="bn")(keras.layers.Concatenate()([a, b]))
    return keras.Model({"a": a, "b": b}, outputs, name="outer")


def test_bn_audit_probes_a_model_with_named_inputs_in_their_structure():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # Keras: "structure of `inputs` ..."
        row, = bn_audit(_named_inputs_model()).rows
    assert row.fit_mode == BATCH_STATISTICS


def test_bn_audit_rejects_a_non_model():
    with pytest.raises(ValueError, match="`model` must be a keras.Model. Received: model="):
        bn_audit(keras.layers.BatchNormalization())


# ------------------------------------------------------------ recalibrate_bn

def _dense_features(model, x, layer_name):
    """NumPy: the output of `model`'s Dense layer `layer_name` (no activation)."""
    kernel, bias = model.get_layer(layer_name).get_weights()
    return x.astype("float64") @ kernel + bias


def _assert_statistics(bn, features):
    """Moving statistics equal the features' mean and biased variance per column."""
    np.testing.assert_allclose(_numpy(bn.moving_mean), features.mean(axis=0),
                               rtol=STATISTICS_TOLERANCE, atol=STATISTICS_TOLERANCE)
    np.testing.assert_allclose(_numpy(bn.moving_variance), features.var(axis=0),
                               rtol=STATISTICS_TOLERANCE, atol=STATISTICS_TOLERANCE)


def _dense_bn(rate=0.0):
    return _randomize_batchnorms(keras.Sequential([
        keras.Input((4,)), keras.layers.Dropout(rate, seed=1),
        keras.layers.Dense(3, name="dense"), keras.layers.BatchNormalization(name="bn"),
        keras.layers.Dense(2)]))


def test_recalibrate_bn_sets_the_exact_statistics_of_the_data():
    model, x = _dense_bn(), _shifted_features(50)
    recalibrate_bn(model, x, batch_size=7)  # 7 batches, the last one of 1
    _assert_statistics(model.get_layer("bn"), _dense_features(model, x, "dense"))


def test_recalibrate_bn_keeps_dropout_off():
    model, x = _dense_bn(rate=0.9), _shifted_features(50)
    recalibrate_bn(model, x)
    _assert_statistics(model.get_layer("bn"), _dense_features(model, x, "dense"))


def test_recalibrate_bn_reaches_a_frozen_batchnorm_in_a_nested_model():
    base = _base()
    base.trainable = False
    inputs = keras.Input((4,))
    model = _randomize_batchnorms(keras.Model(inputs, keras.layers.Dense(1)(base(inputs))))
    x = _shifted_features(40)
    recalibrate_bn(model, x)
    _assert_statistics(base.get_layer("bn1"), _dense_features(base, x, "dense"))
    assert not base.trainable and not base.get_layer("bn1").trainable


def test_recalibrate_bn_runs_every_batchnorm_in_training_mode():
    model = _randomize_batchnorms(keras.Sequential([
        keras.Input((4,)), keras.layers.BatchNormalization(name="first"),
        keras.layers.BatchNormalization(name="second")]))
    first = model.get_layer("first")
    x = _shifted_features(40)
    recalibrate_bn(model, x, batch_size=40)
    # One batch: "second" sees "first"'s output normalized with the batch's statistics.
    gamma, beta = _numpy(first.gamma), _numpy(first.beta)
    normalized = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + first.epsilon) * gamma + beta
    _assert_statistics(model.get_layer("second"), normalized)


def test_recalibrate_bn_changes_no_other_variable():
    model, x = _dense_bn(rate=0.5), _shifted_features(50)
    moving = {id(model.get_layer("bn").moving_mean), id(model.get_layer("bn").moving_variance)}
    before = [(variable, _numpy(variable).copy()) for variable in model.variables
              if id(variable) not in moving]
    momentum = model.get_layer("bn").momentum
    recalibrate_bn(model, x)
    for variable, value in before:
        np.testing.assert_array_equal(_numpy(variable), value)
    assert model.get_layer("bn").momentum == momentum
    assert "call" not in vars(model.get_layer("bn")) and model.get_layer("bn").trainable


def test_recalibrate_bn_leaves_unreached_batchnorms_unchanged():
    class OneOfTwo(keras.Model):
        def __init__(self):
            super().__init__()
            self.used = keras.layers.BatchNormalization()
            self.unused = keras.layers.BatchNormalization()

        def call(self, inputs):
            return self.used(inputs)

    model = OneOfTwo()
    model.unused.build((None, 4))
    model(_shifted_features(2))
    _randomize_batchnorms(model)
    before = [_numpy(weight).copy() for weight in model.unused.weights]
    recalibrate_bn(model, _shifted_features())
    for old, weight in zip(before, model.unused.weights, strict=True):
        np.testing.assert_array_equal(_numpy(weight), old)


def _batches(x, y, size=8):
    return [(x[start:start + size], y[start:start + size]) for start in range(0, len(x), size)]


class _Batches(keras.utils.PyDataset):
    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        return self.batches[index]


DATA_FORMS = {
    "array": lambda x, y: x,
    "(x, y) tuple": lambda x, y: (x, y),
    "list of x": lambda x, y: [batch for batch, _ in _batches(x, y)],
    "list of (x, y)": lambda x, y: _batches(x, y),
    "generator of (x, y)": lambda x, y: iter(_batches(x, y)),
    "generator of x": lambda x, y: (batch for batch, _ in _batches(x, y)),
    "PyDataset": lambda x, y: _Batches(_batches(x, y)),
}


@pytest.mark.parametrize("make_data", DATA_FORMS.values(), ids=DATA_FORMS.keys())
def test_recalibrate_bn_accepts_each_form_of_data(make_data):
    model, x = _dense_bn(), _shifted_features(50)
    recalibrate_bn(model, make_data(x, np.zeros((50, 1), "float32")))
    _assert_statistics(model.get_layer("bn"), _dense_features(model, x, "dense"))


def test_recalibrate_bn_accepts_a_tf_data_dataset_under_every_backend():
    tf = pytest.importorskip("tensorflow")
    model, x = _dense_bn(), _shifted_features(50)
    recalibrate_bn(model, tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(8))
    _assert_statistics(model.get_layer("bn"), _dense_features(model, x, "dense"))


def test_recalibrate_bn_reaches_batchnorm_inside_stochastic_depth():
    branch = _base("branch")
    model = keras.Sequential([keras.Input((4,)), StochasticDepth(branch, 0.5, seed=0)])
    x = _shifted_features(40)
    _randomize_batchnorms(branch)
    recalibrate_bn(model, x)
    _assert_statistics(branch.get_layer("bn1"), _dense_features(branch, x, "dense"))


def test_recalibrate_bn_reaches_batchnorm_inside_time_distributed():
    bn = keras.layers.BatchNormalization()
    model = keras.Sequential([keras.Input((5, 4)), keras.layers.TimeDistributed(bn)])
    x = _shifted_features(40).reshape(8, 5, 4)
    recalibrate_bn(model, x)
    _assert_statistics(bn, x.reshape(-1, 4))


def test_recalibrate_bn_accepts_a_dict_of_named_inputs():
    model, x = _named_inputs_model(), _shifted_features(30)
    recalibrate_bn(model, {"a": x[:, :3], "b": x[:, 3:] * 2}, batch_size=8)
    _assert_statistics(model.get_layer("bn"),
                       np.concatenate([x[:, :3], x[:, 3:] * 2], axis=1).astype("float64"))


def test_recalibrate_bn_uses_at_most_steps_batches():
    model, x = _dense_bn(), _shifted_features(50)
    recalibrate_bn(model, x, steps=2, batch_size=8)
    _assert_statistics(model.get_layer("bn"), _dense_features(model, x[:16], "dense"))


def test_recalibrate_bn_skips_masked_timesteps():
    tokens = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 0]])
    inputs = keras.Input((4,), dtype="int32")
    embedded = keras.layers.Embedding(8, 3, mask_zero=True, name="embedding")(inputs)
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(embedded))
    recalibrate_bn(model, tokens)
    table = model.get_layer("embedding").get_weights()[0].astype("float64")
    _assert_statistics(model.get_layer("bn"), table[tokens[tokens > 0]])


def test_recalibrate_bn_sets_the_renorm_moving_stddev():
    bn = keras.layers.BatchNormalization(renorm=True)
    model = keras.Sequential([keras.Input((4,)), bn])
    x = _shifted_features(40)
    recalibrate_bn(model, x)
    np.testing.assert_allclose(_numpy(bn.moving_stddev), np.sqrt(x.var(axis=0) + bn.epsilon),
                               rtol=STATISTICS_TOLERANCE)


def test_recalibrate_bn_returns_the_model():
    model = _dense_bn()
    assert recalibrate_bn(model, _shifted_features()) is model


@pytest.mark.parametrize("argument, value, requirement", [
    ("steps", 0, "an integer >= 1"), ("steps", -1, "an integer >= 1"),
    ("steps", 1.5, "an integer >= 1"), ("steps", True, "an integer >= 1"),
    ("batch_size", 0, "an integer >= 1")])
def test_recalibrate_bn_rejects_bad_steps_and_batch_size(argument, value, requirement):
    with pytest.raises(ValueError, match=f"`{argument}` must be {requirement}. "
                                         f"Received: {argument}={value!r}"):
        recalibrate_bn(_dense_bn(), _shifted_features(), **{argument: value})


def test_recalibrate_bn_rejects_a_model_without_batchnorm():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"`model` must be a keras.Model with at least one "
                                         r"BatchNormalization layer \(nested models included\). "
                                         r"Received: model="):
        recalibrate_bn(model, _shifted_features())


def test_recalibrate_bn_rejects_empty_data():
    with pytest.raises(ValueError, match="`data` must be at least one batch. Received: data="):
        recalibrate_bn(_dense_bn(), np.zeros((0, 4), "float32"))


def test_recalibrate_bn_rejects_a_non_model():
    with pytest.raises(ValueError, match="`model` must be a keras.Model. Received: model="):
        recalibrate_bn(keras.layers.BatchNormalization(), _shifted_features())


@pytest.mark.parametrize("module", [kerasreg.inference.mc_dropout, kerasreg.inference.folding,
                                    kerasreg.inference.batchnorm])
def test_inference_docstring_examples_run(module):
    results = doctest.testmod(module)
    assert results.attempted > 0 and results.failed == 0
