"""Checks of the normalization lab's exercise: batch norm's forward pass in both modes."""

import numpy as np

from kerasreg.course.grading._checks import (GradingError, call as _call,
                                             expect_shape as _expect_shape)

# (input shape, momentum, epsilon): a dense batch and a batch of feature maps;
# at momentum 0.5 swapping momentum and 1 - momentum would go unnoticed.
CASES = (((16, 6), 0.99, 1e-3), ((4, 3, 3, 6), 0.9, 1e-5))


def _inputs(shape):
    rng = np.random.default_rng(len(shape))
    channels = shape[-1]
    spread = np.geomspace(0.01, 3.0, channels)  # the smallest variance is below epsilon
    x = rng.normal(size=shape) * spread + rng.normal(0, 2, channels)
    gamma = rng.uniform(0.5, 2.0, channels)
    beta = rng.normal(size=channels)
    moving_mean = rng.normal(0, 2, channels)
    moving_var = rng.uniform(0.5, 4.0, channels)
    return x, gamma, beta, moving_mean, moving_var


def _normalize(x, gamma, beta, mean, var, epsilon):
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta


def _batch_axes(x):
    return tuple(range(x.ndim - 1))


def _close(got, expected):
    return got.shape == np.shape(expected) and np.allclose(got, expected, rtol=1e-4, atol=1e-5)


def _output_mistakes(x, gamma, beta, mean, var, epsilon, other_mean, other_var, other_name):
    """Plausible wrong outputs of a normalization with statistics `mean`, `var`."""
    mistakes = {
        f"Did you normalize with the {other_name}?": _normalize(x, gamma, beta, other_mean,
                                                                other_var, epsilon),
        "epsilon goes inside the square root: (x - mu) / sqrt(var + epsilon).":
            gamma * (x - mean) / (np.sqrt(var) + epsilon) + beta,
        "Did you forget epsilon? Divide by sqrt(var + epsilon): it keeps a channel "
        "of nearly constant values from being blown up.":
            _normalize(x, gamma, beta, mean, var, 0.0),
        "Divide by the standard deviation sqrt(var + epsilon), not by the variance.":
            gamma * (x - mean) / (var + epsilon) + beta,
        "Scale then shift: gamma * x_hat + beta, not beta * x_hat + gamma.":
            _normalize(x, beta, gamma, mean, var, epsilon),
    }
    return mistakes


def _axis_mistakes(x, gamma, beta, epsilon):
    """Normalizations over the wrong entries: each names the layer it is."""
    mistakes = {}
    others = {"layer norm: each example over its features": tuple(range(1, x.ndim)),
              "per position over the batch only; batch norm also averages over H and W":
              (0,),
              "instance norm: each example and channel over H and W": (1, 2)}
    for name, axes in others.items():
        if axes == _batch_axes(x) or max(axes) >= x.ndim:
            continue
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        mistakes[f"Wrong axes ({name}). Batch norm computes one mean and variance per "
                 "channel, over every other axis: the batch (and H, W for images)."] = \
            _normalize(x, gamma, beta, mean, var, epsilon)
    mean, var = x.mean(axis=_batch_axes(x)), x.var(axis=_batch_axes(x), ddof=1)
    mistakes["Normalize with the batch variance over m (the lecture's sigma^2 = 1/m sum), "
             "not m - 1."] = _normalize(x, gamma, beta, mean, var, epsilon)
    return mistakes


def _raise_with_hint(what, got, expected, mistakes):
    for hint, values in mistakes.items():
        if _close(got, values):
            raise GradingError(f"{what} is wrong. {hint}")
    index = np.abs(got - expected).argmax()
    raise GradingError(f"{what}: at index {np.unravel_index(index, got.shape)} expected "
                       f"{expected.flat[index]:.5f}, got {got.flat[index]:.5f}.")


def check_batch_norm(train, predict):
    """Check batch norm's forward pass: `train(...)` and `predict(...)` in NumPy.

    `train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon)`
    normalizes each channel (the last axis) with the mean and variance of
    the batch over every other axis, scales by `gamma`, shifts by `beta`,
    and returns `(y, new_moving_mean, new_moving_var)` with Keras' update
    `new = momentum * old + (1 - momentum) * batch` (the moving variance may
    use the batch variance over m, as Keras does, or over m - 1, as PyTorch
    does). `predict(x, gamma, beta, moving_mean, moving_var, epsilon)`
    normalizes with the moving averages. Checked on a dense batch and on
    feature maps, at momentum 0.99 and 0.9, with a channel whose variance
    is below epsilon; the message names the mistake it recognises.

    Args:
        train: the student's training-mode function.
        predict: the student's test-mode function.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> def train(x, gamma, beta, mean, var, momentum, epsilon):
    ...     axes = tuple(range(x.ndim - 1))  # every axis but the channels
    ...     mu, sigma2 = x.mean(axis=axes), x.var(axis=axes)
    ...     y = gamma * (x - mu) / np.sqrt(sigma2 + epsilon) + beta
    ...     return y, momentum * mean + (1 - momentum) * mu, momentum * var + (1 - momentum) * sigma2
    >>> def predict(x, gamma, beta, mean, var, epsilon):
    ...     return gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    >>> check_batch_norm(train, predict)
    'batch norm: all checks passed'
    """
    for shape, momentum, epsilon in CASES:
        x, gamma, beta, moving_mean, moving_var = _inputs(shape)
        _check_train(train, x, gamma, beta, moving_mean, moving_var, momentum, epsilon)
        _check_predict(predict, x, gamma, beta, moving_mean, moving_var, epsilon)
    return "batch norm: all checks passed"


def _check_train(train, x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
    returned = _call(train, x, gamma, beta, moving_mean, moving_var, momentum, epsilon)
    if not isinstance(returned, (tuple, list)) or len(returned) != 3:
        raise GradingError("train must return three values: (y, new_moving_mean, "
                           "new_moving_var).")
    y, new_mean, new_var = (np.asarray(value, dtype="float64") for value in returned)
    what = f"train on x of shape {x.shape}, momentum={momentum}, epsilon={epsilon}"
    _expect_shape(what + ": y", y.shape, x.shape)
    axes = _batch_axes(x)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    expected = _normalize(x, gamma, beta, mean, var, epsilon)
    if not _close(y, expected):
        mistakes = _output_mistakes(x, gamma, beta, mean, var, epsilon, moving_mean, moving_var,
                                    "moving averages: in training batch norm uses the "
                                    "batch's own mean and variance")
        mistakes.update(_axis_mistakes(x, gamma, beta, epsilon))
        _raise_with_hint(f"{what}: y", y, expected, mistakes)
    _expect_shape(what + ": new_moving_mean", new_mean.shape, gamma.shape)
    _expect_shape(what + ": new_moving_var", new_var.shape, gamma.shape)
    unbiased = x.var(axis=axes, ddof=1)
    for name, got, old, batch, alternative in (
            ("new_moving_mean", new_mean, moving_mean, mean, mean),
            ("new_moving_var", new_var, moving_var, var, unbiased)):
        expected = momentum * old + (1 - momentum) * batch
        if _close(got, expected) or _close(got, momentum * old + (1 - momentum) * alternative):
            continue
        mistakes = {
            "Did you swap momentum and 1 - momentum? The moving average keeps `momentum` "
            "of its old value: momentum * old + (1 - momentum) * batch.":
                (1 - momentum) * old + momentum * batch,
            "The moving averages must be updated in training: momentum * old + "
            "(1 - momentum) * batch.": old,
            "That is the batch's statistic alone; the moving average blends it in: "
            "momentum * old + (1 - momentum) * batch.": batch}
        _raise_with_hint(f"{what}: {name}", got, expected, mistakes)


def _check_predict(predict, x, gamma, beta, moving_mean, moving_var, epsilon):
    y = np.asarray(_call(predict, x, gamma, beta, moving_mean, moving_var, epsilon),
                   dtype="float64")
    what = f"predict on x of shape {x.shape}, epsilon={epsilon}"
    _expect_shape(what, y.shape, x.shape)
    expected = _normalize(x, gamma, beta, moving_mean, moving_var, epsilon)
    if not _close(y, expected):
        axes = _batch_axes(x)
        mistakes = _output_mistakes(x, gamma, beta, moving_mean, moving_var, epsilon,
                                    x.mean(axis=axes), x.var(axis=axes),
                                    "test batch's own statistics: at test time batch norm "
                                    "uses the moving averages, so a prediction does not depend "
                                    "on the other images in its batch")
        _raise_with_hint(what, y, expected, mistakes)
