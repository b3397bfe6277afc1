"""Pretrained bases without a download: the transfer lab's source tasks and its online base.

`pretrain_base` trains `source_cnn` on an offline source task (half of the
digits, or `photo_patches`); `mobilenet_base` is the online alternative
(ImageNet weights, on Colab). `per_class_subset` and `train_and_score`
are the lab's small-target experiments.
"""

import keras
import numpy as np

from kerasreg._validation import check_choice, check_number
from kerasreg.transfer.freezing import batchnorm_layers


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

    Patches cut at random from `kerasreg.course.datasets.sample_photos()` (seven
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

    from kerasreg.course.datasets import sample_photos
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
