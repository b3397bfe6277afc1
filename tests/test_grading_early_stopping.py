"""Tests for kerasreg.course.grading.check_early_stopping: the lecture's answer and Keras' own
callback pass, the plausible wrong ones fail with a message that names the mistake."""

import keras
import numpy as np
import pytest

from kerasreg.course.grading import GradingError, check_early_stopping
from kerasreg.course.grading.early_stopping import stopping_epochs


def test_check_early_stopping_accepts_the_reference_answer():
    assert check_early_stopping(stopping_epochs) == "early stopping: all checks passed"


def test_check_early_stopping_accepts_a_wait_counter_like_keras():
    def early_stopping(val_losses, patience):
        best, best_epoch, wait = np.inf, 0, 0
        for epoch, loss in enumerate(val_losses):
            wait += 1
            if loss < best:
                best, best_epoch, wait = loss, epoch, 0
            elif wait >= patience:
                return best_epoch, epoch
        return best_epoch, len(val_losses) - 1

    assert check_early_stopping(early_stopping) == "early stopping: all checks passed"


def test_check_early_stopping_accepts_keras_early_stopping_driven_by_the_losses():
    def early_stopping(val_losses, patience):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        callback = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
        model.stop_training = False
        callback.set_model(model)
        callback.on_train_begin()
        for epoch, loss in enumerate(val_losses):
            callback.on_epoch_end(epoch, {"val_loss": float(loss)})
            if model.stop_training:
                return callback.best_epoch, epoch
        return callback.best_epoch, len(val_losses) - 1

    assert check_early_stopping(early_stopping) == "early stopping: all checks passed"


def _late(val_losses, patience):
    best, stopped = stopping_epochs(val_losses, patience + 1)
    return best, min(stopped, len(val_losses) - 1)


def _ties(val_losses, patience):
    best_epoch = 0
    for epoch, loss in enumerate(val_losses):
        if loss <= val_losses[best_epoch]:
            best_epoch = epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _from_the_start(val_losses, patience):
    best_epoch, wait = 0, 0
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < val_losses[best_epoch]:
            best_epoch = epoch
        else:
            wait += 1
            if wait >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _previous_epoch(val_losses, patience):
    wait = 0
    for epoch in range(1, len(val_losses)):
        wait = 0 if val_losses[epoch] < val_losses[epoch - 1] else wait + 1
        if wait >= patience:
            return int(np.argmin(val_losses[:epoch + 1])), epoch
    return int(np.argmin(val_losses)), len(val_losses) - 1


@pytest.mark.parametrize("wrong, mistake", [
    (lambda losses, patience: (int(np.argmin(losses)), stopping_epochs(losses, patience)[1]),
     r"expected \(3, 6\)\. Did you take the best epoch of the whole curve"),
    (_ties, r"returned \(best_epoch, stopped_epoch\) = \(5, 8\); expected \(3, 6\)\. "
            r"Did you count a tie"),
    (_late, r"= \(3, 7\); expected \(3, 6\)\. Off by one epoch: .* not one epoch later"),
    (lambda losses, patience: stopping_epochs(losses, patience - 1),
     r"= \(3, 5\); expected \(3, 6\)\. Off by one epoch: .* not one epoch earlier"),
    (lambda losses, patience: (stopping_epochs(losses[:patience + 1], patience)[0], patience),
     r"= \(3, 3\); expected \(3, 6\)\. Did you count the patience from the first epoch"),
    (_from_the_start, r"patience=2\) .* = \(3, 4\); expected \(3, 5\)\. Did you count every "
                      r"epoch without improvement since the start"),
    (_previous_epoch, r"= \(3, 8\); expected \(3, 6\)\. Did you compare each loss with the "
                      r"previous epoch's"),
    (lambda losses, patience: (stopping_epochs(losses, patience)[1],) * 2,
     r"= \(6, 6\); expected \(3, 6\)\. Return the best epoch"),
], ids=["whole_curve", "ties", "one_late", "one_early", "from_first_epoch", "never_reset",
        "previous_epoch", "last_epoch"])
def test_check_early_stopping_names_the_mistake(wrong, mistake):
    with pytest.raises(GradingError, match=mistake):
        check_early_stopping(wrong)


def test_check_early_stopping_rejects_an_answer_that_is_not_a_pair():
    with pytest.raises(GradingError, match=r"must return a pair \(best_epoch, stopped_epoch\)"):
        check_early_stopping(lambda losses, patience: 3)


def test_check_early_stopping_reports_a_stub_as_not_implemented():
    def early_stopping(val_losses, patience):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="early_stopping is not implemented yet"):
        check_early_stopping(early_stopping)
