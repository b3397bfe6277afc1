"""Moved to `kerasreg.course.student`; this name stays importable (the same module)."""

from kerasreg.course import _moved, student

_moved.alias(__name__, student)
