"""One reader of "arrays, or an iterable of batches", for every helper that takes data.

Keras' `fit` rule: a tuple is `(x, y[, sample_weight])`, an array, tensor
or dict is `x`; anything else iterable (a list of batches, a generator, a
`tf.data.Dataset`, a `keras.utils.PyDataset`) yields batches, each read by
the same rule. Labels and sample weights are dropped.
"""

import keras
import numpy as np
from keras import ops


def input_batches(data, batch_size=None):
    """The inputs `x` of each batch of `data`.

    Args:
        data: arrays (an array or tensor, a dict of them, or a tuple
            `(x, y[, sample_weight])`), or an iterable of such batches.
        batch_size: rows per batch when `data` is arrays; `None` gives them
            as one batch. The batches of an iterable come as they are.
            Defaults to `None`.

    Yields:
        `x` of each batch, its structure kept (an array, tensor or dict);
        values that are neither tensors nor arrays become NumPy arrays.

    Example:
    >>> x, y = np.arange(10).reshape(5, 2), np.zeros(5)
    >>> [batch.shape for batch in input_batches((x, y), batch_size=2)]
    [(2, 2), (2, 2), (1, 2)]
    >>> [batch.tolist() for batch in input_batches([(x[:1], y[:1]), x[1:2]])]
    [[[0, 1]], [[2, 3]]]
    """
    if isinstance(data, (tuple, dict)) or hasattr(data, "shape"):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        if batch_size is None:
            yield x
            return
        size = len(keras.tree.flatten(x)[0])
        for start in range(0, size, batch_size):
            yield keras.tree.map_structure(lambda array: array[start:start + batch_size], x)
        return
    for batch in data:
        x = keras.utils.unpack_x_y_sample_weight(batch)[0]
        # E.g. tf.data's tensors under JAX or PyTorch: to NumPy first.
        yield keras.tree.map_structure(lambda t: t if ops.is_tensor(t) else np.asarray(t), x)
