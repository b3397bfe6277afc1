"""Student versions of the graded labs: they run, and fail only at the checks."""

from pathlib import Path

import nbclient
import nbformat
import pytest

from kerasreg.notebooks import QUIET_ENVIRONMENT
from kerasreg.student import BEGIN_SOLUTION, student_version

ROOT = Path(__file__).resolve().parents[1]
GRADED = [path for path in sorted(ROOT.glob("labs/*.ipynb"))
          if BEGIN_SOLUTION in path.read_text()]


@pytest.mark.parametrize("path", GRADED, ids=lambda path: path.stem)
def test_student_version_fails_only_in_checks_with_the_graders_message(path, monkeypatch):
    for name, value in QUIET_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    student = student_version(nbformat.read(path, as_version=4))
    nbclient.NotebookClient(student, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    failed = [(index, cell) for index, cell in enumerate(student.cells)
              for output in cell.get("outputs", []) if output.output_type == "error"]
    checks = [index for index, cell in enumerate(student.cells)
              if "test" in cell.metadata.get("tags", []) and index > _first_stub(student)]
    assert [index for index, _ in failed] == checks
    for _, cell in failed:
        error = next(output for output in cell.outputs if output.output_type == "error")
        assert error.ename == "GradingError" and "is not implemented yet" in error.evalue


def _first_stub(notebook):
    return next(index for index, cell in enumerate(notebook.cells)
                if "raise NotImplementedError()" in cell.source)
