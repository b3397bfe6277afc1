"""The image operations behind the augmentation layers, with their parameters fixed.

Deterministic functions of the images and of parameters drawn elsewhere
(by the layers of `kerasreg.layers.augmentation`, or passed by a test or a
lab cell): `scale_crop` (with `resized_shape`), `cutout` / `fill_boxes`,
`lens_distortion` and `pca_lighting`. Everything is `keras.ops`, batched,
with no per-image loop.
"""

import numpy as np
from keras import ops

from kerasreg._validation import (check_images, check_number, check_one_per_image,
                                  check_values)


def resized_shape(height, width, short_side):
    """`(height, width)` after resizing the short side to `short_side`.

    The aspect ratio is kept: the long side is rounded to the nearest
    integer (half to even). Works on Python numbers and on scalar tensors.

    Args:
        height: image height.
        width: image width.
        short_side: the new length of the shorter side, >= 1 (a scalar or a
            tensor of per-image lengths).

    Returns:
        `(new_height, new_width)` as int32 tensors.

    Example:
    >>> [int(side) for side in resized_shape(300, 451, 256)]
    [256, 385]
    """
    check_values("short_side", short_side, 1, np.inf)
    height, width = ops.cast(height, "float32"), ops.cast(width, "float32")
    scale = ops.cast(short_side, "float32") / ops.minimum(height, width)
    return (ops.cast(ops.round(height * scale), "int32"),
            ops.cast(ops.round(width * scale), "int32"))


def scale_crop(images, short_sides, offsets, crop_size):
    """Resize each image's short side to its length, then crop a square.

    The lecture's training crops: image `i` is resized (bilinear, aspect
    kept) so its short side is `short_sides[i]`, then the `crop_size` square
    whose top-left corner is `offsets[i]` (in resized pixels) is cut out.
    Only the crop is computed (one separable interpolation, no full-size
    resize), and it equals `keras.ops.image.resize` followed by slicing.

    Args:
        images: `(B, H, W, C)` float tensor.
        short_sides: `(B,)` resized short-side lengths, each >= `crop_size`.
        offsets: `(B, 2)` integer (row, column) of each crop's top-left
            corner in the resized image.
        crop_size: side of the square crop, an int >= 1.

    Returns:
        `(B, crop_size, crop_size, C)`.

    Example:
    >>> import numpy as np
    >>> image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> crop = scale_crop(image, short_sides=[4], offsets=[[1, 2]], crop_size=2)
    >>> ops.convert_to_numpy(crop)[0, ..., 0].tolist()
    [[6.0, 7.0], [10.0, 11.0]]
    """
    check_number("crop_size", crop_size, 1, integer=True)
    images = check_images(ops.convert_to_tensor(images))
    check_one_per_image("short_sides", short_sides, images)
    check_one_per_image("offsets", offsets, images)
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    new_height, new_width = resized_shape(height, width, short_sides)
    offsets = ops.cast(offsets, "float32")
    steps = ops.arange(crop_size, dtype="float32") + 0.5
    # Half-pixel centres, as tf.image.resize / jax.image.resize.
    rows = (offsets[:, :1] + steps) * (ops.cast(height, "float32")
                                       / ops.cast(new_height, "float32"))[:, None] - 0.5
    cols = (offsets[:, 1:] + steps) * (ops.cast(width, "float32")
                                       / ops.cast(new_width, "float32"))[:, None] - 0.5
    crops = _interpolate_axis1(images, rows)
    crops = _interpolate_axis1(ops.transpose(crops, (0, 2, 1, 3)), cols)
    return ops.transpose(crops, (0, 2, 1, 3))


def cutout(images, centers, size, fill_value=0.0):
    """Fill squares of side `size` centred on `centers`, clipped at the borders.

    The square of centre `(r, c)` covers rows `r - size // 2` to
    `r - size // 2 + size - 1` and the same columns; the parts outside the
    image are dropped, so a square near a border fills less than
    `size ** 2` pixels.

    Args:
        images: `(B, H, W, C)` tensor.
        centers: `(B, count, 2)` integer (row, column) of each square's centre.
        size: side of the squares in pixels, an int >= 1.
        fill_value: value written into the squares. Defaults to `0.0`.

    Returns:
        A tensor like `images`.

    Example:
    >>> import numpy as np
    >>> out = cutout(np.ones((1, 4, 4, 1), "float32"), centers=[[[0, 3]]], size=2)
    >>> ops.convert_to_numpy(out)[0, ..., 0].astype(int).tolist()
    [[1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]
    """
    check_values("size", size, 1, np.inf)  # a Python int, or the layer's tensor
    corners = ops.cast(centers, "int32") - size // 2  # (B, count, 2)
    return fill_boxes(images, corners, ops.full(ops.shape(corners), size, "int32"),
                      fill_value)


def fill_boxes(images, corners, sizes, values):
    """Replace the pixels inside boxes, clipped at the border, by `values`.

    Pixel `(r, c)` of image `i` is replaced when, for one of its boxes `k`,
    `corners[i, k, 0] <= r < corners[i, k, 0] + sizes[i, k, 0]` and likewise
    for columns. Shared by `cutout` (a constant) and
    `kerasreg.augment.cutmix` (the partner images). The mask is laid out
    as `(B, H, W * C)`, so the final select needs no broadcast over channels.

    Args:
        images: `(B, H, W, C)` tensor.
        corners: `(B, count, 2)` integer (row, column) of the top-left corners
            (may lie outside the image).
        sizes: `(B, count, 2)` integer (height, width) of the boxes.
        values: a scalar, or a tensor shaped like `images`.

    Returns:
        A tensor like `images`.

    Example:
    >>> import numpy as np
    >>> out = fill_boxes(np.zeros((1, 3, 4, 1)), corners=[[[-1, 2]]], sizes=[[[2, 5]]],
    ...                  values=1.0)
    >>> ops.convert_to_numpy(out)[0, ..., 0].astype(int).tolist()
    [[0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    """
    images = check_images(ops.convert_to_tensor(images))
    check_one_per_image("corners", corners, images)
    check_one_per_image("sizes", sizes, images)
    batch, height, width, channels = ops.shape(images)
    corners, sizes = ops.cast(corners, "int32"), ops.cast(sizes, "int32")
    in_rows = _in_interval(height, corners[..., 0], sizes[..., 0])  # (B, count, H)
    in_cols = ops.repeat(_in_interval(width, corners[..., 1], sizes[..., 1]), channels,
                         axis=-1)  # (B, count, W * C)
    inside = None
    for box in range(corners.shape[1]):
        box_inside = ops.logical_and(in_rows[:, box, :, None], in_cols[:, box, None, :])
        inside = box_inside if inside is None else ops.logical_or(inside, box_inside)
    flat_shape = (batch, height, width * channels)
    values = ops.convert_to_tensor(values, images.dtype)
    if len(values.shape):
        values = ops.reshape(values, flat_shape)
    return ops.reshape(ops.where(inside, values, ops.reshape(images, flat_shape)),
                       ops.shape(images))


def lens_distortion(images, strengths):
    """Radial lens distortion: barrel for positive strength, pincushion for negative.

    Output pixel at normalized radius `r` (1 at the corners, 0 at the
    centre) is read from radius `r (1 + k r^2)` of the input, bilinearly;
    `k > 0` pulls the border inwards (barrel), `k < 0` pushes it outwards
    (pincushion). Reads beyond the border take the nearest edge pixel.

    Args:
        images: `(B, H, W, C)` float tensor.
        strengths: `(B,)` distortion coefficients `k`.

    Returns:
        A tensor like `images`.

    Example:
    >>> import numpy as np
    >>> image = np.random.default_rng(0).random((1, 5, 5, 1)).astype("float32")
    >>> same = lens_distortion(image, strengths=[0.0])
    >>> bool(np.allclose(ops.convert_to_numpy(same), image))
    True
    """
    images = check_images(ops.convert_to_tensor(images))
    check_one_per_image("strengths", strengths, images)
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    center_row = (ops.cast(height, "float32") - 1) / 2
    center_col = (ops.cast(width, "float32") - 1) / 2
    radius = ops.maximum(ops.sqrt(center_row ** 2 + center_col ** 2), 1.0)
    rows = (ops.arange(height, dtype="float32") - center_row)[:, None] / radius
    cols = (ops.arange(width, dtype="float32") - center_col)[None, :] / radius
    factor = 1 + ops.reshape(ops.cast(strengths, "float32"), (-1, 1, 1)) * (rows ** 2
                                                                            + cols ** 2)
    return _bilinear_sample(images, center_row + radius * rows * factor,
                            center_col + radius * cols * factor)


def pca_lighting(images, alphas, eigenvalues, eigenvectors):
    """AlexNet's lighting noise: add `eigenvectors @ (alphas[i] * eigenvalues)` to image `i`.

    The same colour shift goes to every pixel of an image: a combination of
    the principal colour directions (the columns of `eigenvectors`), each
    weighted by its eigenvalue and the image's coefficient. Computed in
    float32, then cast to the images' dtype.

    Args:
        images: `(B, H, W, C)` float tensor.
        alphas: `(B, C)` coefficients, one per image and principal direction.
        eigenvalues: `(C,)` variances of the pixel colours along the eigenvectors.
        eigenvectors: `(C, C)` principal directions, one per column.

    Returns:
        A tensor like `images`.

    Example:
    >>> import numpy as np
    >>> out = pca_lighting(np.zeros((1, 2, 2, 3), "float32"), alphas=[[0.5, 0.0, 2.0]],
    ...                    eigenvalues=[2.0, 1.0, 0.25], eigenvectors=np.eye(3)[:, ::-1])
    >>> ops.convert_to_numpy(out)[0, 1, 1].tolist()
    [0.5, 0.0, 1.0]
    """
    images = check_images(ops.convert_to_tensor(images))
    check_one_per_image("alphas", alphas, images)
    weights = ops.cast(alphas, "float32") * ops.cast(eigenvalues, "float32")
    shifts = ops.matmul(weights, ops.transpose(ops.cast(eigenvectors, "float32")))
    return images + ops.cast(shifts, images.dtype)[:, None, None, :]


def _in_interval(length, starts, sizes):
    """`(..., length)` booleans: is index j in [start, start + size)?"""
    index = ops.arange(length, dtype="int32")
    return ops.logical_and(index >= starts[..., None], index < (starts + sizes)[..., None])


def _interpolate_axis1(images, coords):
    """Linear interpolation of `(B, N, ...)` along axis 1 at `(B, M)` coordinates.

    Whole rows are gathered (two gathers of contiguous memory), coordinates
    are clamped to the edge pixels.
    """
    shape = ops.shape(images)
    batch, length = shape[0], shape[1]
    coords = ops.clip(coords, 0, ops.cast(length - 1, "float32"))
    lower = ops.floor(coords)
    weight = ops.cast(coords - lower, images.dtype)[..., None]
    lower = ops.cast(lower, "int32")
    upper = ops.minimum(lower + 1, length - 1)
    rows = ops.reshape(images, (batch * length, -1))
    first = ops.arange(batch, dtype="int32")[:, None] * length
    below, above = ops.take(rows, first + lower, axis=0), ops.take(rows, first + upper, axis=0)
    mixed = below + (above - below) * weight
    return ops.reshape(mixed, (batch, ops.shape(coords)[1]) + tuple(shape[2:]))


def _bilinear_sample(images, rows, cols):
    """Bilinear reads of `(B, H, W, C)` at `(B, H', W')` float coordinates (edge-clamped)."""
    batch, height, width, channels = ops.shape(images)
    rows = ops.clip(rows, 0, ops.cast(height - 1, "float32"))
    cols = ops.clip(cols, 0, ops.cast(width - 1, "float32"))
    top, left = ops.floor(rows), ops.floor(cols)
    row_weight = ops.cast(rows - top, images.dtype)[..., None]
    col_weight = ops.cast(cols - left, images.dtype)[..., None]
    top, left = ops.cast(top, "int32"), ops.cast(left, "int32")
    bottom, right = ops.minimum(top + 1, height - 1), ops.minimum(left + 1, width - 1)
    pixels = ops.reshape(images, (-1, channels))
    first = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1, 1))

    def read_row(row):
        start = first + row * width
        left_pixels = ops.take(pixels, start + left, axis=0)
        return left_pixels + (ops.take(pixels, start + right, axis=0) - left_pixels) * col_weight

    upper = read_row(top)
    return upper + (read_row(bottom) - upper) * row_weight
