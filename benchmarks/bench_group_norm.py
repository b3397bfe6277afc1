"""Benchmark: kerasreg's GroupNorm against keras.layers.GroupNormalization.

Both layers get the same settings (groups, epsilon 1e-5, same gamma/beta) and
the same float32 batch. Each pass (forward; forward + backward to the input,
gamma and beta) runs inside a `tf.function`: a few warm-up calls, then the
median of repeats in which the two layers alternate, so that load from other
processes hits both alike (hence not `_timing.median_seconds`, which times one
function at a time). The target is kerasreg <= 1.2x Keras' time; the
script exits with status 1 when a pass misses it.

    python benchmarks/bench_group_norm.py [--shape 64 32 32 64] [--groups 32]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _timing import verdict  # noqa: E402

from kerasreg.layers import GroupNorm  # noqa: E402

TARGET = 1.2


def make_passes(layer, x, upstream):
    """Compiled forward and forward + backward passes of a built `layer`."""

    @tf.function
    def forward():
        return layer(x)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * upstream)
        return tape.gradient(loss, [x] + layer.trainable_weights)

    return {"forward": forward, "forward+backward": forward_backward}


def seconds(function):
    start = time.perf_counter()
    function()
    tf.test.experimental.sync_devices()  # wait for asynchronous (GPU) kernels
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs="+", default=[64, 32, 32, 64])
    parser.add_argument("--groups", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(3.0, 2.0, args.shape).astype("float32"))
    upstream = tf.constant(rng.normal(size=args.shape).astype("float32"))
    channels = args.shape[-1]
    weights = [rng.uniform(0.5, 2.0, channels).astype("float32"),
               rng.normal(size=channels).astype("float32")]
    layers = {"keras": keras.layers.GroupNormalization(args.groups, epsilon=1e-5),
              "kerasreg": GroupNorm(args.groups)}
    for layer in layers.values():
        layer.build(x.shape)
        layer.set_weights(weights)
    passes = {name: make_passes(layer, x, upstream) for name, layer in layers.items()}
    np.testing.assert_allclose(passes["kerasreg"]["forward"]().numpy(),
                               passes["keras"]["forward"]().numpy(), rtol=1e-5, atol=1e-5)

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"GroupNorm benchmark: input {tuple(args.shape)} float32, groups={args.groups}, "
          f"{device}, tf.function, median of {args.repeats} after {args.warmup} warm-up")
    passed = True
    for pass_name in ("forward", "forward+backward"):
        times = {name: [] for name in layers}
        for _ in range(args.warmup):
            for name in layers:
                seconds(passes[name][pass_name])
        for repeat in range(args.repeats):
            order = list(layers) if repeat % 2 == 0 else list(reversed(layers))
            for name in order:
                times[name].append(seconds(passes[name][pass_name]))
        keras_ms, ours_ms = (1e3 * statistics.median(times[name]) for name in layers)
        ratio = ours_ms / keras_ms
        passed = passed and ratio <= TARGET
        print(f"GroupNorm {pass_name}: keras {keras_ms:.1f} ms, kerasreg {ours_ms:.1f} ms, "
              f"ratio {ratio:.2f}x (target <= {TARGET}x): {verdict(ratio <= TARGET)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
