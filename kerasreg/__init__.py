"""kerasreg: regularizations and practical tricks for Keras 3.

The layers are imported at once (they are registered for `.keras` loading
with `safe_mode=True`); every other module loads on first use, so
`import kerasreg` costs little beyond `import keras`.
"""

import importlib

from kerasreg import layers  # noqa: F401  (registers the layers for load_model)

__version__ = "0.1.0"

# The course kit is kerasreg.course; its old names here (datasets, grading, notebooks,
# plots, report) stay importable as the same modules.
_LAZY_MODULES = ("augment", "callbacks", "course", "curves", "datasets", "grading", "inference",
                 "initialization", "models", "notebooks", "plots", "preprocessing", "report",
                 "transfer", "tta", "tuning")


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"kerasreg.{name}")
    raise AttributeError(f"module 'kerasreg' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY_MODULES))
