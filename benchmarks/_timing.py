"""Timing helpers shared by the benchmark scripts."""

import statistics
import subprocess
import sys
import time


def median_seconds(function, repeats=5, warmup=1):
    """Median wall time of `function()` over `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def python_seconds(code, repeats=5):
    """Median wall time of a fresh `python -c code`."""
    return median_seconds(lambda: subprocess.run([sys.executable, "-c", code], check=True),
                          repeats=repeats, warmup=1)


def verdict(ok):
    return "PASS" if ok else "FAIL"
