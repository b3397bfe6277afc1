"""Stochastic depth: drop whole residual branches (Huang et al., 2016)."""

import keras
from keras import ops

from kerasreg._validation import check_bool, check_choice, check_number, fail

MODES = ("batch", "sample")


def linear_survival(num_blocks, final_survival=0.5):
    """Survival probabilities of the linear decay rule, first block to last.

    Block `l` of `L` survives with `p_l = 1 - l / L * (1 - p_L)`: the input
    stays almost always, the last block survives with `p_L`.

    Args:
        num_blocks: number of residual blocks `L`, an integer >= 1.
        final_survival: `p_L`, in (0, 1]. Defaults to `0.5`.

    Returns:
        A list of `num_blocks` floats.

    Example:
    >>> linear_survival(4, 0.5)
    [0.875, 0.75, 0.625, 0.5]
    """
    check_number("num_blocks", num_blocks, 1, integer=True)
    check_number("final_survival", final_survival, 0, 1, low_open=True)
    return [1 - block / num_blocks * (1 - final_survival)
            for block in range(1, num_blocks + 1)]


def drop_path(inputs, survival_probability, rescale=True, seed=None):
    """Zero a residual branch's output per example, with probability `1 - p`.

    One Bernoulli(`p`) draw per example, broadcast over the other axes
    (timm's `drop_path`); the kept examples are divided by `p` when
    `rescale`, so the expectation is unchanged.

    Args:
        inputs: the branch output, a batch of any rank.
        survival_probability: keep probability `p`, in (0, 1].
        rescale: divide the kept examples by `p`. Defaults to `True`.
        seed: an int or a `keras.random.SeedGenerator`. Defaults to `None`.

    Returns:
        A tensor of the shape of `inputs`, of its dtype when it is a float
        one (integer inputs are cast to `keras.config.floatx()`).

    Example:
    >>> y = drop_path(keras.ops.ones((100, 3)), 0.5, seed=0)
    >>> sorted(set(keras.ops.convert_to_numpy(y).ravel().tolist()))
    [0.0, 2.0]
    """
    check_number("survival_probability", survival_probability, 0, 1, low_open=True)
    inputs = ops.convert_to_tensor(inputs)
    if not keras.backend.is_float_dtype(inputs.dtype):  # 1 / p would round to 1 / 0
        inputs = ops.cast(inputs, keras.config.floatx())
    if survival_probability == 1:
        return inputs
    shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
    keep = keras.random.uniform(shape, seed=seed) < survival_probability
    gate = ops.cast(keep, inputs.dtype)
    if rescale:
        gate = gate / ops.cast(survival_probability, inputs.dtype)
    return ops.multiply(inputs, gate)  # also for NumPy inputs under the torch backend


@keras.saving.register_keras_serializable(package="kerasreg")
class StochasticDepth(keras.layers.Layer):
    """Residual block whose branch is randomly dropped during training.

    The lecture's stochastic depth: `y = x + b * f(x)` with `b ~
    Bernoulli(p)`, so a dropped block is the identity; at test time every
    block runs and is re-calibrated, `y = x + p * f(x)`. With
    `mode="batch"` (Huang et al.) one draw decides for the whole batch and
    a dropped branch is not computed at all, forward or backward, which is
    where the training speed-up comes from. With `mode="sample"`
    (drop-path) each example has its own draw, the branch always runs.
    `scale_at_test=False` is the inverted form: kept branches are divided
    by `p` during training and inference is `y = x + f(x)`. A block that
    changes the shape (a ResNet's downsampling block) passes its projection
    as `shortcut` `s`: `y = s(x) + b * f(x)`, dropped to `s(x)`, as Huang et
    al. drop those blocks too.

    Compiled with XLA on a GPU, each conditional waits for the device to
    read its draw: with small blocks (a CIFAR ResNet on a modern GPU) that
    costs more than the skipped compute, and `"sample"` mode is faster. On
    a CPU, XLA runs the backward convolutions inside a conditional on a
    slow path (JAX 0.10: ~25x), so under the JAX backend use `"sample"`;
    TensorFlow and PyTorch save what the dropped blocks cost.

    Args:
        branch: the residual branch `f`, a `keras.layers.Layer` (often a
            `keras.Sequential`) whose output has the shape of its input.
        survival_probability: `p`, in (0, 1]. Defaults to `0.8`.
        mode: `"batch"` (one draw per call) or `"sample"` (one draw per
            example). Defaults to `"batch"`.
        scale_at_test: multiply the branch by `p` at inference rather than
            divide it by `p` in training. Defaults to `True`.
        seed: seed of the draws. Defaults to `None`.
        shortcut: a `keras.layers.Layer` for the identity path, run whether
            the branch is dropped or not; its output must have the branch's
            shape. `None` is the identity. Defaults to `None`.

    Call arguments:
        inputs: the block input `x`, with a batch axis first.
        training: Python boolean, training (random gates) or inference.

    Example:
    >>> layer = StochasticDepth(keras.layers.Dense(3), 0.5, seed=1)
    >>> x = keras.ops.ones((2, 3))
    >>> y = layer(x, training=True)  # x, or x + f(x)
    >>> tuple(layer(x).shape)
    (2, 3)

    Reference:
        Huang, Sun, Liu, Sedra, Weinberger, "Deep Networks with Stochastic
        Depth", ECCV 2016.
    """

    def __init__(self, branch, survival_probability=0.8, mode="batch",
                 scale_at_test=True, seed=None, shortcut=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(branch, keras.layers.Layer):
            fail("branch", "a keras.layers.Layer", branch)
        if shortcut is not None and not isinstance(shortcut, keras.layers.Layer):
            fail("shortcut", "a keras.layers.Layer or None", shortcut)
        check_number("survival_probability", survival_probability, 0, 1, low_open=True)
        check_choice("mode", mode, MODES)
        check_bool("scale_at_test", scale_at_test)
        self.branch = branch
        self.survival_probability = survival_probability
        self.mode = mode
        self.scale_at_test = scale_at_test
        self.seed = seed
        self.shortcut = shortcut
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        # Build now: variables created inside a conditional would not load.
        for layer in (self.branch, self.shortcut):
            if layer is not None and not layer.built:
                layer.build(input_shape)
        shortcut_shape = self.compute_output_shape(input_shape)
        spec = keras.KerasTensor(input_shape, dtype=self.compute_dtype)
        output_shape = self.branch.compute_output_spec(spec).shape
        if tuple(output_shape) != tuple(shortcut_shape):
            what = "its input" if self.shortcut is None else "the shortcut's output"
            raise ValueError(
                f"`branch` must return the shape of {what}. Received: input "
                f"shape={tuple(input_shape)}, shortcut output shape={tuple(shortcut_shape)}, "
                f"branch output shape={tuple(output_shape)}")

    def call(self, inputs, training=None):
        p = self.survival_probability
        skip = inputs if self.shortcut is None else ops.cast(self.shortcut(inputs), inputs.dtype)
        if training and p < 1:
            if self.mode == "sample":
                return skip + drop_path(self._branch(inputs), p, not self.scale_at_test,
                                        self.seed_generator)
            scale = 1.0 if self.scale_at_test else 1.0 / p
            keep = keras.random.uniform((), seed=self.seed_generator) < p
            # A real conditional: the dropped branch runs neither forward nor backward.
            return self._cond(keep, lambda: self._residual(inputs, skip, scale),
                              lambda: skip + self._zero_gradient_anchor(skip.dtype))
        return self._residual(inputs, skip, p if self.scale_at_test else 1.0)

    def _zero_gradient_anchor(self, dtype):
        # 0 that depends on the branch's weights: a dropped branch gets zero
        # gradients on every backend, as TensorFlow's and JAX's conditionals
        # give (eager PyTorch would give none, and Keras would warn each step).
        # Each sum in float32: under mixed precision kernels read as float16,
        # normalization weights (autocast=False) as float32.
        total = sum(ops.sum(ops.cast(weight, "float32"))
                    for weight in self.branch.trainable_weights)
        return ops.cast(0.0 * total, dtype)

    def _branch(self, inputs):
        return ops.cast(self.branch(inputs), inputs.dtype)

    def _residual(self, inputs, skip, scale):
        outputs = self._branch(inputs)
        return skip + (outputs if scale == 1 else scale * outputs)

    def _cond(self, keep, kept, dropped):
        if keras.backend.backend() != "jax":
            return ops.cond(keep, kept, dropped)
        # JAX traces both functions as pure ones: the branch's state updates
        # (BatchNormalization statistics, seeds) must leave as outputs.
        state = self.branch.non_trainable_variables
        before = [variable.value for variable in state]
        outputs, values = ops.cond(
            keep, lambda: (kept(), [variable.value for variable in state]),
            lambda: (dropped(), before))
        for variable, value in zip(state, values):
            variable.assign(value)
        return outputs

    def compute_output_shape(self, input_shape):
        if self.shortcut is None:
            return input_shape
        spec = keras.KerasTensor(input_shape, dtype=self.compute_dtype)
        return self.shortcut.compute_output_spec(spec).shape

    def get_config(self):
        return {**super().get_config(),
                "branch": _serialized(self.branch),
                "survival_probability": self.survival_probability,
                "mode": self.mode,
                "scale_at_test": self.scale_at_test,
                "seed": self.seed,
                "shortcut": _serialized(self.shortcut)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layers = {name: keras.saving.deserialize_keras_object(config.pop(name, None),
                                                              custom_objects=custom_objects)
                  for name in ("branch", "shortcut")}
        return cls(**layers, **config)


def _serialized(layer):
    return None if layer is None else _as_saved(keras.saving.serialize_keras_object(layer))


def _as_saved(config):
    """The config as a `.keras` file gives it back (tuples become lists), so that
    the branch's nested build shapes compare equal after a save and load."""
    if isinstance(config, dict):
        return {key: _as_saved(value) for key, value in config.items()}
    if isinstance(config, (list, tuple)):
        return [_as_saved(value) for value in config]
    return config
