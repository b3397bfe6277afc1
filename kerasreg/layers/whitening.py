"""PCA and ZCA whitening: decorrelate features and give each unit variance.

The lecture's "PCA as whitening": center the data, eigendecompose its
covariance `C = X^T X / M = U Sigma^2 U^T`, project onto the eigenbasis and
divide each coordinate by its standard deviation, `x_hat = Sigma^-1 U^T x`,
so the covariance of `x_hat` is the identity. (The slide says "divide by the
eigenvalue": the eigenvalues of `C` are the variances `Sigma^2`, so it is
their square root that is divided by.) ZCA rotates the result back,
`U Sigma^-1 U^T x`: of all the whitenings it is the one whose output stays
closest to the input, which is why it is used on images.

The maths are pure NumPy functions (`pca`, `whitening_matrix`) that a lab
can show on their own; `PCAWhitening` is a thin Keras layer around them
that, like `keras.layers.Normalization`, learns its state in `adapt()` and
stores it as non-trainable weights, so a `.keras` file keeps it. For
per-feature centering and standardizing, use `keras.layers.Normalization`
itself (see `kerasreg.preprocessing`).
"""

import keras
import numpy as np
from keras import ops

from kerasreg._batches import input_batches
from kerasreg._statistics import EMPTY, merge_moments
from kerasreg._validation import check_bool, check_number, fail

_RANK_2 = ("of rank 2, (rows, features), with a known number of features "
           "(flatten images first)")


def pca(data):
    """Mean, variances and principal directions of a table, largest variance first.

    The eigendecomposition of the covariance `C = (X - mu)^T (X - mu) / M`
    of the `M` rows of `data` (the lecture's `1 / M`, not `1 / (M - 1)`),
    computed in float64. Each eigenvector's largest entry is made positive,
    so the result does not depend on the solver's sign choice.

    Args:
        data: a `(rows, features)` array or tensor, or an iterable of such
            batches (a `tf.data.Dataset` of `x` or `(x, y)` works).

    Returns:
        `(mean, eigenvalues, eigenvectors)`: float64 arrays of shape `(d,)`,
        `(d,)` (descending, never negative) and `(d, d)` (one eigenvector
        per column).

    Example:
    >>> x = np.array([[3.0, 1.0], [-1.0, 1.0], [1.0, 2.0], [1.0, 0.0]])
    >>> mean, eigenvalues, eigenvectors = pca(x)
    >>> mean.tolist(), eigenvalues.tolist()
    ([1.0, 1.0], [2.0, 0.5])
    >>> eigenvectors.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    count, mean, scatter = _moments(data)
    eigenvalues, eigenvectors = np.linalg.eigh(scatter / count)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = np.maximum(eigenvalues[order], 0.0), eigenvectors[:, order]
    peaks = eigenvectors[np.abs(eigenvectors).argmax(axis=0), np.arange(len(order))]
    return mean, eigenvalues, eigenvectors * np.where(peaks < 0, -1.0, 1.0)


def whitening_matrix(eigenvalues, eigenvectors, epsilon=1e-5, zca=False):
    """The matrix `W` such that `(x - mean) @ W` is white.

    PCA whitening is `W = U diag(1 / sqrt(lambda + epsilon))`: row vectors
    projected on the eigenvectors `U` and divided by their standard
    deviations. ZCA is `W = U diag(1 / sqrt(lambda + epsilon)) U^T`, the
    same followed by the rotation back to the input's axes. `epsilon` keeps
    directions of (near) zero variance finite: they are scaled by at most
    `1 / sqrt(epsilon)` instead of divided by zero.

    Args:
        eigenvalues: `(d,)` variances along the eigenvectors, as from `pca`.
        eigenvectors: `(d, d)` orthonormal columns, as from `pca`.
        epsilon: small positive number added to every eigenvalue.
            Defaults to `1e-5`.
        zca: rotate back to the input's axes (ZCA) instead of keeping the
            principal axes (PCA). Defaults to `False`.

    Returns:
        A float64 `(d, d)` array; symmetric when `zca=True`.

    Example:
    >>> whitening_matrix(np.array([4.0, 1.0]), np.eye(2), epsilon=0.0).tolist()
    [[0.5, 0.0], [0.0, 1.0]]
    """
    check_number("epsilon", epsilon, 0)
    matrix = np.asarray(eigenvectors, "float64") / np.sqrt(np.asarray(eigenvalues) + epsilon)
    return matrix @ np.asarray(eigenvectors, "float64").T if zca else matrix


@keras.saving.register_keras_serializable(package="kerasreg")
class PCAWhitening(keras.layers.Layer):
    """Whitens features with the PCA (or ZCA) of the data it was adapted on.

    The lecture's `x_hat = Sigma^-1 U^T (x - mu)` with `C = U Sigma^2 U^T`
    the covariance of the adapted data: on that data the output has zero
    mean and identity covariance (up to `lambda / (lambda + epsilon)` on
    each principal direction). With `zca=True` the output is rotated back,
    `U Sigma^-1 U^T (x - mu)`, the whitening closest to the input. Call
    `adapt(data)` first, as with `keras.layers.Normalization`; the mean
    and the whitening matrix are non-trainable weights, saved in `.keras`
    files. A layer that was never adapted is the identity. Computes in
    float32 under mixed precision (the matrix can hold entries up to
    `1 / sqrt(epsilon)`).

    Args:
        epsilon: small positive number added to every eigenvalue, so that
            features of zero variance (a constant column, fewer rows than
            features) give finite outputs. Defaults to `1e-5`.
        zca: ZCA whitening instead of PCA whitening. Defaults to `False`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a `(batch, features)` tensor.

    Example:
    >>> x = np.random.default_rng(0).normal(size=(500, 3)) @ [[2, 1, 0], [0, 1, 0], [0, 0, 3]]
    >>> layer = PCAWhitening()
    >>> layer.adapt(x)
    >>> y = keras.ops.convert_to_numpy(layer(x))
    >>> bool(np.allclose(np.cov(y, rowvar=False, bias=True), np.eye(3), atol=1e-3))
    True

    Reference:
        Kessy, Lewin, Strimmer, "Optimal Whitening and Decorrelation",
        The American Statistician, 2018.
        Bell, Sejnowski, "The 'independent components' of natural scenes
        are edge filters", Vision Research, 1997 (ZCA).
    """

    def __init__(self, epsilon=1e-5, zca=False, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = check_number("epsilon", epsilon, 0, low_open=True)
        check_bool("zca", zca)
        self.zca = zca

    def build(self, input_shape):
        features = _features(input_shape)
        # autocast=False: the whitening runs in float32 even under mixed precision.
        self.mean = self.add_weight(name="mean", shape=(features,), initializer="zeros",
                                    trainable=False, autocast=False)
        self.matrix = self.add_weight(name="matrix", shape=(features, features),
                                      initializer="identity", trainable=False, autocast=False)

    def adapt(self, data):
        """Compute the mean and the whitening matrix of `data`.

        Args:
            data: a `(rows, features)` NumPy array or tensor with at least
                two rows, or an iterable of such batches (e.g. a batched
                `tf.data.Dataset` of `x` or `(x, y)`).
        """
        mean, eigenvalues, eigenvectors = pca(data)
        if not self.built:
            self.build((None, len(mean)))
        elif self.mean.shape[0] != len(mean):
            fail("data.shape[-1]", f"{self.mean.shape[0]}, the number of features the "
                 "layer was built for", len(mean))
        self.mean.assign(mean)
        self.matrix.assign(whitening_matrix(eigenvalues, eigenvectors, self.epsilon, self.zca))

    def call(self, inputs):
        if inputs.shape[-1] != self.mean.shape[0]:
            fail("inputs.shape[-1]", f"{self.mean.shape[0]}, the number of features the "
                 "layer was built for", inputs.shape[-1])
        x = ops.cast(inputs, self.matrix.dtype)
        return ops.cast(ops.matmul(x - self.mean, self.matrix), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "zca": self.zca}


def _moments(data):
    """`(count, mean, scatter)` of the rows of `data` in float64, batch by batch.

    Batches are merged with Chan et al.'s pairwise update (`merge_moments`),
    which avoids the cancellation of `sum(x x^T) / M - mu mu^T` when the
    mean is large.
    """
    moments, features = EMPTY, None
    for batch in _batches(data):
        if not len(batch):  # an empty batch adds nothing (and has no mean)
            continue
        if features is None:
            features = batch.shape[1]
        elif batch.shape[1] != features:
            fail("batch.shape[-1]", f"{features}, the number of features of the first batch",
                 batch.shape[1])
        centered = batch - batch.mean(axis=0)
        moments = merge_moments(moments, (len(batch), batch.mean(axis=0), centered.T @ centered))
    count, mean, scatter = moments
    if count < 2:
        fail("len(data)", "at least 2 rows to estimate a covariance", int(count))
    return count, mean, scatter


def _batches(data):
    """Float64 `(rows, features)` arrays from an array, a tensor or an iterable of batches."""
    for batch in input_batches(data):
        batch = np.asarray(ops.convert_to_numpy(batch), "float64")
        if batch.ndim != 2:
            fail("data.shape", _RANK_2, batch.shape)
        if not np.isfinite(batch).all():
            fail("data", "finite numbers", f"an array holding {_non_finite(batch)}")
        yield batch


def _non_finite(batch):
    """E.g. "3 NaN and 1 inf": what is not finite in `batch`."""
    nan, inf = int(np.isnan(batch).sum()), int(np.isinf(batch).sum())
    return " and ".join(f"{count} {kind}" for count, kind in ((nan, "NaN"), (inf, "inf"))
                        if count)


def _features(input_shape):
    """The number of features of a `(batch, features)` input shape."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 2 or input_shape[-1] is None:
        fail("input_shape", _RANK_2, input_shape)
    return input_shape[-1]
