"""Tests for kerasreg.initialization: activations per layer, gradients, symmetry.

References: the layers' formulas and backpropagation in NumPy,
tolerance 1e-5 relative; the lecture's facts (identical neurons under a
constant initialization, vanishing activations under small random weights,
kept scale under He) on untrained networks with fixed seeds.
"""

import doctest

import keras
import numpy as np
import pytest

import kerasreg.initialization
from kerasreg import models
from kerasreg.initialization import (activation_statistics, distinct_neurons, kernel_gradients,
                                     layer_activations, plot_activation_histograms,
                                     reinitialize)

DEPTH, WIDTH = 6, 64


def _batch(rows=32, features=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((rows, features)).astype("float32"), rng.integers(0, 4, rows)


def _deep_mlp(initializer, depth=DEPTH, width=WIDTH):
    return reinitialize(models.mlp((16,), 4, hidden_units=(width,) * depth), initializer)


def _dense(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_layer_activations_are_each_dense_layers_activated_output():
    x, _ = _batch()
    model = _deep_mlp("he_normal", depth=2)
    dense = _dense(model)
    kernels = [(keras.ops.convert_to_numpy(layer.kernel),
                keras.ops.convert_to_numpy(layer.bias)) for layer in dense]
    hidden_1 = np.maximum(x @ kernels[0][0] + kernels[0][1], 0)
    hidden_2 = np.maximum(hidden_1 @ kernels[1][0] + kernels[1][1], 0)
    activations = layer_activations(model, x)
    assert list(activations) == [layer.name for layer in dense]
    np.testing.assert_allclose(activations[dense[0].name], hidden_1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(activations[dense[1].name], hidden_2, rtol=1e-5, atol=1e-6)


def test_layer_activations_reads_only_the_requested_layer_types():
    model = _deep_mlp("he_normal", depth=2)
    flatten = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Flatten)]
    assert list(layer_activations(model, _batch()[0], keras.layers.Flatten)) == flatten


def test_layer_activations_rejects_types_the_model_does_not_have():
    with pytest.raises(ValueError) as error:
        layer_activations(_deep_mlp("he_normal", depth=1), _batch()[0], (keras.layers.Conv2D,))
    assert str(error.value) == ("`layer_types` must be types of some of the model's layers "
                                "(InputLayer, Flatten, Dense, Dense). "
                                "Received: layer_types=('Conv2D',)")


def test_activation_statistics_are_the_mean_and_std_of_each_layer():
    x, _ = _batch()
    model = _deep_mlp("he_normal", depth=3)
    statistics = activation_statistics(model, x)
    for name, values in layer_activations(model, x).items():
        np.testing.assert_allclose(statistics[name], (values.mean(), values.std()), rtol=1e-6)


def _backprop_kernel_gradients(model, x, y):
    """Kernel gradients of the mean cross-entropy of a ReLU MLP, by hand in NumPy."""
    weights = [weight.astype("float64") for weight in model.get_weights()]
    kernels, biases = weights[0::2], weights[1::2]
    activations = [x.astype("float64")]
    for kernel, bias in zip(kernels[:-1], biases[:-1]):
        activations.append(np.maximum(activations[-1] @ kernel + bias, 0.0))
    logits = activations[-1] @ kernels[-1] + biases[-1]
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    error = (probabilities - np.eye(logits.shape[1])[y]) / len(x)  # d loss / d logits
    gradients = []
    for layer in reversed(range(len(kernels))):
        gradients.insert(0, activations[layer].T @ error)
        error = (error @ kernels[layer].T) * (activations[layer] > 0)
    return gradients


def test_kernel_gradients_equal_backpropagation_and_leave_the_model_unchanged():
    x, y = _batch()
    model = _deep_mlp("he_normal", depth=2)
    weights = model.get_weights()
    expected = _backprop_kernel_gradients(model, x, y)
    gradients = kernel_gradients(model, x, y)
    assert list(gradients) == [layer.name for layer in _dense(model)]
    for gradient, reference in zip(gradients.values(), expected):
        np.testing.assert_allclose(gradient, reference, rtol=1e-4, atol=1e-6)
    for kept, original in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(kept, original)


def test_constant_initialization_gives_identical_gradients_to_every_hidden_neuron():
    x, y = _batch()
    model = _deep_mlp(keras.initializers.Constant(0.05))
    gradients = list(kernel_gradients(model, x, y).values())
    assert [distinct_neurons(gradient) for gradient in gradients[:-1]] == [1] * DEPTH
    assert distinct_neurons(gradients[-1]) == 4  # each class gets its own error p_k - y_k


def test_constant_initialization_stays_symmetric_after_training():
    x, y = _batch()
    model = _deep_mlp(keras.initializers.Constant(0.05))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    kernels = [keras.ops.convert_to_numpy(layer.kernel) for layer in _dense(model)[:-1]]
    assert [distinct_neurons(kernel) for kernel in kernels] == [1] * DEPTH


def test_small_random_weights_make_activations_vanish_with_depth():
    statistics = activation_statistics(_deep_mlp(keras.initializers.RandomNormal(
        stddev=0.01, seed=0)), _batch()[0])
    stds = [std for _, std in statistics.values()][:DEPTH]
    # Each layer multiplies the scale by about 0.01 * sqrt(WIDTH / 2) = 0.06.
    assert stds[-1] < 1e-5 * stds[0]


def test_he_initialization_keeps_the_activation_scale_with_depth():
    # One network's ratio swings (below 0.5 for about 1 draw in 70): the
    # geometric mean over five networks is the scale He keeps.
    ratios = []
    for seed in range(5):
        statistics = activation_statistics(_deep_mlp(keras.initializers.HeNormal(seed=seed)),
                                           _batch()[0])
        stds = [std for _, std in statistics.values()][:DEPTH]
        ratios.append(stds[-1] / stds[0])
    assert 0.5 < np.exp(np.mean(np.log(ratios))) < 2.0, ratios


def test_distinct_neurons_counts_different_columns_within_the_tolerance():
    kernel = np.array([[1.0, 1.0, 1.0 + 1e-9, 2.0], [0.5, 0.5, 0.5, 0.5]])
    assert distinct_neurons(kernel) == 2
    assert distinct_neurons(kernel, tolerance=0.0) == 3


def test_distinct_neurons_treats_the_last_axis_of_a_convolution_kernel_as_units():
    kernel = np.zeros((3, 3, 2, 4))
    kernel[..., 3] = 1.0
    assert distinct_neurons(kernel) == 2


def test_distinct_neurons_rejects_a_negative_tolerance():
    with pytest.raises(ValueError) as error:
        distinct_neurons(np.ones((2, 2)), tolerance=-1.0)
    assert str(error.value) == "`tolerance` must be a number >= 0. Received: tolerance=-1.0"


def test_reinitialize_draws_every_kernel_and_zeroes_every_bias():
    model = reinitialize(models.mlp((16,), 4, hidden_units=(8, 8)), keras.initializers.Constant(
        0.25), bias_initializer="ones")
    for layer in _dense(model):
        assert (keras.ops.convert_to_numpy(layer.kernel) == 0.25).all()
        assert (keras.ops.convert_to_numpy(layer.bias) == 1.0).all()


def test_reinitialize_gives_layers_of_one_shape_their_own_reproducible_draws():
    def kernels(initializer):
        model = reinitialize(models.mlp((16,), 4, hidden_units=(8, 8, 8)), initializer)
        return [keras.ops.convert_to_numpy(layer.kernel) for layer in _dense(model)]

    first = kernels(keras.initializers.HeNormal(seed=3))
    assert not np.array_equal(first[1], first[2])  # both 8x8: a seeded Keras initializer repeats
    for again, kernel in zip(kernels(keras.initializers.HeNormal(seed=3)), first):
        np.testing.assert_array_equal(again, kernel)
    unseeded = kernels("he_normal")
    assert not np.array_equal(unseeded[1], unseeded[2])


def test_plot_activation_histograms_has_one_panel_per_layer_and_row():
    figure = plot_activation_histograms({"he": {"a": np.ones(8), "b": np.zeros(8)},
                                         "small": {"a": np.arange(8.0)}})
    assert len(figure.axes) == 3
    assert [axis.get_title() for axis in figure.axes] == ["a\nstd 0", "b\nstd 0", "a\nstd 2.3"]


def test_initialization_docstring_examples_run():
    results = doctest.testmod(kerasreg.initialization)
    assert results.attempted > 0 and results.failed == 0
