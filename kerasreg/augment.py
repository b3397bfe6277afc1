"""Augmentation pipelines, batch mixing (mixup, CutMix) and the label check.

- `pipeline(steps)`: the lecture's whole list of augmentations as named
  steps (`STEPS`), built from Keras' own layers where Keras has them (flip,
  rotation, translation, shear, zoom, color jitter, RandAugment, erasing,
  ...) and from `kerasreg.layers` for the rest (scale crops, Cutout, lens
  distortion, dequantization). The result is a `keras.layers.Pipeline`:
  map it over a `tf.data.Dataset` (graph mode) or put it in a model.
- `mix_batch(images, labels, method)`: mixup and CutMix on a batch, with
  integer or one-hot labels; `mixup` and `cutmix` are the same with fixed
  parameters.
- `label_preservation(images, labels, transform)`: which classes a
  transform maps into each other (the lecture's 6/9 and b/d warning).
"""

import dataclasses
import inspect
import json
import sys

import keras
import numpy as np
from keras import ops

from kerasreg._validation import check_choice, check_number, fail
from kerasreg.layers.augmentation import (Cutout, Dequantize, RandomLensDistortion,
                                          RandomScaleCrop, fill_boxes)

METHODS = ("mixup", "cutmix")
DEFAULT_ALPHA = {"mixup": 0.2, "cutmix": 1.0}  # as keras.layers.MixUp / CutMix

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
    "color_jitter": (keras.layers.RandomColorJitter, {
        "brightness_factor": 0.2, "contrast_factor": 0.2, "saturation_factor": 0.2,
        "hue_factor": 0.05}),
    "contrast": (keras.layers.RandomContrast, {"factor": 0.2}),
    "brightness": (keras.layers.RandomBrightness, {"factor": 0.2}),
    "rand_augment": (keras.layers.RandAugment, {}),
    "erasing": (keras.layers.RandomErasing, {}),
    "noise": (keras.layers.GaussianNoise, {"stddev": 0.02}),
    "scale_crop": (RandomScaleCrop, {}),
    "cutout": (Cutout, {"size": 0.25}),
    "lens_distortion": (RandomLensDistortion, {}),
    "dequantize": (Dequantize, {}),
}
# Keras' preprocessing layers run inside tf.data under every backend (they switch
# themselves to TensorFlow there); every other step is bridged (`_run_eagerly`).
_TF_DATA_NATIVE = (keras.layers.RandomFlip, keras.layers.RandomRotation,
                   keras.layers.RandomTranslation, keras.layers.RandomShear,
                   keras.layers.RandomZoom, keras.layers.RandomColorJitter,
                   keras.layers.RandomContrast, keras.layers.RandomBrightness,
                   keras.layers.RandAugment, keras.layers.RandomErasing)


def pipeline(steps, value_range=(0, 1), seed=None, name="augmentation"):
    """Build an augmentation from named steps, ready for `tf.data` or a model.

    The lecture's list (random crops and scales, color jitter, translation,
    rotation, stretching, shearing, lens distortion, pixel noise, Cutout,
    automatic augmentation) as one `keras.layers.Pipeline`, applied in the
    order given. Each step is a name of `STEPS` (with its default
    arguments), a `(name, arguments)` pair overriding some of them, or a
    Keras layer. Steps that take a `value_range` get this one. Step `i` is
    seeded with `seed + i`.

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
    if seed is not None:
        check_number("seed", seed, 0, integer=True)
    layers = [_make_step(step, value_range, None if seed is None else seed + index)
              for index, step in enumerate(steps)]
    return AugmentationPipeline(layers, name=name)


@keras.saving.register_keras_serializable(package="kerasreg")
class AugmentationPipeline(keras.layers.Pipeline):
    """A `keras.layers.Pipeline` that also runs non-Keras steps in `tf.data` on any backend.

    Identical to `keras.layers.Pipeline` under the TensorFlow backend and
    inside models. What it adds: in a `tf.data` graph under JAX or
    PyTorch, a step that is not one of Keras' preprocessing layers is run
    eagerly on the backend through `tf.numpy_function`. Built by
    `pipeline`.

    Args:
        layers: the steps, Keras layers applied in order.
        name: layer name. Defaults to `None`.

    Call arguments:
        inputs: one image or a batch.
        training: augment (`True`, the default) or not.
    """

    def get_config(self):
        # JSON-normal (lists, not tuples): the config of a loaded pipeline is the same.
        return json.loads(json.dumps(super().get_config()))

    def call(self, inputs, training=True, mask=None):
        for layer in self.layers:
            if _needs_bridge(layer, inputs):
                inputs = _run_eagerly(layer, inputs, training)
            else:
                inputs = layer(inputs, training=training)
        return inputs


def mix_batch(images, labels, method="mixup", alpha=None, num_classes=None, seed=None):
    """Mix each example of a batch with a random partner: mixup or CutMix.

    Every example `i` is paired with example `j = permutation[i]` of a
    random permutation and gets its own `lambda ~ Beta(alpha, alpha)`.
    mixup: `x = lambda x_i + (1 - lambda) x_j`, labels mixed with the same
    `lambda`. CutMix: a box of area about `(1 - lambda) H W` centred
    anywhere in the image (clipped at the border) is pasted from `x_j`, and
    the labels are weighted by the pasted fraction of pixels actually
    copied. Soft labels always sum to 1.

    `keras.layers.MixUp` / `keras.layers.CutMix` do the same on
    `{"images", "labels"}` dicts with one-hot labels; this function takes
    the `(images, labels)` pair of a `tf.data` batch, integer labels, and
    exposes the parameters (`mixup`, `cutmix`).

    Args:
        images: `(B, H, W, C)` batch.
        labels: `(B,)` class indices or `(B, K)` one-hot / soft labels.
        method: `"mixup"` or `"cutmix"`. Defaults to `"mixup"`.
        alpha: Beta parameter, > 0. Defaults to 0.2 for mixup and 1.0 for
            CutMix (as Keras' layers).
        num_classes: number of classes; required for class-index labels.
            Defaults to `None`.
        seed: an int (the same draws on every call), a
            `keras.random.SeedGenerator` (new draws on every call: use one in
            a `tf.data` map), or `None`. Defaults to `None`.

    Returns:
        `(images, soft_labels)`: float32 tensors of shapes `(B, H, W, C)`
        and `(B, K)`.

    Example:
    >>> import numpy as np
    >>> images = np.zeros((4, 8, 8, 3), "float32")
    >>> mixed, soft = mix_batch(images, np.array([0, 1, 2, 3]), "cutmix",
    ...                         num_classes=4, seed=0)
    >>> tuple(soft.shape), bool(np.allclose(ops.convert_to_numpy(soft).sum(axis=1), 1))
    ((4, 4), True)
    """
    check_choice("method", method, METHODS)
    alpha = DEFAULT_ALPHA[method] if alpha is None else alpha
    check_number("alpha", alpha, 0, low_open=True)
    images = ops.cast(images, "float32")
    labels = soft_labels(labels, num_classes)
    if method == "mixup":
        return mixup(images, labels, **mixup_parameters(images, alpha, seed))
    return cutmix(images, labels, **cutmix_parameters(images, alpha, seed))


def mixup_parameters(images, alpha, seed=None):
    """Random `{"lambdas": (B,), "permutation": (B,)}` for `mixup`."""
    lambda_seed, permutation_seed = _seeds(seed, 2)
    batch = ops.shape(images)[0]
    return {"lambdas": keras.random.beta((batch,), alpha, alpha, seed=lambda_seed),
            "permutation": _permutation(batch, permutation_seed)}


def cutmix_parameters(images, alpha, seed=None):
    """Random `{"corners": (B, 2), "sizes": (B, 2), "permutation": (B,)}` for `cutmix`.

    The box of example `i` is `round(sqrt(1 - lambda_i) * (H, W))` with
    `lambda_i ~ Beta(alpha, alpha)`, its centre uniform over the image.
    """
    lambda_seed, center_seed, permutation_seed = _seeds(seed, 3)
    batch, height, width = ops.shape(images)[:3]
    extent = ops.cast(ops.stack([height, width]), "float32")
    lambdas = keras.random.beta((batch,), alpha, alpha, seed=lambda_seed)
    sizes = ops.cast(ops.round(ops.sqrt(1 - lambdas)[:, None] * extent), "int32")
    centers = ops.cast(ops.floor(keras.random.uniform((batch, 2), seed=center_seed) * extent),
                       "int32")
    return {"corners": centers - sizes // 2, "sizes": sizes,
            "permutation": _permutation(batch, permutation_seed)}


def mixup(images, labels, lambdas, permutation):
    """mixup with fixed parameters: `lambda x_i + (1 - lambda) x_j`, same for labels.

    Args:
        images: `(B, H, W, C)` float batch.
        labels: `(B, K)` soft labels.
        lambdas: `(B,)` weights of each example's own image and label.
        permutation: `(B,)` partner index `j` of each example.

    Returns:
        `(images, labels)` mixed.

    Example:
    >>> import numpy as np
    >>> x, y = np.array([[0.0], [1.0]]), np.eye(2)
    >>> mixed_x, mixed_y = mixup(x, y, lambdas=[0.75, 0.75], permutation=[1, 0])
    >>> ops.convert_to_numpy(mixed_x).ravel().tolist(), ops.convert_to_numpy(mixed_y)[0].tolist()
    ([0.25, 0.75], [0.75, 0.25])
    """
    images, labels = ops.convert_to_tensor(images), ops.convert_to_tensor(labels)
    return (_blend(images, ops.take(images, permutation, axis=0), lambdas),
            _blend(labels, ops.take(labels, permutation, axis=0), lambdas))


def cutmix(images, labels, corners, sizes, permutation):
    """CutMix with fixed boxes: paste each partner's box, weight labels by its area.

    The box of example `i` covers rows `corners[i, 0]` to
    `corners[i, 0] + sizes[i, 0] - 1` and likewise columns, clipped to the
    image. The label weight of the partner is the fraction of pixels
    actually pasted (after clipping), so labels match the picture.

    Args:
        images: `(B, H, W, C)` float batch.
        labels: `(B, K)` soft labels.
        corners: `(B, 2)` integer (row, column) of each box's top-left corner.
        sizes: `(B, 2)` integer (height, width) of each box.
        permutation: `(B,)` partner index of each example.

    Returns:
        `(images, labels)` mixed.

    Example:
    >>> import numpy as np
    >>> x, y = np.stack([np.zeros((4, 4, 1)), np.ones((4, 4, 1))]), np.eye(2)
    >>> mixed_x, mixed_y = cutmix(x, y, corners=[[-1, -1], [0, 0]], sizes=[[2, 2], [4, 4]],
    ...                           permutation=[1, 0])
    >>> ops.convert_to_numpy(mixed_y).tolist()
    [[0.9375, 0.0625], [1.0, 0.0]]
    """
    images, labels = ops.convert_to_tensor(images), ops.convert_to_tensor(labels)
    corners, sizes = ops.cast(corners, "int32"), ops.cast(sizes, "int32")
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    # Rows and columns of each box that lie inside the image, after clipping.
    rows = ops.clip(corners[:, 0] + sizes[:, 0], 0, height) - ops.clip(corners[:, 0], 0, height)
    cols = ops.clip(corners[:, 1] + sizes[:, 1], 0, width) - ops.clip(corners[:, 1], 0, width)
    pasted = ops.cast(rows * cols, labels.dtype) / ops.cast(height * width, labels.dtype)
    images = fill_boxes(images, corners[:, None], sizes[:, None],
                        ops.take(images, permutation, axis=0))
    return images, _blend(labels, ops.take(labels, permutation, axis=0), 1 - pasted)


def soft_labels(labels, num_classes=None):
    """Float32 `(B, K)` labels from class indices `(B,)` / `(B, 1)` or one-hot `(B, K)`.

    Args:
        labels: class indices or one-hot / soft labels.
        num_classes: `K`; required for class indices. Defaults to `None`.

    Returns:
        `(B, K)` float32.

    Example:
    >>> ops.convert_to_numpy(soft_labels([2, 0], num_classes=3)).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == 2 and labels.shape[-1] != 1:
        if num_classes is not None and num_classes != labels.shape[-1]:
            fail("num_classes", f"{labels.shape[-1]} (the width of the one-hot labels)",
                 num_classes)
        return ops.cast(labels, "float32")
    if num_classes is None:
        fail("num_classes", "an integer >= 2 when labels are class indices", num_classes)
    check_number("num_classes", num_classes, 2, integer=True)
    indices = ops.reshape(ops.cast(labels, "int32"), (-1,))
    return ops.one_hot(indices, num_classes, dtype="float32")


@dataclasses.dataclass
class LabelPreservation:
    """Where a transform sends each class, as seen by a classifier of the originals.

    Attributes:
        matrix: `(C, C)` array; row `a` is the distribution of predicted
            classes of the transformed images of class `a`.
        accuracy: the classifier's accuracy on the untransformed images.
        preserved: classes whose transformed images are still mostly
            predicted as themselves.
        mapped: `{a: b}` for the other classes: the class `b != a` their
            transformed images are most often predicted as.
        swapped: pairs `(a, b)`, `a < b`, that the transform maps into each
            other (`mapped[a] == b` and `mapped[b] == a`): the transform does
            not preserve these labels.
    """

    matrix: np.ndarray
    accuracy: float
    preserved: list
    mapped: dict
    swapped: list

    def __str__(self):
        lines = [f"classifier accuracy on the originals: {self.accuracy:.2f}",
                 f"preserved: {self.preserved}"]
        lines += [f"{a} -> {b} ({self.matrix[a, b]:.0%})" for a, b in self.mapped.items()]
        lines.append(f"mapped into each other: {self.swapped}")
        return "\n".join(lines)


def label_preservation(images, labels, transform, predict=None):
    """Which classes a transform maps into each other (is it label preserving?).

    The lecture warns that an augmentation must preserve the label: a
    180-degree rotation turns a '6' into a '9' (and 'b' into 'q'). This
    check transforms every image, classifies the results with a classifier
    of the untransformed images, and reports where each class lands. By
    default the classifier is the nearest class mean of the untransformed
    `images` (no training needed); pass `predict` to use your own model.

    Args:
        images: `(N, ...)` images (or any feature arrays).
        labels: `(N,)` integer classes.
        transform: callable mapping a batch of images to transformed images
            (e.g. `lambda x: np.rot90(x, 2, axes=(1, 2))`, or a Keras layer).
        predict: callable mapping images to class scores `(N, C)` or class
            indices `(N,)`. Defaults to the nearest class mean.

    Returns:
        A `LabelPreservation`.

    Example:
    >>> from kerasreg.datasets import load_digits
    >>> (x, y), _ = load_digits()
    >>> check = label_preservation(x, y, lambda images: np.rot90(images, 2, axes=(1, 2)))
    >>> check.swapped
    [(6, 9)]
    >>> 0 in check.preserved and 8 in check.preserved
    True
    """
    images = np.asarray(images, "float32")
    labels = np.asarray(labels).astype("int64").ravel()
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"`labels` must hold one integer class per image ({len(images)} "
                         f"images). Received: labels of shape {labels.shape}")
    num_classes = int(labels.max()) + 1
    predict = predict or _nearest_class_mean(images, labels, num_classes)
    accuracy = float(np.mean(_classes(predict(images)) == labels))
    predicted = _classes(predict(np.asarray(ops.convert_to_numpy(transform(images)))))
    matrix = np.zeros((num_classes, num_classes))
    np.add.at(matrix, (labels, predicted), 1)
    matrix /= np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    target = matrix.argmax(axis=1)
    mapped = {a: int(b) for a, b in enumerate(target) if b != a}
    return LabelPreservation(
        matrix=matrix, accuracy=accuracy,
        preserved=[a for a in range(num_classes) if target[a] == a], mapped=mapped,
        swapped=[(a, b) for a, b in mapped.items() if a < b and mapped.get(b) == a])


def _make_step(step, value_range, seed):
    if isinstance(step, keras.layers.Layer):
        return step
    name, arguments = (step, {}) if isinstance(step, str) else _step_pair(step)
    if name not in STEPS:
        fail("steps", "names from kerasreg.augment.STEPS: " + ", ".join(STEPS), name)
    layer_class, defaults = STEPS[name]
    arguments = {**defaults, **arguments, "seed": seed}
    if "value_range" in inspect.signature(layer_class).parameters:
        arguments.setdefault("value_range", value_range)
    return layer_class(**arguments)


def _step_pair(step):
    if (not isinstance(step, (tuple, list)) or len(step) != 2 or not isinstance(step[0], str)
            or not isinstance(step[1], dict)):
        fail("steps", "made of step names, (name, arguments) pairs or Keras layers", step)
    return step


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


def _seeds(seed, count):
    """Seeds for `count` draws: a generator (or None) serves all; an int gives seed, seed+1..."""
    if isinstance(seed, int) and not isinstance(seed, bool):
        return [seed + index for index in range(count)]
    return [seed] * count


def _permutation(batch, seed):
    return keras.random.shuffle(ops.arange(batch, dtype="int32"), seed=seed)


def _blend(own, partner, weights):
    weights = ops.reshape(ops.cast(weights, own.dtype), (-1,) + (1,) * (len(own.shape) - 1))
    return partner + (own - partner) * weights


def _nearest_class_mean(images, labels, num_classes):
    flat = images.reshape(len(images), -1)
    means = np.stack([flat[labels == c].mean(axis=0) for c in range(num_classes)])

    def predict(batch):
        batch = np.asarray(batch, "float32").reshape(len(batch), -1)
        # -|x - m|^2 up to the per-row constant |x|^2.
        return 2 * batch @ means.T - (means ** 2).sum(axis=1)

    return predict


def _classes(predictions):
    predictions = np.asarray(ops.convert_to_numpy(predictions))
    return predictions.argmax(axis=-1) if predictions.ndim == 2 else predictions.astype(int)
