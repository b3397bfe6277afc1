"""Checks of the learning-rate lab's exercises: step decay and cosine decay in NumPy."""

import math

import numpy as np

from kerasreg.callbacks import cosine_decay, step_decay
from kerasreg.course.grading._checks import GradingError, call as _call

# Two settings each, so that a hard-coded number, an epoch counted from 1
# or a milestone read as "after" fails on at least one of them.
STEP_SETTINGS = ({"initial_learning_rate": 0.1, "milestones": (3, 6, 8), "factor": 0.1},
                 {"initial_learning_rate": 2.0, "milestones": (2, 5), "factor": 0.5})
COSINE_SETTINGS = ({"initial_learning_rate": 0.1, "total_epochs": 10},
                   {"initial_learning_rate": 3.0, "total_epochs": 7})


def check_step_decay(step_decay_function):
    """Check `step_decay_function(t, a0, milestones, factor)` against the lecture.

    `a_t = a0 * factor ** k`, `k` the number of milestones `<= t` (epochs
    from 0; the lecture's "times 0.1 after epochs 30, 60 and 90"), checked
    at every epoch of two settings. Any way of counting `k` is accepted
    (a loop, `np.searchsorted(..., side="right")`, `bisect.bisect_right`).

    Args:
        step_decay_function: the student's function.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> check_step_decay(step_decay)
    'step decay: all checks passed'
    """
    mistakes = {
        "The rate drops at the start of a milestone epoch: count the milestones <= t, "
        "not < t.": lambda t, a0, m, f: a0 * f ** sum(t > x for x in m),
        "Did you count the epochs from 1? t starts at 0.":
            lambda t, a0, m, f: a0 * f ** sum(t + 1 >= x for x in m),
        "The factor compounds: after k milestones the rate is a0 * factor ** k, not "
        "a0 * factor.": lambda t, a0, m, f: a0 * (f if any(t >= x for x in m) else 1.0),
        "Did you decay every epoch? The rate only changes at the milestones.":
            lambda t, a0, m, f: a0 * f ** t,
    }
    for setting in STEP_SETTINGS:
        a0, milestones, factor = (setting["initial_learning_rate"], setting["milestones"],
                                  setting["factor"])
        epochs = range(milestones[-1] + 3)
        _compare("step_decay", f"a0={a0}, milestones={milestones}, factor={factor}",
                 [_call(step_decay_function, t, a0, milestones, factor) for t in epochs],
                 [step_decay(t, a0, milestones, factor) for t in epochs],
                 {name: [wrong(t, a0, milestones, factor) for t in epochs]
                  for name, wrong in mistakes.items()})
    return "step decay: all checks passed"


def check_cosine_decay(cosine_decay_function):
    """Check `cosine_decay_function(t, a0, T)` against the lecture.

    `a_t = 0.5 * a0 * (1 + cos(t * pi / T))` for the epochs `t = 0 ... T`
    of two settings (from `a0` at `t = 0` down to 0 at `t = T`). Keras'
    `keras.optimizers.schedules.CosineDecay(a0, decay_steps=T)(t)` is the
    same formula and passes.

    Args:
        cosine_decay_function: the student's function.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> check_cosine_decay(lambda t, a0, T: cosine_decay(t, a0, T))
    'cosine decay: all checks passed'
    """
    mistakes = {
        "Did you forget the 0.5 * (1 + ...)? cos alone runs from a0 to -a0.":
            lambda t, a0, T: a0 * math.cos(t * math.pi / T),
        "The rate must fall from a0 to 0: use 1 + cos(...), not 1 - cos(...).":
            lambda t, a0, T: 0.5 * a0 * (1 - math.cos(t * math.pi / T)),
        "Did you forget the 0.5? 0.5 * a0 * (1 + cos(t * pi / T)) starts at a0.":
            lambda t, a0, T: a0 * (1 + math.cos(t * math.pi / T)),
        "Did you divide by T - 1? The cosine reaches 0 at t = T.":
            lambda t, a0, T: 0.5 * a0 * (1 + math.cos(t * math.pi / (T - 1))),
        "Did you leave out pi? The angle is t * pi / T, in radians.":
            lambda t, a0, T: 0.5 * a0 * (1 + math.cos(t / T)),
        "Did you use 2 * pi? Half a period (t * pi / T) takes the rate from a0 to 0.":
            lambda t, a0, T: 0.5 * a0 * (1 + math.cos(2 * t * math.pi / T)),
    }
    for setting in COSINE_SETTINGS:
        a0, total = setting["initial_learning_rate"], setting["total_epochs"]
        epochs = range(total + 1)
        _compare("cosine_decay", f"a0={a0}, T={total}",
                 [_call(cosine_decay_function, t, a0, total) for t in epochs],
                 [cosine_decay(t, a0, total) for t in epochs],
                 {name: [wrong(t, a0, total) for t in epochs] for name, wrong in mistakes.items()})
    return "cosine decay: all checks passed"


def _compare(name, setting, got, expected, mistakes):
    try:
        got = np.asarray([float(np.asarray(value)) for value in got])
    except (TypeError, ValueError):
        raise GradingError(f"{name}(t, {setting}) must return one number per epoch t; "
                           f"got {got[:3]!r}...") from None
    expected = np.asarray(expected)
    if np.allclose(got, expected, rtol=1e-5, atol=1e-8):
        return
    epoch = int(np.argmax(~np.isclose(got, expected, rtol=1e-5, atol=1e-8)))
    hint = next((f" {mistake}" for mistake, wrong in mistakes.items()
                 if np.allclose(got, wrong, rtol=1e-5, atol=1e-8)), "")
    raise GradingError(f"{name}(t={epoch}, {setting}) returned {got[epoch]:.6g}; expected "
                       f"{expected[epoch]:.6g}.{hint}")
