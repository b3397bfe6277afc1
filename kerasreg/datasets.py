"""Moved to `kerasreg.course.datasets`; this name stays importable (the same module)."""

from kerasreg.course import _moved, datasets

_moved.alias(__name__, datasets)
