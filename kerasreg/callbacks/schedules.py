"""Learning-rate decay over the epochs: the lecture's step, cosine and linear schedules.

The formulas as functions of the epoch (`step_decay`, `cosine_decay`,
`linear_decay`, `warmup`) and as callbacks that set the optimizer's rate
at each epoch's start (`StepDecay`, `CosineDecay`, `LinearDecay`, built on
`EpochDecay`, a `keras.callbacks.LearningRateScheduler`).
"""

import math

import keras
import numpy as np

from kerasreg._validation import check_number, fail


def step_decay(epoch, initial_learning_rate, milestones=(30, 60, 90), factor=0.1):
    """Stepwise decay: multiply the learning rate by `factor` at each milestone.

    `alpha_t = alpha_0 * factor ** k`, `k` the number of milestones `<= t`:
    the lecture's "multiply alpha by 0.1 after epochs 30, 60 and 90".

    Args:
        epoch: epoch index `t`, from 0.
        initial_learning_rate: `alpha_0`.
        milestones: epochs at which the rate drops. Defaults to `(30, 60, 90)`.
        factor: multiplier at each milestone. Defaults to `0.1`.

    Returns:
        The learning rate of epoch `t` (a float).

    Example:
    >>> [step_decay(t, 1.0, milestones=(2, 4), factor=0.5) for t in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    _check_epoch_and_rate(epoch, initial_learning_rate)
    _check_milestones(milestones)
    check_number("factor", factor, 0, low_open=True)
    return initial_learning_rate * factor ** sum(epoch >= milestone for milestone in milestones)


def cosine_decay(epoch, initial_learning_rate, total_epochs, min_lr=0.0):
    """Cosine decay: `alpha_t = 0.5 * alpha_0 * (1 + cos(t * pi / T))`.

    With `min_lr` the curve runs from `alpha_0` down to `min_lr` instead of
    0; epochs past `T` stay at `min_lr`.

    Args:
        epoch: epoch index `t`, from 0.
        initial_learning_rate: `alpha_0`.
        total_epochs: `T`.
        min_lr: the rate reached at `t = T`. Defaults to `0.0`.

    Returns:
        The learning rate of epoch `t` (a float).

    Example:
    >>> [cosine_decay(t, 1.0, total_epochs=4) for t in range(5)]
    [1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0]
    """
    _check_decay_to_end(epoch, initial_learning_rate, total_epochs, min_lr)
    epoch = min(epoch, total_epochs)
    return min_lr + 0.5 * (initial_learning_rate - min_lr) * (
        1 + math.cos(epoch * math.pi / total_epochs))


def linear_decay(epoch, initial_learning_rate, total_epochs, min_lr=0.0):
    """Linear decay: `alpha_t = alpha_0 * (1 - t / T)`.

    With `min_lr` the line runs from `alpha_0` down to `min_lr` instead of
    0; epochs past `T` stay at `min_lr`.

    Args:
        epoch: epoch index `t`, from 0.
        initial_learning_rate: `alpha_0`.
        total_epochs: `T`.
        min_lr: the rate reached at `t = T`. Defaults to `0.0`.

    Returns:
        The learning rate of epoch `t` (a float).

    Example:
    >>> [linear_decay(t, 1.0, total_epochs=4) for t in range(5)]
    [1.0, 0.75, 0.5, 0.25, 0.0]
    """
    _check_decay_to_end(epoch, initial_learning_rate, total_epochs, min_lr)
    epoch = min(epoch, total_epochs)
    return min_lr + (initial_learning_rate - min_lr) * (1 - epoch / total_epochs)


def warmup(epoch, initial_learning_rate, warmup_epochs):
    """Linear warm-up: `alpha_0 * (t + 1) / (W + 1)` for the first `W` epochs.

    The ramp rises by `alpha_0 / (W + 1)` per epoch and reaches `alpha_0` at
    `t = W`, where the decay takes over.

    Args:
        epoch: epoch index `t`, from 0, below `warmup_epochs`.
        initial_learning_rate: `alpha_0`.
        warmup_epochs: `W`.

    Returns:
        The learning rate of epoch `t` (a float).

    Example:
    >>> [warmup(t, 1.0, 3) for t in range(3)]
    [0.25, 0.5, 0.75]
    """
    _check_epoch_and_rate(epoch, initial_learning_rate)
    check_number("warmup_epochs", warmup_epochs, 1, integer=True)
    return initial_learning_rate * (epoch + 1) / (warmup_epochs + 1)


def _check_milestones(milestones):
    """`milestones` must be strictly increasing positive integers; returns them as a tuple."""
    milestones = tuple(milestones) if isinstance(milestones, (list, tuple)) else milestones
    if not (isinstance(milestones, tuple) and milestones
            and all(isinstance(m, int) and not isinstance(m, bool) and m > 0
                    for m in milestones)
            and all(a < b for a, b in zip(milestones, milestones[1:]))):
        fail("milestones", "a non-empty sequence of strictly increasing positive "
                           "integers, e.g. (30, 60, 90)", milestones)
    return milestones


def _check_epoch_and_rate(epoch, initial_learning_rate):
    check_number("epoch", epoch, 0, integer=True)
    check_number("initial_learning_rate", initial_learning_rate, 0, low_open=True)


def _check_decay_to_end(epoch, initial_learning_rate, total_epochs, min_lr):
    _check_epoch_and_rate(epoch, initial_learning_rate)
    check_number("total_epochs", total_epochs, 1, integer=True)
    check_number("min_lr", min_lr, 0, initial_learning_rate)


def learning_rate_of(optimizer):
    """The optimizer's current learning rate as a Python float.

    Args:
        optimizer: a `keras.optimizers.Optimizer`.

    Returns:
        A float.

    Example:
    >>> learning_rate_of(keras.optimizers.SGD(0.5))
    0.5
    """
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class EpochDecay(keras.callbacks.LearningRateScheduler):
    """Base of the epoch schedules: warm-up, `alpha_0`, and `lr` in the history.

    A `keras.callbacks.LearningRateScheduler` whose schedule is
    `decay(epoch, alpha_0)` after an optional linear warm-up. `alpha_0` is
    the optimizer's learning rate when training begins (a run resumed with
    the same callback and `fit(initial_epoch=...)` keeps the first one), or
    `initial_learning_rate` when given. Each epoch's rate is logged as `lr`
    (and as Keras' `learning_rate`). Works with any Keras optimizer whose
    learning rate is a number (not a `LearningRateSchedule`).

    Subclasses implement `decay(epoch, initial_learning_rate)`.

    Args:
        warmup_epochs: epochs of linear warm-up, an integer >= 0.
            Defaults to `0`.
        initial_learning_rate: `alpha_0`; `None` reads it from the optimizer.
            Defaults to `None`.
        verbose: 1 prints each epoch's rate. Defaults to `0`.
    """

    min_lr = 0.0

    def __init__(self, warmup_epochs=0, initial_learning_rate=None, verbose=0):
        super().__init__(self.learning_rate, verbose=verbose)
        self.warmup_epochs = check_number("warmup_epochs", warmup_epochs, 0, integer=True)
        if initial_learning_rate is not None:
            check_number("initial_learning_rate", initial_learning_rate, 0, low_open=True)
        self.initial_learning_rate = initial_learning_rate
        self.alpha0 = initial_learning_rate
        self._last_set = (None, None)

    def decay(self, epoch, initial_learning_rate):
        """The rate of epoch `epoch` after warm-up; implemented by each schedule."""
        raise NotImplementedError

    def learning_rate(self, epoch, current_learning_rate=None):
        """The rate of epoch `epoch` (from 0): warm-up, then `decay`.

        Args:
            epoch: epoch index.
            current_learning_rate: ignored (Keras' scheduler passes it).

        Returns:
            A float.
        """
        if epoch < self.warmup_epochs:
            return float(warmup(epoch, self.alpha0, self.warmup_epochs))
        return float(self.decay(epoch, self.alpha0))

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        current = learning_rate_of(optimizer)
        try:
            optimizer.learning_rate = current
        except TypeError as error:
            raise ValueError(f"{type(self).__name__} sets the optimizer's learning rate "
                             f"every epoch, so the optimizer needs a number as "
                             f"`learning_rate`, not a LearningRateSchedule.") from error
        last_optimizer, last_rate = self._last_set
        resumed = last_optimizer is optimizer and last_rate == current
        if self.initial_learning_rate is not None:
            self.alpha0 = self.initial_learning_rate
        elif not resumed:
            self.alpha0 = current
        if self.min_lr > self.alpha0:
            fail("min_lr", f"a number in [0, {self.alpha0:g}] (at most the initial "
                           f"learning rate alpha_0)", self.min_lr)

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        optimizer = self.model.optimizer
        self._last_set = (optimizer, learning_rate_of(optimizer))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if logs is not None:
            logs["lr"] = learning_rate_of(self.model.optimizer)


class StepDecay(EpochDecay):
    """Stepwise learning-rate decay: multiply by `factor` at fixed epochs.

    The lecture's "multiply alpha by 0.1 after epochs 30, 60 and 90":
    `alpha_t = alpha_0 * factor ** k`, `k` the number of milestones `<= t`
    (epoch `t` counted from 0, so with milestone 30 the 31st epoch is the
    first at `0.1 * alpha_0`). See `EpochDecay` for `alpha_0`, warm-up and
    the `lr` log.

    Args:
        milestones: strictly increasing positive epochs. Defaults to `(30, 60, 90)`.
        factor: multiplier at each milestone, > 0. Defaults to `0.1`.
        warmup_epochs: epochs of linear warm-up. Defaults to `0`.
        initial_learning_rate: `alpha_0`; `None` reads the optimizer's.
            Defaults to `None`.
        verbose: 1 prints each epoch's rate. Defaults to `0`.

    Example:
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(0.1), "mse")
    >>> history = model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=4, verbose=0,
    ...                     callbacks=[StepDecay(milestones=(2,), factor=0.5)])
    >>> [round(lr, 6) for lr in history.history["lr"]]
    [0.1, 0.1, 0.05, 0.05]
    """

    def __init__(self, milestones=(30, 60, 90), factor=0.1, warmup_epochs=0,
                 initial_learning_rate=None, verbose=0):
        super().__init__(warmup_epochs, initial_learning_rate, verbose)
        self.milestones = _check_milestones(milestones)
        self.factor = check_number("factor", factor, 0, low_open=True)

    def decay(self, epoch, initial_learning_rate):
        return step_decay(epoch, initial_learning_rate, self.milestones, self.factor)


class _DecayToEnd(EpochDecay):
    """Shared shell of the schedules that run from `alpha_0` to `min_lr` over `T` epochs."""

    def __init__(self, total_epochs, min_lr=0.0, warmup_epochs=0, initial_learning_rate=None,
                 verbose=0):
        super().__init__(warmup_epochs, initial_learning_rate, verbose)
        self.total_epochs = check_number("total_epochs", total_epochs, 1, integer=True)
        self.min_lr = check_number("min_lr", min_lr, 0)
        if warmup_epochs >= total_epochs:
            fail("warmup_epochs", f"an integer in [0, {total_epochs}) (below total_epochs)",
                 warmup_epochs)
        if initial_learning_rate is not None and min_lr > initial_learning_rate:
            fail("min_lr", f"a number in [0, {initial_learning_rate:g}] (at most "
                           f"initial_learning_rate)", min_lr)

    def decay(self, epoch, initial_learning_rate):
        return self.formula(epoch - self.warmup_epochs, initial_learning_rate,
                            self.total_epochs - self.warmup_epochs, self.min_lr)


class CosineDecay(_DecayToEnd):
    """Cosine learning-rate decay over `total_epochs` epochs.

    Exactly the lecture's `alpha_t = 0.5 * alpha_0 * (1 + cos(t * pi / T))`
    with `t` the epoch index from 0 and `T = total_epochs`; `min_lr`
    lifts the floor (`min_lr + 0.5 * (alpha_0 - min_lr) * (1 + cos(...))`),
    epochs past `T` stay at `min_lr`. With `warmup_epochs = W` the first `W`
    epochs ramp linearly up to `alpha_0` and the cosine then runs over the
    remaining `T - W` epochs. See `EpochDecay` for `alpha_0` and the `lr` log.
    (`keras.optimizers.schedules.CosineDecay` decays per step instead.)

    Args:
        total_epochs: `T`, an integer >= 1.
        min_lr: final rate, in [0, alpha_0]. Defaults to `0.0`.
        warmup_epochs: `W`, in [0, T). Defaults to `0`.
        initial_learning_rate: `alpha_0`; `None` reads the optimizer's.
            Defaults to `None`.
        verbose: 1 prints each epoch's rate. Defaults to `0`.

    Example:
    >>> schedule = CosineDecay(total_epochs=4, initial_learning_rate=1.0)
    >>> [round(schedule.learning_rate(t), 4) for t in range(5)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0]

    Reference:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
        Restarts", ICLR 2017.
    """

    formula = staticmethod(cosine_decay)


class LinearDecay(_DecayToEnd):
    """Linear learning-rate decay over `total_epochs` epochs.

    Exactly the lecture's `alpha_t = alpha_0 * (1 - t / T)` with `t` the
    epoch index from 0 and `T = total_epochs`; `min_lr` lifts the floor
    (`min_lr + (alpha_0 - min_lr) * (1 - t / T)`), epochs past `T` stay at
    `min_lr`. Warm-up as in `CosineDecay`; see `EpochDecay` for `alpha_0`
    and the `lr` log.

    Args:
        total_epochs: `T`, an integer >= 1.
        min_lr: final rate, in [0, alpha_0]. Defaults to `0.0`.
        warmup_epochs: `W`, in [0, T). Defaults to `0`.
        initial_learning_rate: `alpha_0`; `None` reads the optimizer's.
            Defaults to `None`.
        verbose: 1 prints each epoch's rate. Defaults to `0`.

    Example:
    >>> schedule = LinearDecay(total_epochs=4, initial_learning_rate=1.0)
    >>> [schedule.learning_rate(t) for t in range(4)]
    [1.0, 0.75, 0.5, 0.25]
    """

    formula = staticmethod(linear_decay)
