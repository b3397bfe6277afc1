"""Tests for kerasreg.preprocessing: centering, standardizing, the three image variants.

References: the lecture's statistics in NumPy (float64), tolerance 1e-5
(1e-4 relative after dividing by a standard deviation).
"""

import doctest

import keras
import numpy as np
import pytest

import kerasreg.preprocessing
from kerasreg.preprocessing import (IMAGE_VARIANTS, fit_normalization, image_normalization,
                                    random_crops, sgd_loss_curves)


def _images(count=12, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((count, 6, 5, 3)) * [1.0, 0.5, 2.0] + [0.0, 0.2, -1.0]).astype("float32")


def _table(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(40, 4)) * [1.0, 10.0, 0.1, 1000.0] + [3.0, -5.0, 0.0, 200.0]
            ).astype("float32")


def _numpy(layer, x):
    return keras.ops.convert_to_numpy(layer(x)).astype("float64")


def test_centering_a_table_subtracts_each_feature_mean_only():
    x = _table()
    np.testing.assert_allclose(_numpy(fit_normalization(x, scale=False), x),
                               x - x.astype("float64").mean(axis=0), atol=1e-3)


def test_standardizing_a_table_gives_each_feature_mean_zero_and_std_one():
    x = _table()
    y = _numpy(fit_normalization(x), x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-4)


def test_statistics_come_from_the_training_data_and_apply_to_other_splits():
    train, other = _table(seed=1), _table(seed=2)
    expected = (other - train.astype("float64").mean(axis=0)) / train.astype("float64").std(axis=0)
    np.testing.assert_allclose(_numpy(fit_normalization(train), other), expected, rtol=1e-4,
                               atol=1e-4)


def test_mean_image_variant_subtracts_the_mean_of_each_pixel_and_channel():
    images = _images()
    expected = images - images.astype("float64").mean(axis=0)
    np.testing.assert_allclose(_numpy(image_normalization(images, "mean_image"), images),
                               expected, atol=1e-5)


def test_channel_mean_variant_subtracts_three_numbers():
    images = _images()
    expected = images - images.astype("float64").mean(axis=(0, 1, 2))
    np.testing.assert_allclose(_numpy(image_normalization(images, "channel_mean"), images),
                               expected, atol=1e-5)


def test_channel_mean_std_variant_also_divides_by_three_standard_deviations():
    images = _images().astype("float64")
    expected = (images - images.mean(axis=(0, 1, 2))) / images.std(axis=(0, 1, 2))
    np.testing.assert_allclose(
        _numpy(image_normalization(images, "channel_mean_std"), images), expected, rtol=1e-4,
        atol=1e-4)


def test_image_variants_keep_the_lectures_number_of_statistics():
    """Mean image: H x W x 3 numbers; per channel: 3; mean and std: 2 x 3."""
    images = _images()
    sizes = {variant: (int(np.prod(layer.mean.shape)),
                       int(np.sum(keras.ops.convert_to_numpy(layer.variance) != 1.0)))
             for variant, layer in ((v, image_normalization(images, v)) for v in IMAGE_VARIANTS)}
    assert sizes == {"mean_image": (6 * 5 * 3, 0), "channel_mean": (3, 0),
                     "channel_mean_std": (3, 3)}


def test_image_variants_are_keras_normalization_layers():
    images = _images()
    assert all(type(image_normalization(images, v)) is keras.layers.Normalization
               for v in IMAGE_VARIANTS)


def test_mean_image_normalization_saves_and_loads_in_a_keras_file(tmp_path):
    images = _images()
    model = keras.Sequential([keras.Input(images.shape[1:]),
                              image_normalization(images, "mean_image")])
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_array_equal(_numpy(loaded, images), _numpy(model, images))


def test_image_normalization_rejects_unknown_variants():
    with pytest.raises(ValueError) as error:
        image_normalization(_images(), "mean")
    assert str(error.value) == ("`variant` must be one of 'mean_image', 'channel_mean', "
                                "'channel_mean_std'. Received: variant='mean'")


def test_image_normalization_rejects_images_that_are_not_rank_4():
    with pytest.raises(ValueError) as error:
        image_normalization(np.zeros((3, 4, 4)), "channel_mean")
    assert str(error.value) == ("`images.shape` must be of rank 4, (N, H, W, C) with channels "
                                "last. Received: images.shape=(3, 4, 4)")


def test_fit_normalization_rejects_a_single_example():
    with pytest.raises(ValueError) as error:
        fit_normalization(np.zeros((1, 4)))
    assert str(error.value) == ("`data.shape` must be of rank >= 2 with at least 2 examples "
                                "on axis 0. Received: data.shape=(1, 4)")


def test_random_crops_are_pieces_of_their_own_image_in_order():
    images = [np.arange(10 * 12 * 3).reshape(10, 12, 3),
              1000 + np.arange(8 * 9 * 3).reshape(8, 9, 3)]
    crops = random_crops(images, 4, per_image=6, seed=3)
    assert crops.shape == (12, 4, 4, 3)
    for crop, image in zip(crops, [images[0]] * 6 + [images[1]] * 6):
        top, left = np.argwhere(image[..., 0] == crop[0, 0, 0])[0]
        np.testing.assert_array_equal(image[top:top + 4, left:left + 4], crop)


def test_random_crops_depend_only_on_the_seed():
    images = [np.random.default_rng(0).random((20, 20, 3))]
    first, again, other = (random_crops(images, 5, 4, seed=seed) for seed in (1, 1, 2))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_random_crops_reject_a_crop_larger_than_an_image():
    with pytest.raises(ValueError) as error:
        random_crops([np.zeros((10, 10, 3)), np.zeros((6, 9, 3))], 8, 2)
    assert str(error.value) == ("`size` must be at most the smallest image side (6). "
                                "Received: size=8")


def _classifier():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])


def _separable():
    x = _table(seed=5) / [1.0, 10.0, 0.1, 1000.0]
    return x.astype("float32"), (x[:, 0] > 3.0).astype("int32")


def test_sgd_loss_curves_start_every_run_from_the_same_weights_and_restore_them():
    model, (x, y) = _classifier(), _separable()
    initial = model.get_weights()
    curves = sgd_loss_curves(model, x, y, [0.1, 0.01], epochs=4, batch_size=8)
    assert list(curves) == [0.1, 0.01]
    again = sgd_loss_curves(model, x, y, [0.1], epochs=4, batch_size=8)
    np.testing.assert_allclose(again[0.1], curves[0.1], rtol=1e-6)
    for restored, weight in zip(model.get_weights(), initial):
        np.testing.assert_array_equal(restored, weight)


def test_sgd_loss_curves_decrease_and_mark_a_diverged_run_as_infinite():
    model, (x, y) = _classifier(), _separable()
    # At 1e4 the loss explodes: it overflows under TensorFlow, which reads the
    # logits, and stops near -log(1e-7) under JAX and PyTorch, which clip.
    curves = sgd_loss_curves(model, x, y, [1e-22, 1e4], epochs=5, batch_size=8)
    assert curves[1e-22].shape == (5,) and np.isfinite(curves[1e-22]).all()
    assert np.ptp(curves[1e-22]) < 1e-6 * curves[1e-22][0]
    assert (curves[1e4] == np.inf).all()
    decreasing = sgd_loss_curves(model, x, y, [0.5], epochs=5, batch_size=8)[0.5]
    assert decreasing[-1] < decreasing[0]


def test_sgd_loss_curves_reject_a_non_positive_learning_rate():
    with pytest.raises(ValueError) as error:
        sgd_loss_curves(_classifier(), *_separable(), [0.1, 0.0])
    assert str(error.value) == ("`learning_rates` must be a number > 0. "
                                "Received: learning_rates=0.0")


def test_preprocessing_docstring_examples_run():
    results = doctest.testmod(kerasreg.preprocessing)
    assert results.attempted > 0 and results.failed == 0
