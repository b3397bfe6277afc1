"""Moved to `kerasreg.course.grading`; this name stays importable (the same package).

So do its submodules: `kerasreg.grading.dropout` is `kerasreg.course.grading.dropout`.
"""

from kerasreg.course import _moved, grading

_moved.alias(__name__, grading)
