"""Inference tricks: Monte Carlo dropout, BatchNorm folding, audit and recalibration."""

import collections
import contextlib
import dataclasses
import itertools

import keras
import numpy as np
from keras import ops

from kerasreg._batches import input_batches
from kerasreg._layer_search import find_layers
from kerasreg._snapshot import restored
from kerasreg._text_table import text_table
from kerasreg._statistics import EMPTY, merge_moments
from kerasreg._validation import check_model, check_number, fail, fail_shape
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
    saved_states = [ops.convert_to_numpy(g.state.value) for g in generators]
    starts = np.random.default_rng(seed).integers(1, 2**31 - 1, len(generators))
    for generator, start in zip(generators, starts):
        generator.state.assign(np.array([start, 0], dtype=generator.state.dtype))
    try:
        with _patched_calls(layers, lambda layer, call: _always_training(call)):
            yield
    finally:
        for generator, state in zip(generators, saved_states):
            generator.state.assign(state)


@contextlib.contextmanager
def _patched_calls(layers, wrap):
    """Replace each layer's `call` by `wrap(layer, call)`; restore it on exit, also on error."""
    for layer in layers:
        layer.call = wrap(layer, layer.call)
    try:
        yield
    finally:
        for layer in layers:
            del layer.call  # the instance attribute; the class's `call` shows again


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


BATCH_STATISTICS = "batch statistics"
MOVING_STATISTICS = "moving statistics"


@dataclasses.dataclass(frozen=True)
class BatchNormRow:
    """One BatchNormalization layer in a `bn_audit`.

    Attributes:
        name: path from the audited model, e.g. `"model/base/bn"`.
        trainable: the layer's own `trainable` flag (a frozen parent model
            sets it to False).
        training_argument: the `training=` value that the model's own calls
            (`base(x, training=False)`, `bn(x, training=True)`) pass to the
            layer when nothing else sets the mode, i.e. under `model(x)`;
            None when no call in the model sets it.
        fit_mode: what the layer normalizes with under `fit` (a call with
            `training=True`): `BATCH_STATISTICS` (which also updates the
            moving statistics) or `MOVING_STATISTICS`.
        predict_mode: the same under `predict` and `evaluate`
            (`training=False`).
        trap: True when a `training_argument` is written and `fit` or
            `predict` does not run the layer in the mode it asks for (batch
            statistics for True, moving statistics for False).
    """

    name: str
    trainable: bool
    training_argument: bool | None
    fit_mode: str
    predict_mode: str
    trap: bool


@dataclasses.dataclass(frozen=True)
class BatchNormAudit:
    """The result of `bn_audit`: `.rows` (a list of `BatchNormRow`) and `.traps`.

    `str()` gives an aligned table of the rows and a summary line.
    """

    rows: list

    @property
    def traps(self):
        """The rows whose mode under `fit` or `predict` is not the one their call asks for."""
        return [row for row in self.rows if row.trap]

    def __str__(self):
        table = text_table(
            ("layer", "trainable", "training=", "fit", "predict", "trap"),
            [(row.name, row.trainable, "-" if row.training_argument is None
              else row.training_argument, row.fit_mode, row.predict_mode,
              "TRAP" if row.trap else "") for row in self.rows])
        count, traps = len(self.rows), len(self.traps)
        summary = f"{count} BatchNormalization layer{'s' * (count != 1)}, {traps} trap"
        summary += "s" * (traps != 1)
        if traps:
            summary += " (fit or predict ignores the `training=` written in the model)"
        return f"{table}\n{summary}"


def bn_audit(model, x=None):
    """Which statistics each BatchNormalization really uses under `fit` and `predict`.

    The lecture: batch normalization "behaves differently during training and
    testing: a very common source of bugs". Which mode a layer runs in
    depends on its `trainable` flag (a frozen BatchNormalization always uses
    its moving statistics) and on the `training` value that reaches it, and
    that value is not always the one written in the model: in Keras 3, the
    `training=True` of `fit` (and the `training=False` of `predict`)
    replaces a `training=` written on a call inside a Functional or
    Sequential model, so `x = base(x, training=False)` does not keep the
    BatchNormalization of an unfrozen `base` in inference mode during
    fine-tuning (keras-team/keras#20285); a subclassed model whose `call`
    passes `training=False` explicitly is obeyed.

    Rather than reason about it, the audit measures it: each
    BatchNormalization's `call` is wrapped to record the `training` value
    and `trainable` flag it sees, and the model runs on one small batch as
    `fit` calls it (`training=True`), as `predict` and `evaluate` call it
    (`training=False`) and as `model(x)` does (no `training`: only the
    values written in the model act). A layer uses batch statistics exactly
    when `training` and `trainable` are both true (`BatchNormalization.call`'s
    rule). Every variable is restored afterwards, so the moving statistics
    do not change. The layers are found as `dropout_layers` finds dropout:
    through `.layers` (nested models included) and the public attributes
    of wrapper layers.

    Args:
        model: the `keras.Model` that `fit` and `predict` are called on.
        x: one batch of inputs for the probe. Defaults to `None`: two
            examples of zeros shaped like `model.inputs` (which needs a
            Functional or Sequential model with fixed non-batch
            dimensions).

    Returns:
        A `BatchNormAudit`: `.rows` (one `BatchNormRow` per layer, in
        `model.layers` order), `.traps`, and `str()` an aligned table. A
        layer called several times in different modes shows them joined by
        " / "; one the probe does not reach shows "not called" (e.g. in a
        branch that stochastic depth's `mode="batch"` dropped in the probe's
        draw).

    Example:
    >>> base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4),
    ...                          keras.layers.BatchNormalization(name="bn")], name="base")
    >>> inputs = keras.Input((4,))
    >>> outputs = keras.layers.Dense(1)(base(inputs, training=False))
    >>> print(bn_audit(keras.Model(inputs, outputs, name="model")))
    layer          trainable  training=  fit               predict            trap
    model/base/bn  True       False      batch statistics  moving statistics  TRAP
    1 BatchNormalization layer, 1 trap (fit or predict ignores the `training=` written in the model)
    >>> base.trainable = False  # frozen: moving statistics in both, as written
    >>> print(bn_audit(keras.Model(inputs, outputs, name="model")))
    layer          trainable  training=  fit                predict            trap
    model/base/bn  False      False      moving statistics  moving statistics
    1 BatchNormalization layer, 0 traps

    Reference:
        Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network
        Training by Reducing Internal Covariate Shift", ICML 2015;
        keras-team/keras#20285 (`training=False` overridden under `fit`).
    """
    check_model(model)
    found = find_layers(model, keras.layers.BatchNormalization)
    layers = [layer for _, layer in found]
    x = _probe_inputs(model) if x is None else x
    _build(model, x)
    fit, predict, written = (_probe_calls(model, x, layers, training)
                             for training in (True, False, None))
    rows = [_audit_row(path, layer, fit[id(layer)], predict[id(layer)], written[id(layer)])
            for path, layer in found]
    return BatchNormAudit(rows)


def _build(model, x):
    """Build `model` on `x` with a plain inference call, before any `call` is wrapped.

    (A subclassed model's first call also traces `call` symbolically.)
    """
    if not model.built:
        model(x, training=False)


def _probe_inputs(model):
    """Two examples of zeros for each input of a graph model, in its input structure."""
    try:
        inputs = model.input
    except AttributeError:  # a Sequential model has `inputs` only, a subclassed one neither
        inputs = (getattr(model, "inputs", None) or [None])[0]
    shapes = [tuple(tensor.shape[1:]) for tensor in keras.tree.flatten(inputs)
              if tensor is not None]
    if not shapes or any(None in shape for shape in shapes):
        fail("x", "a batch of inputs when `model` has no fixed input shape", None)
    return keras.tree.map_structure(
        lambda tensor: np.zeros((2,) + tuple(tensor.shape[1:]), tensor.dtype), inputs)


def _probe_calls(model, x, layers, training):
    """{id(layer): [(training, trainable) of each call]} for one forward pass of `model`."""
    calls = {id(layer): [] for layer in layers}

    def wrap(layer, call):
        def recording(*args, **kwargs):
            value = kwargs.get("training")
            calls[id(layer)].append((None if value is None else bool(value), layer.trainable))
            return call(*args, **kwargs)
        return recording

    with restored(model.variables), _patched_calls(layers, wrap):
        model(x, training=training)  # None: only the model's own `training=` arguments act
    return calls


def _audit_row(path, layer, fit, predict, written):
    def mode(training, trainable):
        return BATCH_STATISTICS if training and trainable else MOVING_STATISTICS

    def joined(calls):
        modes = dict.fromkeys(mode(*call) for call in calls)  # distinct, in call order
        return " / ".join(modes) or "not called"

    def ignored(argument, fit_call, predict_call):
        asked = mode(argument, True)
        return argument is not None and (mode(*fit_call) != asked or mode(*predict_call) != asked)

    arguments = [argument for argument, _ in written]
    trap = any(map(ignored, arguments, fit, predict))
    written_argument = next((argument for argument in arguments if argument is not None), None)
    return BatchNormRow(path, layer.trainable, written_argument, joined(fit), joined(predict),
                        trap)


def recalibrate_bn(model, data, steps=None, batch_size=32):
    """Recompute every BatchNormalization's moving mean and variance on `data`.

    At test time batch normalization uses moving averages of the training
    batches' statistics, and these can be wrong for the network as it now
    is: after training with stochastic depth (at test time every residual
    branch is on, and the sums have other statistics), after fine-tuning on
    little data, or on a shifted domain. This replaces them by the exact population
    statistics (mean and biased variance per channel, as Keras computes
    them) of each layer's inputs over all the examples of `steps` batches,
    with every BatchNormalization in training mode, frozen ones included,
    and every other layer in inference mode (dropout off): "precise BN"
    (Wu & Johnson). No other variable changes: gamma, beta, the other
    layers' weights, `trainable` flags and momentum are as before. Layers
    are found as in `bn_audit`; one that the data never reaches keeps its
    statistics. Each batch runs eagerly (a Python call of the model).
    Recalibrate before `fold_batchnorm`, which removes the layers.

    Args:
        model: a `keras.Model` with at least one BatchNormalization layer
            (nested models included); changed in place.
        data: the model's inputs as an array (a dict of arrays for several
            inputs) or an `(x, y)` tuple of them, cut into batches of
            `batch_size`; or an iterable of batches, `x` or `(x, y)` (a
            list of batches, a `tf.data.Dataset`, a
            `keras.utils.PyDataset`, a generator).
        steps: number of batches to use, an integer >= 1. Defaults to
            `None`: all of `data` (give `steps` for an endless iterable).
        batch_size: examples per batch for array data, an integer >= 1.
            Defaults to `32`.

    Returns:
        `model`, for chaining.

    Example:
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
    >>> x = np.arange(12, dtype="float32").reshape(4, 3)
    >>> bn = recalibrate_bn(model, x, batch_size=3).layers[0]
    >>> [ops.convert_to_numpy(bn.moving_mean).tolist(),
    ...  ops.convert_to_numpy(bn.moving_variance).tolist()]
    [[4.5, 5.5, 6.5], [11.25, 11.25, 11.25]]

    Reference:
        Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021,
        https://arxiv.org/abs/2105.07576 (PreciseBN); Li et al., "Revisiting
        Batch Normalization For Practical Domain Adaptation", 2016 (AdaBN).
    """
    check_model(model)
    if steps is not None:
        check_number("steps", steps, 1, integer=True)
    check_number("batch_size", batch_size, 1, integer=True)
    layers = [layer for _, layer in find_layers(model, keras.layers.BatchNormalization)]
    if not layers:
        fail("model", "a keras.Model with at least one BatchNormalization layer "
             "(nested models included)", model)
    moments = {id(layer): _Moments() for layer in layers}

    def wrap(layer, call):
        def calibrating(inputs, *args, **kwargs):
            moments[id(layer)].add(inputs, kwargs.get("mask"), layer.axis)
            return call(inputs, *args, **kwargs)
        return _always_training(calibrating)

    batches = itertools.islice(input_batches(data, batch_size), steps)
    first = next(batches, None)
    if first is None:
        fail("data", "at least one batch", data)
    _build(model, first)
    with restored(model.variables), _patched_calls(layers, wrap), _unfrozen(layers):
        for x in itertools.chain([first], batches):
            model(x, training=False)
    for layer in layers:
        moments[id(layer)].assign_to(layer)
    return model


class _Moments:
    """Exact per-channel count, mean and sum of squared deviations over batches.

    Each batch is reduced on the device; batches are merged in float64
    with Chan et al.'s pairwise update (`merge_moments`), so the result does
    not depend on how the data is batched.
    """

    def __init__(self):
        self.count, self.mean, self.squares = EMPTY

    def add(self, inputs, mask, axis):
        inputs = ops.cast(inputs, "float32")
        rank = len(inputs.shape)
        axes = [dim for dim in range(rank) if dim != axis % rank]
        weights = ops.ones_like(inputs) if mask is None else ops.broadcast_to(
            ops.cast(ops.expand_dims(mask, -1), "float32"), ops.shape(inputs))
        count = ops.sum(weights, axes, keepdims=True)
        mean = ops.sum(weights * inputs, axes, keepdims=True) / ops.maximum(count, 1.0)
        squares = ops.sum(weights * ops.square(inputs - mean), axes, keepdims=True)
        batch = [ops.convert_to_numpy(t).reshape(-1) for t in (count, mean, squares)]
        self.count, self.mean, self.squares = merge_moments(
            (self.count, self.mean, self.squares), batch)

    def assign_to(self, layer):
        if not np.any(self.count):
            return  # never reached by the data
        variance = self.squares / self.count
        layer.moving_mean.assign(self.mean.astype(layer.moving_mean.dtype))
        layer.moving_variance.assign(variance.astype(layer.moving_variance.dtype))
        if layer.renorm:
            layer.moving_stddev.assign(
                np.sqrt(variance + layer.epsilon).astype(layer.moving_stddev.dtype))


@contextlib.contextmanager
def _unfrozen(layers):
    """Make the frozen `layers` trainable; freeze them again on exit, also on error."""
    frozen = [layer for layer in layers if not layer.trainable]
    for layer in frozen:
        layer.trainable = True
    try:
        yield
    finally:
        for layer in frozen:
            layer.trainable = False

