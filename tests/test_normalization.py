"""Tests for kerasreg.layers.normalization: GroupNorm, InstanceNorm, group_norm.

References: `keras.layers.GroupNormalization` (same settings, epsilon 1e-5)
and the lecture's formula in NumPy (float64); tolerance 1e-5 throughout.
"""

import doctest

import keras
import numpy as np
import pytest

import kerasreg.layers.normalization
from kerasreg.layers import GroupNorm, InstanceNorm, group_norm
from tests.layer_checks import (assert_runs_mirrored, assert_runs_mixed_precision,
                                assert_save_load_roundtrip)

CHANNELS = 6
EPSILON = 1e-5
TOLERANCE = 1e-5


def _inputs(shape):
    """Non-zero mean, non-unit scale: a plain standardization would not pass."""
    return np.random.default_rng(1).normal(3.0, 2.5, size=shape).astype("float32")


def _gamma_beta(channels=CHANNELS):
    rng = np.random.default_rng(2)
    return (rng.uniform(0.5, 2.0, channels).astype("float32"),
            rng.normal(0.0, 1.0, channels).astype("float32"))


def _built(layer, shape):
    layer.build(shape)
    if layer.weights:
        layer.set_weights(list(_gamma_beta(shape[-1])))
    return layer


def _numpy(layer, x):
    return keras.ops.convert_to_numpy(layer(x))


def _lecture_formula(x, axes, gamma, beta):
    """y = gamma (x - mu) / sigma + beta, with mu, sigma over `axes` (float64)."""
    x = x.astype("float64")
    mu = x.mean(axis=axes, keepdims=True)
    sigma = np.sqrt(x.var(axis=axes, keepdims=True) + EPSILON)
    return gamma * (x - mu) / sigma + beta


@pytest.mark.parametrize("shape", [(4, 5, 7, CHANNELS), (4, 9, CHANNELS), (4, CHANNELS)],
                         ids=["rank4", "rank3", "rank2"])
@pytest.mark.parametrize("groups", [1, 2, CHANNELS])
def test_group_norm_equals_keras_group_normalization(shape, groups):
    x = _inputs(shape)
    ours = _built(GroupNorm(groups), shape)
    keras_layer = _built(keras.layers.GroupNormalization(groups, epsilon=EPSILON), shape)
    np.testing.assert_allclose(_numpy(ours, x), _numpy(keras_layer, x),
                               rtol=TOLERANCE, atol=TOLERANCE)


def test_group_norm_without_center_and_scale_equals_keras_and_has_no_weights():
    shape = (4, 5, 5, CHANNELS)
    x = _inputs(shape)
    ours = _built(GroupNorm(3, center=False, scale=False), shape)
    keras_layer = keras.layers.GroupNormalization(3, epsilon=EPSILON, center=False,
                                                  scale=False)
    assert ours.weights == []
    np.testing.assert_allclose(_numpy(ours, x), _numpy(keras_layer, x),
                               rtol=TOLERANCE, atol=TOLERANCE)


def test_group_norm_with_one_group_is_layer_norm_over_height_width_channels():
    x = _inputs((4, 5, 7, CHANNELS))
    gamma, beta = _gamma_beta()
    expected = _lecture_formula(x, (1, 2, 3), gamma, beta)
    np.testing.assert_allclose(_numpy(_built(GroupNorm(1), x.shape), x), expected,
                               rtol=TOLERANCE, atol=TOLERANCE)


def test_group_norm_function_normalizes_each_example_and_group():
    x = _inputs((4, 5, 7, CHANNELS))
    gamma, beta = _gamma_beta()
    grouped = x.reshape(4, 5, 7, 2, CHANNELS // 2)  # (N, H, W, group, channel in group)
    expected = _lecture_formula(grouped, (1, 2, 4), gamma.reshape(2, 3),
                                beta.reshape(2, 3)).reshape(x.shape)
    outputs = keras.ops.convert_to_numpy(group_norm(x, 2, gamma, beta, EPSILON))
    np.testing.assert_allclose(outputs, expected, rtol=TOLERANCE, atol=TOLERANCE)


def test_instance_norm_equals_group_norm_with_one_group_per_channel():
    shape = (4, 5, 7, CHANNELS)
    x = _inputs(shape)
    instance = _built(InstanceNorm(), shape)
    assert instance.groups == CHANNELS
    np.testing.assert_array_equal(_numpy(instance, x),
                                  _numpy(_built(GroupNorm(CHANNELS), shape), x))


def test_instance_norm_normalizes_each_example_and_channel_over_space():
    x = _inputs((4, 5, 7, CHANNELS))
    gamma, beta = _gamma_beta()
    expected = _lecture_formula(x, (1, 2), gamma, beta)
    np.testing.assert_allclose(_numpy(_built(InstanceNorm(), x.shape), x), expected,
                               rtol=TOLERANCE, atol=TOLERANCE)


@pytest.mark.parametrize("groups", [0, -2, 2.5, "4", True, None])
def test_group_norm_rejects_groups_that_are_not_positive_integers(groups):
    with pytest.raises(ValueError) as error:
        GroupNorm(groups)
    assert str(error.value) == (
        f"`groups` must be an integer >= 1, or -1 for one group per channel. "
        f"Received: groups={groups!r}")


def test_group_norm_with_groups_minus_one_is_instance_norm_as_in_keras():
    x = _inputs((2, 3, 3, CHANNELS))
    layer = GroupNorm(-1)
    keras_layer = keras.layers.GroupNormalization(-1, epsilon=1e-5)
    np.testing.assert_allclose(_numpy(layer, x), _numpy(keras_layer, x), rtol=TOLERANCE,
                               atol=TOLERANCE)
    assert layer.groups == CHANNELS and layer.get_config()["groups"] == -1


@pytest.mark.parametrize("axis", [1, 3, -2, True, "channels_first"])
def test_group_norm_rejects_an_axis_other_than_the_last(axis):
    with pytest.raises(ValueError, match=rf"`axis` must be -1: .*Received: axis={axis!r}"):
        GroupNorm(2, axis=axis)


@pytest.mark.parametrize("epsilon", [-1e-3, float("inf")])
def test_group_norm_function_rejects_a_non_positive_or_infinite_epsilon(epsilon):
    with pytest.raises(ValueError, match=rf"`epsilon` must be .*Received: epsilon={epsilon}"):
        group_norm(np.ones((2, 3, 3, CHANNELS), "float32"), 2, epsilon=epsilon)


def test_group_norm_rejects_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError) as error:
        GroupNorm(4)(np.zeros((2, 3, 3, CHANNELS), "float32"))
    message = str(error.value)
    assert message.startswith("`groups` must be a divisor of the number of channels (6")
    assert message.endswith("Received: groups=4")
    assert "(2, 3, 3, 6)" in message  # the input shape


def test_group_norm_rejects_more_groups_than_channels():
    with pytest.raises(ValueError, match=r"channels \(6.*Received: groups=12"):
        GroupNorm(12).build((None, 3, 3, CHANNELS))


def test_group_norm_rejects_unknown_channel_count():
    with pytest.raises(ValueError, match="known number of channels"):
        GroupNorm(2).build((None, 3, None))


@pytest.mark.parametrize("layer_class", [GroupNorm, InstanceNorm])
@pytest.mark.parametrize("argument, value, message", [
    ("epsilon", 0.0, "`epsilon` must be a number > 0. Received: epsilon=0.0"),
    ("epsilon", float("inf"), "`epsilon` must be a finite number > 0. Received: epsilon=inf"),
    ("center", "yes", "`center` must be a bool (True or False). Received: center='yes'"),
    ("scale", 1, "`scale` must be a bool (True or False). Received: scale=1"),
])
def test_normalization_layers_reject_bad_arguments(layer_class, argument, value, message):
    with pytest.raises(ValueError) as error:
        layer_class(**{argument: value})
    assert str(error.value) == message


def test_group_norm_get_config_is_the_constructor_arguments():
    layer = GroupNorm(3, epsilon=1e-4, center=False, name="gn")
    config = layer.get_config()
    assert set(config) == {"name", "trainable", "dtype", "groups", "epsilon", "center",
                           "scale", "axis", "beta_initializer", "gamma_initializer",
                           "beta_regularizer", "gamma_regularizer", "beta_constraint",
                           "gamma_constraint"}
    assert GroupNorm.from_config(config).get_config() == config


def _regularized(layer_class):
    kwargs = {"groups": 2} if layer_class is GroupNorm else {}
    return layer_class(gamma_regularizer=keras.regularizers.L2(0.1), beta_constraint="non_neg",
                       gamma_initializer="zeros", beta_initializer="ones", **kwargs)


def _model_around(layer, shape=(3, 3, CHANNELS)):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs))


@pytest.mark.parametrize("layer_class", [GroupNorm, InstanceNorm])
def test_normalization_keeps_regularizers_constraints_and_initializers_through_save(
        layer_class, tmp_path):
    model = _model_around(_regularized(layer_class))
    path = str(tmp_path / "norm.keras")
    model.save(path)
    fresh = _model_around(layer_class.from_config(model.layers[-1].get_config()))
    for copy in (keras.models.load_model(path), keras.models.clone_model(model), fresh):
        layer = copy.layers[-1]
        assert len(copy.losses) == len(model.losses) == 1
        assert isinstance(layer.beta_constraint, keras.constraints.NonNeg)
        assert isinstance(layer.gamma_regularizer, keras.regularizers.L2)
    gamma, beta = (keras.ops.convert_to_numpy(w) for w in fresh.layers[-1].weights)
    assert (gamma == 0).all() and (beta == 1).all()


def test_fold_batchnorm_keeps_a_group_norm_regularizer():
    from kerasreg.inference import fold_batchnorm
    inputs = keras.Input((3, 3, CHANNELS))
    x = keras.layers.Conv2D(CHANNELS, 1, use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    model = keras.Model(inputs, _regularized(GroupNorm)(x))
    folded = fold_batchnorm(model)
    assert len(folded.layers) == len(model.layers) - 1
    assert len(folded.losses) == 1
    assert isinstance(folded.layers[-1].beta_constraint, keras.constraints.NonNeg)


def test_instance_norm_get_config_has_no_groups():
    config = InstanceNorm(epsilon=1e-3).get_config()
    assert "groups" not in config and config["epsilon"] == 1e-3
    assert InstanceNorm.from_config(config).get_config() == config


def test_group_norm_mixed_precision_computes_statistics_in_float32():
    # Squares of values near 1000 overflow float16 (max 65504).
    x = np.random.default_rng(3).normal(1000.0, 100.0, (2, 8, 8, 4)).astype("float16")
    expected = _numpy(GroupNorm(2), x.astype("float32"))
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        layer = GroupNorm(2)
        outputs = _numpy(layer, x)
    finally:
        keras.config.set_dtype_policy(previous)
    assert outputs.dtype == np.float16
    assert layer.gamma.dtype == "float32"
    np.testing.assert_allclose(outputs, expected, atol=1e-2)


def test_group_norm_save_load_roundtrip(tmp_path):
    layer = GroupNorm(2)
    layer.build((None, 4, 4, CHANNELS))
    layer.set_weights(list(_gamma_beta()))
    assert_save_load_roundtrip(layer, _inputs((3, 4, 4, CHANNELS)), tmp_path)


def test_instance_norm_save_load_roundtrip(tmp_path):
    layer = InstanceNorm()
    layer.build((None, 4, 4, CHANNELS))
    layer.set_weights(list(_gamma_beta()))
    assert_save_load_roundtrip(layer, _inputs((3, 4, 4, CHANNELS)), tmp_path)


def test_group_norm_runs_mixed_float16():
    assert_runs_mixed_precision(lambda: GroupNorm(2), _inputs((2, 4, 4, CHANNELS)))


def test_instance_norm_runs_mixed_float16():
    assert_runs_mixed_precision(InstanceNorm, _inputs((2, 4, 4, CHANNELS)))


def test_group_norm_runs_mirrored():
    assert_runs_mirrored("kerasreg.layers.GroupNorm(2)", (4, 4, 4))


def test_instance_norm_runs_mirrored():
    assert_runs_mirrored("kerasreg.layers.InstanceNorm()", (4, 4, 4))


def test_normalization_docstring_examples_run():
    results = doctest.testmod(kerasreg.layers.normalization)
    assert results.attempted > 0 and results.failed == 0
