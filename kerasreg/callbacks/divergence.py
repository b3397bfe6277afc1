"""Divergence: a loss that explodes, caught as it happens and blamed on the learning rate.

`DivergenceGuard` stops a run whose batch loss is NaN, infinite or far
above its best (`kerasreg.curves.diverged`), with the lecture's step-2
reading (`divergence_message`); `batch_loss` recovers one batch's loss
from Keras' running mean of the epoch.
"""

import math
import warnings

import keras
import numpy as np

from kerasreg._validation import check_bool, check_number
from kerasreg.callbacks.schedules import learning_rate_of
from kerasreg.curves import EXPLODING_FACTOR, diverged


def batch_loss(running_mean, batch, previous_mean=0.0, previous_batch=-1):
    """The loss of one batch, recovered from Keras' running mean of the epoch.

    Keras logs, at each batch's end, the mean loss of the epoch so far (its
    loss tracker is a `Mean` reset when an epoch begins), so a loss that
    explodes in one batch moves the logged value by only `1 / (k + 1)` of
    its jump. With `m_k` the mean logged after batch `k` and equal batch
    sizes, the batch's own loss is `(k + 1) * m_k - k * m_(k-1)`; when
    several batches run per log (`steps_per_execution`), this gives the
    mean loss of the batches since `previous_batch`. A last batch smaller
    than the others is weighted as a full one, which dilutes its loss.

    Args:
        running_mean: the loss logged after batch `batch` (from 0).
        batch: the index of that batch in its epoch.
        previous_mean: the loss logged after `previous_batch`. Defaults
            to `0.0`.
        previous_batch: the index of the batch before, `-1` at the start
            of an epoch. Defaults to `-1`.

    Returns:
        A float: the loss of the batches `previous_batch + 1 ... batch`.

    Example:
    >>> round(batch_loss(3.3, 9, previous_mean=2.3, previous_batch=8), 6)  # 10*3.3 - 9*2.3
    12.3
    """
    check_number("previous_batch", previous_batch, -1, integer=True)
    check_number("batch", batch, previous_batch + 1, integer=True)
    total = (batch + 1) * float(running_mean) - (previous_batch + 1) * float(previous_mean)
    return total / (batch - previous_batch)


def divergence_message(loss, learning_rate, where):
    """The lecture's step 2 reading of an exploding loss, naming the learning rate.

    Args:
        loss: the loss that exploded.
        learning_rate: the optimizer's learning rate at that point.
        where: when it happened, e.g. `"epoch 3, batch 12"`.

    Returns:
        A one-paragraph message.

    Example:
    >>> divergence_message(float("inf"), 10.0, "epoch 1, batch 4")[:61]
    'Training diverged at epoch 1, batch 4: the loss is inf. The l'
    """
    return (f"Training diverged at {where}: the loss is {loss:.4g}. The learning rate "
            f"({learning_rate:.3g}) is the likely cause: a loss that explodes to inf or "
            f"NaN means the learning rate is too high (or the initialization is bad). "
            f"Try a learning rate 10 times smaller.")


class DivergenceGuard(keras.callbacks.TerminateOnNaN):
    """Stop training when the loss becomes NaN or explodes, and say why.

    The lecture's step 2 reading: "loss explodes to Inf or NaN? Learning
    rate too high, bad initialization". What this adds to
    `keras.callbacks.TerminateOnNaN`: an exploding loss (more than `factor`
    times the run's first batch loss) also stops training, and the message
    (a `RuntimeWarning`, or a `RuntimeError` with `raise_error=True`) names
    the learning rate as the likely cause. After a stop, `message` holds
    the text and `stopped_epoch` the epoch (from 0); both are `None` otherwise.

    The test reads each batch's own loss, recovered with `batch_loss` from
    the running mean of the epoch that Keras logs: a jump from 2.3 to 12.7
    in batch 9 moves that mean only to 3.3. (A last batch smaller than the
    others is counted as a full one, so a jump there reads diluted.)

    An exploding classifier need not reach NaN: under JAX and PyTorch,
    Keras computes the cross-entropy of softmax outputs from probabilities
    clipped to `1e-7`, so the loss stops near `-log(1e-7) = 16.1` (with
    TensorFlow it reads the logits and overflows). The default `factor` of
    4 catches that from the chance level `log(C)` up to about 50 classes.

    Args:
        factor: how many times the first loss counts as exploding, > 1.
            Defaults to `4.0` (as `LRFinder`'s `diverge_factor`).
        raise_error: raise instead of stopping gracefully. Defaults to `False`.

    Example:
    >>> guard = DivergenceGuard()
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(100.0), "mse")
    >>> with warnings.catch_warnings(record=True):
    ...     history = model.fit(np.ones((64, 1)), np.ones((64, 1)), batch_size=8,
    ...                         epochs=5, callbacks=[guard], verbose=0)
    >>> guard.stopped_epoch, "learning rate (100)" in guard.message
    (0, True)
    """

    def __init__(self, factor=EXPLODING_FACTOR, raise_error=False):
        super().__init__(raise_error=check_bool("raise_error", raise_error))
        self.factor = check_number("factor", factor, 1, low_open=True)
        self.reference = None
        self.message = None
        self.stopped_epoch = None
        self.epoch = 0
        self._previous = (-1, 0.0)

    def on_train_begin(self, logs=None):
        self.reference, self.message, self.stopped_epoch = None, None, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._previous = (-1, 0.0)

    def on_train_batch_end(self, batch, logs=None):
        running_mean = (logs or {}).get("loss")
        if running_mean is None or self.message is not None:
            return
        previous_batch, previous_mean = self._previous
        self._previous = (batch, float(running_mean))
        loss = batch_loss(running_mean, batch, previous_mean, previous_batch)
        if self.reference is None and math.isfinite(loss) and loss > 0:
            self.reference = loss
        if diverged(loss, math.inf if self.reference is None else self.reference, self.factor):
            self.message = divergence_message(loss, learning_rate_of(self.model.optimizer),
                                              f"epoch {self.epoch}, batch {batch}")
            self.stopped_epoch = self.epoch
            if self.raise_error:
                raise RuntimeError(self.message)
            warnings.warn(self.message, RuntimeWarning, stacklevel=2)
            self.model.stop_training = True
