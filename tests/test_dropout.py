"""Tests for kerasreg.layers.dropout: VanillaDropout, MCDropout, vanilla_dropout.

References: the lecture's formulas (training `x * z`, test `(1 - rate) * x`)
and `keras.layers.Dropout` (inverted). A mean over draws averages ROWS
draws per entry and is compared within 6 standard errors.
"""

import doctest

import keras
import numpy as np
import pytest

import kerasreg.layers.dropout
from kerasreg.layers import MCDropout, VanillaDropout, vanilla_dropout
from tests.layer_checks import (assert_runs_mirrored, assert_runs_mixed_precision,
                                assert_save_load_roundtrip)

RATE = 0.3
ROWS = 16384  # the batch over which a mean is taken


def _inputs(shape=(64, 16)):
    """Entries in [1, 2]: never 0, so a zero in the output is a drop."""
    return np.random.default_rng(1).uniform(1.0, 2.0, size=shape).astype("float32")


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _mean_over_draws(layer, row):
    """Mean of `layer(training=True)` over ROWS copies of one row, and its tolerance."""
    batch = np.repeat(row[None], ROWS, axis=0)
    tolerance = 6 * row.max() / np.sqrt(ROWS) * 0.5  # 6 standard errors, Bernoulli std <= 0.5
    return _numpy(layer(batch, training=True)).mean(axis=0), tolerance


def test_vanilla_dropout_training_keeps_or_zeroes_each_entry():
    x = _inputs()
    y = _numpy(VanillaDropout(RATE, seed=1)(x, training=True))
    assert np.all((y == 0) | (y == x))


def test_vanilla_dropout_drops_a_rate_fraction():
    x = _inputs((ROWS, 16))
    y = _numpy(VanillaDropout(RATE, seed=1)(x, training=True))
    # 262144 draws: the fraction's standard error is 0.0009.
    assert abs((y == 0).mean() - RATE) < 0.01


def test_vanilla_dropout_scales_at_inference():
    x = _inputs()
    y = _numpy(VanillaDropout(RATE)(x, training=False))
    np.testing.assert_allclose(y, (1 - RATE) * x, rtol=1e-6)


def test_vanilla_dropout_mean_over_draws_equals_inference_output():
    layer = VanillaDropout(RATE, seed=2)
    row = _inputs((16,))
    mean, tolerance = _mean_over_draws(layer, row)
    np.testing.assert_allclose(mean, _numpy(layer(row[None]))[0], atol=tolerance)


def test_inverted_dropout_has_the_same_expectation_divided_by_keep():
    row = _inputs((16,))
    vanilla, tolerance = _mean_over_draws(VanillaDropout(RATE, seed=3), row)
    inverted, _ = _mean_over_draws(keras.layers.Dropout(RATE, seed=4), row)
    np.testing.assert_allclose(inverted, row, atol=tolerance / (1 - RATE))
    np.testing.assert_allclose(vanilla / (1 - RATE), inverted, atol=2 * tolerance / (1 - RATE))


def test_vanilla_dropout_same_seed_same_mask():
    x = _inputs()
    first = _numpy(VanillaDropout(RATE, seed=5)(x, training=True))
    second = _numpy(VanillaDropout(RATE, seed=5)(x, training=True))
    other = _numpy(VanillaDropout(RATE, seed=6)(x, training=True))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_vanilla_dropout_successive_calls_draw_new_masks():
    layer, x = VanillaDropout(RATE, seed=5), _inputs()
    assert not np.array_equal(_numpy(layer(x, training=True)), _numpy(layer(x, training=True)))


def test_vanilla_dropout_function_is_the_layer_maths():
    x = _inputs()
    from_layer = _numpy(VanillaDropout(RATE, seed=7)(x, training=True))
    from_function = _numpy(vanilla_dropout(x, RATE, training=True,
                                           seed=keras.random.SeedGenerator(7)))
    np.testing.assert_array_equal(from_layer, from_function)


@pytest.mark.parametrize("training", [True, False])
def test_vanilla_dropout_rate_zero_is_the_identity(training):
    x = _inputs()
    np.testing.assert_array_equal(_numpy(VanillaDropout(0.0, seed=1)(x, training=training)), x)


@pytest.mark.parametrize("make", [VanillaDropout, MCDropout,
                                  lambda rate: vanilla_dropout(_inputs(), rate)],
                         ids=["VanillaDropout", "MCDropout", "vanilla_dropout"])
@pytest.mark.parametrize("rate", [-0.1, 1.0, "a", True])
def test_dropout_rejects_bad_rate(make, rate):
    with pytest.raises(ValueError) as error:
        make(rate)
    message = str(error.value)
    assert "`rate`" in message and f"rate={rate!r}" in message and "[0, 1)" in message


def test_mc_dropout_stays_random_at_inference():
    layer, x = MCDropout(RATE, seed=1), _inputs()
    first, second = _numpy(layer(x, training=False)), _numpy(layer(x))
    assert not np.array_equal(first, second)
    assert abs((first == 0).mean() - RATE) < 0.05  # 1024 draws: standard error 0.014


def test_mc_dropout_entries_are_zero_or_rescaled_input():
    x = _inputs()
    y = _numpy(MCDropout(RATE, seed=1)(x, training=False))
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - RATE), rtol=1e-6)


def test_mc_dropout_mean_over_draws_equals_input():
    row = _inputs((16,))
    mean, tolerance = _mean_over_draws(MCDropout(RATE, seed=2), row)
    np.testing.assert_allclose(mean, row, atol=tolerance / (1 - RATE))


@pytest.mark.parametrize("layer_class", [VanillaDropout, MCDropout])
def test_dropout_config_is_the_constructor_arguments(layer_class):
    config = layer_class(RATE, seed=3, name="drop").get_config()
    assert {key: config[key] for key in ("rate", "seed")} == {"rate": RATE, "seed": 3}
    extra = {"noise_shape"} if layer_class is MCDropout else set()
    assert set(config) == {"name", "trainable", "dtype", "rate", "seed"} | extra
    assert layer_class.from_config(config).get_config() == config


def test_mc_dropout_keeps_its_noise_shape_through_save(tmp_path):
    layer = MCDropout(RATE, noise_shape=(None, 1, 16), seed=1)
    inputs = keras.Input((3, 16))
    model = keras.Model(inputs, layer(inputs))
    path = str(tmp_path / "mc.keras")
    model.save(path)
    loaded = keras.models.load_model(path).layers[-1]
    assert tuple(loaded.noise_shape) == (None, 1, 16)
    y = _numpy(loaded(np.ones((4, 3, 16), "float32")))
    np.testing.assert_array_equal(y, y[:, :1].repeat(3, axis=1))  # one mask per example


@pytest.mark.parametrize("layer_class", [VanillaDropout, MCDropout])
def test_dropout_save_load_roundtrip(layer_class, tmp_path):
    assert_save_load_roundtrip(layer_class(RATE, seed=1), _inputs((4, 16)), tmp_path)


@pytest.mark.parametrize("layer_class", [VanillaDropout, MCDropout])
def test_dropout_runs_mixed_precision(layer_class):
    assert_runs_mixed_precision(lambda: layer_class(RATE, seed=1), _inputs((4, 16)))


@pytest.mark.parametrize("name", ["VanillaDropout", "MCDropout"])
def test_dropout_runs_mirrored(name):
    assert_runs_mirrored(f"kerasreg.layers.{name}(0.5, seed=1)", (8,))


def test_dropout_docstring_examples_run():
    results = doctest.testmod(kerasreg.layers.dropout)
    assert results.attempted > 0 and results.failed == 0
