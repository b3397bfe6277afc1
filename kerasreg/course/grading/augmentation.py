"""Check of the augmentation lab's exercise: ten-crop test-time augmentation in NumPy."""

import numpy as np

from kerasreg.course.grading._checks import GradingError, call as _call

# (height, width, crop size): non-square images (a swapped axis cuts past the edge);
# H even and s odd in the first, so H // 2 - s // 2 is not the centre's (H - s) // 2.
_TEN_CROP_CASES = ((10, 13, 5), (9, 14, 6))
_CLASSES = 4
_EDGE = ("A crop that runs past the image's edge comes out smaller: rows go with "
         "H = image.shape[0], columns with W = image.shape[1].")


def check_ten_crop_average(ten_crop_average):
    """Check `ten_crop_average(predict, image, crop_size)`: the lecture's 10-crop test.

    The answer cuts the four corner crops and the centre crop of side
    `crop_size` from `image` (`(H, W, C)`; the centre crop starts at
    `((H - s) // 2, (W - s) // 2)`), the same five crops of the left-right
    mirrored image (or, equivalently, the mirrors of the five crops), calls
    `predict` (a batch `(N, s, s, C)` to `(N, K)` class probabilities) and
    returns the `(K,)` probabilities averaged over the ten crops. The check's
    `predict` is a fixed random linear softmax classifier, so every crop
    position gives other probabilities. Checked on two non-square images and
    crop sizes; the result must match `kerasreg.tta.ten_crop`'s crops.

    Args:
        ten_crop_average: the student's function.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> def ten_crop_average(predict, image, crop_size):
    ...     height, width, s = image.shape[0], image.shape[1], crop_size
    ...     corners = [(0, 0), (0, width - s), (height - s, 0), (height - s, width - s),
    ...                ((height - s) // 2, (width - s) // 2)]
    ...     crops = [view[top:top + s, left:left + s] for view in (image, image[:, ::-1])
    ...              for top, left in corners]
    ...     return predict(np.stack(crops)).mean(axis=0)
    >>> check_ten_crop_average(ten_crop_average)
    'ten-crop average: all checks passed'
    """
    for height, width, size in _TEN_CROP_CASES:
        rng = np.random.default_rng(size)
        image = rng.random((height, width, 3))
        predict = _Classifier(size, rng)
        call = f"ten_crop_average(predict, image of shape {image.shape}, crop_size={size})"
        try:
            got = np.asarray(_call(ten_crop_average, predict, image, size), dtype="float64")
        except (ValueError, IndexError) as error:  # np.stack of crops of different shapes
            raise GradingError(f"{call} raised {type(error).__name__}: {error}. {_EDGE}") from None
        if got.shape != (_CLASSES,):
            hint = (" Did you forget to average over the crops?"
                    if got.shape in ((10, _CLASSES), (5, _CLASSES)) else "")
            raise GradingError(f"{call} must return the ({_CLASSES},) class probabilities "
                               f"averaged over the ten crops; got shape {got.shape}.{hint}")
        variants = _variants(predict, image, size)
        if any(np.allclose(got, variants[name], atol=1e-6)
               for name in ("mirror image", "mirrored crops")):
            continue
        named = [message for name, message in _MISTAKES.items()
                 if np.allclose(got, variants[name], atol=1e-6)]
        raise GradingError(f"{call} returned {np.round(got, 4).tolist()}; expected "
                           f"{np.round(variants['mirror image'], 4).tolist()}."
                           + (" " + named[0] if named else ""))
    return "ten-crop average: all checks passed"


class _Classifier:
    """A fixed linear softmax classifier of `(N, s, s, 3)` crops that checks its input."""

    def __init__(self, size, rng):
        self.size = size
        self.weights = rng.standard_normal((size * size * 3, _CLASSES)) * 2.0

    def __call__(self, crops):
        crops = np.asarray(crops, dtype="float64")
        if crops.ndim != 4 or crops.shape[1:] != (self.size, self.size, 3):
            raise GradingError(f"predict takes a batch of crops of shape (N, {self.size}, "
                               f"{self.size}, 3); got shape {crops.shape}. Stack the crops "
                               f"(np.stack). {_EDGE}")
        logits = crops.reshape(len(crops), -1) @ self.weights
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)


_MISTAKES = {
    "five crops": "Did you leave out the five crops of the mirrored image?",
    "centre crop": "That is the centre crop's prediction alone: average over all ten crops.",
    "upside down": "Did you flip the image upside down? The mirror is left-right "
                   "(the width axis, image[:, ::-1]).",
    "off by one": "Off by one: the bottom and right crops start at H - s and W - s, so they "
                  "end at the image's last row and column.",
    "centre rounding": "The centre crop starts at ((H - s) // 2, (W - s) // 2).",
    "votes": "Did you average the votes (one-hot argmax) instead of the probabilities?",
    "sum": "Did you sum the probabilities instead of averaging them?",
}


def _variants(predict, image, size):
    height, width = image.shape[:2]
    centre = ((height - size) // 2, (width - size) // 2)

    def corners(bottom, right, middle=centre):
        return [(0, 0), (0, right), (bottom, 0), (bottom, right), middle]

    def mean(crops, votes=False):
        probabilities = predict(np.stack(crops))
        if votes:
            probabilities = np.eye(_CLASSES)[probabilities.argmax(axis=1)]
        return probabilities.mean(axis=0)

    def crops_of(views, places):
        return [view[top:top + size, left:left + size] for view in views
                for top, left in places]

    mirror, upside_down = image[:, ::-1], image[::-1]
    right_places = corners(height - size, width - size)
    mirrored_crops = [crop[:, ::-1] for crop in crops_of((image,), right_places)]
    return {
        "mirror image": mean(crops_of((image, mirror), right_places)),
        "mirrored crops": mean(crops_of((image,), right_places) + mirrored_crops),
        "five crops": mean(crops_of((image,), right_places)),
        "centre crop": mean(crops_of((image,), [centre])),
        "upside down": mean(crops_of((image, upside_down), right_places)),
        "off by one": mean(crops_of((image, mirror),
                                    corners(height - size - 1, width - size - 1))),
        "centre rounding": mean(crops_of((image, mirror), corners(
            height - size, width - size, (height // 2 - size // 2, width // 2 - size // 2)))),
        "votes": mean(crops_of((image, mirror), right_places), votes=True),
        "sum": 10 * mean(crops_of((image, mirror), right_places)),
    }
