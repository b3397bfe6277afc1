"""RandAugment, TrivialAugment and their 14 operations against PIL, image by image.

Every augmenting call works on the same (3, 48, 64, 3) batch of photographs (or
one of its images): JAX compiles each operation once per shape when it runs
eagerly, so one shape keeps this file fast under KERAS_BACKEND=jax.
"""

import doctest
import importlib

import keras
import numpy as np
import pytest
from layer_checks import assert_runs_mixed_precision, assert_save_load_roundtrip
from PIL import Image, ImageEnhance, ImageOps

from kerasreg.course.datasets import sample_photos
from kerasreg.layers import RandAugment, TrivialAugment, auto_augment, image_ops
from kerasreg.layers.auto_augment import operation_arguments
from kerasreg.layers.image_ops import OPERATIONS


def _photos():
    """Three 48 x 64 RGB crops of real photographs, uint8."""
    astronaut, chelsea, coffee = sample_photos(["astronaut", "chelsea", "coffee"])
    return np.stack([astronaut[100:292:4, 100:356:4], chelsea[60:156:2, 150:278:2],
                     coffee[100:292:4, 200:456:4]])


def _pil_affine(data):
    return lambda image: image.transform(image.size, Image.AFFINE, data, Image.NEAREST,
                                         fillcolor=(0, 0, 0))


# name: (three arguments, PIL reference of one image and argument, tolerance in levels).
REFERENCES = {
    "identity": ([0.0] * 3, lambda image, _: image, 0),
    "shear_x": ([-0.27, 0.09, 0.3], lambda image, s: _pil_affine((1, s, 0, 0, 1, 0))(image), 0),
    "shear_y": ([-0.27, 0.09, 0.3], lambda image, s: _pil_affine((1, 0, 0, s, 1, 0))(image), 0),
    "translate_x": ([-10.0, 3.0, 20.0],
                    lambda image, t: _pil_affine((1, 0, int(t), 0, 1, 0))(image), 0),
    "translate_y": ([-10.0, 3.0, 20.0],
                    lambda image, t: _pil_affine((1, 0, 0, 0, 1, int(t)))(image), 0),
    "rotate": ([-27.0, 9.0, 30.0],
               lambda image, d: image.rotate(d, Image.NEAREST, fillcolor=(0, 0, 0)), 0),
    "brightness": ([0.1, 1.27, 1.9], lambda image, f: ImageEnhance.Brightness(image).enhance(f), 0),
    "color": ([0.1, 1.27, 1.9], lambda image, f: ImageEnhance.Color(image).enhance(f), 1),
    "contrast": ([0.1, 1.27, 1.9], lambda image, f: ImageEnhance.Contrast(image).enhance(f), 1),
    "sharpness": ([0.1, 1.27, 1.9], lambda image, f: ImageEnhance.Sharpness(image).enhance(f),
                  1),
    "posterize": ([7, 4, 2], lambda image, bits: ImageOps.posterize(image, int(bits)), 0),
    "solarize": ([0.9, 0.7, 0.1], lambda image, t: ImageOps.solarize(image, 255 * t), 0),
    "auto_contrast": ([0.0] * 3, lambda image, _: ImageOps.autocontrast(image), 1),
    "equalize": ([0.0] * 3, lambda image, _: ImageOps.equalize(image), 0),
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_operation_matches_pil_at_three_magnitudes(name):
    # Every image of the batch gets its own argument; each is compared with PIL on its own.
    # Tolerance in 8-bit levels: 0 (exact) but for colour and sharpness, where PIL blends
    # with a rounded grey / smoothed image and truncates and ours blends with the exact one
    # (1 level), contrast, whose grey mean comes from the channel means instead of PIL's
    # rounded grey pixels (1 level; equal on these photos), and auto_contrast (1 level:
    # float32 division on JAX).
    photos = _photos()
    arguments, reference, tolerance = REFERENCES[name]
    out = getattr(image_ops, name)(photos / 255, arguments) if name not in (
        "identity", "auto_contrast", "equalize") else getattr(image_ops, name)(photos / 255)
    out = np.round(keras.ops.convert_to_numpy(out) * 255)
    for image, argument, ours in zip(photos, arguments, out):
        expected = np.asarray(reference(Image.fromarray(image), argument), "float32")
        np.testing.assert_allclose(ours, expected, atol=tolerance, rtol=0,
                                   err_msg=f"{name}({argument})")


def test_operations_differ_from_identity_at_these_magnitudes():
    # Guards the reference test against arguments for which PIL's op does nothing.
    photos = _photos()
    for name, (arguments, reference, _) in REFERENCES.items():
        if name != "identity":
            changed = [np.any(np.asarray(reference(Image.fromarray(image), argument)) != image)
                       for image, argument in zip(photos, arguments)]
            assert all(changed), name


def test_each_image_gets_its_own_operations():
    layer = RandAugment(num_ops=2, magnitude=9, seed=0)
    parameters = layer.random_parameters(keras.ops.zeros((64, 48, 64, 3)))
    operations = keras.ops.convert_to_numpy(parameters["operations"])
    assert len(np.unique(operations)) == len(OPERATIONS)  # all 14 drawn over 128 slots
    assert len({tuple(row) for row in operations}) > 40  # pairs differ between images
    signs = np.sign(keras.ops.convert_to_numpy(parameters["magnitudes"]))
    assert set(signs[operations == OPERATIONS.index("rotate")]) == {-1, 1}


def test_batched_result_equals_each_image_alone():
    # Three identical images, three operation pairs: each output is its own pair's, as if
    # the image were augmented alone (no image sees another's parameters).
    images = np.repeat(_photos()[:1] / 255, 3, axis=0).astype("float32")
    operations = [[OPERATIONS.index("rotate"), OPERATIONS.index("equalize")],
                  [OPERATIONS.index("solarize"), OPERATIONS.index("shear_y")],
                  [OPERATIONS.index("sharpness"), OPERATIONS.index("auto_contrast")]]
    magnitudes = [[-20.0, 0.0], [0.4, 0.2], [1.8, 0.0]]
    out = keras.ops.convert_to_numpy(auto_augment(images, operations, magnitudes))
    assert len({o.tobytes() for o in out}) == 3
    for index in range(3):
        alone = auto_augment(images[:1], operations[index:index + 1],
                             magnitudes[index:index + 1])
        np.testing.assert_allclose(keras.ops.convert_to_numpy(alone)[0], out[index], atol=1e-6)


def test_operations_apply_in_order():
    # Solarize then brightness differs from brightness then solarize; each is PIL's chain.
    photo = _photos()[:1]
    solarize, brightness = OPERATIONS.index("solarize"), OPERATIONS.index("brightness")
    for operations, magnitudes, chain in (
            ([solarize, brightness], [0.5, 1.5],
             lambda i: ImageEnhance.Brightness(ImageOps.solarize(i, 127.5)).enhance(1.5)),
            ([brightness, solarize], [1.5, 0.5],
             lambda i: ImageOps.solarize(ImageEnhance.Brightness(i).enhance(1.5), 127.5))):
        out = auto_augment(photo, [operations], [magnitudes], value_range=(0, 255))
        np.testing.assert_allclose(keras.ops.convert_to_numpy(out)[0],
                                   np.asarray(chain(Image.fromarray(photo[0])), "float32"),
                                   atol=1, rtol=0)


def test_rand_augment_arguments_follow_torchvision_bins():
    names = ["shear_x", "translate_x", "translate_y", "rotate", "color", "posterize",
             "solarize", "equalize"]
    arguments = operation_arguments([OPERATIONS.index(n) for n in names], [9] * len(names),
                                    [-1] * len(names), height=100, width=331)
    # torchvision: linspace(0, top, 31)[9], negated for the signed ops; int() on pixels.
    expected = [-0.09, -45.0, -int(150 / 331 * 100 * 0.3), -9.0, 1 - 0.27, 7.0, 0.7, 0.0]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(arguments), expected, atol=1e-5)


def test_trivial_augment_draws_one_operation_and_a_bin_per_image():
    layer = TrivialAugment(seed=0)
    parameters = layer.random_parameters(keras.ops.zeros((2000, 8, 8, 3)))
    operations = keras.ops.convert_to_numpy(parameters["operations"])[:, 0]
    magnitudes = keras.ops.convert_to_numpy(parameters["magnitudes"])[:, 0]
    rotations = magnitudes[operations == OPERATIONS.index("rotate")]
    # Wide space: 4.5-degree bins up to 135, both signs.
    assert set(np.round(np.abs(rotations) / 4.5, 4)) <= set(range(31))
    assert rotations.min() < -100 and rotations.max() > 100
    bits = magnitudes[operations == OPERATIONS.index("posterize")]
    assert set(bits) == {2, 3, 4, 5, 6, 7, 8}
    counts = np.bincount(operations, minlength=len(OPERATIONS))
    assert np.all(np.abs(counts / 2000 - 1 / 14) < 0.025)  # uniform: 143 +- 50


@pytest.mark.parametrize("make_layer", [lambda seed: RandAugment(seed=seed),
                                        lambda seed: TrivialAugment(seed=seed)])
def test_same_seed_same_output(make_layer):
    images = (_photos() / 255).astype("float32")
    first, second, other = make_layer(3), make_layer(3), make_layer(4)
    out = keras.ops.convert_to_numpy(first(images))
    np.testing.assert_array_equal(out, keras.ops.convert_to_numpy(second(images)))
    assert not np.array_equal(out, keras.ops.convert_to_numpy(other(images)))


@pytest.mark.parametrize("layer", [RandAugment(seed=0), TrivialAugment(seed=0)])
def test_identity_at_inference(layer):
    images = (_photos() / 255).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)),
                                  images)


@pytest.mark.parametrize("value_range", [(0, 1), (0, 255)])
@pytest.mark.parametrize("layer_class", [RandAugment, TrivialAugment])
def test_outputs_stay_in_value_range(layer_class, value_range):
    low, high = value_range
    images = (_photos() / 255 * (high - low) + low).astype("float32")
    layer = (layer_class(value_range=value_range, seed=0) if layer_class is TrivialAugment
             else layer_class(magnitude=30, value_range=value_range, seed=0))
    for _ in range(3):
        out = keras.ops.convert_to_numpy(layer(images))
        assert out.min() >= low and out.max() <= high
        assert out.max() > low + 0.9 * (high - low)  # still spans the range, not rescaled


def test_single_image_is_augmented():
    image = _photos()[0] / 255
    out = keras.ops.convert_to_numpy(RandAugment(magnitude=20, seed=1)(image.astype("float32")))
    assert out.shape == image.shape


@pytest.mark.parametrize("make, message", [
    (lambda: RandAugment(num_ops=-1), "`num_ops` must be an integer >= 0. Received: num_ops=-1"),
    (lambda: RandAugment(num_ops=1.5), "`num_ops` must be an integer >= 0"),
    (lambda: RandAugment(magnitude=31), "`magnitude` must be a number in [0, 30]. "
                                        "Received: magnitude=31"),
    (lambda: RandAugment(value_range=(1, 0)), "`value_range` must be a pair (low, high) of "
                                              "finite numbers with low < high. Received: "
                                              "value_range=(1, 0)"),
    (lambda: TrivialAugment(value_range=(0,)), "`value_range` must be a pair"),
    (lambda: TrivialAugment(value_range="0-1"), "`value_range` must be a pair"),
])
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        make()


@pytest.mark.parametrize("layer", [RandAugment(num_ops=3, magnitude=12.5, value_range=(0, 255),
                                               seed=2),
                                   TrivialAugment(value_range=(-1, 1), seed=5)])
def test_save_load_roundtrip(layer, tmp_path):
    assert_save_load_roundtrip(layer, _photos().astype("float32"), tmp_path)


@pytest.mark.parametrize("make_layer", [lambda: RandAugment(seed=0),
                                        lambda: TrivialAugment(seed=0)])
def test_runs_mixed_precision(make_layer):
    assert_runs_mixed_precision(make_layer, (_photos() / 255).astype("float32"))


def test_runs_inside_tf_data():
    if keras.config.backend() != "tensorflow":
        pytest.skip("tf.data graphs run keras.ops on the TensorFlow backend only")
    import tensorflow as tf

    images = np.repeat(_photos() / 255, 4, axis=0).astype("float32")
    for layer in (RandAugment(seed=0), TrivialAugment(seed=0)):
        dataset = tf.data.Dataset.from_tensor_slices(images).batch(3).map(layer)
        out = np.concatenate([batch.numpy() for batch in dataset])
        assert out.shape == images.shape and out.min() >= 0 and out.max() <= 1
        assert not np.allclose(out, images)


@pytest.mark.parametrize("module", ["image_ops", "auto_augment"])
def test_docstring_examples_run(module):
    # On every backend: TensorFlow and PyTorch split the batch by operation, JAX does not.
    results = doctest.testmod(importlib.import_module(f"kerasreg.layers.{module}"))
    assert results.attempted > 0 and results.failed == 0
