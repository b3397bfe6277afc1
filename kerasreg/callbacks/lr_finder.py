"""The learning-rate range test: the rates over which the loss goes down.

`LRFinder` raises the rate geometrically batch by batch, records the loss,
stops when it explodes, puts the model and optimizer back, and suggests
the rate where the smoothed loss falls fastest.
"""

import math
import warnings

import keras
import numpy as np

from kerasreg._snapshot import restore, snapshot
from kerasreg._validation import check_number
from kerasreg.callbacks.schedules import learning_rate_of
from kerasreg.curves import EXPLODING_FACTOR, diverged, ema


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
