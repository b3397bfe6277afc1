"""The steps behind `image_ops`: how a batch goes through the 14 operations.

`STEPS` maps each group of operations to the step that applies it to its
images alone (TensorFlow and PyTorch split the batch by group);
`affine_step`, `table_step` and `blend_step` are the three steps that
every image goes through under JAX, each the identity for the images whose
operation is not in it. Images are 8-bit levels: floats from 0 to 255.
"""

import math

import keras
from keras import ops

OPERATIONS = ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate",
              "brightness", "color", "contrast", "sharpness", "posterize", "solarize",
              "auto_contrast", "equalize")
INDEX = {name: index for index, name in enumerate(OPERATIONS)}
GRAY = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma, as PIL's convert("L")


def _is(operations, name):
    return ops.equal(operations, INDEX[name])


def affine_step(images, operations, magnitudes):
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


def table_step(levels, operations, magnitudes):
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
    weights = ops.convert_to_tensor(GRAY if channels == 3 else [1 / channels] * channels)
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
    weights = GRAY if channels == 3 else [1 / channels] * channels
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


def blend_step(images, operations, magnitudes):
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
STEPS = {
    ("identity",): None,
    ("shear_x", "shear_y", "translate_x", "translate_y", "rotate"): affine_step,
    **{(name,): _pointwise_step(name) for name in _POINTWISE},
    ("equalize",): _equalize_step,
    ("color",): _color_step,
    ("sharpness",): _sharpness_step,
}
BLENDS = (("color",), ("sharpness",))
GROUP_OF_OPERATION = [next(group for group, names in enumerate(STEPS) if name in names)
                       for name in OPERATIONS]
