"""Check of the preprocessing lab's exercise: standardizing with training statistics only."""

import numpy as np

from kerasreg.course.grading._checks import (GradingError, call as _call,
                                             expect_shape as _expect_shape)


def _tables():
    """Two train / validation pairs whose statistics differ, in shapes that are not square."""
    rng = np.random.default_rng(0)
    first_train = rng.normal([5.0, -2.0, 100.0], [2.0, 0.5, 30.0], size=(40, 3))
    first_val = rng.normal([7.0, -1.0, 140.0], [3.0, 1.0, 10.0], size=(9, 3))
    second_train = rng.normal(1000.0, 250.0, size=(12, 5)) * [1, 0.01, 3, 0.2, 1]
    second_val = rng.normal(800.0, 100.0, size=(6, 5)) * [1, 0.01, 3, 0.2, 1]
    return (first_train, first_val), (second_train, second_val)


def check_standardize(standardize):
    """Check `standardize(x_train, x_val)` -> `(train_standardized, val_standardized)`.

    Both splits must become `(x - mean) / std` with the mean and standard
    deviation of each feature (column) of the TRAINING rows: the validation
    rows stand for data the model has not seen, so their own statistics must
    not leak in. Checked on two pairs of tables whose training and
    validation statistics differ. The population standard deviation
    (NumPy's default, `keras.layers.Normalization`'s) and the sample one
    (`ddof=1`) are both accepted, as is a fitted `Normalization` layer.

    Args:
        standardize: the student's function.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> def standardize(x_train, x_val):
    ...     mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    ...     return (x_train - mean) / std, (x_val - mean) / std
    >>> check_standardize(standardize)
    'standardizing: all checks passed'
    """
    for x_train, x_val in _tables():
        answer = _call(standardize, x_train, x_val)
        try:
            train, val = (np.asarray(part, "float64") for part in answer)
        except (TypeError, ValueError):
            raise GradingError("standardize(x_train, x_val) must return a pair "
                               f"(train_standardized, val_standardized); got {answer!r}.") from None
        _expect_shape("standardize's training output", train.shape, x_train.shape)
        _expect_shape("standardize's validation output", val.shape, x_val.shape)
        if any(_matches((train, val), _correct(x_train, x_val, ddof)) for ddof in (0, 1)):
            continue
        hint = next((f" {mistake}" for mistake, wrong in _mistakes(x_train, x_val).items()
                     if _matches((train, val), wrong)), "")
        part = "training" if not any(np.allclose(train, _correct(x_train, x_val, ddof)[0])
                                     for ddof in (0, 1)) else "validation"
        raise GradingError(f"standardize(x_train of shape {x_train.shape}, x_val of shape "
                           f"{x_val.shape}): the {part} output is not (x - mean) / std with "
                           f"the training rows' mean and standard deviation per feature.{hint}")
    return "standardizing: all checks passed"


def _correct(x_train, x_val, ddof):
    mean, std = x_train.mean(axis=0), x_train.std(axis=0, ddof=ddof)
    return (x_train - mean) / std, (x_val - mean) / std


def _matches(got, expected):
    return all(np.allclose(g, e, rtol=1e-4, atol=1e-6) for g, e in zip(got, expected))


def _mistakes(x_train, x_val):
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    pooled = np.concatenate([x_train, x_val])
    rows = lambda x: (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    return {
        "The validation rows were standardized with their own statistics: use the "
        "training mean and standard deviation for both splits.":
            ((x_train - mean) / std, (x_val - x_val.mean(axis=0)) / x_val.std(axis=0)),
        "The statistics include the validation rows: compute them on x_train only.":
            ((x_train - pooled.mean(axis=0)) / pooled.std(axis=0),
             (x_val - pooled.mean(axis=0)) / pooled.std(axis=0)),
        "Statistics per row (axis=1)? Each feature (column, axis=0) gets its own mean "
        "and standard deviation.": (rows(x_train), rows(x_val)),
        "Did you divide by the variance? Standardizing divides by the standard deviation.":
            ((x_train - mean) / std ** 2, (x_val - mean) / std ** 2),
        "Only centered: also divide by the standard deviation.": (x_train - mean, x_val - mean),
        "Did you forget to subtract the mean?": (x_train / std, x_val / std),
        "One mean and standard deviation for the whole table? Each feature gets its own.":
            ((x_train - x_train.mean()) / x_train.std(), (x_val - x_train.mean()) / x_train.std()),
    }
