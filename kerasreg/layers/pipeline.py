"""The augmentation pipeline: the steps of `kerasreg.augment.pipeline` as one Keras layer.

A `keras.layers.Pipeline` that checks the pixel range of concrete inputs.
Keras' own preprocessing layers run in `tf.data` under JAX or PyTorch
through a base class that is not public (`DataLayer`, Keras issue
#21785); the pipeline gives every other step the same reach by running it
eagerly through `tf.numpy_function` in that one case. In
`kerasreg.layers`, so that `import kerasreg` registers it for `.keras`
loading.
"""

import json
import sys

import keras
import numpy as np
from keras import ops

from kerasreg._validation import check_value_range, concrete_values, fail


# Keras' preprocessing layers run inside tf.data under every backend (they switch
# themselves to TensorFlow there); every other step is bridged (`_run_eagerly`).
_TF_DATA_NATIVE = (keras.layers.RandomFlip, keras.layers.RandomRotation,
                   keras.layers.RandomTranslation, keras.layers.RandomShear,
                   keras.layers.RandomZoom, keras.layers.RandomColorJitter,
                   keras.layers.RandomContrast, keras.layers.RandomBrightness,
                   keras.layers.RandAugment, keras.layers.RandomErasing)


@keras.saving.register_keras_serializable(package="kerasreg")
class AugmentationPipeline(keras.layers.Pipeline):
    """A `keras.layers.Pipeline` that checks the pixel range and runs in `tf.data` on any backend.

    Identical to `keras.layers.Pipeline` under the TensorFlow backend and
    inside models, with two additions. With a `value_range`, a call on
    concrete values (eager: NumPy arrays, eager tensors, PyTorch) raises a
    `ValueError` when the images leave that range, e.g. 0-255 pixels fed to
    a pipeline built for (0, 1), which Keras' colour steps would silently
    clip to white; symbolic calls (a `tf.data` map, a compiled `fit`) are
    not checked. And in a `tf.data` graph under JAX or PyTorch, a step that
    is not one of Keras' preprocessing layers is run eagerly on the backend
    through `tf.numpy_function`. Built by `kerasreg.augment.pipeline`,
    which lives here so that `import kerasreg` registers it for `.keras`
    loading.

    Args:
        layers: the steps, Keras layers applied in order.
        value_range: `(low, high)` pixel range the steps expect, or `None`
            for no check. Defaults to `None`.
        name: layer name. Defaults to `None`.

    Call arguments:
        inputs: one image or a batch.
        training: augment (`True`, the default) or not.

    Example:
    >>> import numpy as np
    >>> augment = AugmentationPipeline([keras.layers.RandomFlip()], value_range=(0, 1))
    >>> tuple(augment(np.zeros((2, 4, 4, 3), "float32")).shape)
    (2, 4, 4, 3)
    """

    def __init__(self, layers, value_range=None, name=None):
        if value_range is not None:
            value_range = check_value_range(value_range)
        super().__init__(layers, name=name)
        self.value_range = value_range

    def get_config(self):
        config = {**super().get_config(), "value_range": self.value_range}
        # JSON-normal (lists, not tuples): the config of a loaded pipeline is the same.
        return json.loads(json.dumps(config))

    def __call__(self, inputs, *args, **kwargs):
        # Checked before Layer.__call__, which would wrap the message in its own.
        if self.value_range is not None:
            _check_pixel_range(inputs, self.value_range)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, training=True, mask=None):
        for layer in self.layers:
            if _needs_bridge(layer, inputs):
                inputs = _run_eagerly(layer, inputs, training)
            else:
                inputs = layer(inputs, training=training)
        return inputs


def _check_pixel_range(inputs, value_range):
    """Raise when concrete `inputs` leave `value_range` (by more than float rounding)."""
    values = concrete_values(inputs)
    if values is None or values.size == 0:
        return
    low, high = value_range
    slack = 1e-3 * (high - low)
    smallest, largest = float(np.min(values)), float(np.max(values))
    if smallest < low - slack or largest > high + slack:
        fail("value_range", f"the pixel range of the images, which span [{smallest:g}, "
             f"{largest:g}] (rescale the images or build the pipeline with that "
             "value_range)", tuple(value_range))


def _needs_bridge(layer, inputs):
    """A non-Keras step inside a tf.data graph while the backend is not TensorFlow."""
    tf = sys.modules.get("tensorflow")
    return (keras.backend.backend() != "tensorflow" and tf is not None
            and not isinstance(layer, _TF_DATA_NATIVE) and tf.is_tensor(inputs)
            and not tf.executing_eagerly())


def _run_eagerly(layer, inputs, training):
    import tensorflow as tf

    def run(images):
        return ops.convert_to_numpy(layer(images, training=training))

    outputs = tf.numpy_function(run, [inputs], layer.compute_dtype, stateful=True)
    outputs.set_shape(layer.compute_output_shape(tuple(inputs.shape)))
    return outputs
