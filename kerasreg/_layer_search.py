"""Finding layers inside a model: nested models and wrapper layers included.

Shared by `kerasreg.inference` (the dropout layers of `mc_predict`, the
BatchNormalization layers of `bn_audit` and `recalibrate_bn`) and
`kerasreg.transfer` (the BatchNormalization layers kept frozen).
"""

import keras


def find_layers(model, types, prefix=None, seen=None):
    """`(path, layer)` for each layer of `types` that `model` holds, at any depth.

    Each layer once (at its first path, e.g. `"model/base/bn"`), in
    `model.layers` order; see `sublayers` for what is searched.
    """
    prefix, seen = prefix or model.name, seen if seen is not None else {id(model)}
    found = []
    for layer in sublayers(model):
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        path = f"{prefix}/{layer.name}"
        if isinstance(layer, types):
            found.append((path, layer))
        else:
            found += find_layers(layer, types, path, seen)
    return found


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
