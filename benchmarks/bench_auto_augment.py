"""Benchmark: kerasreg's RandAugment and TrivialAugment against keras.layers.RandAugment.

One float32 batch (default 64 x 224 x 224 x 3, pixels in [0, 1]) repeated
`--batches` times in a `tf.data` pipeline (TensorFlow backend, graph mode,
one map call at a time), median over `--repeats` passes after one warm-up,
the layers timed in turn within each pass (`_timing.interleaved_median_seconds`:
this machine's speed drifts by up to 2x over minutes). Printed in images/s:

- an identity map: the memory bound of the pipeline;
- `keras.layers.RandAugment(num_ops=2, factor=0.3)`: Keras' factor in
  [0, 1] is the magnitude over its maximum, so 0.3 is magnitude 9 of 30;
- `kerasreg.layers.RandAugment(num_ops=2, magnitude=9)`: target at least
  20x Keras' throughput;
- `kerasreg.layers.TrivialAugment()` (one operation per image).

Under `KERAS_BACKEND=jax` or `torch` the layers run eagerly on one batch per
call (as `bench_augmentation.py`), each call waiting for its result. The
script exits with status 1 when the target is missed.

    python benchmarks/bench_auto_augment.py [--shape 64 224 224 3] [--batches 9] [--repeats 5]
"""

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _timing import interleaved_median_seconds, verdict  # noqa: E402
from bench_augmentation import run  # noqa: E402

from kerasreg.layers import RandAugment, TrivialAugment  # noqa: E402

BACKEND = keras.backend.backend()
GRAPH = BACKEND == "tensorflow"
TARGET = 20.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=4, default=[64, 224, 224, 3])
    parser.add_argument("--batches", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    x_numpy = np.random.default_rng(0).random(args.shape, dtype="float32")
    batch = args.shape[0]
    images = batch * (args.batches if GRAPH else 1)
    print(f"Auto-augmentation benchmark: batch {tuple(args.shape)} float32, "
          f"{'tf.data, ' + str(args.batches) + ' batches per pass' if GRAPH else 'eager, one batch per call'}, "
          f"{BACKEND} backend, median of {args.repeats} after 1 warm-up, load "
          f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}")

    layers = {
        "identity map": None,
        "keras.layers.RandAugment(num_ops=2, factor=0.3)": keras.layers.RandAugment(
            value_range=(0, 1), num_ops=2, factor=0.3, seed=0),
        "kerasreg RandAugment(num_ops=2, magnitude=9)": RandAugment(num_ops=2, magnitude=9,
                                                                    seed=0),
        "kerasreg TrivialAugment()": TrivialAugment(seed=0),
    }
    if GRAPH:
        data = tf.data.Dataset.from_tensors(tf.constant(x_numpy)).repeat(args.batches)

        def timed(layer):
            dataset = data.map((lambda v: v) if layer is None
                               else (lambda v: layer(v, training=True)))
            return lambda: [None for _ in dataset]
    else:
        x = keras.ops.convert_to_tensor(x_numpy)

        def timed(layer):
            return run(lambda: x if layer is None else layer(x, training=True))

    medians = interleaved_median_seconds({label: timed(layer) for label, layer in layers.items()},
                                         repeats=args.repeats)
    rates = {label: images / median for label, median in medians.items()}
    for label, rate in rates.items():
        print(f"{label}: {rate:,.1f} images/s")
    keras_rate = rates["keras.layers.RandAugment(num_ops=2, factor=0.3)"]
    ratio = rates["kerasreg RandAugment(num_ops=2, magnitude=9)"] / keras_rate
    print(f"kerasreg RandAugment vs keras.layers.RandAugment: {ratio:.1f}x "
          f"(target >= {TARGET:g}x): {verdict(ratio >= TARGET)}")
    print(f"kerasreg TrivialAugment vs keras.layers.RandAugment: "
          f"{rates['kerasreg TrivialAugment()'] / keras_rate:.1f}x")
    identity = rates["identity map"]
    print(f"fraction of the identity map: RandAugment {rates['kerasreg RandAugment(num_ops=2, magnitude=9)'] / identity:.3f}, "
          f"TrivialAugment {rates['kerasreg TrivialAugment()'] / identity:.3f}")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
