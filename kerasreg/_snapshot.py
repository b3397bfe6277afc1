"""Saving the values of variables and putting them back: one helper for every "try, then undo".

Shared by `inference` (MC dropout and BN recalibration leave the model as
they found it), `callbacks.LRFinder` (the range test restores the weights
and the optimizer) and `preprocessing.sgd_loss_curves` (every rate starts
from the same weights).
"""

import contextlib

from keras import ops


def snapshot(variables):
    """NumPy copies of the values of `variables`, for `restore`.

    Args:
        variables: Keras variables (e.g. `model.variables`, `optimizer.variables`).

    Returns:
        A list of `(variable, value)`.

    Example:
    >>> import keras
    >>> weight = keras.Variable([1.0, 2.0])
    >>> saved = snapshot([weight])
    >>> _ = weight.assign([0.0, 0.0])
    >>> restore(saved)
    >>> keras.ops.convert_to_numpy(weight).tolist()
    [1.0, 2.0]
    """
    return [(variable, ops.convert_to_numpy(variable)) for variable in variables]


def restore(saved):
    """Assign each variable of a `snapshot` its saved value."""
    for variable, value in saved:
        variable.assign(value)


@contextlib.contextmanager
def restored(variables):
    """Put `variables` back to their values at entry on exit, also on error."""
    saved = snapshot(variables)
    try:
        yield
    finally:
        restore(saved)
