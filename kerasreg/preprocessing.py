"""Data pre-processing: centering, standardizing, and the lecture's three image variants.

The lecture's table recipe is to center each feature (subtract its mean
over the training rows) and, when features have different scales but
similar importance, divide by its standard deviation; PCA whitening goes
further (`kerasreg.layers.PCAWhitening`). For colour images it is "center
only", in one of three variants: subtract the mean image (an `H x W x 3`
array), the per-channel mean (3 numbers), or the per-channel mean and
divide by the per-channel standard deviation (2 x 3 numbers).

All of them are `keras.layers.Normalization`, which already does this well
(statistics from `adapt()` or given, saved in `.keras` files, usable as a
model's first layer or on arrays): this module only picks its `axis`,
and for the mean-only variants passes a variance of one. Statistics always
come from the training data and are then applied to every split.
"""

import keras
import numpy as np

from kerasreg._crops import random_squares
from kerasreg._snapshot import restore, snapshot
from kerasreg._validation import check_choice, check_learning_rates, check_number, fail
from kerasreg.curves import diverged

IMAGE_VARIANTS = ("mean_image", "channel_mean", "channel_mean_std")


def fit_normalization(data, axis=-1, scale=True):
    """A `keras.layers.Normalization` fitted to `data`.

    Computes one mean per position along `axis` over every other axis
    (rows, and pixels for images) and, when `scale`, one standard
    deviation, so the layer computes `(x - mean) / std`; without `scale` it
    only subtracts the mean (the layer is given a variance of one).

    Args:
        data: training data, a NumPy array with the examples on axis 0.
        axis: the axis (or tuple of axes) that keeps its own statistics:
            `-1` for the features of a table or the channels of images,
            `(1, 2, 3)` for one statistic per pixel and channel of images.
            Defaults to `-1`.
        scale: also divide by the standard deviation. Defaults to `True`.

    Returns:
        A built `keras.layers.Normalization`; `layer.mean` and
        `layer.variance` hold the statistics (broadcast to the input's rank).

    Example:
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> layer = fit_normalization(x, scale=False)
    >>> keras.ops.convert_to_numpy(layer(x)).tolist()
    [[-1.0, -10.0], [1.0, 10.0]]
    >>> keras.ops.convert_to_numpy(fit_normalization(x)(x)).round(4).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """
    data = np.asarray(data, "float64")  # float32 sums drift by ~1e-3 on 10^5 pixels
    if data.ndim < 2 or len(data) < 2:
        fail("data.shape", "of rank >= 2 with at least 2 examples on axis 0", data.shape)
    if not np.isfinite(data).all():
        fail("data", "finite (it holds NaN or infinity)", f"array of shape {data.shape}")
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    kept = {a % data.ndim for a in axes}
    reduced = tuple(a for a in range(data.ndim) if a not in kept)
    mean = data.mean(axis=reduced)
    variance = data.var(axis=reduced) if scale else np.ones_like(mean)
    layer = keras.layers.Normalization(axis=axis, mean=mean, variance=variance)
    layer.build((None,) + data.shape[1:])  # so that `layer.mean` is there, as after adapt
    return layer


def image_normalization(images, variant="channel_mean_std"):
    """The lecture's image pre-processing, fitted to training images.

    Variants (channels-last `images` of shape `(N, H, W, C)`):
    `"mean_image"` subtracts the mean image, one value per pixel and
    channel (`H x W x C` numbers); `"channel_mean"` subtracts one mean per
    channel (`C` numbers); `"channel_mean_std"` also divides by one
    standard deviation per channel (`2 x C` numbers). All three are
    `keras.layers.Normalization` (see `fit_normalization`).

    Args:
        images: training images, `(N, H, W, C)`.
        variant: one of `IMAGE_VARIANTS`. Defaults to `"channel_mean_std"`.

    Returns:
        An adapted `keras.layers.Normalization`.

    Example:
    >>> images = np.random.default_rng(0).random((10, 4, 4, 3))
    >>> [tuple(image_normalization(images, v).mean.shape) for v in IMAGE_VARIANTS]
    [(1, 4, 4, 3), (1, 1, 1, 3), (1, 1, 1, 3)]
    """
    check_choice("variant", variant, IMAGE_VARIANTS)
    images = np.asarray(images)
    if images.ndim != 4:
        fail("images.shape", "of rank 4, (N, H, W, C) with channels last", images.shape)
    if variant == "mean_image":
        return fit_normalization(images, axis=(1, 2, 3), scale=False)
    return fit_normalization(images, axis=-1, scale=variant == "channel_mean_std")


def random_crops(images, size, per_image, seed=0):
    """Square crops at random positions of images of any sizes (e.g. photographs).

    Args:
        images: a list of `(height, width, channels)` arrays, each at least
            `size` pixels on both sides.
        size: side of each crop in pixels.
        per_image: crops cut from each image.
        seed: seed of the positions. Defaults to `0`.

    Returns:
        An array `(len(images) * per_image, size, size, channels)` of the
        images' dtype, the crops of image 0 first.

    Example:
    >>> crops = random_crops([np.zeros((10, 20, 3)), np.ones((8, 8, 3))], 4, 5)
    >>> crops.shape, float(crops[5:].min())
    ((10, 4, 4, 3), 1.0)
    """
    check_number("size", size, 1, integer=True)
    check_number("per_image", per_image, 1, integer=True)
    rng = np.random.default_rng(seed)
    crops = []
    for image in images:
        height, width = image.shape[:2]
        if size > min(height, width):
            fail("size", f"at most the smallest image side ({min(height, width)})", size)
        crops.append(random_squares(image, size, per_image, rng))
    return np.concatenate(crops)


def sgd_loss_curves(model, x, y, learning_rates, epochs=20, batch_size=32,
                    loss="sparse_categorical_crossentropy", seed=0):
    """Training loss per epoch of `model` under plain SGD, once per learning rate.

    The fair way to compare pre-processings by convergence speed: each
    gets its own best learning rate from the same grid. Every run starts
    from the model's current weights and sees the same shuffles; the weights
    are restored at the end. Steps go through `train_on_batch`, which costs
    far less per epoch than `fit` on a table of a few hundred rows.

    Args:
        model: a built `keras.Model`; it is compiled here with
            `keras.optimizers.SGD`.
        x: training inputs.
        y: training targets.
        learning_rates: the grid, e.g. `(1e-4, 1e-3, 1e-2, 1e-1, 1.0)`.
        epochs: passes over the data per run. Defaults to `20`.
        batch_size: examples per step. Defaults to `32`.
        loss: the Keras loss. Defaults to `"sparse_categorical_crossentropy"`.
        seed: seed of the shuffles. Defaults to `0`.

    Returns:
        A dict `{learning_rate: losses}`, `losses` a float array of `epochs`
        mean batch losses. A run diverges when a batch loss turns NaN or
        infinite, or explodes past 4x the run's first one
        (`kerasreg.callbacks.diverged`, the test of `DivergenceGuard`; under
        JAX and PyTorch an exploding cross-entropy stops near 16 rather
        than overflowing); it reads `inf` from that epoch on.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    >>> x = np.array([[0.0, 1.0], [1.0, 0.0]] * 8, "float32")
    >>> curves = sgd_loss_curves(model, x, np.tile([0, 1], 8), [0.5], epochs=3, batch_size=4)
    >>> bool(curves[0.5][-1] < curves[0.5][0])
    True
    """
    check_number("epochs", epochs, 1, integer=True)
    check_number("batch_size", batch_size, 1, integer=True)
    check_learning_rates(learning_rates)
    model.compile(optimizer=keras.optimizers.SGD(), loss=loss)
    initial = snapshot(model.weights)
    curves = {}
    for learning_rate in learning_rates:
        restore(initial)
        model.optimizer.learning_rate.assign(learning_rate)
        curves[learning_rate] = _sgd_run(model, x, y, epochs, batch_size, seed)
    restore(initial)
    return curves


def _sgd_run(model, x, y, epochs, batch_size, seed):
    rng = np.random.default_rng(seed)
    losses = np.full(epochs, np.inf)
    first = None
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        batch_losses = []
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            loss = float(model.train_on_batch(x[batch], y[batch]))
            first = loss if first is None else first
            if diverged(loss, first):
                return losses
            batch_losses.append(loss)
        losses[epoch] = np.mean(batch_losses)
    return losses
