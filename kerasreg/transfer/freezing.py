"""Freezing for transfer learning: which layers train, BatchNormalization kept frozen.

`freeze` / `unfreeze_top` set the trainable layers of a pretrained base
and keep every BatchNormalization layer frozen (the Keras fine-tuning
trap, see `kerasreg.transfer`); `batchnorm_layers` finds them, nested
models and wrapper layers included; `moving_statistics` reads their
statistics, to check that fine-tuning left them alone.
"""

import keras

from kerasreg._layer_search import find_layers
from kerasreg._validation import check_model, check_number, fail


def freeze(model, until=None, keep_batchnorm_frozen=True):
    """Freeze the layers of `model` up to `until`; the layers after it are trainable.

    Args:
        model: a `keras.Model`; changed in place.
        until: the last frozen layer, by name or index into `model.layers`
            (negative counts from the end), inclusive. `None` freezes every
            layer. Defaults to `None`.
        keep_batchnorm_frozen: leave every BatchNormalization layer frozen,
            those after `until` included. Defaults to `True`.

    Returns:
        The model.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="a"),
    ...                           keras.layers.Dense(2, name="b")])
    >>> [layer.trainable for layer in freeze(model, until="a").layers]
    [False, True]
    """
    last = len(model.layers) - 1 if until is None else layer_index(model, until, "until")
    return _train_from(model, last + 1, keep_batchnorm_frozen)


def unfreeze_top(model, num_layers, keep_batchnorm_frozen=True):
    """Make the top `num_layers` layers of `model` trainable and freeze the others.

    The top layers are `model.layers[-num_layers:]`; a nested model among
    them is unfrozen whole.

    Args:
        model: a `keras.Model`; changed in place.
        num_layers: how many of the last layers to train, from 1 to
            `len(model.layers)` (use `freeze(model)` to train none).
        keep_batchnorm_frozen: leave the BatchNormalization layers among
            them frozen, hence in inference mode. With `False` they train
            in training mode and move their statistics during `fit`, even
            inside a model that called them with `training=False` (Keras 3).
            Defaults to `True`.

    Returns:
        The model.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2),
    ...                           keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    >>> [layer.trainable for layer in unfreeze_top(model, 2).layers]
    [False, False, True]
    """
    count = len(model.layers)
    check_number("num_layers", num_layers, 1, count, integer=True)
    return _train_from(model, count - num_layers, keep_batchnorm_frozen)


def batchnorm_layers(model):
    """The BatchNormalization layers of `model`, at any depth.

    Searched as `kerasreg.inference.dropout_layers` searches dropout: the
    models nested in `model` and the public attributes of wrapper layers
    (`StochasticDepth.branch`, `TimeDistributed.layer`), so a residual
    branch's BatchNormalization is kept frozen too.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization(name="bn")])
    >>> [layer.name for layer in batchnorm_layers(model)]
    ['bn']
    """
    check_model(model)
    return [layer for _, layer in find_layers(model, keras.layers.BatchNormalization)]


def moving_statistics(model):
    """The moving mean and variance of every BatchNormalization layer, as NumPy copies.

    Compare two snapshots to see whether fine-tuning changed them (the trap
    that `transfer_model` avoids).

    Args:
        model: a `keras.Model`; nested models are searched too.

    Returns:
        A dict `{layer name: (moving_mean, moving_variance)}`.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization(name="bn")])
    >>> {name: (m.tolist(), v.tolist()) for name, (m, v) in moving_statistics(model).items()}
    {'bn': ([0.0, 0.0], [1.0, 1.0])}
    """
    return {layer.name: (keras.ops.convert_to_numpy(layer.moving_mean).copy(),
                         keras.ops.convert_to_numpy(layer.moving_variance).copy())
            for layer in batchnorm_layers(model)}


def _train_from(model, first_trainable, keep_batchnorm_frozen):
    set_trainable(model, True)  # a frozen model would hide its layers' flags
    for index, layer in enumerate(model.layers):
        set_trainable(layer, index >= first_trainable)
    if keep_batchnorm_frozen:
        for layer in batchnorm_layers(model):
            layer.trainable = False
    return model


def set_trainable(layer, trainable):
    """Set `trainable` on `layer` and on every layer inside it.

    `layer.trainable = value` alone does not reach the layers inside when
    `layer.trainable` already is `value`: on TensorFlow, Keras skips setting
    an attribute to the object it already holds.
    """
    layer.trainable = not trainable
    layer.trainable = trainable


def layer_index(model, layer, argument):
    """The index in `model.layers` of a layer given by name or index."""
    names = [item.name for item in model.layers]
    count = len(names)
    if isinstance(layer, str) and layer in names:
        return names.index(layer)
    if isinstance(layer, int) and not isinstance(layer, bool) and -count <= layer < count:
        return layer % count
    fail(argument, f"the name of one of the model's {count} layers or an index in "
         f"[{-count}, {count - 1}]", layer)
