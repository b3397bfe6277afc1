"""kerasreg.course: the course kit apart from the library, its old import paths kept.

Each old name (`kerasreg.report`, `kerasreg.grading.dropout`, `kerasreg.transfer.source_cnn`,
...) must be the moved object itself, not a copy: tests monkeypatch module globals, and a
second copy of a grading module would bring a second `GradingError` class. The import
checks run in a fresh process, where nothing else has imported the modules first.
"""

import importlib
import json
import pkgutil
import subprocess
import sys
import textwrap

import pytest

import kerasreg.course
import kerasreg.course.grading
import kerasreg.course.sources
import kerasreg.transfer

MODULES = ("datasets", "notebooks", "plots", "report", "student")
GRADING = sorted(module.name for module in pkgutil.iter_modules(kerasreg.course.grading.__path__))
SOURCES = ("mobilenet_base", "per_class_subset", "photo_patches", "pretrain_base", "source_cnn",
           "train_and_score")
LIBRARY = ("layers", "augment", "callbacks", "curves", "inference", "initialization", "models",
           "preprocessing", "transfer", "tta")


@pytest.mark.parametrize("name", MODULES)
def test_old_module_name_is_the_moved_module(name):
    old = importlib.import_module(f"kerasreg.{name}")
    assert old is importlib.import_module(f"kerasreg.course.{name}")
    assert getattr(kerasreg, name) is old


@pytest.mark.parametrize("name", ["", *(f".{name}" for name in GRADING)])
def test_old_grading_names_are_the_moved_modules(name):
    old = importlib.import_module(f"kerasreg.grading{name}")
    assert old is importlib.import_module(f"kerasreg.course.grading{name}")


def test_old_grading_path_has_one_grading_error_class():
    from kerasreg.grading import GradingError

    assert GradingError is kerasreg.course.grading.GradingError
    assert GradingError is kerasreg.course.grading._checks.GradingError


@pytest.mark.parametrize("name", SOURCES)
def test_transfer_still_gives_the_lab_bases(name):
    assert getattr(kerasreg.transfer, name) is getattr(kerasreg.course.sources, name)
    assert name in dir(kerasreg.transfer)


def test_old_sources_module_is_the_moved_module():
    assert importlib.import_module("kerasreg.transfer.sources") is kerasreg.course.sources


def test_transfer_rejects_an_unknown_name():
    with pytest.raises(AttributeError, match="no attribute 'source_cnns'"):
        kerasreg.transfer.source_cnns


@pytest.mark.parametrize("name", [module.name for module
                                  in pkgutil.iter_modules(kerasreg.course.__path__)
                                  if not module.name.startswith("_")])
def test_every_course_module_is_a_lazy_attribute(name):
    assert getattr(kerasreg.course, name) is importlib.import_module(f"kerasreg.course.{name}")
    assert name in dir(kerasreg.course)


def _run(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def fresh_imports():
    """What importing the library, then kerasreg.course, loads in a fresh process."""
    return _run(f"""
        import importlib, json, sys
        import kerasreg
        before = set(sys.modules)
        import kerasreg.course
        course_added = sorted(set(sys.modules) - before)
        for module in {LIBRARY!r}:
            importlib.import_module(f"kerasreg.{{module}}")
        print(json.dumps({{"course_added": course_added,
                          "stdlib": sorted(sys.stdlib_module_names),
                          "keras_with_kerasreg": "keras" in before,
                          "library_loaded": sorted(name for name in sys.modules
                                                   if name.startswith("kerasreg.course."))}}))
    """)


def test_import_course_adds_nothing_beyond_kerasreg(fresh_imports):
    # `import kerasreg` imports Keras already (it registers the layers); the course kit
    # itself must add no third-party module, and none of its own modules, until one is used.
    assert fresh_imports["keras_with_kerasreg"]
    added = set(fresh_imports["course_added"]) - {"kerasreg.course"}
    assert {name for name in added if name.split(".")[0] not in fresh_imports["stdlib"]} == set()


def test_the_library_does_not_import_the_course_kit(fresh_imports):
    assert fresh_imports["library_loaded"] == []


def test_old_names_imported_first_give_one_copy_of_each_module():
    # A copy would be a module named by its old name; each old name must hold the module
    # that its new name holds.
    names = _run("""
        import json, sys
        import kerasreg.grading.early_stopping
        import kerasreg.report
        from kerasreg.transfer.sources import source_cnn
        old = ("kerasreg.grading", "kerasreg.report", "kerasreg.transfer.sources")
        print(json.dumps({name: [module.__name__, sys.modules.get(module.__name__) is module]
                          for name, module in sys.modules.items() if name.startswith(old)}))
    """)
    assert "kerasreg.grading.early_stopping" in names and "kerasreg.grading._checks" in names
    for old, (new, held) in names.items():
        assert new.startswith("kerasreg.course.") and held, old
