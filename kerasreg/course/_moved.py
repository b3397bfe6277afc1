"""One module under two names: the course kit's old import paths, kept working.

The modules of `kerasreg.course` used to live at `kerasreg.report`,
`kerasreg.grading`, `kerasreg.transfer.sources`, ...; a shim at each old
path calls `alias`, so the old name is the moved module itself, not a copy:
one `GradingError` class, one set of module globals to monkeypatch.
"""

import importlib
import pkgutil
import sys


def alias(old_name, module):
    """Make `old_name`, and `old_name.<sub>` for each submodule of a package, name `module`.

    Args:
        old_name: the module's former dotted name, e.g. `"kerasreg.grading"`.
        module: the moved module; its submodules are imported and aliased too.
    """
    sys.modules[old_name] = module
    for submodule in pkgutil.iter_modules(getattr(module, "__path__", ())):
        alias(f"{old_name}.{submodule.name}",
              importlib.import_module(f"{module.__name__}.{submodule.name}"))
