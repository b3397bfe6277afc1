"""Swapping a layer's `call` for a while: how the inference tools change what layers do.

MC dropout forces `training=True` in the dropout layers, the batch-norm
audit and recalibration probe or force it in the BatchNormalization
layers; each swap is undone on exit, also on error.
"""

import contextlib


@contextlib.contextmanager
def patched_calls(layers, wrap):
    """Replace each layer's `call` by `wrap(layer, call)`; restore it on exit, also on error."""
    for layer in layers:
        layer.call = wrap(layer, layer.call)
    try:
        yield
    finally:
        for layer in layers:
            del layer.call  # the instance attribute; the class's `call` shows again


def always_training(call):
    """`call` with `training=True` whatever the caller passes."""

    def call_in_training(*args, **kwargs):
        return call(*args, **{**kwargs, "training": True})
    return call_in_training
