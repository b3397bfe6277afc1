"""Check of the early-stopping lab's exercise: best epoch and stopping epoch from a curve."""

import numpy as np

from kerasreg.course.grading._checks import GradingError, call as _call

# Validation losses chosen so that the usual mistakes give different answers:
# a tie with the best (epoch 5 of the first), a better value after the stop
# (epoch 12 of the first, epoch 10 of the second), a loss that rises before
# the best (epoch 1 of the second), a run that never stops. Every patience
# is at least 2, so one epoch too early or too late is still a patience.
CURVES = (
    (1.0, 0.8, 0.7, 0.65, 0.7, 0.65, 0.72, 0.75, 0.8, 0.85, 0.9, 0.95, 0.6, 0.5),
    (0.9, 0.95, 0.6, 0.5, 0.55, 0.52, 0.58, 0.6, 0.61, 0.7, 0.4, 0.45),
    (1.0, 0.9, 0.8, 0.7, 0.6, 0.5),
)
PATIENCES = ((3, 6), (2, 4), (2,))


def stopping_epochs(val_losses, patience):
    """The lecture's early stopping on a list of validation losses.

    Epochs count from 0. An epoch improves when its loss is strictly below
    the best so far; training stops at the end of the epoch that is
    `patience` epochs after the best one (Keras' `EarlyStopping`, whose
    `wait` counter restarts at every improvement), and the weights of the
    best epoch are restored. A run that never loses patience ends at its
    last epoch.

    Args:
        val_losses: validation loss of each epoch.
        patience: epochs without improvement before stopping, >= 1.

    Returns:
        `(best_epoch, stopped_epoch)`.

    Example:
    >>> stopping_epochs([1.0, 0.5, 0.6, 0.7, 0.4], patience=2)
    (1, 3)
    """
    best_epoch, best = 0, np.inf
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best_epoch, best = epoch, loss
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def check_early_stopping(early_stopping):
    """Check a NumPy early stopping: `early_stopping(val_losses, patience)`.

    It must return `(best_epoch, stopped_epoch)` as `stopping_epochs` does,
    on three validation curves and two patiences each, so that an
    off-by-one stop, patience counted from the first epoch or from the last
    improvement of any size, a tie counted as an improvement, or a best
    epoch taken from the whole curve (including epochs never trained) gives
    a wrong answer somewhere.

    Args:
        early_stopping: the student's function; `val_losses` is a NumPy array.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> check_early_stopping(stopping_epochs)
    'early stopping: all checks passed'
    """
    for curve, patiences in zip(CURVES, PATIENCES):
        losses = np.array(curve)
        for patience in patiences:
            expected = stopping_epochs(losses, patience)
            answer = _call(early_stopping, losses, patience)
            got = _as_pair(answer, patience)
            if got != expected:
                raise GradingError(
                    f"early_stopping(val_losses, patience={patience}) on val_losses="
                    f"{list(curve)} returned (best_epoch, stopped_epoch) = {got}; expected "
                    f"{expected}.{_hint(losses, patience, got, expected)}")
    return "early stopping: all checks passed"


def _as_pair(answer, patience):
    try:
        best, stopped = answer
        return int(best), int(stopped)
    except (TypeError, ValueError):
        raise GradingError(f"early_stopping(val_losses, patience={patience}) must return a "
                           f"pair (best_epoch, stopped_epoch) of integers; got {answer!r}."
                           ) from None


def _hint(losses, patience, got, expected):
    for mistake, wrong in _MISTAKES.items():
        if got == wrong(losses, patience) != expected:
            return " " + mistake
    return ""


def _stop_one_late(losses, patience):
    best, stopped = stopping_epochs(losses, patience + 1)
    return best, min(stopped, len(losses) - 1)


def _ties_improve(losses, patience):
    best_epoch = 0
    for epoch, loss in enumerate(losses):
        if loss <= losses[best_epoch]:
            best_epoch = epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(losses) - 1


def _wait_never_reset(losses, patience):
    best_epoch, wait = 0, 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < losses[best_epoch]:
            best_epoch = epoch
        else:
            wait += 1
            if wait >= patience:
                return best_epoch, epoch
    return best_epoch, len(losses) - 1


def _against_previous_epoch(losses, patience):
    wait = 0
    for epoch in range(1, len(losses)):
        wait = 0 if losses[epoch] < losses[epoch - 1] else wait + 1
        if wait >= patience:
            return stopping_epochs(losses[:epoch + 1], len(losses))[0], epoch
    return int(np.argmin(losses)), len(losses) - 1


def _whole_curve(losses, patience):
    return int(np.argmin(losses)), stopping_epochs(losses, patience)[1]


def _last_epoch_restored(losses, patience):
    stopped = stopping_epochs(losses, patience)[1]
    return stopped, stopped


_MISTAKES = {
    "Did you take the best epoch of the whole curve? Epochs after the stop were never "
    "trained: the best epoch is the best one seen before stopping.": _whole_curve,
    "Did you count a tie with the best loss as an improvement? Only a loss strictly below "
    "the best so far improves.": _ties_improve,
    "Off by one epoch: the run stops at the end of epoch best_epoch + patience (epochs "
    "counted from 0), not one epoch later.": _stop_one_late,
    "Off by one epoch: the run stops at the end of epoch best_epoch + patience (epochs "
    "counted from 0), not one epoch earlier.":
        lambda losses, patience: stopping_epochs(losses, patience - 1),
    "Did you count the patience from the first epoch? The count restarts at every "
    "improvement.": lambda losses, patience: (stopping_epochs(losses[:patience + 1], patience)[0],
                                              patience),
    "Did you count every epoch without improvement since the start? The count restarts "
    "at every improvement.": _wait_never_reset,
    "Did you compare each loss with the previous epoch's? Patience counts the epochs since "
    "the best loss so far, not since the last decrease.": _against_previous_epoch,
    "Return the best epoch (whose weights are restored), not the epoch training "
    "stopped at.": _last_epoch_restored,
}
