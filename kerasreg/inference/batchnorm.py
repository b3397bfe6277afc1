"""Batch-norm at inference: the audit of which statistics each layer uses, and recalibration.

`bn_audit` tells, for every BatchNormalization, whether `fit` and
`predict` use batch or moving statistics (and flags the traps where the
model's written `training=` is ignored); `recalibrate_bn` recomputes the
moving statistics exactly on data (PreciseBN, AdaBN).
"""

import contextlib
import dataclasses
import itertools

import keras
import numpy as np
from keras import ops

from kerasreg._batches import input_batches
from kerasreg._layer_search import find_layers
from kerasreg._snapshot import restored
from kerasreg._statistics import EMPTY, merge_moments
from kerasreg._text_table import text_table
from kerasreg._validation import check_model, check_number, fail
from kerasreg.inference._calls import always_training, patched_calls


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

    with restored(model.variables), patched_calls(layers, wrap):
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
        return always_training(calibrating)

    batches = itertools.islice(input_batches(data, batch_size), steps)
    first = next(batches, None)
    if first is None:
        fail("data", "at least one batch", data)
    _build(model, first)
    with restored(model.variables), patched_calls(layers, wrap), _unfrozen(layers):
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
