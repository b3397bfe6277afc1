"""Checks of the dropout lab's exercise: vanilla and inverted dropout in NumPy."""

import numpy as np

from kerasreg._validation import fail
from kerasreg.course.grading._checks import (GradingError, call as _call,
                                             expect_shape as _expect_shape)


def check_dropout(train, predict, inverted, keep_probabilities=(0.8, 0.3)):
    """Check a NumPy dropout: `train(h, p, rng)` and `predict(h, p)`.

    `p` is the lecture's probability of keeping a unit. Vanilla dropout
    masks in training and scales by `p` at test time; inverted dropout
    divides the kept units by `p` in training and leaves test time alone.
    Either way the test-time output equals the expected training output
    (what kerasreg's `VanillaDropout` and Keras' inverted `Dropout` compute
    at inference). Checked at each keep probability of `keep_probabilities`:
    the defaults 0.8 and 0.3 tell the keep probability from the drop rate
    `1 - p` (at 0.5 they are one number). Each check works on copies of `h`
    (in-place code such as `h *= mask` is fine) and names the mistake it
    recognises.

    Args:
        train: the student's training-time function.
        predict: the student's test-time function.
        inverted: whether the exercise is inverted dropout.
        keep_probabilities: the values of `p` checked, in (0, 1). Defaults
            to `(0.8, 0.3)`.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> train = lambda h, p, rng: h * (rng.random(h.shape) < p)
    >>> check_dropout(train, lambda h, p: h * p, inverted=False)
    'vanilla dropout: all checks passed'
    """
    if not all(0 < p < 1 for p in keep_probabilities) or len(set(keep_probabilities)) < 2:
        fail("keep_probabilities", "two or more different numbers in (0, 1)", keep_probabilities)
    name = "inverted dropout" if inverted else "vanilla dropout"
    h = np.linspace(0.5, 2.0, 4000).reshape(100, 40)
    for p in keep_probabilities:
        _check_train(name, train, h, p, inverted)
        _check_predict(name, predict, h, p, inverted)
    return f"{name}: all checks passed"


def _check_train(name, train, h, p, inverted):
    call = f"{name} train(h, p={p}, rng)"
    output = np.asarray(_call(train, h, p, np.random.default_rng(0)), dtype="float64")
    _expect_shape(call, output.shape, h.shape)
    kept = output != 0
    ratio = output[kept] / h[kept]
    expected = 1 / p if inverted else 1.0
    if not np.allclose(ratio, expected):
        bad = np.abs(ratio - expected).argmax()
        mistakes = {
            1.0: "Did you forget to divide the kept units by p?",
            1 / (1 - p): "Did you divide by the drop rate 1 - p instead of the keep "
                         "probability p?",
            1 / p: "That is inverted dropout's training pass: vanilla dropout leaves the kept "
                   "units as they are and scales at test time.",
            p: "Vanilla dropout does not scale in training: only predict multiplies by p.",
        }
        raise GradingError(
            f"{call}: each entry must be 0 or {'h / p' if inverted else 'h'}; at "
            f"h={h[kept][bad]:.3f} got {output[kept][bad]:.3f} (expected 0 or "
            f"{h[kept][bad] * expected:.3f}).{_name_the(mistakes, ratio)}")
    if (kept == kept[0]).all():
        raise GradingError(f"{call} drops the same units in every example (row) of h: draw "
                           "one mask entry per unit and example, rng.random(h.shape).")
    fraction = kept.mean()
    if abs(fraction - p) > 0.05:  # sampling error over 4,000 units: below 0.01
        hint = (" Did you use p as the drop probability (rng.random(h.shape) >= p)? p is "
                "the probability of keeping a unit: keep where rng.random(h.shape) < p."
                if abs(fraction - (1 - p)) <= 0.05 else "")
        raise GradingError(f"{call} kept {fraction:.1%} of the units; p is the probability of "
                           f"keeping one, so expected about {p:.0%}.{hint}")


def _check_predict(name, predict, h, p, inverted):
    call = f"{name} predict(h, p={p})"
    output = np.asarray(_call(predict, h, p), dtype="float64")
    _expect_shape(call, output.shape, h.shape)
    expected = 1.0 if inverted else p
    if np.allclose(output, expected * h):
        return
    ratios = output / h
    if inverted:
        hint = (" Inverted dropout already rescaled in training: predict returns h as it is."
                if np.allclose(ratios, ratios.mean()) else "")
    else:
        hint = _name_the({1 - p: "Did you scale by the drop rate 1 - p instead of the keep "
                                 "probability p?",
                          1.0: "Vanilla dropout scales at test time: every unit on, times p.",
                          1 / p: "Multiply by p: dividing by p belongs to inverted dropout's "
                                 "training pass."}, ratios)
    index = np.abs(output - expected * h).argmax()
    raise GradingError(
        f"{call} must equal the expected training output {'h' if inverted else 'p * h'}; at "
        f"h={h.flat[index]:.3f} expected {expected * h.flat[index]:.3f}, got "
        f"{output.flat[index]:.3f}.{hint}")


def _name_the(mistakes, ratios):
    """The hint of the mistake whose scale factor every one of `ratios` matches, or ""."""
    return next((f" {hint}" for factor, hint in mistakes.items()
                 if np.allclose(ratios, factor)), "")
