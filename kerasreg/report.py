"""Headline figures of a lab, recorded once and read back by the lab runner.

A lab calls `record("val_accuracy", 0.97)` in its "What we measured" cell.
In a notebook the figure is shown as text and also stored in the cell's
output under `MIME_TYPE`, so the executed notebook itself carries its
figures: `python -m kerasreg labs` reads them back with `read_records`.
"""

import numbers
import sys

MIME_TYPE = "application/vnd.kerasreg.record+json"

recorded = {}


def record(name, value, digits=4):
    """Record one headline figure of a lab.

    Args:
        name: short snake_case name, e.g. `"val_accuracy"`.
        value: an integer, a float (rounded to `digits`) or a short string.
        digits: decimals kept for floats. Defaults to `4`.

    Returns:
        The recorded value, so a cell can write `acc = record("acc", acc)`.

    Example:
    >>> record("val_accuracy", 0.912345)
    val_accuracy = 0.9123
    0.9123
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty string. Received: name={name!r}")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = round(float(value), digits)
    elif not isinstance(value, str):
        raise ValueError(f"`value` must be a number or a string. Received: value={value!r}")
    recorded[name] = value
    _show(name, value)
    return value


def read_records(notebook):
    """The figures recorded in an executed notebook, in order of recording.

    Args:
        notebook: an `nbformat.NotebookNode`.

    Returns:
        A dict `{name: value}`.
    """
    figures = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            figures.update(output.get("data", {}).get(MIME_TYPE, {}))
    return figures


def check_accelerator():
    """Say which Keras backend and accelerator a lab runs on; warn without a GPU.

    Never fails: the labs are sized to run on a CPU.

    Returns:
        A one-line description, e.g. `"Keras 3.15.1, backend tensorflow, GPU: none"`.
    """
    import keras

    backend = keras.config.backend()
    accelerators = _accelerators(backend)
    if not accelerators:  # a warning on stderr, without a traceback path
        print("Warning: no GPU found, running on the CPU. On Colab choose "
              "Runtime > Change runtime type > GPU.", file=sys.stderr)
    return (f"Keras {keras.__version__}, backend {backend}, "
            f"GPU: {', '.join(accelerators) or 'none'}")


def _accelerators(backend):
    if backend == "tensorflow":
        import tensorflow as tf

        return [device.name for device in tf.config.list_physical_devices("GPU")]
    if backend == "jax":
        import jax

        return [str(device) for device in jax.devices() if device.platform != "cpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def _show(name, value):
    text = f"{name} = {value}"
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display({MIME_TYPE: {name: value}, "text/plain": text}, raw=True)
    else:
        print(text)
