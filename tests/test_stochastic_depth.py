"""Tests for kerasreg.layers.stochastic_depth: StochasticDepth, drop_path, linear_survival.

References: Huang et al.'s linear rule `p_l = 1 - l / L * (1 - p_L)` and the
lecture's `y = x + b f(x)` (training) / `y = x + p f(x)` (test), evaluated in
NumPy. Means of random gates are checked within 4 standard errors of the
Bernoulli mean; exact invariants (a gate is 0 or 1) to float32 rounding.
"""

import doctest
import re
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasreg.layers.stochastic_depth
import kerasreg.models
from kerasreg.layers import GroupNorm, StochasticDepth, drop_path, linear_survival
from tests.layer_checks import (assert_runs_mirrored, assert_runs_mixed_precision,
                                assert_save_load_roundtrip, assert_trains_mixed_precision)

FEATURES = 4


class CountingBranch(keras.layers.Layer):
    """A Dense branch that counts how often it really runs (in a variable)."""

    def build(self, input_shape):
        self.dense = keras.layers.Dense(input_shape[-1])
        self.dense.build(input_shape)
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="calls")

    def call(self, inputs):
        self.calls.assign_add(1.0)  # only happens when the branch is executed
        return self.dense(inputs)


def _inputs(shape, seed=1):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _branch_output(layer, x):
    """f(x), from the layer's own (built) branch."""
    return _numpy(layer.branch(x))


def test_linear_survival_matches_huang_formula_for_resnet_110():
    survival = linear_survival(54, 0.5)
    expected = [1 - block / 54 * (1 - 0.5) for block in range(1, 55)]
    np.testing.assert_allclose(survival, expected, rtol=0, atol=1e-12)
    assert survival[0] == pytest.approx(1 - 1 / 54 * 0.5)
    assert survival[-1] == pytest.approx(0.5)


def test_linear_survival_with_final_survival_one_keeps_every_block():
    assert linear_survival(3, 1.0) == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("arguments, message", [
    ((0,), "`num_blocks` must be an integer >= 1. Received: num_blocks=0"),
    ((2.5,), "`num_blocks` must be an integer >= 1. Received: num_blocks=2.5"),
    ((4, 0), "`final_survival` must be a number in (0, 1]. Received: final_survival=0"),
    ((4, 1.5), "`final_survival` must be a number in (0, 1]. Received: final_survival=1.5"),
])
def test_linear_survival_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        linear_survival(*arguments)


@pytest.mark.parametrize("rescale", [True, False])
def test_drop_path_keeps_or_zeroes_whole_examples(rescale):
    p = 0.7
    x = np.ones((512, 3, 3, 2), "float32")
    y = _numpy(drop_path(x, p, rescale=rescale, seed=4))
    kept_value = 1 / p if rescale else 1.0
    per_example = y.reshape(len(y), -1)
    kept = np.isclose(per_example, kept_value).all(axis=1)
    dropped = (per_example == 0).all(axis=1)
    assert (kept | dropped).all()
    # Kept fraction within 4 standard errors of p (std error 0.02 for 512 draws).
    assert abs(kept.mean() - p) <= 4 * np.sqrt(p * (1 - p) / len(y))


@pytest.mark.parametrize("survival_probability", [0.5, 1.0])
def test_drop_path_casts_integer_inputs_to_floats(survival_probability):
    y = _numpy(drop_path(np.full((64, 3), 3, "int32"), survival_probability, seed=0))
    assert y.dtype == np.float32
    assert set(y.ravel().tolist()) <= {0.0, 3.0 / survival_probability}


def test_drop_path_with_survival_one_is_the_identity():
    x = _inputs((8, FEATURES))
    np.testing.assert_array_equal(_numpy(drop_path(x, 1.0, seed=0)), x)


@pytest.mark.parametrize("survival_probability", [0, 1.5])
def test_drop_path_rejects_survival_outside_zero_one(survival_probability):
    with pytest.raises(ValueError, match=re.escape(
            "`survival_probability` must be a number in (0, 1]. "
            f"Received: survival_probability={survival_probability}")):
        drop_path(np.ones((2, 3), "float32"), survival_probability)


def test_batch_mode_gates_the_whole_batch_at_once():
    layer = StochasticDepth(keras.layers.Dense(FEATURES), 0.5, seed=2)
    x = _inputs((16, FEATURES))
    layer.build(x.shape)
    f = _branch_output(layer, x)
    outcomes = set()
    for _ in range(20):
        y = _numpy(layer(x, training=True))
        if np.array_equal(y, x):
            outcomes.add("dropped")
        else:
            np.testing.assert_allclose(y, x + f, rtol=1e-6, atol=1e-6)
            outcomes.add("kept")
    assert outcomes == {"dropped", "kept"}


@pytest.mark.parametrize("scale_at_test", [True, False])
def test_sample_mode_drops_per_example(scale_at_test):
    p = 0.5
    layer = StochasticDepth(keras.layers.Dense(FEATURES), p, mode="sample",
                            scale_at_test=scale_at_test, seed=2)
    x = _inputs((64, FEATURES))
    layer.build(x.shape)
    kept_value = x + _branch_output(layer, x) * (1 if scale_at_test else 1 / p)
    y = _numpy(layer(x, training=True))
    dropped = (y == x).all(axis=1)
    kept = np.isclose(y, kept_value, rtol=1e-5, atol=1e-5).all(axis=1)
    assert (dropped ^ kept).all()
    assert 0 < dropped.sum() < len(x)


@pytest.mark.parametrize("scale_at_test", [True, False])
def test_inference_output_is_the_lecture_formula(scale_at_test):
    p = 0.6
    layer = StochasticDepth(keras.layers.Dense(FEATURES), p, scale_at_test=scale_at_test)
    x = _inputs((8, FEATURES))
    y = _numpy(layer(x, training=False))
    expected = x + (p if scale_at_test else 1.0) * _branch_output(layer, x)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(_numpy(layer(x)), y)  # training=None is inference


@pytest.mark.parametrize("mode", ["batch", "sample"])
@pytest.mark.parametrize("scale_at_test", [True, False])
def test_expected_training_output_equals_inference_output(mode, scale_at_test):
    p = 0.6
    layer = StochasticDepth(keras.layers.Dense(FEATURES), p, mode=mode,
                            scale_at_test=scale_at_test, seed=5)
    x = _inputs((1, FEATURES))
    inference = _numpy(layer(x, training=False))
    if mode == "batch":  # one draw per call: average many calls
        draws = 600
        mean = sum(_numpy(layer(x, training=True)) for _ in range(draws)) / draws
    else:  # one draw per example: average a big batch of copies
        draws = 4096
        mean = _numpy(layer(np.repeat(x, draws, axis=0), training=True)).mean(axis=0)
    # mean - inference = (mean gate - p) * f(x) * scale: 4 standard errors of the gate.
    scale = 1 if scale_at_test else 1 / p
    tolerance = 4 * np.sqrt(p * (1 - p) / draws) * scale * np.abs(_branch_output(layer, x))
    assert (np.abs(mean - inference) <= tolerance + 1e-5).all()


def test_batch_mode_does_not_run_a_dropped_branch_eagerly():
    branch = CountingBranch()
    layer = StochasticDepth(branch, 0.3, seed=3)
    x = _inputs((4, FEATURES))
    kept = sum(not np.array_equal(_numpy(layer(x, training=True)), x) for _ in range(40))
    assert 0 < kept < 40
    assert float(_numpy(branch.calls)) == kept


@pytest.mark.parametrize("jit_compile", [False, True])
def test_batch_mode_does_not_run_a_dropped_branch_inside_fit(jit_compile):
    steps, p = 40, 0.2
    branch = CountingBranch()
    inputs = keras.Input((FEATURES,))
    outputs = StochasticDepth(branch, p, seed=3)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(outputs))
    model.compile("sgd", "mse", jit_compile=jit_compile)
    model.fit(_inputs((4 * steps, FEATURES)), np.zeros((4 * steps, 1)), batch_size=4,
              epochs=1, verbose=0)
    calls = float(_numpy(branch.calls))
    # Binomial(40, 0.2): mean 8, std 2.5; a branch run every step would give 40.
    assert 0 < calls < steps / 2


def test_a_dropped_branch_gets_zero_gradients_not_none_inside_fit():
    # Keras warns "Gradients do not exist" and skips the optimizer update for
    # variables without a gradient; every backend must give zeros instead.
    inputs = keras.Input((FEATURES,))
    outputs = StochasticDepth(keras.layers.Dense(FEATURES), 0.1, seed=3)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(outputs))
    model.compile("sgd", "mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(_inputs((40, FEATURES)), np.zeros((40, 1)), batch_size=4, epochs=1, verbose=0)
    assert not [w for w in caught if "Gradients do not exist" in str(w.message)]


def test_inference_runs_every_branch_inside_predict():
    steps = 10
    branch = CountingBranch()
    inputs = keras.Input((FEATURES,))
    model = keras.Model(inputs, StochasticDepth(branch, 0.2, seed=3)(inputs))
    model.predict(_inputs((4 * steps, FEATURES)), batch_size=4, verbose=0)
    assert float(_numpy(branch.calls)) == steps


def _train_step(layer, x, compiled):
    def step():
        with tf.GradientTape() as tape:
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * y)
        gradients = tape.gradient(loss, layer.branch.trainable_weights)
        return y, [tf.zeros_like(w) if g is None else g
                   for w, g in zip(layer.branch.trainable_weights, gradients)]
    return tf.function(step)() if compiled else step()


@pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="uses tf.GradientTape")
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
def test_gradients_reach_a_kept_branch_only(compiled):
    layer = StochasticDepth(keras.layers.Dense(FEATURES), 0.5, seed=6)
    x = tf.constant(_inputs((8, FEATURES)))
    layer.build(x.shape)
    seen = set()
    for _ in range(20):
        y, gradients = _train_step(layer, x, compiled)
        norm = sum(float(tf.reduce_sum(tf.abs(g))) for g in gradients)
        if np.array_equal(_numpy(y), _numpy(x)):
            assert norm == 0
            seen.add("dropped")
        else:
            assert norm > 0
            seen.add("kept")
    assert seen == {"dropped", "kept"}


@pytest.mark.parametrize("kwargs, message", [
    ({"survival_probability": 0},
     "`survival_probability` must be a number in (0, 1]. Received: survival_probability=0"),
    ({"survival_probability": 1.5},
     "`survival_probability` must be a number in (0, 1]. Received: survival_probability=1.5"),
    ({"mode": "foo"}, "`mode` must be one of 'batch', 'sample'. Received: mode='foo'"),
])
def test_stochastic_depth_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        StochasticDepth(keras.layers.Dense(FEATURES), **kwargs)


def test_stochastic_depth_rejects_a_branch_that_is_not_a_layer():
    with pytest.raises(ValueError, match="`branch` must be a keras.layers.Layer. "
                                         "Received: branch=<function"):
        StochasticDepth(lambda x: 2 * x)


def test_stochastic_depth_rejects_a_branch_that_changes_the_shape():
    layer = StochasticDepth(keras.layers.Dense(FEATURES + 1))
    with pytest.raises(ValueError, match=re.escape(
            "`branch` must return the shape of its input. Received: input shape=(None, 4), "
            "shortcut output shape=(None, 4), branch output shape=(None, 5)")):
        layer(keras.Input((FEATURES,)))


def test_stochastic_depth_rejects_a_branch_unlike_the_shortcut():
    layer = StochasticDepth(keras.layers.Dense(FEATURES), shortcut=keras.layers.Dense(2))
    with pytest.raises(ValueError, match=re.escape(
            "`branch` must return the shape of the shortcut's output. Received: input "
            "shape=(None, 4), shortcut output shape=(None, 2), branch output shape=(None, 4)")):
        layer(keras.Input((FEATURES,)))


def test_stochastic_depth_rejects_a_shortcut_that_is_not_a_layer():
    with pytest.raises(ValueError, match="`shortcut` must be a keras.layers.Layer or None. "
                                         "Received: shortcut=<function"):
        StochasticDepth(keras.layers.Dense(FEATURES), shortcut=lambda x: x)


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_a_dropped_branch_leaves_the_shortcut_output(mode):
    shortcut = keras.layers.Dense(2)
    layer = StochasticDepth(keras.layers.Dense(2), 0.5, mode=mode, seed=4, shortcut=shortcut)
    x = _inputs((64, FEATURES))
    projected = _numpy(shortcut(x))
    branch = _numpy(layer.branch(x))
    outcomes = set()
    for _ in range(10):
        rows = _numpy(layer(x, training=True))
        dropped = np.all(np.isclose(rows, projected, atol=1e-6), axis=1)
        np.testing.assert_allclose(rows[~dropped], (projected + branch)[~dropped], atol=1e-5)
        outcomes.update(dropped.tolist())
    assert outcomes == {True, False}
    np.testing.assert_allclose(_numpy(layer(x)), projected + 0.5 * branch, atol=1e-5)


def test_stochastic_depth_builds_its_branch_in_build():
    layer = StochasticDepth(keras.Sequential([keras.layers.Dense(FEATURES),
                                              keras.layers.BatchNormalization()]))
    layer.build((None, FEATURES))
    assert layer.branch.built and len(layer.weights) == 6


@pytest.mark.parametrize("mode, scale_at_test", [("batch", True), ("sample", False)])
def test_stochastic_depth_save_load_roundtrip(tmp_path, mode, scale_at_test):
    branch = keras.Sequential([keras.layers.Dense(FEATURES, activation="relu"),
                               keras.layers.Dense(FEATURES)])
    layer = StochasticDepth(branch, 0.7, mode=mode, scale_at_test=scale_at_test, seed=1)
    # Random initial weights: equal outputs after loading mean the branch weights loaded.
    assert_save_load_roundtrip(layer, _inputs((8, FEATURES)), tmp_path)


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_stochastic_depth_runs_mixed_float16(mode):
    assert_runs_mixed_precision(
        lambda: StochasticDepth(keras.layers.Dense(8), 0.5, mode=mode, seed=1),
        _inputs((4, 8)))


@pytest.mark.parametrize("mode", ["batch", "sample"])
@pytest.mark.parametrize("norm", ["batch", "group"])
def test_stochastic_depth_trains_mixed_float16_with_a_normalization_in_its_branch(mode, norm):
    # The dropped branch's zero-gradient anchor sums float16 kernels and
    # float32 gamma/beta: it must add them in one dtype.
    def make_model():
        normalization = (keras.layers.BatchNormalization() if norm == "batch"
                         else GroupNorm(groups=2))
        branch = keras.Sequential([keras.layers.Conv2D(4, 3, padding="same"), normalization])
        inputs = keras.Input((6, 6, 4))
        x = StochasticDepth(branch, 0.5, mode=mode, seed=1)(inputs)
        return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))

    assert_trains_mixed_precision(make_model, _inputs((8, 6, 6, 4)),
                                  np.zeros((8, 2), "float32"))


def test_resnet_with_stochastic_depth_trains_mixed_float16():
    if keras.backend.backend() == "jax":
        # JAX promotes float16 + float32 (the anchor could not fail), and XLA
        # on a CPU takes minutes over this float16 ResNet.
        pytest.skip("float16 ResNet training is too slow for a unit test on JAX's CPU")
    assert_trains_mixed_precision(
        lambda: kerasreg.models.resnet(depth=8, width=4, input_shape=(8, 8, 3),
                                       final_survival=0.5, seed=0),
        _inputs((4, 8, 8, 3)), np.arange(4), loss="sparse_categorical_crossentropy", steps=1)


def test_stochastic_depth_runs_mirrored():
    assert_runs_mirrored("kerasreg.layers.StochasticDepth(keras.layers.Dense(8), 0.5, seed=1)",
                         (8,))


def test_resnet_stochastic_depth_uses_the_linear_rule_and_trains():
    model = kerasreg.models.resnet(depth=14, width=4, input_shape=(16, 16, 3),
                                   final_survival=0.5, seed=0)
    blocks = [layer for layer in model.layers if isinstance(layer, StochasticDepth)]
    # Six blocks, all droppable; the first of stages 2 and 3 keeps its projection.
    assert [block.survival_probability for block in blocks] == pytest.approx(
        linear_survival(6, 0.5))
    assert [block.shortcut is not None for block in blocks] == [False, False, True, False,
                                                                True, False]
    model.compile("sgd", "sparse_categorical_crossentropy")
    history = model.fit(_inputs((8, 16, 16, 3)), np.arange(8) % 10, batch_size=8, epochs=1,
                        verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_resnet_with_shortcut_blocks_saves_and_loads(tmp_path):
    model = kerasreg.models.resnet(depth=8, width=4, input_shape=(8, 8, 3),
                                   final_survival=0.5, seed=0)
    path = str(tmp_path / "resnet.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = _inputs((2, 8, 8, 3))
    np.testing.assert_array_equal(_numpy(model(x)), _numpy(loaded(x)))
    assert [layer.get_config() for layer in loaded.layers if isinstance(layer, StochasticDepth)] \
        == [layer.get_config() for layer in model.layers if isinstance(layer, StochasticDepth)]


def test_stochastic_depth_docstring_examples_run():
    results = doctest.testmod(kerasreg.layers.stochastic_depth)
    assert results.attempted > 0 and results.failed == 0
