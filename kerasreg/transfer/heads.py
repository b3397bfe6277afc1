"""The lecture's 2x2 table: which strategy for which target, and the model of each cell.

`fine_tune_strategy` reads the table; `transfer_model` puts a new softmax
head on a pretrained base with the cell's layers trainable; `stage_names`
finds the stages whose features "linear classifiers from different
stages" read.
"""

import math

import keras

from kerasreg._validation import check_bool, check_choice, check_model, check_number
from kerasreg.transfer.freezing import freeze, layer_index, unfreeze_top

STRATEGIES = ("linear_probe", "finetune_top", "linear_probe_stages", "finetune_most")


def fine_tune_strategy(num_examples, similar, small_data=5000):
    """The lecture's recommendation for a target dataset.

    Args:
        num_examples: labelled training examples of the target task.
        similar: whether the target data resemble the source data.
        small_data: below this many examples the data count as "very
            little". Defaults to `5000`.

    Returns:
        One of `STRATEGIES`: `"linear_probe"` (little data, similar),
        `"finetune_top"` (a lot, similar), `"linear_probe_stages"` (little,
        different) or `"finetune_most"` (a lot, different).

    Example:
    >>> fine_tune_strategy(500, similar=True), fine_tune_strategy(50000, similar=False)
    ('linear_probe', 'finetune_most')
    """
    check_number("num_examples", num_examples, 1, integer=True)
    check_bool("similar", similar)
    check_number("small_data", small_data, 1, integer=True)
    little = num_examples < small_data
    if similar:
        return "linear_probe" if little else "finetune_top"
    return "linear_probe_stages" if little else "finetune_most"


def transfer_model(base, num_classes, strategy, stage=None, num_layers=None, dropout=0.0,
                   name=None):
    """A new classifier on a pretrained `base`, set up for one cell of the table.

    Every BatchNormalization layer of the base is frozen, so it runs in
    inference mode and keeps its moving statistics during fine-tuning (see
    the module docstring for why `training=False` alone is not enough in
    Keras 3). The head is global average pooling (when the features
    are still maps), optional dropout and a softmax `Dense`. The base's
    layers are shared with the new model, not copied: the trainable flags
    are set on them.

    - `"linear_probe"`: the whole base frozen, only the head trains.
    - `"linear_probe_stages"`: the same on features pooled from
      intermediate stages of the base (`stage_names`), concatenated: by
      default all of them, so early, generic features are there when the
      target data are unlike the source data; or one stage at a time, to
      compare them.
    - `"finetune_top"` / `"finetune_most"`: `unfreeze_top(base,
      num_layers)`, BatchNormalization layers kept frozen.

    Args:
        base: a pretrained `keras.Model` without its classifier (e.g.
            `pretrain_base(...)` or `mobilenet_base(...)`).
        num_classes: classes of the target task.
        strategy: one of `STRATEGIES`.
        stage: for `"linear_probe_stages"`, the name (or a list of names)
            of the base layers whose pooled outputs feed the head. Defaults
            to every stage in `stage_names(base)`.
        num_layers: for the fine-tuning strategies, how many top layers of
            the base train. Defaults to the layers holding the last quarter
            of the base's kernels, at least one (`"finetune_top"`), or all
            but the first quarter (`"finetune_most"`).
        dropout: drop rate before the classifier. Defaults to `0.0`.
        name: model name. Defaults to `"transfer_<strategy>"`.

    Returns:
        An uncompiled `keras.Model`.

    Example:
    >>> base = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
    ...                          keras.layers.BatchNormalization(), keras.layers.ReLU()])
    >>> model = transfer_model(base, 3, "linear_probe")
    >>> model.output_shape, len(model.trainable_weights)
    ((None, 3), 2)
    """
    check_number("num_classes", num_classes, 2, integer=True)
    check_choice("strategy", strategy, STRATEGIES)
    check_number("dropout", dropout, 0, 1, high_open=True)
    outputs = list(base.outputs)
    if strategy == "linear_probe_stages":
        stages = stage_names(base) if stage is None else (
            [stage] if isinstance(stage, str) else list(stage))
        for stage_name in stages:
            layer_index(base, stage_name, "stage")
        outputs = [base.get_layer(stage_name).output for stage_name in stages]
    if strategy in ("linear_probe", "linear_probe_stages"):
        freeze(base)
    else:
        unfreeze_top(base, _top_layers(base, strategy) if num_layers is None else num_layers)
    features = keras.Model(base.inputs, outputs, name=f"{base.name}_features")
    inputs = keras.Input(base.inputs[0].shape[1:], dtype=base.inputs[0].dtype)
    pooled = [_pool(x) for x in keras.tree.flatten(features(inputs))]
    x = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                                 name="classifier")(x)
    return keras.Model(inputs, outputs, name=name or f"transfer_{strategy}")


def stage_names(base):
    """The layers that end each stage of a CNN: the last layer at each resolution.

    These are the candidate `stage`s of `"linear_probe_stages"`: early
    stages hold generic features (edges, textures), late ones features
    specific to the source classes. A stage is a run of layers at one
    spatial resolution holding at least one kernel (convolution); padding
    layers, which briefly grow the maps before a strided layer, are skipped.

    Args:
        base: a functional or `Sequential` `keras.Model` with image inputs.

    Returns:
        A list of layer names, earliest stage first.

    Example:
    >>> base = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, padding="same",
    ...     name="c1"), keras.layers.MaxPooling2D(name="p1"), keras.layers.Conv2D(2, 3,
    ...     padding="same", name="c2"), keras.layers.GlobalAveragePooling2D(name="gap")])
    >>> stage_names(base)
    ['c1', 'c2']
    """
    check_model(base, "base")
    stages = []  # [last layer name, spatial size, holds a kernel]
    for layer in base.layers:
        shape = layer.output.shape
        if len(shape) < 3:
            continue
        size = math.prod(shape[1:-1])
        if not stages or size < stages[-1][1]:
            stages.append([layer.name, size, False])
        elif size > stages[-1][1]:  # padding before a strided layer
            continue
        stages[-1][0] = layer.name
        stages[-1][2] |= getattr(layer, "kernel", None) is not None
    return [name for name, _, has_kernel in stages if has_kernel]


def _top_layers(base, strategy):
    """How many top layers hold the last quarter (at least one) of the kernels, or
    all but the first quarter of them."""
    kernel_layers = [index for index, layer in enumerate(base.layers)
                     if getattr(layer, "kernel", None) is not None]
    if not kernel_layers:
        return len(base.layers)
    quarter = len(kernel_layers) // 4
    kept = max(1, quarter) if strategy == "finetune_top" else len(kernel_layers) - quarter
    return len(base.layers) - kernel_layers[-kept]


def _pool(x):
    pooling = {3: keras.layers.GlobalAveragePooling1D, 4: keras.layers.GlobalAveragePooling2D,
               5: keras.layers.GlobalAveragePooling3D}
    return pooling[len(x.shape)]()(x) if len(x.shape) in pooling else x
