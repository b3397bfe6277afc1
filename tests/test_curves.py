"""Tests for kerasreg.curves: ema, plot_history, diagnose.

References: the EMA recursion written out in NumPy; synthetic histories
built to be one case each of the lecture's readings (a huge train / val
gap, no gap and stalled, still improving, levelled off with a small gap);
and two real histories on the digits (a big MLP on 200 examples; softmax
regression on 4x4 thumbnails), the set-ups the labs read.
"""

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from kerasreg import datasets, models
from kerasreg.curves import LABELS, curve_evidence, diagnose, ema, plot_history

matplotlib.use("Agg")

EPOCHS = np.arange(30)


def _history(loss, val_loss, accuracy=None, val_accuracy=None):
    history = {"loss": list(loss), "val_loss": list(val_loss)}
    if accuracy is not None:
        history.update(accuracy=list(accuracy), val_accuracy=list(val_accuracy))
    return history


SYNTHETIC = {
    "overfitting": _history(np.exp(-EPOCHS / 5), 0.4 + 0.002 * (EPOCHS - 10) ** 2,
                            1 - 0.5 * np.exp(-EPOCHS / 3), 0.85 - 0.35 * np.exp(-EPOCHS / 3)),
    "underfitting": _history(1.2 + np.exp(-EPOCHS), 1.25 + np.exp(-EPOCHS),
                             0.6 - 0.3 * np.exp(-EPOCHS), 0.59 - 0.3 * np.exp(-EPOCHS)),
    "keep_training": _history(2 - EPOCHS / 20, 2.05 - EPOCHS / 20,
                              0.3 + EPOCHS / 50, 0.29 + EPOCHS / 50),
    "good_fit": _history(0.05 + np.exp(-EPOCHS / 3), 0.1 + np.exp(-EPOCHS / 3),
                         0.99 - 0.6 * np.exp(-EPOCHS / 3), 0.97 - 0.6 * np.exp(-EPOCHS / 3)),
}


# ---------------------------------------------------------------- ema

def test_ema_starts_at_the_first_value_and_follows_the_recursion():
    values = np.random.default_rng(0).normal(size=50)
    expected = [values[0]]
    for value in values[1:]:
        expected.append(0.8 * expected[-1] + 0.2 * value)
    np.testing.assert_allclose(ema(values, beta=0.8), expected, rtol=1e-12)


def test_ema_with_beta_zero_is_the_identity():
    assert ema([3.0, 1.0, 2.0], beta=0.0).tolist() == [3.0, 1.0, 2.0]


def test_ema_rejects_beta_of_one():
    with pytest.raises(ValueError, match=r"`beta` must be a number in \[0, 1\)\. Received: beta=1"):
        ema([1.0], beta=1)


# ---------------------------------------------------------------- plot_history

def test_plot_history_draws_epoch_curves_as_points_and_lines_without_ema():
    figure = plot_history(SYNTHETIC["overfitting"], metrics=("loss", "accuracy", "missing"))
    assert len(figure.axes) == 2
    loss_axis = figure.axes[0]
    assert len(loss_axis.collections) == 0 and len(loss_axis.lines) == 2  # train + val
    for line, key in zip(loss_axis.lines, ("loss", "val_loss")):
        assert line.get_marker() == "o" and line.get_linestyle() == "-"
        np.testing.assert_array_equal(line.get_ydata(), SYNTHETIC["overfitting"][key])  # raw
    plt.close(figure)


def test_plot_history_puts_epoch_ticks_on_whole_numbers():
    figure = plot_history({"loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.3, 1.2]})
    ticks = figure.axes[0].get_xticks()
    assert np.array_equal(ticks, np.round(ticks)) and {0, 1, 2} <= set(ticks.tolist())
    plt.close(figure)


def test_plot_history_smooths_a_per_iteration_curve_with_scatter_and_ema():
    losses = 2 * np.exp(-np.arange(300) / 60) + np.random.default_rng(0).normal(0, 0.1, 300)
    figure = plot_history({"loss": losses, "val_loss": losses + 0.1}, metrics=("loss",))
    axis = figure.axes[0]
    assert len(axis.collections) == 2 and len(axis.lines) == 2  # scatter + EMA, train + val
    np.testing.assert_allclose(axis.lines[0].get_ydata(), ema(losses, 0.6), rtol=1e-12)
    plt.close(figure)


@pytest.mark.parametrize("kwargs, message", [
    ({"beta": 1.0}, r"`beta` must be a number in \[0, 1\)\. Received: beta=1\.0"),
    ({"ema_above": -1}, r"`ema_above` must be an integer >= 0\. Received: ema_above=-1"),
])
def test_plot_history_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_history(SYNTHETIC["good_fit"], **kwargs)


def test_plot_history_marks_the_best_epoch():
    figure = plot_history(SYNTHETIC["overfitting"], metrics=("loss",), best_epoch=10)
    assert [line.get_xdata()[0] for line in figure.axes[0].lines[2:]] == [10]
    plt.close(figure)


# ---------------------------------------------------------------- diagnose

@pytest.mark.parametrize("label", LABELS)
def test_diagnose_names_each_synthetic_case(label):
    assert diagnose(SYNTHETIC[label]).label == label


@pytest.mark.parametrize("label", LABELS)
def test_diagnose_names_each_synthetic_case_from_losses_alone(label):
    losses_only = {key: SYNTHETIC[label][key] for key in ("loss", "val_loss")}
    if label == "good_fit":  # without an accuracy, "stalled" means the loss did not halve
        losses_only["loss"] = list(np.array(losses_only["loss"]) * np.linspace(1, 0.2, 30))
    assert diagnose(losses_only).label == label


def test_diagnose_accepts_a_keras_history_object():
    history = keras.callbacks.History()
    history.history = SYNTHETIC["keep_training"]
    assert diagnose(history).label == "keep_training"


def test_diagnose_evidence_holds_the_deciding_figures():
    evidence = diagnose(SYNTHETIC["overfitting"]).evidence
    smoothed_train = ema(SYNTHETIC["overfitting"]["accuracy"], 0.6)[-1]
    smoothed_val = ema(SYNTHETIC["overfitting"]["val_accuracy"], 0.6)[-1]
    assert evidence["accuracy_gap"] == pytest.approx(smoothed_train - smoothed_val, abs=1e-12)
    assert evidence["accuracy_gap"] > 0.05


def test_recent_improvement_is_the_rise_of_the_fitted_line():
    evidence = curve_evidence(SYNTHETIC["keep_training"])
    # val accuracy rises 1/50 per epoch; the last quarter of 30 epochs spans 7 epochs
    assert evidence["recent_improvement"] == pytest.approx(7 / 50, abs=1e-9)


def test_diagnose_rejects_a_history_without_validation():
    with pytest.raises(ValueError, match="`history` must be a Keras History"):
        diagnose({"loss": [1.0, 0.5]})


def test_diagnose_rejects_bad_thresholds():
    with pytest.raises(ValueError, match=r"`target_accuracy` must be a number in \[0, 1\]"):
        diagnose(SYNTHETIC["good_fit"], target_accuracy=1.5)


def _digits_history(image_size, hidden_units, learning_rate, epochs, examples=None):
    (x, y), validation = datasets.load_digits(image_size=image_size)
    model = models.mlp(x.shape[1:], 10, hidden_units=hidden_units)
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model.fit(x[:examples], y[:examples], validation_data=validation, epochs=epochs,
                     batch_size=32, verbose=0)


def test_diagnose_reads_a_big_model_on_200_digits_as_overfitting():
    history = _digits_history(8, (256, 256), 3e-3, epochs=40, examples=200)
    assert diagnose(history).label == "overfitting"  # gap 0.07-0.11 over seeds 0-2


def test_diagnose_reads_softmax_regression_on_4x4_digits_as_underfitting():
    history = _digits_history(4, (), 3e-2, epochs=30)
    assert diagnose(history).label == "underfitting"  # train accuracy about 0.9, no gap
