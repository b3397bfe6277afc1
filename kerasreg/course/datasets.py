"""Real, offline data for the labs (and CIFAR-10 online, for Colab).

Every loader here reads data that ships inside an installed package
(scikit-learn, scikit-image, matplotlib), so labs and tests run with no
network. Images are float32 in [0, 1], channels last; labels are int32.
Splits are stratified and depend only on `seed`.
"""

import os
import pickle
import tarfile

import numpy as np

from kerasreg._crops import random_squares
from kerasreg._validation import check_choice, check_number

TEXTURES = ("brick", "grass", "gravel")
TABLES = ("breast_cancer", "wine", "iris")
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "china", "flower", "grace_hopper")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


def load_digits(image_size=8, channels=1, validation_split=0.2, seed=0):
    """Handwritten digits 0-9 (scikit-learn's 1,797 8x8 scans).

    Args:
        image_size: side of the returned images; other than 8 resizes
            (bilinear). Defaults to `8`.
        channels: 1 (grey) or 3 (grey repeated, for RGB models). Defaults to `1`.
        validation_split: fraction held out, stratified by class.
            Defaults to `0.2`.
        seed: seed of the split. Defaults to `0`.

    Returns:
        `(x_train, y_train), (x_val, y_val)`: images of shape
        `(n, image_size, image_size, channels)` in [0, 1], int32 labels.

    Example:
    >>> (x, y), (x_val, y_val) = load_digits(image_size=16)
    >>> x.shape, x_val.shape
    ((1437, 16, 16, 1), (360, 16, 16, 1))
    """
    check_number("image_size", image_size, 1, integer=True)
    check_choice("channels", channels, (1, 3))
    check_number("validation_split", validation_split, 0, 1, low_open=True, high_open=True)
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = digits.images.astype("float32") / 16.0
    if image_size != 8:
        images = _resize_stack(images, image_size)
    images = _with_channels(images, channels)
    return _split(images, digits.target.astype("int32"), validation_split, seed)


def load_textures(patch_size=32, samples_per_class=200, channels=1,
                  validation_split=0.2, seed=0):
    """Patches of real texture photographs (scikit-image's brick, grass, gravel).

    Training patches are cut from the top part of each photograph and
    validation patches from the bottom part, so no pixel is shared between
    the two splits.

    Args:
        patch_size: side of each square patch in pixels. Defaults to `32`.
        samples_per_class: patches per texture, both splits together.
            Defaults to `200`.
        channels: 1 or 3 (grey repeated). Defaults to `1`.
        validation_split: fraction of the patches and of the photograph's
            rows held out for validation. Defaults to `0.2`.
        seed: seed of the patch positions. Defaults to `0`.

    Returns:
        `(x_train, y_train), (x_val, y_val)`; label `i` is `TEXTURES[i]`.

    Example:
    >>> (x, y), (x_val, y_val) = load_textures(patch_size=16, samples_per_class=10)
    >>> x.shape, sorted(set(y.tolist()))
    ((24, 16, 16, 1), [0, 1, 2])
    """
    check_number("patch_size", patch_size, 1, integer=True)
    check_number("samples_per_class", samples_per_class, 2, integer=True)
    check_choice("channels", channels, (1, 3))
    check_number("validation_split", validation_split, 0, 1, low_open=True, high_open=True)
    from skimage import data

    rng = np.random.default_rng(seed)
    num_val = max(1, round(samples_per_class * validation_split))
    splits = ([], [], [], [])
    for label, name in enumerate(TEXTURES):
        photo = getattr(data, name)().astype("float32") / 255.0
        border = int(photo.shape[0] * (1 - validation_split))
        for index, (rows, count) in enumerate(
                [(photo[:border], samples_per_class - num_val), (photo[border:], num_val)]):
            splits[2 * index].append(_random_patches(rows, patch_size, count, rng))
            splits[2 * index + 1].append(np.full(count, label, "int32"))
    x_train, y_train, x_val, y_val = (np.concatenate(part) for part in splits)
    order_train, order_val = rng.permutation(len(y_train)), rng.permutation(len(y_val))
    return ((_with_channels(x_train, channels)[order_train], y_train[order_train]),
            (_with_channels(x_val, channels)[order_val], y_val[order_val]))


def load_tabular(name):
    """A real table from scikit-learn: "breast_cancer", "wine" or "iris".

    Args:
        name: which table.

    Returns:
        `(x, y)`: float32 features of shape `(n, d)`, int32 labels.

    Example:
    >>> x, y = load_tabular("wine")
    >>> x.shape, int(y.max()) + 1
    ((178, 13), 3)
    """
    check_choice("name", name, TABLES)
    import sklearn.datasets

    table = getattr(sklearn.datasets, f"load_{name}")()
    return table.data.astype("float32"), table.target.astype("int32")


def sample_photos(names=None):
    """Real RGB photographs (uint8, 300-640 px) that ship with installed packages.

    Args:
        names: which of `PHOTOS` to load, in that order. Defaults to all.

    Returns:
        A list of `(height, width, 3)` uint8 arrays.

    Example:
    >>> [photo.shape for photo in sample_photos(["astronaut", "chelsea"])]
    [(512, 512, 3), (300, 451, 3)]
    """
    names = PHOTOS if names is None else names
    for name in names:
        check_choice("names", name, PHOTOS)
    return [_read_photo(name) for name in names]


def wrong_labels(labels, fraction, num_classes=None, seed=0):
    """Labels with a random `fraction` of them replaced by a wrong class.

    Each changed label is drawn uniformly among the other classes, so it is
    always wrong: the mislabelled examples real datasets hold, which a
    network that memorizes its training set learns too.

    Args:
        labels: integer labels.
        fraction: share of the labels to change, in [0, 1].
        num_classes: number of classes. Defaults to `max(labels) + 1`.
        seed: seed of which labels change and what they become. Defaults to `0`.

    Returns:
        `(noisy_labels, changed)`: the new int32 labels and a boolean mask of
        the changed ones.

    Example:
    >>> noisy, changed = wrong_labels([0, 1, 2, 3] * 25, 0.2, seed=0)
    >>> int(changed.sum()), bool((noisy[changed] != np.array([0, 1, 2, 3] * 25)[changed]).all())
    (19, True)
    """
    labels = np.asarray(labels)
    check_number("fraction", fraction, 0, 1)
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    check_number("num_classes", num_classes, 2, integer=True)
    rng = np.random.default_rng(seed)
    changed = rng.random(len(labels)) < fraction
    shifts = rng.integers(1, num_classes, len(labels))
    noisy = np.where(changed, (labels + shifts) % num_classes, labels)
    return noisy.astype("int32"), changed


def load_cifar10(limit=None, path=None):
    """CIFAR-10 (needs the internet the first time: used on Colab).

    Args:
        limit: keep at most this many training and validation (test split)
            images. Defaults to all (50,000 and 10,000).
        path: an already downloaded `cifar-10-python.tar.gz`. Defaults to
            Keras' download cache.

    Returns:
        `(x_train, y_train), (x_val, y_val)`: float32 `(n, 32, 32, 3)` in
        [0, 1], int32 labels; label `i` is `CIFAR10_CLASSES[i]`.

    Raises:
        ConnectionError: when the archive is not cached and cannot be
            downloaded; the message names the offline loaders.
    """
    if limit is not None:
        check_number("limit", limit, 1, integer=True)
    if path is None:
        path = _download_cifar10()
    (x_train, y_train), (x_val, y_val) = read_cifar10_archive(path)
    return ((x_train[:limit].astype("float32") / 255.0, y_train[:limit]),
            (x_val[:limit].astype("float32") / 255.0, y_val[:limit]))


def read_cifar10_archive(path):
    """Parse the CIFAR-10 python archive (five pickled training batches + test batch).

    Args:
        path: a `cifar-10-python.tar.gz` in the format of the original site.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 `(n, 32, 32, 3)`, int32 labels.
    """
    with tarfile.open(path, "r:gz") as archive:
        batches = {os.path.basename(member.name): archive.extractfile(member)
                   for member in archive.getmembers() if member.isfile()}
        train = [_read_cifar_batch(batches[f"data_batch_{i}"]) for i in range(1, 6)]
        test = _read_cifar_batch(batches["test_batch"])
    x_train = np.concatenate([images for images, _ in train])
    y_train = np.concatenate([labels for _, labels in train])
    return (x_train, y_train), test


def _read_cifar_batch(file):
    batch = pickle.load(file, encoding="bytes")
    images = np.asarray(batch[b"data"], "uint8").reshape(-1, 3, 32, 32)
    return images.transpose(0, 2, 3, 1), np.asarray(batch[b"labels"], "int32")


def _download_cifar10():
    import keras

    try:
        return keras.utils.get_file("cifar-10-python.tar.gz", origin=CIFAR10_URL)
    except Exception as error:
        raise ConnectionError(
            "load_cifar10() needs the internet to download CIFAR-10 "
            f"({CIFAR10_URL}) and could not reach it ({error}). Offline, use "
            "load_digits(), load_textures() or sample_photos(), or pass "
            "`path=` to an archive you already have.") from error


def _read_photo(name):
    from skimage import data

    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    if name == "grace_hopper":
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
            return np.asarray(matplotlib.image.imread(file, format="jpg"))
    return getattr(data, name)()


def _random_patches(image, patch_size, count, rng):
    height, width = image.shape[:2]
    if patch_size > min(height, width):
        raise ValueError(
            f"`patch_size` must fit in the photograph's split region of "
            f"{height}x{width} pixels. Received: patch_size={patch_size}")
    return random_squares(image, patch_size, count, rng)


def _resize_stack(images, size):
    from skimage.transform import resize

    return resize(images, (len(images), size, size), order=1,
                  anti_aliasing=size < images.shape[1]).astype("float32")


def _with_channels(images, channels):
    return np.repeat(images[..., None], channels, axis=-1)


def _split(images, labels, validation_split, seed):
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(
        images, labels, test_size=validation_split, random_state=seed, stratify=labels)
    return (x_train, y_train), (x_val, y_val)
