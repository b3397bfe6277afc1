"""Check of the initialization lab's exercise: He initialization in NumPy."""

import numpy as np

from kerasreg.grading._checks import GradingError, call as _call


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
