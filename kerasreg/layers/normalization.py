"""Group, layer and instance normalization for channels-last feature maps.

The lecture's three per-example normalizations are one computation: split
the C channels into G groups and normalize each example over its spatial
positions and the C / G channels of each group. G = 1 is layer norm over
(H, W, C), G = C is instance norm over (H, W). Unlike batch norm there are
no moving statistics: training and inference behave the same.

`GroupNorm` subclasses `keras.layers.GroupNormalization` rather than
re-implementing it, because Keras already does most of the work well: it
creates `gamma`/`beta` (float32 even under mixed precision, never
autocast), sets the input spec, computes the output shape and passes masks
through, and our layers stay `isinstance(..., GroupNormalization)` for code
that looks for it. The subclass adds what Keras lacks: the toolkit's
`ValueError`s (a non-integer `groups` or a `groups` that does not divide the
channels, with both numbers in the message; Keras' docstring states that
rule backwards), channels-last only (`axis=-1`, a `ValueError` otherwise),
`epsilon=1e-5` as in the paper, a `get_config()` of the constructor's
arguments (`groups=-1` stays -1 after `build()`), and a `call` that is the pure function `group_norm` below, so a lab can show
the formula and test it without a layer. `group_norm` does the same
arithmetic as Keras (float32 statistics from `keras.ops.moments`, then one
multiply-add), so outputs agree to float32 round-off and speed is the same.
"""

import numbers

import keras
from keras import ops

from kerasreg._validation import check_bool, check_number, fail


def group_norm(inputs, groups, gamma=None, beta=None, epsilon=1e-5):
    """Normalize each example over its spatial axes and each group of channels.

    For channels-last `inputs` of shape `(N, ..., C)` split into `groups`
    groups of `C / groups` channels, this is the lecture's
    `y = gamma (x - mu) / sigma + beta` with `mu` and
    `sigma = sqrt(var + epsilon)` of shape `(N, 1, ..., 1, groups)`: one
    mean and one standard deviation per example and group, taken over every
    spatial axis and the channels of the group. `gamma` and `beta` hold one
    value per channel. Statistics are computed in float32 (float64 for
    float64 inputs), so float16 inputs do not overflow; the result has the
    input's dtype.

    Args:
        inputs: tensor of rank >= 2, channels last.
        groups: number of groups, a positive integer dividing the channels.
        gamma: per-channel scale of shape `(C,)`, or `None` for no scale.
            Defaults to `None`.
        beta: per-channel offset of shape `(C,)`, or `None` for no offset.
            Defaults to `None`.
        epsilon: small float added to the variance. Defaults to `1e-5`.

    Returns:
        A tensor shaped like `inputs`.

    Example:
    >>> import keras
    >>> import numpy as np
    >>> from kerasreg.layers import group_norm
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 5, 5, 4))
    >>> y = keras.ops.convert_to_numpy(group_norm(x, groups=2))
    >>> per_group = y.reshape(2, 25, 2, 2)  # (example, position, group, channel)
    >>> bool(np.allclose(per_group.mean(axis=(1, 3)), 0.0, atol=1e-5))
    True
    >>> bool(np.allclose(per_group.std(axis=(1, 3)), 1.0, atol=1e-3))
    True

    Reference:
    - [Wu & He, Group Normalization, 2018](https://arxiv.org/abs/1803.08494)
    """
    inputs = ops.convert_to_tensor(inputs)
    check_number("groups", groups, 1, integer=True)
    check_number("epsilon", epsilon, 0, low_open=True)
    channels = _check_groups(groups, inputs.shape)
    dtype = keras.backend.standardize_dtype(inputs.dtype)
    stats_dtype = keras.backend.result_type(dtype, "float32")
    per_group = channels // groups
    # (example, spatial position, group, channel within the group)
    x = ops.reshape(ops.cast(inputs, stats_dtype),
                    (ops.shape(inputs)[0], -1, groups, per_group))
    mean, variance = ops.moments(x, axes=(1, 3), keepdims=True)
    scale = ops.rsqrt(variance + epsilon)  # 1 / sigma
    if gamma is not None:
        scale = scale * ops.reshape(ops.cast(gamma, stats_dtype), (groups, per_group))
    offset = -mean * scale
    if beta is not None:
        offset = offset + ops.reshape(ops.cast(beta, stats_dtype), (groups, per_group))
    # gamma (x - mu) / sigma + beta, as one multiply-add over the big tensor.
    outputs = ops.reshape(x * scale + offset, ops.shape(inputs))
    return ops.cast(outputs, dtype if keras.backend.is_float_dtype(dtype) else stats_dtype)


@keras.saving.register_keras_serializable(package="kerasreg")
class GroupNorm(keras.layers.GroupNormalization):
    """Group normalization: normalize each example over space and channel groups.

    The lecture's `y = gamma (x - mu) / sigma + beta` where, for
    channels-last `x` of shape `(N, H, W, C)` (any rank >= 2 works),
    `mu` and `sigma` have shape `(N, 1, 1, groups)`: one mean and standard
    deviation per example and group, over H, W and the `C / groups` channels
    of the group; `gamma` and `beta` have one value per channel. `groups=1`
    is layer norm over (H, W, C); `groups=C` is instance norm (see
    `InstanceNorm`). No batch statistics, so training and inference agree
    and small batches are fine. Equal to `keras.layers.GroupNormalization`
    with the same settings; this subclass adds the checks described in the
    module docstring and computes its statistics in float32 under mixed
    precision.

    Args:
        groups: number of channel groups; must divide the number of channels.
            `-1` is one group per channel (instance norm), as in Keras.
            Defaults to `32`.
        epsilon: small float added to the variance. Defaults to `1e-5`.
        center: whether to add the learned offset `beta`. Defaults to `True`.
        scale: whether to multiply by the learned `gamma`. Defaults to `True`.
        axis: the channel axis; only `-1` (channels last). Defaults to `-1`.
        beta_initializer, gamma_initializer: initializers of `beta` and
            `gamma`. Defaults to `"zeros"` and `"ones"`.
        beta_regularizer, gamma_regularizer: their regularizers. Defaults to
            `None`.
        beta_constraint, gamma_constraint: their constraints. Defaults to
            `None`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: channels-last tensor of rank >= 2.

    Example:
    >>> import keras
    >>> import numpy as np
    >>> from kerasreg.layers import GroupNorm
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 8, 8, 6))
    >>> y = keras.ops.convert_to_numpy(GroupNorm(groups=3)(x))
    >>> y.shape
    (2, 8, 8, 6)
    >>> per_group = y.reshape(2, 64, 3, 2)  # (example, position, group, channel)
    >>> bool(np.allclose(per_group.std(axis=(1, 3)), 1.0, atol=1e-3))
    True

    Reference:
    - [Wu & He, Group Normalization, 2018](https://arxiv.org/abs/1803.08494)
    - [Ulyanov et al., Instance Normalization, 2016](https://arxiv.org/abs/1607.08022)
    """

    def __init__(self, groups=32, epsilon=1e-5, center=True, scale=True, axis=-1,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        _check_groups_argument(groups)
        check_number("epsilon", epsilon, 0, low_open=True)
        check_bool("center", center)
        check_bool("scale", scale)
        if isinstance(axis, bool) or axis not in (-1,):
            fail("axis", "-1: the layer normalizes channels-last inputs (move the channels "
                 "last, e.g. with keras.layers.Permute)", axis)
        super().__init__(groups=int(groups), axis=axis, epsilon=epsilon, center=center,
                         scale=scale, beta_initializer=beta_initializer,
                         gamma_initializer=gamma_initializer,
                         beta_regularizer=beta_regularizer,
                         gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                         gamma_constraint=gamma_constraint, **kwargs)
        self.groups_argument = int(groups)  # -1 until build() reads the channels

    def build(self, input_shape):
        if self.groups_argument == -1:  # one group per channel, as in Keras
            self.groups = _channels(input_shape)
        # Checked before Keras' build, whose message has the rule backwards.
        _check_groups(self.groups, input_shape)
        super().build(input_shape)

    def call(self, inputs):
        outputs = group_norm(inputs, self.groups, self.gamma, self.beta, self.epsilon)
        return ops.cast(outputs, self.compute_dtype)

    def get_config(self):
        # Keras' config (initializers, regularizers, constraints included), with
        # `groups` as given: -1 stays -1 after build().
        return {**super().get_config(), "groups": self.groups_argument}


@keras.saving.register_keras_serializable(package="kerasreg")
class InstanceNorm(GroupNorm):
    """Instance normalization: normalize each example and channel over space.

    The lecture's `y = gamma (x - mu) / sigma + beta` with `mu`, `sigma` of
    shape `(N, 1, 1, C)` for channels-last `x` of shape `(N, H, W, C)`: one
    mean and standard deviation per example and channel, over H and W (all
    spatial axes, for any rank). It is `GroupNorm(groups=-1)`, that is
    `groups=C` with `C` read from the input in `build()`.

    Args:
        epsilon: small float added to the variance. Defaults to `1e-5`.
        center: whether to add the learned offset `beta`. Defaults to `True`.
        scale: whether to multiply by the learned `gamma`. Defaults to `True`.
        axis, beta_initializer, gamma_initializer, beta_regularizer,
            gamma_regularizer, beta_constraint, gamma_constraint: as in
            `GroupNorm`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: channels-last tensor of rank >= 2.

    Example:
    >>> import keras
    >>> import numpy as np
    >>> from kerasreg.layers import InstanceNorm
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 8, 8, 3))
    >>> layer = InstanceNorm()
    >>> y = keras.ops.convert_to_numpy(layer(x))
    >>> layer.groups
    3
    >>> bool(np.allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-5))
    True

    Reference:
    - [Ulyanov et al., Instance Normalization, 2016](https://arxiv.org/abs/1607.08022)
    - [Wu & He, Group Normalization, 2018](https://arxiv.org/abs/1803.08494)
    """

    def __init__(self, epsilon=1e-5, center=True, scale=True, axis=-1,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(groups=-1, epsilon=epsilon, center=center, scale=scale, axis=axis,
                         beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                         beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                         beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
                         **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        return config


def _channels(input_shape):
    """The channel count of a channels-last `input_shape` of rank >= 2."""
    input_shape = tuple(input_shape)
    if len(input_shape) < 2 or input_shape[-1] is None:
        fail("input_shape", "channels-last of rank >= 2 with a known number of channels",
             input_shape)
    return input_shape[-1]


def _check_groups_argument(groups):
    valid = isinstance(groups, numbers.Integral) and not isinstance(groups, bool)
    if not valid or (groups < 1 and groups != -1):
        fail("groups", "an integer >= 1, or -1 for one group per channel", groups)


def _check_groups(groups, input_shape):
    """Return the channel count of `input_shape` after checking `groups` divides it."""
    input_shape = tuple(input_shape)
    channels = _channels(input_shape)
    if groups is None or channels % groups:
        fail("groups", f"a divisor of the number of channels ({channels}, the last axis "
             f"of input shape {input_shape})", groups)
    return channels


