"""Moved to `kerasreg.course.notebooks`; this name stays importable (the same module)."""

from kerasreg.course import _moved, notebooks

_moved.alias(__name__, notebooks)
