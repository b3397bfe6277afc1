"""Small model builders the labs share.

Every regularization knob is an argument (dropout rate and layer, norm,
stochastic depth), so a lab switches a technique on or off without writing
a model of its own. All builders return an uncompiled `keras.Model` whose
output is class probabilities (softmax, float32 even under mixed precision).
"""

import warnings

import keras

from kerasreg._validation import check_choice, check_number, fail
from kerasreg.initialization import initializer_for_layer
from kerasreg.layers import GroupNorm, InstanceNorm, StochasticDepth, linear_survival

NORMS = ("batch", "group", "layer", "instance", None)


def mlp(input_shape, num_classes, hidden_units=(256, 256), dropout=0.0,
        input_dropout=0.0, dropout_layer=None, activation="relu",
        kernel_initializer="he_normal", name="mlp"):
    """A fully connected classifier with optional dropout on inputs and hidden units.

    Args:
        input_shape: shape of one example; images are flattened.
        num_classes: number of classes.
        hidden_units: width of each hidden layer. Defaults to `(256, 256)`.
        dropout: drop rate after each hidden layer. Defaults to `0.0`.
        input_dropout: drop rate on the inputs (the lecture's keep
            probability 0.8 is `input_dropout=0.2`). Defaults to `0.0`.
        dropout_layer: callable `rate -> Layer`, e.g.
            `kerasreg.layers.VanillaDropout`. Defaults to `keras.layers.Dropout`.
        activation: hidden activation. Defaults to `"relu"`.
        kernel_initializer: initializer of every hidden Dense kernel; an
            instance gives each layer its own draw (`initializer_for_layer`).
            Defaults to `"he_normal"`.
        name: model name. Defaults to `"mlp"`.

    Returns:
        A `keras.Model`.

    Example:
    >>> model = mlp((8, 8, 1), 10, hidden_units=(32,), dropout=0.5)
    >>> model.output_shape
    (None, 10)
    """
    _check_classes(num_classes)
    check_number("dropout", dropout, 0, 1, high_open=True)
    check_number("input_dropout", input_dropout, 0, 1, high_open=True)
    dropout_layer = dropout_layer or keras.layers.Dropout
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    if input_dropout:
        x = dropout_layer(input_dropout)(x)
    for index, units in enumerate(hidden_units):
        initializer = initializer_for_layer(kernel_initializer, index)
        x = keras.layers.Dense(units, activation=activation, kernel_initializer=initializer)(x)
        if dropout:
            x = dropout_layer(dropout)(x)
    return keras.Model(inputs, _classifier(x, num_classes), name=name)


def small_cnn(input_shape, num_classes, filters=(32, 64), norm=None, dropout=0.0,
              dropout_layer=None, name="small_cnn"):
    """A VGG-style CNN: per stage conv 3x3, [norm], ReLU, max-pool 2x2.

    Args:
        input_shape: `(height, width, channels)`.
        num_classes: number of classes.
        filters: channels of each stage. Defaults to `(32, 64)`.
        norm: one of `NORMS` (see `normalization`). Defaults to `None`.
        dropout: drop rate before the classifier. Defaults to `0.0`.
        dropout_layer: callable `rate -> Layer`. Defaults to `keras.layers.Dropout`.
        name: model name. Defaults to `"small_cnn"`.

    Returns:
        A `keras.Model`.

    Example:
    >>> small_cnn((8, 8, 1), 10).output_shape
    (None, 10)
    """
    _check_classes(num_classes)
    check_choice("norm", norm, NORMS)
    check_number("dropout", dropout, 0, 1, high_open=True)
    inputs = keras.Input(input_shape)
    x = inputs
    for channels in filters:
        x = keras.layers.Conv2D(channels, 3, padding="same", use_bias=norm is None)(x)
        x = normalization(norm, channels)(x)
        x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D(padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = (dropout_layer or keras.layers.Dropout)(dropout)(x)
    return keras.Model(inputs, _classifier(x, num_classes), name=name)


def resnet(depth=20, width=16, norm="batch", dropout=0.0, final_survival=None,
           stochastic_depth_mode="batch", input_shape=(32, 32, 3), num_classes=10,
           seed=None, name=None, *, stochastic_depth=None):
    """The CIFAR ResNet of He et al. (depth 6n + 2: three stages of n basic blocks).

    Stages have `width`, `2 * width`, `4 * width` channels; the first block
    of stages 2 and 3 halves the resolution with a projected shortcut.

    Args:
        depth: number of weighted layers, `6n + 2` (20, 32, 44, 56, 110).
            Defaults to `20`.
        width: channels of the first stage. Defaults to `16`.
        norm: one of `NORMS` (see `normalization`). Defaults to `"batch"`.
        dropout: drop rate before the classifier. Defaults to `0.0`.
        final_survival: survival probability `p_L` of the last block under
            the linear rule of Huang et al. (2016); each block `l` of `L`
            survives with `1 - l / L * (1 - p_L)` (a downsampling block keeps
            its projection shortcut when dropped). `None` turns stochastic
            depth off. timm's `drop_path_rate` is `1 - final_survival`.
            Defaults to `None`.
        stochastic_depth_mode: `"batch"` or `"sample"`, see
            `kerasreg.layers.StochasticDepth`. Defaults to `"batch"`.
        input_shape: image shape. Defaults to `(32, 32, 3)`.
        num_classes: number of classes. Defaults to `10`.
        seed: seed of the stochastic-depth draws; block `l` uses `seed + l`,
            so the blocks draw independently. Defaults to `None`.
        name: model name. Defaults to `"resnet{depth}"`.
        stochastic_depth: the old name of `final_survival` (the same
            meaning), kept working with a `DeprecationWarning`.

    Returns:
        A `keras.Model`.

    Example:
    >>> model = resnet(depth=8, width=8, input_shape=(16, 16, 1))
    >>> model.output_shape
    (None, 10)
    """
    check_number("depth", depth, 8, integer=True)
    if (depth - 2) % 6:
        fail("depth", "6n + 2 for an integer n >= 1 (8, 14, 20, 32, 44, 56, 110)", depth)
    check_number("width", width, 1, integer=True)
    check_choice("norm", norm, NORMS)
    check_number("dropout", dropout, 0, 1, high_open=True)
    final_survival = _renamed_final_survival(final_survival, stochastic_depth)
    if final_survival is not None:
        check_number("final_survival", final_survival, 0, 1, low_open=True)
    _check_classes(num_classes)
    blocks_per_stage = (depth - 2) // 6
    survival = _block_survival(3 * blocks_per_stage, final_survival)
    inputs = keras.Input(input_shape)
    x = _conv_norm(inputs, width, 1, norm)
    x = keras.layers.Activation("relu")(x)
    for block in range(3 * blocks_per_stage):
        stage, index = divmod(block, blocks_per_stage)
        x = _basic_block(x, width * 2 ** stage, 2 if (stage and not index) else 1, norm,
                         survival[block], stochastic_depth_mode,
                         None if seed is None else seed + block)
    x = keras.layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inputs, _classifier(x, num_classes), name=name or f"resnet{depth}")


def normalization(norm, channels):
    """The normalization layer for `channels` feature maps.

    "batch" is `BatchNormalization`; "layer" normalizes over (H, W, C)
    with one scale per channel (the lecture's layer norm for convolutions,
    `GroupNorm(groups=1)`); "group" uses up to 32 groups (the largest
    divisor of `channels` not above 32); "instance" normalizes each channel
    over (H, W) (`InstanceNorm`); `None` is the identity.

    Args:
        norm: one of `NORMS`.
        channels: number of channels to normalize.

    Returns:
        A `keras.layers.Layer`.

    Example:
    >>> normalization("group", 48).groups
    24
    """
    check_choice("norm", norm, NORMS)
    if norm == "batch":
        return keras.layers.BatchNormalization()
    if norm is None:
        return keras.layers.Identity()
    if norm == "instance":
        return InstanceNorm()
    if norm == "layer":
        return GroupNorm(groups=1)
    return GroupNorm(groups=max(g for g in range(1, 33) if channels % g == 0))


def _basic_block(x, channels, stride, norm, survival_probability, mode, seed):
    branch = keras.Sequential([
        keras.layers.Conv2D(channels, 3, strides=stride, padding="same",
                            use_bias=norm is None),
        normalization(norm, channels),
        keras.layers.Activation("relu"),
        keras.layers.Conv2D(channels, 3, padding="same", use_bias=norm is None),
        normalization(norm, channels),
    ])
    shortcut = None
    if stride != 1 or x.shape[-1] != channels:
        shortcut = keras.Sequential([
            keras.layers.Conv2D(channels, 1, strides=stride, use_bias=norm is None),
            normalization(norm, channels)])
    if survival_probability < 1:
        x = StochasticDepth(branch, survival_probability, mode=mode, seed=seed,
                            shortcut=shortcut)(x)
    else:
        x = keras.layers.Add()([x if shortcut is None else shortcut(x), branch(x)])
    return keras.layers.Activation("relu")(x)


def _renamed_final_survival(final_survival, stochastic_depth):
    """`final_survival`, or the value passed under its old name `stochastic_depth`."""
    if stochastic_depth is None:
        return final_survival
    if final_survival is not None:
        fail("stochastic_depth", "None when final_survival is given (it is its old name)",
             stochastic_depth)
    warnings.warn("`resnet(stochastic_depth=...)` is deprecated: pass the same value as "
                  "`final_survival` (the last block's survival probability; timm's "
                  "`drop_path_rate` is 1 - final_survival).", DeprecationWarning, stacklevel=3)
    return stochastic_depth


def _block_survival(num_blocks, final_survival):
    if final_survival is None:
        return [1.0] * num_blocks
    return linear_survival(num_blocks, final_survival)


def _conv_norm(x, channels, stride, norm):
    x = keras.layers.Conv2D(channels, 3, strides=stride, padding="same",
                            use_bias=norm is None)(x)
    return normalization(norm, channels)(x)


def _classifier(x, num_classes):
    return keras.layers.Dense(num_classes, activation="softmax", dtype="float32")(x)


def _check_classes(num_classes):
    check_number("num_classes", num_classes, 2, integer=True)
