"""Benchmark: kerasreg.tta.tta_predict over the lecture's 50 crops.

Time: `tta_predict` (5 scales x 10 crops) on a batch of images against 50
`predict_on_batch` calls on the batch's centre crops, which push the same
number of crops through the same model (a small CNN at 224 x 224). The
difference is what TTA adds: resizing, cropping and averaging. Target:
tta_predict <= 1.3x the 50 single-crop predicts.

Memory: each method runs in a fresh process after one warm-up
`predict_on_batch` of the batch; the figure is the rise of the process's
peak resident memory during the run. For calibration a third process makes
all crops at once (`multi_crop` of the whole batch, then `predict`: 64 x 50
crops of 224 x 224 x 3 float32 = 1.8 GiB). Target: tta_predict's rise at
most a quarter of that size, i.e. bounded by `batch_size`, not by the
number of images.

    python benchmarks/bench_tta.py [--images 64] [--size 224] [--repeats 3]
"""

import argparse
import json
import os
import resource
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import median_seconds, verdict  # noqa: E402

from kerasreg.tta import LECTURE_SCALES, multi_crop, tta_predict  # noqa: E402

TIME_TARGET = 1.3
MEMORY_TARGET = 0.25  # of all crops at once
CROPS = 10 * len(LECTURE_SCALES)


def small_cnn(size):
    """About 70 MFLOP per 224 x 224 crop: three stride-2 convolutions, pooling, softmax."""
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((size, size, 3)),
        keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
        keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
        keras.layers.Conv2D(64, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ])


def setup(images, size):
    model = small_cnn(size)
    batch = np.random.default_rng(0).random((images, size, size, 3), dtype="float32")
    centre = batch  # crop-sized images: the centre crop is the image itself
    model.predict_on_batch(centre)  # build and trace the predict function
    return model, batch, centre


def single_crop_predicts(model, centre):
    for _ in range(CROPS):
        model.predict_on_batch(centre)


def peak_rise(method, images, size, batch_size):
    """Run one method in a fresh process; its peak resident memory rise in bytes."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
            f"import bench_tta; bench_tta.child({method!r}, {images}, {size}, {batch_size})")
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                            text=True).stdout
    return json.loads(output.strip().splitlines()[-1])["rise"]


def child(method, images, size, batch_size):
    model, batch, centre = setup(images, size)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if method == "tta":
        tta_predict(model, batch, size, LECTURE_SCALES, batch_size=batch_size)
    elif method == "all crops at once":
        model.predict(multi_crop(batch, size, LECTURE_SCALES), batch_size=batch_size, verbose=0)
    else:
        single_crop_predicts(model, centre)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rise": (after - before) * 1024}))  # ru_maxrss is in KiB on Linux


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    model, batch, centre = setup(args.images, args.size)
    print(f"TTA benchmark: {args.images} images of {args.size} x {args.size} x 3, "
          f"{CROPS} crops each (scales {LECTURE_SCALES}), batch_size {args.batch_size}, "
          f"median of {args.repeats} after 1 warm-up")
    tta_s = median_seconds(lambda: tta_predict(model, batch, args.size, LECTURE_SCALES,
                                               batch_size=args.batch_size),
                           repeats=args.repeats)
    single_s = median_seconds(lambda: single_crop_predicts(model, centre), repeats=args.repeats)
    ratio = tta_s / single_s
    print(f"tta_predict vs {CROPS} single-crop predicts: single {single_s:.2f} s, tta "
          f"{tta_s:.2f} s, ratio {ratio:.2f}x (target <= {TIME_TARGET}x): "
          f"{verdict(ratio <= TIME_TARGET)}")

    all_crops = args.images * CROPS * args.size ** 2 * 3 * 4
    rises = {method: peak_rise(method, args.images, args.size, args.batch_size)
             for method in ("single", "tta", "all crops at once")}
    share = rises["tta"] / all_crops
    print(f"peak memory rise: {CROPS} single-crop predicts {rises['single'] / 2**20:.0f} MiB, "
          f"tta_predict {rises['tta'] / 2**20:.0f} MiB, multi_crop of the whole batch "
          f"{rises['all crops at once'] / 2**20:.0f} MiB; tta = {share:.2f} of the "
          f"{all_crops / 2**20:.0f} MiB of all crops (target <= {MEMORY_TARGET}): "
          f"{verdict(share <= MEMORY_TARGET)}")
    return 0 if ratio <= TIME_TARGET and share <= MEMORY_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
