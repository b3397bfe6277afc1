"""Checks of the cutout_mixup_cutmix lab's exercises: the Cutout mask and the mixed labels."""

import numpy as np

from kerasreg.course.grading._checks import (GradingError, call as _call,
                                             expect_shape as _expect_shape)

# (height, width, centre, size): odd and even sides, squares inside the image and
# hanging over each border, on a non-square image (rows and columns differ).
_CUTOUT_CASES = ((9, 12, (4, 6), 3), (9, 12, (4, 6), 4), (9, 12, (0, 11), 4),
                 (9, 12, (8, 1), 5), (9, 12, (1, 0), 6))
# (corner, size): inside the image, then hanging over the top-left and bottom-right borders.
_CUTMIX_BOXES = (((2, 3), (4, 5)), ((-2, -1), (5, 4)), ((6, 9), (6, 6)))
_CUTMIX_SHAPE = (10, 12)


def check_cutout_mask(cutout_mask):
    """Check a NumPy Cutout mask: `cutout_mask(height, width, center, size)`.

    The mask is 1 where a pixel is kept and 0 inside the square of side
    `size` centred on `center = (row, column)`: rows `row - size // 2` to
    `row - size // 2 + size - 1`, the same for columns, clipped at the
    border, as `kerasreg.layers.augmentation.cutout` cuts it. Checked on a
    9 x 12 image at odd and even sizes, with squares inside the image and
    hanging over every border.

    Args:
        cutout_mask: the student's function, returning a `(height, width)` array.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> def cutout_mask(height, width, center, size):
    ...     mask = np.ones((height, width))
    ...     top, left = center[0] - size // 2, center[1] - size // 2
    ...     mask[max(top, 0):top + size, max(left, 0):left + size] = 0
    ...     return mask
    >>> check_cutout_mask(cutout_mask)
    'Cutout mask: all checks passed'
    """
    for height, width, center, size in _CUTOUT_CASES:
        call = f"cutout_mask(height={height}, width={width}, center={center}, size={size})"
        mask = np.asarray(_call(cutout_mask, height, width, center, size), dtype="float64")
        if mask.shape == (width, height):
            raise GradingError(f"{call} returned shape {mask.shape}: the mask has `height` "
                               "rows and `width` columns. Did you swap them?")
        _expect_shape(call, mask.shape, (height, width))
        expected = _cutout_reference(height, width, center, size)
        if np.allclose(mask, expected):
            continue
        if not np.isin(mask, (0.0, 1.0)).all():
            raise GradingError(f"{call} must hold only 0 (cut) and 1 (kept); got values "
                               f"{np.unique(mask)[:5]}.")
        raise GradingError(f"{call} {_cutout_mistake(mask, height, width, center, size)} "
                           f"Expected the zeros at rows {_span(expected, 1)} and columns "
                           f"{_span(expected, 0)}; got {_describe_zeros(mask)}.")
    return "Cutout mask: all checks passed"


def check_mixed_labels(mixup_label, cutmix_label):
    """Check NumPy mixup and CutMix labels.

    `mixup_label(label, partner_label, lam)` is `lam * label + (1 - lam) *
    partner_label`. `cutmix_label(label, partner_label, corner, size,
    image_shape)` pastes the partner's box (top-left `corner = (row,
    column)`, `size = (rows, columns)`, clipped to the image of
    `image_shape = (height, width)`) and weights the partner's label by the
    fraction of pixels actually pasted: the area-corrected label of CutMix
    (timm's `correct_lam`), as `kerasreg.augment.cutmix` does. Checked at
    two lambdas (0.3 and 0.8, so own and partner weights differ) and on
    boxes inside the image and hanging over its borders.

    Args:
        mixup_label: the student's mixup label function.
        cutmix_label: the student's CutMix label function.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> def mixup_label(label, partner_label, lam):
    ...     return lam * label + (1 - lam) * partner_label
    >>> def cutmix_label(label, partner_label, corner, size, image_shape):
    ...     rows = np.clip([corner[0], corner[0] + size[0]], 0, image_shape[0])
    ...     cols = np.clip([corner[1], corner[1] + size[1]], 0, image_shape[1])
    ...     pasted = (rows[1] - rows[0]) * (cols[1] - cols[0]) / np.prod(image_shape)
    ...     return (1 - pasted) * label + pasted * partner_label
    >>> check_mixed_labels(mixup_label, cutmix_label)
    'mixup and CutMix labels: all checks passed'
    """
    label, partner = np.eye(4)[1], np.eye(4)[3]
    for lam in (0.3, 0.8):
        call = f"mixup_label(label, partner_label, lam={lam})"
        got = _label(call, _call(mixup_label, label, partner, lam), label.shape)
        expected = lam * label + (1 - lam) * partner
        if not np.allclose(got, expected, atol=1e-6):
            raise GradingError(f"{call} with one-hot labels of classes 1 and 3 returned "
                               f"{_weights(got)}; expected {_weights(expected)}."
                               f"{_mixup_mistake(got, label, partner, lam)}")
    for corner, size in _CUTMIX_BOXES:
        call = (f"cutmix_label(label, partner_label, corner={corner}, size={size}, "
                f"image_shape={_CUTMIX_SHAPE})")
        got = _label(call, _call(cutmix_label, label, partner, corner, size, _CUTMIX_SHAPE),
                     label.shape)
        pasted = _pasted_fraction(corner, size, _CUTMIX_SHAPE)
        expected = (1 - pasted) * label + pasted * partner
        if not np.allclose(got, expected, atol=1e-6):
            raise GradingError(f"{call} with one-hot labels of classes 1 and 3 returned "
                               f"{_weights(got)}; expected {_weights(expected)} (the box pastes "
                               f"{pasted:.4f} of the pixels)."
                               f"{_cutmix_mistake(got, label, partner, corner, size)}")
    return "mixup and CutMix labels: all checks passed"


def _cutout_reference(height, width, center, size, half=None, clip=True):
    mask = np.ones((height, width))
    half = size // 2 if half is None else half
    top, left = center[0] - half, center[1] - half
    if clip:
        top, left = max(top, 0), max(left, 0)
    mask[top:center[0] - half + size, left:center[1] - half + size] = 0
    return mask


def _cutout_mistake(mask, height, width, center, size):
    row, column = center
    candidates = [
        (1 - _cutout_reference(height, width, center, size),
         "returned 1 inside the square: the mask keeps a pixel with 1 and cuts it with 0."),
        (_cutout_reference(height, width, (column, row), size)
         if column < height and row < width else None,
         "cut around (column, row): `center` is (row, column)."),
        (_cutout_reference(height, width, center, size, half=0),
         "put the square's top-left corner at `center`; the square is centred on it."),
        (_cutout_reference(height, width, center, 2 * size, half=size),
         "cut a square of side 2 * size: `size` is the side, not the half-side."),
        (_cutout_reference(height, width, center, size, half=(size - 1) // 2),
         "is off by one: the square starts at row - size // 2 (an even square has one "
         "more row above its centre than below)."),
        (_cutout_reference(height, width, center, size, half=size // 2 + 1),
         "is off by one: the square starts at row - size // 2 and ends at "
         "row - size // 2 + size - 1."),
    ]
    for candidate, message in candidates:
        if candidate is not None and np.array_equal(mask, candidate):
            return message
    if (row - size // 2 < 0 or column - size // 2 < 0) and mask.sum() > _cutout_reference(
            height, width, center, size).sum():
        return ("cut too little where the square hangs over the top or left border: "
                "clip a negative start to 0 (a negative slice start counts from the end).")
    return "cut the wrong pixels."


def _span(mask, axis):
    cut = np.flatnonzero((mask == 0).any(axis=axis))
    return f"{cut.min()}-{cut.max()}" if cut.size else "none"


def _describe_zeros(mask):
    if not (mask == 0).any():
        return "no zeros"
    return f"zeros at rows {_span(mask, 1)} and columns {_span(mask, 0)}"


def _label(call, value, shape):
    value = np.asarray(value, dtype="float64")
    if value.shape != shape:
        raise GradingError(f"{call} must return a label of shape {shape}, like its inputs; "
                           f"got {value.shape}.")
    return value


def _weights(label):
    return "{" + ", ".join(f"class {c}: {w:.4f}" for c, w in enumerate(label) if w) + "}"


def _mixup_mistake(got, label, partner, lam):
    mistakes = (
        ((1 - lam) * label + lam * partner,
         " Did you swap the weights? `lam` weights the example's own label."),
        (lam * label, " Did you forget the partner's label, weighted by 1 - lam?"),
        (label if lam >= 0.5 else partner,
         " Did you return the hard label of the larger weight? mixup labels are soft."),
        (np.sqrt(lam) * label + (1 - np.sqrt(lam)) * partner,
         " Did you use sqrt(lam)? That is the side of a CutMix box, not a mixup weight."),
    )
    return _named(got, mistakes)


def _cutmix_mistake(got, label, partner, corner, size):
    height, width = _CUTMIX_SHAPE
    drawn = size[0] * size[1] / (height * width)
    inclusive = _pasted_fraction(corner, (size[0] + 1, size[1] + 1), _CUTMIX_SHAPE)
    pasted = _pasted_fraction(corner, size, _CUTMIX_SHAPE)
    mistakes = (
        ((1 - drawn) * label + drawn * partner,
         " Did you use the box's full area? Clip it to the image first: the label "
         "weights must be the fraction of pixels actually pasted."),
        (pasted * label + (1 - pasted) * partner,
         " Did you swap the weights? The partner's label gets the pasted fraction."),
        ((1 - inclusive) * label + inclusive * partner,
         " Off by one: the box covers rows corner[0] to corner[0] + size[0] - 1."),
        ((1 - pasted) * label, " Did you forget the partner's label?"),
    )
    return _named(got, mistakes)


def _named(got, mistakes):
    for candidate, message in mistakes:
        if np.allclose(got, candidate, atol=1e-6):
            return message
    return ""


def _pasted_fraction(corner, size, shape):
    rows = np.clip([corner[0], corner[0] + size[0]], 0, shape[0])
    columns = np.clip([corner[1], corner[1] + size[1]], 0, shape[1])
    return (rows[1] - rows[0]) * (columns[1] - columns[0]) / (shape[0] * shape[1])
