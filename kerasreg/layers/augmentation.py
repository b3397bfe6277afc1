"""Image augmentation layers for what Keras lacks: scale crops, Cutout, lens
distortion, dequantization noise and AlexNet's PCA lighting.

Each layer draws its random parameters in one method (`random_parameters`)
and applies them with a deterministic function of this module (`scale_crop`,
`cutout`, `lens_distortion`, `pca_lighting`), so a test or a lab cell can
pass fixed parameters and see exactly what the layer does. Like Keras'
augmentation layers (`keras.layers.RandomFlip`, ...), they augment unless
called with `training=False` (which `fit` does not do and `predict` /
`evaluate` do), accept one image `(H, W, C)` or a batch `(B, H, W, C)`,
integer or float pixels, and return the layer's compute dtype.
`RandomPCALighting` learns its colour axes in `adapt()`, as
`keras.layers.Normalization` does.

Everything is `keras.ops`, so the layers run inside a model on any backend
and inside `tf.data.Dataset.map` with the TensorFlow backend (graph mode).
Keras' own preprocessing layers also run in `tf.data` under JAX or PyTorch
through a base class that is not public (`DataLayer`, Keras issue #21785);
`kerasreg.augment.pipeline` gives these layers the same reach by running
them eagerly through `tf.numpy_function` in that one case.
"""

import json
import numbers
import sys

import keras
import numpy as np
from keras import ops

from kerasreg._batches import input_batches
from kerasreg._validation import (check_images, check_number, check_one_per_image,
                                  check_value_range, check_values, concrete_values, fail,
                                  fail_shape)
from kerasreg.layers.whitening import pca


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
    >>> keras.ops.convert_to_numpy(crop)[0, ..., 0].tolist()
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
    >>> keras.ops.convert_to_numpy(out)[0, ..., 0].astype(int).tolist()
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
    >>> keras.ops.convert_to_numpy(out)[0, ..., 0].astype(int).tolist()
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
    >>> bool(np.allclose(keras.ops.convert_to_numpy(same), image))
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
    >>> keras.ops.convert_to_numpy(out)[0, 1, 1].tolist()
    [0.5, 0.0, 1.0]
    """
    images = check_images(ops.convert_to_tensor(images))
    check_one_per_image("alphas", alphas, images)
    weights = ops.cast(alphas, "float32") * ops.cast(eigenvalues, "float32")
    shifts = ops.matmul(weights, ops.transpose(ops.cast(eigenvectors, "float32")))
    return images + ops.cast(shifts, images.dtype)[:, None, None, :]


class _ImageAugmentation(keras.layers.Layer):
    """Shared shell: cast, accept one image or a batch, draw, then apply."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        _check_rank(self, input_shape)

    def call(self, inputs, training=True):
        images = ops.cast(inputs, self.compute_dtype)
        single = len(images.shape) == 3
        if single:
            images = images[None]
        if training:
            images = self.transform(images, self.random_parameters(images))
        else:
            images = self.inference(images)
        return images[0] if single else images

    def random_parameters(self, images):
        """The random draws for one batch, as the pure function takes them."""
        raise NotImplementedError

    def transform(self, images, parameters):
        """Apply `parameters` (from `random_parameters`) to a batch."""
        raise NotImplementedError

    def inference(self, images):
        """The deterministic test-time output; the identity by default."""
        return images

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="kerasreg")
class RandomScaleCrop(_ImageAugmentation):
    """Random-scale training crops; resize and centre crop at inference.

    The lecture's recipe for ImageNet-style training: pick a random `L` in
    `scale_range` (e.g. [256, 480]), resize the image so its short side is
    `L` (aspect kept), and cut a random `crop_size` square (e.g. 224). `L`
    and the crop position are drawn per image. At inference the short side
    is resized to `crop_size` and the centre square is kept. For the
    lecture's test-time average over 10 or 50 fixed crops, see
    `kerasreg.tta`.

    Args:
        scale_range: `(low, high)` integer range of the resized short side,
            inclusive; `crop_size <= low`. Defaults to `(256, 480)`.
        crop_size: side of the square output. Defaults to `224`.
        seed: seed of the draws. Defaults to `None`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: one image `(H, W, C)` or a batch `(B, H, W, C)`.
        training: random scale and crop (`True`, the default) or resize
            and centre crop (`False`).

    Example:
    >>> import numpy as np
    >>> layer = RandomScaleCrop(scale_range=(40, 60), crop_size=32, seed=0)
    >>> images = np.random.default_rng(0).random((2, 48, 64, 3))
    >>> tuple(layer(images).shape), tuple(layer(images, training=False).shape)
    ((2, 32, 32, 3), (2, 32, 32, 3))

    Reference:
        Simonyan, Zisserman, "Very Deep Convolutional Networks for
        Large-Scale Image Recognition", ICLR 2015 (scale jittering).
    """

    def __init__(self, scale_range=(256, 480), crop_size=224, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        _check_scale_range(scale_range)
        check_number("crop_size", crop_size, 1, scale_range[0], integer=True)
        self.scale_range = tuple(int(length) for length in scale_range)
        self.crop_size = int(crop_size)

    def random_parameters(self, images):
        """`{"short_sides": (B,), "offsets": (B, 2)}`, integers."""
        batch, height, width = ops.shape(images)[:3]
        low, high = self.scale_range
        draws = keras.random.uniform((batch, 3), seed=self.seed_generator)
        short_sides = ops.floor(low + draws[:, 0] * (high - low + 1))
        room = ops.stack(resized_shape(height, width, short_sides), axis=1) - self.crop_size
        offsets = ops.floor(draws[:, 1:] * ops.cast(room + 1, "float32"))
        return {"short_sides": short_sides, "offsets": offsets}

    def transform(self, images, parameters):
        return scale_crop(images, parameters["short_sides"], parameters["offsets"],
                          self.crop_size)

    def inference(self, images):
        batch, height, width = ops.shape(images)[:3]
        short_sides = ops.full((batch,), self.crop_size, "float32")
        room = ops.stack(resized_shape(height, width, short_sides), axis=1) - self.crop_size
        return scale_crop(images, short_sides, room // 2, self.crop_size)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.crop_size, self.crop_size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "scale_range": self.scale_range,
                "crop_size": self.crop_size}


@keras.saving.register_keras_serializable(package="kerasreg")
class Cutout(_ImageAugmentation):
    """Cutout: fill `count` random squares of each image with `fill_value`.

    The lecture's Cutout removes a square region of pixels during training,
    so the network cannot rely on any one part of the object (and learns to
    ignore background). Each square's centre is uniform over the image, so
    a square may hang over the border and is clipped there, as in the
    paper. `keras.layers.RandomErasing` erases random rectangles with a
    random fill; this layer is the paper's fixed-size square, computed as
    one mask per batch.

    Args:
        size: side of the squares: an int (pixels) or a float in (0, 1]
            (fraction of the image's short side).
        count: squares per image. Defaults to `1`.
        fill_value: value written into the squares. Defaults to `0.0`.
        seed: seed of the square positions. Defaults to `None`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: one image `(H, W, C)` or a batch `(B, H, W, C)`.
        training: cut (`True`, the default) or return the input (`False`).

    Example:
    >>> import numpy as np
    >>> out = Cutout(size=2, seed=0)(np.ones((1, 8, 8, 1)))
    >>> int((keras.ops.convert_to_numpy(out) == 0).sum()) in (1, 2, 4)
    True

    Reference:
        DeVries, Taylor, "Improved Regularization of Convolutional Neural
        Networks with Cutout", 2017, https://arxiv.org/abs/1708.04552
    """

    def __init__(self, size, count=1, fill_value=0.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not _is_pixels(size) and not _is_fraction(size):
            fail("size", "an integer >= 1 (pixels) or a float in (0, 1] (fraction of the "
                 "short side)", size)
        self.size = size
        self.count = check_number("count", count, 1, integer=True)
        self.fill_value = check_number("fill_value", fill_value)

    def pixel_size(self, height, width):
        """The square's side in pixels for an image of `height` x `width`."""
        if _is_pixels(self.size):
            return self.size
        short = ops.cast(ops.minimum(height, width), "float32")
        return ops.maximum(ops.cast(ops.round(self.size * short), "int32"), 1)

    def random_parameters(self, images):
        """`{"centers": (B, count, 2)}` integer (row, column) centres."""
        batch, height, width = ops.shape(images)[:3]
        draws = keras.random.uniform((batch, self.count, 2), seed=self.seed_generator)
        extent = ops.cast(ops.stack([height, width]), "float32")
        return {"centers": ops.cast(ops.floor(draws * extent), "int32"),
                "size": self.pixel_size(height, width)}

    def transform(self, images, parameters):
        return cutout(images, parameters["centers"], parameters["size"], self.fill_value)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "count": self.count,
                "fill_value": self.fill_value}


@keras.saving.register_keras_serializable(package="kerasreg")
class RandomLensDistortion(_ImageAugmentation):
    """Random radial lens distortion, barrel or pincushion.

    One of the lecture's "the list goes on" augmentations: the same scene
    through a different lens. Each image gets a strength `k` uniform in
    `[-factor, factor]` and is warped by `lens_distortion` (radius
    `r -> r (1 + k r^2)`, bilinear, edge pixels repeated beyond the border).
    `factor <= 0.3` keeps the warp one-to-one.

    Args:
        factor: largest absolute strength, in [0, 0.3]. Defaults to `0.2`.
        seed: seed of the strengths. Defaults to `None`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: one image `(H, W, C)` or a batch `(B, H, W, C)`.
        training: distort (`True`, the default) or return the input (`False`).

    Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((2, 16, 16, 3))
    >>> tuple(RandomLensDistortion(0.2, seed=0)(images).shape)
    (2, 16, 16, 3)

    Reference:
        Brown, "Decentering Distortion of Lenses", Photogrammetric
        Engineering 1966 (the radial polynomial model).
    """

    def __init__(self, factor=0.2, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = check_number("factor", factor, 0, 0.3)

    def random_parameters(self, images):
        """`{"strengths": (B,)}` uniform in `[-factor, factor]`."""
        strengths = keras.random.uniform((ops.shape(images)[0],), -self.factor, self.factor,
                                         seed=self.seed_generator)
        return {"strengths": strengths}

    def transform(self, images, parameters):
        return lens_distortion(images, parameters["strengths"])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="kerasreg")
class Dequantize(_ImageAugmentation):
    """Add uniform noise below one quantization step to every pixel (training only).

    The lecture's "add noise to pixels (as a form of dequantization)": an
    image stored with `levels` grey levels per channel only takes the
    values `k / levels`; adding `U(0, 1 / levels)` noise spreads each value
    over its whole quantization bin, so the model never sees the same
    pixel values twice. Expects pixels scaled to [0, 1].

    Args:
        levels: quantization levels of the stored images, an integer >= 2.
            Defaults to `256` (8-bit images).
        seed: seed of the noise. Defaults to `None`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: one image `(H, W, C)` or a batch `(B, H, W, C)`.
        training: add noise (`True`, the default) or return the input (`False`).

    Example:
    >>> import numpy as np
    >>> noisy = keras.ops.convert_to_numpy(Dequantize(4, seed=0)(np.zeros((1, 8, 8, 1))))
    >>> bool(noisy.min() >= 0 and noisy.max() < 0.25)
    True

    Reference:
        Theis, van den Oord, Bethge, "A note on the evaluation of generative
        models", ICLR 2016 (uniform dequantization).
    """

    def __init__(self, levels=256, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.levels = check_number("levels", levels, 2, integer=True)

    def random_parameters(self, images):
        """`{"noise": images.shape}` uniform in `[0, 1 / levels)`."""
        return {"noise": keras.random.uniform(ops.shape(images), 0, 1 / self.levels,
                                              dtype=images.dtype, seed=self.seed_generator)}

    def transform(self, images, parameters):
        return images + parameters["noise"]

    def get_config(self):
        return {**super().get_config(), "levels": self.levels}


@keras.saving.register_keras_serializable(package="kerasreg")
class RandomPCALighting(_ImageAugmentation):
    """AlexNet's PCA lighting: shift each image's colours along the principal colour axes.

    Krizhevsky et al. alter the intensities of the RGB channels: the PCA of
    the 3 x 3 covariance of the training pixels' RGB values gives
    eigenvectors `p_k` and eigenvalues `lambda_k`, and every pixel of an
    image gets `[p_1, p_2, p_3] [alpha_1 lambda_1, alpha_2 lambda_2,
    alpha_3 lambda_3]^T` added, with `alpha_k ~ N(0, alpha_std)` drawn once
    per image: the whole image changes colour and brightness the way a
    change of illumination does, mostly along the first (brightness-like)
    axis. Call `adapt(training_images)` first, as with
    `keras.layers.Normalization`; the eigenvalues and eigenvectors (from
    `kerasreg.layers.pca`) are non-trainable weights, saved in `.keras`
    files (a loaded layer is adapted); calling it before `adapt` raises a
    `ValueError`, as `keras.utils.FeatureSpace` does. As in the paper the
    shift is proportional to the eigenvalues, which carry the square of the
    pixel unit: adapt on images in the range the layer will see.
    Photographs in [0, 1] have `lambda_1` around 0.1, so the default
    `alpha_std` moves pixels by about 0.01, a subtle change. Identity at
    inference.

    Args:
        alpha_std: standard deviation of the coefficients `alpha`, >= 0.
            Defaults to `0.1` (the paper's).
        seed: seed of the coefficients. Defaults to `None`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: one image `(H, W, C)` or a batch `(B, H, W, C)` with the
            channels of the adapted data.
        training: shift (`True`, the default) or return the input (`False`).

    Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32")
    >>> layer = RandomPCALighting(seed=0)
    >>> layer.adapt(images)
    >>> shifts = keras.ops.convert_to_numpy(layer(images)) - images
    >>> bool(np.allclose(shifts, shifts[:, :1, :1], atol=1e-6))  # one shift per image
    True

    Reference:
        Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep
        Convolutional Neural Networks", NeurIPS 2012, section 4.1.
    """

    def __init__(self, alpha_std=0.1, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.alpha_std = check_number("alpha_std", alpha_std, 0)
        self.is_adapted = False

    def build(self, input_shape):
        super().build(input_shape)
        channels = input_shape[-1]
        if channels is None:
            fail("input_shape", "an image shape with a known number of channels",
                 tuple(input_shape))
        # autocast=False: the shift is computed in float32 even under mixed precision.
        self.eigenvalues = self.add_weight(name="eigenvalues", shape=(channels,),
                                           initializer="zeros", trainable=False, autocast=False)
        self.eigenvectors = self.add_weight(name="eigenvectors", shape=(channels, channels),
                                            initializer="identity", trainable=False,
                                            autocast=False)

    def adapt(self, data):
        """Eigendecompose the colour covariance of the pixels of `data`.

        Args:
            data: images `(N, H, W, C)` or one image `(H, W, C)`, as a
                NumPy array or tensor, or an iterable of such batches (e.g.
                a batched `tf.data.Dataset` of `x` or `(x, y)`).
        """
        _, eigenvalues, eigenvectors = pca(_pixel_rows(data))
        if not self.built:
            self.build((None, None, None, len(eigenvalues)))
        elif self.eigenvalues.shape[0] != len(eigenvalues):
            fail("data.shape[-1]", f"{self.eigenvalues.shape[0]}, the number of channels the "
                 "layer was built for", len(eigenvalues))
        self.eigenvalues.assign(eigenvalues)
        self.eigenvectors.assign(eigenvectors)
        self.is_adapted = True

    def build_from_config(self, config):
        super().build_from_config(config)
        self.is_adapted = True  # being loaded: the saved eigenpairs come next

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self.is_adapted = True  # the saved eigenpairs

    def call(self, inputs, training=True):
        if not self.is_adapted:
            raise ValueError("RandomPCALighting must be adapted before it is called: run "
                             "`layer.adapt(training_images)` first.")
        _check_rank(self, inputs.shape)
        if inputs.shape[-1] != self.eigenvalues.shape[0]:
            fail("inputs.shape[-1]", f"{self.eigenvalues.shape[0]}, the number of channels "
                 "the layer was adapted on", inputs.shape[-1])
        return super().call(inputs, training=training)

    def random_parameters(self, images):
        """`{"alphas": (B, C)}` drawn from `N(0, alpha_std)`."""
        shape = (ops.shape(images)[0], self.eigenvalues.shape[0])
        return {"alphas": keras.random.normal(shape, stddev=self.alpha_std,
                                              seed=self.seed_generator)}

    def transform(self, images, parameters):
        return pca_lighting(images, parameters["alphas"], self.eigenvalues, self.eigenvectors)

    def get_config(self):
        return {**super().get_config(), "alpha_std": self.alpha_std}


# Keras' preprocessing layers run inside tf.data under every backend (they switch
# themselves to TensorFlow there); every other step is bridged (`_run_eagerly`).
_TF_DATA_NATIVE = (keras.layers.RandomFlip, keras.layers.RandomRotation,
                   keras.layers.RandomTranslation, keras.layers.RandomShear,
                   keras.layers.RandomZoom, keras.layers.RandomColorJitter,
                   keras.layers.RandomContrast, keras.layers.RandomBrightness,
                   keras.layers.RandAugment, keras.layers.RandomErasing)


@keras.saving.register_keras_serializable(package="kerasreg")
class AugmentationPipeline(keras.layers.Pipeline):
    """A `keras.layers.Pipeline` that checks the pixel range and runs in `tf.data` on any backend.

    Identical to `keras.layers.Pipeline` under the TensorFlow backend and
    inside models, with two additions. With a `value_range`, a call on
    concrete values (eager: NumPy arrays, eager tensors, PyTorch) raises a
    `ValueError` when the images leave that range, e.g. 0-255 pixels fed to
    a pipeline built for (0, 1), which Keras' colour steps would silently
    clip to white; symbolic calls (a `tf.data` map, a compiled `fit`) are
    not checked. And in a `tf.data` graph under JAX or PyTorch, a step that
    is not one of Keras' preprocessing layers is run eagerly on the backend
    through `tf.numpy_function`. Built by `kerasreg.augment.pipeline`,
    which lives here so that `import kerasreg` registers it for `.keras`
    loading.

    Args:
        layers: the steps, Keras layers applied in order.
        value_range: `(low, high)` pixel range the steps expect, or `None`
            for no check. Defaults to `None`.
        name: layer name. Defaults to `None`.

    Call arguments:
        inputs: one image or a batch.
        training: augment (`True`, the default) or not.

    Example:
    >>> import numpy as np
    >>> augment = AugmentationPipeline([keras.layers.RandomFlip()], value_range=(0, 1))
    >>> tuple(augment(np.zeros((2, 4, 4, 3), "float32")).shape)
    (2, 4, 4, 3)
    """

    def __init__(self, layers, value_range=None, name=None):
        if value_range is not None:
            value_range = check_value_range(value_range)
        super().__init__(layers, name=name)
        self.value_range = value_range

    def get_config(self):
        config = {**super().get_config(), "value_range": self.value_range}
        # JSON-normal (lists, not tuples): the config of a loaded pipeline is the same.
        return json.loads(json.dumps(config))

    def __call__(self, inputs, *args, **kwargs):
        # Checked before Layer.__call__, which would wrap the message in its own.
        if self.value_range is not None:
            _check_pixel_range(inputs, self.value_range)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, training=True, mask=None):
        for layer in self.layers:
            if _needs_bridge(layer, inputs):
                inputs = _run_eagerly(layer, inputs, training)
            else:
                inputs = layer(inputs, training=training)
        return inputs


def _check_pixel_range(inputs, value_range):
    """Raise when concrete `inputs` leave `value_range` (by more than float rounding)."""
    values = concrete_values(inputs)
    if values is None or values.size == 0:
        return
    low, high = value_range
    slack = 1e-3 * (high - low)
    smallest, largest = float(np.min(values)), float(np.max(values))
    if smallest < low - slack or largest > high + slack:
        fail("value_range", f"the pixel range of the images, which span [{smallest:g}, "
             f"{largest:g}] (rescale the images or build the pipeline with that "
             "value_range)", tuple(value_range))


def _needs_bridge(layer, inputs):
    """A non-Keras step inside a tf.data graph while the backend is not TensorFlow."""
    tf = sys.modules.get("tensorflow")
    return (keras.backend.backend() != "tensorflow" and tf is not None
            and not isinstance(layer, _TF_DATA_NATIVE) and tf.is_tensor(inputs)
            and not tf.executing_eagerly())


def _run_eagerly(layer, inputs, training):
    import tensorflow as tf

    def run(images):
        return ops.convert_to_numpy(layer(images, training=training))

    outputs = tf.numpy_function(run, [inputs], layer.compute_dtype, stateful=True)
    outputs.set_shape(layer.compute_output_shape(tuple(inputs.shape)))
    return outputs


def _is_pixels(size):
    return isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 1


def _is_fraction(size):
    return (isinstance(size, numbers.Real) and not isinstance(size, (bool, numbers.Integral))
            and 0 < size <= 1)


def _check_scale_range(scale_range):
    valid = (isinstance(scale_range, (tuple, list)) and len(scale_range) == 2
             and all(_is_pixels(length) for length in scale_range)
             and scale_range[0] <= scale_range[1])
    if not valid:
        fail("scale_range", "a pair (low, high) of integers with 1 <= low <= high",
             scale_range)


def _check_rank(layer, shape):
    if len(shape) not in (3, 4):
        fail_shape("inputs", f"one image (H, W, C) or a batch (B, H, W, C) for "
                   f"{type(layer).__name__}", shape)


def _pixel_rows(data, rows_per_block=1 << 20):
    """`(pixels, channels)` blocks of images: an array, a tensor or an iterable of batches."""
    for images in input_batches(data):
        pixels = np.asarray(ops.convert_to_numpy(images))
        if pixels.ndim not in (3, 4):
            fail("data.shape", "images (N, H, W, C) or one image (H, W, C)", pixels.shape)
        pixels = pixels.reshape(-1, pixels.shape[-1])
        for start in range(0, len(pixels), rows_per_block):
            yield pixels[start:start + rows_per_block]


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
