"""Root pytest setup: applies to unit tests and to notebooks run by nbval."""

import os

# Quiet TensorFlow's C++ start-up lines before any kernel starts: nbval's
# kernels inherit this environment. oneDNN's notice needs its own switch.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def pytest_collectstart(collector):
    # Kernel stderr (library warnings) is not part of a notebook's checked output.
    path = getattr(collector, "path", None)
    if path is not None and path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)
