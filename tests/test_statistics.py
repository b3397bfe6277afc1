import numpy as np
import pytest

from kerasreg._statistics import EMPTY, merge_moments


def _merged(parts, summary):
    moments = EMPTY
    for part in parts:
        moments = merge_moments(moments, summary(part))
    return moments


def _per_feature(part):
    return len(part), part.mean(axis=0), ((part - part.mean(axis=0)) ** 2).sum(axis=0)


def _scatter(part):
    centered = part - part.mean(axis=0)
    return len(part), part.mean(axis=0), centered.T @ centered


@pytest.mark.parametrize("sizes", [(10,), (3, 7), (1, 1, 8), (5, 0, 5)])
def test_merged_per_feature_moments_do_not_depend_on_the_batching(sizes):
    data = np.random.default_rng(0).normal(1e4, 1.0, (10, 3))  # a large mean: no cancellation
    parts = np.split(data, np.cumsum(sizes)[:-1])
    count, mean, squares = _merged([part for part in parts if len(part)], _per_feature)
    assert count == 10
    np.testing.assert_allclose(mean, data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(squares / count, data.var(axis=0), rtol=1e-9)


def test_merged_scatter_matrix_is_the_covariance_of_all_rows():
    data = np.random.default_rng(1).normal(size=(12, 4))
    count, mean, scatter = _merged(np.split(data, [5, 9]), _scatter)
    np.testing.assert_allclose(scatter / count, np.cov(data.T, bias=True), atol=1e-12)


def test_per_feature_counts_merge_feature_by_feature():
    first = (np.array([2.0, 0.0]), np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    second = (np.array([2.0, 3.0]), np.array([3.0, 5.0]), np.array([2.0, 6.0]))
    count, mean, squares = merge_moments(first, second)
    np.testing.assert_allclose(count, [4.0, 3.0])
    np.testing.assert_allclose(mean, [2.0, 5.0])
    np.testing.assert_allclose(squares, [8.0, 6.0])  # 2 + 2 + 2^2 * 2 * 2/4; the second alone
