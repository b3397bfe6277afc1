"""Test-time augmentation: average a model's predictions over a fixed set of crops.

The lecture's testing recipe: resize the image at five scales
{224, 256, 384, 480, 640}; at each scale take ten 224 x 224 crops (the four
corners and the centre, and the same five of the mirrored image); average
the class probabilities over the 50 crops. `ten_crop` and `multi_crop`
produce the crops, `tta_predict` runs a model over them in batches of
`batch_size` crops and averages.
"""

import numpy as np
from keras import ops

from kerasreg._validation import check_number, fail, fail_shape
from kerasreg.layers.augmentation_ops import resized_shape

LECTURE_SCALES = (224, 256, 384, 480, 640)
CROPS_PER_SCALE = 10


def ten_crop(images, crop_size):
    """The 4 corner crops, the centre crop, and the same five of the mirror image.

    For each image, in this order: top-left, top-right, bottom-left,
    bottom-right, centre, then those five crops of the horizontally flipped
    image (so crop 5 is the mirror of crop 1, crop 6 of crop 0). The centre
    crop starts at `((H - s) // 2, (W - s) // 2)`. Crops are grouped per
    image: rows `10 i` to `10 i + 9` of the result come from image `i`.

    Args:
        images: `(B, H, W, C)` with `crop_size <= min(H, W)`.
        crop_size: side `s` of the square crops, an int.

    Returns:
        `(10 B, s, s, C)`.

    Example:
    >>> import numpy as np
    >>> image = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    >>> crops = ops.convert_to_numpy(ten_crop(image, 2))[..., 0]
    >>> crops.shape, crops[0].tolist(), crops[5].tolist()
    ((10, 2, 2), [[0.0, 1.0], [3.0, 4.0]], [[2.0, 1.0], [5.0, 4.0]])
    """
    images = ops.convert_to_tensor(images)
    batch, height, width, channels = _check_images(images)
    check_number("crop_size", crop_size, 1, min(height, width), integer=True)
    corners = [(0, 0), (0, width - crop_size), (height - crop_size, 0),
               (height - crop_size, width - crop_size),
               ((height - crop_size) // 2, (width - crop_size) // 2)]
    five = ops.stack([images[:, top:top + crop_size, left:left + crop_size]
                      for top, left in corners], axis=1)
    # The crop at (top, left) of the mirror image is the mirror of the crop at
    # (top, W - s - left): flip five small crops, not the whole image.
    mirrored = ops.stack([images[:, top:top + crop_size,
                                 width - crop_size - left:width - left]
                          for top, left in corners], axis=1)
    crops = ops.concatenate([five, ops.flip(mirrored, axis=3)], axis=1)
    return ops.reshape(crops, (batch * CROPS_PER_SCALE, crop_size, crop_size, channels))


def multi_crop(images, crop_size=224, scales=LECTURE_SCALES):
    """Ten crops at each of several scales: the lecture's 50 test crops.

    Each image is resized (bilinear, aspect kept) so its short side is each
    of `scales`, then `ten_crop` cuts ten `crop_size` crops from it. Crops
    are grouped per image (all crops of image 0 first), and within an image
    by scale in the order of `scales`, ten per scale.

    Args:
        images: `(B, H, W, C)`.
        crop_size: side of the square crops. Defaults to `224`.
        scales: short-side lengths, each >= `crop_size`.
            Defaults to `(224, 256, 384, 480, 640)`.

    Returns:
        `(len(scales) * 10 * B, crop_size, crop_size, C)`.

    Example:
    >>> import numpy as np
    >>> crops = multi_crop(np.zeros((2, 40, 60, 3)), crop_size=32, scales=(32, 48))
    >>> tuple(crops.shape)
    (40, 32, 32, 3)
    """
    images = ops.convert_to_tensor(images)
    batch, _, _, channels = _check_images(images)
    scales = _check_scales(scales, crop_size)
    per_scale = [ops.reshape(ten_crop(resize_short_side(images, scale), crop_size),
                             (batch, CROPS_PER_SCALE, crop_size, crop_size, channels))
                 for scale in scales]
    return ops.reshape(ops.concatenate(per_scale, axis=1),
                       (-1, crop_size, crop_size, channels))


def resize_short_side(images, short_side):
    """Resize a batch (bilinear) so its short side is `short_side`, aspect kept.

    Args:
        images: `(B, H, W, C)` with static `H` and `W`.
        short_side: the new length of the shorter side, an int.

    Returns:
        `(B, H', W', C)` with `min(H', W') == short_side`.

    Example:
    >>> import numpy as np
    >>> tuple(resize_short_side(np.zeros((1, 300, 451, 3)), 256).shape)
    (1, 256, 385, 3)
    """
    check_number("short_side", short_side, 1, integer=True)
    images = ops.convert_to_tensor(images)
    _, height, width, _ = _check_images(images)
    size = tuple(int(side) for side in resized_shape(height, width, short_side))
    if size == (height, width):
        return images
    return ops.image.resize(images, size, interpolation="bilinear")


def tta_predict(model, images, crop_size=224, scales=LECTURE_SCALES, batch_size=64):
    """Class probabilities averaged over `multi_crop`'s crops of each image.

    The crops are made for `batch_size // 10` images and one scale at a
    time and fed to `model.predict_on_batch` in batches of at most
    `batch_size` crops, so memory stays bounded by `batch_size` whatever
    the number of images and scales, and the model is called once per
    batch of crops, never once per crop. The sum over crops is the same in
    any order, so the result equals the mean over `multi_crop`'s crops.
    `scales=None` uses `ten_crop` on the images as given (the 10-crop test).

    Args:
        model: a Keras model returning class probabilities for
            `(N, crop_size, crop_size, C)` inputs.
        images: `(B, H, W, C)` array.
        crop_size: side of the crops. Defaults to `224`.
        scales: short-side lengths as in `multi_crop`, or `None` for the ten
            crops of the images as given. Defaults to the lecture's five.
        batch_size: most crops per model call, a positive int. Defaults to `64`.

    Returns:
        NumPy `(B, num_classes)` mean probabilities.

    Example:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
    ...                           keras.layers.Dense(3, activation="softmax")])
    >>> probabilities = tta_predict(model, np.ones((2, 10, 12, 1)), crop_size=8,
    ...                             scales=(8, 10), batch_size=16)
    >>> probabilities.shape, bool(np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5))
    ((2, 3), True)
    """
    check_number("batch_size", batch_size, 1, integer=True)
    images = ops.convert_to_tensor(images)
    batch = _check_images(images)[0]
    scales = None if scales is None else _check_scales(scales, crop_size)
    crops_per_image = CROPS_PER_SCALE * (1 if scales is None else len(scales))
    images_per_chunk = max(1, batch_size // CROPS_PER_SCALE)
    means = []
    for start in range(0, batch, images_per_chunk):
        chunk = images[start:start + images_per_chunk]
        # One scale at a time: a generator, so one resized chunk is alive at once.
        sources = (chunk,) if scales is None else (resize_short_side(chunk, scale)
                                                   for scale in scales)
        total = sum(_sum_over_ten_crops(model, source, crop_size, batch_size)
                    for source in sources)
        means.append(total / crops_per_image)
    return np.concatenate(means)


def _sum_over_ten_crops(model, images, crop_size, batch_size):
    """`(B, num_classes)`: the model's outputs summed over each image's ten crops."""
    crops = ten_crop(images, crop_size)
    outputs = np.concatenate([
        ops.convert_to_numpy(model.predict_on_batch(crops[start:start + batch_size]))
        for start in range(0, int(crops.shape[0]), batch_size)])
    return outputs.reshape(-1, CROPS_PER_SCALE, outputs.shape[-1]).sum(axis=1)


def _check_images(images):
    if (len(images.shape) != 4 or None in tuple(images.shape)[1:]
            or images.shape[0] == 0):
        fail_shape("images", "a batch of shape (B, H, W, C) with B >= 1 and known H, W and C",
                   images.shape)
    return tuple(images.shape)


def _check_scales(scales, crop_size):
    check_number("crop_size", crop_size, 1, integer=True)
    if not isinstance(scales, (tuple, list)) or not scales:
        fail("scales", f"a non-empty sequence of integers >= crop_size={crop_size}", scales)
    for scale in scales:
        check_number("scales", scale, crop_size, integer=True)
    return tuple(int(scale) for scale in scales)
