"""Discriminative fine-tuning and gradual unfreezing (ULMFiT): a learning rate per layer group.

`layer_groups` cuts a model into groups from the input to the top;
`discriminative` trains each group at its own rate with any Keras
optimizer; `fine_tune` unfreezes the groups one at a time from the top.
"""

import re

import keras
import numpy as np

from kerasreg._layer_search import walk
from kerasreg._validation import check_number, fail
from kerasreg.transfer.freezing import batchnorm_layers, set_trainable


def layer_groups(model, names=("stem", "middle", "top")):
    """Split a model into consecutive groups of layers, from the input to the output.

    The groups of discriminative learning rates and gradual unfreezing
    (`discriminative`, `fine_tune`): the layers holding weights, nested
    models searched, cut into `len(names)` runs with as equal a number of
    weighted layers as possible (the earlier groups take any extra ones, so
    the top group, which a new head makes train first, is the smallest). A
    BatchNormalization layer joins the group of the layer before it.

    Args:
        model: a `keras.Model`.
        names: the groups' names, from the input to the output. Defaults to
            `("stem", "middle", "top")`.

    Returns:
        A dict `{name: [layers]}` in the order of `names`.

    Example:
    >>> from kerasreg.course.sources import source_cnn
    >>> groups = layer_groups(source_cnn((8, 8, 1), 3, filters=(4, 8)))
    >>> {name: [type(layer).__name__ for layer in layers] for name, layers in groups.items()}
    {'stem': ['Conv2D', 'BatchNormalization'], 'middle': ['Conv2D', 'BatchNormalization'], \
'top': ['Dense']}
    """
    weighted = [layer for _, layer in walk(model, into_wrappers=False)
                if layer.weights and not isinstance(layer, keras.Model)]
    anchors = [layer for layer in weighted
               if not isinstance(layer, keras.layers.BatchNormalization)]
    if not isinstance(names, (list, tuple)) or not 1 <= len(names) <= len(anchors) or (
            len(set(names)) != len(names)):
        fail("names", f"a list of 1 to {len(anchors)} distinct group names (the model's "
             "layers holding weights, BatchNormalization aside)", names)
    chunks = np.array_split(np.arange(len(anchors)), len(names))
    group_of = {id(anchors[i]): group for group, chunk in enumerate(chunks) for i in chunk}
    groups, group = {name: [] for name in names}, 0
    for layer in weighted:
        group = group_of.get(id(layer), group)
        groups[names[group]].append(layer)
    return groups


def discriminative(model, groups, optimizer="adam", learning_rates=None, factor=10.0):
    """An optimizer that trains each group of layers at its own learning rate.

    Discriminative fine-tuning (Howard & Ruder's ULMFiT): the layers near the
    input hold generic features that a pretrained network should keep, the
    top ones specific features to adapt, so the top group trains at the
    full rate and each group below at a rate `factor` times smaller (or at
    the rates given). It is Keras' `keras.optimizers.MultiOptimizer` with one
    copy of `optimizer` per group, made from its config with the group's
    learning rate, so the optimizer's own step uses that rate: for Adam
    every weight moves by about the group's rate on the first step. Scaling
    the gradients instead would not do this for Adam, RMSprop or any other
    adaptive optimizer, whose step ignores the gradient's scale. Each group
    has its own optimizer state, and a group's weight decay (e.g. AdamW's,
    `weight_decay * rate * w`) and gradient clipping use its own rate and
    gradients, as PyTorch's parameter groups do.

    Variables are told apart by their path (`layer name/variable name`), so
    the optimizer saves and loads with the model, state included
    (`model.save`, `keras.saving.load_model`; safe mode, no custom
    objects). `.optimizers` lists the groups' optimizers in order, then an
    idle one with rate 0 that Keras requires for variables outside every
    group: a layer left out while frozen and unfrozen later does not move,
    so call this again after changing what is trainable (compiling is needed
    then anyway). A `MultiOptimizer` has no single `learning_rate`, so
    callbacks that set it (`keras.callbacks.ReduceLROnPlateau`, the
    schedules of `kerasreg.callbacks`) fail: give each group a
    `keras.optimizers.schedules.LearningRateSchedule` in `learning_rates`
    instead.

    Args:
        model: the `keras.Model` to train.
        groups: a dict `{group name: layers}` (e.g. from `layer_groups`),
            each a list of layers of `model` or their names (nested models
            searched; a nested model stands for all its layers). Every
            trainable variable of the model must be in exactly one group.
        optimizer: any single Keras optimizer, as an instance or a name; it
            is copied, never used itself. Defaults to `"adam"`.
        learning_rates: a dict `{group name: rate}` with a rate (a positive
            number or a `LearningRateSchedule`) for every group. Defaults
            to `None`: the last group at the optimizer's learning rate, each
            group before it `factor` times lower.
        factor: the ratio between the rates of consecutive groups when
            `learning_rates` is `None`. Defaults to `10.0`.

    Returns:
        A `keras.optimizers.MultiOptimizer`, to pass to `model.compile`.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="stem"),
    ...                           keras.layers.Dense(1, name="top")])
    >>> optimizer = discriminative(model, {"stem": ["stem"], "top": ["top"]},
    ...                            keras.optimizers.SGD(0.1))
    >>> optimizer.apply([keras.ops.ones(v.shape) for v in model.trainable_variables],
    ...                 model.trainable_variables)
    >>> {name: keras.ops.convert_to_numpy(model.get_layer(name).bias).astype(float).round(6)
    ...      .tolist() for name in ("stem", "top")}
    {'stem': [-0.01, -0.01], 'top': [-0.1]}
    """
    groups = _resolve_groups(model, groups)
    optimizer = keras.optimizers.get(optimizer)
    if isinstance(optimizer, (keras.optimizers.MultiOptimizer,
                              keras.optimizers.LossScaleOptimizer)):
        fail("optimizer", "a single Keras optimizer, not a MultiOptimizer or "
             "LossScaleOptimizer", optimizer)
    config = optimizer.get_config()
    rates = _group_rates(list(groups), config["learning_rate"], learning_rates, factor)
    optimizers = {name: type(optimizer).from_config(
        {**config, "learning_rate": rates[name], "name": f"{config['name']}_{name}"})
        for name in groups}
    idle = type(optimizer).from_config({**config, "learning_rate": 0.0})
    return keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(idle, {
        re.escape(path): optimizers[name]
        for path, name in _variable_groups(model, groups).items()}))


def fine_tune(model, data, groups, epochs_per_stage=2, optimizer="adam", learning_rates=None,
              factor=1.0, loss="sparse_categorical_crossentropy", metrics=("accuracy",),
              validation_data=None, **fit_kwargs):
    """Gradual unfreezing: train the top group, then unfreeze one more group every few epochs.

    ULMFiT's schedule for fine-tuning a pretrained network without
    destroying its features with the large gradients of a new, random
    head: stage 1 trains only the last group (the head), each later stage
    unfreezes the next group down, until the whole network trains. Keras
    needs `compile` after a change of `trainable`, so each stage compiles
    the model again with a fresh `discriminative` optimizer (the optimizer
    state, Adam's moments included, restarts at each stage). Every
    BatchNormalization layer stays frozen, hence in inference mode with its
    pretrained statistics (see the module docstring). Sets the trainable
    flags of every layer of `model`: each layer holding weights must be in
    a group.

    Args:
        model: the `keras.Model` to fine-tune, e.g. from `transfer_model`.
        data: `(x, y)`, or a dataset that `model.fit` takes whole.
        groups: a dict `{group name: layers}` from the input to the output,
            as in `discriminative` (e.g. from `layer_groups`).
        epochs_per_stage: epochs before the next group is unfrozen.
            Defaults to `2`.
        optimizer: any single Keras optimizer, instance or name, copied for
            each stage and group. Defaults to `"adam"`.
        learning_rates: a dict `{group name: rate}`, as in `discriminative`.
            Defaults to `None`: rates from the optimizer's and `factor`.
        factor: the ratio between the rates of consecutive groups when
            `learning_rates` is `None`. Defaults to `1.0` (every group at
            the optimizer's rate: gradual unfreezing alone); use e.g. `10.0`
            to combine it with discriminative learning rates.
        loss: the loss given to `compile`. Defaults to
            `"sparse_categorical_crossentropy"`.
        metrics: the metrics given to `compile`. Defaults to `("accuracy",)`.
        validation_data: passed to `fit`. Defaults to `None`.
        **fit_kwargs: other arguments of `model.fit` (`batch_size`,
            `verbose`, `callbacks`, ...).

    Returns:
        A `keras.callbacks.History` over all stages: `.epoch` counts on from
        one stage to the next, and `.history` holds the logs of every epoch
        plus `"unfrozen_groups"`, the number of groups trained in it.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="stem"),
    ...                           keras.layers.Dense(2, activation="softmax", name="top")])
    >>> x, y = np.ones((4, 2), "float32"), np.array([0, 1, 0, 1])
    >>> history = fine_tune(model, (x, y), {"stem": ["stem"], "top": ["top"]},
    ...                     epochs_per_stage=1, verbose=0)
    >>> history.epoch, history.history["unfrozen_groups"]
    ([0, 1], [1, 2])
    """
    check_number("epochs_per_stage", epochs_per_stage, 1, integer=True)
    groups = _resolve_groups(model, groups)
    x, y = data if isinstance(data, tuple) else (data, None)
    history = keras.callbacks.History()
    history.set_model(model)
    history.epoch, history.history = [], {}
    for count in range(1, len(groups) + 1):
        _train_top_groups(model, groups, count)
        model.compile(optimizer=discriminative(model, groups, optimizer, learning_rates, factor),
                      loss=loss, metrics=list(metrics))
        start = len(history.epoch)
        stage = model.fit(x, y, epochs=start + epochs_per_stage, initial_epoch=start,
                          validation_data=validation_data, **fit_kwargs)
        history.epoch.extend(stage.epoch)
        for key, values in {**stage.history,
                            "unfrozen_groups": [count] * len(stage.epoch)}.items():
            history.history.setdefault(key, []).extend(values)
    return history


def _unique(items):
    """The items in order, each object once."""
    return list({id(item): item for item in items}.values())


def _resolve_groups(model, groups):
    """`groups` with every layer name replaced by the layer, checked."""
    if not isinstance(groups, dict) or not groups:
        fail("groups", "a non-empty dict {group name: list of layers or layer names}", groups)
    layers = [layer for _, layer in walk(model, into_wrappers=False)]
    by_name = {layer.name: layer for layer in layers}
    known = {id(layer) for layer in layers}
    resolved = {}
    for name, members in groups.items():
        if isinstance(members, (str, keras.layers.Layer)):
            members = [members]
        requirement = "a list of layers of the model or their names (nested models included)"
        if not isinstance(members, (list, tuple)) or not members:
            fail(f"groups[{name!r}]", requirement, members)
        found = [by_name.get(member) if isinstance(member, str) else member
                 for member in members]
        unknown = [member for member, layer in zip(members, found) if id(layer) not in known]
        if unknown:
            fail(f"groups[{name!r}]", f"{requirement}; unknown: {unknown!r}", members)
        resolved[name] = found
    return resolved


def _variable_groups(model, groups):
    """`{variable path: group name}`, checking that every trainable variable is in one group."""
    requirement = "a dict of groups holding every trainable variable of the model exactly once"
    owner, by_path = {}, {}
    for name, layers in groups.items():
        for variable in _unique(variable for layer in layers for variable in layer.weights):
            if owner.setdefault(id(variable), name) != name:
                fail("groups", f"{requirement}; {variable.path!r} is in "
                     f"{owner[id(variable)]!r} and {name!r}", _group_names(groups))
            if by_path.setdefault(variable.path, name) != name:
                fail("groups", f"{requirement}, with distinct paths; {variable.path!r} names "
                     f"variables in {by_path[variable.path]!r} and {name!r} (rename a layer)",
                     _group_names(groups))
    missing = [variable.path for variable in model.trainable_variables
               if id(variable) not in owner]
    if missing:
        fail("groups", f"{requirement}; in no group: {', '.join(missing)}",
             _group_names(groups))
    return by_path


def _group_names(groups):
    """`groups` with layer names for layers, to show in a message."""
    return {name: [layer.name for layer in layers] for name, layers in groups.items()}


def _group_rates(names, learning_rate, learning_rates, factor):
    """The learning rate of each group: given, or `factor` times lower one group down."""
    if learning_rates is None:
        check_number("factor", factor, 0, low_open=True)
        if not isinstance(learning_rate, (int, float)):
            fail("learning_rates", "a dict of rates per group when the optimizer's learning "
                 "rate is a schedule", learning_rates)
        return {name: learning_rate / factor ** (len(names) - 1 - index)
                for index, name in enumerate(names)}
    if not isinstance(learning_rates, dict) or set(learning_rates) != set(names):
        fail("learning_rates", "a dict with one rate for each group: "
             + ", ".join(repr(name) for name in names), learning_rates)
    for name, rate in learning_rates.items():
        if not isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
            check_number(f"learning_rates[{name!r}]", rate, 0, low_open=True)
    return learning_rates


def _train_top_groups(model, groups, count):
    """Freeze all groups but the last `count` ones, and every BatchNormalization layer."""
    set_trainable(model, True)
    for layers in list(groups.values())[:len(groups) - count]:
        for layer in layers:
            layer.trainable = False
    for layer in batchnorm_layers(model):
        layer.trainable = False
