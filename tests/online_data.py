"""A local stand-in for what the labs' ONLINE (Colab) path downloads.

`make_keras_home(folder)` fills a Keras cache folder (what the environment
variable `KERAS_HOME` points at) with `datasets/cifar-10-python.tar.gz` in
CIFAR-10's on-disk format, built from real offline images (scikit-learn's
digits, upscaled to 32 x 32 RGB), and `models/` with MobileNetV2 weight
files in `keras.applications`' file names (random weights). With
`KERAS_HOME` set to that folder, `kerasreg.course.datasets.load_cifar10()` and
`keras.applications.MobileNetV2(weights="imagenet")` find their files in
the cache and download nothing: the code Colab users run is the code the
tests run.
"""

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

TRAIN_BATCHES = [f"data_batch_{index}" for index in range(1, 6)]
MOBILENET_V2_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5"


def cifar10_like_images(count, seed=0):
    """`count` real 32 x 32 RGB uint8 images (digits) with their labels 0-9."""
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(digits.images), count, replace=count > len(digits.images))
    images = digits.images[chosen, :, :, None].astype("float32") / 16.0
    images = keras.ops.convert_to_numpy(keras.ops.image.resize(images, (32, 32)))
    images = np.repeat(np.clip(images, 0, 1), 3, axis=-1)
    return (images * 255).round().astype(np.uint8), digits.target[chosen].astype(int)


def write_cifar10_archive(path, per_batch=200, seed=0):
    """Write `cifar-10-python.tar.gz` (five training batches + a test batch)."""
    images, labels = cifar10_like_images(6 * per_batch, seed)
    # CIFAR-10 rows: the red plane, then green, then blue, each 32 x 32 row-major.
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    with tarfile.open(path, "w:gz") as archive:
        for index, name in enumerate(TRAIN_BATCHES + ["test_batch"]):
            part = slice(index * per_batch, (index + 1) * per_batch)
            payload = pickle.dumps({b"data": rows[part], b"labels": labels[part].tolist(),
                                    b"batch_label": name.encode()})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def write_mobilenet_v2_weights(folder, image_sizes=(96, 128, 160, 192, 224), alpha=1.0):
    """Write MobileNetV2 (no top) weight files as `keras.applications` names them.

    The kernels do not depend on the image size, so one file serves every
    size's name (Keras picks the name from the input size it infers).
    """
    import shutil

    import keras

    model = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
                                           weights=None, alpha=alpha)
    first = Path(folder) / "mobilenet_v2.h5"
    model.save(first)  # legacy HDF5: the format keras.applications' load_weights reads
    paths = [Path(folder) / MOBILENET_V2_FILE.format(alpha=alpha, size=size)
             for size in image_sizes]
    for path in paths:
        shutil.copyfile(first, path)
    first.unlink()
    return paths


def make_keras_home(folder, per_batch=200):
    """Fill `folder` as a Keras cache holding CIFAR-10 and MobileNetV2 weights."""
    folder = Path(folder)
    (folder / "datasets").mkdir(parents=True, exist_ok=True)
    (folder / "models").mkdir(parents=True, exist_ok=True)
    write_cifar10_archive(folder / "datasets" / "cifar-10-python.tar.gz", per_batch)
    write_mobilenet_v2_weights(folder / "models")
    return folder
