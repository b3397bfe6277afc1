"""Train a small model made of kerasreg layers; save its final weights.

One script for every way of running it, so the tests compare like with
like: `python train_small.py MODE OUT.npz` where MODE is

- `single`: one device, the reference;
- `mirrored`: `tf.distribute.MirroredStrategy` on two logical CPUs;
- `jax_data_parallel`: `keras.distribution.DataParallel` over the host
  devices (start it with `XLA_FLAGS=--xla_force_host_platform_device_count=2`);
- `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy`, one process
  per worker, the cluster described by `TF_CONFIG` (the README shows how).

Every mode starts from the same weights (drawn with NumPy, not with the
backend's RNG) and sees the same batches, so the results must agree to
rounding. The model has no batch-wise statistics (GroupNorm, not
BatchNormalization) and no random layer in training, so splitting a
batch across devices changes nothing but the order of the sums.
"""

import os
import sys

import numpy as np

GLOBAL_BATCH = 16
EPOCHS = 3


def build_model(keras):
    """A small CNN of kerasreg layers, its weights set from a fixed NumPy draw."""
    from kerasreg.layers import GroupNorm, InstanceNorm, StochasticDepth
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = GroupNorm(groups=2)(x)
    x = StochasticDepth(keras.layers.Conv2D(8, 3, padding="same"), survival_probability=1.0)(x)
    x = InstanceNorm()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(10)(x))
    rng = np.random.default_rng(0)
    model.set_weights([0.3 * rng.standard_normal(w.shape).astype("float32")
                       for w in model.get_weights()])
    model.compile(keras.optimizers.SGD(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def digits():
    """64 real digits, 8x8, scaled to [0, 1]."""
    from sklearn.datasets import load_digits
    data = load_digits()
    x = (data.images[:64] / 16.0).astype("float32")[..., None]
    return x, data.target[:64].astype("int32")


def train(keras, scope=None):
    """Fit the model (inside `scope` when given) and return its weights."""
    x, y = digits()
    if scope is None:
        model = build_model(keras)
    else:
        with scope:
            model = build_model(keras)
    model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    return model.get_weights()


def mirrored_scope():
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    return strategy.scope()


def train_multi_worker(keras):
    """The same training as `train`, one worker's share, in a custom loop.

    Keras 3's `fit` cannot run under `MultiWorkerMirroredStrategy` yet (it
    reduces the first batch across workers eagerly and fails:
    keras-team/keras#20585), so this is TensorFlow's custom training loop:
    each worker computes the gradient of its half of every global batch, the
    Keras optimizer all-reduces them across workers before its update.
    """
    import tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    with strategy.scope():
        model = build_model(keras)
        model.optimizer.build(model.trainable_variables)
    loss_per_example = keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                 reduction=None)

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(loss_per_example(y, model(x, training=True))) / GLOBAL_BATCH
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    @tf.function
    def train_step(batch):
        strategy.run(replica_step, args=batch)

    batches = tf.data.Dataset.from_tensor_slices(digits()).batch(GLOBAL_BATCH)
    for _ in range(EPOCHS):
        for batch in strategy.experimental_distribute_dataset(batches):
            train_step(batch)
    return model.get_weights()


def set_jax_data_parallel(keras):
    import jax
    assert len(jax.devices()) == 2, "set XLA_FLAGS=--xla_force_host_platform_device_count=2"
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))


def main(mode, out):
    if mode in ("mirrored", "multi_worker"):
        os.environ["KERAS_BACKEND"] = "tensorflow"
    scope = mirrored_scope() if mode == "mirrored" else None
    import keras
    if mode == "jax_data_parallel":
        set_jax_data_parallel(keras)
    weights = train_multi_worker(keras) if mode == "multi_worker" else train(keras, scope)
    np.savez(out, *weights)
    print(f"{mode}: trained on {keras.config.backend()}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
