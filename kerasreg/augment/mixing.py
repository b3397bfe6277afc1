"""Batch mixing: mixup, CutMix and timm's random switch of the two, with soft labels.

`mix_batch(images, labels, method)` mixes a batch, with integer or one-hot
labels and timm's options (per-example / per-pair / per-batch draws,
mixing probability, area-corrected CutMix labels, label smoothing);
`mix_parameters` draws the parameters, and `mixup`, `cutmix` and `mix`
apply fixed ones; `soft_labels` turns class indices into one-hot rows.
"""

import numbers

import keras
import numpy as np
from keras import ops

from kerasreg._validation import (check_bool, check_choice, check_images, check_number,
                                  check_one_per_image, check_values, concrete_values, fail)
from kerasreg.layers.augmentation_ops import fill_boxes

METHODS = ("mixup", "cutmix", "switch")
MODES = ("example", "pair", "batch")
DEFAULT_ALPHA = {"mixup": 0.2, "cutmix": 1.0}  # as keras.layers.MixUp / CutMix


def mix_batch(images, labels, method="mixup", alpha=None, num_classes=None, seed=None, *,
              mode="example", probability=1.0, switch_probability=0.5, correct_lambda=True,
              label_smoothing=0.0):
    """Mix each example of a batch with a partner: mixup, CutMix or a random switch of the two.

    Every example `i` is paired with a partner `j` and gets a weight
    `lambda ~ Beta(alpha, alpha)`. mixup: `x = lambda x_i + (1 - lambda) x_j`,
    labels mixed with the same `lambda`. CutMix: a box of about
    `(1 - lambda) H W` pixels centred anywhere in the image (clipped at the
    border) is pasted from `x_j`, and the labels are weighted by the
    fraction of pixels actually kept (`correct_lambda`). `"switch"` does
    CutMix with probability `switch_probability`, mixup otherwise. Soft
    labels always sum to 1.

    The options of timm's `Mixup` (the usual ImageNet recipe): `mode`
    draws lambda, method and box once per example, per pair or per batch;
    `probability` mixes only that share of the examples (pairs, batches),
    the others keep `lambda = 1`; `label_smoothing` `s` maps every label
    to `(1 - s) y + s / K` before mixing (timm's `on = 1 - s + s / K`,
    `off = s / K`; do not smooth again in the loss). Deliberate differences
    from timm: in the `"example"` and `"batch"` modes the partners are a
    random permutation (as in `keras.layers.MixUp` / `CutMix` and earlier
    versions of this function) where timm pairs `i` with `B - 1 - i` and
    relies on a shuffled loader; `"pair"` pairs `i` with `B - 1 - i` as timm
    does, and in an odd batch the middle example is its own partner (left
    unchanged) where timm requires an even batch; the CutMix box has
    exactly `round(sqrt(1 - lambda) H)` rows and `round(sqrt(1 - lambda) W)`
    columns before clipping; there is no `cutmix_minmax`.

    `keras.layers.MixUp` / `keras.layers.CutMix` do plain mixup and CutMix
    on `{"images", "labels"}` dicts with one-hot labels; this function
    takes the `(images, labels)` pair of a `tf.data` batch, integer labels,
    and exposes the parameters (`mix_parameters`, then `mixup`, `cutmix`
    or `mix`).

    Args:
        images: `(B, H, W, C)` batch.
        labels: `(B,)` class indices or `(B, K)` one-hot / soft labels, one
            per image; indices are checked as in `soft_labels`.
        method: `"mixup"`, `"cutmix"` or `"switch"`. Defaults to `"mixup"`.
        alpha: Beta parameter, > 0; for `"switch"` one number for both
            methods or a pair `(mixup alpha, CutMix alpha)`. Defaults to
            0.2 for mixup and 1.0 for CutMix (as Keras' layers), `(0.2, 1.0)`
            for `"switch"`.
        num_classes: number of classes; required for class-index labels.
            Defaults to `None`.
        seed: an int (the same draws on every call), a
            `keras.random.SeedGenerator` (new draws on every call: use one in
            a `tf.data` map), or `None`. Defaults to `None`.
        mode: `"example"` (one draw per example), `"pair"` (examples `i`
            and `B - 1 - i` are each other's partners and share lambda,
            method and box) or `"batch"` (one draw for the whole batch).
            Defaults to `"example"`.
        probability: chance, in [0, 1], that an example (pair, batch) is
            mixed at all. Defaults to `1.0`.
        switch_probability: chance, in [0, 1], of CutMix instead of mixup
            for `method="switch"` (unused by the other methods). Defaults to
            `0.5`.
        correct_lambda: weight CutMix labels by the fraction of pixels kept
            after clipping the box at the border (`True`), or by the drawn
            lambda (`False`). Defaults to `True`.
        label_smoothing: `s` in [0, 1). Defaults to `0.0`.

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
    >>> _, soft = mix_batch(images, np.array([0, 1, 2, 3]), "switch", num_classes=4, seed=0,
    ...                     mode="pair", probability=0.0, label_smoothing=0.2)
    >>> ops.convert_to_numpy(soft)[0].astype(float).round(2).tolist()
    [0.85, 0.05, 0.05, 0.05]

    Reference:
        Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018.
        Yun et al., "CutMix: Regularization Strategy to Train Strong
        Classifiers with Localizable Features", ICCV 2019.
        Wightman, timm `timm/data/mixup.py` (`Mixup`).
    """
    check_bool("correct_lambda", correct_lambda)
    check_number("label_smoothing", label_smoothing, 0, 1, high_open=True)
    images = check_images(ops.cast(images, "float32"))
    parameters = mix_parameters(images, method, alpha, mode, probability, switch_probability,
                                seed)
    labels = _smooth(soft_labels(labels, num_classes), label_smoothing)
    check_one_per_image("labels", labels, images)
    if method == "mixup":
        return mixup(images, labels, parameters["lambdas"], parameters["permutation"])
    if method == "cutmix":
        return cutmix(images, labels, parameters["corners"], parameters["sizes"],
                      parameters["permutation"],
                      lambdas=None if correct_lambda else parameters["lambdas"])
    return mix(images, labels, correct_lambda=correct_lambda, **parameters)


def mix_parameters(images, method="mixup", alpha=None, mode="example", probability=1.0,
                   switch_probability=0.5, seed=None):
    """The random draws of `mix_batch`: one per example, pair or batch, given to each example.

    Per draw (example, pair or batch, see `mix_batch`'s `mode`): the method
    (CutMix with probability `switch_probability` for `"switch"`), `lambda
    ~ Beta(alpha, alpha)` of that method, replaced by 1 (no mixing) with
    probability `1 - probability`, and for CutMix a box of
    `round(sqrt(1 - lambda) * (H, W))` pixels centred uniformly over the
    image. Examples that share a draw share all of these.

    Args:
        images: `(B, H, W, C)` batch (only its shape is used).
        method: `"mixup"`, `"cutmix"` or `"switch"`. Defaults to `"mixup"`.
        alpha: as in `mix_batch`. Defaults to `None`.
        mode: `"example"`, `"pair"` or `"batch"`. Defaults to `"example"`.
        probability: chance of mixing at all. Defaults to `1.0`.
        switch_probability: chance of CutMix for `"switch"`. Defaults to `0.5`.
        seed: as in `mix_batch`. Defaults to `None`.

    Returns:
        `{"lambdas": (B,), "use_cutmix": (B,) bool, "corners": (B, 2),
        "sizes": (B, 2), "permutation": (B,)}`, the arguments of `mix`.
        Boxes of mixup examples have size 0.

    Example:
    >>> draws = mix_parameters(np.zeros((4, 8, 8, 3)), "switch", mode="pair", seed=0)
    >>> ops.convert_to_numpy(draws["permutation"]).tolist()
    [3, 2, 1, 0]
    >>> lambdas = ops.convert_to_numpy(draws["lambdas"])
    >>> bool(lambdas[0] == lambdas[3] and lambdas[1] == lambdas[2])
    True
    """
    check_choice("method", method, METHODS)
    alphas = _alphas(method, alpha)
    check_choice("mode", mode, MODES)
    check_number("probability", probability, 0, 1)
    check_number("switch_probability", switch_probability, 0, 1)
    seeds = iter(_seeds(seed, 6))
    batch, height, width = ops.shape(images)[:3]
    draws, index = _draws_and_index(batch, mode)
    betas = {name: keras.random.beta((draws,), value, value, seed=next(seeds))
             for name, value in alphas.items()}
    if method == "switch":
        use_cutmix = keras.random.uniform((draws,), seed=next(seeds)) < switch_probability
        lambdas = ops.where(use_cutmix, betas["cutmix"], betas["mixup"])
    else:
        use_cutmix, lambdas = ops.full((draws,), method == "cutmix", "bool"), betas[method]
    if probability < 1:
        mixed = keras.random.uniform((draws,), seed=next(seeds)) < probability
        lambdas = ops.where(mixed, lambdas, ops.ones_like(lambdas))
    extent = ops.cast(ops.stack([height, width]), "float32")
    if method == "mixup":
        centers = ops.zeros((draws, 2), "float32")
    else:
        centers = ops.floor(keras.random.uniform((draws, 2), seed=next(seeds)) * extent)
    if mode == "pair":
        permutation = batch - 1 - ops.arange(batch, dtype="int32")
    else:
        permutation = _permutation(batch, next(seeds))
    lambdas, use_cutmix, centers = (values if index is None else ops.take(values, index, axis=0)
                                    for values in (lambdas, use_cutmix, centers))
    sizes = ops.cast(ops.round(ops.sqrt(1 - lambdas)[:, None] * extent), "int32")
    sizes = ops.where(use_cutmix[:, None], sizes, ops.zeros_like(sizes))
    return {"lambdas": lambdas, "use_cutmix": use_cutmix,
            "corners": ops.cast(centers, "int32") - sizes // 2, "sizes": sizes,
            "permutation": permutation}


def mixup_parameters(images, alpha, seed=None):
    """Random `{"lambdas": (B,), "permutation": (B,)}` for `mixup`, one per example."""
    draws = mix_parameters(images, "mixup", alpha, seed=seed)
    return {"lambdas": draws["lambdas"], "permutation": draws["permutation"]}


def cutmix_parameters(images, alpha, seed=None):
    """Random `{"corners": (B, 2), "sizes": (B, 2), "permutation": (B,)}` for `cutmix`.

    The box of example `i` is `round(sqrt(1 - lambda_i) * (H, W))` with
    `lambda_i ~ Beta(alpha, alpha)`, its centre uniform over the image.
    """
    draws = mix_parameters(images, "cutmix", alpha, seed=seed)
    return {"corners": draws["corners"], "sizes": draws["sizes"],
            "permutation": draws["permutation"]}


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
    images, labels = _check_mix_arguments(images, labels, permutation, lambdas)
    return (_blend(images, ops.take(images, permutation, axis=0), lambdas),
            _blend(labels, ops.take(labels, permutation, axis=0), lambdas))


def cutmix(images, labels, corners, sizes, permutation, lambdas=None):
    """CutMix with fixed boxes: paste each partner's box, weight labels by its area.

    The box of example `i` covers rows `corners[i, 0]` to
    `corners[i, 0] + sizes[i, 0] - 1` and likewise columns, clipped to the
    image. The label weight of the partner is the fraction of pixels
    actually pasted (after clipping), so labels match the picture; pass
    `lambdas` to weight the labels by them instead (timm's
    `correct_lam=False`).

    Args:
        images: `(B, H, W, C)` float batch.
        labels: `(B, K)` soft labels.
        corners: `(B, 2)` integer (row, column) of each box's top-left corner.
        sizes: `(B, 2)` integer (height, width) of each box.
        permutation: `(B,)` partner index of each example.
        lambdas: `(B,)` weights of each example's own label, or `None` for
            the fraction of its pixels kept. Defaults to `None`.

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
    images, labels = _check_mix_arguments(images, labels, permutation, lambdas)
    corners, sizes = ops.cast(corners, "int32"), ops.cast(sizes, "int32")
    pasted = fill_boxes(images, corners[:, None], sizes[:, None],
                        ops.take(images, permutation, axis=0))
    weights = _kept_fraction(images, corners, sizes) if lambdas is None else lambdas
    return pasted, _blend(labels, ops.take(labels, permutation, axis=0), weights)


def mix(images, labels, lambdas, use_cutmix, corners, sizes, permutation, correct_lambda=True):
    """mixup for some examples, CutMix for the others, with fixed parameters.

    Example `i` is blended with its partner by `lambdas[i]` (mixup) when
    `use_cutmix[i]` is false, and gets the partner's box pasted (CutMix,
    the box ignored otherwise) when it is true; its label weight is
    `lambdas[i]` for mixup and, for CutMix, the fraction of its pixels kept
    (`correct_lambda`) or `lambdas[i]`. All-false `use_cutmix` is `mixup`,
    all-true is `cutmix`. The arguments are those `mix_parameters` returns.

    Args:
        images: `(B, H, W, C)` float batch.
        labels: `(B, K)` soft labels.
        lambdas: `(B,)` weights of each example's own image and label.
        use_cutmix: `(B,)` booleans: CutMix (true) or mixup (false).
        corners: `(B, 2)` integer top-left corners of the CutMix boxes.
        sizes: `(B, 2)` integer (height, width) of the CutMix boxes.
        permutation: `(B,)` partner index of each example.
        correct_lambda: CutMix label weights by the pixels kept (`True`)
            or by `lambdas` (`False`). Defaults to `True`.

    Returns:
        `(images, labels)` mixed.

    Example:
    >>> x, y = np.stack([np.zeros((2, 2, 1)), np.ones((2, 2, 1))]), np.eye(2)
    >>> mixed_x, mixed_y = mix(x, y, lambdas=[0.75, 0.5], use_cutmix=[False, True],
    ...                        corners=[[0, 0], [0, 0]], sizes=[[2, 2], [1, 2]],
    ...                        permutation=[1, 0])
    >>> ops.convert_to_numpy(mixed_x)[..., 0].tolist()
    [[[0.25, 0.25], [0.25, 0.25]], [[0.0, 0.0], [1.0, 1.0]]]
    >>> ops.convert_to_numpy(mixed_y).tolist()
    [[0.75, 0.25], [0.5, 0.5]]
    """
    images, labels = ops.convert_to_tensor(images), ops.convert_to_tensor(labels)
    lambdas = ops.cast(lambdas, labels.dtype)
    use_cutmix = ops.convert_to_tensor(use_cutmix, "bool")
    corners, sizes = ops.cast(corners, "int32"), ops.cast(sizes, "int32")
    sizes = ops.where(use_cutmix[:, None], sizes, ops.zeros_like(sizes))
    cut_weights = lambdas
    if correct_lambda:
        cut_weights = ops.cast(_kept_fraction(images, corners, sizes), labels.dtype)
    partners = ops.take(images, permutation, axis=0)
    # CutMix examples keep their own image (weight 1) outside the box.
    blended = _blend(images, partners, ops.where(use_cutmix, ops.ones_like(lambdas), lambdas))
    images = fill_boxes(blended, corners[:, None], sizes[:, None], partners)
    return images, _blend(labels, ops.take(labels, permutation, axis=0),
                          ops.where(use_cutmix, cut_weights, lambdas))


def soft_labels(labels, num_classes=None):
    """Float32 `(B, K)` labels from class indices `(B,)` / `(B, 1)` or one-hot `(B, K)`.

    Class indices known at the call (eager) must be whole numbers in
    `[0, num_classes)`, else a `ValueError`; symbolic ones (a `tf.data`
    map, a compiled function) cannot be checked, and there an index out
    of range gives a row of zeros.

    Args:
        labels: class indices or one-hot / soft labels.
        num_classes: `K`; required for class indices. Defaults to `None`.

    Returns:
        `(B, K)` float32.

    Example:
    >>> ops.convert_to_numpy(soft_labels([2, 0], num_classes=3)).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    values = concrete_values(labels)
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == 2 and labels.shape[-1] != 1:
        if num_classes is not None and num_classes != labels.shape[-1]:
            fail("num_classes", f"{labels.shape[-1]} (the width of the one-hot labels)",
                 num_classes)
        return ops.cast(labels, "float32")
    if num_classes is None:
        fail("num_classes", "an integer >= 2 when labels are class indices", num_classes)
    check_number("num_classes", num_classes, 2, integer=True)
    if values is not None:
        check_class_indices(values.reshape(-1), num_classes)
    indices = ops.reshape(ops.cast(labels, "int32"), (-1,))
    return ops.one_hot(indices, num_classes, dtype="float32")


def check_class_indices(values, num_classes):
    """Check that class indices are whole numbers in [0, num_classes).

    `num_classes=np.inf` accepts any whole number >= 0. Shared with the
    label check (`kerasreg.augment.label_check`).
    """
    if values.dtype.kind not in "biuf":
        fail("labels", "class indices (integers) or one-hot rows", values.dtype)
    whole = np.isfinite(values) & (values == np.round(values))
    inside = whole & (values >= 0) & (values < num_classes)
    if not inside.all():
        bad = np.unique(values[~inside])[:10].tolist()
        where = (">= 0" if num_classes == np.inf
                 else f"in [0, {num_classes}) (num_classes={num_classes})")
        raise ValueError(f"`labels` must be whole class indices {where}. "
                         f"Received: labels holding {bad}")


def _check_mix_arguments(images, labels, permutation, lambdas):
    """`(images, labels)` as tensors, after checking one of each argument per image."""
    images, labels = ops.convert_to_tensor(images), ops.convert_to_tensor(labels)
    check_one_per_image("labels", labels, images)
    check_one_per_image("permutation", permutation, images)
    if images.shape[0] is not None:
        check_values("permutation", permutation, 0, images.shape[0] - 1)
    if lambdas is not None:
        check_one_per_image("lambdas", lambdas, images)
        check_values("lambdas", lambdas, 0, 1)
    return images, labels


def _seeds(seed, count):
    """Seeds for `count` draws: a generator (or None) serves all; an int gives seed, seed+1..."""
    if isinstance(seed, int) and not isinstance(seed, bool):
        return [seed + index for index in range(count)]
    return [seed] * count


def _permutation(batch, seed):
    return keras.random.shuffle(ops.arange(batch, dtype="int32"), seed=seed)


def _blend(own, partner, weights):
    """`weights * own + (1 - weights) * partner`, exactly `own` where a weight is 1."""
    weights = ops.reshape(ops.cast(weights, own.dtype), (-1,) + (1,) * (len(own.shape) - 1))
    return own * weights + partner * (1 - weights)


def _kept_fraction(images, corners, sizes):
    """`(B,)` fraction of each image's pixels outside its box, clipped to the image."""
    height, width = ops.shape(images)[1], ops.shape(images)[2]
    rows = ops.clip(corners[:, 0] + sizes[:, 0], 0, height) - ops.clip(corners[:, 0], 0, height)
    cols = ops.clip(corners[:, 1] + sizes[:, 1], 0, width) - ops.clip(corners[:, 1], 0, width)
    return 1 - ops.cast(rows * cols, "float32") / ops.cast(height * width, "float32")


def _smooth(labels, smoothing):
    """timm's label smoothing: `(1 - s) y + s / K`, on = 1 - s + s / K, off = s / K."""
    if smoothing == 0:
        return labels
    return labels * (1 - smoothing) + smoothing / labels.shape[-1]


def _alphas(method, alpha):
    """`{method: alpha}` (both methods for "switch", mixup first), checked."""
    if method != "switch":
        return {method: check_number("alpha", DEFAULT_ALPHA[method] if alpha is None else alpha,
                                     0, low_open=True)}
    pair = (DEFAULT_ALPHA["mixup"], DEFAULT_ALPHA["cutmix"]) if alpha is None else alpha
    if not isinstance(pair, (tuple, list)):
        pair = (pair, pair)
    if len(pair) != 2 or not all(_is_positive(value) for value in pair):
        fail("alpha", "a number > 0 or a pair (mixup alpha, CutMix alpha) of numbers > 0",
             alpha)
    return {"mixup": pair[0], "cutmix": pair[1]}


def _is_positive(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0


def _draws_and_index(batch, mode):
    """How many draws a batch needs, and which draw each example takes (None: its own)."""
    if mode == "example":
        return batch, None
    if mode == "batch":
        return 1, ops.zeros((batch,), "int32")
    examples = ops.arange(batch, dtype="int32")
    return (batch + 1) // 2, ops.minimum(examples, batch - 1 - examples)
