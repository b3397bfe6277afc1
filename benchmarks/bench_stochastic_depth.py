"""Benchmark: seconds per training epoch of a CIFAR ResNet with and without stochastic depth.

One run trains the same `kerasreg.models.resnet` three ways on the same
random images: plain, stochastic depth in "batch" mode (one draw per step,
dropped branches skipped forward and backward) and in "sample" mode
(drop-path, every branch computed), both with the linear rule down to
p_L = 0.5 over every block (a downsampling block keeps its projection
shortcut when dropped). One warm-up epoch each (tracing), then rounds of
one epoch per model in alternating order, so that load from other processes
hits all three alike; the median per model, timed from an epoch's first
step to its last. Targets: batch mode takes at least 20% less time per
epoch than plain, sample mode at most 10% more. Exits with status 1 when a
target is missed.

The default network is ResNet-110, the one of Huang et al.'s 25% figure.
That figure assumes every block costs the same, as on their GPU, where the
convolutions set the time. On a CPU the elementwise passes weigh more
(Keras 3's BatchNormalization is not TensorFlow's fused kernel: 2x its
time at 32x32x16), and they scale with the activations, 4x larger in
stage 1: on 2 cores a stage-1 block takes about 1.9x a stage-3 block for
the same FLOPs, and the linear rule drops late blocks most, so the saving
is less than the 26% of the blocks skipped. Twice the width (`--width 32`)
brings the stages closer (1.56x) but measures about the same. The stem, the
classifier and the optimizer update, which always run, weigh more in a
shallower net (`--depth 56`: about 18% less).

Process CPU seconds are printed beside wall seconds: on a shared machine
they show the work done when the wall clock mostly shows the neighbours.

    python benchmarks/bench_stochastic_depth.py [--depth 110] [--width 16] [--images 512]
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
from _timing import verdict  # noqa: E402

from kerasreg.layers import StochasticDepth  # noqa: E402
from kerasreg.models import resnet  # noqa: E402

BATCH_SAVING = 0.20  # batch mode: at least 20% less time per epoch than plain
SAMPLE_COST = 0.10  # sample mode: at most 10% more


def build(depth, width, image_size, mode):
    model = resnet(depth=depth, width=width, input_shape=(image_size, image_size, 3),
                   final_survival=None if mode == "plain" else 0.5,
                   stochastic_depth_mode="batch" if mode == "plain" else mode)
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    return model


class EpochTimer(keras.callbacks.Callback):
    """Wall and process CPU seconds of each epoch, from its first step to its last
    (without `fit`'s own set-up, which is the same for every model)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = (time.perf_counter() - self.start[0], time.process_time() - self.start[1])


def epoch_seconds(model, x, y, batch_size):
    timer = EpochTimer()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0,
              callbacks=[timer])
    return timer.seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=110)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((args.images, args.image_size, args.image_size, 3), "float32")
    y = rng.integers(0, 10, args.images)
    models = {mode: build(args.depth, args.width, args.image_size, mode)
              for mode in ("plain", "batch", "sample")}
    survival = [layer.survival_probability for layer in models["batch"].layers
                if isinstance(layer, StochasticDepth)]
    blocks = 3 * ((args.depth - 2) // 6)
    # Expected share of the blocks that run in batch mode.
    share_run = (blocks - len(survival) + sum(survival)) / blocks

    print(f"Stochastic depth benchmark: resnet{args.depth} width {args.width}, "
          f"{args.images} random {args.image_size}x{args.image_size} images, batch "
          f"{args.batch_size}, {keras.backend.backend()}, {_device()}; {len(survival)} of "
          f"{blocks} blocks droppable (linear rule to p_L=0.5: {share_run:.2f}x the blocks run); "
          f"median of {args.rounds} epochs after 1 warm-up")
    times = {mode: [] for mode in models}
    for round_index in range(args.rounds + 1):
        order = list(models) if round_index % 2 == 0 else list(reversed(models))
        for mode in order:
            seconds = epoch_seconds(models[mode], x, y, args.batch_size)
            if round_index:  # round 0 is the warm-up (tracing, compilation)
                times[mode].append(seconds)
    wall = {mode: statistics.median(t[0] for t in times[mode]) for mode in models}
    cpu = {mode: statistics.median(t[1] for t in times[mode]) for mode in models}
    print("seconds per epoch, wall (process CPU): " + ", ".join(
        f"{mode} {wall[mode]:.2f} ({cpu[mode]:.2f})" for mode in models))
    saving = 1 - wall["batch"] / wall["plain"]
    cost = wall["sample"] / wall["plain"] - 1
    batch_ok = saving >= BATCH_SAVING
    sample_ok = cost <= SAMPLE_COST
    print(f"batch mode vs plain: {1 - saving:.2f}x the time ({cpu['batch'] / cpu['plain']:.2f}x "
          f"CPU), {100 * saving:.0f}% less (target >= {100 * BATCH_SAVING:.0f}% less): "
          f"{verdict(batch_ok)}")
    print(f"sample mode vs plain: {1 + cost:.2f}x the time ({cpu['sample'] / cpu['plain']:.2f}x "
          f"CPU), {100 * cost:+.0f}% (target <= +{100 * SAMPLE_COST:.0f}%): "
          f"{verdict(sample_ok)}")
    return 0 if batch_ok and sample_ok else 1


def _device():
    if keras.backend.backend() == "torch":  # keras.distribution has no torch implementation
        import torch
        return "GPU" if torch.cuda.is_available() else "CPU"
    devices = keras.distribution.list_devices()
    return "GPU" if any("gpu" in device.lower() for device in devices) else "CPU"


if __name__ == "__main__":
    sys.exit(main())
