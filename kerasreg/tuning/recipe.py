"""Steps 1 to 3 of the recipe: the initial loss, overfitting a small sample, a learning rate.

`check_initial_loss` (about `log(C)` for a softmax over `C` classes),
`overfit_small_sample` (100% training accuracy on about 5 mini-batches),
`find_learning_rate` (the rates whose loss goes down within about 100
iterations).
"""

import itertools
import math
import warnings

import keras
import numpy as np

from kerasreg._validation import check_learning_rates, check_number
from kerasreg.callbacks import DivergenceGuard
from kerasreg.tuning.table import Table


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
