"""Choosing hyperparameters: the lecture's seven-step recipe.

1. Check the initial loss (`check_initial_loss`: about `log(C)` for a
   softmax over `C` classes).
2. Overfit a small sample (`overfit_small_sample`: 100% training accuracy
   on about 5 mini-batches).
3. Find a learning rate that makes the loss go down within about 100
   iterations (`find_learning_rate`, or `kerasreg.callbacks.LRFinder`).
4. Coarse grid, 1-5 epochs (`grid_search`, on KerasTuner's `GridSearch`).
5. Refine the grid, train longer (`refine_grid`, then `grid_search` again).
6. Look at the loss curves (`kerasreg.curves.plot_history`, `diagnose`).
7. Go to step 5.
"""

import copy
import itertools
import math
import os
import shutil
import tempfile
import time
import warnings

import keras
import keras_tuner
import numpy as np

from kerasreg._text_table import text_table
from kerasreg._validation import check_learning_rates, check_number, fail
from kerasreg.callbacks import DivergenceGuard


class Table:
    """Rows of results (dicts with the same keys) with a readable text form.

    Index it by position for a row (`table[0]`) or by name for a column
    (`table["learning_rate"]`); iterate over the rows; `len` counts them.

    Args:
        rows: a sequence of dicts.
        columns: column order. Defaults to the keys of the first row.
        hyperparameters: the columns that are settings rather than results
            (what `refine_grid` refines). Defaults to `()`.

    Example:
    >>> table = Table([{"learning_rate": 0.01, "val_accuracy": 0.9},
    ...                {"learning_rate": 0.001, "val_accuracy": 0.85}])
    >>> table["learning_rate"]
    [0.01, 0.001]
    >>> table
    learning_rate  val_accuracy
             0.01           0.9
            0.001          0.85
    """

    def __init__(self, rows, columns=None, hyperparameters=()):
        self.rows = [dict(row) for row in rows]
        self.columns = list(columns if columns is not None else
                            (self.rows[0] if self.rows else []))
        self.hyperparameters = list(hyperparameters)

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key):
        if isinstance(key, str):
            return [row.get(key) for row in self.rows]
        return self.rows[key]

    def __repr__(self):
        return text_table(self.columns, [[_format(row.get(column)) for column in self.columns]
                                         for row in self.rows], align="right")


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def expected_initial_loss(num_classes):
    """The cross-entropy of a softmax that guesses uniformly: `log(C)`.

    Step 1 of the recipe: at initialization (weight decay off) the
    predicted distribution is close to uniform, so the loss is close to
    `-log(1 / C) = log(C)`.

    Args:
        num_classes: `C`, an integer >= 2.

    Returns:
        A float.

    Example:
    >>> round(expected_initial_loss(10), 4)
    2.3026
    """
    check_number("num_classes", num_classes, 2, integer=True)
    return math.log(num_classes)


def check_initial_loss(model, x, y, tolerance=0.25, from_logits=False):
    """Step 1: measure the loss at initialization and compare it with `log(C)`.

    The data loss only (cross-entropy of the model's predictions, no
    regularization penalties), so weight decay is off as the lecture asks.
    A value far from `log(C)` flags a broken initialization (e.g. final
    weights too large: confident, mostly wrong predictions) or a bug in the
    loss or the labels.

    Args:
        model: a classifier whose output has `C` units (softmax
            probabilities, or logits with `from_logits=True`).
        x: inputs.
        y: integer labels, or one-hot labels.
        tolerance: relative tolerance: `ok` when `|measured - log C| <=
            tolerance * log C`. Defaults to `0.25`.
        from_logits: whether the model outputs logits. Defaults to `False`.

    Returns:
        `(measured, expected, ok)`.

    Example:
    >>> model = keras.Sequential([keras.Input((4,)),
    ...                           keras.layers.Dense(3, "softmax", kernel_initializer="zeros")])
    >>> measured, expected, ok = check_initial_loss(model, np.ones((8, 4)), np.zeros(8, "int32"))
    >>> round(measured, 4), round(expected, 4), ok
    (1.0986, 1.0986, True)
    """
    check_number("tolerance", tolerance, 0, low_open=True)
    outputs = model.predict(x, verbose=0)
    expected = expected_initial_loss(outputs.shape[-1])
    y = np.asarray(y)
    loss = (keras.losses.categorical_crossentropy if y.ndim == outputs.ndim
            else keras.losses.sparse_categorical_crossentropy)
    measured = float(np.mean(keras.ops.convert_to_numpy(
        loss(y, outputs, from_logits=from_logits))))
    return measured, expected, abs(measured - expected) <= tolerance * expected


def overfit_small_sample(model, x, y, batches=5, batch_size=32, epochs=200, learning_rate=1e-3,
                         callbacks=None):
    """Step 2: train on a few mini-batches until they are learned by heart.

    Takes the first `batches * batch_size` examples and trains on them (an
    uncompiled model gets Adam at `learning_rate`, sparse cross-entropy and
    accuracy) until the training accuracy of an epoch reaches 100% or
    `epochs` run out. A model that cannot overfit 5 batches has a bug, a
    learning rate too low or a bad initialization; a `DivergenceGuard`
    stops a run whose loss explodes and warns that the learning rate is
    too high.

    Args:
        model: a classifier, compiled or not.
        x: training inputs.
        y: integer labels (or one-hot with a model compiled for them).
        batches: number of mini-batches in the sample. Defaults to `5`.
        batch_size: mini-batch size. Defaults to `32`.
        epochs: most epochs to train. Defaults to `200`.
        learning_rate: Adam's rate for an uncompiled model. Defaults to `1e-3`.
        callbacks: more callbacks for `fit`. Defaults to `None`.

    Returns:
        The final training accuracy on the sample (inference mode), a float.

    Example:
    >>> keras.utils.set_random_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int32")
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, "relu"),
    ...                           keras.layers.Dense(2, "softmax")])
    >>> overfit_small_sample(model, x, y, batches=2, learning_rate=1e-2)
    1.0
    """
    check_number("batches", batches, 1, integer=True)
    check_number("batch_size", batch_size, 1, integer=True)
    check_number("epochs", epochs, 1, integer=True)
    if not model.compiled:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    size = batches * batch_size
    x_small, y_small = x[:size], np.asarray(y[:size])
    learned = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: _stop_if(
        model, (logs or {}).get("accuracy", 0.0) >= 1.0))
    model.fit(x_small, y_small, batch_size=batch_size, epochs=epochs, verbose=0,
              callbacks=[DivergenceGuard(), learned, *(callbacks or [])])
    return _accuracy(model, x_small, y_small)


def _stop_if(model, condition):
    if condition:
        model.stop_training = True


def _accuracy(model, x, y):
    predicted = np.argmax(model.predict(x, verbose=0), axis=-1)
    labels = np.argmax(y, axis=-1) if y.ndim > 1 else y
    return float(np.mean(predicted == labels))


def find_learning_rate(build_fn, x, y, learning_rates=(1e-1, 1e-2, 1e-3, 1e-4), iterations=100,
                       batch_size=32, seed=0):
    """Step 3: which learning rates make the loss drop within `iterations` steps.

    For each rate, a fresh model from `build_fn(learning_rate=rate)` trains
    `iterations` mini-batches; the loss on the first 512 training examples
    is measured before and after. A diverging run (NaN or exploding loss)
    is stopped by a `DivergenceGuard` and reported as `diverged`.

    Args:
        build_fn: `build_fn(learning_rate=...)` -> a compiled model (with
            the small weight decay of this step).
        x: training inputs (all the training data).
        y: training labels.
        learning_rates: rates to try. Defaults to `(1e-1, 1e-2, 1e-3, 1e-4)`.
        iterations: mini-batches per rate. Defaults to `100`.
        batch_size: mini-batch size. Defaults to `32`.
        seed: seed set before each model is built (same initial weights for
            every rate). Defaults to `0`.

    Returns:
        A `Table` with one row per rate, in the given order:
        `learning_rate`, `initial_loss`, `final_loss`, `drop` (`1 -
        final / initial`, the fraction of the loss gone) and `diverged`.

    Example:
    >>> def build(learning_rate):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, "softmax")])
    ...     model.compile(keras.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy")
    ...     return model
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> table = find_learning_rate(build, x, (x[:, 0] > 0).astype("int32"),
    ...                            learning_rates=(1e4, 1.0), iterations=20)
    >>> table["diverged"], table[1]["drop"] > 0.3
    ([True, False], True)
    """
    check_number("iterations", iterations, 1, integer=True)
    check_number("batch_size", batch_size, 1, integer=True)
    check_learning_rates(learning_rates)
    rows = []
    for rate in learning_rates:
        keras.utils.set_random_seed(seed)
        model = build_fn(learning_rate=rate)
        initial = _loss(model, x[:512], y[:512])
        guard = DivergenceGuard()
        # Counts batches itself: under JAX the optimizer's step counter is not
        # readable from a callback in the middle of `fit`.
        steps = itertools.count(1)
        limit = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: _stop_if(
            model, next(steps) >= iterations))
        with warnings.catch_warnings():  # a diverged rate is a result here, not a problem
            warnings.simplefilter("ignore", RuntimeWarning)
            model.fit(x, y, batch_size=batch_size,
                      epochs=math.ceil(iterations * batch_size / len(x)), verbose=0,
                      callbacks=[guard, limit])
        final = _loss(model, x[:512], y[:512])
        diverged = guard.message is not None or not math.isfinite(final)
        rows.append({"learning_rate": rate, "initial_loss": initial, "final_loss": final,
                     "drop": float("nan") if diverged else 1 - final / initial,
                     "diverged": diverged})
    return Table(rows)


def _loss(model, x, y):
    return float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])


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
        settings = ", ".join(f"{key}={_format(row[key])}" for key in self.grid)
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
