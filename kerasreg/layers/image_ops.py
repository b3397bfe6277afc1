"""The 14 image operations of RandAugment and TrivialAugment, vectorized over a batch.

Each operation has PIL's semantics on 8-bit images (the papers' code uses
PIL): images are floats in [0, 1], worked on as their 256 levels
(`to_levels`), the pointwise operations are PIL's lookup tables
(brightness, contrast, posterize, solarize, auto-contrast, equalize, with
PIL's truncation), the geometric ones PIL's affine transforms with
nearest-neighbour sampling and black fill, colour and sharpness PIL's
blends with a grey or smoothed image. `apply_operations` applies one
operation per image, each with its own argument, to a whole batch at
once, with no loop over the images: on TensorFlow and PyTorch each image
goes through its own operation only (the batch is split by operation and
put back in order); under JAX, which compiles for static shapes, the
whole batch goes through one batched affine transform, one per-image,
per-channel 256-entry lookup table and one blend, each the identity for
the images whose operation is not in it. The 14 functions below are that
with one operation for every image.

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

    The images are rounded to the 256 levels of 8-bit images (`to_levels`),
    go through `apply_on_levels` and come back to [0, 1].

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
    levels = to_levels(ops.cast(images, "float32"))
    return from_levels(apply_on_levels(levels, operations, magnitudes))


def to_levels(images, value_range=(0, 1)):
    """Images in `value_range` as 8-bit levels: floats rounded to the integers 0 to 255.

    Values outside `value_range` are clipped to it.

    Example:
    >>> import numpy as np
    >>> keras.ops.convert_to_numpy(to_levels(np.array([0.0, 0.5, 1.0, 1.2]))).tolist()
    [0.0, 128.0, 255.0, 255.0]
    """
    low, high = value_range
    images = images - low if low else images  # one pass less over the pixels for low = 0
    return ops.round(ops.clip(images * (255 / (high - low)), 0, 255))


def from_levels(levels, value_range=(0, 1)):
    """8-bit levels (0 to 255) back to `value_range`: the inverse of `to_levels`.

    Example:
    >>> import numpy as np
    >>> keras.ops.convert_to_numpy(from_levels(np.array([0.0, 51.0]), (-1, 4))).tolist()
    [-1.0, 0.0]
    """
    low, high = value_range
    images = levels * ((high - low) / 255)
    return images + low if low else images


def apply_on_levels(levels, operations, magnitudes, keep_levels=False):
    """`apply_operations` on 8-bit levels (`to_levels`), without converting from [0, 1].

    Each image goes through the one step its operation needs. On
    TensorFlow and PyTorch the batch is split by operation, each part
    transformed on its own, and the parts put back in order, so an
    operation costs in proportion to its images. JAX's compiled functions
    need static shapes, so there every image goes through the three steps
    (one affine transform for the shears, translations and rotation, one
    lookup table per image and channel for the pointwise operations, one
    blend with the grey or smoothed image for colour and sharpness), each
    the identity for the images whose operation is not in it. Both give the
    same result.

    Args:
        levels: `(B, H, W, C)` float32 integers from 0 to 255.
        operations: `(B,)` integer indices into `OPERATIONS`.
        magnitudes: `(B,)` each image's argument (see the module's table).
        keep_levels: round the colour and sharpness blends to integers, so
            the output can be the input of the next call. Defaults to `False`.

    Returns:
        `(B, H, W, C)` float32 in [0, 255]; integers unless a blend is not
        rounded.

    Example:
    >>> import numpy as np
    >>> levels = np.full((2, 1, 1, 3), 102.0, "float32")
    >>> out = apply_on_levels(levels, [OPERATIONS.index("identity"),
    ...                                OPERATIONS.index("posterize")], [0.0, 1.0])
    >>> keras.ops.convert_to_numpy(out)[:, 0, 0, 0].tolist()
    [102.0, 0.0]
    """
    operations = ops.cast(operations, "int32")
    magnitudes = ops.cast(magnitudes, "float32")
    if keras.backend.backend() == "jax":
        levels = _affine_step(levels, operations, magnitudes)
        levels = _table_step(levels, operations, magnitudes)
        levels = _blend_step(levels, operations, magnitudes)
        return ops.round(levels) if keep_levels else levels
    # Sort the batch by operation group, transform each group's slice, undo the sort.
    groups = ops.take(_GROUP_OF_OPERATION, operations)
    order = ops.argsort(groups)
    sizes = ops.bincount(groups, minlength=len(_STEPS))
    starts = ops.cumsum(sizes) - sizes
    levels, operations, magnitudes = (ops.take(values, order, axis=0)
                                      for values in (levels, operations, magnitudes))
    parts = []
    for group, (names, step) in enumerate(_STEPS.items()):
        start, size = starts[group], sizes[group]
        part = ops.slice(levels, [start, 0, 0, 0], [size, *ops.shape(levels)[1:]])
        # A part known to be empty is left alone (PyTorch's affine transform refuses it).
        if step is not None and part.shape[0] != 0:
            part = step(part, ops.slice(operations, [start], [size]),
                        ops.slice(magnitudes, [start], [size]))
            if keep_levels and names in _BLENDS:
                part = ops.round(part)
        parts.append(part)
    return ops.take(ops.concatenate(parts), ops.argsort(order), axis=0)


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


def _table_step(levels, operations, magnitudes):
    """Look each pixel up in its image's and channel's table of the 256 levels."""
    histograms, index = _histograms(levels)
    return _look_up(_lookup_tables(histograms, operations, magnitudes), index)


def _equalize_step(levels, operations, magnitudes):
    """Equalize alone: the table step with only the equalize tables."""
    histograms, index = _histograms(levels)
    return _look_up(_equalize_tables(histograms, _present_range(histograms)[1]), index)


def _histograms(levels):
    """`(B, C, 256)` counts of each level per image and channel, and each pixel's entry."""
    batch, channels = ops.shape(levels)[0], levels.shape[-1]
    offsets = ops.reshape(ops.arange(batch * channels, dtype="int32") * 256,
                          (batch, 1, 1, channels))
    index = ops.cast(levels, "int32") + offsets
    counts = _counts(ops.reshape(index, (-1,)), batch * channels * 256)
    return ops.reshape(counts, (batch, channels, 256)), index


def _look_up(tables, index):
    """Each pixel's entry (from `_histograms`) in its image's and channel's table."""
    return ops.take(ops.reshape(tables, (-1,)), index)


def _counts(values, length):
    """How often each of `0 .. length - 1` occurs in the integers `values`.

    `bincount` (four times faster on TensorFlow), but a segment sum under JAX,
    where a compiled bincount needs a length known when tracing.
    """
    if keras.backend.backend() == "jax":
        return ops.segment_sum(ops.ones_like(values), values, num_segments=length)
    return ops.bincount(values, minlength=length)


def _present_range(histograms):
    """Lowest and highest level present, `(B, C, 1)` (256 and -1 when none).

    Counted from the cumulative histograms, not with a min or max, which
    refuse a batch with no image.
    """
    absent_below = ops.cast(ops.cumsum(histograms, axis=-1) == 0, "float32")
    absent_above = ops.cast(ops.flip(ops.cumsum(ops.flip(histograms, -1), axis=-1), -1) == 0,
                            "float32")
    return (ops.sum(absent_below, axis=-1, keepdims=True),
            255 - ops.sum(absent_above, axis=-1, keepdims=True))


def _lookup_tables(histograms, operations, magnitudes):
    """`(B, C, 256)` tables, the output level of each level, of each image's operation."""
    levels = ops.arange(256, dtype="float32")
    counts = ops.cast(histograms, "float32")
    low, high = _present_range(histograms)
    statistics = (ops.sum(counts * levels, axis=-1) / ops.sum(counts, axis=-1), low, high)
    factor = ops.reshape(magnitudes, (-1, 1, 1))
    identity = ops.broadcast_to(levels, ops.shape(counts))
    tables = {name: pointwise(levels, factor, lambda: statistics)
              for name, pointwise in _POINTWISE.items()}
    tables["equalize"] = _equalize_tables(histograms, high)
    stacked = ops.stack([ops.broadcast_to(tables.get(name, identity), ops.shape(counts))
                         for name in OPERATIONS], axis=1)
    chosen = ops.take_along_axis(stacked, ops.reshape(operations, (-1, 1, 1, 1)), axis=1)
    return chosen[:, 0]


def _pixel_statistics(levels):
    """Channel means `(B, C)`, lowest and highest level `(B, 1, 1, C)` of `(B, H, W, C)` levels."""
    pixels = ops.cast(ops.shape(levels)[1] * ops.shape(levels)[2], "float32")
    return (ops.sum(levels, axis=(1, 2)) / pixels,
            ops.min(levels, axis=(1, 2), keepdims=True, initial=256.0),
            ops.max(levels, axis=(1, 2), keepdims=True, initial=-1.0))


def _enhance(levels, factor, degenerate):
    """PIL's Image.blend(degenerate, image, factor) on 8-bit levels (truncated, clipped)."""
    return ops.clip(ops.floor(degenerate + factor * (levels - degenerate)), 0, 255)


def _grey_mean(channel_means, rank):
    """PIL's mean grey level from the channel means, `(B,)` reshaped to rank `rank`."""
    channels = channel_means.shape[-1]
    weights = ops.convert_to_tensor(_GRAY if channels == 3 else [1 / channels] * channels)
    grey = ops.floor(ops.sum(channel_means * weights, axis=-1) + 0.5)
    return ops.reshape(grey, (-1,) + (1,) * (rank - 1))


def _posterize(levels, bits):
    step = 2.0 ** (8 - ops.clip(bits, 1, 8))
    return ops.floor(levels / step) * step


def _auto_contrast(levels, low, high):
    stretched = ops.clip(ops.floor((levels - low) * 255 / ops.maximum(high - low, 1)), 0, 255)
    return ops.where(high > low, stretched, levels)


# PIL's lookup tables of the pointwise operations, as functions of the level (0 to 255, a
# table's entries or an image's pixels), the operation's argument, and a function giving the
# image's statistics (channel means, lowest and highest level per channel).
_POINTWISE = {
    "brightness": lambda levels, factor, statistics: _enhance(levels, factor, 0.0),
    "contrast": lambda levels, factor, statistics: _enhance(
        levels, factor, _grey_mean(statistics()[0], len(factor.shape))),
    "posterize": lambda levels, bits, statistics: _posterize(levels, bits),
    "solarize": lambda levels, threshold, statistics: ops.where(
        levels < threshold * 255, levels, 255 - levels),
    "auto_contrast": lambda levels, factor, statistics: _auto_contrast(levels,
                                                                       *statistics()[1:]),
}


def _pointwise_step(name):
    """The step of one pointwise operation, computed on the pixels (no table)."""
    def step(levels, operations, magnitudes):
        argument = ops.reshape(magnitudes, (-1, 1, 1, 1))
        return _POINTWISE[name](levels, argument, lambda: _pixel_statistics(levels))
    return step


def _equalize_tables(histograms, high):
    """PIL's ImageOps.equalize tables, in integer arithmetic as PIL's."""
    last_count = ops.take_along_axis(histograms, ops.cast(ops.maximum(high, 0), "int32"),
                                     axis=-1)
    step = (ops.sum(histograms, axis=-1, keepdims=True) - last_count) // 255
    below = ops.cumsum(histograms, axis=-1) - histograms
    table = ops.minimum((step // 2 + below) // ops.maximum(step, 1), 255)
    return ops.cast(ops.where(step > 0, table, ops.arange(256, dtype="int32")), "float32")


def _grey_difference(images):
    """The grey image (PIL's luma) minus the image: colour's degenerate direction."""
    channels = images.shape[-1]
    weights = _GRAY if channels == 3 else [1 / channels] * channels
    return ops.tensordot(images, ops.convert_to_tensor([[w] for w in weights]), axes=1) - images


def _smooth_difference(images):
    """PIL's SMOOTH image minus the image, zero on the border (PIL keeps border pixels)."""
    # PIL's SMOOTH kernel is (box of 9 + 4 centre) / 13, so smooth - x = 9/13 (box mean - x).
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    rows, cols = ops.arange(height), ops.arange(width)
    interior = ops.logical_and(
        ops.logical_and(rows > 0, rows < height - 1)[:, None],
        ops.logical_and(cols > 0, cols < width - 1)[None, :])
    box = ops.average_pool(images, pool_size=3, strides=1, padding="same")
    return ops.cast(interior, "float32")[None, :, :, None] * (9 / 13) * (box - images)


def _blend_weight(operations, magnitudes, name):
    """`1 - factor` for the images whose operation is `name`, 0 for the others."""
    return ops.reshape(ops.where(_is(operations, name), 1 - magnitudes, 0.0), (-1, 1, 1, 1))


def _blend_step(images, operations, magnitudes):
    """Colour and sharpness: `x + (1 - factor) (degenerate - x)`, per image."""
    out = (images + _blend_weight(operations, magnitudes, "color") * _grey_difference(images)
           + _blend_weight(operations, magnitudes, "sharpness") * _smooth_difference(images))
    return ops.clip(out, 0, 255)


def _color_step(images, operations, magnitudes):
    return ops.clip(images + _blend_weight(operations, magnitudes, "color")
                    * _grey_difference(images), 0, 255)


def _sharpness_step(images, operations, magnitudes):
    return ops.clip(images + _blend_weight(operations, magnitudes, "sharpness")
                    * _smooth_difference(images), 0, 255)


# On TensorFlow and PyTorch, the step that applies each group of operations to its images
# alone (identity needs none); under JAX every image goes through the affine, table and blend
# steps.
_STEPS = {
    ("identity",): None,
    ("shear_x", "shear_y", "translate_x", "translate_y", "rotate"): _affine_step,
    **{(name,): _pointwise_step(name) for name in _POINTWISE},
    ("equalize",): _equalize_step,
    ("color",): _color_step,
    ("sharpness",): _sharpness_step,
}
_BLENDS = (("color",), ("sharpness",))
_GROUP_OF_OPERATION = [next(group for group, names in enumerate(_STEPS) if name in names)
                       for name in OPERATIONS]
