"""Benchmark: `mc_predict` with 20 masks against one `model.predict`.

The model is a small CNN with BatchNormalization and Dropout before the
classifier (the labs' shape of model); the data are float32 images. Both
calls use the same batch size. One warm-up call each, then the median of
repeats in which the two alternate, so that load from other processes hits
both alike. Each `mc_predict` call compiles its sampler afresh, and that
time is counted. The target is at most 25x one `predict` (20 masks done
one by one would cost 20x plus 20 passes of per-step overhead); the script
exits with status 1 when it misses.

    python benchmarks/bench_mc_predict.py [--examples 1024] [--size 16] [--samples 20]
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

from kerasreg.inference import mc_predict  # noqa: E402

TARGET = 25.0


def cnn(size, filters=(16, 32), rate=0.5):
    """Conv + BatchNormalization + ReLU + max-pool stages, Dropout, Dense."""
    inputs = keras.Input((size, size, 3))
    x = inputs
    for channels in filters:
        x = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(rate)(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1024)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    model = cnn(args.size)
    x = np.random.default_rng(0).random((args.examples, args.size, args.size, 3), "float32")
    calls = {
        "predict": lambda: model.predict(x, batch_size=args.batch_size, verbose=0),
        "mc_predict": lambda: mc_predict(model, x, samples=args.samples,
                                         batch_size=args.batch_size),
    }
    times = {name: [] for name in calls}
    for call in calls.values():
        call()
    for repeat in range(args.repeats):
        order = list(calls) if repeat % 2 == 0 else list(reversed(calls))
        for name in order:
            times[name].append(seconds(calls[name]))
    predict_ms, mc_ms = (1e3 * statistics.median(times[name]) for name in calls)
    ratio = mc_ms / predict_ms
    print(f"mc_predict benchmark: CNN with BatchNorm and Dropout, {args.examples} images "
          f"{args.size}x{args.size}x3 float32, batch size {args.batch_size}, CPU, "
          f"median of {args.repeats} after 1 warm-up")
    print(f"mc_predict: predict {predict_ms:.1f} ms, mc_predict ({args.samples} samples) "
          f"{mc_ms:.1f} ms, ratio {ratio:.1f}x (target <= {TARGET:g}x): "
          f"{verdict(ratio <= TARGET)}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
