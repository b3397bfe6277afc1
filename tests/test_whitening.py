"""Tests for kerasreg.layers.whitening: pca, whitening_matrix, PCAWhitening.

References: NumPy's covariance (`np.cov(..., bias=True)`, the lecture's
1 / M), SciPy's matrix power for ZCA (`C^(-1/2)`), and the lecture's
identity covariance. Tolerances: 1e-3 on covariances of float32 outputs,
1e-4 against the float64 references.
"""

import doctest

import keras
import numpy as np
import pytest
import scipy.linalg

import kerasreg.layers.whitening
from kerasreg.layers.whitening import PCAWhitening, pca, whitening_matrix
from tests.layer_checks import (assert_runs_mirrored, assert_runs_mixed_precision,
                                assert_save_load_roundtrip)

FEATURES = 5


def _table(rows=600, seed=1):
    """Correlated features of different scales around a non-zero mean."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(FEATURES, FEATURES)) * [1.0, 3.0, 0.5, 2.0, 1.0]
    return (rng.normal(size=(rows, FEATURES)) @ mixing + [5.0, -2.0, 0.0, 10.0, 1.0]
            ).astype("float32")


def _adapted(x, **kwargs):
    layer = PCAWhitening(**kwargs)
    layer.adapt(x)
    return layer


def _whiten(layer, x):
    return keras.ops.convert_to_numpy(layer(x)).astype("float64")


def _covariance(y):
    return np.cov(y, rowvar=False, bias=True)


@pytest.mark.parametrize("zca", [False, True], ids=["pca", "zca"])
def test_whitened_covariance_is_the_identity_on_the_adapted_data(zca):
    x = _table()
    y = _whiten(_adapted(x, zca=zca), x)
    np.testing.assert_allclose(_covariance(y), np.eye(FEATURES), atol=1e-3)


@pytest.mark.parametrize("zca", [False, True], ids=["pca", "zca"])
def test_whitened_output_has_zero_mean_on_the_adapted_data(zca):
    x = _table()
    np.testing.assert_allclose(_whiten(_adapted(x, zca=zca), x).mean(axis=0), 0.0, atol=1e-4)


def test_pca_whitening_is_the_lecture_formula_up_to_the_sign_of_each_component():
    x = _table()
    centered = x.astype("float64") - x.mean(axis=0)
    eigenvalues, u = np.linalg.eigh(_covariance(x.astype("float64")))
    expected = centered @ u[:, ::-1] / np.sqrt(eigenvalues[::-1] + 1e-5)  # Sigma^-1 U^T x
    y = _whiten(_adapted(x), x)
    signs = np.sign((y * expected).sum(axis=0))
    np.testing.assert_allclose(y * signs, expected, atol=1e-4)


def test_zca_whitening_multiplies_by_the_inverse_square_root_of_the_covariance():
    x = _table()
    covariance = _covariance(x.astype("float64")) + 1e-5 * np.eye(FEATURES)
    expected = (x - x.mean(axis=0)) @ np.real(scipy.linalg.fractional_matrix_power(covariance,
                                                                                   -0.5))
    np.testing.assert_allclose(_whiten(_adapted(x, zca=True), x), expected, atol=1e-4)


def test_zca_output_is_the_closest_to_the_input_among_whitenings():
    x = _table()
    centered = x - x.mean(axis=0)
    zca = _whiten(_adapted(x, zca=True), x)
    # Every whitening is the ZCA output times an orthogonal matrix.
    rng = np.random.default_rng(2)
    rotations = [np.linalg.qr(rng.normal(size=(FEATURES, FEATURES)))[0] for _ in range(50)]
    others = [_whiten(_adapted(x), x)] + [zca @ rotation for rotation in rotations]
    zca_distance = np.linalg.norm(zca - centered)
    assert all(zca_distance < np.linalg.norm(other - centered) for other in others)


def test_a_constant_feature_gives_a_finite_output_thanks_to_epsilon():
    x = _table()
    x[:, 2] = 7.0
    y = _whiten(_adapted(x, zca=True), x)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y[:, 2], 0.0, atol=1e-3)
    others = [0, 1, 3, 4]
    np.testing.assert_allclose(_covariance(y[:, others]), np.eye(4), atol=1e-3)


def test_fewer_rows_than_features_give_a_finite_output():
    x = _table(rows=3)
    y = _whiten(_adapted(x), x)
    assert np.isfinite(y).all()


def test_adapt_on_batches_equals_adapt_on_the_whole_array():
    import tensorflow as tf

    x = _table()
    whole = _whiten(_adapted(x), x)
    dataset = tf.data.Dataset.from_tensor_slices((x, np.zeros(len(x)))).batch(64)
    np.testing.assert_allclose(_whiten(_adapted(dataset), x), whole, atol=1e-4)
    np.testing.assert_allclose(_whiten(_adapted([x[:7], x[7:300], x[300:]]), x), whole,
                               atol=1e-4)


def test_pca_whitening_is_the_identity_before_adapt():
    x = _table(rows=4)
    np.testing.assert_array_equal(_whiten(PCAWhitening(), x), x)


def test_adapt_again_replaces_the_statistics():
    layer = _adapted(_table(seed=3))
    x = _table(seed=4)
    layer.adapt(x)
    np.testing.assert_allclose(_covariance(_whiten(layer, x)), np.eye(FEATURES), atol=1e-3)


def test_pca_returns_descending_variances_and_orthonormal_directions():
    x = _table().astype("float64")
    mean, eigenvalues, eigenvectors = pca(x)
    np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(eigenvalues, np.linalg.eigvalsh(_covariance(x))[::-1],
                               rtol=1e-10)
    np.testing.assert_allclose(eigenvectors.T @ eigenvectors, np.eye(FEATURES), atol=1e-12)
    assert (np.take_along_axis(eigenvectors, np.abs(eigenvectors).argmax(0)[None], 0) > 0).all()


def test_zca_whitening_matrix_is_symmetric():
    _, eigenvalues, eigenvectors = pca(_table())
    matrix = whitening_matrix(eigenvalues, eigenvectors, zca=True)
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-12)


def test_pca_whitening_computes_in_float32_under_mixed_precision():
    x = _table()
    expected = _whiten(_adapted(x), x)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        layer = _adapted(x)
        outputs = keras.ops.convert_to_numpy(layer(x))
    finally:
        keras.config.set_dtype_policy(previous)
    assert outputs.dtype == np.float16 and layer.matrix.dtype == "float32"
    np.testing.assert_allclose(outputs, expected, atol=1e-2)  # float16 rounding of |y| < 8


def test_pca_whitening_save_load_roundtrip_keeps_the_adapted_state(tmp_path):
    x = _table()
    layer = _adapted(x, zca=True)
    assert_save_load_roundtrip(layer, x, tmp_path)


def test_pca_whitening_runs_mixed_float16():
    assert_runs_mixed_precision(PCAWhitening, _table(rows=4))


def test_pca_whitening_runs_mirrored():
    # The module is imported by name, as the layer may not be re-exported yet.
    assert_runs_mirrored(
        "kerasreg.layers.PCAWhitening()", (FEATURES,))


def test_pca_whitening_get_config_is_the_constructor_arguments():
    layer = PCAWhitening(epsilon=1e-3, zca=True, name="white")
    config = layer.get_config()
    assert set(config) == {"name", "trainable", "dtype", "epsilon", "zca"}
    assert PCAWhitening.from_config(config).get_config() == config


@pytest.mark.parametrize("argument, value, message", [
    ("epsilon", 0.0, "`epsilon` must be a number > 0. Received: epsilon=0.0"),
    ("epsilon", "small", "`epsilon` must be a number > 0. Received: epsilon='small'"),
    ("zca", 1, "`zca` must be a bool (True or False). Received: zca=1"),
])
def test_pca_whitening_rejects_bad_arguments(argument, value, message):
    with pytest.raises(ValueError) as error:
        PCAWhitening(**{argument: value})
    assert str(error.value) == message


def test_adapt_rejects_fewer_than_two_rows():
    with pytest.raises(ValueError) as error:
        PCAWhitening().adapt(_table(rows=1))
    assert str(error.value) == ("`len(data)` must be at least 2 rows to estimate a "
                                "covariance. Received: len(data)=1")


def test_adapt_rejects_data_of_the_wrong_rank():
    with pytest.raises(ValueError, match=r"`data.shape` must be of rank 2, \(rows, features\)"
                                         r".*Received: data.shape=\(4, 2, 2\)"):
        PCAWhitening().adapt(np.zeros((4, 2, 2)))


def test_calling_on_inputs_of_the_wrong_rank_is_rejected():
    with pytest.raises(ValueError, match=r"`input_shape` must be of rank 2.*"
                                         r"Received: input_shape=\(2, 3, 3\)"):
        PCAWhitening()(np.zeros((2, 3, 3)))


def test_adapt_rejects_another_number_of_features_than_the_layer_was_built_for():
    layer = _adapted(_table())
    with pytest.raises(ValueError, match=r"`data.shape\[-1\]` must be 5, the number of "
                                         r"features the layer was built for. "
                                         r"Received: data.shape\[-1\]=3"):
        layer.adapt(_table()[:, :3])


def test_calling_on_another_number_of_features_than_adapted_is_rejected():
    layer = _adapted(_table())
    with pytest.raises(ValueError, match=r"`inputs.shape\[-1\]` must be 5, the number of "
                                         r"features the layer was built for. "
                                         r"Received: inputs.shape\[-1\]=4"):
        layer(_table()[:, :4])


@pytest.mark.parametrize("value, what", [(np.nan, "1 NaN"), (np.inf, "1 inf")])
def test_adapt_rejects_data_that_is_not_finite(value, what):
    data = _table()
    data[2, 1] = value
    with pytest.raises(ValueError) as error:
        PCAWhitening().adapt(data)
    assert str(error.value) == ("`data` must be finite numbers. "
                                f"Received: data='an array holding {what}'")


def test_adapt_rejects_batches_of_different_widths():
    with pytest.raises(ValueError, match=r"`batch.shape\[-1\]` must be 5"):
        PCAWhitening().adapt([_table(rows=4), _table(rows=4)[:, :2]])


def test_whitening_docstring_examples_run():
    results = doctest.testmod(kerasreg.layers.whitening)
    assert results.attempted > 0 and results.failed == 0
