"""Dropout: vanilla (scale at test time) and Monte Carlo (always on)."""

import keras
from keras import ops

from kerasreg._validation import check_number


def vanilla_dropout(inputs, rate, training=False, seed=None):
    """Vanilla dropout: drop units in training, scale them at test time.

    The lecture's "not recommended" form. Training multiplies every unit by a
    binary mask `z ~ Bernoulli(1 - rate)` and does not rescale; inference
    multiplies by the keep probability, `y = (1 - rate) * x`, so the output
    at test time equals the expected output at training time. The inverted
    form divides by `1 - rate` in training instead and leaves inference
    alone: that is `keras.layers.Dropout`.

    Args:
        inputs: a tensor of any rank.
        rate: drop probability, in [0, 1).
        training: draw a mask (`True`) or scale by `1 - rate` (`False`).
            Defaults to `False`.
        seed: an int or a `keras.random.SeedGenerator`. Defaults to `None`.

    Returns:
        A tensor of the shape and dtype of `inputs`; in training each entry
        is exactly 0 or the input.

    Example:
    >>> x = keras.ops.ones((2, 4))
    >>> keras.ops.convert_to_numpy(vanilla_dropout(x, 0.25)).tolist()
    [[0.75, 0.75, 0.75, 0.75], [0.75, 0.75, 0.75, 0.75]]
    >>> y = keras.ops.convert_to_numpy(vanilla_dropout(x, 0.25, training=True, seed=0))
    >>> set(y.ravel().tolist()) <= {0.0, 1.0}
    True
    """
    check_number("rate", rate, 0, 1, high_open=True)
    if rate == 0:
        return inputs
    if training:
        keep = keras.random.uniform(ops.shape(inputs), seed=seed) >= rate
        return ops.where(keep, inputs, ops.zeros_like(inputs))
    return inputs * (1 - rate)


@keras.saving.register_keras_serializable(package="kerasreg")
class VanillaDropout(keras.layers.Layer):
    """Dropout that scales activations at test time instead of training time.

    Training zeroes each unit with probability `rate` and keeps the others
    unchanged; inference computes `y = (1 - rate) * x`, the lecture's
    `E[a] = (1 - rate) * (w1 x1 + w2 x2)` for a neuron after dropout. It
    has the expectation of `keras.layers.Dropout` (inverted dropout) scaled
    by `1 - rate`; prefer the inverted one in practice, this layer exists
    to compare the two.

    Args:
        rate: drop probability, in [0, 1).
        seed: seed of the masks. Defaults to `None`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a tensor of any rank.
        training: Python boolean, training (random mask, no rescale) or
            inference (multiply by `1 - rate`).

    Example:
    >>> layer = VanillaDropout(0.5, seed=1)
    >>> x = keras.ops.ones((1, 4))
    >>> keras.ops.convert_to_numpy(layer(x)).tolist()
    [[0.5, 0.5, 0.5, 0.5]]
    >>> y = keras.ops.convert_to_numpy(layer(x, training=True))
    >>> set(y.ravel().tolist()) <= {0.0, 1.0}
    True

    Reference:
        Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov, "Dropout:
        A Simple Way to Prevent Neural Networks from Overfitting", JMLR 2014.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_number("rate", rate, 0, 1, high_open=True)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        return vanilla_dropout(inputs, self.rate, training, self.seed_generator)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="kerasreg")
class MCDropout(keras.layers.Dropout):
    """Inverted dropout that stays on at inference (Monte Carlo dropout).

    `keras.layers.Dropout` with its mask drawn on every call: kept units
    are divided by `1 - rate` as in training, so each prediction is one
    sample `f(x, z)` of the lecture's "mask sampling" vote, and the mean of
    10 to 20 of them estimates `E_z[f(x, z)]`; their spread is the model's
    uncertainty. What this subclass adds to `keras.layers.Dropout`: the
    `training` argument is ignored. To sample an ordinary model's dropout
    layers without changing them, use `kerasreg.inference.mc_predict`.

    Args:
        rate: drop probability, in [0, 1).
        noise_shape: shape of the mask, broadcast over the input (a 1 shares
            the draw along that axis), as in `keras.layers.Dropout`.
            Defaults to `None` (one draw per unit).
        seed: seed of the masks. Defaults to `None`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a tensor of any rank.
        training: ignored; the layer always drops.

    Example:
    >>> layer = MCDropout(0.5, seed=1)
    >>> y = keras.ops.convert_to_numpy(layer(keras.ops.ones((1, 8)), training=False))
    >>> set(y.ravel().tolist()) <= {0.0, 2.0}
    True

    Reference:
        Gal, Ghahramani, "Dropout as a Bayesian Approximation: Representing
        Model Uncertainty in Deep Learning", ICML 2016.
        Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks
        from Overfitting", JMLR 2014.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        check_number("rate", rate, 0, 1, high_open=True)
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)
