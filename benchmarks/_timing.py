"""Timing helpers shared by the benchmark scripts."""

import statistics
import subprocess
import sys
import time


def seconds(function):
    """Wall time of one call of `function()`."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def median_seconds(function, repeats=5, warmup=1):
    """Median wall time of `function()` over `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        function()
    return statistics.median(seconds(function) for _ in range(repeats))


def interleaved_median_seconds(functions, repeats=5, warmup=1):
    """Median wall time of each of `functions` (a dict), timed in turn within each repeat.

    On a shared machine whose speed drifts over minutes, timing the
    compared functions one after another in every repeat keeps their ratio
    honest where timing each one's repeats in a block would not.
    """
    for function in functions.values():
        for _ in range(warmup):
            function()
    times = {label: [] for label in functions}
    for _ in range(repeats):
        for label, function in functions.items():
            times[label].append(seconds(function))
    return {label: statistics.median(values) for label, values in times.items()}


def python_seconds(code, repeats=5):
    """Median wall time of a fresh `python -c code`."""
    return median_seconds(lambda: subprocess.run([sys.executable, "-c", code], check=True),
                          repeats=repeats, warmup=1)


def verdict(ok):
    return "PASS" if ok else "FAIL"
