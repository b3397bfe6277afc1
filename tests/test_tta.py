"""Tests for kerasreg.tta: ten_crop, multi_crop, resize_short_side, tta_predict.

References: NumPy slicing for crop positions, `keras.ops.image.resize` for
the scales, and the mean of the model's probabilities over `multi_crop`'s
crops computed in one `predict` call (within 1e-6: float32 sums in another
order).
"""

import doctest

import keras
import numpy as np
import pytest

import kerasreg.tta
from kerasreg.tta import (LECTURE_SCALES, multi_crop, resize_short_side, ten_crop,
                          tta_predict)


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _images(shape=(2, 7, 9, 2)):
    """Every pixel distinct, so a crop tells where it came from."""
    return np.arange(np.prod(shape), dtype="float32").reshape(shape)


def _numpy_ten_crop(image, size):
    height, width = image.shape[:2]
    corners = [(0, 0), (0, width - size), (height - size, 0), (height - size, width - size),
               ((height - size) // 2, (width - size) // 2)]
    mirrored = image[:, ::-1]
    return [source[top:top + size, left:left + size]
            for source in (image, mirrored) for top, left in corners]


def _model(input_shape, num_classes=5):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input(input_shape), keras.layers.Conv2D(4, 3),
                             keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(num_classes, activation="softmax")])


class RecordingModel(keras.Model):
    """A functional model that records the batch size of each `predict_on_batch` call."""

    calls = []

    def predict_on_batch(self, x):
        self.calls.append(int(x.shape[0]))
        return super().predict_on_batch(x)


# ten_crop ----------------------------------------------------------------------------------

def test_ten_crop_takes_corners_centre_and_their_mirrors_in_order():
    images = _images()
    crops = _numpy(ten_crop(images, 4))
    expected = [crop for image in images for crop in _numpy_ten_crop(image, 4)]
    np.testing.assert_array_equal(crops, np.stack(expected))


def test_ten_crop_exact_corner_pixels():
    image = _images((1, 7, 9, 1))
    crops = _numpy(ten_crop(image, 4))[..., 0]
    top_left_values = [crop[0, 0] for crop in crops[:5]]
    # Pixel (r, c) holds 9 r + c: corners at (0, 0), (0, 5), (3, 0), (3, 5), centre (1, 2).
    assert top_left_values == [0, 5, 27, 32, 11]
    # Mirror crops: column c of the flipped image is column 8 - c of the original.
    assert [crop[0, 0] for crop in crops[5:]] == [8, 3, 35, 30, 15]


def test_ten_crop_groups_crops_per_image():
    images = _images((3, 7, 9, 2))
    crops = _numpy(ten_crop(images, 5))
    for index in range(3):
        np.testing.assert_array_equal(crops[10 * index:10 * index + 10],
                                      _numpy(ten_crop(images[index:index + 1], 5)))


def test_ten_crop_of_the_full_size_is_image_and_mirror():
    image = _images((1, 6, 6, 1))
    crops = _numpy(ten_crop(image, 6))
    np.testing.assert_array_equal(crops[:5], np.repeat(image, 5, axis=0))
    np.testing.assert_array_equal(crops[5:], np.repeat(image[:, :, ::-1], 5, axis=0))


@pytest.mark.parametrize("crop_size", [0, 8, 2.5])
def test_ten_crop_rejects_a_crop_larger_than_the_image(crop_size):
    with pytest.raises(ValueError) as error:
        ten_crop(_images(), crop_size)
    assert str(error.value) == (f"`crop_size` must be an integer in [1, 7]. "
                                f"Received: crop_size={crop_size!r}")


def test_ten_crop_rejects_images_that_are_not_a_batch():
    with pytest.raises(ValueError) as error:
        ten_crop(np.zeros((7, 9, 2)), 4)
    assert str(error.value) == ("`images` must be a batch of shape (B, H, W, C) with B >= 1 "
                                "and known H, W and C. Received: images of shape (7, 9, 2)")


def test_tta_predict_rejects_an_empty_batch():
    with pytest.raises(ValueError, match=r"with B >= 1 .*Received: images of shape "
                                         r"\(0, 8, 8, 2\)"):
        tta_predict(_model((8, 8, 2)), np.zeros((0, 8, 8, 2)), crop_size=8, scales=None)


# resize_short_side and multi_crop ------------------------------------------------------------

def test_resize_short_side_keeps_the_aspect_ratio():
    images = np.random.default_rng(0).random((2, 30, 45, 3)).astype("float32")
    resized = _numpy(resize_short_side(images, 20))
    assert resized.shape == (2, 20, 30, 3)
    np.testing.assert_allclose(resized, _numpy(keras.ops.image.resize(images, (20, 30))),
                               atol=1e-6)


def test_multi_crop_makes_fifty_crops_at_the_lectures_scales():
    crops = multi_crop(np.zeros((2, 224, 256, 3), "float32"))
    assert tuple(crops.shape) == (2 * 50, 224, 224, 3)
    assert LECTURE_SCALES == (224, 256, 384, 480, 640)


def test_multi_crop_is_ten_crop_of_each_scale_grouped_per_image():
    images = np.random.default_rng(0).random((2, 12, 16, 1)).astype("float32")
    scales = (8, 10, 12)
    crops = _numpy(multi_crop(images, crop_size=8, scales=scales)).reshape(2, 3, 10, 8, 8, 1)
    for k, scale in enumerate(scales):
        expected = _numpy(ten_crop(resize_short_side(images, scale), 8)).reshape(2, 10, 8, 8, 1)
        np.testing.assert_array_equal(crops[:, k], expected)


@pytest.mark.parametrize("scales", [(6, 10), (), 8, (8.5,)])
def test_multi_crop_rejects_scales_below_the_crop_size(scales):
    with pytest.raises(ValueError, match="`scales` must be"):
        multi_crop(np.zeros((1, 12, 16, 1)), crop_size=8, scales=scales)


# tta_predict --------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [7, 20, 64])
def test_tta_predict_is_the_mean_probability_over_all_crops(batch_size):
    images = np.random.default_rng(1).random((5, 12, 16, 3)).astype("float32")
    model, scales = _model((8, 8, 3)), (8, 10, 12)
    crops = multi_crop(images, crop_size=8, scales=scales)
    expected = model.predict(crops, verbose=0).reshape(5, 30, -1).mean(axis=1)
    np.testing.assert_allclose(tta_predict(model, images, 8, scales, batch_size=batch_size),
                               expected, atol=1e-6)


def test_tta_predict_without_scales_averages_the_ten_crops():
    images = np.random.default_rng(1).random((3, 10, 12, 3)).astype("float32")
    model = _model((8, 8, 3))
    expected = model.predict(ten_crop(images, 8), verbose=0).reshape(3, 10, -1).mean(axis=1)
    np.testing.assert_allclose(tta_predict(model, images, 8, scales=None), expected, atol=1e-6)


@pytest.mark.parametrize("batch_size", [7, 25])
def test_tta_predict_feeds_the_model_at_most_batch_size_crops_per_call(batch_size):
    base = _model((8, 8, 3))
    model = RecordingModel(base.inputs, base.outputs, name="recording")
    model.calls = []
    images = np.random.default_rng(1).random((6, 12, 16, 3)).astype("float32")
    tta_predict(model, images, 8, (8, 10, 12), batch_size=batch_size)
    assert max(model.calls) <= batch_size and sum(model.calls) == 6 * 30
    assert len(model.calls) <= 2 * 6 * 30 // batch_size + 6 * 3  # never one call per crop


@pytest.mark.parametrize("batch_size", [0, -4, 2.0])
def test_tta_predict_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError) as error:
        tta_predict(_model((8, 8, 3)), np.zeros((1, 8, 8, 3)), 8, batch_size=batch_size)
    assert str(error.value) == (f"`batch_size` must be an integer >= 1. "
                                f"Received: batch_size={batch_size!r}")


def test_tta_docstring_examples_run():
    results = doctest.testmod(kerasreg.tta)
    assert results.attempted > 0 and results.failed == 0
