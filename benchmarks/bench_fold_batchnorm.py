"""Benchmark: inference of a small conv net before and after `fold_batchnorm`.

The net is a stack of Conv2D(3x3, no bias) + BatchNormalization + ReLU
blocks with random BatchNorm statistics; the batch is float32 of 64 images.
Both models run through `predict_on_batch` (Keras' compiled predict step):
a few warm-up calls, then the median of repeats in which the two models
alternate, so that load from other processes hits both alike. The target is
a speed-up of at least 1.1x; the script exits with status 1 when it misses.

    python benchmarks/bench_fold_batchnorm.py [--batch 64] [--size 32] [--filters 32 32 64 64]
"""

import argparse
import os
import statistics
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _timing import seconds, verdict  # noqa: E402

from kerasreg.inference import fold_batchnorm  # noqa: E402

TARGET = 1.1


def conv_net(size, filters, rng):
    """Conv2D + BatchNormalization + ReLU blocks, then a linear classifier."""
    inputs = keras.Input((size, size, 3))
    x = inputs
    for block, count in enumerate(filters):
        x = keras.layers.Conv2D(count, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        if block % 2 == 1:
            x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(10)(x))
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            channels = layer.moving_mean.shape[0]
            layer.set_weights([rng.uniform(0.5, 2.0, channels), rng.normal(size=channels),
                               rng.normal(size=channels), rng.uniform(0.5, 2.0, channels)])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--filters", type=int, nargs="+", default=[32, 32, 64, 64])
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    model = conv_net(args.size, args.filters, rng)
    folded = fold_batchnorm(model)
    x = rng.normal(size=(args.batch, args.size, args.size, 3)).astype("float32")
    expected = model.predict_on_batch(x)
    np.testing.assert_allclose(folded.predict_on_batch(x), expected, rtol=1e-4,
                               atol=1e-4 * np.abs(expected).max())

    models = {"unfolded": model, "folded": folded}
    times = {name: [] for name in models}
    for _ in range(args.warmup):
        for candidate in models.values():
            candidate.predict_on_batch(x)
    for repeat in range(args.repeats):
        order = list(models) if repeat % 2 == 0 else list(reversed(models))
        for name in order:
            times[name].append(seconds(lambda: models[name].predict_on_batch(x)))
    unfolded_ms, folded_ms = (1e3 * statistics.median(times[name]) for name in models)
    speedup = unfolded_ms / folded_ms
    print(f"fold_batchnorm benchmark: {len(args.filters)} Conv2D+BN+ReLU blocks "
          f"{args.filters}, input ({args.batch}, {args.size}, {args.size}, 3) float32, CPU, "
          f"predict_on_batch, median of {args.repeats} after {args.warmup} warm-up")
    print(f"fold_batchnorm: unfolded {unfolded_ms:.1f} ms, folded {folded_ms:.1f} ms, "
          f"speed-up {speedup:.2f}x (target >= {TARGET}x): {verdict(speedup >= TARGET)}")
    return 0 if speedup >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
