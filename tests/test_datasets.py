import io
import pickle
import tarfile

import keras
import numpy as np
import pytest

from kerasreg.course import datasets


def test_load_digits_returns_images_in_unit_range_with_int_labels():
    (x_train, y_train), (x_val, y_val) = datasets.load_digits()
    assert x_train.shape == (1437, 8, 8, 1) and x_val.shape == (360, 8, 8, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int32
    assert 0.0 <= x_train.min() and x_train.max() == 1.0
    assert set(np.unique(y_val)) == set(range(10))


def test_load_digits_resizes_and_repeats_channels():
    (x_train, _), _ = datasets.load_digits(image_size=32, channels=3)
    assert x_train.shape[1:] == (32, 32, 3)
    np.testing.assert_array_equal(x_train[..., 0], x_train[..., 2])


def test_load_digits_split_is_deterministic_and_stratified():
    (_, y_a), (x_val_a, _) = datasets.load_digits(seed=3)
    (_, y_b), (x_val_b, _) = datasets.load_digits(seed=3)
    (_, _), (x_val_c, _) = datasets.load_digits(seed=4)
    np.testing.assert_array_equal(x_val_a, x_val_b)
    assert not np.array_equal(x_val_a, x_val_c)
    counts = np.bincount(y_a) / len(y_a)
    assert counts.max() - counts.min() < 0.01


@pytest.mark.parametrize("arguments, message", [
    ({"image_size": 0}, "`image_size` must be an integer >= 1. Received: image_size=0"),
    ({"validation_split": 1.0},
     "`validation_split` must be a number in (0, 1). Received: validation_split=1.0"),
    ({"channels": 2}, "`channels` must be one of 1, 3. Received: channels=2"),
])
def test_load_digits_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError) as error:
        datasets.load_digits(**arguments)
    assert str(error.value) == message


def test_load_textures_draws_train_and_val_from_disjoint_rows():
    (x_train, y_train), (x_val, y_val) = datasets.load_textures(
        patch_size=16, samples_per_class=50, seed=1)
    assert x_train.shape == (120, 16, 16, 1) and x_val.shape == (30, 16, 16, 1)
    assert np.bincount(y_train).tolist() == [40, 40, 40]
    train_set = {patch.tobytes() for patch in x_train}
    assert not any(patch.tobytes() in train_set for patch in x_val)


def test_load_textures_is_deterministic_under_a_seed():
    first = datasets.load_textures(patch_size=8, samples_per_class=10, seed=5)
    second = datasets.load_textures(patch_size=8, samples_per_class=10, seed=5)
    np.testing.assert_array_equal(first[0][0], second[0][0])


def test_load_textures_rejects_a_patch_larger_than_the_validation_rows():
    with pytest.raises(ValueError, match="`patch_size` must fit"):
        datasets.load_textures(patch_size=200, samples_per_class=4)


@pytest.mark.parametrize("name, shape", [("breast_cancer", (569, 30)), ("wine", (178, 13)),
                                         ("iris", (150, 4))])
def test_load_tabular_returns_float_features_and_int_labels(name, shape):
    x, y = datasets.load_tabular(name)
    assert x.shape == shape and x.dtype == np.float32 and y.dtype == np.int32


def test_load_tabular_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="`name` must be one of 'breast_cancer', 'wine', "
                                         "'iris'. Received: name='mnist'"):
        datasets.load_tabular("mnist")


def test_sample_photos_are_rgb_uint8_around_512_pixels():
    photos = datasets.sample_photos()
    assert len(photos) == len(datasets.PHOTOS)
    for photo in photos:
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
        assert 300 <= max(photo.shape[:2]) <= 640


def _write_tiny_cifar_archive(path, per_batch=2):
    """A cifar-10-python.tar.gz in the real format, with `per_batch` images a batch."""
    rng = np.random.default_rng(0)
    batches = {}
    with tarfile.open(path, "w:gz") as archive:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                     b"labels": rng.integers(0, 10, per_batch).tolist(),
                     b"batch_label": name.encode()}
            batches[name] = batch
            payload = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return batches


def test_read_cifar10_archive_parses_the_original_format(tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    batches = _write_tiny_cifar_archive(path)
    (x_train, y_train), (x_test, y_test) = datasets.read_cifar10_archive(path)
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    first = batches["data_batch_1"][b"data"][0]
    # Rows hold the red plane, then green, then blue, each 32x32 row-major.
    assert x_train[0, 0, 1, 0] == first[1] and x_train[0, 0, 0, 2] == first[2048]
    assert x_train[0, 1, 0, 1] == first[1024 + 32]
    assert y_train.tolist()[:2] == batches["data_batch_1"][b"labels"]
    assert y_test.tolist() == batches["test_batch"][b"labels"]


def test_load_cifar10_scales_and_limits_a_local_archive(tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    _write_tiny_cifar_archive(path)
    (x_train, y_train), (x_val, y_val) = datasets.load_cifar10(limit=3, path=path)
    assert x_train.shape == (3, 32, 32, 3) and x_val.shape == (2, 32, 32, 3)
    assert x_train.dtype == np.float32 and x_train.max() <= 1.0


def test_load_cifar10_offline_names_the_offline_loaders(monkeypatch):
    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure: no route to host")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(ConnectionError) as error:
        datasets.load_cifar10()
    assert "needs the internet" in str(error.value)
    assert "load_digits()" in str(error.value) and "load_textures()" in str(error.value)


def test_wrong_labels_changes_about_that_fraction_each_to_another_class():
    labels = np.arange(2000) % 10
    noisy, changed = datasets.wrong_labels(labels, 0.2, seed=1)
    assert noisy.dtype == np.int32 and abs(changed.mean() - 0.2) < 0.03
    assert np.all(noisy[changed] != labels[changed])
    np.testing.assert_array_equal(noisy[~changed], labels[~changed])
    # every other class is drawn, about equally often
    shifts = (noisy[changed] - labels[changed]) % 10
    assert np.bincount(shifts, minlength=10)[0] == 0
    assert np.bincount(shifts, minlength=10)[1:].min() > 0.5 * changed.sum() / 9


def test_wrong_labels_is_deterministic_and_covers_zero_and_one():
    labels = np.arange(50) % 5
    first, second = datasets.wrong_labels(labels, 0.3, seed=4), datasets.wrong_labels(labels, 0.3, seed=4)
    np.testing.assert_array_equal(first[0], second[0])
    assert not datasets.wrong_labels(labels, 0.0)[1].any()
    assert datasets.wrong_labels(labels, 1.0)[1].all()


@pytest.mark.parametrize("arguments, message", [
    ({"fraction": 1.5}, "fraction"), ({"fraction": -0.1}, "fraction"),
    ({"fraction": 0.1, "num_classes": 1}, "num_classes")])
def test_wrong_labels_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        datasets.wrong_labels(np.zeros(10, "int32"), **arguments)
