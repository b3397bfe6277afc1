"""Moved to `kerasreg.course.report`; this name stays importable (the same module)."""

from kerasreg.course import _moved, report

_moved.alias(__name__, report)
