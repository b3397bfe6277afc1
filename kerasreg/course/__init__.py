"""The course kit: what the labs and lectures use around the library.

The lab runner (`notebooks`, behind `python -m kerasreg labs | lectures`),
the student versions of solution notebooks (`student`) and the nbgrader
checks of the labs' exercises (`grading`), the record of a lab's figures
and claims (`report`), its figures (`plots`), the offline real datasets
(`datasets`) and the transfer lab's pretrained bases (`sources`). It needs
the `course` extra (`pip install "kerasreg[course]"`); the library itself
never imports it. Every module loads on first use, so `import
kerasreg.course` costs nothing beyond `import kerasreg`.
"""

import importlib

_LAZY_MODULES = ("datasets", "grading", "notebooks", "plots", "report", "sources", "student")


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"kerasreg.course.{name}")
    raise AttributeError(f"module 'kerasreg.course' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES))
