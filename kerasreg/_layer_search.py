"""Walking the layers inside a model: nested models and, optionally, wrapper layers.

Shared by `kerasreg.inference` (the dropout layers of `mc_predict`, the
BatchNormalization layers of `bn_audit` and `recalibrate_bn`) and
`kerasreg.transfer` (the BatchNormalization layers kept frozen, and the
layers that `layer_groups` and `discriminative` assign to groups).
"""

import keras


def walk(model, into_wrappers=True):
    """`(path, layer)` for every layer inside `model`, depth first.

    Each layer once, at its first path (e.g. `"model/base/bn"`), followed
    by the layers it holds, in `.layers` order; see `sublayers` for what a
    layer holds.

    Args:
        model: a `keras.Model` (or any layer).
        into_wrappers: also walk into the layers of other layers
            (`StochasticDepth.branch`, `TimeDistributed.layer`); `False`
            walks into nested models only. Defaults to `True`.

    Returns:
        A list of `(path, layer)`.

    Example:
    >>> inner = keras.Sequential([keras.layers.Dense(2, name="dense")], name="inner")
    >>> outer = keras.Sequential([keras.Input((3,)), inner], name="outer")
    >>> [path for path, _ in walk(outer)]
    ['outer/inner', 'outer/inner/dense']
    """
    found, seen = [], {id(model)}

    def visit(parent, prefix):
        if not (into_wrappers or isinstance(parent, keras.Model)):
            return
        for layer in sublayers(parent):
            if id(layer) not in seen:
                seen.add(id(layer))
                found.append((f"{prefix}/{layer.name}", layer))
                visit(layer, f"{prefix}/{layer.name}")

    visit(model, model.name)
    return found


def find_layers(model, types):
    """`(path, layer)` for each layer of `types` inside `model`, at any depth (see `walk`)."""
    return [(path, layer) for path, layer in walk(model) if isinstance(layer, types)]


def sublayers(layer):
    """A model's `.layers`; for another layer, the layers in its public attributes.

    The second reaches into wrappers (`TimeDistributed.layer`,
    `StochasticDepth.branch`) but not into private attributes (such as
    `MultiHeadAttention`'s dropout).
    """
    if isinstance(layer, keras.Model):
        return layer.layers
    attributes = dict(vars(layer))
    if hasattr(layer, "named_children"):  # PyTorch backend: torch.nn.Module keeps them apart
        attributes.update(layer.named_children())
    return [value for name, value in attributes.items()
            if isinstance(value, keras.layers.Layer) and not name.startswith("_")]
