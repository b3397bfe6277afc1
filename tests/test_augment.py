"""Tests for kerasreg.augment: mix_batch (mixup, CutMix, switch), pipeline, label_preservation.

References: NumPy blends and slicing for the mixing functions, SciPy's
Beta distribution for the lambdas (Kolmogorov-Smirnov distance below its
1% critical value 1.63 / sqrt(n)), timm's `mixup_target` formula for label
smoothing, pixel counts for CutMix label weights, scikit-learn's digits for
the label check. Mixed values are compared within 1e-6 (float32 round-off);
drawn frequencies within about 4 standard errors (stated per test).
"""

import doctest
import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import scipy.stats

import kerasreg.augment
from kerasreg.augment import (STEPS, AugmentationPipeline, cutmix, cutmix_parameters,
                              label_preservation, mix, mix_batch, mix_parameters, mixup,
                              mixup_parameters, pipeline, soft_labels)
from kerasreg.course.datasets import load_digits
from kerasreg.layers.augmentation import Cutout, RandomPCALighting, RandomScaleCrop
from tests.layer_checks import assert_save_load_roundtrip

NUM_CLASSES = 16


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _constant_images(batch=NUM_CLASSES, size=(6, 8)):
    """Image i is filled with the value i + 1: a mixed pixel tells its sources."""
    values = np.arange(1, batch + 1, dtype="float32")
    return np.broadcast_to(values[:, None, None, None], (batch,) + size + (1,)).copy()


def _random_batch(batch=8, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.random((batch, 6, 8, 3)).astype("float32"),
            np.eye(4, dtype="float32")[rng.integers(0, 4, batch)])


# mixup and CutMix with fixed parameters --------------------------------------------

def test_mixup_blends_images_and_labels_with_the_same_lambda():
    images, labels = _random_batch()
    lambdas, permutation = np.linspace(0, 1, 8).astype("float32"), np.array([3, 0, 1, 2, 7, 6,
                                                                              5, 4])
    mixed_images, mixed_labels = (_numpy(t) for t in mixup(images, labels, lambdas, permutation))
    weights = lambdas[:, None, None, None]
    np.testing.assert_allclose(mixed_images,
                               weights * images + (1 - weights) * images[permutation], atol=1e-6)
    np.testing.assert_allclose(mixed_labels, lambdas[:, None] * labels
                               + (1 - lambdas[:, None]) * labels[permutation], atol=1e-6)


def test_cutmix_pastes_the_clipped_box_from_the_partner():
    images, labels = _random_batch(3)
    corners, sizes = np.array([[-2, 5], [1, 2], [4, -3]]), np.array([[4, 6], [3, 3], [5, 5]])
    permutation = np.array([1, 2, 0])
    mixed, _ = cutmix(images, labels, corners, sizes, permutation)
    expected = images.copy()
    for i, ((top, left), (height, width)) in enumerate(zip(corners, sizes)):
        rows = slice(max(top, 0), max(top + height, 0))
        cols = slice(max(left, 0), max(left + width, 0))
        expected[i, rows, cols] = images[permutation[i], rows, cols]
    np.testing.assert_array_equal(_numpy(mixed), expected)


def test_cutmix_label_weight_is_the_pasted_area_after_clipping():
    images, labels = _random_batch(3)
    # Box areas 24, 9, 25 pixels; clipped to 2 x 3 = 6, 3 x 3 = 9, 2 x 2 = 4 of 48.
    corners, sizes = np.array([[-2, 5], [1, 2], [4, -3]]), np.array([[4, 6], [3, 3], [5, 5]])
    _, mixed = cutmix(images, labels, corners, sizes, np.array([1, 2, 0]))
    pasted = np.array([6, 9, 4]) / 48
    np.testing.assert_allclose(_numpy(mixed), (1 - pasted[:, None]) * labels
                               + pasted[:, None] * labels[[1, 2, 0]], atol=1e-6)


# mix_batch: random draws --------------------------------------------------------------

@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.0])
def test_mix_batch_lambdas_follow_beta_alpha_alpha(alpha):
    lambdas = np.sort(_numpy(mixup_parameters(np.zeros((20000, 1, 1, 1)), alpha,
                                              seed=3)["lambdas"]))
    # Kolmogorov-Smirnov distance on [0.001, 0.999]: float32 rounds the lambdas within
    # 6e-8 of 1 up to 1.0 (2% of the draws for alpha = 0.2), a tie the plain test rejects.
    grid = np.linspace(0.001, 0.999, 999)
    empirical = np.searchsorted(lambdas, grid, side="right") / len(lambdas)
    distance = np.abs(empirical - scipy.stats.beta(alpha, alpha).cdf(grid)).max()
    assert distance < 1.63 / np.sqrt(len(lambdas))


def test_cutmix_box_side_is_sqrt_one_minus_lambda():
    images = np.zeros((20000, 40, 40, 1), "float32")
    sizes = _numpy(cutmix_parameters(images, 1.0, seed=3)["sizes"])
    assert (sizes[:, 0] == sizes[:, 1]).all()  # square image, square box
    # sides = round(40 sqrt(1 - lambda)), lambda ~ Beta(1, 1) = U(0, 1): P(side <= s) = (s / 40)^2
    # up to rounding; compare with the rounded reference's distribution.
    reference = np.round(40 * np.sqrt(1 - np.random.default_rng(0).random(200000)))
    distance = scipy.stats.ks_2samp(sizes[:, 0], reference).statistic
    assert distance < 1.63 * np.sqrt(1 / 20000 + 1 / 200000)


@pytest.mark.parametrize("method", ["mixup", "cutmix"])
def test_mix_batch_permutation_is_a_permutation(method):
    images = np.zeros((64, 4, 4, 1), "float32")
    parameters = (mixup_parameters if method == "mixup" else cutmix_parameters)(images, 1.0, 4)
    assert sorted(_numpy(parameters["permutation"]).tolist()) == list(range(64))


def test_mix_batch_mixup_mixes_labels_with_the_image_lambda():
    images = _constant_images()
    mixed_images, mixed_labels = (_numpy(t) for t in mix_batch(
        images, np.arange(NUM_CLASSES), "mixup", alpha=1.0, num_classes=NUM_CLASSES, seed=2))
    values = np.arange(1, NUM_CLASSES + 1)
    # Each soft label puts lambda on the own class and 1 - lambda on the partner's class,
    # so the mixed pixel must be exactly the label-weighted mean of the class values.
    np.testing.assert_allclose(mixed_images[:, 0, 0, 0], mixed_labels @ values, rtol=1e-5)
    assert (np.count_nonzero(mixed_labels, axis=1) <= 2).all()


def test_mix_batch_cutmix_label_weights_are_the_pasted_pixel_fractions():
    images = _constant_images()
    mixed_images, mixed_labels = (_numpy(t) for t in mix_batch(
        images, np.arange(NUM_CLASSES), "cutmix", num_classes=NUM_CLASSES, seed=2))
    for i, (image, label) in enumerate(zip(mixed_images, mixed_labels)):
        counts = np.bincount(image.ravel().astype(int) - 1, minlength=NUM_CLASSES)
        np.testing.assert_allclose(label, counts / image.size, atol=1e-6)


@pytest.mark.parametrize("method", ["mixup", "cutmix"])
def test_mix_batch_labels_sum_to_one(method):
    images, labels = _random_batch(64)
    _, mixed = mix_batch(images, labels, method, seed=5)
    np.testing.assert_allclose(_numpy(mixed).sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("method", ["mixup", "cutmix"])
def test_mix_batch_takes_integer_or_one_hot_labels(method):
    images, one_hot = _random_batch()
    from_indices = mix_batch(images, one_hot.argmax(axis=1), method, num_classes=4, seed=7)
    from_one_hot = mix_batch(images, one_hot, method, seed=7)
    for a, b in zip(from_indices, from_one_hot):
        np.testing.assert_array_equal(_numpy(a), _numpy(b))


def test_mix_batch_same_int_seed_same_mix_and_generator_new_mix():
    images, labels = _random_batch()
    first, second = (_numpy(mix_batch(images, labels, seed=1)[0]) for _ in range(2))
    np.testing.assert_array_equal(first, second)
    generator = keras.random.SeedGenerator(1)
    assert not np.array_equal(_numpy(mix_batch(images, labels, seed=generator)[0]),
                              _numpy(mix_batch(images, labels, seed=generator)[0]))


@pytest.mark.skipif(keras.config.backend() != "tensorflow",
                    reason="kerasreg's layers run inside tf.data graphs on the TensorFlow "
                           "backend; elsewhere kerasreg.augment.pipeline wraps them")
@pytest.mark.parametrize("method, mode", [("cutmix", "example"), ("switch", "pair"),
                                          ("switch", "batch")])
def test_mix_batch_runs_in_a_tf_data_map(method, mode):
    import tensorflow as tf

    images, labels = _random_batch(15)
    generator = keras.random.SeedGenerator(0)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels.argmax(axis=1))).batch(8).map(
        lambda x, y: mix_batch(x, y, method, num_classes=4, seed=generator, mode=mode,
                               probability=0.9, label_smoothing=0.1))
    batches = [(x.numpy(), y.numpy()) for x, y in dataset]  # unknown batch size: 8, then 7
    assert [x.shape for x, _ in batches] == [(8, 6, 8, 3), (7, 6, 8, 3)]
    assert all(np.allclose(y.sum(axis=1), 1.0, atol=1e-6) for _, y in batches)


# mix_batch: timm's options (switch, modes, probability, area correction, smoothing) --------

def test_mix_takes_cutmix_rows_from_cutmix_and_the_others_from_mixup():
    images, labels = _random_batch(3)
    lambdas, permutation = np.array([0.3, 0.6, 0.9], "float32"), np.array([1, 2, 0])
    corners, sizes = np.array([[-2, 5], [1, 2], [4, -3]]), np.array([[4, 6], [3, 3], [5, 5]])
    use_cutmix = np.array([True, False, True])
    mixed = [_numpy(t) for t in mix(images, labels, lambdas, use_cutmix, corners, sizes,
                                    permutation)]
    blended = [_numpy(t) for t in mixup(images, labels, lambdas, permutation)]
    pasted = [_numpy(t) for t in cutmix(images, labels, corners, sizes, permutation)]
    for got, from_mixup, from_cutmix in zip(mixed, blended, pasted):
        np.testing.assert_array_equal(got[use_cutmix], from_cutmix[use_cutmix])
        np.testing.assert_allclose(got[~use_cutmix], from_mixup[~use_cutmix], atol=1e-6)


@pytest.mark.parametrize("method", ["mixup", "cutmix", "switch"])
def test_mix_batch_label_smoothing_equals_timms_mixup_target(method):
    images, classes, smoothing = _constant_images(), np.arange(NUM_CLASSES), 0.1
    arguments = dict(num_classes=NUM_CLASSES, seed=4, mode="pair")
    _, plain = mix_batch(images, classes, method, **arguments)
    _, smoothed = mix_batch(images, classes, method, label_smoothing=smoothing, **arguments)
    own_weight = np.diag(_numpy(plain))[:, None]  # lambda, area-corrected for CutMix
    # timm.data.mixup.mixup_target: one-hot with on/off values, partner = flipped batch.
    off = smoothing / NUM_CLASSES
    on = 1 - smoothing + off
    target = np.where(np.eye(NUM_CLASSES, dtype=bool), on, off)
    expected = own_weight * target + (1 - own_weight) * target[::-1]
    np.testing.assert_allclose(_numpy(smoothed), expected, atol=1e-6)
    np.testing.assert_allclose(_numpy(smoothed).sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("mode", ["example", "pair", "batch"])
def test_switch_probability_zero_is_all_mixup_and_one_all_cutmix(mode):
    images = np.zeros((64, 4, 4, 1), "float32")
    never, always = (_numpy(mix_parameters(images, "switch", mode=mode, switch_probability=p,
                                           seed=1)["use_cutmix"]) for p in (0.0, 1.0))
    assert not never.any() and always.all()


# Draws per mode and the tolerance on the CutMix share (about 4 standard errors of 0.5):
# 4000 examples: 0.03; 2000 pairs: 0.045; 200 batches: 0.15.
@pytest.mark.parametrize("mode, batch, calls, tolerance", [
    ("example", 4000, 1, 0.03), ("pair", 4000, 1, 0.045), ("batch", 4, 200, 0.15)])
def test_switch_probability_half_picks_cutmix_for_about_half(mode, batch, calls, tolerance):
    images, generator = np.zeros((batch, 4, 4, 1), "float32"), keras.random.SeedGenerator(2)
    use_cutmix = np.concatenate([_numpy(mix_parameters(
        images, "switch", mode=mode, switch_probability=0.5, seed=generator)["use_cutmix"])
        for _ in range(calls)])
    assert abs(use_cutmix.mean() - 0.5) < tolerance


def test_pair_mode_pairs_i_with_its_mirror_and_shares_every_draw():
    draws = {key: _numpy(value) for key, value in mix_parameters(
        np.zeros((7, 8, 8, 1), "float32"), "switch", mode="pair", seed=2).items()}
    assert draws["permutation"].tolist() == [6, 5, 4, 3, 2, 1, 0]
    for key in ("lambdas", "use_cutmix", "corners", "sizes"):
        np.testing.assert_array_equal(draws[key], draws[key][::-1])
    assert len(set(draws["lambdas"][:4].tolist())) == 4  # one draw per pair


def test_batch_mode_draws_one_lambda_method_and_box():
    draws = {key: _numpy(value) for key, value in mix_parameters(
        np.zeros((8, 8, 8, 1), "float32"), "switch", mode="batch", seed=3).items()}
    for key in ("lambdas", "use_cutmix", "corners", "sizes"):
        np.testing.assert_array_equal(draws[key], draws[key][:1].repeat(8, axis=0))
    assert sorted(draws["permutation"].tolist()) == list(range(8))


def test_example_mode_draws_one_lambda_per_example():
    lambdas = _numpy(mix_parameters(np.zeros((8, 8, 8, 1), "float32"), "switch", seed=3)[
        "lambdas"])
    assert len(set(lambdas.tolist())) == 8


def test_pair_mode_mixes_each_pair_both_ways_and_keeps_an_odd_middle():
    images = _constant_images(batch=7)
    mixed_images, mixed_labels = (_numpy(t) for t in mix_batch(
        images, np.arange(7), "mixup", alpha=1.0, num_classes=7, seed=5, mode="pair"))
    values, own = np.arange(1, 8), np.diag(mixed_labels)
    np.testing.assert_allclose(own, own[::-1], atol=1e-6)
    np.testing.assert_allclose(mixed_images[:, 0, 0, 0],
                               own * values + (1 - own) * values[::-1], rtol=1e-6)
    assert mixed_labels[3, 3] == 1.0 and mixed_images[3, 0, 0, 0] == 4.0


@pytest.mark.parametrize("mode", ["example", "pair", "batch"])
def test_mix_batch_switch_labels_match_the_picture(mode):
    images, values = _constant_images(), np.arange(1, NUM_CLASSES + 1)
    arguments = dict(mode=mode, probability=0.8, seed=6)
    use_cutmix = _numpy(mix_parameters(images, "switch", **arguments)["use_cutmix"])
    mixed_images, mixed_labels = (_numpy(t) for t in mix_batch(
        images, np.arange(NUM_CLASSES), "switch", num_classes=NUM_CLASSES, **arguments))
    # Every example: the mean pixel is the label-weighted mean of the class values.
    np.testing.assert_allclose(mixed_images.mean(axis=(1, 2, 3)), mixed_labels @ values,
                               rtol=1e-5)
    for image, label in zip(mixed_images[use_cutmix], mixed_labels[use_cutmix]):
        counts = np.bincount(image.ravel().astype(int) - 1, minlength=NUM_CLASSES)
        np.testing.assert_allclose(label, counts / image.size, atol=1e-6)


def test_mix_batch_uncorrected_cutmix_labels_use_the_drawn_lambda():
    images = _constant_images()
    draws = {key: _numpy(value) for key, value in mix_parameters(images, "cutmix",
                                                                  seed=7).items()}
    mixed_images, mixed_labels = (_numpy(t) for t in mix_batch(
        images, np.arange(NUM_CLASSES), "cutmix", num_classes=NUM_CLASSES, seed=7,
        correct_lambda=False))
    mixed = draws["permutation"] != np.arange(NUM_CLASSES)  # not paired with itself
    own = np.diag(mixed_labels)
    np.testing.assert_allclose(own[mixed], draws["lambdas"][mixed], atol=1e-6)
    kept = (mixed_images == images).mean(axis=(1, 2, 3))
    assert np.abs(own - kept)[mixed].max() > 0.05  # clipped boxes: the drawn lambda is off


@pytest.mark.parametrize("method", ["mixup", "cutmix", "switch"])
def test_mix_batch_probability_zero_changes_nothing(method):
    images, labels = _random_batch(16)
    mixed_images, mixed_labels = mix_batch(images, labels, method, seed=8, probability=0.0)
    np.testing.assert_array_equal(_numpy(mixed_images), images)
    np.testing.assert_array_equal(_numpy(mixed_labels), labels)


def test_mix_batch_probability_mixes_that_share_of_the_examples():
    lambdas = _numpy(mix_parameters(np.zeros((4000, 4, 4, 1), "float32"), "switch", alpha=1.0,
                                    probability=0.3, seed=9)["lambdas"])
    # 4000 examples: the share's standard error is 0.0072.
    assert abs((lambdas < 1).mean() - 0.3) < 0.03


@pytest.mark.parametrize("method", ["mix", "MIXUP", None])
def test_mix_batch_rejects_bad_method(method):
    with pytest.raises(ValueError) as error:
        mix_batch(*_random_batch(), method=method)
    assert str(error.value) == (f"`method` must be one of 'mixup', 'cutmix', 'switch'. "
                                f"Received: method={method!r}")


@pytest.mark.parametrize("alpha", [0, -1.0, "a"])
def test_mix_batch_rejects_bad_alpha(alpha):
    with pytest.raises(ValueError) as error:
        mix_batch(*_random_batch(), alpha=alpha)
    assert str(error.value) == f"`alpha` must be a number > 0. Received: alpha={alpha!r}"


@pytest.mark.parametrize("alpha", [(0.2,), (0.2, 0), (0.2, 1.0, 3.0), -1, "a"])
def test_mix_batch_rejects_bad_switch_alpha(alpha):
    with pytest.raises(ValueError) as error:
        mix_batch(*_random_batch(), "switch", alpha=alpha)
    assert str(error.value) == ("`alpha` must be a number > 0 or a pair (mixup alpha, CutMix "
                                f"alpha) of numbers > 0. Received: alpha={alpha!r}")


@pytest.mark.parametrize("mode", ["elem", "Batch", None])
def test_mix_batch_rejects_bad_mode(mode):
    with pytest.raises(ValueError) as error:
        mix_batch(*_random_batch(), mode=mode)
    assert str(error.value) == ("`mode` must be one of 'example', 'pair', 'batch'. "
                                f"Received: mode={mode!r}")


@pytest.mark.parametrize("name", ["probability", "switch_probability"])
@pytest.mark.parametrize("value", [-0.1, 1.5, None])
def test_mix_batch_rejects_probabilities_outside_zero_one(name, value):
    with pytest.raises(ValueError) as error:
        mix_batch(*_random_batch(), "switch", **{name: value})
    assert str(error.value) == f"`{name}` must be a number in [0, 1]. Received: {name}={value!r}"


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, 1.5, "0.1"])
def test_mix_batch_rejects_label_smoothing_outside_zero_one(smoothing):
    with pytest.raises(ValueError) as error:
        mix_batch(*_random_batch(), label_smoothing=smoothing)
    assert str(error.value) == ("`label_smoothing` must be a number in [0, 1). "
                                f"Received: label_smoothing={smoothing!r}")


@pytest.mark.parametrize("correct_lambda", [1, "yes", None])
def test_mix_batch_rejects_a_non_bool_correct_lambda(correct_lambda):
    with pytest.raises(ValueError) as error:
        mix_batch(*_random_batch(), "cutmix", correct_lambda=correct_lambda)
    assert str(error.value) == ("`correct_lambda` must be a bool (True or False). "
                                f"Received: correct_lambda={correct_lambda!r}")


def test_mix_batch_needs_num_classes_for_integer_labels():
    with pytest.raises(ValueError) as error:
        mix_batch(_random_batch()[0], np.arange(8) % 4)
    assert str(error.value) == ("`num_classes` must be an integer >= 2 when labels are "
                                "class indices. Received: num_classes=None")


@pytest.mark.parametrize("labels, held", [([0, 1, 4, 2], [4]), ([0, -1, 1, 2], [-1]),
                                           ([0.0, 1.9, 1.0, 2.0], [1.9]),
                                           ([0, 1, float("nan"), 2], ["nan"])])
def test_mix_batch_rejects_class_indices_that_are_not_whole_numbers_in_range(labels, held):
    with pytest.raises(ValueError) as error:
        mix_batch(np.zeros((4, 4, 4, 1)), np.array(labels), num_classes=4, seed=0)
    assert str(error.value).startswith("`labels` must be whole class indices in [0, 4) "
                                       "(num_classes=4). Received: labels holding [")
    assert str(held[0]) in str(error.value)


@pytest.mark.parametrize("labels", [np.arange(3), np.eye(4)[:2]])
def test_mix_batch_rejects_a_label_count_unlike_the_batch(labels):
    with pytest.raises(ValueError) as error:
        mix_batch(np.zeros((4, 4, 4, 1)), labels, num_classes=4, seed=0)
    assert str(error.value) == ("`labels` must be an array of one entry per image (4 images). "
                                f"Received: labels of shape {(len(labels), 4)}")


def test_mix_batch_accepts_whole_float_class_indices():
    _, soft = mix_batch(np.zeros((2, 4, 4, 1)), np.array([0.0, 3.0]), num_classes=4, seed=0,
                        probability=0.0)
    np.testing.assert_array_equal(_numpy(soft), np.eye(4)[[0, 3]])


def test_soft_labels_rejects_num_classes_unlike_the_one_hot_width():
    with pytest.raises(ValueError) as error:
        soft_labels(np.eye(4), num_classes=5)
    assert str(error.value) == ("`num_classes` must be 4 (the width of the one-hot labels). "
                                "Received: num_classes=5")


# pipeline ----------------------------------------------------------------------------------

def test_pipeline_builds_the_named_steps_in_order():
    augment = pipeline(["flip", ("rotation", {"factor": 0.2}), "cutout",
                        ("scale_crop", {"scale_range": (20, 24), "crop_size": 16})], seed=3)
    assert [type(layer) for layer in augment.layers] == [
        keras.layers.RandomFlip, keras.layers.RandomRotation, Cutout, RandomScaleCrop]
    assert [layer.seed for layer in augment.layers] == [3, 4, 5, 6]
    assert augment.layers[1].get_config()["factor"] == (-0.2, 0.2)


def test_pipeline_passes_value_range_to_the_steps_that_take_it():
    augment = pipeline(["color_jitter", "contrast", "rand_augment", "trivial_augment",
                        "keras_rand_augment", "flip"], value_range=(0, 255))
    assert [tuple(layer.value_range) for layer in augment.layers[:5]] == [(0, 255)] * 5


def test_pipeline_automatic_augmentation_steps_are_kerasregs_per_image_layers():
    from kerasreg.layers import RandAugment, TrivialAugment

    augment = pipeline(["rand_augment", "trivial_augment", "keras_rand_augment"])
    assert [type(layer) for layer in augment.layers] == [RandAugment, TrivialAugment,
                                                         keras.layers.RandAugment]


def test_pipeline_covers_the_lectures_list():
    lecture = {"flip", "rotation", "translation", "shear", "zoom", "stretch", "color_jitter",
               "contrast", "brightness", "lens_distortion", "dequantize", "noise", "scale_crop",
               "cutout", "rand_augment", "erasing"}
    assert lecture <= set(STEPS)


def test_pipeline_of_every_step_runs_in_tf_data_graph_mode():
    import tensorflow as tf

    steps = [name if name != "scale_crop" else (name, {"scale_range": (20, 24),
                                                        "crop_size": 16}) for name in STEPS]
    augment = pipeline(steps, seed=0)
    images = np.random.default_rng(0).random((6, 20, 20, 3)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(4).map(
        augment, num_parallel_calls=2)
    batches = [batch.numpy() for batch in dataset]
    assert [batch.shape for batch in batches] == [(4, 16, 16, 3), (2, 16, 16, 3)]
    assert all(np.isfinite(batch).all() for batch in batches)


def test_pipeline_save_load_roundtrip(tmp_path):
    augment = pipeline(["flip", "rotation", "shear", "color_jitter", "cutout",
                        "lens_distortion", "dequantize"], seed=0)
    assert isinstance(augment, AugmentationPipeline)
    assert_save_load_roundtrip(augment, np.random.default_rng(0).random((2, 12, 12, 3)), tmp_path)


def test_pipeline_takes_an_adapted_pca_lighting_layer(tmp_path):
    import tensorflow as tf

    images = np.random.default_rng(0).random((6, 12, 12, 3)).astype("float32")
    lighting = RandomPCALighting(alpha_std=0.5, seed=0)
    lighting.adapt(images)
    augment = pipeline(["flip", lighting], seed=0)
    shifts = _numpy(augment(images)) - _numpy(pipeline(["flip"], seed=0)(images))
    np.testing.assert_allclose(shifts, np.broadcast_to(shifts[:, :1, :1], shifts.shape),
                               atol=1e-6)  # one shift per image
    assert np.abs(shifts).max() > 1e-3
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(4).map(augment)
    assert [tuple(batch.shape) for batch in dataset] == [(4, 12, 12, 3), (2, 12, 12, 3)]
    assert_save_load_roundtrip(augment, images, tmp_path)
    keras.Sequential([keras.Input((12, 12, 3)), augment]).save(tmp_path / "lit.keras")
    loaded = keras.models.load_model(tmp_path / "lit.keras", safe_mode=True).layers[0].layers[1]
    np.testing.assert_array_equal(_numpy(loaded.eigenvectors), _numpy(lighting.eigenvectors))


def test_pipeline_keeps_a_steps_own_seed():
    augment = pipeline(["flip", ("rotation", {"seed": 42}), ("cutout", {"size": 2})], seed=3)
    assert [layer.seed for layer in augment.layers] == [3, 42, 5]


@pytest.mark.parametrize("steps", [["color_jitter"], ["flip", "contrast"]])
def test_pipeline_rejects_images_outside_its_value_range_on_eager_calls(steps):
    augment = pipeline(steps, seed=0)
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    with pytest.raises(ValueError) as error:
        augment(images)
    message = str(error.value)
    assert message.startswith("`value_range` must be the pixel range of the images, which "
                              "span [")
    assert message.endswith("Received: value_range=(0, 1)")
    assert tuple(pipeline(steps, value_range=(0, 255), seed=0)(images).shape) == images.shape


def test_pipeline_without_a_ranged_step_does_not_check_the_range():
    assert pipeline(["flip", ("cutout", {"size": 2})]).value_range is None
    assert tuple(pipeline(["flip"])(np.full((1, 4, 4, 3), 200.0)).shape) == (1, 4, 4, 3)


def _saturation(images):
    hsv = _numpy(keras.ops.image.rgb_to_hsv(keras.ops.convert_to_tensor(images)))
    return hsv[..., 1].mean(axis=(1, 2))


def _photos(copies=8, size=64):
    from kerasreg.course.datasets import sample_photos
    photos = [_numpy(keras.ops.image.resize(photo.astype("float32") / 255, (size, size)))
              for photo in sample_photos()]
    return np.concatenate([np.stack(photos)] * copies)


def _ratios(layer, images):
    out = _numpy(layer(images))
    return (_saturation(out) / _saturation(images),
            out.std(axis=(1, 2, 3)) / images.std(axis=(1, 2, 3)))


def test_default_color_jitter_moves_saturation_and_contrast_both_ways():
    # Each factor of the default step alone, on real photographs: the ratio
    # new/old of the mean HSV saturation and of the pixel standard deviation
    # must fall below and above 1 for a fair share of the images, median near 1.
    images = _photos()
    defaults = STEPS["color_jitter"][1]
    saturation, _ = _ratios(keras.layers.RandomColorJitter(
        saturation_factor=defaults["saturation_factor"], value_range=(0, 1), seed=0), images)
    _, contrast = _ratios(keras.layers.RandomColorJitter(
        contrast_factor=defaults["contrast_factor"], value_range=(0, 1), seed=0), images)
    _, contrast_step = _ratios(pipeline(["contrast"], seed=0), images)
    for ratios in (saturation, contrast, contrast_step):
        assert 0.25 < np.mean(ratios < 1) < 0.75 and 0.25 < np.mean(ratios > 1) < 0.75
        assert abs(np.median(ratios) - 1) < 0.1
    # The whole step (brightness and hue too) neither greys nor flattens the images.
    saturation, contrast = _ratios(pipeline(["color_jitter"], seed=0), images)
    for ratios in (saturation, contrast):
        assert (ratios < 1).any() and (ratios > 1).any() and abs(np.median(ratios) - 1) < 0.2


@pytest.mark.parametrize("steps", [[], "flip", None])
def test_pipeline_rejects_an_empty_or_non_list_of_steps(steps):
    with pytest.raises(ValueError, match=r"`steps` must be a non-empty list of step names"):
        pipeline(steps)


def test_pipeline_rejects_an_unknown_step():
    with pytest.raises(ValueError) as error:
        pipeline(["flip", "blur"])
    assert str(error.value).startswith("`steps` must be names from kerasreg.augment.STEPS: "
                                       "flip, rotation,")
    assert str(error.value).endswith("Received: steps='blur'")


@pytest.mark.parametrize("step", [("rotation", 0.1), ("rotation",), (1, {})])
def test_pipeline_rejects_a_malformed_step(step):
    with pytest.raises(ValueError, match=r"`steps` must be made of step names, \(name, "
                                         r"arguments\) pairs or Keras layers"):
        pipeline([step])


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_pipeline_runs_in_tf_data_under_the_jax_backend():
    code = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        from kerasreg.augment import pipeline
        augment = pipeline(["flip", "cutout",
                            ("scale_crop", {"scale_range": (20, 24), "crop_size": 16})], seed=0)
        images = np.random.default_rng(0).random((6, 20, 20, 3)).astype("float32")
        dataset = tf.data.Dataset.from_tensor_slices(images).batch(4).map(augment)
        print([tuple(batch.shape) for batch in dataset])
    """)
    env = dict(os.environ, KERAS_BACKEND="jax")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=240)
    assert result.stdout.strip().endswith("[(4, 16, 16, 3), (2, 16, 16, 3)]"), result.stderr[-3000:]


# label_preservation ------------------------------------------------------------------------

def _rotate_180(images):
    return np.rot90(images, 2, axes=(1, 2))


def test_label_preservation_finds_six_and_nine_under_a_half_turn():
    (images, labels), _ = load_digits()
    check = label_preservation(images, labels, _rotate_180)
    assert check.swapped == [(6, 9)]
    assert check.mapped[6] == 9 and check.mapped[9] == 6
    assert {0, 1, 8} <= set(check.preserved)  # symmetric under a half turn


def test_label_preservation_finds_six_and_nine_with_only_those_digits():
    (images, labels), _ = load_digits()
    keep = np.isin(labels, [6, 9])
    check = label_preservation(images[keep], labels[keep], _rotate_180)
    assert check.accuracy > 0.95
    assert check.swapped == [(6, 9)] and check.preserved == []
    assert check.matrix.shape == (10, 10) and check.matrix[6, 9] > 0.9


def test_label_preservation_rejects_non_integer_labels_and_nan_images():
    with pytest.raises(ValueError, match=r"`labels` must be whole class indices >= 0. "
                                         r"Received: labels holding \[0.5\]"):
        label_preservation(np.zeros((2, 3)), [0, 0.5], lambda x: x)
    with pytest.raises(ValueError, match=r"`images` must be finite numbers"):
        label_preservation(np.full((2, 3), np.nan), [0, 1], lambda x: x)


def test_label_preservation_of_the_identity_preserves_every_class():
    (images, labels), _ = load_digits()
    check = label_preservation(images, labels, lambda x: x)
    assert check.preserved == list(range(10)) and check.swapped == [] and check.mapped == {}
    np.testing.assert_allclose(np.diag(check.matrix).mean(), check.accuracy, atol=0.02)


def test_label_preservation_uses_a_given_classifier():
    images = np.array([[0.0], [0.1], [1.0], [0.9]])
    labels = np.array([0, 0, 1, 1])
    check = label_preservation(images, labels, lambda x: 1 - x,
                               predict=lambda x: (np.asarray(x)[:, 0] > 0.5).astype(int))
    assert check.swapped == [(0, 1)] and check.accuracy == 1.0
    np.testing.assert_array_equal(check.matrix, [[0, 1], [1, 0]])


def test_label_preservation_rejects_mismatched_labels():
    with pytest.raises(ValueError) as error:
        label_preservation(np.zeros((4, 2)), [0, 1, 0], lambda x: x)
    assert str(error.value) == ("`labels` must be an array of one integer class per image "
                                "(4 images). Received: labels of shape (3,)")


@pytest.mark.parametrize("module", [kerasreg.augment.steps, kerasreg.augment.mixing,
                                    kerasreg.augment.label_check])
def test_augment_docstring_examples_run(module):
    results = doctest.testmod(module)
    assert results.attempted > 0 and results.failed == 0
