"""Automatic augmentation: RandAugment and TrivialAugment, vectorized over the batch.

The lecture's "methods to *automatically* augment training data": a list
of 14 simple operations (`kerasreg.layers.image_ops.OPERATIONS`) from
which each image draws its own. `RandAugment` applies `num_ops` of them
per image at one global magnitude; `TrivialAugment` applies one per image
at a magnitude drawn uniformly per image. Magnitudes follow torchvision's
31 bins (`magnitude` from 0 to 30), and the signed operations (shears,
translations, rotation, the four enhancements) get a random sign per
image, as in torchvision.

`random_parameters` draws every image's operations and arguments in one
place; `auto_augment` applies given ones deterministically (a test or a
lab cell can pass its own). The whole batch goes through each operation
slot at once (`image_ops.apply_on_levels`): no loop over the images.
"""

import keras
from keras import ops

from kerasreg._validation import (check_images, check_number, check_one_per_image,
                                  check_value_range)
from kerasreg.layers.augmentation import _ImageAugmentation
from kerasreg.layers.image_ops import OPERATIONS, apply_on_levels, from_levels, to_levels

BINS = 31  # torchvision's num_magnitude_bins: magnitudes 0 to 30
# Argument at the top bin of each signed or scaled operation, per space (torchvision's
# RandAugment and TrivialAugmentWide). Translations: a fraction of the side, or pixels.
_SPACES = {
    "rand_augment": {"shear": 0.3, "translate_fraction": 150 / 331, "translate_pixels": 0.0,
                     "rotate": 30.0, "enhance": 0.9, "posterize_drop": 4},
    "trivial_augment_wide": {"shear": 0.99, "translate_fraction": 0.0,
                             "translate_pixels": 32.0, "rotate": 135.0, "enhance": 0.99,
                             "posterize_drop": 6},
}


def auto_augment(images, operations, magnitudes, value_range=(0, 1)):
    """Apply each image's operations in order: `operations[i, k]` with `magnitudes[i, k]`.

    The deterministic half of `RandAugment` and `TrivialAugment`: the images
    are scaled from `value_range` to 8-bit levels (values outside are
    clipped), every column `k` of operations is applied to the whole batch
    by `image_ops.apply_on_levels`, and the result is scaled back. Outputs
    stay inside `value_range` and lie on its 256 levels (except after a
    final colour or sharpness blend), as the 8-bit images of PIL and
    torchvision.

    Args:
        images: `(B, H, W, C)` images in `value_range`.
        operations: `(B, num_ops)` integer indices into `image_ops.OPERATIONS`.
        magnitudes: `(B, num_ops)` the operations' arguments (see
            `kerasreg.layers.image_ops`).
        value_range: `(low, high)` pixel range. Defaults to `(0, 1)`.

    Returns:
        float32 `(B, H, W, C)` in `value_range`.

    Example:
    >>> import numpy as np
    >>> images = np.full((1, 4, 4, 3), 200.0, "float32")
    >>> out = auto_augment(images, [[OPERATIONS.index("solarize"),
    ...                              OPERATIONS.index("brightness")]], [[0.5, 1.5]],
    ...                    value_range=(0, 255))
    >>> float(keras.ops.convert_to_numpy(out)[0, 0, 0, 0])  # 255 - 200, times 1.5
    82.0
    """
    check_images(images)
    check_one_per_image("operations", operations, images)
    check_one_per_image("magnitudes", magnitudes, images)
    levels = to_levels(ops.cast(images, "float32"), value_range)
    operations = ops.cast(operations, "int32")
    magnitudes = ops.cast(magnitudes, "float32")
    slots = operations.shape[1]
    for slot in range(slots):
        levels = apply_on_levels(levels, operations[:, slot], magnitudes[:, slot],
                                 keep_levels=slot < slots - 1)
    return from_levels(levels, value_range)


def operation_arguments(operations, bins, signs, height, width, space="rand_augment"):
    """The argument of each operation at magnitude bin `bins` (0 to 30), as torchvision.

    Args:
        operations: integer indices into `image_ops.OPERATIONS`.
        bins: magnitudes, same shape, on torchvision's 0-30 scale.
        signs: +1 or -1, same shape (used by the signed operations).
        height: image height (RandAugment's vertical translation).
        width: image width (RandAugment's horizontal translation).
        space: `"rand_augment"` or `"trivial_augment_wide"`. Defaults to
            `"rand_augment"`.

    Returns:
        float32 arguments for `auto_augment`, same shape as `operations`.

    Example:
    >>> names = ["rotate", "brightness", "posterize", "solarize"]
    >>> arguments = operation_arguments([OPERATIONS.index(n) for n in names], [9] * 4,
    ...                                 [-1, 1, 1, 1], 224, 224)
    >>> [round(float(a), 3) for a in keras.ops.convert_to_numpy(arguments)]
    [-9.0, 1.27, 7.0, 0.7]
    """
    top = _SPACES[space]
    operations = ops.cast(operations, "int32")
    fraction = ops.cast(bins, "float32") / (BINS - 1)
    signed = fraction * ops.cast(signs, "float32")
    height, width = ops.cast(height, "float32"), ops.cast(width, "float32")

    def translation(side):
        return ops.trunc(signed * (top["translate_fraction"] * side + top["translate_pixels"]))

    per_operation = {
        "shear_x": signed * top["shear"], "shear_y": signed * top["shear"],
        "translate_x": translation(width), "translate_y": translation(height),
        "rotate": signed * top["rotate"],
        "brightness": 1 + signed * top["enhance"], "color": 1 + signed * top["enhance"],
        "contrast": 1 + signed * top["enhance"], "sharpness": 1 + signed * top["enhance"],
        "posterize": 8 - ops.round(fraction * top["posterize_drop"]),
        "solarize": 1 - fraction,
    }
    arguments = ops.zeros_like(fraction)
    for name, value in per_operation.items():
        arguments = ops.where(ops.equal(operations, OPERATIONS.index(name)), value, arguments)
    return arguments


class _AutoAugment(_ImageAugmentation):
    """Shared shell: value range, the draw of operations and signs, the apply."""

    space = None

    def __init__(self, value_range=(0, 1), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.value_range = check_value_range(value_range)

    def draw(self, images, num_ops):
        """`(operations, signs, uniforms)`, each `(B, num_ops)`, from one uniform draw."""
        batch = ops.shape(images)[0]
        draws = keras.random.uniform((batch, num_ops, 3), seed=self.seed_generator)
        operations = ops.minimum(ops.cast(draws[..., 0] * len(OPERATIONS), "int32"),
                                 len(OPERATIONS) - 1)
        signs = ops.where(draws[..., 1] < 0.5, -1.0, 1.0)
        return operations, signs, draws[..., 2]

    def arguments(self, images, operations, bins, signs):
        height, width = ops.shape(images)[1], ops.shape(images)[2]
        return operation_arguments(operations, bins, signs, height, width, self.space)

    def transform(self, images, parameters):
        out = auto_augment(images, parameters["operations"], parameters["magnitudes"],
                           self.value_range)
        return ops.cast(out, images.dtype)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


@keras.saving.register_keras_serializable(package="kerasreg")
class RandAugment(_AutoAugment):
    """RandAugment: `num_ops` random operations per image, at one magnitude.

    Cubuk et al. replace AutoAugment's learned policy by two numbers: each
    image gets `num_ops` operations drawn uniformly (with repetition) from
    the 14 of `image_ops.OPERATIONS`, applied in order, all at `magnitude`
    on torchvision's 0-30 scale (shears up to 0.3, translations up to
    150/331 of the side, rotations up to 30 degrees, enhancement factors
    1 +- 0.9, posterize down to 4 bits, solarize threshold from 1 down to
    0); the signed operations get a random sign per image. Unlike
    `keras.layers.RandAugment`, which draws the operations once per batch
    and runs every operation on every image, each image has its own
    operations and the batch is transformed in one pass per slot. Identity
    at inference.

    Args:
        num_ops: operations per image, an integer >= 0. Defaults to `2`.
        magnitude: strength on torchvision's scale, a number in [0, 30]
            (integers are torchvision's bins). Defaults to `9`.
        value_range: `(low, high)` pixel range of the images; outputs stay
            inside it. Defaults to `(0, 1)`.
        seed: seed of the draws. Defaults to `None`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: one image `(H, W, C)` or a batch `(B, H, W, C)`.
        training: augment (`True`, the default) or return the input (`False`).

    Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((4, 32, 32, 3)).astype("float32")
    >>> out = keras.ops.convert_to_numpy(RandAugment(seed=0)(images))
    >>> out.shape, bool(out.min() >= 0 and out.max() <= 1)
    ((4, 32, 32, 3), True)

    Reference:
        Cubuk, Zoph, Shlens, Le, "RandAugment: Practical automated data
        augmentation with a reduced search space", NeurIPS 2020,
        https://arxiv.org/abs/1909.13719
    """

    space = "rand_augment"

    def __init__(self, num_ops=2, magnitude=9, value_range=(0, 1), seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        self.num_ops = check_number("num_ops", num_ops, 0, integer=True)
        self.magnitude = check_number("magnitude", magnitude, 0, BINS - 1)

    def random_parameters(self, images):
        """`{"operations": (B, num_ops) int32, "magnitudes": (B, num_ops) float32}`."""
        operations, signs, _ = self.draw(images, self.num_ops)
        bins = ops.full(ops.shape(signs), self.magnitude, "float32")
        return {"operations": operations,
                "magnitudes": self.arguments(images, operations, bins, signs)}

    def transform(self, images, parameters):
        return images if self.num_ops == 0 else super().transform(images, parameters)

    def get_config(self):
        return {**super().get_config(), "num_ops": self.num_ops, "magnitude": self.magnitude}


@keras.saving.register_keras_serializable(package="kerasreg")
class TrivialAugment(_AutoAugment):
    """TrivialAugment (wide): one random operation per image at a random magnitude.

    Mueller and Hutter's parameter-free policy: each image gets one
    operation drawn uniformly from the 14 of `image_ops.OPERATIONS` and a
    magnitude bin drawn uniformly from torchvision's 31, in the "wide"
    space of `torchvision.transforms.TrivialAugmentWide` (shears up to
    0.99, translations up to 32 pixels, rotations up to 135 degrees,
    enhancement factors 1 +- 0.99, posterize down to 2 bits, solarize
    threshold from 1 down to 0); the signed operations get a random sign.
    Identity at inference.

    Args:
        value_range: `(low, high)` pixel range of the images; outputs stay
            inside it. Defaults to `(0, 1)`.
        seed: seed of the draws. Defaults to `None`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: one image `(H, W, C)` or a batch `(B, H, W, C)`.
        training: augment (`True`, the default) or return the input (`False`).

    Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((4, 32, 32, 3)).astype("float32")
    >>> tuple(TrivialAugment(seed=0)(images).shape)
    (4, 32, 32, 3)

    Reference:
        Mueller, Hutter, "TrivialAugment: Tuning-free Yet State-of-the-Art
        Data Augmentation", ICCV 2021, https://arxiv.org/abs/2103.10158
    """

    space = "trivial_augment_wide"

    def random_parameters(self, images):
        """`{"operations": (B, 1) int32, "magnitudes": (B, 1) float32}`."""
        operations, signs, uniforms = self.draw(images, 1)
        bins = ops.minimum(ops.floor(uniforms * BINS), BINS - 1)
        return {"operations": operations,
                "magnitudes": self.arguments(images, operations, bins, signs)}
