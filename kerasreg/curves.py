"""Learning curves: exponential moving average, scatter + EMA plot, and their reading."""

import numpy as np

from kerasreg._validation import check_number


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
    smoothed = np.empty_like(values)
    for index, value in enumerate(values):
        smoothed[index] = value if index == 0 else beta * smoothed[index - 1] + (1 - beta) * value
    return smoothed


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


LABELS = ("overfitting", "underfitting", "keep_training", "good_fit")
ADVICE = {
    "overfitting": "huge train / val gap: increase regularization, get more data",
    "underfitting": "no gap, but training has stalled short of the target: train longer, "
                    "use a bigger model",
    "keep_training": "the validation curve is still improving: train longer",
    "good_fit": "small gap, validation has levelled off: keep this model",
}


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
             target_accuracy=0.95, beta=0.6):
    """Read a learning curve the way the lecture does.

    In this order:

    1. `"overfitting"`: a huge train / val gap, i.e. train accuracy above val
       accuracy by more than `max_gap`, or the val loss risen more than
       `max_rise` (relative) above its minimum.
    2. `"keep_training"`: the val accuracy still going up, by more than
       `min_improvement` over the last quarter of the epochs (without an
       accuracy: the val loss still falling by more than that fraction).
    3. `"underfitting"`: no gap, and training has stalled below
       `target_accuracy` (without an accuracy: the train loss has not
       halved since the first epoch).
    4. `"good_fit"` otherwise.

    Levels (gap, rise, accuracy) are read on the EMA-smoothed curves, the
    lecture's trend lines; the recent improvement is the least-squares
    line through the last quarter of the raw val curve, so one noisy epoch
    does not decide it. See `curve_evidence`.

    Args:
        history: a Keras `History` or its `.history` dict, with `loss` and
            `val_loss` (and `accuracy`, `val_accuracy` when logged), at
            least 2 epochs.
        max_gap: largest train - val accuracy gap that is not overfitting.
            Defaults to `0.05`.
        max_rise: largest relative rise of the val loss above its minimum
            that is not overfitting. Defaults to `0.1`.
        min_improvement: smallest gain over the last quarter of the epochs
            that counts as still improving. Defaults to `0.02`.
        target_accuracy: train accuracy below which a curve with no gap is
            underfitting. Defaults to `0.95`.
        beta: EMA weight of the smoothing. Defaults to `0.6`.

    Returns:
        A `Diagnosis`: `.label` in `LABELS`, `.evidence` a dict of the
        figures that decided it, `.advice` the lecture's remedy.

    Example:
    >>> diagnose({"loss": [1.0, 0.5, 0.2, 0.1, 0.05, 0.02],
    ...           "val_loss": [1.0, 0.6, 0.5, 0.6, 0.8, 1.0]}).label
    'overfitting'
    """
    check_number("max_gap", max_gap, 0)
    check_number("max_rise", max_rise, 0)
    check_number("min_improvement", min_improvement, 0)
    check_number("target_accuracy", target_accuracy, 0, 1)
    evidence = curve_evidence(history, beta)
    has_accuracy = "accuracy_gap" in evidence
    gap = has_accuracy and evidence["accuracy_gap"] > max_gap
    if gap or evidence["val_loss_rise"] > max_rise:
        return Diagnosis("overfitting", evidence)
    if evidence["recent_improvement"] > min_improvement:
        return Diagnosis("keep_training", evidence)
    stalled = (evidence["train_accuracy"] < target_accuracy if has_accuracy
               else evidence["train_loss_ratio"] > 0.5)
    return Diagnosis("underfitting" if stalled else "good_fit", evidence)


def curve_evidence(history, beta=0.6):
    """The figures `diagnose` reads from a learning curve.

    Args:
        history: a Keras `History` or its `.history` dict.
        beta: EMA weight of the smoothed levels. Defaults to `0.6`.

    Returns:
        A dict: `epochs`; `val_loss_rise` (last smoothed val loss over its
        minimum, minus 1); `train_loss_ratio` (last smoothed train loss over
        the first); `recent_improvement`, the rise of the least-squares line
        through the last quarter of the epochs (at least 2 epochs) of the
        val accuracy, or without an accuracy the relative fall of the val
        loss; and with an accuracy, the smoothed `train_accuracy`,
        `val_accuracy` and their difference `accuracy_gap`.

    Example:
    >>> curve_evidence({"loss": [2.0, 1.0], "val_loss": [2.0, 1.5]}, beta=0.0)["val_loss_rise"]
    0.0
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or any(len(logs.get(k) or ()) < 2 for k in ("loss", "val_loss")):
        raise ValueError("`history` must be a Keras History (or its .history dict) with "
                         "at least 2 epochs of 'loss' and 'val_loss'. Received keys: "
                         f"{sorted(logs) if isinstance(logs, dict) else type(logs).__name__}")
    curves = {name: ema(logs[name], beta) for name in ("loss", "val_loss")}
    val_loss = curves["val_loss"]
    evidence = {"epochs": len(val_loss),
                "val_loss_rise": float(val_loss[-1] / val_loss.min() - 1),
                "train_loss_ratio": float(curves["loss"][-1] / curves["loss"][0])}
    if "accuracy" in logs and "val_accuracy" in logs:
        train, val = ema(logs["accuracy"], beta), ema(logs["val_accuracy"], beta)
        evidence.update(train_accuracy=float(train[-1]), val_accuracy=float(val[-1]),
                        accuracy_gap=float(train[-1] - val[-1]),
                        recent_improvement=_recent_rise(logs["val_accuracy"]))
    else:
        evidence["recent_improvement"] = -_recent_rise(logs["val_loss"]) / float(val_loss[-1])
    return evidence


def _recent_rise(values):
    """Rise of the least-squares line through the last quarter of `values`."""
    recent = np.asarray(values[-max(2, len(values) // 4 + 1):], dtype="float64")
    slope = np.polyfit(np.arange(len(recent)), recent, 1)[0]
    return float(slope * (len(recent) - 1))
