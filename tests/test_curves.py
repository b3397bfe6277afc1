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

from kerasreg import models
from kerasreg.course import datasets
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
# The good fit, with one unstable last epoch: both losses jump, the accuracies dip by 0.03.
SYNTHETIC["unstable"] = {key: values[:-1] + [values[-1] * (4 if "loss" in key else 0.97)]
                         for key, values in SYNTHETIC["good_fit"].items()}
# The good fit, ending in NaN (as an exploding run logs it).
SYNTHETIC["diverged"] = {key: values[:-1] + [float("nan")]
                         for key, values in SYNTHETIC["good_fit"].items()}

# The hyperparameter lab's refined model (MLP 256-256 on the digits, Adam 3e-3, seed 0, 15
# epochs; Keras 3.15, TensorFlow 2.21): the accuracy gap is 0.035, but the last epoch is
# unstable (train loss 0.0068 -> 0.0767, val loss 0.0835 -> 0.2457). Read "overfitting:
# huge gap" before the spike was told apart.
LAB_SPIKE = {
    "loss": [0.5986, 0.1441, 0.0729, 0.0607, 0.0217, 0.0111, 0.0108, 0.0088, 0.0091, 0.0033,
             0.0029, 0.0026, 0.0034, 0.0068, 0.0767],
    "val_loss": [0.2249, 0.1562, 0.2217, 0.0881, 0.0791, 0.0737, 0.0965, 0.0812, 0.0841,
                 0.0894, 0.0849, 0.0779, 0.077, 0.0835, 0.2457],
    "accuracy": [0.8253, 0.952, 0.9826, 0.9826, 0.9965, 0.9986, 0.9986, 0.9986, 0.9972, 1.0,
                 1.0, 1.0, 0.9993, 0.9986, 0.9756],
    "val_accuracy": [0.9417, 0.9639, 0.9417, 0.9694, 0.9806, 0.9722, 0.9639, 0.9722, 0.975,
                     0.9722, 0.975, 0.9778, 0.9722, 0.975, 0.925],
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


def test_diagnose_reads_the_hyperparameter_lab_late_spike_as_unstable_not_overfitting():
    reading = diagnose(LAB_SPIKE)
    assert reading.label == "unstable" and "learning rate" in reading.advice
    evidence = reading.evidence
    assert evidence["accuracy_gap"] < 0.05  # no gap to speak of
    assert (evidence["loss_spike_epoch"], evidence["val_loss_spike_epoch"]) == (14, 14)
    # train loss: (0.0767 - 0.0068) / max(median(0.0029, 0.0026, 0.0034, 0.0068), 0.1 * 0.5986)
    assert evidence["loss_spike"] == pytest.approx((0.0767 - 0.0068) / 0.05986, rel=1e-9)


def test_diagnose_reads_a_steady_val_loss_climb_as_overfitting_not_a_spike():
    # each epoch adds at most a third of the level: a climb, not one jump
    history = {"loss": [1.0, 0.5, 0.2, 0.1, 0.05, 0.02], "val_loss": [1.0, 0.6, 0.5, 0.6, 0.8, 1.0]}
    reading = diagnose(history)
    assert reading.label == "overfitting" and reading.evidence["val_loss_spike"] < 0.5


def test_diagnose_takes_one_val_spike_out_of_the_rise():
    calm = SYNTHETIC["good_fit"]
    spiked = {**calm, "val_loss": calm["val_loss"][:20] + [calm["val_loss"][20] * 3]
              + calm["val_loss"][21:]}
    assert diagnose(spiked).evidence["val_loss_rise"] == pytest.approx(
        diagnose(calm).evidence["val_loss_rise"], abs=1e-12)


@pytest.mark.parametrize("key, epoch, value", [
    ("loss", 29, float("nan")),  # the good fit ending in NaN
    ("val_loss", 12, float("nan")),  # a NaN in the middle
    ("loss", 3, float("inf")),
    ("val_accuracy", 29, float("nan")),
])
def test_diagnose_gives_no_fit_label_to_a_history_holding_nan_or_inf(key, epoch, value):
    history = {name: list(values) for name, values in SYNTHETIC["good_fit"].items()}
    history[key][epoch] = value
    reading = diagnose(history)
    assert reading.label == "diverged"
    assert reading.evidence == {"epochs": 30, "first_nonfinite_epoch": epoch, "nonfinite": [key]}


def test_diagnose_reads_an_underfitting_curve_with_a_nan_in_the_middle_as_diverged():
    history = {name: list(values) for name, values in SYNTHETIC["underfitting"].items()}
    history["loss"][15] = history["val_loss"][15] = float("nan")
    reading = diagnose(history)
    assert reading.label == "diverged" and reading.evidence["nonfinite"] == ["loss", "val_loss"]


@pytest.mark.parametrize("accuracy", [True, False])
def test_diagnose_reads_losses_that_are_all_zero_as_a_good_fit(accuracy):
    history = _history([0.0] * 5, [0.0] * 5, *([[1.0] * 5] * 2 if accuracy else []))
    reading = diagnose(history)
    assert reading.label == "good_fit"
    assert reading.evidence["val_loss_rise"] == 0.0 and reading.evidence["loss_spike"] == 0.0
    assert "loss_spike_epoch" not in reading.evidence  # no spike, no epoch


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


@pytest.mark.parametrize("kwargs, message", [
    ({"target_accuracy": 1.5}, r"`target_accuracy` must be a number in \[0, 1\]\. "
                               r"Received: target_accuracy=1\.5"),
    ({"max_gap": -0.1}, r"`max_gap` must be a number >= 0\. Received: max_gap=-0\.1"),
    ({"max_spike": -1}, r"`max_spike` must be a number >= 0\. Received: max_spike=-1"),
    ({"beta": 1}, r"`beta` must be a number in \[0, 1\)\. Received: beta=1"),
])
def test_diagnose_rejects_bad_thresholds(kwargs, message):
    with pytest.raises(ValueError, match=message):
        diagnose(SYNTHETIC["good_fit"], **kwargs)


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
