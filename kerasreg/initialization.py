"""Weight initialization: measure what an initializer does to a network.

The lecture's three cases, each with the measurement that shows it:
constant initialization makes every neuron of a layer compute the same
output and receive the same gradient, so they stay identical
(`kernel_gradients`, `distinct_neurons`); small random weights shrink the
activations layer after layer in a deep network, and He initialization,
`w = randn(n) * sqrt(2 / n)` with `n` the layer's inputs, keeps their scale
(`layer_activations`, `activation_statistics`,
`plot_activation_histograms`). The initializers themselves are Keras':
`keras.initializers.Constant`, `RandomNormal(stddev=0.01)`, `HeNormal`.
"""

import keras
import numpy as np

from kerasreg._validation import check_number, fail

WEIGHTED_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D,
                   keras.layers.Conv3D)


def layer_activations(model, x, layer_types=WEIGHTED_LAYERS):
    """The outputs of a model's layers of the given types on one batch.

    Dense and convolution layers' outputs include their activation
    function, so for `Dense(units, activation="relu")` these are the ReLU
    outputs that feed the next layer.

    Args:
        model: a functional or `Sequential` `keras.Model` with known inputs.
        x: one batch of inputs.
        layer_types: which layers to read. Defaults to `WEIGHTED_LAYERS`
            (Dense and convolutions).

    Returns:
        A dict `{layer name: NumPy array}` in the order of `model.layers`.

    Example:
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="hidden")])
    >>> {name: a.shape for name, a in layer_activations(model, np.ones((2, 3))).items()}
    {'hidden': (2, 4)}
    """
    layers = [layer for layer in model.layers if isinstance(layer, layer_types)]
    if not layers:
        fail("layer_types", f"types of some of the model's layers ({_layer_names(model)})",
             tuple(layer_type.__name__ for layer_type in layer_types))
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, [layer.output for layer in layers])
    outputs = keras.tree.flatten(probe(x, training=False))  # one layer: a bare tensor
    return {layer.name: keras.ops.convert_to_numpy(output)
            for layer, output in zip(layers, outputs)}


def activation_statistics(model, x, layer_types=WEIGHTED_LAYERS):
    """Mean and standard deviation of each layer's outputs on one batch.

    Args:
        model: a functional or `Sequential` `keras.Model` with known inputs.
        x: one batch of inputs.
        layer_types: which layers to read. Defaults to `WEIGHTED_LAYERS`.

    Returns:
        A dict `{layer name: (mean, std)}` of Python floats, in layer order.

    Example:
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
    ...     2, kernel_initializer="ones", name="sum")])
    >>> activation_statistics(model, np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 1.0]]))
    {'sum': (2.0, 1.0)}
    """
    return {name: (float(values.mean()), float(values.std()))
            for name, values in layer_activations(model, x, layer_types).items()}


def kernel_gradients(model, x, y, loss="sparse_categorical_crossentropy"):
    """Gradient of the loss on one batch with respect to every kernel.

    Measured the lecture's way, as "the exact same parameter updates": one
    step of plain SGD (learning rate 1) on a copy of `model`, and the
    change of each kernel. This needs no backend-specific gradient code and
    leaves `model` unchanged.

    Args:
        model: a `keras.Model`.
        x: one batch of inputs.
        y: its targets.
        loss: a Keras loss. Defaults to `"sparse_categorical_crossentropy"`.

    Returns:
        A dict `{layer name: gradient of its kernel}` (NumPy arrays).

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
    ...     1, kernel_initializer="zeros", use_bias=False, name="linear")])
    >>> kernel_gradients(model, np.array([[1.0, 2.0]]), np.array([[1.0]]), loss="mse")
    {'linear': array([[-2.],
           [-4.]], dtype=float32)}
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss=loss)
    before = _kernels(copy)
    copy.train_on_batch(x, y)
    return {name: kernel - _kernels(copy)[name] for name, kernel in before.items()}


def distinct_neurons(kernel, tolerance=1e-6):
    """How many neurons of a layer differ: distinct columns of its kernel.

    The units (or filters) are the last axis of a Dense or convolution
    kernel. Two units count as the same when their weights differ by at
    most `tolerance` times the kernel's largest magnitude. Constant
    initialization gives 1, and because identical neurons get identical
    gradients (`kernel_gradients`), training keeps it at 1.

    Args:
        kernel: a kernel (or its gradient) with units on the last axis.
        tolerance: relative tolerance of "the same". Defaults to `1e-6`.

    Returns:
        An int between 1 and the number of units.

    Example:
    >>> distinct_neurons(np.array([[1.0, 1.0, 2.0], [3.0, 3.0, 0.0]]))
    2
    """
    check_number("tolerance", tolerance, 0)
    units = np.asarray(kernel, "float64").reshape(-1, np.shape(kernel)[-1]).T
    limit = tolerance * max(np.abs(units).max(), np.finfo("float64").tiny)
    representatives = []
    for unit in units:
        if not any(np.abs(unit - other).max() <= limit for other in representatives):
            representatives.append(unit)
    return len(representatives)


def plot_activation_histograms(activations, bins=40, size=1.6):
    """Histograms of each layer's activations, one row per initialization.

    Args:
        activations: `{row label: {layer name: activations}}`, e.g. one
            `layer_activations` result per initializer.
        bins: bins per histogram, the same edges for a whole row.
            Defaults to `40`.
        size: inches per panel. Defaults to `1.6`.

    Returns:
        The matplotlib `Figure`; each panel is titled with its layer and
        the standard deviation of its activations; the panels of a row
        share their x axis.

    Example:
    >>> figure = plot_activation_histograms({"he": {"a": np.ones(8), "b": np.zeros(8)}})
    >>> len(figure.axes)
    2
    """
    import matplotlib.pyplot as plt

    columns = max(len(layers) for layers in activations.values())
    # One x range and one set of bins per row: the shrinking with depth shows.
    figure, axes = plt.subplots(len(activations), columns, squeeze=False, sharex="row",
                                figsize=(size * columns, size * len(activations)))
    for row, (label, layers) in zip(axes, activations.items()):
        row[0].set_ylabel(label)
        everything = np.concatenate([np.ravel(values) for values in layers.values()])
        edges = np.linspace(everything.min(), everything.max() + 1e-12, bins + 1)
        for axis, (name, values) in zip(row, layers.items()):
            values = np.ravel(values)
            axis.hist(values, bins=edges)
            axis.set_title(f"{name}\nstd {values.std():.2g}", fontsize=8)
            axis.set_yticks([])
        for axis in row[len(layers):]:
            axis.remove()
    figure.tight_layout()
    return figure


def _kernels(model):
    return {layer.name: keras.ops.convert_to_numpy(layer.kernel)
            for layer in model.layers if hasattr(layer, "kernel")}


def _layer_names(model):
    return ", ".join(type(layer).__name__ for layer in model.layers)


def reinitialize(model, kernel_initializer, bias_initializer="zeros"):
    """Draw every kernel of `model` again from `kernel_initializer`, biases from `bias_initializer`.

    Builders such as `kerasreg.models.mlp` give their classifier its own
    initializer; the lecture's constant case needs every layer, classifier
    included, to start the same way. Each layer gets its own draw
    (`initializer_for_layer`), reproducible for a seeded initializer.

    Args:
        model: a built `keras.Model`; changed in place.
        kernel_initializer: a Keras initializer or its name.
        bias_initializer: a Keras initializer or its name. Defaults to `"zeros"`.

    Returns:
        The model.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    >>> keras.ops.convert_to_numpy(reinitialize(model, "ones").layers[0].kernel).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    kernel_initializer = keras.initializers.get(kernel_initializer)
    bias_initializer = keras.initializers.get(bias_initializer)
    for index, layer in enumerate(model.layers):
        for name, initializer in (("kernel", kernel_initializer), ("bias", bias_initializer)):
            weight = getattr(layer, name, None)
            if weight is not None:
                initializer = initializer_for_layer(initializer, index)
                weight.assign(initializer(weight.shape, dtype=weight.dtype))
    return model


def initializer_for_layer(initializer, index):
    """A copy of `initializer` that draws layer `index`'s own values.

    A Keras random initializer seeded with an integer, or unseeded (it then
    picks a seed once), returns the same values on every call: one instance
    shared by several layers gives every layer of one shape the same
    kernel, and a deep network of identical layers is not the lecture's
    random initialization. The copy's seed is drawn from the pair (the
    instance's seed, `index`) by NumPy's `SeedSequence`, so the layers
    differ, the draws stay reproducible, and networks of neighbouring
    seeds share no layer. Initializers without a seed (constants) and
    names come back as they are (a layer makes its own instance of a name,
    with its own seed).

    Args:
        initializer: a Keras initializer, or its name.
        index: the layer's position, an integer >= 0.

    Returns:
        A Keras initializer.

    Example:
    >>> he = keras.initializers.HeNormal(seed=1)
    >>> first, second = (initializer_for_layer(he, index)((4, 4)) for index in (0, 1))
    >>> bool(keras.ops.all(first == second))
    False
    """
    check_number("index", index, 0, integer=True)
    seed = getattr(initializer, "seed", None)
    if not isinstance(seed, int):
        return initializer
    layer_seed = int(np.random.SeedSequence((seed, index)).generate_state(1)[0] % 2**31)
    return type(initializer).from_config({**initializer.get_config(), "seed": layer_seed})
