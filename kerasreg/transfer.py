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

The pretrained base needs no download: `pretrain_base` trains a small CNN
(`source_cnn`) with the toolkit's own code on an offline source task,
`photo_patches` (which of seven photographs a patch comes from: natural
images, the offline stand-in for ImageNet). Texture photographs are then a
"similar" target and handwritten digits a "different" one.
`mobilenet_base` is the online alternative (ImageNet weights, for CIFAR-10
on Colab); with `weights=None` it runs offline, and everything after it is
the same code.
"""

import math

import keras
import numpy as np

from kerasreg._validation import check_choice, check_number, fail

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
    if not isinstance(similar, bool):
        fail("similar", "a bool (True or False)", similar)
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
    """The BatchNormalization layers of `model` and of the models nested in it.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization(name="bn")])
    >>> [layer.name for layer in batchnorm_layers(model)]
    ['bn']
    """
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(batchnorm_layers(layer))
    return found


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
    model.trainable = True  # a frozen model would hide its layers' flags
    for index, layer in enumerate(model.layers):
        layer.trainable = index >= first_trainable
    if keep_batchnorm_frozen:
        for layer in batchnorm_layers(model):
            layer.trainable = False
    return model


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
