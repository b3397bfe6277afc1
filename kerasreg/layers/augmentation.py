"""Image augmentation layers for what Keras lacks: scale crops, Cutout, lens
distortion, dequantization noise and AlexNet's PCA lighting.

Each layer draws its random parameters in one method (`random_parameters`)
and applies them with a deterministic function of
`kerasreg.layers.augmentation_ops` (`scale_crop`, `cutout`,
`lens_distortion`, `pca_lighting`), so a test or a lab cell can pass fixed
parameters and see exactly what the layer does. Like Keras' augmentation
layers (`keras.layers.RandomFlip`, ...), they augment unless called with
`training=False` (which `fit` does not do and `predict` / `evaluate` do),
accept one image `(H, W, C)` or a batch `(B, H, W, C)`, integer or float
pixels, and return the layer's compute dtype. `RandomPCALighting` learns
its colour axes in `adapt()`, as `keras.layers.Normalization` does.

Everything is `keras.ops`: the layers run in a model on any backend and in
`tf.data` (under JAX or PyTorch through `kerasreg.layers.pipeline`).
"""

import numbers

import keras
import numpy as np
from keras import ops

from kerasreg._batches import input_batches
from kerasreg._validation import check_number, fail, fail_shape
from kerasreg.layers.augmentation_ops import (cutout, fill_boxes, lens_distortion,  # noqa: F401
                                              pca_lighting, resized_shape, scale_crop)
from kerasreg.layers.pipeline import AugmentationPipeline  # noqa: F401 (it lived here)
from kerasreg.layers.whitening import pca


class _ImageAugmentation(keras.layers.Layer):
    """Shared shell: cast, accept one image or a batch, draw, then apply."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self._check_rank(input_shape)

    def _check_rank(self, shape):
        if len(shape) not in (3, 4):
            fail_shape("inputs", "one image (H, W, C) or a batch (B, H, W, C) for "
                       f"{type(self).__name__}", shape)

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
        self._check_rank(inputs.shape)
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


def _is_pixels(size):
    return isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 1


def _is_fraction(size):
    return (isinstance(size, numbers.Real) and not isinstance(size, (bool, numbers.Integral))
            and 0 < size <= 1)


def _check_scale_range(scale_range):
    if not (isinstance(scale_range, (tuple, list)) and len(scale_range) == 2
            and all(_is_pixels(length) for length in scale_range)
            and scale_range[0] <= scale_range[1]):
        fail("scale_range", "a pair (low, high) of integers with 1 <= low <= high", scale_range)


def _pixel_rows(data, rows_per_block=1 << 20):
    """`(pixels, channels)` blocks of images: an array, a tensor or an iterable of batches."""
    for images in input_batches(data):
        pixels = np.asarray(ops.convert_to_numpy(images))
        if pixels.ndim not in (3, 4):
            fail("data.shape", "images (N, H, W, C) or one image (H, W, C)", pixels.shape)
        pixels = pixels.reshape(-1, pixels.shape[-1])
        for start in range(0, len(pixels), rows_per_block):
            yield pixels[start:start + rows_per_block]
