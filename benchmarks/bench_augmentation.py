"""Benchmark: kerasreg's augmentations against Keras' layers and plain NumPy.

One float32 batch (default 64 x 224 x 224 x 3, the issue's size); a
warm-up call, then the median of repeats (`_timing.median_seconds`), each
call waiting for its result. Under the TensorFlow backend (the default)
every augmentation is compiled with `tf.function` (or run by `tf.data`,
graph mode); under `KERAS_BACKEND=jax` or `torch` both sides run eagerly on
the backend's own tensors, and the pipeline is timed on one batch per call
instead of in `tf.data`. Figures and targets:

- Cutout vs `keras.layers.RandomErasing` (one erased region per image,
  fill 0): Cutout at least 5x faster.
- `mix_batch(method="mixup")` vs the same blend in NumPy
  (`lam x + (1 - lam) x[perm]`, the memory-bandwidth bound): within 1.5x.
- `mix_batch(method="cutmix")` vs `keras.layers.CutMix`: at least as fast.
- `mix_batch(method="switch")` (timm's switch, one method, lambda and box
  per example) vs what Keras' layers give for it: `keras.layers.MixUp` and
  `keras.layers.CutMix` both on the batch, then a per-example choice: at
  least as fast.
- The lab's augmentation pipeline (`kerasreg.augment.pipeline` of flip,
  random scale crop, Cutout, dequantization) vs the same steps from Keras
  layers alone (RandomFlip, RandomZoom + RandomCrop, RandomErasing,
  GaussianNoise of the same variance), each mapped over a `tf.data`
  dataset of `--batches` batches: kerasreg at least as fast.

The script exits with status 1 when a figure misses its target.

    python benchmarks/bench_augmentation.py [--shape 64 224 224 3] [--repeats 5]
"""

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _timing import median_seconds, verdict  # noqa: E402

from kerasreg.augment import mix_batch, pipeline  # noqa: E402
from kerasreg.layers.augmentation import Cutout  # noqa: E402

NUM_CLASSES = 10
BACKEND = keras.backend.backend()
GRAPH = BACKEND == "tensorflow"


def lab_pipeline(size, seed=0):
    """The lab's pipeline at `size` pixels: crops of 7/8 of the side."""
    crop = size * 7 // 8
    return pipeline(["flip", ("scale_crop", {"scale_range": (size, size * 9 // 8),
                                             "crop_size": crop}),
                     ("cutout", {"size": 0.25}), "dequantize"], seed=seed)


def keras_pipeline(size, seed=0):
    """The same steps from Keras' layers alone."""
    crop = size * 7 // 8
    return keras.layers.Pipeline([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomZoom((-1 / 9, 0.0), seed=seed + 1),  # zoom in up to 9/8
        keras.layers.RandomCrop(crop, crop, seed=seed + 2),
        keras.layers.RandomErasing(factor=1.0, scale=(0.0625, 0.0625), fill_value=0.0,
                                   value_range=(0, 1), seed=seed + 3),
        keras.layers.GaussianNoise(1 / 256 / np.sqrt(12), seed=seed + 4),  # same variance
    ])


def compare(label, ours, reference, target, faster_by, repeats, images):
    """Print one line. `faster_by`: reference time >= target x ours; else ours <= target x."""
    ours_s = median_seconds(ours, repeats=repeats)
    reference_s = median_seconds(reference, repeats=repeats)
    if faster_by:
        ratio, ok = reference_s / ours_s, reference_s / ours_s >= target
        goal = f"speed-up {ratio:.2f}x (target >= {target}x)"
    else:
        ratio, ok = ours_s / reference_s, ours_s / reference_s <= target
        goal = f"time ratio {ratio:.2f}x (target <= {target}x)"
    print(f"{label}: reference {1e3 * reference_s:.1f} ms ({images / reference_s:.0f} img/s), "
          f"kerasreg {1e3 * ours_s:.1f} ms ({images / ours_s:.0f} img/s), {goal}: "
          f"{verdict(ok)}")
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=4, default=[64, 224, 224, 3])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, default=8)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    batch, size = args.shape[0], args.shape[1]
    x_numpy = rng.random(args.shape, dtype="float32")
    labels = np.eye(NUM_CLASSES, dtype="float32")[rng.integers(0, NUM_CLASSES, batch)]
    x, y = keras.ops.convert_to_tensor(x_numpy), keras.ops.convert_to_tensor(labels)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"Augmentation benchmark: batch {tuple(args.shape)} float32, {device}, "
          f"{BACKEND} backend{'' if GRAPH else ', eager'}, median of {args.repeats} "
          f"after 1 warm-up")

    cutout, erasing = Cutout(0.25, seed=0), keras.layers.RandomErasing(
        factor=1.0, scale=(0.0625, 0.0625), fill_value=0.0, value_range=(0, 1), seed=0)
    results = [compare("Cutout vs keras.layers.RandomErasing",
                       run(compiled(lambda: cutout(x, training=True))),
                       run(compiled(lambda: erasing(x, training=True))),
                       5.0, True, args.repeats, batch)]

    generator = keras.random.SeedGenerator(0)
    mixup = compiled(lambda: mix_batch(x, y, "mixup", seed=generator))

    def numpy_mixup():
        lambdas = rng.beta(0.2, 0.2, batch).astype("float32")
        permutation = rng.permutation(batch)
        weights = lambdas[:, None, None, None]
        images = weights * x_numpy + (1 - weights) * x_numpy[permutation]
        return images, lambdas[:, None] * labels + (1 - lambdas[:, None]) * labels[permutation]

    results.append(compare("mix_batch mixup vs NumPy blend", run(mixup), numpy_mixup, 1.5,
                           False, args.repeats, batch))

    cutmix_layer = keras.layers.CutMix(seed=0)
    cutmix = compiled(lambda: mix_batch(x, y, "cutmix", seed=generator))
    keras_cutmix = compiled(lambda: cutmix_layer({"images": x, "labels": y}))
    results.append(compare("mix_batch cutmix vs keras.layers.CutMix", run(cutmix),
                           run(keras_cutmix), 1.0, False, args.repeats, batch))

    mixup_layer = keras.layers.MixUp(seed=0)
    switch = compiled(lambda: mix_batch(x, y, "switch", seed=generator))

    @compiled
    def keras_switch():
        blended, pasted = (layer({"images": x, "labels": y}) for layer in (mixup_layer,
                                                                           cutmix_layer))
        use_cutmix = keras.random.uniform((batch,), seed=generator) < 0.5
        where = keras.ops.where
        return (where(use_cutmix[:, None, None, None], pasted["images"], blended["images"]),
                where(use_cutmix[:, None], pasted["labels"], blended["labels"]))

    results.append(compare("mix_batch switch, per example vs keras.layers.MixUp + CutMix",
                           run(switch), run(keras_switch), 1.0, False, args.repeats, batch))

    if GRAPH:
        data = tf.data.Dataset.from_tensors(x).repeat(args.batches)

        def loop(augmentation):
            dataset = data.map(augmentation)
            return lambda: [None for _ in dataset]

        results.append(compare(f"lab pipeline vs Keras layers alone, tf.data ({args.batches} "
                               f"batches)", loop(lab_pipeline(size)), loop(keras_pipeline(size)),
                               1.0, False, args.repeats, batch * args.batches))
    else:
        ours, reference = lab_pipeline(size), keras_pipeline(size)
        results.append(compare("lab pipeline vs Keras layers alone, one batch",
                               run(lambda: ours(x, training=True)),
                               run(lambda: reference(x, training=True)),
                               1.0, False, args.repeats, batch))
    return 0 if all(results) else 1


def compiled(function):
    """`tf.function` under TensorFlow; the function itself (eager) otherwise."""
    return tf.function(function) if GRAPH else function


def run(function):
    """`function` made to wait for its result (asynchronous GPU kernels, JAX dispatch)."""
    def call():
        result = function()
        if BACKEND == "jax":
            import jax
            jax.block_until_ready(result)
        elif GRAPH:
            tf.test.experimental.sync_devices()
        elif BACKEND == "torch":
            import torch
            if torch.cuda.is_available():
                torch.cuda.synchronize()
    return call


if __name__ == "__main__":
    sys.exit(main())
