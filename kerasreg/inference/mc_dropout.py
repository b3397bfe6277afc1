"""Monte Carlo dropout: dropout kept on at inference, predictions averaged over masks.

`mc_predict` averages `samples` stochastic forward passes (Gal &
Ghahramani's MC dropout); `mask_sampling_accuracy` compares that average
with weight scaling (the usual deterministic pass) as the number of masks
grows; `dropout_layers` finds the layers it switches on.
"""

import contextlib

import keras
import numpy as np
from keras import ops

from kerasreg._layer_search import find_layers
from kerasreg._snapshot import restore, snapshot
from kerasreg._validation import check_model, check_number, fail_shape
from kerasreg.inference._calls import always_training, patched_calls
from kerasreg.layers.dropout import VanillaDropout

# `keras.layers.Dropout` covers its subclasses: SpatialDropout1D/2D/3D, MCDropout.
DROPOUT_TYPES = (keras.layers.Dropout, keras.layers.GaussianDropout,
                 keras.layers.AlphaDropout, VanillaDropout)


def dropout_layers(model):
    """The dropout layers of `model` and of the models nested in it.

    These are the layers `mc_predict` switches on: instances of
    `DROPOUT_TYPES` reachable through `.layers` and through the public
    attributes of wrapper layers (`TimeDistributed.layer`,
    `StochasticDepth.branch`); a dropout in a private attribute, such as
    `MultiHeadAttention`'s, is not reached.

    Args:
        model: a `keras.Model`.

    Returns:
        A list of layers, each once, in `model.layers` order.

    Example:
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
    ...                           keras.layers.Dropout(0.5)])
    >>> [layer.name for layer in dropout_layers(model)] == [model.layers[1].name]
    True
    """
    check_model(model)
    return [layer for _, layer in find_layers(model, DROPOUT_TYPES)]


def mc_predict(model, x, samples=20, batch_size=None, seed=None):
    """Monte Carlo dropout: mean and spread of the predictions over masks.

    The lecture's "mask sampling" vote: `samples` masks `z`, one prediction
    `f(x, z)` each, and their average estimates `E_z[f(x, z)]`; the standard
    deviation over masks measures the model's uncertainty (Gal &
    Ghahramani). Only the dropout layers (`dropout_layers(model)`) are
    switched on; every other layer runs in inference mode, so
    BatchNormalization keeps its moving statistics. (`model(x,
    training=True)` would normalize with the batch's statistics instead.)

    The masks are drawn in one pass per batch: each batch is repeated
    `samples` times along the batch axis inside one compiled `predict`, so
    memory grows with `samples * batch_size` (lower `batch_size` for big
    inputs). A dropout whose `noise_shape` shares the mask over the batch
    axis therefore shares it over the samples too.

    Args:
        model: a built `keras.Model` (Functional, Sequential or subclassed).
        x: inputs, anything `model.predict` accepts.
        samples: number of dropout masks, an integer >= 1. Defaults to `20`.
        batch_size: examples per step, as in `model.predict`. Defaults to
            `None` (32).
        seed: an integer that makes the masks reproducible; the dropout
            layers' own random state is restored afterwards. Defaults to
            `None` (the layers' generators advance as usual).

    Returns:
        `(mean, std)`: NumPy float arrays (lists of them for a model with
        several outputs) shaped like `model.predict(x)`; `std` is the
        population standard deviation over the masks, exactly 0 when the
        model has no dropout layer.

    Example:
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...                           keras.layers.Dropout(0.5), keras.layers.Dense(2)])
    >>> mean, std = mc_predict(model, np.ones((3, 4)), samples=10, seed=0)
    >>> mean.shape, std.shape, bool((std > 0).all())
    ((3, 2), (3, 2), True)
    """
    check_number("samples", samples, 1, integer=True)
    if batch_size is not None:
        check_number("batch_size", batch_size, 1, integer=True)
    if seed is not None:
        check_number("seed", seed, 0, integer=True)
    _check_not_empty(x)
    layers = dropout_layers(model)
    # Without dropout every mask gives the same output: one pass, std exactly 0.
    sampler = _MonteCarlo(model, samples if layers else 1)
    with _dropout_switched_on(layers, seed):
        mean, std = sampler.predict(x, batch_size=batch_size, verbose=0)
    return mean, std


def mask_sampling_accuracy(model, x, y, mask_counts=(1, 2, 5, 10, 20), seed=None):
    """The lecture's two votes of a dropout classifier, scored on labelled data.

    Weight scaling is one pass with every unit on (`model.predict`); mask
    sampling averages the class probabilities of `count` masks
    (`mc_predict`) for each count in `mask_counts`.

    Args:
        model: a classifier with one output of class probabilities (or logits).
        x: inputs.
        y: integer labels.
        mask_counts: numbers of masks to average, each an integer >= 1.
            Defaults to `(1, 2, 5, 10, 20)`.
        seed: an integer that makes the masks reproducible. Defaults to `None`.

    Returns:
        `(sampled, scaled)`: the accuracy of mask sampling for each count (a
        list, in `mask_counts` order) and the accuracy of weight scaling.

    Example:
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...                           keras.layers.Dropout(0.5), keras.layers.Dense(2)])
    >>> sampled, scaled = mask_sampling_accuracy(model, np.ones((6, 4)), np.zeros(6, "int32"),
    ...                                          mask_counts=(1, 10), seed=0)
    >>> len(sampled), 0 <= scaled <= 1
    (2, True)
    """
    y = np.asarray(y)
    for count in mask_counts:
        check_number("mask_counts", count, 1, integer=True)
    scaled = np.mean(model.predict(x, verbose=0).argmax(axis=-1) == y)
    sampled = [np.mean(mc_predict(model, x, samples=count, seed=seed)[0].argmax(axis=-1) == y)
               for count in mask_counts]
    return [float(accuracy) for accuracy in sampled], float(scaled)


def _check_not_empty(x):
    """Arrays (and tuples, lists, dicts of them) must hold at least one example."""
    if isinstance(x, (tuple, list, dict)) or hasattr(x, "shape"):
        arrays = keras.tree.flatten(x)
        if arrays and hasattr(arrays[0], "shape") and arrays[0].shape[0] == 0:
            fail_shape("x", "an array of at least one example", arrays[0].shape)


class _MonteCarlo(keras.Model):
    """`samples` copies of each batch through `model`, reduced to mean and std."""

    def __init__(self, model, samples):
        super().__init__(name="mc_predict")
        self.network = model
        self.samples = samples

    def call(self, inputs):
        repeated = keras.tree.map_structure(
            lambda t: ops.concatenate([t] * self.samples, axis=0), inputs)
        outputs = self.network(repeated, training=False)
        draws = keras.tree.map_structure(self._by_sample, outputs)
        mean = keras.tree.map_structure(lambda d: ops.mean(d, axis=0), draws)
        std = keras.tree.map_structure(
            lambda d, m: ops.sqrt(ops.mean(ops.square(d - m), axis=0)), draws, mean)
        return mean, std

    def _by_sample(self, outputs):
        """(samples * B, ...) -> (samples, B, ...), at least float32."""
        dtype = keras.backend.result_type(outputs.dtype, "float32")
        shape = (self.samples, -1) + tuple(ops.shape(outputs)[1:])
        return ops.reshape(ops.cast(outputs, dtype), shape)


@contextlib.contextmanager
def _dropout_switched_on(layers, seed):
    """Force `training=True` in `layers`' calls; with `seed`, reseed them.

    Restores the calls (and, with `seed`, the generators' states) on exit,
    also when the body raises.
    """
    generators = [] if seed is None else [
        layer.seed_generator for layer in layers
        if isinstance(getattr(layer, "seed_generator", None), keras.random.SeedGenerator)]
    saved_states = snapshot([generator.state for generator in generators])
    starts = np.random.default_rng(seed).integers(1, 2**31 - 1, len(generators))
    for generator, start in zip(generators, starts):
        generator.state.assign(np.array([start, 0], dtype=generator.state.dtype))
    try:
        with patched_calls(layers, lambda layer, call: always_training(call)):
            yield
    finally:
        restore(saved_states)
