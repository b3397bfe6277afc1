"""Tests for kerasreg.tuning: the seven-step recipe's helpers.

References: `log(C)` (the cross-entropy of a uniform guess), Keras' own
cross-entropy for the measured loss, hand-computed geometric and
arithmetic midpoints for the refined grid, and the grid's size and order
for the KerasTuner search.
"""

import math
import os
import tempfile
import warnings

import keras
import numpy as np
import pytest

from kerasreg import models
from kerasreg.course import datasets
from kerasreg.tuning import (Table, check_initial_loss, expected_initial_loss,
                             find_learning_rate, grid_search, overfit_small_sample, refine_grid)


@pytest.fixture(scope="module")
def digits():
    return datasets.load_digits()


def _classifier(x, hidden_units=(64,)):
    return models.mlp(x.shape[1:], 10, hidden_units=hidden_units)


# ---------------------------------------------------------------- step 1

@pytest.mark.parametrize("num_classes", [2, 10, 1000])
def test_expected_initial_loss_is_log_c(num_classes):
    assert expected_initial_loss(num_classes) == math.log(num_classes)


def test_expected_initial_loss_rejects_one_class():
    with pytest.raises(ValueError, match=r"`num_classes` must be an integer >= 2\. "
                                         r"Received: num_classes=1"):
        expected_initial_loss(1)


def test_fresh_softmax_classifier_measures_about_log_c(digits):
    (x, y), _ = digits
    measured, expected, ok = check_initial_loss(_classifier(x), x, y)
    assert ok and abs(measured - math.log(10)) <= 0.25 * math.log(10)


def test_large_final_layer_weights_are_flagged(digits):
    (x, y), _ = digits
    model = _classifier(x)
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel * 30, bias])  # confident, mostly wrong predictions
    measured, expected, ok = check_initial_loss(model, x, y)
    assert not ok and measured > 2 * expected


def test_check_initial_loss_matches_keras_cross_entropy_for_one_hot_labels(digits):
    (x, y), _ = digits
    model = _classifier(x)
    measured, _, _ = check_initial_loss(model, x[:100], keras.utils.to_categorical(y[:100], 10))
    reference = keras.losses.SparseCategoricalCrossentropy()(y[:100], model.predict(x[:100],
                                                                                    verbose=0))
    assert measured == pytest.approx(float(reference), rel=1e-5)


def test_check_initial_loss_rejects_bad_tolerance(digits):
    (x, y), _ = digits
    with pytest.raises(ValueError, match=r"`tolerance` must be a number > 0"):
        check_initial_loss(_classifier(x), x, y, tolerance=0)


# ---------------------------------------------------------------- step 2

def test_overfit_small_sample_reaches_full_training_accuracy(digits):
    (x, y), _ = digits
    accuracy = overfit_small_sample(_classifier(x), x, y, batches=5, learning_rate=1e-2)
    assert accuracy == 1.0


def test_overfit_small_sample_warns_that_an_exploding_loss_means_the_learning_rate(digits):
    (x, y), _ = digits
    model = _classifier(x)
    model.compile(keras.optimizers.SGD(1e4), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    with pytest.warns(RuntimeWarning, match="learning rate .* is the likely cause"):
        accuracy = overfit_small_sample(model, x, y, epochs=20)
    assert accuracy < 1.0


def test_overfit_small_sample_rejects_zero_batches(digits):
    (x, y), _ = digits
    with pytest.raises(ValueError, match=r"`batches` must be an integer >= 1"):
        overfit_small_sample(_classifier(x), x, y, batches=0)


# ---------------------------------------------------------------- step 3

def test_find_learning_rate_reports_drops_and_divergence(digits):
    (x, y), _ = digits

    def build(learning_rate):
        model = _classifier(x)
        model.compile(keras.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy")
        return model

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the table reports it, no warning
        table = find_learning_rate(build, x, y, learning_rates=(1e3, 1e-1), iterations=50)
    assert table["learning_rate"] == [1e3, 1e-1]
    assert table["diverged"] == [True, False]
    assert table[1]["drop"] > 0.3  # SGD at 0.1 cuts the digits loss well within 50 steps


def test_find_learning_rate_flags_a_loss_that_explodes_within_the_iterations():
    # Every example is x = 1, y = 1, so every batch is the same: with w = 0 and SGD on
    # the MSE, the error scales by |1 - 2 lr| per step. At lr = 1.05 the batch loss grows
    # 1.21x per step and passes 4x the first at batch 8, while Keras' running epoch mean
    # only passes it at batch 12: past the 12 iterations, where it went unreported.
    x = np.ones((256, 1), "float32")

    def build(learning_rate):
        model = keras.Sequential([keras.Input((1,)),
                                  keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
        model.compile(keras.optimizers.SGD(learning_rate), "mse")
        return model

    table = find_learning_rate(build, x, x, learning_rates=(1.05, 0.25), iterations=12,
                               batch_size=8)
    assert table["diverged"] == [True, False]
    assert table[1]["drop"] == pytest.approx(1.0, abs=1e-6)  # 0.25 ** 12 of the loss is left


# ---------------------------------------------------------------- steps 4-5

def _build(learning_rate, units):
    model = models.mlp((8, 8, 1), 10, hidden_units=(units,))
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def search(digits):
    (x, y), validation = digits
    before = set(os.listdir(tempfile.gettempdir())), set(os.listdir("."))
    table = grid_search(_build, {"learning_rate": [1e-2, 1e-4], "units": [8, 32]}, x[:400],
                        y[:400], epochs=2, validation_data=validation, verbose=0)
    after = set(os.listdir(tempfile.gettempdir())), set(os.listdir("."))
    return table, before, after


def test_grid_search_runs_every_grid_point_once(search):
    table, _, _ = search
    points = sorted(zip(table["learning_rate"], table["units"]))
    assert points == [(1e-4, 8), (1e-4, 32), (1e-2, 8), (1e-2, 32)]


def test_grid_search_table_is_sorted_best_first(search):
    table, _, _ = search
    assert table["val_accuracy"] == sorted(table["val_accuracy"], reverse=True)
    assert table[0]["learning_rate"] == 1e-2  # 2 epochs at 1e-4 barely move


def test_grid_search_table_has_settings_score_and_metrics_at_the_best_epoch(search):
    table, _, _ = search
    assert table.columns[:4] == ["learning_rate", "units", "val_accuracy", "best_epoch"]
    assert {"loss", "accuracy", "val_loss"} <= set(table.columns)
    assert table.hyperparameters == ["learning_rate", "units"]


def test_grid_search_leaves_no_tuner_folder_behind(search):
    _, before, after = search
    assert after[1] == before[1]
    assert not [name for name in after[0] - before[0] if name.startswith("kerasreg-grid-")]


def test_grid_search_prints_one_progress_line_per_trial(digits, capsys):
    (x, y), validation = digits
    grid_search(_build, {"learning_rate": [1e-2], "units": [8, 16]}, x[:200], y[:200],
                epochs=1, validation_data=validation)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["trial 1/2", "trial 2/2"]
    assert "learning_rate=0.01, units=8: val_accuracy=" in lines[0]


def test_grid_search_keeps_a_given_directory(digits, tmp_path):
    (x, y), validation = digits
    grid_search(_build, {"learning_rate": [1e-2], "units": [8]}, x[:200], y[:200], epochs=1,
                validation_data=validation, directory=str(tmp_path), verbose=0)
    assert (tmp_path / "grid_search" / "oracle.json").exists()


def test_grid_search_rejects_an_objective_that_is_not_logged(digits):
    (x, y), validation = digits
    with pytest.raises(ValueError, match=r"`objective` must be one of the logged metrics "
                                         r"'accuracy', 'loss', 'val_accuracy', 'val_loss'\. "
                                         r"Received: objective='val_auc'"):
        grid_search(_build, {"learning_rate": [1e-2], "units": [8]}, x[:100], y[:100], epochs=1,
                    validation_data=validation, objective="val_auc", verbose=0)


@pytest.mark.parametrize("grid, message", [
    ({}, "`grid` must be a non-empty dict"),
    ({"learning_rate": []}, "`grid` must be a non-empty dict"),
    ({"units": [8, "wide"]}, r"`grid\['units'\]` must be a list of numbers, strings or bools "
                             r"of one kind"),
])
def test_grid_search_rejects_bad_grids(digits, grid, message):
    (x, y), _ = digits
    with pytest.raises(ValueError, match=message):
        grid_search(_build, grid, x, y, epochs=1)


# ---------------------------------------------------------------- refine_grid

ROWS = [{"learning_rate": 1e-2, "weight_decay": 0.0, "units": 64, "optimizer": "adam"},
        {"learning_rate": 1e-3, "weight_decay": 1e-4, "units": 16, "optimizer": "sgd"},
        {"learning_rate": 1e-1, "weight_decay": 1e-5, "units": 256, "optimizer": "adam"}]
NAMES = ["learning_rate", "weight_decay", "units", "optimizer"]


def test_refine_grid_puts_geometric_midpoints_around_the_best_rate():
    grid = refine_grid(ROWS, names=NAMES)
    assert grid["learning_rate"] == [0.003162, 0.01, 0.03162]  # sqrt(1e-2 * 1e-3) etc.


def test_refine_grid_uses_arithmetic_midpoints_next_to_zero():
    assert refine_grid(ROWS, names=NAMES)["weight_decay"] == [0.0, 5e-6]


def test_refine_grid_rounds_integer_midpoints_and_keeps_strings():
    grid = refine_grid(ROWS, names=NAMES)
    assert grid["units"] == [32, 64, 128] and grid["optimizer"] == ["adam"]


def test_refine_grid_steps_beyond_a_best_value_at_the_edge():
    rows = [{"learning_rate": 1e-1}, {"learning_rate": 1e-2}]
    assert refine_grid(rows, names=["learning_rate"]) == {"learning_rate": [0.03162, 0.1, 0.3162]}


def test_refine_grid_merges_the_top_trials():
    grid = refine_grid(ROWS, top=2, names=["learning_rate"])
    assert grid["learning_rate"] == [0.0003162, 0.001, 0.003162, 0.01, 0.03162]


def test_refine_grid_reads_the_names_from_a_grid_search_table():
    table = Table(ROWS, hyperparameters=["units"])
    assert refine_grid(table) == {"units": [32, 64, 128]}


def test_refine_grid_rejects_top_beyond_the_trials():
    with pytest.raises(ValueError, match=r"`top` must be an integer in \[1, 3\]\. "
                                         r"Received: top=4"):
        refine_grid(ROWS, top=4, names=NAMES)


# ---------------------------------------------------------------- Table

def test_table_repr_aligns_columns_with_four_significant_digits():
    table = Table([{"name": "a", "score": 0.123456}, {"name": "bb", "score": 1.0}])
    assert repr(table) == "name   score\n   a  0.1235\n  bb       1"


def test_table_indexes_rows_by_position_and_columns_by_name():
    table = Table(ROWS)
    assert table[1]["units"] == 16 and table["units"] == [64, 16, 256] and len(table) == 3
