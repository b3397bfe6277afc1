"""Training callbacks: early stopping, epoch learning-rate decay, LR range test.

The lecture's practical tricks as `keras.callbacks.Callback`s: keep the best
weights while the validation error improves and stop when it plateaus
(`EarlyStopping`); start with a large learning rate and decay it over the
epochs (`StepDecay`, `CosineDecay`, `LinearDecay`); find the learning rates
that make the loss go down (`LRFinder`); and stop a run whose loss explodes,
naming the learning rate as the likely cause (`DivergenceGuard`).
"""

import math
import os
import warnings

import keras
import numpy as np

from kerasreg._snapshot import restore, snapshot
from kerasreg._validation import check_bool, check_choice, check_number, fail
from kerasreg.curves import ema

WEIGHTS_SUFFIX = ".weights.h5"


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


EXPLODING_FACTOR = 4.0  # a loss this many times a reference one has exploded


def diverged(loss, reference, factor=EXPLODING_FACTOR):
    """Whether a loss is NaN, infinite, or more than `factor` times `reference`.

    The test `DivergenceGuard`, `LRFinder` and
    `kerasreg.preprocessing.sgd_loss_curves` share.

    Args:
        loss: the latest loss.
        reference: a loss the run has already reached (its first or best).
        factor: how many times `reference` counts as exploding. Defaults
            to `4.0`.

    Returns:
        A bool.

    Example:
    >>> diverged(float("nan"), 2.3, 10), diverged(30.0, 2.3, 10), diverged(3.0, 2.3, 10)
    (True, True, False)
    """
    check_number("factor", factor, 1, low_open=True)
    return not math.isfinite(loss) or loss > factor * reference


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


def _check_weights_path(path):
    if path is not None and not (isinstance(path, (str, os.PathLike))
                                 and os.fspath(path).endswith(WEIGHTS_SUFFIX)):
        fail("checkpoint_path", f"None or a file path ending in {WEIGHTS_SUFFIX!r}", path)
    return path


def save_weights_atomically(model, path):
    """Write `model`'s weights to `path` so that `path` is never half-written.

    The weights go to a temporary file beside `path` (`.<name>.tmp.weights.h5`,
    so a save killed half-way leaves one that the next save replaces),
    flushed to disk, renamed over `path` (`os.replace` is atomic on POSIX and
    Windows), and the folder is flushed so that the rename survives a power
    cut. A process killed at any moment leaves either the previous complete
    file or the new complete file at `path`, with the permissions Keras'
    `save_weights` gives (the umask's).

    Args:
        model: a built `keras.Model`.
        path: destination, ending in `.weights.h5`.

    Example:
    >>> import tempfile, pathlib
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> folder = tempfile.mkdtemp()
    >>> save_weights_atomically(model, f"{folder}/best.weights.h5")
    >>> sorted(path.name for path in pathlib.Path(folder).iterdir())
    ['best.weights.h5']
    """
    _check_weights_path(path)
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    temporary = os.path.join(folder, f".{name[:-len(WEIGHTS_SUFFIX)]}.tmp{WEIGHTS_SUFFIX}")
    try:
        model.save_weights(temporary, overwrite=True)
        with open(temporary, "rb") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    if os.name == "nt":  # Windows cannot open a folder; its renames are journaled
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _prepare_checkpoint_folder(path):
    """Create `path`'s folder as Keras' `ModelCheckpoint` does; fail now if it cannot be written."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        fail("checkpoint_path", f"a file in a folder that can be created ({error.strerror})", path)
    if not os.access(folder, os.W_OK | os.X_OK):
        fail("checkpoint_path", "a file in a writable folder", path)


class EarlyStopping(keras.callbacks.EarlyStopping):
    """Stop when the validation error plateaus; keep and restore the best weights.

    The lecture's recipe: every time the validation error improves, store a
    copy of the weights; when it has not improved for `patience` epochs,
    stop; return the stored copy. This is `keras.callbacks.EarlyStopping`
    with `restore_best_weights=True` by default, plus:

    - `checkpoint_path`: the best weights are also written to disk at every
      improvement, atomically (temporary file, then `os.replace`), so a run
      killed at any point leaves a loadable file with the best weights so
      far, never a half-written one; a missing folder is created when
      training begins (as Keras' `ModelCheckpoint` does) and an unwritable
      one is refused then, naming `checkpoint_path`;
    - `best_value` (the best monitored value), next to Keras' `best_epoch`
      and `stopped_epoch` (epochs counted from 0; both reset by each `fit`
      and stay 0 until set, as in Keras);
    - the best weights are restored when training ends, stopped early or not;
    - argument checks, and an error when `monitor` is not among the logged
      metrics at the first epoch's end (Keras only warns, every epoch).

    Args:
        monitor: logged quantity to watch. Defaults to `"val_loss"`.
        patience: epochs without improvement before stopping, an integer
            >= 0. Defaults to `10`.
        min_delta: smallest change that counts as an improvement, >= 0.
            Defaults to `0.0`.
        mode: `"min"`, `"max"`, or `"auto"` (from the monitor's name).
            Defaults to `"auto"`.
        restore_best_weights: restore the best weights at the end.
            Defaults to `True`.
        checkpoint_path: file (ending in `.weights.h5`) for the on-disk copy
            of the best weights; `None` keeps the copy in memory only.
            Defaults to `None`.
        start_from_epoch: epochs to train before watching, an integer >= 0.
            Defaults to `0`.
        baseline: value the monitor must beat, as in Keras. Defaults to `None`.
        verbose: 1 prints when it stops and restores. Defaults to `0`.

    Example:
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> stopper = EarlyStopping(monitor="loss", patience=2)
    >>> history = model.fit(np.ones((8, 1)), np.ones((8, 1)), epochs=3, verbose=0,
    ...                     callbacks=[stopper])
    >>> stopper.best_epoch, stopper.best_value == min(history.history["loss"])
    (2, True)

    Reference:
        Prechelt, "Early Stopping - But When?", Neural Networks: Tricks of
        the Trade, 1998.
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, mode="auto",
                 restore_best_weights=True, checkpoint_path=None, start_from_epoch=0,
                 baseline=None, verbose=0):
        if not (isinstance(monitor, str) and monitor):
            fail("monitor", "the name of a logged metric, e.g. 'val_loss'", monitor)
        check_number("patience", patience, 0, integer=True)
        check_number("min_delta", min_delta, 0)
        check_choice("mode", mode, ("auto", "min", "max"))
        check_bool("restore_best_weights", restore_best_weights)
        check_number("start_from_epoch", start_from_epoch, 0, integer=True)
        if baseline is not None:
            check_number("baseline", baseline)
        super().__init__(monitor=monitor, min_delta=min_delta, patience=patience,
                         verbose=verbose, mode=mode, baseline=baseline,
                         restore_best_weights=restore_best_weights,
                         start_from_epoch=start_from_epoch)
        self.checkpoint_path = _check_weights_path(checkpoint_path)

    @property
    def best_value(self):
        """The best monitored value so far (`None` before the first)."""
        return self.best

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.checkpoint_path is not None:
            _prepare_checkpoint_folder(self.checkpoint_path)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if epoch >= self.start_from_epoch:
            self._check_monitor(logs)
        best_before = self.best
        super().on_epoch_end(epoch, logs)
        if self.best is not best_before and self.checkpoint_path is not None:
            save_weights_atomically(self.model, self.checkpoint_path)

    def _check_monitor(self, logs):
        if self.monitor in logs or self.best is not None:
            return
        available = sorted(logs)
        if self.monitor.startswith("val_") and not any(k.startswith("val_") for k in available):
            warnings.warn(f"EarlyStopping watches `monitor={self.monitor!r}` but this epoch "
                          f"logged no validation metrics: pass `validation_data` to "
                          f"`fit`. Logged: {', '.join(available)}.", stacklevel=3)
            return
        fail("monitor", "one of the logged metrics " + ", ".join(map(repr, available)),
             self.monitor)


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


class LRFinder(keras.callbacks.Callback):
    """Learning-rate range test: raise the rate every batch, record the loss.

    The lecture's step 3, "find a learning rate that makes the loss drop",
    done in one short run: the rate grows geometrically from `min_lr` to
    `max_lr` over `steps` batches, the loss of each batch is recorded, and
    the test stops early once the smoothed loss passes `diverge_factor`
    times its best (the first tenth of the test aside) or a loss is NaN.
    `suggestion()` is the rate where the smoothed loss falls fastest. The
    model's weights, the optimizer's state and its learning rate are
    restored when the test ends, so the model is ready to train for real.

    Use it as a callback of a `fit` that runs at least `steps` batches
    (`run(model, x, y)` works out the epochs); it resets Keras' running
    metric means before each batch, so the logged loss is that batch's.

    Args:
        min_lr: first rate, > 0. Defaults to `1e-7`.
        max_lr: last rate, above `min_lr`. Defaults to `10.0`.
        steps: batches in the test, an integer >= 2. Defaults to `100`.
        beta: EMA weight of the smoothed loss. Defaults to `0.9`.
        diverge_factor: stop when the smoothed loss exceeds this many times
            its minimum. Defaults to `4.0`.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(keras.optimizers.SGD(), "mse")
    >>> x = np.random.default_rng(0).normal(size=(64, 2))
    >>> finder = LRFinder(min_lr=1e-4, max_lr=10.0, steps=50).run(model, x, x.sum(1),
    ...                                                             batch_size=8)
    >>> len(finder.lrs) == len(finder.losses) <= 50
    True

    Reference:
        Smith, "Cyclical Learning Rates for Training Neural Networks",
        WACV 2017.
    """

    def __init__(self, min_lr=1e-7, max_lr=10.0, steps=100, beta=0.9,
                 diverge_factor=EXPLODING_FACTOR):
        super().__init__()
        self.min_lr = check_number("min_lr", min_lr, 0, low_open=True)
        self.max_lr = check_number("max_lr", max_lr, min_lr, low_open=True)
        self.steps = check_number("steps", steps, 2, integer=True)
        self.beta = check_number("beta", beta, 0, 1, high_open=True)
        self.diverge_factor = check_number("diverge_factor", diverge_factor, 1, low_open=True)
        self.lrs, self.losses = [], []
        self._saved = None

    def schedule(self):
        """The `steps` rates of the test: geometric from `min_lr` to `max_lr`."""
        return np.geomspace(self.min_lr, self.max_lr, self.steps)

    def run(self, model, x, y, batch_size=32, **fit_kwargs):
        """Run the range test with `model.fit` on `(x, y)`; returns `self`.

        Args:
            model: a compiled `keras.Model`.
            x: training inputs (arrays).
            y: training targets.
            batch_size: batch size. Defaults to `32`.
            **fit_kwargs: further `fit` arguments (not `epochs`, `callbacks`).

        Returns:
            This finder, with `lrs` and `losses` filled.
        """
        batches_per_epoch = math.ceil(len(x) / batch_size)
        model.fit(x, y, batch_size=batch_size, epochs=math.ceil(self.steps / batches_per_epoch),
                  callbacks=[self], verbose=0, **fit_kwargs)
        return self

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        self.lrs, self.losses = [], []
        self._saved = (snapshot(self.model.weights + list(optimizer.variables)),
                       learning_rate_of(optimizer))

    def on_train_batch_begin(self, batch, logs=None):
        self.model.reset_metrics()
        self.model.optimizer.learning_rate = float(self.schedule()[len(self.losses)])

    def on_train_batch_end(self, batch, logs=None):
        self.lrs.append(learning_rate_of(self.model.optimizer))
        self.losses.append(float((logs or {})["loss"]))
        settled = ema(self.losses, self.beta)[self.steps // 10:]  # skip a lucky first batch
        if len(self.losses) >= self.steps or not math.isfinite(self.losses[-1]) or (
                len(settled) and diverged(settled[-1], settled.min(), self.diverge_factor)):
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        saved, learning_rate = self._saved
        restore(saved)
        self.model.optimizer.learning_rate = learning_rate

    def suggestion(self):
        """The rate where the smoothed loss falls fastest (per decade of rate).

        Only the part of the curve before the smoothed loss's minimum is
        searched, so the diverging tail cannot win. A range in which the
        loss never goes down (its smoothed minimum within the first two
        batches: every rate already too high) has no such rate, and raises
        rather than suggesting `min_lr`.

        Returns:
            A float learning rate.

        Raises:
            RuntimeError: before a test has recorded at least 5 batches, or
                when the loss did not decrease anywhere in the range.
        """
        finite = np.isfinite(self.losses)
        end = len(finite) if finite.all() else int(np.argmin(finite))
        if end < 5:
            raise RuntimeError("LRFinder.suggestion() needs a range test with at least 5 "
                               f"finite losses first; recorded {end}.")
        smoothed = ema(self.losses[:end], self.beta)
        lowest = int(np.argmin(smoothed))
        if lowest < 2:
            raise RuntimeError(
                f"LRFinder found no learning rate at which the loss decreases: from "
                f"{self.lrs[0]:.3g} to {self.lrs[end - 1]:.3g} the smoothed loss only rose "
                f"(from {smoothed[0]:.4g} to {smoothed[-1]:.4g}), so every rate of the range "
                f"is already too high. Run the test again with a smaller min_lr.")
        slopes = np.gradient(smoothed[:lowest + 1], np.log10(self.lrs[:lowest + 1]))
        return float(self.lrs[int(np.argmin(slopes))])

    def plot(self):
        """The range-test curve: loss per batch against the rate (log scale).

        Scatter of each batch's loss, its EMA, and the suggestion marked
        (when the loss decreased somewhere in the range; see `suggestion`).

        Returns:
            The matplotlib `Figure`.
        """
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(6, 3.5))
        axis.scatter(self.lrs, self.losses, s=10, alpha=0.4, label="loss of each batch")
        axis.plot(self.lrs, ema(self.losses, self.beta), label="EMA")
        try:
            suggestion = self.suggestion()
        except RuntimeError as error:
            axis.set_title("no suggestion (see the warning)", fontsize=9)
            warnings.warn(str(error), RuntimeWarning, stacklevel=2)
        else:
            axis.axvline(suggestion, color="gray", linestyle="--",
                         label=f"suggestion {suggestion:.2g}")
        finite = np.asarray(self.losses)[np.isfinite(self.losses)]
        axis.set_ylim(0, min(finite.max(), 3 * finite[0]) * 1.05)
        axis.set(xscale="log", xlabel="learning rate", ylabel="training loss")
        axis.legend(fontsize=8)
        return figure
