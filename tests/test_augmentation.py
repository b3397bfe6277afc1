"""Tests for kerasreg.layers.augmentation: RandomScaleCrop, Cutout,
RandomLensDistortion, Dequantize, RandomPCALighting and their pure functions.

References: `keras.ops.image.resize` + NumPy slicing for scale crops, NumPy
slicing for Cutout's clipped squares, `scipy.ndimage.map_coordinates`
(order 1) for the lens warp, NumPy's covariance and `eigvalsh` and the
paper's formula for PCA lighting. Interpolated pixels are compared within
1e-5 (float32 round-off); masks and shapes exactly; sampled statistics
within about 5 standard errors (stated per test).
"""

import doctest
import importlib
import inspect

import keras
import numpy as np
import pytest
import scipy.ndimage

from kerasreg.layers.augmentation import (Cutout, Dequantize, RandomLensDistortion,
                                          RandomPCALighting, RandomScaleCrop, cutout,
                                          fill_boxes, lens_distortion, pca_lighting,
                                          resized_shape, scale_crop)
from tests.layer_checks import (assert_runs_mirrored, assert_runs_mixed_precision,
                                assert_save_load_roundtrip)

MODULE = "kerasreg.layers"


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _images(shape=(4, 30, 45, 3), seed=1):
    return np.random.default_rng(seed).random(shape).astype("float32")


def _resize_then_slice(image, short_side, top, left, crop_size):
    """The lecture's two steps, with Keras' resize: the reference for scale crops."""
    height, width = (int(side) for side in resized_shape(*image.shape[:2], short_side))
    resized = _numpy(keras.ops.image.resize(image[None], (height, width)))[0]
    return resized[top:top + crop_size, left:left + crop_size]


# RandomScaleCrop ---------------------------------------------------------------

def test_scale_crop_short_side_lies_in_the_range():
    layer = RandomScaleCrop(scale_range=(32, 40), crop_size=24, seed=1)
    short_sides = _numpy(layer.random_parameters(_images((2000, 30, 45, 3)))["short_sides"])
    assert short_sides.min() == 32 and short_sides.max() == 40  # both ends drawn
    np.testing.assert_array_equal(short_sides, np.round(short_sides))


def test_scale_crop_offsets_keep_the_crop_inside_the_resized_image():
    layer = RandomScaleCrop(scale_range=(32, 40), crop_size=24, seed=1)
    parameters = layer.random_parameters(_images((2000, 30, 45, 3)))
    heights, widths = (_numpy(side) for side in resized_shape(30, 45, parameters["short_sides"]))
    offsets = _numpy(parameters["offsets"])
    assert (offsets >= 0).all()
    assert (offsets[:, 0] <= heights - 24).all() and (offsets[:, 1] <= widths - 24).all()
    assert (offsets[:, 1] == widths - 24).any()  # the last position is reachable


@pytest.mark.parametrize("shape", [(4, 30, 45, 3), (30, 45, 3)], ids=["batch", "single"])
@pytest.mark.parametrize("training", [True, False])
def test_scale_crop_output_shape_is_the_crop_size(shape, training):
    layer = RandomScaleCrop(scale_range=(32, 40), crop_size=24, seed=1)
    output = layer(_images(shape), training=training)
    assert tuple(output.shape) == shape[:-3] + (24, 24, 3)
    assert layer.compute_output_shape((None,) + shape[-3:]) == (None, 24, 24, 3)


def test_scale_crop_equals_resize_then_crop_for_given_parameters():
    images = _images()
    short_sides, offsets = np.array([30, 33, 36, 40]), np.array([[0, 0], [5, 17], [12, 0],
                                                                 [16, 36]])
    crops = _numpy(scale_crop(images, short_sides, offsets, 24))
    for image, crop, side, (top, left) in zip(images, crops, short_sides, offsets):
        np.testing.assert_allclose(crop, _resize_then_slice(image, side, top, left, 24),
                                   atol=1e-5)


def test_scale_crop_layer_applies_its_drawn_parameters():
    images = _images()
    layer = RandomScaleCrop(scale_range=(32, 40), crop_size=24, seed=3)
    parameters = RandomScaleCrop(scale_range=(32, 40), crop_size=24, seed=3).random_parameters(
        keras.ops.convert_to_tensor(images))
    np.testing.assert_array_equal(_numpy(layer(images)), _numpy(
        scale_crop(images, parameters["short_sides"], parameters["offsets"], 24)))


def test_scale_crop_inference_is_resize_and_centre_crop():
    images = _images((2, 30, 45, 3))
    crops = _numpy(RandomScaleCrop(scale_range=(32, 40), crop_size=24)(images, training=False))
    # Short side 30 -> 24: 24 x 36, the centre square starts at column (36 - 24) // 2 = 6.
    for image, crop in zip(images, crops):
        np.testing.assert_allclose(crop, _resize_then_slice(image, 24, 0, 6, 24), atol=1e-5)


def test_scale_crop_same_seed_same_crops():
    images = _images()
    first = _numpy(RandomScaleCrop((32, 40), 24, seed=5)(images))
    second = _numpy(RandomScaleCrop((32, 40), 24, seed=5)(images))
    other = _numpy(RandomScaleCrop((32, 40), 24, seed=6)(images))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_scale_crop_successive_calls_draw_new_crops():
    layer, images = RandomScaleCrop((32, 40), 24, seed=5), _images()
    assert not np.array_equal(_numpy(layer(images)), _numpy(layer(images)))


@pytest.mark.parametrize("scale_range", [(40, 32), (-5, 10), (0, 10), (32,), (32.5, 40), "big"])
def test_scale_crop_rejects_bad_scale_range(scale_range):
    with pytest.raises(ValueError, match=r"`scale_range` must be a pair \(low, high\) of "
                                         r"integers with 1 <= low <= high\. Received: "):
        RandomScaleCrop(scale_range=scale_range, crop_size=1)


@pytest.mark.parametrize("crop_size", [-24, 0, 33, 24.0])
def test_scale_crop_rejects_a_crop_larger_than_the_resized_image(crop_size):
    with pytest.raises(ValueError) as error:
        RandomScaleCrop(scale_range=(32, 40), crop_size=crop_size)
    assert str(error.value) == (f"`crop_size` must be an integer in [1, 32]. "
                                f"Received: crop_size={crop_size!r}")


# Cutout ----------------------------------------------------------------------------

def _numpy_cutout(images, centers, size, fill_value):
    """Cutout by slicing, each square clipped to the image."""
    expected = images.copy()
    for image, image_centers in zip(expected, centers):
        for row, col in image_centers:
            top, left = row - size // 2, col - size // 2
            image[max(top, 0):max(top + size, 0), max(left, 0):max(left + size, 0)] = fill_value
    return expected


@pytest.mark.parametrize("size", [1, 4, 5, 40])
def test_cutout_fills_exactly_the_clipped_square(size):
    images = _images((3, 12, 16, 2))
    # Centres at a corner, on borders, inside, and two overlapping squares.
    centers = np.array([[[0, 0], [11, 15]], [[6, 0], [0, 8]], [[5, 7], [6, 8]]])
    np.testing.assert_array_equal(_numpy(cutout(images, centers, size, fill_value=-1.0)),
                                  _numpy_cutout(images, centers, size, -1.0))


def test_cutout_layer_applies_its_drawn_centres():
    images = _images((8, 12, 16, 2))
    parameters = Cutout(5, count=2, seed=4).random_parameters(keras.ops.convert_to_tensor(images))
    output = _numpy(Cutout(5, count=2, fill_value=-1.0, seed=4)(images))
    np.testing.assert_array_equal(
        output, _numpy_cutout(images, _numpy(parameters["centers"]), 5, -1.0))


def test_cutout_centres_are_uniform_over_the_whole_image():
    images = _images((4000, 12, 16, 1))
    centers = _numpy(Cutout(5, seed=2).random_parameters(images)["centers"]).reshape(-1, 2)
    assert centers.min(axis=0).tolist() == [0, 0] and centers.max(axis=0).tolist() == [11, 15]
    # 4000 draws: the mean's standard error is 3.5 / 63 = 0.055 rows.
    assert abs(centers[:, 0].mean() - 5.5) < 0.3


def test_cutout_fraction_size_is_a_fraction_of_the_short_side():
    layer = Cutout(0.25)
    assert int(layer.pixel_size(12, 16)) == 3 and int(layer.pixel_size(100, 40)) == 10
    assert Cutout(7).pixel_size(12, 16) == 7


def test_cutout_is_the_identity_at_inference():
    images = _images((2, 12, 16, 3))
    np.testing.assert_array_equal(_numpy(Cutout(5, seed=1)(images, training=False)), images)


def test_cutout_same_seed_same_squares():
    images = _images((8, 12, 16, 1))
    first, second = (_numpy(Cutout(4, seed=9)(images)) for _ in range(2))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, _numpy(Cutout(4, seed=10)(images)))


def test_fill_boxes_clips_boxes_and_pastes_values():
    images, values = np.zeros((2, 4, 5, 2), "float32"), np.ones((2, 4, 5, 2), "float32")
    out = _numpy(fill_boxes(images, corners=[[[-2, 3]], [[1, 1]]], sizes=[[[3, 4]], [[9, 1]]],
                            values=values))
    expected = images.copy()
    expected[0, 0:1, 3:5] = 1
    expected[1, 1:4, 1:2] = 1
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("size", [0, -3, 1.5, 0.0, "a", True])
def test_cutout_rejects_bad_size(size):
    with pytest.raises(ValueError) as error:
        Cutout(size)
    assert str(error.value) == (
        "`size` must be an integer >= 1 (pixels) or a float in (0, 1] (fraction of the "
        f"short side). Received: size={size!r}")


@pytest.mark.parametrize("count", [0, -1, 1.5])
def test_cutout_rejects_bad_count(count):
    with pytest.raises(ValueError, match=r"`count` must be an integer >= 1\. Received: count="):
        Cutout(4, count=count)


@pytest.mark.parametrize("fill_value", [float("inf"), float("-inf"), float("nan")])
def test_cutout_rejects_a_fill_value_that_is_not_finite(fill_value):
    with pytest.raises(ValueError, match=r"`fill_value` must be a (finite )?number\. "
                                         rf"Received: fill_value={fill_value!r}"):
        Cutout(4, fill_value=fill_value)


# RandomLensDistortion -----------------------------------------------------------------

def _numpy_lens(image, strength):
    """The lecture-free reference: the radial formula and SciPy's linear interpolation."""
    height, width = image.shape[:2]
    center = np.array([(height - 1) / 2, (width - 1) / 2])
    radius = np.hypot(*center)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    offsets = np.stack([rows - center[0], cols - center[1]])
    factor = 1 + strength * (offsets ** 2).sum(axis=0) / radius ** 2
    coordinates = center[:, None, None] + offsets * factor
    return np.stack([scipy.ndimage.map_coordinates(image[..., c], coordinates, order=1,
                                                   mode="nearest")
                     for c in range(image.shape[-1])], axis=-1)


@pytest.mark.parametrize("strength", [-0.3, -0.1, 0.15, 0.3])
def test_lens_distortion_matches_the_radial_formula(strength):
    image = _images((1, 17, 24, 2))
    np.testing.assert_allclose(_numpy(lens_distortion(image, [strength]))[0],
                               _numpy_lens(image[0], strength), atol=1e-5)


def test_lens_distortion_of_strength_zero_is_the_identity():
    images = _images((2, 17, 24, 3))
    # Sampling at the unmoved grid: float32 coordinate arithmetic differs by backend.
    np.testing.assert_allclose(_numpy(lens_distortion(images, [0.0, 0.0])), images, atol=1e-5)


def test_lens_distortion_strengths_are_drawn_in_the_factor_range():
    strengths = _numpy(RandomLensDistortion(0.2, seed=1).random_parameters(
        _images((4000, 4, 4, 1)))["strengths"])
    assert strengths.min() >= -0.2 and strengths.max() <= 0.2
    assert strengths.min() < -0.19 and strengths.max() > 0.19


def test_lens_distortion_layer_applies_its_drawn_strengths():
    images = _images((4, 17, 24, 3))
    strengths = RandomLensDistortion(0.3, seed=2).random_parameters(images)["strengths"]
    np.testing.assert_array_equal(_numpy(RandomLensDistortion(0.3, seed=2)(images)),
                                  _numpy(lens_distortion(images, strengths)))


def test_lens_distortion_is_the_identity_at_inference():
    images = _images((2, 17, 24, 3))
    np.testing.assert_array_equal(
        _numpy(RandomLensDistortion(0.3, seed=1)(images, training=False)), images)


@pytest.mark.parametrize("factor", [-0.1, 0.31, "a"])
def test_lens_distortion_rejects_bad_factor(factor):
    with pytest.raises(ValueError) as error:
        RandomLensDistortion(factor)
    assert str(error.value) == (f"`factor` must be a number in [0, 0.3]. "
                                f"Received: factor={factor!r}")


# Dequantize ----------------------------------------------------------------------------

def test_dequantize_adds_noise_within_one_quantization_step():
    images = np.round(_images((256, 8, 8, 3)) * 15) / 16  # 16 levels
    noise = _numpy(Dequantize(16, seed=1)(images)) - images
    assert noise.min() >= 0 and noise.max() < 1 / 16
    # 49152 draws of U(0, 1/16): the mean's standard error is 0.018 / 222 = 8e-5.
    assert abs(noise.mean() - 1 / 32) < 5e-4


def test_dequantize_is_the_identity_at_inference():
    images = _images((2, 8, 8, 3))
    np.testing.assert_array_equal(_numpy(Dequantize(seed=1)(images, training=False)), images)


def test_dequantize_same_seed_same_noise():
    images = _images((2, 8, 8, 3))
    np.testing.assert_array_equal(_numpy(Dequantize(seed=3)(images)),
                                  _numpy(Dequantize(seed=3)(images)))


@pytest.mark.parametrize("levels", [1, 0, 2.5, "256"])
def test_dequantize_rejects_bad_levels(levels):
    with pytest.raises(ValueError) as error:
        Dequantize(levels)
    assert str(error.value) == f"`levels` must be an integer >= 2. Received: levels={levels!r}"


# RandomPCALighting ---------------------------------------------------------------------

def _colour_images(shape=(64, 8, 8, 3), seed=3):
    """Pixels with a known, anisotropic colour covariance."""
    mixing = np.array([[0.30, 0.25, 0.20], [0.0, 0.10, -0.08], [0.0, 0.0, 0.03]])
    pixels = np.random.default_rng(seed).normal(size=shape[:-1] + (3,)) @ mixing
    return (0.5 + pixels).astype("float32")


def _adapted_lighting(alpha_std=0.1, seed=1, images=None):
    layer = RandomPCALighting(alpha_std, seed=seed)
    layer.adapt(_colour_images() if images is None else images)
    return layer


def _eigenpairs(layer):
    return _numpy(layer.eigenvalues), _numpy(layer.eigenvectors)


def test_pca_lighting_adds_one_colour_shift_per_image():
    images = _images((3, 5, 6, 3))
    alphas = np.array([[0.1, -0.2, 0.3], [0.0, 0.0, 0.0], [-1.0, 0.5, 2.0]], "float32")
    eigenvalues = np.array([0.2, 0.05, 0.01])
    eigenvectors = np.linalg.qr(_images((1, 3, 3)))[0][0]  # orthonormal columns
    # The paper's [p1, p2, p3] [a1 l1, a2 l2, a3 l3]^T, one row per image.
    shifts = (alphas * eigenvalues) @ eigenvectors.T
    np.testing.assert_allclose(
        _numpy(pca_lighting(images, alphas, eigenvalues, eigenvectors)),
        images + shifts[:, None, None, :], atol=1e-6)


def test_pca_lighting_adapt_stores_the_eigenpairs_of_the_pixel_covariance():
    images = _colour_images()
    eigenvalues, eigenvectors = _eigenpairs(_adapted_lighting(images=images))
    covariance = np.cov(images.reshape(-1, 3), rowvar=False, bias=True)
    np.testing.assert_allclose(eigenvalues, np.linalg.eigvalsh(covariance)[::-1], atol=1e-6)
    np.testing.assert_allclose(eigenvectors @ np.diag(eigenvalues) @ eigenvectors.T, covariance,
                               atol=1e-6)
    np.testing.assert_allclose(eigenvectors.T @ eigenvectors, np.eye(3), atol=1e-6)


def test_pca_lighting_adapt_takes_batches_of_image_label_pairs():
    images = _colour_images()
    batches = [(images[:40], np.zeros(40)), (images[40:], np.zeros(24))]
    for from_batches, from_array in zip(_eigenpairs(_adapted_lighting(images=batches)),
                                        _eigenpairs(_adapted_lighting(images=images))):
        np.testing.assert_allclose(from_batches, from_array, atol=1e-6)


def test_pca_lighting_shifts_have_the_papers_covariance():
    layer = _adapted_lighting(alpha_std=0.1)
    eigenvalues, eigenvectors = _eigenpairs(layer)
    shifts = _numpy(layer(np.zeros((20000, 1, 1, 3), "float32")))[:, 0, 0]
    # Cov(shift) = V diag(alpha_std^2 lambda^2) V^T: in the eigenbasis, scaled by
    # alpha_std * lambda, the shifts have identity covariance. 20000 draws: standard
    # errors of about 0.01 (variances) and 0.007 (covariances); tolerance 0.05.
    coordinates = shifts @ eigenvectors / (0.1 * eigenvalues)
    np.testing.assert_allclose(np.cov(coordinates, rowvar=False), np.eye(3), atol=0.05)
    np.testing.assert_allclose(coordinates.mean(axis=0), 0.0, atol=0.05)


def test_pca_lighting_shifts_lie_in_the_span_of_the_eigenvectors():
    images = _colour_images()
    images[..., 2] = images[..., 0] - images[..., 1]  # a zero-variance colour direction
    layer = _adapted_lighting(alpha_std=1.0, images=images)
    eigenvalues, eigenvectors = _eigenpairs(layer)
    assert eigenvalues[2] < 1e-6 * eigenvalues[0]
    shifts = (_numpy(layer(images)) - images).reshape(-1, 3)
    null_direction = np.array([1.0, -1.0, -1.0]) / np.sqrt(3)
    assert np.abs(shifts @ null_direction).max() < 1e-5
    assert np.abs(shifts @ eigenvectors[:, 0]).max() > 1e-2


def test_pca_lighting_layer_applies_its_drawn_alphas():
    images = _images((4, 6, 6, 3))
    alphas = _adapted_lighting(seed=5).random_parameters(keras.ops.convert_to_tensor(images))[
        "alphas"]
    layer = _adapted_lighting(seed=5)
    np.testing.assert_array_equal(_numpy(layer(images)), _numpy(
        pca_lighting(images, alphas, layer.eigenvalues, layer.eigenvectors)))


def test_pca_lighting_alphas_are_drawn_once_per_image_and_channel():
    alphas = _numpy(_adapted_lighting(0.1, seed=2).random_parameters(
        np.zeros((5000, 2, 2, 3), "float32"))["alphas"])
    assert alphas.shape == (5000, 3)
    # 15000 draws of N(0, 0.1): the standard deviation's standard error is 0.0006.
    assert abs(alphas.std() - 0.1) < 0.003


def test_pca_lighting_is_the_identity_at_inference():
    images = _images((2, 6, 6, 3))
    np.testing.assert_array_equal(_numpy(_adapted_lighting()(images, training=False)), images)


def test_pca_lighting_save_load_keeps_the_eigenpairs(tmp_path):
    layer = _adapted_lighting()
    model = keras.Sequential([keras.Input((6, 6, 3)), layer])
    model.save(tmp_path / "lighting.keras")
    loaded = keras.models.load_model(tmp_path / "lighting.keras", safe_mode=True).layers[-1]
    for saved, restored in zip(_eigenpairs(layer), _eigenpairs(loaded)):
        np.testing.assert_array_equal(saved, restored)
    assert loaded.is_adapted and tuple(loaded(_images((2, 6, 6, 3))).shape) == (2, 6, 6, 3)


def test_pca_lighting_must_be_adapted_before_it_is_called():
    with pytest.raises(ValueError, match=r"RandomPCALighting must be adapted before it is "
                                         r"called: run `layer.adapt\(training_images\)` first"):
        RandomPCALighting(seed=1)(_images((2, 6, 6, 3)))


def test_pca_lighting_rejects_images_with_other_channels():
    layer = _adapted_lighting()
    with pytest.raises(ValueError, match=r"`inputs.shape\[-1\]` must be 3, the number of "
                                         r"channels the layer was adapted on\. Received: "
                                         r"inputs.shape\[-1\]=1"):
        layer(_images((2, 6, 6, 1)))
    with pytest.raises(ValueError) as error:
        layer.adapt(_images((2, 6, 6, 4)))
    assert str(error.value) == ("`data.shape[-1]` must be 3, the number of channels the layer "
                                "was built for. Received: data.shape[-1]=4")


def test_pca_lighting_adapt_rejects_data_that_are_not_images():
    with pytest.raises(ValueError) as error:
        RandomPCALighting().adapt(np.zeros((10, 3)))
    assert str(error.value) == ("`data.shape` must be images (N, H, W, C) or one image "
                                "(H, W, C). Received: data.shape=(10, 3)")


@pytest.mark.parametrize("alpha_std", [-0.1, "0.1", None])
def test_pca_lighting_rejects_bad_alpha_std(alpha_std):
    with pytest.raises(ValueError) as error:
        RandomPCALighting(alpha_std)
    assert str(error.value) == (f"`alpha_std` must be a number >= 0. "
                                f"Received: alpha_std={alpha_std!r}")


def test_pca_lighting_rejects_an_infinite_alpha_std():
    with pytest.raises(ValueError) as error:
        RandomPCALighting(float("inf"))
    assert str(error.value) == "`alpha_std` must be a finite number >= 0. Received: alpha_std=inf"


def test_pca_lighting_adapt_rejects_nan_pixels():
    images = _images((2, 6, 6, 3))
    images[1, 2, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"`data` must be finite numbers\. "
                                         r"Received: data='an array holding 1 NaN'"):
        RandomPCALighting().adapt(images)


# Every layer ---------------------------------------------------------------------------

LAYERS = {
    "RandomScaleCrop": lambda: RandomScaleCrop((10, 14), 8, seed=1),
    "Cutout": lambda: Cutout(0.3, count=2, fill_value=0.5, seed=1),
    "RandomLensDistortion": lambda: RandomLensDistortion(0.1, seed=1),
    "Dequantize": lambda: Dequantize(32, seed=1),
    "RandomPCALighting": lambda: _adapted_lighting(0.5, seed=1),
}
# The mirrored model's layers, as source code; RandomPCALighting is adapted first.
MIRRORED_LIGHTING = (f"(lambda layer: [layer.adapt(np.random.default_rng(0).random((4, 12, 12, "
                     f"3))), layer][1])({MODULE}.RandomPCALighting(seed=1))")


@pytest.mark.parametrize("name", LAYERS)
def test_augmentation_config_is_the_constructor_arguments(name):
    layer = LAYERS[name]()
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    assert set(config) - {"name", "trainable", "dtype"} == set(
        inspect.signature(type(layer)).parameters) - {"kwargs"}


@pytest.mark.parametrize("name", LAYERS)
def test_augmentation_save_load_roundtrip(name, tmp_path):
    assert_save_load_roundtrip(LAYERS[name](), _images((2, 12, 12, 3)), tmp_path)


@pytest.mark.parametrize("name", LAYERS)
def test_augmentation_runs_mixed_precision(name):
    assert_runs_mixed_precision(LAYERS[name], _images((2, 12, 12, 3)))


@pytest.mark.parametrize("name", LAYERS)
def test_augmentation_accepts_uint8_images(name):
    images = (_images((2, 12, 12, 3)) * 255).astype("uint8")
    assert keras.backend.standardize_dtype(LAYERS[name]()(images).dtype) == "float32"


@pytest.mark.parametrize("name", LAYERS)
def test_augmentation_rejects_images_of_the_wrong_rank(name):
    with pytest.raises(ValueError,
                       match=r"`inputs` must be one image \(H, W, C\) or a batch "
                             r"\(B, H, W, C\) for \w+\. Received: inputs of shape"):
        LAYERS[name]()(np.zeros((2, 12, 12, 3, 1), "float32"))


def test_augmentation_layers_run_mirrored():
    layers = ", ".join(f"{MODULE}.{call}" for call in (
        "RandomScaleCrop((10, 14), 8, seed=1)", "Cutout(3, seed=1)",
        "RandomLensDistortion(0.1, seed=1)", "Dequantize(seed=1)"))
    assert_runs_mirrored(f"keras.Sequential([{layers}, {MIRRORED_LIGHTING}])", (12, 12, 3))


@pytest.mark.skipif(keras.config.backend() != "tensorflow",
                    reason="kerasreg's layers run inside tf.data graphs on the TensorFlow "
                           "backend; elsewhere kerasreg.augment.pipeline wraps them")
def test_augmentation_layers_run_in_tf_data_graph_mode():
    import tensorflow as tf

    layers = [layer() for layer in LAYERS.values()]
    dataset = tf.data.Dataset.from_tensor_slices(_images((6, 12, 12, 3))).batch(4)
    for layer in layers:
        dataset = dataset.map(layer)
    assert [tuple(batch.shape) for batch in dataset] == [(4, 8, 8, 3), (2, 8, 8, 3)]


@pytest.mark.parametrize("module", ["augmentation", "augmentation_ops", "pipeline"])
def test_augmentation_docstring_examples_run(module):
    results = doctest.testmod(importlib.import_module(f"kerasreg.layers.{module}"))
    assert results.attempted > 0 and results.failed == 0
