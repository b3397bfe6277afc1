"""BatchNorm folding: a BatchNormalization after a linear layer merged into its weights.

`fold_batchnorm` returns a copy of the model in which each foldable
`Dense` / `Conv*` followed by a BatchNormalization computes both at once
(the inference-time form: the same outputs with one layer less).
"""

import collections

import keras
import numpy as np
from keras import ops

from kerasreg._validation import fail

# Exact types: a subclass may change `call`, and folding would then be wrong.
FOLDABLE_TYPES = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D,
                  keras.layers.Conv3D, keras.layers.DepthwiseConv1D,
                  keras.layers.DepthwiseConv2D, keras.layers.SeparableConv1D,
                  keras.layers.SeparableConv2D)


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
