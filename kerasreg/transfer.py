"""Transfer learning: the lecture's 2x2 table of fine-tuning strategies.

|                     | very similar dataset   | very different dataset             |
|---------------------|------------------------|------------------------------------|
| very little data    | linear classifier on   | linear classifiers from different  |
|                     | the top layer          | stages ("you're in trouble")       |
| quite a lot of data | fine-tune a few layers | fine-tune a large number of layers |

`fine_tune_strategy` reads the table, `transfer_model` builds the model of
each cell on a pretrained base: a new softmax head, the right layers
trainable (`freeze`, `unfreeze_top`), and every BatchNormalization layer of
the base frozen. That last point is the Keras trap: a BatchNormalization
layer that runs in training mode during fine-tuning replaces its moving
statistics, learned on the source data, with those of a few target batches
and ruins the features. Keras' transfer-learning guide says to call the base
with `training=False`; in Keras 3 that flag, given while building a
functional model, does not survive `fit`, which calls the model with
`training=True` (keras-team/keras#20285, checked with Keras 3.15). What
does hold is that a BatchNormalization layer with `trainable = False` runs
in inference mode, so this module keeps them frozen (`keep_batchnorm_frozen`).
Unfreeze more layers later with `unfreeze_top`, not with the guide's
`base.trainable = False` then `True`, which unfreezes them too.

How fast each layer changes matters as well: the layers near the input hold
generic features to keep, the top ones features to adapt, and a new head
starts random. `discriminative` trains each group of layers (`layer_groups`)
at its own learning rate, e.g. the stem 100 times slower than the top,
with any Keras optimizer; `fine_tune` unfreezes the groups one at a time
from the top, every few epochs (gradual unfreezing). Both come from ULMFiT
(Howard & Ruder, "Universal Language Model Fine-tuning for Text
Classification", 2018).

The pretrained base needs no download: `pretrain_base` trains a small CNN
(`source_cnn`) with the toolkit's own code on an offline source task. The
transfer lab uses half of the handwritten digits (a source network near 98%
accurate on its own task); unseen digits are then its "similar" target and
texture photographs a "different" one. `photo_patches` (which of seven
photographs a patch comes from) is a harder, natural-image source task: a
small CNN reaches only about two thirds accuracy on it at 16 x 16 pixels.
`mobilenet_base` is the online alternative (ImageNet weights, for CIFAR-10
on Colab); with `weights=None` it runs offline, and everything after it is
the same code.
"""

import math
import re

import keras
import numpy as np

from kerasreg._layer_search import find_layers, walk
from kerasreg._validation import check_bool, check_choice, check_model, check_number, fail

STRATEGIES = ("linear_probe", "finetune_top", "linear_probe_stages", "finetune_most")


def fine_tune_strategy(num_examples, similar, small_data=5000):
    """The lecture's recommendation for a target dataset.

    Args:
        num_examples: labelled training examples of the target task.
        similar: whether the target data resemble the source data.
        small_data: below this many examples the data count as "very
            little". Defaults to `5000`.

    Returns:
        One of `STRATEGIES`: `"linear_probe"` (little data, similar),
        `"finetune_top"` (a lot, similar), `"linear_probe_stages"` (little,
        different) or `"finetune_most"` (a lot, different).

    Example:
    >>> fine_tune_strategy(500, similar=True), fine_tune_strategy(50000, similar=False)
    ('linear_probe', 'finetune_most')
    """
    check_number("num_examples", num_examples, 1, integer=True)
    check_bool("similar", similar)
    check_number("small_data", small_data, 1, integer=True)
    little = num_examples < small_data
    if similar:
        return "linear_probe" if little else "finetune_top"
    return "linear_probe_stages" if little else "finetune_most"


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
    last = len(model.layers) - 1 if until is None else _layer_index(model, until, "until")
    return _set_trainable(model, last + 1, keep_batchnorm_frozen)


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
    return _set_trainable(model, count - num_layers, keep_batchnorm_frozen)


def transfer_model(base, num_classes, strategy, stage=None, num_layers=None, dropout=0.0,
                   name=None):
    """A new classifier on a pretrained `base`, set up for one cell of the table.

    Every BatchNormalization layer of the base is frozen, so it runs in
    inference mode and keeps its moving statistics during fine-tuning (see
    the module docstring for why `training=False` alone is not enough in
    Keras 3). The head is global average pooling (when the features
    are still maps), optional dropout and a softmax `Dense`. The base's
    layers are shared with the new model, not copied: the trainable flags
    are set on them.

    - `"linear_probe"`: the whole base frozen, only the head trains.
    - `"linear_probe_stages"`: the same on features pooled from
      intermediate stages of the base (`stage_names`), concatenated: by
      default all of them, so early, generic features are there when the
      target data are unlike the source data; or one stage at a time, to
      compare them.
    - `"finetune_top"` / `"finetune_most"`: `unfreeze_top(base,
      num_layers)`, BatchNormalization layers kept frozen.

    Args:
        base: a pretrained `keras.Model` without its classifier (e.g.
            `pretrain_base(...)` or `mobilenet_base(...)`).
        num_classes: classes of the target task.
        strategy: one of `STRATEGIES`.
        stage: for `"linear_probe_stages"`, the name (or a list of names)
            of the base layers whose pooled outputs feed the head. Defaults
            to every stage in `stage_names(base)`.
        num_layers: for the fine-tuning strategies, how many top layers of
            the base train. Defaults to the layers holding the last quarter
            of the base's kernels, at least one (`"finetune_top"`), or all
            but the first quarter (`"finetune_most"`).
        dropout: drop rate before the classifier. Defaults to `0.0`.
        name: model name. Defaults to `"transfer_<strategy>"`.

    Returns:
        An uncompiled `keras.Model`.

    Example:
    >>> base = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
    ...                          keras.layers.BatchNormalization(), keras.layers.ReLU()])
    >>> model = transfer_model(base, 3, "linear_probe")
    >>> model.output_shape, len(model.trainable_weights)
    ((None, 3), 2)
    """
    check_number("num_classes", num_classes, 2, integer=True)
    check_choice("strategy", strategy, STRATEGIES)
    check_number("dropout", dropout, 0, 1, high_open=True)
    outputs = list(base.outputs)
    if strategy == "linear_probe_stages":
        stages = stage_names(base) if stage is None else (
            [stage] if isinstance(stage, str) else list(stage))
        for stage_name in stages:
            _layer_index(base, stage_name, "stage")
        outputs = [base.get_layer(stage_name).output for stage_name in stages]
    if strategy in ("linear_probe", "linear_probe_stages"):
        freeze(base)
    else:
        unfreeze_top(base, _top_layers(base, strategy) if num_layers is None else num_layers)
    features = keras.Model(base.inputs, outputs, name=f"{base.name}_features")
    inputs = keras.Input(base.inputs[0].shape[1:], dtype=base.inputs[0].dtype)
    pooled = [_pool(x) for x in keras.tree.flatten(features(inputs))]
    x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                                 name="classifier")(x)
    return keras.Model(inputs, outputs, name=name or f"transfer_{strategy}")


def stage_names(base):
    """The layers that end each stage of a CNN: the last layer at each resolution.

    These are the candidate `stage`s of `"linear_probe_stages"`: early
    stages hold generic features (edges, textures), late ones features
    specific to the source classes. A stage is a run of layers at one
    spatial resolution holding at least one kernel (convolution); padding
    layers, which briefly grow the maps before a strided layer, are skipped.

    Args:
        base: a functional or `Sequential` `keras.Model` with image inputs.

    Returns:
        A list of layer names, earliest stage first.

    Example:
    >>> base = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, padding="same",
    ...     name="c1"), keras.layers.MaxPooling2D(name="p1"), keras.layers.Conv2D(2, 3,
    ...     padding="same", name="c2"), keras.layers.GlobalAveragePooling2D(name="gap")])
    >>> stage_names(base)
    ['c1', 'c2']
    """
    check_model(base, "base")
    stages = []  # [last layer name, spatial size, holds a kernel]
    for layer in base.layers:
        shape = layer.output.shape
        if len(shape) < 3:
            continue
        size = math.prod(shape[1:-1])
        if not stages or size < stages[-1][1]:
            stages.append([layer.name, size, False])
        elif size > stages[-1][1]:  # padding before a strided layer
            continue
        stages[-1][0] = layer.name
        stages[-1][2] |= getattr(layer, "kernel", None) is not None
    return [name for name, _, has_kernel in stages if has_kernel]


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


def source_cnn(input_shape, num_classes, filters=(16, 32, 64)):
    """The toolkit's source architecture, also the from-scratch baseline of the labs.

    A `kerasreg.models.small_cnn` with BatchNormalization (conv 3x3, BN,
    ReLU, max-pool per stage, then global average pooling and a softmax
    classifier), with a BatchNormalization momentum of 0.9 rather than
    0.99: a small dataset gives a few hundred steps, after which moving
    statistics with momentum 0.99 would still be far from the data's.

    Args:
        input_shape: `(height, width, channels)`.
        num_classes: number of classes.
        filters: channels of each stage. Defaults to `(16, 32, 64)`.

    Returns:
        An uncompiled `keras.Model`.

    Example:
    >>> [layer.momentum for layer in batchnorm_layers(source_cnn((8, 8, 1), 3, (4,)))]
    [0.9]
    """
    from kerasreg import models

    model = models.small_cnn(input_shape, num_classes, filters=filters, norm="batch")
    for layer in batchnorm_layers(model):
        layer.momentum = 0.9
    return model


def pretrain_base(x, y, num_classes, filters=(16, 32, 64), epochs=15, batch_size=64,
                  learning_rate=3e-3, validation_data=None, seed=0):
    """Train the toolkit's own source model and return it without its classifier.

    A `source_cnn` trained with Adam on the source task (e.g.
    `photo_patches()`), so that transfer learning runs offline, with a base
    that has the BatchNormalization trap in it.

    Args:
        x: source images `(N, H, W, C)`.
        y: integer source labels.
        num_classes: classes of the source task.
        filters: channels of each stage. Defaults to `(16, 32, 64)`.
        epochs: training epochs. Defaults to `15`.
        batch_size: examples per step. Defaults to `64`.
        learning_rate: Adam's learning rate. Defaults to `3e-3`.
        validation_data: optional `(x_val, y_val)` of the source task.
            Defaults to `None`.
        seed: seed of the initialization and the shuffles. Defaults to `0`.

    Returns:
        `(base, history)`: the trained model up to its pooled features
        (named `"pretrained_base"`), and the Keras `History`.

    Example:
    >>> x = np.random.default_rng(0).random((16, 8, 8, 1), "float32")
    >>> base, _ = pretrain_base(x, np.arange(16) % 2, 2, filters=(4,), epochs=1)
    >>> base.output_shape
    (None, 4)
    """
    check_number("epochs", epochs, 1, integer=True)
    check_number("batch_size", batch_size, 1, integer=True)
    keras.utils.set_random_seed(seed)
    source = source_cnn(x.shape[1:], num_classes, filters)
    source.compile(optimizer=keras.optimizers.Adam(learning_rate),
                   loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = source.fit(x, y, epochs=epochs, batch_size=batch_size,
                         validation_data=validation_data, verbose=0)
    # The classifier is the last layer; the layer before it gives the pooled features.
    base = keras.Model(source.inputs, source.layers[-2].output, name="pretrained_base")
    return base, history


def photo_patches(patch_size=16, per_photo=200, scale=0.25, channels=1, seed=0):
    """The offline source task: which photograph does a patch come from?

    Patches cut at random from `kerasreg.datasets.sample_photos()` (seven
    real photographs: an astronaut, a cat, a cup of coffee, a rocket, a
    temple, a flower, Grace Hopper), labelled with the photograph's index. Telling
    photographs apart from small patches needs colour, edge and texture
    features, the kind a network pretrained on natural images has: the
    toolkit's stand-in for ImageNet (a surrogate task in the spirit of
    Dosovitskiy et al.'s exemplar CNNs).

    Args:
        patch_size: side of each patch in pixels. Defaults to `16`.
        per_photo: patches per photograph. Defaults to `200`.
        scale: the photographs are resized by this factor first, so that a
            patch shows objects rather than a few pixels of one.
            Defaults to `0.25`.
        channels: 1 (grey, as `load_textures` and `load_digits`) or 3 (RGB).
            Defaults to `1`.
        seed: seed of the patch positions and order. Defaults to `0`.

    Returns:
        `(x, y)`: float32 patches in [0, 1], shuffled, and int32 labels in
        `0 .. 6`.

    Example:
    >>> x, y = photo_patches(per_photo=3)
    >>> x.shape, np.bincount(y).tolist()
    ((21, 16, 16, 1), [3, 3, 3, 3, 3, 3, 3])
    """
    from skimage.transform import rescale

    from kerasreg.datasets import sample_photos
    from kerasreg.preprocessing import random_crops

    check_number("scale", scale, 0, 1, low_open=True)
    check_choice("channels", channels, (1, 3))
    photos = [photo.astype("float32") / 255.0 for photo in sample_photos()]
    if channels == 1:
        photos = [photo.mean(axis=-1, keepdims=True) for photo in photos]
    photos = [rescale(photo, scale, anti_aliasing=True, channel_axis=-1).astype("float32")
              for photo in photos]
    x = random_crops(photos, patch_size, per_photo, seed=seed)
    y = np.repeat(np.arange(len(photos), dtype="int32"), per_photo)
    order = np.random.default_rng(seed).permutation(len(y))
    return x[order], y[order]


def mobilenet_base(input_shape=(32, 32, 3), image_size=96, weights="imagenet", alpha=1.0):
    """`keras.applications.MobileNetV2` without its top, taking images in [0, 1].

    The online base of the labs (ImageNet weights, on Colab). Inputs are
    resized to `image_size` and rescaled to MobileNetV2's [-1, 1] by layers
    placed in the same functional graph, so `model.layers` stays flat and
    `unfreeze_top` counts MobileNetV2's own layers. `weights=None` builds it
    offline with random weights (what the tests use).

    Args:
        input_shape: shape of one input image, values in [0, 1].
            Defaults to `(32, 32, 3)` (CIFAR-10).
        image_size: side the images are resized to; ImageNet weights exist
            for 96, 128, 160, 192 and 224. Defaults to `96`.
        weights: `"imagenet"` or `None`. Defaults to `"imagenet"`.
        alpha: MobileNetV2's width multiplier. Defaults to `1.0`.

    Returns:
        A `keras.Model` whose output is the last feature map.
    """
    check_number("image_size", image_size, 32, integer=True)
    check_choice("weights", weights, ("imagenet", None))
    inputs = keras.Input(input_shape)
    x = keras.layers.Resizing(image_size, image_size)(inputs)
    x = keras.layers.Rescaling(2.0, offset=-1.0)(x)
    return keras.applications.MobileNetV2(include_top=False, weights=weights, input_tensor=x,
                                          alpha=alpha)


def per_class_subset(x, y, per_class, seed=0):
    """At most `per_class` examples of each class, drawn at random ("very little data").

    Args:
        x: inputs.
        y: integer labels.
        per_class: examples kept per class.
        seed: seed of the draw. Defaults to `0`.

    Returns:
        `(x_subset, y_subset)`, in the original order.

    Example:
    >>> x_small, y_small = per_class_subset(np.arange(10), np.arange(10) % 2, 2)
    >>> np.bincount(y_small).tolist()
    [2, 2]
    """
    check_number("per_class", per_class, 1, integer=True)
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    chosen = np.concatenate([rng.permutation(np.flatnonzero(y == label))[:per_class]
                             for label in np.unique(y)])
    chosen.sort()
    return np.asarray(x)[chosen], y[chosen]


def train_and_score(model, train, validation, steps=300, learning_rate=1e-3, batch_size=32,
                    seed=0):
    """Compile `model` with Adam, train it for `steps` steps, return its validation accuracy.

    A fixed number of steps rather than epochs, so that 25 examples and
    2,500 get the same training: the examples are reshuffled at every pass
    and the passes are joined into one Keras epoch (no per-epoch overhead).

    Args:
        model: an uncompiled classifier with softmax outputs.
        train: `(x, y)` with integer labels.
        validation: `(x_val, y_val)`.
        steps: optimizer steps. Defaults to `300`.
        learning_rate: Adam's learning rate (smaller when fine-tuning).
            Defaults to `1e-3`.
        batch_size: examples per step. Defaults to `32`.
        seed: seed of the shuffles. Defaults to `0`.

    Returns:
        The validation accuracy after the last step, a float.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    >>> x = np.array([[0.0, 1.0], [1.0, 0.0]] * 4, "float32")
    >>> y = np.tile([0, 1], 4)
    >>> train_and_score(model, (x, y), (x, y), steps=50, learning_rate=0.1)
    1.0
    """
    check_number("steps", steps, 1, integer=True)
    check_number("batch_size", batch_size, 1, integer=True)
    x, y = train
    rng = np.random.default_rng(seed)
    passes = -(-steps * batch_size // len(x))
    order = np.concatenate([rng.permutation(len(x)) for _ in range(passes)])
    order = order[:steps * batch_size]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[order], y[order], epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
    return float(model.evaluate(*validation, verbose=0, return_dict=True)["accuracy"])


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


def _set_trainable(model, first_trainable, keep_batchnorm_frozen):
    _set_flag(model, True)  # a frozen model would hide its layers' flags
    for index, layer in enumerate(model.layers):
        _set_flag(layer, index >= first_trainable)
    if keep_batchnorm_frozen:
        for layer in batchnorm_layers(model):
            layer.trainable = False
    return model


def _set_flag(layer, trainable):
    """Set `trainable` on `layer` and on every layer inside it.

    `layer.trainable = value` alone does not reach the layers inside when
    `layer.trainable` already is `value`: on TensorFlow, Keras skips setting
    an attribute to the object it already holds.
    """
    layer.trainable = not trainable
    layer.trainable = trainable


def _layer_index(model, layer, argument):
    """The index in `model.layers` of a layer given by name or index."""
    names = [item.name for item in model.layers]
    count = len(names)
    if isinstance(layer, str) and layer in names:
        return names.index(layer)
    if isinstance(layer, int) and not isinstance(layer, bool) and -count <= layer < count:
        return layer % count
    fail(argument, f"the name of one of the model's {count} layers or an index in "
         f"[{-count}, {count - 1}]", layer)


def _top_layers(base, strategy):
    """How many top layers hold the last quarter (at least one) of the kernels, or
    all but the first quarter of them."""
    kernel_layers = [index for index, layer in enumerate(base.layers)
                     if getattr(layer, "kernel", None) is not None]
    if not kernel_layers:
        return len(base.layers)
    quarter = len(kernel_layers) // 4
    kept = max(1, quarter) if strategy == "finetune_top" else len(kernel_layers) - quarter
    return len(base.layers) - kernel_layers[-kept]


def _pool(x):
    pooling = {3: keras.layers.GlobalAveragePooling1D, 4: keras.layers.GlobalAveragePooling2D,
               5: keras.layers.GlobalAveragePooling3D}
    return pooling[len(x.shape)]()(x) if len(x.shape) in pooling else x


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
    _set_flag(model, True)
    for layers in list(groups.values())[:len(groups) - count]:
        for layer in layers:
            layer.trainable = False
    for layer in batchnorm_layers(model):
        layer.trainable = False
