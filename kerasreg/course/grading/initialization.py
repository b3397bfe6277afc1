"""Check of the initialization lab's exercise: He initialization in NumPy."""

import numpy as np

from kerasreg._validation import fail
from kerasreg.course.grading._checks import GradingError, call as _call

# Kurtosis of each distribution a student may draw from: a Gaussian's is 3,
# Keras' HeNormal (a normal truncated at 2 standard deviations) 2.37 (2.35
# measured), a uniform's 1.8. Sampling error at 30,000 draws: about 0.03.
_GAUSSIAN_KURTOSIS = (2.1, 3.3)
# Sampling error of the standard deviation of n Gaussian draws: 1 / sqrt(2n)
# relative, 0.4% at 30,000 draws; 2% is 5 of them, and sqrt(1.8 / fan_in)
# is 5.1% off.
_SCALE_TOLERANCE = 0.02


def check_he_init(he_init, layers=((400, 100), (64, 512))):
    """Check a NumPy He initialization: `he_init(fan_in, fan_out, rng)`.

    The lecture's `w = np.random.randn(n) * sqrt(2.0 / n)` for a layer with
    `n = fan_in` inputs, as a Dense kernel of shape `(fan_in, fan_out)`:
    Gaussian, mean 0, standard deviation `sqrt(2 / fan_in)`, every weight its
    own draw. Checked on each layer of `layers`, whose fans differ both ways,
    so a formula on the wrong fan or a number fixed for one layer shows.
    Keras' own `HeNormal` (a normal truncated at 2 standard deviations, with
    the same variance) passes; a uniform draw, a symmetric kernel (units
    that are copies of each other) and a scale off by 2% or more do not, and
    the message names the usual mistakes.

    Args:
        he_init: the student's function; `rng` is a `np.random.Generator`.
        layers: `(fan_in, fan_out)` pairs to check, each with at least
            10,000 weights. Defaults to `((400, 100), (64, 512))`.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> def he_init(fan_in, fan_out, rng):
    ...     return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
    >>> check_he_init(he_init)
    'He initialization: all checks passed'
    """
    if not all(fan_in * fan_out >= 10_000 for fan_in, fan_out in layers):
        fail("layers", "(fan_in, fan_out) pairs of at least 10,000 weights each", layers)
    for index, (fan_in, fan_out) in enumerate(layers):
        others = [pair for pair in layers if pair != (fan_in, fan_out)]
        _check_layer(he_init, fan_in, fan_out, np.random.default_rng(index), others)
    return "He initialization: all checks passed"


def _check_layer(he_init, fan_in, fan_out, rng, others):
    call = f"he_init(fan_in={fan_in}, fan_out={fan_out}, rng)"
    weights = np.asarray(_call(he_init, fan_in, fan_out, rng), "float64")
    if weights.shape != (fan_in, fan_out):
        hint = " Did you swap fan_in and fan_out?" if weights.shape == (fan_out, fan_in) else ""
        raise GradingError(f"{call} must return a (fan_in, fan_out) = {(fan_in, fan_out)} "
                           f"kernel, as Keras' Dense layers store it; got {weights.shape}.{hint}")
    if len(np.unique(weights, axis=1).T) < fan_out:
        raise GradingError(f"{call} returns units (columns) that are copies of each other: "
                           "they compute the same output, get the same gradient and stay "
                           "equal, the symmetry the lecture warns of. Draw every weight on its "
                           "own: a (fan_in, fan_out) array of random numbers.")
    if len(np.unique(weights, axis=0)) < fan_in:
        raise GradingError(f"{call} gives each unit one weight repeated over its inputs (its "
                           "rows are copies of each other). Draw every weight on its own: a "
                           "(fan_in, fan_out) array of random numbers.")
    expected = np.sqrt(2.0 / fan_in)
    _check_scale(call, weights.std(), expected, fan_in, fan_out, others)
    # Sampling error of the mean of >= 10,000 draws: at most 0.01 standard deviations.
    if abs(weights.mean()) > 0.05 * expected:
        raise GradingError(f"{call} has mean {weights.mean():.4f}; the weights must be "
                           "centred on 0 (randn draws from N(0, 1)).")
    kurtosis = np.mean((weights - weights.mean()) ** 4) / weights.var() ** 2
    if not _GAUSSIAN_KURTOSIS[0] < kurtosis < _GAUSSIAN_KURTOSIS[1]:
        shape = "looks uniform" if abs(kurtosis - 1.8) < 0.15 else "does not look Gaussian"
        raise GradingError(f"{call} {shape} (kurtosis {kurtosis:.2f}; a Gaussian's is 3, "
                           "Keras' truncated HeNormal's 2.37, a uniform's 1.8): draw with "
                           "rng.standard_normal (the lecture's np.random.randn), not a uniform "
                           "distribution.")


def _check_scale(call, std, expected, fan_in, fan_out, others):
    if abs(std / expected - 1) <= _SCALE_TOLERANCE:
        return
    known = {
        "sqrt(1 / fan_in), Xavier/LeCun initialization for tanh; ReLU zeroes half the "
        "units, so He doubles the variance": np.sqrt(1.0 / fan_in),
        "sqrt(2 / fan_out): n is the number of inputs of the layer": np.sqrt(2.0 / fan_out),
        "sqrt(2 / (fan_in + fan_out)), Glorot's average of the two": np.sqrt(
            2.0 / (fan_in + fan_out)),
        "2 / fan_in, the variance: take its square root": 2.0 / fan_in,
        "sqrt(2) / fan_in: the square root covers 2 / fan_in": np.sqrt(2.0) / fan_in,
        "1, randn's own scale: multiply by sqrt(2 / fan_in)": 1.0,
        **{f"sqrt(2 / {other}), the scale of a layer with {other} inputs: compute it from "
           "fan_in, not from a fixed number": np.sqrt(2.0 / other) for other, _ in others},
    }
    hint = next((f" That is {name}." for name, value in known.items()
                 if abs(std / value - 1) <= _SCALE_TOLERANCE), "")
    raise GradingError(f"{call} has standard deviation {std:.4f}; He initialization needs "
                       f"sqrt(2 / fan_in) = {expected:.4f}.{hint}")
