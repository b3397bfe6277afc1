"""Checks for the labs' graded exercises.

Each check calls the student's function on fixed inputs and raises
`GradingError` with a short, specific message (what was expected, what came
back, on which input) instead of a bare assert. A stub that still raises
`NotImplementedError` gets "not implemented yet". Solution regions in the
notebooks use nbgrader's markers, so `python -m kerasreg student` (or
nbgrader itself) can write the student version.
"""

import numpy as np


class GradingError(AssertionError):
    """An exercise's answer is wrong; the message says how."""


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


def _call(function, *arguments):
    try:
        return function(*arguments)
    except NotImplementedError:
        raise GradingError(f"{function.__name__} is not implemented yet: replace "
                           "`raise NotImplementedError()` with your code.") from None


def _expect_shape(what, shape, expected):
    if tuple(shape) != tuple(expected):
        raise GradingError(f"{what} must keep the input's shape {tuple(expected)}; "
                           f"got {tuple(shape)}.")


def check_he_init(he_init, fan_in=400, fan_out=100):
    """Check a NumPy He initialization: `he_init(fan_in, fan_out, rng)`.

    The lecture's `w = np.random.randn(n) * sqrt(2.0 / n)` for a layer with
    `n = fan_in` inputs, as a Dense kernel of shape `(fan_in, fan_out)`:
    Gaussian, mean 0, standard deviation `sqrt(2 / fan_in)`, which is what
    `keras.initializers.HeNormal` gives (truncated there, with the same
    variance). `fan_in != fan_out`, so a formula on the wrong one shows.

    Args:
        he_init: the student's function; `rng` is a `np.random.Generator`.
        fan_in: inputs of the layer used by the check. Defaults to `400`.
        fan_out: units of the layer used by the check. Defaults to `100`.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> def he_init(fan_in, fan_out, rng):
    ...     return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
    >>> check_he_init(he_init)
    'He initialization: all checks passed'
    """
    call = f"he_init(fan_in={fan_in}, fan_out={fan_out}, rng)"
    weights = np.asarray(_call(he_init, fan_in, fan_out, np.random.default_rng(0)), "float64")
    if weights.shape != (fan_in, fan_out):
        hint = " Did you swap fan_in and fan_out?" if weights.shape == (fan_out, fan_in) else ""
        raise GradingError(f"{call} must return a (fan_in, fan_out) = {(fan_in, fan_out)} "
                           f"kernel, as Keras' Dense layers store it; got {weights.shape}.{hint}")
    expected = np.sqrt(2.0 / fan_in)
    _check_he_scale(call, weights.std(), expected, fan_in, fan_out)
    # Sampling error of the mean of 40,000 draws: 0.005 standard deviations.
    if abs(weights.mean()) > 0.03 * expected:
        raise GradingError(f"{call} has mean {weights.mean():.4f}; the weights must be "
                           "centred on 0 (randn draws from N(0, 1)).")
    kurtosis = np.mean((weights - weights.mean()) ** 4) / weights.var() ** 2
    if not 2.7 < kurtosis < 3.3:  # Gaussian: 3 (+-0.03 here); uniform: 1.8
        raise GradingError(f"{call} does not look Gaussian (kurtosis {kurtosis:.2f}, "
                           "a Gaussian's is 3): draw with rng.standard_normal (the lecture's "
                           "np.random.randn), not a uniform distribution.")
    return "He initialization: all checks passed"


def _check_he_scale(call, std, expected, fan_in, fan_out):
    # Sampling error of the standard deviation of 40,000 draws: 0.4%.
    if abs(std / expected - 1) <= 0.05:
        return
    known = {
        "sqrt(1 / fan_in), Xavier/LeCun initialization for tanh; ReLU zeroes half the "
        "units, so He doubles the variance": np.sqrt(1.0 / fan_in),
        "sqrt(2 / fan_out): n is the number of inputs of the layer": np.sqrt(2.0 / fan_out),
        "sqrt(2 / (fan_in + fan_out)), Glorot's average of the two": np.sqrt(
            2.0 / (fan_in + fan_out)),
        "2 / fan_in, the variance: take its square root": 2.0 / fan_in,
    }
    hint = next((f" That is {name}." for name, value in known.items()
                 if abs(std / value - 1) <= 0.05), "")
    raise GradingError(f"{call} has standard deviation {std:.4f}; He initialization needs "
                       f"sqrt(2 / fan_in) = {expected:.4f}.{hint}")
