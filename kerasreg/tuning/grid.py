"""Steps 4 and 5 of the recipe: a coarse grid, then a finer one, on KerasTuner's `GridSearch`.

`grid_search` trains every combination of a grid (a few epochs each, one
process or several workers sharing a tuner directory) and returns a
`Table`; `refine_grid` builds the finer grid around the best rows.
"""

import copy
import math
import os
import shutil
import tempfile
import time

import keras
import keras_tuner
import numpy as np

from kerasreg._validation import check_number, fail
from kerasreg.tuning.table import Table, format_cell


class _GridSearch(keras_tuner.GridSearch):
    """KerasTuner's `GridSearch` over `build_fn(**values)`, one progress line per trial.

    `run_trial` is overridden (the hook KerasTuner documents for custom
    training) so that a trial is one plain `fit`: no checkpoint file per
    epoch, and no TensorBoard import (KerasTuner 1.4's own `run_trial`
    imports `tensorboard` for every trial under TensorFlow). Each trial's
    row is kept in `rows`, so a worker of a distributed search has its
    results without asking the chief, which may have shut down.
    """

    def __init__(self, build_fn, grid, seed, verbose, **kwargs):
        self.build_fn, self.grid, self.seed, self.verbose = build_fn, grid, seed, verbose
        self.total = math.prod(len(values) for values in grid.values())
        self.rows = []
        super().__init__(hypermodel=self.build_model, **kwargs)

    def build_model(self, hp):
        values = {name: hp.Choice(name, choices) for name, choices in self.grid.items()}
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        return self.build_fn(**values)

    def run_trial(self, trial, *args, **kwargs):
        start = time.perf_counter()
        model = self.build_model(trial.hyperparameters)
        kwargs = {**kwargs, "callbacks": copy.deepcopy(kwargs.get("callbacks", [])),
                  "verbose": int(self.verbose > 1)}
        history = model.fit(*args, **kwargs)
        self.rows.append(self._history_row(trial.hyperparameters.values, history.history))
        if self.verbose == 1:
            print(self._progress(time.perf_counter() - start), flush=True)
        return history

    def _history_row(self, values, logs):
        objective = self.oracle.objective
        if objective.name not in logs:
            raise keras_tuner.errors.FatalValueError(
                f"`objective` must be one of the logged metrics "
                f"{', '.join(map(repr, sorted(logs)))}. Received: objective={objective.name!r}")
        scores = logs[objective.name]
        best = int(np.argmax(scores) if objective.direction == "max" else np.argmin(scores))
        row = {name: values[name] for name in self.grid}
        row.update({objective.name: scores[best], "best_epoch": best})
        row.update((name, logs[name][best]) for name in sorted(logs) if name != objective.name)
        return row

    def _progress(self, seconds):
        row, name = self.rows[-1], self.oracle.objective.name
        settings = ", ".join(f"{key}={format_cell(row[key])}" for key in self.grid)
        return (f"trial {len(self.rows)}/{self.total}  {settings}: {name}={row[name]:.4f}"
                f"  ({seconds:.1f} s)")

    def results(self):
        """The trials' rows, best first: the chief asks its oracle, others use their own."""
        objective = self.oracle.objective
        if _is_chief():
            trials = self.oracle.get_best_trials(num_trials=self.total)
            return [_trial_row(trial, self.grid, objective.name) for trial in trials]
        return sorted(self.rows, key=lambda row: row[objective.name],
                      reverse=objective.direction == "max")


def _is_chief():
    return "KERASTUNER_ORACLE_IP" in os.environ and "chief" in os.environ.get(
        "KERASTUNER_TUNER_ID", "")


def grid_search(build_fn, grid, x, y, epochs, validation_data=None, objective="val_accuracy",
                batch_size=32, seed=0, directory=None, project_name="grid_search",
                overwrite=True, verbose=1, callbacks=None):
    """Steps 4-5: train one model per grid point and tabulate the results.

    Runs KerasTuner's `GridSearch` tuner over every combination of `grid`,
    so the search can also run distributed (KerasTuner's chief / worker
    mode, set up with the `KERASTUNER_*` environment variables; see the
    README). Each trial builds `build_fn(**values)` with the same seed, so
    trials differ only by their hyperparameters.

    Args:
        build_fn: `build_fn(**values)` -> a compiled model, `values` one
            value per key of `grid`.
        grid: `{name: [values, ...]}`, values of one kind per name (numbers,
            strings or bools; ints mixed with floats become floats).
        x: training inputs.
        y: training labels.
        epochs: epochs per trial (1-5 for the coarse grid, 10-20 to refine).
        validation_data: `(x_val, y_val)`; `None` holds out the last 20% of
            `x` (Keras' `validation_split`). Defaults to `None`.
        objective: logged metric to rank trials by (its best epoch counts);
            the direction is inferred from the name. Defaults to
            `"val_accuracy"`.
        batch_size: mini-batch size. Defaults to `32`.
        seed: seed set before each model is built; `None` for none.
            Defaults to `0`.
        directory: KerasTuner's folder; `None` uses a temporary folder that
            is deleted afterwards. Defaults to `None`.
        project_name: KerasTuner's project name. Defaults to `"grid_search"`.
        overwrite: start afresh instead of resuming a project in
            `directory`. Defaults to `True`.
        verbose: 0 silent, 1 one line per trial, 2 KerasTuner's own display
            and Keras' progress bars. Defaults to `1`.
        callbacks: callbacks for each trial's `fit`. Defaults to `None`.

    Returns:
        A `Table` of the completed trials, best first: one column per
        hyperparameter, the `objective`'s best value, `best_epoch` (from
        0), and the other logged metrics at that epoch.
        `table.hyperparameters` lists the grid's names. In distributed
        mode the chief's table holds every trial, a worker's the trials it
        ran.

    Example:
    >>> def build(learning_rate, units):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, "relu"),
    ...                               keras.layers.Dense(2, "softmax")])
    ...     model.compile(keras.optimizers.Adam(learning_rate),
    ...                   "sparse_categorical_crossentropy", metrics=["accuracy"])
    ...     return model
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> table = grid_search(build, {"learning_rate": [1e-2, 1e-3], "units": [8]}, x,
    ...                     (x[:, 0] > 0).astype("int32"), epochs=1, verbose=0)
    >>> len(table), table.columns[:4]
    (2, ['learning_rate', 'units', 'val_accuracy', 'best_epoch'])
    """
    grid = _check_grid(grid)
    check_number("epochs", epochs, 1, integer=True)
    check_number("verbose", verbose, 0, 2, integer=True)
    folder = directory or tempfile.mkdtemp(prefix="kerasreg-grid-")
    try:
        tuner = _GridSearch(build_fn, grid, seed, verbose, objective=objective,
                            directory=folder, project_name=project_name, overwrite=overwrite)
        split = {"validation_data": validation_data} if validation_data is not None else {
            "validation_split": 0.2}
        tuner.search(x, y, epochs=epochs, batch_size=batch_size, callbacks=callbacks or [],
                     verbose=2 if verbose == 2 else 0, **split)
        rows = tuner.results()
    finally:
        if directory is None:
            shutil.rmtree(folder, ignore_errors=True)
    return Table(rows, hyperparameters=grid)


def _check_grid(grid):
    if not isinstance(grid, dict) or not grid or not all(
            isinstance(values, (list, tuple)) and values for values in grid.values()):
        fail("grid", "a non-empty dict {name: non-empty list of values}", grid)
    checked = {}
    for name, values in grid.items():
        values = [value.item() if isinstance(value, np.generic) else value for value in values]
        if {type(v) for v in values} == {int, float}:
            values = [float(v) for v in values]
        if len({type(v) for v in values}) > 1 or not isinstance(values[0], (int, float, str, bool)):
            fail(f"grid[{name!r}]", "a list of numbers, strings or bools of one kind", values)
        checked[name] = values
    return checked


def _trial_row(trial, grid, objective):
    step = trial.best_step
    row = {name: trial.hyperparameters.values[name] for name in grid}
    row[objective] = trial.score
    row["best_epoch"] = step
    for name in sorted(trial.metrics.metrics):
        if name != objective:
            values = [o.value for o in trial.metrics.get_history(name) if o.step == step]
            row[name] = float(np.mean(values[0])) if values else None
    return row


def refine_grid(results, top=1, names=None):
    """Step 5: a finer grid around the best trials of a coarse one.

    For each numeric hyperparameter, the best value is kept and flanked by
    the midpoints towards its neighbours in the coarse grid (geometric
    midpoints for positive values, e.g. `1e-2` between `1e-1` and `1e-3`
    gives `3.16e-3, 1e-2, 3.16e-2`; arithmetic ones when 0 is involved;
    rounded for integers; 4 significant digits). A positive best value at
    the edge of the coarse grid is flanked on the outside too, by the same
    geometric half-step, since the optimum may lie beyond it. Strings and
    bools keep the best values. With `top > 1` the grids around each of the
    `top` best trials are merged.

    Args:
        results: the `Table` of `grid_search` (best first), or a list of
            row dicts sorted best first (then pass `names`).
        top: how many of the best trials to refine around. Defaults to `1`.
        names: the hyperparameter columns. Defaults to
            `results.hyperparameters`.

    Returns:
        A grid dict `{name: sorted values}` for the next `grid_search`.

    Example:
    >>> rows = [{"learning_rate": 1e-2, "weight_decay": 0.0},
    ...         {"learning_rate": 1e-1, "weight_decay": 1e-4},
    ...         {"learning_rate": 1e-3, "weight_decay": 1e-5}]
    >>> refine_grid(rows, names=["learning_rate", "weight_decay"])
    {'learning_rate': [0.003162, 0.01, 0.03162], 'weight_decay': [0.0, 5e-06]}
    >>> edge = [{"learning_rate": 1e-1}, {"learning_rate": 1e-2}]  # best at the edge
    >>> refine_grid(edge, names=["learning_rate"])
    {'learning_rate': [0.03162, 0.1, 0.3162]}
    """
    rows = list(results)
    check_number("top", top, 1, len(rows), integer=True)
    names = names if names is not None else getattr(results, "hyperparameters", None)
    if not names:
        fail("names", "the hyperparameter columns (a non-empty list)", names)
    grid = {}
    for name in names:
        coarse = sorted({row[name] for row in rows})
        values = set()
        for row in rows[:top]:
            values.update(_refine_values(row[name], coarse))
        grid[name] = sorted(values)
    return grid


def _refine_values(best, coarse):
    if isinstance(best, (str, bool)) or len(coarse) < 2:
        return [best]
    index = coarse.index(best)
    neighbours = coarse[max(index - 1, 0):index] + coarse[index + 1:index + 2]
    if len(neighbours) == 1 and best > 0 and neighbours[0] > 0:
        neighbours.append(best * best / neighbours[0])  # at an edge: mirror the neighbour
    values = [best] + [_midpoint(best, other) for other in neighbours]
    return [round(v) if isinstance(best, int) else float(f"{v:.4g}") for v in values]


def _midpoint(a, b):
    return math.sqrt(a * b) if a > 0 and b > 0 else (a + b) / 2
