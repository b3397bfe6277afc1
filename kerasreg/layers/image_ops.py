"""The 14 image operations of RandAugment and TrivialAugment, vectorized over a batch.

Each operation has PIL's semantics on 8-bit images (the papers' code uses
PIL): images are floats in [0, 1] and are rounded to 256 levels, the
pointwise operations are PIL's lookup tables (brightness, contrast,
posterize, solarize, auto-contrast, equalize, with PIL's truncation), the
geometric ones PIL's affine transforms with nearest-neighbour sampling and
black fill, colour and sharpness PIL's blends with a grey or smoothed
image. `apply_operations` applies one operation per image, each with its
own argument, to a whole batch at once: one batched affine transform (the
identity for images with another operation), one per-image, per-channel
256-entry lookup table (histograms from one segment sum over the batch),
one elementwise blend. The 14 functions below are that with one operation
for every image.

Arguments (the `magnitudes` of `apply_operations`), per operation:

| operation | argument |
|---|---|
| identity, auto_contrast, equalize | ignored |
| shear_x, shear_y | shear factor `s`: output `(x, y)` reads `(x + s y, y)` |
| translate_x, translate_y | pixels, truncated to an integer |
| rotate | degrees, counter-clockwise about the centre |
| brightness, color, contrast, sharpness | enhancement factor, 1 = unchanged |
| posterize | bits kept, 1 to 8 |
| solarize | threshold in [0, 1]: pixels at or above it are inverted |
"""

import math

import keras
from keras import ops

OPERATIONS = ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate",
              "brightness", "color", "contrast", "sharpness", "posterize", "solarize",
              "auto_contrast", "equalize")
_INDEX = {name: index for index, name in enumerate(OPERATIONS)}
_GRAY = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma, as PIL's convert("L")


def apply_operations(images, operations, magnitudes):
    """Apply operation `operations[i]` with argument `magnitudes[i]` to image `i`.

    The whole batch goes through three steps, each the identity for the
    images whose operation is not in it: one affine transform (shears,
    translations, rotation), one lookup table per image and channel on the
    256 levels (the pointwise operations; every image is rounded to 256
    levels here), one blend with the image's grey version or 3 x 3
    smoothing (colour, sharpness).

    Args:
        images: `(B, H, W, C)` floats in [0, 1].
        operations: `(B,)` integer indices into `OPERATIONS`.
        magnitudes: `(B,)` each image's argument (see the module's table).

    Returns:
        `(B, H, W, C)` float32 in [0, 1].

    Example:
    >>> import numpy as np
    >>> images = np.full((2, 2, 2, 1), 0.4, "float32")
    >>> out = apply_operations(images, operations=[OPERATIONS.index("solarize"),
    ...                                            OPERATIONS.index("brightness")],
    ...                        magnitudes=[0.3, 2.0])
    >>> np.round(keras.ops.convert_to_numpy(out)[:, 0, 0, 0] * 255).tolist()
    [153.0, 204.0]
    """
    images = ops.cast(images, "float32")
    operations = ops.cast(operations, "int32")
    magnitudes = ops.cast(magnitudes, "float32")
    images = _affine_step(images, operations, magnitudes)
    images = _table_step(images, operations, magnitudes)
    return _blend_step(images, operations, magnitudes)


def identity(images):
    """The images, rounded to 256 levels.

    Example:
    >>> import numpy as np
    >>> float(keras.ops.convert_to_numpy(identity(np.full((1, 1, 1, 1), 0.5)))[0, 0, 0, 0] * 255)
    128.0
    """
    return _one_operation(images, "identity", 0.0)


def shear_x(images, factors):
    """Shear along x about the top-left corner: output `(x, y)` reads `(x + s y, y)`, as PIL.

    Example:
    >>> import numpy as np
    >>> image = np.arange(9, dtype="float32").reshape(1, 3, 3, 1) / 255
    >>> (keras.ops.convert_to_numpy(shear_x(image, [0.5]))[0, ..., 0] * 255).round().tolist()
    [[0.0, 1.0, 2.0], [4.0, 5.0, 0.0], [7.0, 8.0, 0.0]]
    """
    return _one_operation(images, "shear_x", factors)


def shear_y(images, factors):
    """Shear along y about the top-left corner: output `(x, y)` reads `(x, y + s x)`, as PIL.

    Example:
    >>> import numpy as np
    >>> image = np.arange(9, dtype="float32").reshape(1, 3, 3, 1) / 255
    >>> (keras.ops.convert_to_numpy(shear_y(image, [0.5]))[0, ..., 0] * 255).round().tolist()
    [[0.0, 4.0, 5.0], [3.0, 7.0, 8.0], [6.0, 0.0, 0.0]]
    """
    return _one_operation(images, "shear_y", factors)


def translate_x(images, pixels):
    """Shift left by `pixels` (right when negative), black fill; truncated to integers.

    Example:
    >>> import numpy as np
    >>> image = np.arange(1, 4, dtype="float32").reshape(1, 1, 3, 1) / 255
    >>> (keras.ops.convert_to_numpy(translate_x(image, [1.7]))[0, 0, :, 0] * 255).round().tolist()
    [2.0, 3.0, 0.0]
    """
    return _one_operation(images, "translate_x", pixels)


def translate_y(images, pixels):
    """Shift up by `pixels` (down when negative), black fill; truncated to integers.

    Example:
    >>> import numpy as np
    >>> image = np.arange(1, 4, dtype="float32").reshape(1, 3, 1, 1) / 255
    >>> (keras.ops.convert_to_numpy(translate_y(image, [-1]))[0, :, 0, 0] * 255).round().tolist()
    [0.0, 1.0, 2.0]
    """
    return _one_operation(images, "translate_y", pixels)


def rotate(images, degrees):
    """Rotate counter-clockwise by `degrees` about the image centre, black fill.

    Example:
    >>> import numpy as np
    >>> image = np.arange(4, dtype="float32").reshape(1, 2, 2, 1) / 255
    >>> (keras.ops.convert_to_numpy(rotate(image, [90.0]))[0, ..., 0] * 255).round().tolist()
    [[1.0, 3.0], [0.0, 2.0]]
    """
    return _one_operation(images, "rotate", degrees)


def brightness(images, factors):
    """PIL's `ImageEnhance.Brightness`: `factor * x`, truncated to a level, clipped.

    Example:
    >>> import numpy as np
    >>> out = brightness(np.full((1, 1, 1, 1), 100 / 255), [1.5])
    >>> float(keras.ops.convert_to_numpy(out)[0, 0, 0, 0] * 255)
    150.0
    """
    return _one_operation(images, "brightness", factors)


def color(images, factors):
    """PIL's `ImageEnhance.Color`: blend with the grey image, `grey + factor (x - grey)`.

    Example:
    >>> import numpy as np
    >>> out = color(np.array([[[[1.0, 0.0, 0.0]]]]), [0.0])  # factor 0: grey
    >>> np.round(keras.ops.convert_to_numpy(out)[0, 0, 0] * 1000).tolist()
    [299.0, 299.0, 299.0]
    """
    return _one_operation(images, "color", factors)


def contrast(images, factors):
    """PIL's `ImageEnhance.Contrast`: blend with the mean grey level, truncated, clipped.

    Example:
    >>> import numpy as np
    >>> image = np.array([0, 100, 200, 255], "float32").reshape(1, 2, 2, 1) / 255
    >>> (keras.ops.convert_to_numpy(contrast(image, [0.5]))[0, ..., 0] * 255).round().tolist()
    [[69.0, 119.0], [169.0, 197.0]]
    """
    return _one_operation(images, "contrast", factors)


def sharpness(images, factors):
    """PIL's `ImageEnhance.Sharpness`: blend with PIL's 3 x 3 SMOOTH filter, borders kept.

    Example:
    >>> import numpy as np
    >>> image = np.zeros((1, 3, 3, 1), "float32")
    >>> image[0, 1, 1] = 1.0
    >>> out = sharpness(image, [0.0])  # factor 0: the smoothed image
    >>> round(float(keras.ops.convert_to_numpy(out)[0, 1, 1, 0]), 4)  # 5 / 13
    0.3846
    """
    return _one_operation(images, "sharpness", factors)


def posterize(images, bits):
    """PIL's `ImageOps.posterize`: keep the top `bits` bits of each 8-bit level.

    Example:
    >>> import numpy as np
    >>> out = posterize(np.full((1, 1, 1, 1), 0.5), [2])  # level 128 stays 128
    >>> float(keras.ops.convert_to_numpy(out)[0, 0, 0, 0] * 255)
    128.0
    """
    return _one_operation(images, "posterize", bits)


def solarize(images, thresholds):
    """PIL's `ImageOps.solarize`: invert the levels at or above `threshold * 255`.

    Example:
    >>> import numpy as np
    >>> image = np.array([0.2, 0.8], "float32").reshape(1, 1, 2, 1)
    >>> np.round(keras.ops.convert_to_numpy(solarize(image, [0.5]))[0, 0, :, 0] * 255).tolist()
    [51.0, 51.0]
    """
    return _one_operation(images, "solarize", thresholds)


def auto_contrast(images):
    """PIL's `ImageOps.autocontrast`: stretch each channel's levels to [0, 255].

    Example:
    >>> import numpy as np
    >>> image = np.array([50, 100, 150], "float32").reshape(1, 1, 3, 1) / 255
    >>> (keras.ops.convert_to_numpy(auto_contrast(image))[0, 0, :, 0] * 255).round().tolist()
    [0.0, 127.0, 255.0]
    """
    return _one_operation(images, "auto_contrast", 0.0)


def equalize(images):
    """PIL's `ImageOps.equalize`: flatten each channel's histogram of levels.

    Example:
    >>> import numpy as np
    >>> image = np.repeat([10, 20], 256).reshape(1, 16, 32, 1).astype("float32") / 255
    >>> np.unique(keras.ops.convert_to_numpy(equalize(image)) * 255).round().tolist()
    [0.0, 255.0]
    """
    return _one_operation(images, "equalize", 0.0)


def _one_operation(images, name, magnitudes):
    batch = ops.shape(images)[0]
    operations = ops.full((batch,), _INDEX[name], "int32")
    return apply_operations(images, operations, ops.broadcast_to(
        ops.cast(magnitudes, "float32"), (batch,)))


def _is(operations, name):
    return ops.equal(operations, _INDEX[name])


def _affine_step(images, operations, magnitudes):
    """One nearest-neighbour affine transform of the batch, black fill."""
    height = ops.cast(ops.shape(images)[1], "float32")
    width = ops.cast(ops.shape(images)[2], "float32")
    rotation = _is(operations, "rotate")
    angle = ops.where(rotation, magnitudes, 0.0) * (-math.pi / 180)
    cos, sin = ops.cos(angle), ops.sin(angle)
    pixels = ops.trunc(magnitudes)
    zero = ops.zeros_like(magnitudes)
    # PIL's AFFINE data (a, b, c, d, e, f): output (x, y) reads (a x + b y + c, d x + e y + f),
    # pixel edges at integers; rotation about the centre as PIL's Image.rotate.
    a, e = cos, cos
    b = ops.where(_is(operations, "shear_x"), magnitudes, sin)
    d = ops.where(_is(operations, "shear_y"), magnitudes, -sin)
    c = ops.where(_is(operations, "translate_x"), pixels,
                  ops.where(rotation, (1 - cos) * width / 2 - sin * height / 2, zero))
    f = ops.where(_is(operations, "translate_y"), pixels,
                  ops.where(rotation, sin * width / 2 + (1 - cos) * height / 2, zero))
    # Keras samples at pixel centres (integers) and rounds: shift by half a pixel.
    transforms = ops.stack([a, b, c + (a + b - 1) / 2, d, e, f + (d + e - 1) / 2, zero, zero],
                           axis=1)
    return ops.image.affine_transform(images, transforms, interpolation="nearest",
                                      fill_mode="constant", fill_value=0)


def _table_step(images, operations, magnitudes):
    """Round to 256 levels and look each pixel up in its image's and channel's table."""
    batch, channels = ops.shape(images)[0], images.shape[-1]
    offsets = ops.reshape(ops.arange(batch * channels, dtype="int32") * 256,
                          (batch, 1, 1, channels))
    index = ops.cast(ops.round(images * 255), "int32") + offsets
    flat = ops.reshape(index, (-1,))
    histograms = ops.segment_sum(ops.ones_like(flat), flat, num_segments=batch * channels * 256)
    tables = _lookup_tables(ops.reshape(histograms, (batch, channels, 256)), operations,
                            magnitudes)
    return ops.take(ops.reshape(tables, (-1,)), index)


def _lookup_tables(histograms, operations, magnitudes):
    """`(B, C, 256)` tables, output levels / 255, of each image's pointwise operation."""
    levels = ops.arange(256, dtype="float32")
    factor = ops.reshape(magnitudes, (-1, 1, 1))
    counts = ops.cast(histograms, "float32")
    identity = ops.broadcast_to(levels, ops.shape(counts))

    def blend(degenerate):  # PIL's Image.blend(degenerate, image, factor) on 8 bits
        return ops.clip(ops.floor(degenerate + factor * (levels - degenerate)), 0, 255)

    channel_means = ops.sum(counts * levels, axis=-1) / ops.sum(counts, axis=-1)
    channels = channel_means.shape[-1]
    weights = ops.convert_to_tensor(_GRAY if channels == 3 else [1 / channels] * channels)
    grey_mean = ops.floor(ops.sum(channel_means * weights, axis=-1) + 0.5)
    step = 2.0 ** (8 - ops.clip(factor, 1, 8))
    present = histograms > 0
    low = ops.min(ops.where(present, levels, 256.0), axis=-1, keepdims=True)
    high = ops.max(ops.where(present, levels, -1.0), axis=-1, keepdims=True)
    stretched = ops.clip(ops.floor((levels - low) * 255 / ops.maximum(high - low, 1)), 0, 255)
    tables = {
        "brightness": blend(0.0),
        "contrast": blend(ops.reshape(grey_mean, (-1, 1, 1))),
        "posterize": ops.floor(levels / step) * step,
        "solarize": ops.where(levels < factor * 255, levels, 255 - levels),
        "auto_contrast": ops.where(high > low, stretched, identity),
        "equalize": _equalize_tables(histograms, high),
    }
    stacked = ops.stack([ops.broadcast_to(tables.get(name, identity), ops.shape(counts))
                         for name in OPERATIONS], axis=1)
    chosen = ops.take_along_axis(stacked, ops.reshape(operations, (-1, 1, 1, 1)), axis=1)
    return chosen[:, 0] / 255


def _equalize_tables(histograms, high):
    """PIL's ImageOps.equalize tables, in integer arithmetic as PIL's."""
    last_count = ops.take_along_axis(histograms, ops.cast(ops.maximum(high, 0), "int32"),
                                     axis=-1)
    step = (ops.sum(histograms, axis=-1, keepdims=True) - last_count) // 255
    below = ops.cumsum(histograms, axis=-1) - histograms
    table = ops.minimum((step // 2 + below) // ops.maximum(step, 1), 255)
    return ops.cast(ops.where(step > 0, table, ops.arange(256, dtype="int32")), "float32")


def _blend_step(images, operations, magnitudes):
    """Colour and sharpness: `x + (1 - factor) (degenerate - x)`, per image."""
    weight = ops.reshape(1 - magnitudes, (-1, 1, 1, 1))
    zero = ops.zeros_like(weight)
    color_weight = ops.where(ops.reshape(_is(operations, "color"), (-1, 1, 1, 1)), weight, zero)
    sharp_weight = ops.where(ops.reshape(_is(operations, "sharpness"), (-1, 1, 1, 1)), weight,
                             zero)
    channels = images.shape[-1]
    weights = _GRAY if channels == 3 else [1 / channels] * channels
    grey = ops.tensordot(images, ops.convert_to_tensor([[w] for w in weights]), axes=1)
    # PIL's SMOOTH kernel is (box of 9 + 4 centre) / 13, so smooth - x = 9/13 (box mean - x);
    # PIL keeps the border pixels.
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    rows, cols = ops.arange(height), ops.arange(width)
    interior = ops.logical_and(
        ops.logical_and(rows > 0, rows < height - 1)[:, None],
        ops.logical_and(cols > 0, cols < width - 1)[None, :])
    sharp_weight = sharp_weight * ops.cast(interior, "float32")[None, :, :, None] * (9 / 13)
    box = ops.average_pool(images, pool_size=3, strides=1, padding="same")
    out = images + color_weight * (grey - images) + sharp_weight * (box - images)
    return ops.clip(out, 0, 1)
