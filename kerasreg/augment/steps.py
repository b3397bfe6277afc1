"""The lecture's whole list of augmentations as named steps of one pipeline.

`pipeline(steps)` builds the steps (`STEPS`) from Keras' own layers where
Keras has them (flip, rotation, translation, shear, zoom, color jitter,
erasing, ...) and from `kerasreg.layers` for the rest (scale crops,
Cutout, lens distortion, dequantization, and RandAugment / TrivialAugment
with per-image operations; Keras' batch-wide RandAugment stays as
`keras_rand_augment`). The result is a `keras.layers.Pipeline`: map it
over a `tf.data.Dataset` (graph mode) or put it in a model.
"""

import inspect

import keras

from kerasreg._validation import check_number, check_value_range, fail
from kerasreg.layers.augmentation import Cutout, Dequantize, RandomLensDistortion, RandomScaleCrop
from kerasreg.layers.auto_augment import RandAugment, TrivialAugment
from kerasreg.layers.pipeline import AugmentationPipeline

# name: (layer class, default arguments). Keras' layers first, then kerasreg's.
STEPS = {
    "flip": (keras.layers.RandomFlip, {"mode": "horizontal"}),
    "rotation": (keras.layers.RandomRotation, {"factor": 0.05}),
    "translation": (keras.layers.RandomTranslation, {"height_factor": 0.1,
                                                     "width_factor": 0.1}),
    # A (low, high) pair: RandomShear(0.1) does not survive a .keras round trip in
    # Keras 3.15 (get_config writes (-0.1, 0.1), which __init__ rejects). The
    # layer draws the sign itself, so this is the same +-10% shear.
    "shear": (keras.layers.RandomShear, {"x_factor": (0.0, 0.1), "y_factor": (0.0, 0.1)}),
    "zoom": (keras.layers.RandomZoom, {"height_factor": 0.1}),
    "stretch": (keras.layers.RandomZoom, {"height_factor": 0.1, "width_factor": 0.1}),
    # Both ways around the identity. Keras' RandomSaturation multiplies the
    # saturation by f / (1 - f), the identity at f = 0.5: (0.4, 0.6) gives
    # x0.67 to x1.5 (a single 0.2 would be the range [0, 0.2], greying every
    # image). RandomContrast draws its factor in [1 - low, 1 + high] but
    # reads one number x as (0, x): only ever more contrast; (0.2, 0.2) is
    # x0.8 to x1.2. Brightness and hue already go both ways.
    "color_jitter": (keras.layers.RandomColorJitter, {
        "brightness_factor": 0.2, "contrast_factor": (0.2, 0.2),
        "saturation_factor": (0.4, 0.6), "hue_factor": 0.05}),
    "contrast": (keras.layers.RandomContrast, {"factor": (0.2, 0.2)}),
    "brightness": (keras.layers.RandomBrightness, {"factor": 0.2}),
    "keras_rand_augment": (keras.layers.RandAugment, {}),
    "erasing": (keras.layers.RandomErasing, {}),
    "noise": (keras.layers.GaussianNoise, {"stddev": 0.02}),
    "scale_crop": (RandomScaleCrop, {}),
    "cutout": (Cutout, {"size": 0.25}),
    "lens_distortion": (RandomLensDistortion, {}),
    "dequantize": (Dequantize, {}),
    "rand_augment": (RandAugment, {}),
    "trivial_augment": (TrivialAugment, {}),
}


def pipeline(steps, value_range=(0, 1), seed=None, name="augmentation"):
    """Build an augmentation from named steps, ready for `tf.data` or a model.

    The lecture's list (random crops and scales, color jitter, translation,
    rotation, stretching, shearing, lens distortion, pixel noise, Cutout,
    automatic augmentation) as one `keras.layers.Pipeline`, applied in the
    order given. Each step is a name of `STEPS` (with its default
    arguments), a `(name, arguments)` pair overriding some of them, or a
    Keras layer. Steps that take a `value_range` get this one, and then
    the pipeline checks it: an eager call on images outside it (0-255
    pixels for the default (0, 1)) raises a `ValueError` rather than let
    the colour steps clip them (calls inside `tf.data` or a compiled
    model are not checked). Step `i` is seeded with `seed + i`, unless
    its arguments give its own `seed`.

    Map the result over a batched `tf.data.Dataset` (graph mode, parallel
    calls) or put it first in a model (then it runs on the accelerator and
    only in training). In `tf.data` under the JAX or PyTorch backend,
    Keras' own steps switch to TensorFlow by themselves; the other steps
    (kerasreg's, `"noise"`, layers you pass) are run eagerly through
    `tf.numpy_function`, which works but holds the GIL: prefer the
    TensorFlow backend, or the model, for those.

    Args:
        steps: a list of step names, `(name, arguments)` pairs or layers.
        value_range: pixel range of the images, passed to the steps that
            need it. Defaults to `(0, 1)`.
        seed: base seed of the steps. Defaults to `None`.
        name: name of the pipeline layer. Defaults to `"augmentation"`.

    Returns:
        An `AugmentationPipeline` (a `keras.layers.Pipeline`).

    Example:
    >>> import numpy as np
    >>> augment = pipeline(["flip", ("rotation", {"factor": 0.1}),
    ...                     ("cutout", {"size": 4})], seed=0)
    >>> [type(layer).__name__ for layer in augment.layers]
    ['RandomFlip', 'RandomRotation', 'Cutout']
    >>> tuple(augment(np.zeros((2, 16, 16, 3), "float32")).shape)
    (2, 16, 16, 3)
    """
    if not isinstance(steps, (list, tuple)) or not steps:
        fail("steps", "a non-empty list of step names, (name, arguments) pairs or layers",
             steps)
    check_value_range(value_range)
    if seed is not None:
        check_number("seed", seed, 0, integer=True)
    layers = [_make_step(step, value_range, None if seed is None else seed + index)
              for index, step in enumerate(steps)]
    ranged = any("value_range" in inspect.signature(type(layer)).parameters
                 for layer in layers)
    return AugmentationPipeline(layers, value_range=value_range if ranged else None,
                                name=name)


def _make_step(step, value_range, seed):
    if isinstance(step, keras.layers.Layer):
        return step
    name, arguments = (step, {}) if isinstance(step, str) else _step_pair(step)
    if name not in STEPS:
        fail("steps", "names from kerasreg.augment.STEPS: " + ", ".join(STEPS), name)
    layer_class, defaults = STEPS[name]
    arguments = {**defaults, "seed": seed, **arguments}  # a step's own seed wins
    if "value_range" in inspect.signature(layer_class).parameters:
        arguments.setdefault("value_range", value_range)
    return layer_class(**arguments)


def _step_pair(step):
    if (not isinstance(step, (tuple, list)) or len(step) != 2 or not isinstance(step[0], str)
            or not isinstance(step[1], dict)):
        fail("steps", "made of step names, (name, arguments) pairs or Keras layers", step)
    return step
