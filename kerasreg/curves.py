"""Learning curves: moving average, scatter + EMA plot, divergence, and their reading."""

import math

import numpy as np

from kerasreg._validation import check_number, fail


def ema(values, beta=0.9):
    """Exponentially decaying moving average, starting at the first value.

    `s_0 = v_0`, `s_t = beta * s_{t-1} + (1 - beta) * v_t`: the trend line
    the lecture draws through a noisy loss.

    Args:
        values: a sequence of numbers.
        beta: weight of the past, in [0, 1). Defaults to `0.9`.

    Returns:
        A float NumPy array of the same length.

    Example:
    >>> ema([1.0, 0.0, 0.0], beta=0.5).tolist()
    [1.0, 0.5, 0.25]
    """
    check_number("beta", beta, 0, 1, high_open=True)
    values = np.asarray(values, dtype="float64")
    if values.ndim != 1 or not len(values):
        fail("values", "a non-empty sequence of numbers", values.tolist())
    smoothed = np.empty_like(values)
    for index, value in enumerate(values):
        smoothed[index] = value if index == 0 else beta * smoothed[index - 1] + (1 - beta) * value
    return smoothed


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


def plot_history(history, metrics=("loss", "accuracy"), beta=0.6, best_epoch=None,
                 ema_above=50):
    """Each metric's curve, train and validation, one panel per metric.

    A curve of up to `ema_above` points (a history of epochs) is drawn as
    its points joined by lines, on integer epoch ticks: smoothing a few
    epoch means would only shift them. A longer curve (per-iteration
    losses, or a very long run) is drawn as the lecture's scatter of the
    raw values plus their EMA trend line.

    Args:
        history: a Keras `History` or its `.history` dict.
        metrics: names to plot; those missing from the history are skipped.
            Defaults to `("loss", "accuracy")`.
        beta: EMA weight of the trend lines. Defaults to `0.6`.
        best_epoch: epoch (from 0) to mark with a vertical line. Defaults to `None`.
        ema_above: curves with more points than this get the scatter and
            EMA; an integer >= 0. Defaults to `50`.

    Returns:
        The matplotlib `Figure`.

    Example:
    >>> figure = plot_history({"loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.3, 1.2]})
    >>> ticks = figure.axes[0].get_xticks()  # whole epochs
    >>> len(figure.axes), ticks[(ticks >= 0) & (ticks <= 2)].tolist()
    (1, [0.0, 1.0, 2.0])
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    check_number("beta", beta, 0, 1, high_open=True)
    check_number("ema_above", ema_above, 0, integer=True)
    logs = getattr(history, "history", history)
    metrics = [metric for metric in metrics if metric in logs]
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5),
                                squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        for prefix, colour in (("", "tab:blue"), ("val_", "tab:orange")):
            values = logs.get(prefix + metric)
            if values is None:
                continue
            epochs = np.arange(len(values))
            label = "val" if prefix else "train"
            if len(values) > ema_above:
                axis.scatter(epochs, values, s=12, color=colour, alpha=0.5, label=label)
                axis.plot(epochs, ema(values, beta), color=colour, label=f"{label} (EMA)")
            else:
                axis.plot(epochs, values, color=colour, marker="o", markersize=4, label=label)
        if best_epoch is not None:
            axis.axvline(best_epoch, color="gray", linestyle="--", label="best epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


LABELS = ("overfitting", "underfitting", "keep_training", "good_fit", "unstable", "diverged")
ADVICE = {
    "overfitting": "huge train / val gap: increase regularization, get more data",
    "underfitting": "no gap, but training has stalled short of the target: train longer, "
                    "use a bigger model",
    "keep_training": "the validation curve is still improving: train longer",
    "good_fit": "small gap, validation has levelled off: keep this model",
    "unstable": "the loss jumps up instead of falling steadily (a spike, not a train / val "
                "gap): lower or decay the learning rate",
    "diverged": "the history holds NaN or inf: the run diverged (learning rate too high, bad "
                "initialization or inputs) and its curves cannot be read as a fit",
}
SERIES = ("loss", "val_loss", "accuracy", "val_accuracy")
SPIKE_WINDOW = 4  # a jump is measured against the median of this many epochs before it
SPIKE_FLOOR = 0.1  # ... and never against less than this fraction of the first epoch's loss


class Diagnosis:
    """The reading of a learning curve: `label`, `evidence` (the figures) and `advice`."""

    def __init__(self, label, evidence):
        self.label = label
        self.evidence = evidence
        self.advice = ADVICE[label]

    def __repr__(self):
        figures = ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else
                            f"{name}={value}" for name, value in self.evidence.items())
        return f"Diagnosis({self.label!r}: {self.advice}; {figures})"


def diagnose(history, max_gap=0.05, max_rise=0.1, min_improvement=0.02,
             target_accuracy=0.95, beta=0.6, max_spike=0.5):
    """Read a learning curve the way the lecture does.

    In this order:

    1. `"diverged"`: a loss or accuracy of the history is NaN or infinite;
       no fit is read from such a curve.
    2. `"overfitting"`: a huge train / val gap, i.e. train accuracy above
       val accuracy by more than `max_gap`.
    3. `"unstable"`: the training loss jumps up, from one epoch to the
       next, by more than `max_spike` times its level (the median of the 4
       epochs before): a healthy optimizer does not raise its own loss.
    4. `"overfitting"`: the val loss has risen more than `max_rise`
       (relative) above its minimum; one val-loss spike (a jump as in 3)
       is taken out first, so a single unstable epoch is not read as a
       growing gap.
    5. `"unstable"`: that val-loss spike, when steps 2-4 found nothing
       else (as when the last epoch jumps).
    6. `"keep_training"`: the val accuracy still going up, by more than
       `min_improvement` over the last quarter of the epochs (without an
       accuracy: the val loss still falling by more than that fraction).
    7. `"underfitting"`: no gap, and training has stalled below
       `target_accuracy` (without an accuracy: the train loss has not
       halved since the first epoch).
    8. `"good_fit"` otherwise.

    Levels (gap, rise, accuracy) are read on the EMA-smoothed curves, the
    lecture's trend lines; the recent improvement is the least-squares
    line through the last quarter of the raw val curve, so one noisy epoch
    does not decide it. See `curve_evidence`.

    Args:
        history: a Keras `History` or its `.history` dict, with `loss` and
            `val_loss` (and `accuracy`, `val_accuracy` when logged), at
            least 2 epochs, losses >= 0.
        max_gap: largest train - val accuracy gap that is not overfitting.
            Defaults to `0.05`.
        max_rise: largest relative rise of the val loss above its minimum
            that is not overfitting. Defaults to `0.1`.
        min_improvement: smallest gain over the last quarter of the epochs
            that counts as still improving. Defaults to `0.02`.
        target_accuracy: train accuracy below which a curve with no gap is
            underfitting. Defaults to `0.95`.
        beta: EMA weight of the smoothing. Defaults to `0.6`.
        max_spike: largest jump of a loss from one epoch to the next,
            relative to its level, that is not a spike. Defaults to `0.5`.

    Returns:
        A `Diagnosis`: `.label` in `LABELS`, `.evidence` a dict of the
        figures that decided it, `.advice` the lecture's remedy.

    Example:
    >>> diagnose({"loss": [1.0, 0.5, 0.2, 0.1, 0.05, 0.02],
    ...           "val_loss": [1.0, 0.6, 0.5, 0.6, 0.8, 1.0]}).label
    'overfitting'
    >>> diagnose({"loss": [1.0, 0.5, 0.2, 0.1, 0.05, 0.5],
    ...           "val_loss": [1.0, 0.6, 0.5, 0.45, 0.44, 1.0]}).label
    'unstable'
    >>> diagnose({"loss": [1.0, 0.5, float("nan")], "val_loss": [1.0, 0.6, 0.5]}).evidence
    {'epochs': 3, 'first_nonfinite_epoch': 2, 'nonfinite': ['loss']}
    """
    check_number("max_gap", max_gap, 0)
    check_number("max_rise", max_rise, 0)
    check_number("min_improvement", min_improvement, 0)
    check_number("target_accuracy", target_accuracy, 0, 1)
    evidence = curve_evidence(history, beta, max_spike)
    if "nonfinite" in evidence:
        return Diagnosis("diverged", evidence)
    has_accuracy = "accuracy_gap" in evidence
    if has_accuracy and evidence["accuracy_gap"] > max_gap:
        return Diagnosis("overfitting", evidence)
    if evidence["loss_spike"] > max_spike:
        return Diagnosis("unstable", evidence)
    if evidence["val_loss_rise"] > max_rise:
        return Diagnosis("overfitting", evidence)
    if evidence["val_loss_spike"] > max_spike:
        return Diagnosis("unstable", evidence)
    if evidence["recent_improvement"] > min_improvement:
        return Diagnosis("keep_training", evidence)
    stalled = (evidence["train_accuracy"] < target_accuracy if has_accuracy
               else evidence["train_loss_ratio"] > 0.5)
    return Diagnosis("underfitting" if stalled else "good_fit", evidence)


def curve_evidence(history, beta=0.6, max_spike=0.5):
    """The figures `diagnose` reads from a learning curve.

    Args:
        history: a Keras `History` or its `.history` dict.
        beta: EMA weight of the smoothed levels. Defaults to `0.6`.
        max_spike: a val-loss jump above this is taken out of
            `val_loss_rise`. Defaults to `0.5`.

    Returns:
        A dict. For a history holding NaN or inf (in `loss`, `val_loss`,
        `accuracy` or `val_accuracy`): `epochs`, `first_nonfinite_epoch`
        and `nonfinite` (the names of those series), nothing else.
        Otherwise: `epochs`; `loss_spike` and `val_loss_spike`, the
        largest rise of the raw loss from one epoch to the next, relative
        to its level (the median of the 4 epochs before, or a tenth of the
        first epoch's loss when that is larger, so that noise on a loss
        near 0 is no spike; 0 when the loss never rose), with
        `loss_spike_epoch` and `val_loss_spike_epoch` when above 0;
        `val_loss_rise` (last smoothed val loss over its minimum, minus 1,
        after a val-loss spike above `max_spike` is replaced by the epoch
        before it); `train_loss_ratio` (last smoothed train loss over the
        first); `recent_improvement`, the rise of the least-squares line through
        the last quarter of the epochs (at least 2 epochs) of the val
        accuracy, or without an accuracy the relative fall of the val
        loss; and with an accuracy, the smoothed `train_accuracy`,
        `val_accuracy` and their difference `accuracy_gap`.

    Example:
    >>> curve_evidence({"loss": [2.0, 1.0], "val_loss": [2.0, 1.5]}, beta=0.0)["val_loss_rise"]
    0.0
    """
    check_number("max_spike", max_spike, 0)
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or any(len(logs.get(k) or ()) < 2 for k in ("loss", "val_loss")):
        raise ValueError("`history` must be a Keras History (or its .history dict) with "
                         "at least 2 epochs of 'loss' and 'val_loss'. Received keys: "
                         f"{sorted(logs) if isinstance(logs, dict) else type(logs).__name__}")
    series = {name: np.asarray(logs[name], dtype="float64") for name in SERIES if name in logs}
    nonfinite = {name: int(np.argmin(np.isfinite(values))) for name, values in series.items()
                 if not np.isfinite(values).all()}
    if nonfinite:
        return {"epochs": len(series["loss"]), "first_nonfinite_epoch": min(nonfinite.values()),
                "nonfinite": sorted(nonfinite, key=SERIES.index)}
    evidence = {"epochs": len(series["loss"])}
    for name in ("loss", "val_loss"):
        spike, epoch = _largest_spike(series[name])
        evidence[f"{name}_spike"] = spike
        if spike > 0:
            evidence[f"{name}_spike_epoch"] = epoch
    despiked = series["val_loss"].copy()
    if evidence["val_loss_spike"] > max_spike:
        epoch = evidence["val_loss_spike_epoch"]
        despiked[epoch] = despiked[epoch - 1]
    loss, val_loss = ema(series["loss"], beta), ema(despiked, beta)
    evidence.update(val_loss_rise=_relative(val_loss[-1], val_loss.min()),
                    train_loss_ratio=float(loss[-1] / loss[0]) if loss[0] > 0 else 0.0)
    if "accuracy" in series and "val_accuracy" in series:
        train, val = ema(series["accuracy"], beta), ema(series["val_accuracy"], beta)
        evidence.update(train_accuracy=float(train[-1]), val_accuracy=float(val[-1]),
                        accuracy_gap=float(train[-1] - val[-1]),
                        recent_improvement=_recent_rise(series["val_accuracy"]))
    else:
        fall = -_recent_rise(series["val_loss"])
        evidence["recent_improvement"] = fall / float(val_loss[-1]) if val_loss[-1] > 0 else 0.0
    return evidence


def _relative(value, reference):
    """`value / reference - 1`, with 0 for 0 / 0 and inf above a reference of 0."""
    if reference > 0:
        return float(value / reference - 1)
    return 0.0 if value <= reference else float("inf")


def _largest_spike(values):
    """Largest rise of `values` from one epoch to the next, relative to its level; its epoch."""
    jumps = []
    for t in range(1, len(values)):
        step = values[t] - values[t - 1]
        scale = max(np.median(values[max(0, t - SPIKE_WINDOW):t]), SPIKE_FLOOR * values[0])
        jumps.append(float(step / scale) if scale > 0 else float("inf") if step > 0 else 0.0)
    epoch = int(np.argmax(jumps)) + 1
    return max(jumps[epoch - 1], 0.0), epoch


def _recent_rise(values):
    """Rise of the least-squares line through the last quarter of `values`."""
    recent = np.asarray(values[-max(2, len(values) // 4 + 1):], dtype="float64")
    slope = np.polyfit(np.arange(len(recent)), recent, 1)[0]
    return float(slope * (len(recent) - 1))
