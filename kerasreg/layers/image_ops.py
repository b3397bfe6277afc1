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

import keras
from keras import ops

from kerasreg._validation import check_one_per_image, check_values
from kerasreg.layers._operation_steps import (  # noqa: F401 (OPERATIONS is public here)
    BLENDS, GROUP_OF_OPERATION, INDEX, OPERATIONS, STEPS, affine_step, blend_step, table_step)


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
    check_one_per_image("operations", operations, levels)
    check_one_per_image("magnitudes", magnitudes, levels)
    check_values("operations", operations, 0, len(OPERATIONS) - 1)
    operations = ops.cast(operations, "int32")
    magnitudes = ops.cast(magnitudes, "float32")
    if keras.backend.backend() == "jax":
        levels = affine_step(levels, operations, magnitudes)
        levels = table_step(levels, operations, magnitudes)
        levels = blend_step(levels, operations, magnitudes)
        return ops.round(levels) if keep_levels else levels
    # Sort the batch by operation group, transform each group's slice, undo the sort.
    groups = ops.take(GROUP_OF_OPERATION, operations)
    order = ops.argsort(groups)
    sizes = ops.bincount(groups, minlength=len(STEPS))
    starts = ops.cumsum(sizes) - sizes
    levels, operations, magnitudes = (ops.take(values, order, axis=0)
                                      for values in (levels, operations, magnitudes))
    parts = []
    for group, (names, step) in enumerate(STEPS.items()):
        start, size = starts[group], sizes[group]
        part = ops.slice(levels, [start, 0, 0, 0], [size, *ops.shape(levels)[1:]])
        # A part known to be empty is left alone (PyTorch's affine transform refuses it).
        if step is not None and part.shape[0] != 0:
            part = step(part, ops.slice(operations, [start], [size]),
                        ops.slice(magnitudes, [start], [size]))
            if keep_levels and names in BLENDS:
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
    operations = ops.full((batch,), INDEX[name], "int32")
    return apply_operations(images, operations, ops.broadcast_to(
        ops.cast(magnitudes, "float32"), (batch,)))
