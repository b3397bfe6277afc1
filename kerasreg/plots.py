"""Moved to `kerasreg.course.plots`; this name stays importable (the same module)."""

from kerasreg.course import _moved, plots

_moved.alias(__name__, plots)
