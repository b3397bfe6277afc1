"""Checks of the dropout lab's exercise: vanilla and inverted dropout in NumPy."""

import numpy as np

from kerasreg.grading._checks import GradingError, call as _call, expect_shape as _expect_shape


def check_dropout(train, predict, inverted, keep_probability=0.5):
    """Check a NumPy dropout: `train(h, p, rng)` and `predict(h, p)`.

    `p` is the lecture's probability of keeping a unit. Vanilla dropout
    masks in training and scales by `p` at test time; inverted dropout
    divides the kept units by `p` in training and leaves test time alone.
    Either way the test-time output must equal the expected training output,
    and match kerasreg's `VanillaDropout` (or Keras' inverted `Dropout`).

    Args:
        train: the student's training-time function.
        predict: the student's test-time function.
        inverted: whether the exercise is inverted dropout.
        keep_probability: `p` used by the check. Defaults to `0.5`.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> train = lambda h, p, rng: h * (rng.random(h.shape) < p)
    >>> check_dropout(train, lambda h, p: h * p, inverted=False)
    'vanilla dropout: all checks passed'
    """
    name = "inverted dropout" if inverted else "vanilla dropout"
    p = keep_probability
    h = np.linspace(0.5, 2.0, 4000).reshape(100, 40)
    masked = np.asarray(_call(train, h, p, np.random.default_rng(0)), dtype="float64")
    _expect_shape(f"{name} train", masked.shape, h.shape)
    kept_value = h / p if inverted else h
    kept = np.isclose(masked, kept_value)
    if not (kept | (masked == 0)).all():
        bad = np.flatnonzero(~(kept | (masked == 0)))[0]
        hint = (" Did you forget to divide the kept units by p?" if inverted and
                np.isclose(masked.flat[bad], h.flat[bad]) else "")
        raise GradingError(
            f"{name} train(h, p={p}): each entry must be 0 or {'h / p' if inverted else 'h'}; "
            f"at h={h.flat[bad]:.3f} got {masked.flat[bad]:.3f} "
            f"(expected 0 or {kept_value.flat[bad]:.3f}).{hint}")
    if abs(kept.mean() - p) > 0.05:
        raise GradingError(f"{name} train(h, p={p}) kept {kept.mean():.1%} of the units; "
                           f"p is the probability of keeping one, so expected about {p:.0%}.")
    _check_expectation(name, train, predict, h, p)
    _check_against_layer(name, predict, h, p, inverted)
    return f"{name}: all checks passed"


def _check_expectation(name, train, predict, h, p):
    rng = np.random.default_rng(1)
    mean_train = np.mean([_call(train, h, p, rng) for _ in range(200)], axis=0)
    tested = np.asarray(_call(predict, h, p), dtype="float64")
    _expect_shape(f"{name} predict", tested.shape, h.shape)
    # Column means over 100 rows x 200 passes: sampling error about 1%.
    expected, got = mean_train.mean(axis=0), tested.mean(axis=0)
    column = np.abs(got / expected - 1).argmax()
    if abs(got[column] / expected[column] - 1) > 0.05:
        raise GradingError(
            f"{name} predict(h, p={p}) must equal the expected training output; on "
            f"column {column} of h (mean {h[:, column].mean():.3f}) it averages "
            f"{got[column]:.3f}, 200 training passes average {expected[column]:.3f}.")


def _check_against_layer(name, predict, h, p, inverted):
    import keras

    from kerasreg.layers import VanillaDropout

    layer = keras.layers.Dropout(1 - p) if inverted else VanillaDropout(1 - p)
    reference = keras.ops.convert_to_numpy(layer(h.astype("float32"), training=False))
    tested = np.asarray(_call(predict, h, p), dtype="float32")
    if not np.allclose(tested, reference, rtol=1e-5):
        index = np.abs(tested - reference).argmax()
        raise GradingError(
            f"{name} predict(h, p={p}) must match {type(layer).__name__}(rate={1 - p}) at "
            f"inference: at h={h.flat[index]:.3f} expected {reference.flat[index]:.3f}, "
            f"got {tested.flat[index]:.3f}.")
