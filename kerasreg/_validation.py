"""Argument checks shared by every public constructor and helper.

One template for every message, as in Keras:
"`rate` must be a float in [0, 1). Received: rate=1.5".
"""

import math
import numbers
import sys

import keras
import numpy as np


def fail(name, requirement, value):
    """Raise the toolkit's one `ValueError` template.

    Args:
        name: the argument's name.
        requirement: what a valid value is, e.g. "a float in [0, 1)".
        value: the value received.
    """
    raise ValueError(f"`{name}` must be {requirement}. Received: {name}={value!r}")


def fail_shape(name, requirement, shape):
    """Raise the toolkit's `ValueError` for an array of the wrong shape.

    Args:
        name: the argument's name.
        requirement: what a valid array is, e.g. "a batch of shape (B, H, W, C)".
        shape: the shape received.

    Example:
    >>> fail_shape("images", "a batch of shape (B, H, W, C)", (8, 8))
    Traceback (most recent call last):
    ...
    ValueError: `images` must be a batch of shape (B, H, W, C). Received: images of shape (8, 8)
    """
    raise ValueError(f"`{name}` must be {requirement}. Received: {name} of shape {tuple(shape)}")


def check_images(images, name="images"):
    """Check that `images` is a batch `(B, H, W, C)` (a rank-4 array or tensor).

    Returns:
        The images, unchanged.

    Example:
    >>> check_images(np.zeros((2, 8, 8, 3))).shape
    (2, 8, 8, 3)
    """
    shape = _shape(images)
    if len(shape) != 4:
        fail_shape(name, "a batch of shape (B, H, W, C)", shape)
    return images


def check_one_per_image(name, values, images):
    """Check that `values` holds one entry per image, where both counts are known.

    Symbolic batch sizes (`None`) pass: a `tf.data` map or a compiled step
    checks its own shapes.

    Returns:
        The values, unchanged.

    Example:
    >>> check_one_per_image("strengths", [0.1, 0.2], np.zeros((3, 8, 8, 1)))
    Traceback (most recent call last):
    ...
    ValueError: `strengths` must be an array of one entry per image (3 images). Received: strengths of shape (2,)
    """
    shape, batch = _shape(values), _shape(images)[0]
    count = shape[0] if len(shape) else None
    if count is not None and batch is not None and count != batch:
        fail_shape(name, f"an array of one entry per image ({batch} images)", shape)
    return values


def check_values(name, values, low, high):
    """Check that concrete `values` lie in `[low, high]` (symbolic ones pass).

    Returns:
        The values, unchanged.

    Example:
    >>> check_values("lambdas", [0.5, 1.5], 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: `lambdas` must be numbers in [0, 1]. Received: lambdas=[0.5, 1.5]
    """
    array = concrete_values(values)
    if array is not None and array.size and not (
            np.isfinite(array).all() and array.min() >= low and array.max() <= high):
        shown = array.tolist() if array.size <= 10 else f"an array in [{array.min()}, {array.max()}]"
        fail(name, f"numbers in [{low}, {high}]", shown)
    return values


def check_value_range(value_range):
    """Check a pixel range `(low, high)`: two finite numbers with `low < high`.

    Returns:
        The range as a tuple.

    Example:
    >>> check_value_range([0, 255])
    (0, 255)
    """
    valid = (isinstance(value_range, (tuple, list)) and len(value_range) == 2
             and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                     and np.isfinite(v) for v in value_range)
             and value_range[0] < value_range[1])
    if not valid:
        fail("value_range", "a pair (low, high) of finite numbers with low < high", value_range)
    return tuple(value_range)


def _shape(values):
    """The (static) shape of an array, tensor or nested list."""
    shape = getattr(values, "shape", None)
    return tuple(np.shape(values) if shape is None else shape)


def check_number(name, value, low=None, high=None, low_open=False, high_open=False,
                 integer=False, finite=True):
    """Check that `value` is a real number (an int when `integer`) in a range.

    `low`/`high` of None mean unbounded; `*_open` excludes the bound. NaN
    is always rejected, and so are `inf` and `-inf` unless `finite=False`.

    Returns:
        The value, unchanged.

    Example:
    >>> check_number("rate", 0.5, 0, 1, high_open=True)
    0.5
    >>> check_number("epsilon", float("inf"), 0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: `epsilon` must be a finite number > 0. Received: epsilon=inf
    """
    kind = "an integer" if integer else "a number"
    valid_type = isinstance(value, numbers.Integral if integer else numbers.Real)
    if isinstance(value, bool) or not valid_type:
        fail(name, f"{kind} {_interval(low, high, low_open, high_open)}".rstrip(), value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high or value != value:  # value != value catches NaN
        fail(name, f"{kind} {_interval(low, high, low_open, high_open)}".rstrip(), value)
    if finite and value in (math.inf, -math.inf):
        fail(name, f"a finite number {_interval(low, high, low_open, high_open)}".rstrip(),
             value)
    return value


def check_model(value, name="model"):
    """Check that `value` is a `keras.Model`.

    Returns:
        The model, unchanged.

    Example:
    >>> check_model("resnet")
    Traceback (most recent call last):
    ...
    ValueError: `model` must be a keras.Model. Received: model='resnet'
    """
    if not isinstance(value, keras.Model):
        fail(name, "a keras.Model", value)
    return value


def check_learning_rates(learning_rates):
    """Check that `learning_rates` is a non-empty sequence of finite numbers > 0.

    Returns:
        The rates, unchanged.

    Example:
    >>> check_learning_rates([])
    Traceback (most recent call last):
    ...
    ValueError: `learning_rates` must be a non-empty sequence of rates > 0. Received: learning_rates=[]
    """
    if isinstance(learning_rates, (str, bytes)) or not hasattr(learning_rates, "__len__") \
            or not len(learning_rates):
        fail("learning_rates", "a non-empty sequence of rates > 0", learning_rates)
    for rate in learning_rates:
        check_number("learning_rates", rate, 0, low_open=True)
    return learning_rates


def check_bool(name, value):
    """Check that `value` is `True` or `False` (not 0, 1 or a string).

    Returns:
        The value, unchanged.

    Example:
    >>> check_bool("zca", "yes")
    Traceback (most recent call last):
    ...
    ValueError: `zca` must be a bool (True or False). Received: zca='yes'
    """
    if not isinstance(value, bool):
        fail(name, "a bool (True or False)", value)
    return value


def check_choice(name, value, choices):
    """Check that `value` is one of `choices`.

    Example:
    >>> check_choice("mode", "batch", ("batch", "sample"))
    'batch'
    """
    # 1 is not taken for True, nor True for 1.
    if not any(value == choice and isinstance(value, bool) == isinstance(choice, bool)
               for choice in choices):
        fail(name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def _interval(low, high, low_open, high_open):
    if low is None and high is None:
        return ""
    if high is None:
        return f"{'>' if low_open else '>='} {low}"
    if low is None:
        return f"{'<' if high_open else '<='} {high}"
    return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def concrete_values(inputs):
    """NumPy values of `inputs` when they are known at this call (eager), else `None`.

    `None` for symbolic tensors: Keras tensors, TensorFlow graph tensors
    (a `tf.data` map, a compiled `fit`), JAX tracers, PyTorch meta tensors.
    Checks on values run only where this returns an array.

    Example:
    >>> concrete_values([1, 2]).tolist()
    [1, 2]
    """
    if isinstance(inputs, (np.ndarray, numbers.Number, list, tuple)):
        return np.asarray(inputs)
    if isinstance(inputs, keras.KerasTensor):
        return None
    tf = sys.modules.get("tensorflow")
    if tf is not None and tf.is_tensor(inputs):  # tf.data passes these under every backend
        return inputs.numpy() if tf.executing_eagerly() else None
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        return None if isinstance(inputs, jax.core.Tracer) else np.asarray(inputs)
    if backend == "torch":
        return None if inputs.device.type == "meta" else inputs.detach().cpu().numpy()
    return None
