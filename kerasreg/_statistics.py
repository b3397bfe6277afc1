"""Running moments merged batch by batch (Chan et al.'s pairwise update).

Shared by `PCAWhitening.adapt` (a scatter matrix) and
`inference.recalibrate_bn` (per-channel variances): a batch is summarized
as `(count, mean, squares)`, and two summaries merge exactly, so the
result does not depend on how the data is batched and avoids the
cancellation of `sum(x^2) / n - mean^2` when the mean is large.
"""

import numpy as np

EMPTY = (0.0, 0.0, 0.0)  # the summary of no data: merging it changes nothing


def merge_moments(first, second):
    """Merge two `(count, mean, squares)` summaries into the summary of both.

    `squares` is the sum of squared deviations from the mean: per feature
    (shaped like `mean`, counts may be per feature too) or the scatter
    matrix `sum (x - mean)(x - mean)^T` (mean `(d,)`, squares `(d, d)`).

    Args:
        first: `(count, mean, squares)` of the data so far (`EMPTY` at the start).
        second: `(count, mean, squares)` of the new batch.

    Returns:
        `(count, mean, squares)` of both, in float64.

    Example:
    >>> data = np.array([1.0, 2.0, 4.0, 7.0])
    >>> def summary(part):
    ...     return len(part), part.mean(), ((part - part.mean()) ** 2).sum()
    >>> count, mean, squares = merge_moments(summary(data[:2]), summary(data[2:]))
    >>> float(mean), float(squares / count), float(data.var())
    (3.5, 5.25, 5.25)
    """
    count_a, mean_a, squares_a = (np.asarray(value, "float64") for value in first)
    count_b, mean_b, squares_b = (np.asarray(value, "float64") for value in second)
    total = count_a + count_b
    share = count_b / np.maximum(total, 1.0)
    delta = mean_b - mean_a
    product = np.outer(delta, delta) if squares_b.ndim > mean_b.ndim else delta**2
    return total, mean_a + delta * share, squares_a + squares_b + product * count_a * share
