"""Moved to `kerasreg.course.sources`; this name stays importable (the same module)."""

from kerasreg.course import _moved, sources

_moved.alias(__name__, sources)
