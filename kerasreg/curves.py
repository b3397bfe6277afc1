"""Learning curves: exponential moving average and the lecture's scatter + EMA plot."""

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


def plot_history(history, metrics=("loss", "accuracy"), beta=0.6, best_epoch=None):
    """Scatter plus EMA of each metric, train and validation, one panel per metric.

    Args:
        history: a Keras `History` or its `.history` dict.
        metrics: names to plot; those missing from the history are skipped.
            Defaults to `("loss", "accuracy")`.
        beta: EMA weight of the trend lines. Defaults to `0.6`.
        best_epoch: epoch (from 0) to mark with a vertical line. Defaults to `None`.

    Returns:
        The matplotlib `Figure`.

    Example:
    >>> figure = plot_history({"loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.3, 1.2]})
    >>> len(figure.axes)
    1
    """
    import matplotlib.pyplot as plt

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
            axis.scatter(epochs, values, s=12, color=colour, alpha=0.5, label=label)
            axis.plot(epochs, ema(values, beta), color=colour, label=f"{label} (EMA)")
        if best_epoch is not None:
            axis.axvline(best_epoch, color="gray", linestyle="--", label="best epoch")
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
