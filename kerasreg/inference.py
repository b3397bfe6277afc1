"""Inference tricks: Monte Carlo dropout and BatchNorm folding."""

import collections
import contextlib

import keras
import numpy as np
from keras import ops

from kerasreg._validation import check_number, fail
from kerasreg.layers.dropout import VanillaDropout

# `keras.layers.Dropout` covers its subclasses: SpatialDropout1D/2D/3D, MCDropout.
DROPOUT_TYPES = (keras.layers.Dropout, keras.layers.GaussianDropout,
                 keras.layers.AlphaDropout, VanillaDropout)

# Exact types: a subclass may change `call`, and folding would then be wrong.
FOLDABLE_TYPES = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D,
                  keras.layers.Conv3D, keras.layers.DepthwiseConv1D,
                  keras.layers.DepthwiseConv2D, keras.layers.SeparableConv1D,
                  keras.layers.SeparableConv2D)


def dropout_layers(model):
    """The dropout layers of `model` and of the models nested in it.

    These are the layers `mc_predict` switches on: instances of
    `DROPOUT_TYPES` reachable through `.layers` (a dropout held inside
    another layer, such as `MultiHeadAttention`'s, is not reached).

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
    found = {}
    for layer in model.layers:
        if isinstance(layer, DROPOUT_TYPES):
            found[id(layer)] = layer
        elif isinstance(layer, keras.Model):
            found.update((id(inner), inner) for inner in dropout_layers(layer))
    return list(found.values())


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
    layers = dropout_layers(model)
    # Without dropout every mask gives the same output: one pass, std exactly 0.
    sampler = _MonteCarlo(model, samples if layers else 1)
    with _dropout_switched_on(layers, seed):
        mean, std = sampler.predict(x, batch_size=batch_size, verbose=0)
    return mean, std


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
    saved_states = [ops.convert_to_numpy(g.state.value) for g in generators]
    starts = np.random.default_rng(seed).integers(1, 2**31 - 1, len(generators))
    for generator, start in zip(generators, starts):
        generator.state.assign(np.array([start, 0], dtype=generator.state.dtype))
    for layer in layers:
        layer.call = _always_training(layer.call)
    try:
        yield
    finally:
        for layer in layers:
            del layer.call  # the instance attribute; the class's `call` shows again
        for generator, state in zip(generators, saved_states):
            generator.state.assign(state)


def _always_training(call):
    def call_in_training(*args, **kwargs):
        return call(*args, **{**kwargs, "training": True})
    return call_in_training


def fold_batchnorm(model):
    """A copy of `model` with each BatchNormalization folded into its layer.

    At inference BatchNormalization is the per-channel affine map
    `y = gamma * (z - mu) / sqrt(sigma^2 + eps) + beta`, so after a linear
    layer `z = W x + b` it is one linear layer again (the lecture: "can be
    fused with the previous convolution layer"): with `s = gamma /
    sqrt(sigma^2 + eps)`, `W' = s * W` per output channel and `b' = s * (b -
    mu) + beta`. A BatchNormalization is folded when it directly follows a
    Dense, Conv1D/2D/3D, DepthwiseConv1D/2D or SeparableConv1D/2D layer with
    a linear activation, called once, whose output feeds nothing else,
    and its axis is that layer's channel axis; a bias is created when the
    layer had none. Other BatchNormalization layers are kept. Nested
    Functional and Sequential models are folded too.

    Args:
        model: a built Functional or Sequential `keras.Model`; it is not
            changed.

    Returns:
        A new model of the same kind with the same predictions in
        inference mode (to float rounding) and fewer layers.

    Example:
    >>> model = keras.Sequential([keras.Input((8, 8, 3)),
    ...                           keras.layers.Conv2D(4, 3, use_bias=False),
    ...                           keras.layers.BatchNormalization(),
    ...                           keras.layers.ReLU()])
    >>> [type(layer).__name__ for layer in fold_batchnorm(model).layers]
    ['Conv2D', 'ReLU']
    """
    if not isinstance(model, keras.Model) or not _is_graph_model(model):
        fail("model", "a Functional or Sequential keras.Model", model)
    if isinstance(model, keras.Sequential):
        if not model.built:
            fail("model", "a built model (give it a keras.Input or call it once)", model)
        return _fold_sequential(model)
    return _fold_functional(model)


def _fold_sequential(model):
    layers = model.layers
    folds = {id(layer): bn for layer, bn in zip(layers, layers[1:]) if _can_fold(layer, bn)}
    batchnorm_ids = {id(bn) for bn in folds.values()}
    copies = []
    new_layers = [_clone(layer, folds, copies) for layer in layers
                  if id(layer) not in batchnorm_ids]
    inputs = model.inputs[0]
    folded = keras.Sequential(
        [keras.Input(batch_shape=inputs.shape, dtype=inputs.dtype)] + new_layers,
        name=model.name, trainable=model.trainable)
    _set_weights(copies, folds)
    if model.compiled:
        folded.compile_from_config(model.get_compile_config())
    return folded


def _fold_functional(model):
    folds = _foldable_pairs(model)
    batchnorm_ids = {id(bn) for bn in folds.values()}
    copies = []

    def clone_function(layer):
        if id(layer) in batchnorm_ids:
            return layer  # never called: `call_function` skips it
        return _clone(layer, folds, copies)

    def call_function(layer, *args, **kwargs):
        if id(layer) in batchnorm_ids:
            return args[0]
        return layer(*args, **kwargs)

    folded = keras.models.clone_model(model, clone_function=clone_function,
                                      call_function=call_function)
    _set_weights(copies, folds)
    return folded


def _clone(layer, folds, copies):
    """A fresh layer like `layer`, with a bias when it is in `folds`; models folded."""
    if isinstance(layer, keras.Model) and _is_graph_model(layer):
        return fold_batchnorm(layer)
    config = layer.get_config()
    if id(layer) in folds:
        config["use_bias"] = True
    new = type(layer).from_config(config)
    copies.append((layer, new))
    return new


def _set_weights(copies, folds):
    """Copy the weights into the built clones, folding the BatchNormalizations."""
    for layer, new in copies:
        if id(layer) in folds:
            _assign_folded(layer, folds[id(layer)], new)
        else:
            new.set_weights(layer.get_weights())


def _is_graph_model(model):
    if isinstance(model, keras.Sequential):
        return True
    try:
        return "input_layers" in model.get_config()
    except NotImplementedError:
        return False


def _foldable_pairs(model):
    """{id(producer): BatchNormalization} for the foldable pairs of one graph."""
    config = model.get_config()
    nodes = {entry["name"]: entry["inbound_nodes"] for entry in config["layers"]}
    uses = collections.Counter(_output_refs(config["output_layers"]))
    for calls in nodes.values():
        for node in calls:
            uses.update(_tensor_refs(node))
    pairs = {}
    for name, calls in nodes.items():
        bn = model.get_layer(name)
        if not isinstance(bn, keras.layers.BatchNormalization) or len(calls) != 1:
            continue
        sources = _tensor_refs(calls[0])
        forced_training = calls[0]["kwargs"].get("training") and bn.trainable
        if len(sources) != 1 or forced_training:
            continue
        source = sources[0]
        producer = model.get_layer(source[0])
        if (source[1:] == (0, 0) and len(nodes[source[0]]) == 1 and uses[source] == 1
                and _can_fold(producer, bn)):
            pairs[id(producer)] = bn
    return pairs


def _tensor_refs(node):
    """(layer name, node index, tensor index) of the tensors a serialized call uses."""
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            return [tuple(node["config"]["keras_history"])]
        return [ref for value in node.values() for ref in _tensor_refs(value)]
    if isinstance(node, (list, tuple)):
        return [ref for value in node for ref in _tensor_refs(value)]
    return []


def _output_refs(outputs):
    """The (name, node, tensor) triples in a config's `output_layers`."""
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if len(outputs) == 3 and isinstance(outputs[0], str):
        return [tuple(outputs)]
    return [ref for output in outputs for ref in _output_refs(output)]


def _can_fold(layer, bn):
    if (type(layer) not in FOLDABLE_TYPES
            or not isinstance(bn, keras.layers.BatchNormalization)
            or not (layer.built and bn.built)
            or layer.get_config().get("activation") != "linear"
            or layer.quantization_mode is not None
            or getattr(layer, "lora_enabled", False)):
        return False
    rank = len(bn.input.shape)
    channels_first = getattr(layer, "data_format", None) == "channels_first"
    return bn.axis % rank == (1 if channels_first else rank - 1)


def _assign_folded(layer, bn, new):
    """Write `bn`'s affine map into `new`, the biased clone of `layer`."""
    def value(variable):
        return ops.convert_to_numpy(variable).astype("float64")

    channels = value(bn.moving_mean).shape[0]
    gamma = value(bn.gamma) if bn.scale else np.ones(channels)
    beta = value(bn.beta) if bn.center else np.zeros(channels)
    scale = gamma / np.sqrt(value(bn.moving_variance) + bn.epsilon)
    bias = value(layer.bias) if layer.use_bias else np.zeros(channels)
    if isinstance(layer, (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)):
        new.depthwise_kernel.assign(layer.depthwise_kernel)
        kernel, new_kernel = value(layer.pointwise_kernel), new.pointwise_kernel
    else:
        kernel, new_kernel = value(layer.kernel), new.kernel
    if isinstance(layer, (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)):
        # (..., in, depth_multiplier): output channel c * depth_multiplier + m.
        kernel = kernel * scale.reshape(kernel.shape[-2:])
    else:
        kernel = kernel * scale
    new_kernel.assign(kernel.astype(new_kernel.dtype))
    new.bias.assign((scale * bias + beta - scale * value(bn.moving_mean)).astype(new.bias.dtype))
