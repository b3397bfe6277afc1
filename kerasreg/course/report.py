"""Headline figures of a lab, recorded once and read back by the lab runner.

A lab calls `record("val_accuracy", 0.97)` in its "What we measured" cell.
In a notebook the figure is shown as text and also stored in the cell's
output under `MIME_TYPE`, so the executed notebook itself carries its
figures: `python -m kerasreg labs` reads them back with `read_records`.
A lab's claim goes through `claim`: per-seed values with and without the
technique, paired by seed, recorded with the spread that decides it.
"""

import dataclasses
import math
import numbers
import sys

from kerasreg._validation import fail

MINIMUM_SEEDS = 3
CLAIMS_HOLD = "claims hold: "  # how `check_claims` starts the line it prints on success

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
        fail("name", "a non-empty string", name)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = round(float(value), digits)
    elif not isinstance(value, str):
        fail("value", "a number or a string", value)
    recorded[name] = value
    _show({name: value}, f"{name} = {value}")
    return value


@dataclasses.dataclass
class Claim:
    """A lab's claim measured over seeds, paired with its baseline.

    Attributes:
        name: the claim's name, e.g. `"augmentation_helps"`.
        technique: per-seed values of the metric with the technique.
        baseline: per-seed values without it, paired by seed.
        higher_is_better: the lecture's direction for the metric.
        difference: mean paired difference, positive in the lecture's direction.
        difference_se: standard error of that mean (sample std / sqrt(seeds)).
    """

    name: str
    technique: list
    baseline: list
    higher_is_better: bool
    difference: float
    difference_se: float

    @property
    def seeds(self):
        """The number of paired seeds."""
        return len(self.technique)

    @property
    def holds(self):
        """At least 3 seeds and a difference above twice its standard error."""
        return self.seeds >= MINIMUM_SEEDS and self.difference > 2 * self.difference_se

    def __str__(self):
        verdict = "holds" if self.holds else "does NOT hold"
        return (f"{self.name} {verdict}: difference {self.difference:+.4f} "
                f"+- {self.difference_se:.4f} (standard error) over {self.seeds} seeds; "
                f"needs at least {MINIMUM_SEEDS} seeds and difference > 2 x standard error")


def claim(name, technique, baseline, higher_is_better=True, digits=4):
    """Measure and record a lab's claim from per-seed values paired by seed.

    Records `<name>.technique` and `<name>.baseline` (the means),
    `<name>.difference` (the mean paired difference, signed so that positive
    is the lecture's direction), `<name>.difference_se` (its standard error)
    and `<name>.seeds`, and shows the per-seed values as a table (and a
    strip plot in a notebook). The claim holds when there are at least 3
    seeds and the difference is above twice its standard error: a lab
    asserts `result.holds`.

    Args:
        name: the claim's name, e.g. `"dropout_narrows_gap"`.
        technique: the metric per seed with the technique.
        baseline: the metric per seed without it, in the same seed order.
        higher_is_better: `True` when the lecture expects the technique to
            raise the metric (accuracy), `False` when to lower it (loss, gap).
            Defaults to `True`.
        digits: decimals kept in the recorded figures. Defaults to `4`.

    Returns:
        A `Claim`.

    Example:
    >>> result = claim("demo_helps", [0.92, 0.90, 0.93], [0.85, 0.86, 0.84])
    seed  technique  baseline  difference
       0     0.9200    0.8500     +0.0700
       1     0.9000    0.8600     +0.0400
       2     0.9300    0.8400     +0.0900
    demo_helps holds: difference +0.0667 +- 0.0145 (standard error) over 3 seeds; needs at least 3 seeds and difference > 2 x standard error
    >>> result.holds
    True
    """
    technique, baseline = _paired_values(technique, baseline)
    sign = 1.0 if higher_is_better else -1.0
    differences = [sign * (t - b) for t, b in zip(technique, baseline)]
    count = len(differences)
    mean = sum(differences) / count
    spread = (math.sqrt(sum((d - mean) ** 2 for d in differences) / (count - 1))
              if count > 1 else math.inf)
    result = Claim(name, technique, baseline, higher_is_better, mean, spread / math.sqrt(count))
    figures = {f"{name}.technique": round(sum(technique) / count, digits),
               f"{name}.baseline": round(sum(baseline) / count, digits),
               f"{name}.difference": round(result.difference, digits),
               f"{name}.difference_se": round(result.difference_se, digits),
               f"{name}.seeds": count}
    recorded.update(figures)
    _show(figures, _claim_table(result, differences))
    if _in_notebook():
        _strip_plot(result, differences)
    return result


def check_claims(*claims):
    """Assert a lab's claims together, naming every one that does not hold.

    A lab ends with `check_claims(first, second)`: one failure message lists
    every claim that failed (so an ablation shows all of them), and a pass
    prints one line.

    Args:
        *claims: `Claim`s returned by `claim`.

    Returns:
        `"claims hold: <names>"`.

    Raises:
        AssertionError: listing each claim that does not hold, with its figures.

    Example:
    >>> good = Claim("helps", [0.9, 0.8, 0.85], [0.7, 0.6, 0.66], True, 0.197, 0.003)
    >>> check_claims(good)
    'claims hold: helps'
    """
    if not claims or not all(isinstance(result, Claim) for result in claims):
        fail("claims", "one or more Claim returned by `claim`", claims)
    failed = [str(result) for result in claims if not result.holds]
    if failed:
        raise AssertionError("; ".join(failed))
    return CLAIMS_HOLD + ", ".join(result.name for result in claims)


def _paired_values(technique, baseline):
    values = []
    for argument, given in (("technique", technique), ("baseline", baseline)):
        try:
            numbers_given = [float(value) for value in given]
        except (TypeError, ValueError):
            fail(argument, "a sequence of numbers, one per seed", given)
        if not numbers_given or not all(math.isfinite(value) for value in numbers_given):
            fail(argument, "a non-empty sequence of finite numbers, one per seed", given)
        values.append(numbers_given)
    if len(values[0]) != len(values[1]):
        fail("baseline", f"one value per seed of `technique` ({len(values[0])} seeds)", baseline)
    return values


def _claim_table(result, differences):
    rows = ["seed  technique  baseline  difference"]
    rows += [f"{seed:>4}  {t:9.4f}  {b:8.4f}  {d:+10.4f}" for seed, (t, b, d)
             in enumerate(zip(result.technique, result.baseline, differences))]
    return "\n".join(rows + [str(result)])


def _strip_plot(result, differences):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.5, 1.6))
    axis.axvline(0, color="grey", linewidth=1)
    axis.plot(differences, [0] * len(differences), "o", alpha=0.7, label="seeds")
    axis.errorbar([result.difference], [0], xerr=[2 * result.difference_se], fmt="s",
                  color="black", capsize=4, label="mean +- 2 SE")
    axis.set_yticks([])
    axis.set_xlabel("paired difference (positive = lecture's direction)")
    axis.set_title(result.name)
    axis.legend(loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    plt.show()


def read_records(notebook):
    """The figures recorded in an executed notebook, in order of recording.

    Args:
        notebook: an `nbformat.NotebookNode`.

    Returns:
        A dict `{name: value}`.
    """
    if not hasattr(notebook, "cells"):
        fail("notebook", "a notebook read with nbformat.read", notebook)
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


def _in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _show(figures, text):
    if _in_notebook():
        from IPython.display import display

        display({MIME_TYPE: figures, "text/plain": text}, raw=True)
    else:
        print(text)
