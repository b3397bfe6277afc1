"""The server-less student versions: nbgrader's stubs, and refusals that write nothing.

That the cells equal those of `nbgrader generate_assignment` on the real labs
is tested in tests/test_nbgrader.py.
"""

import re

import nbformat
import pytest

from kerasreg.course import notebooks
from kerasreg.__main__ import main
from kerasreg.course.student import strip_solution, student_version, write_student_versions


def _grading(grade_id, solution=False, grade=False, points=None):
    metadata = {"grade": grade, "grade_id": grade_id, "locked": not solution,
                "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        metadata["points"] = points
    return {"nbgrader": metadata}


def _solution_notebook(exercise="def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                                "    ### END SOLUTION\n", solution_metadata=True):
    notebook = nbformat.v4.new_notebook()
    instructions = nbformat.v4.new_markdown_cell("Write `double`.",
                                                 metadata=_grading("lab_double_instructions"))
    solution = nbformat.v4.new_code_cell(exercise)
    if solution_metadata:
        solution.metadata.update(_grading("lab_double", solution=True))
    solution.outputs = [nbformat.v4.new_output("stream", text="stale")]
    solution.execution_count = 3
    check = nbformat.v4.new_code_cell("assert double(2) == 4",
                                      metadata=_grading("lab_double_check", grade=True, points=2))
    check.metadata["tags"] = ["test"]
    notebook.cells = [nbformat.v4.new_code_cell("x = 1"), instructions, solution, check]
    return notebook


def test_strip_solution_keeps_the_indentation_and_the_lines_around_the_region():
    source = "def f(x):\n    y = x\n    ### BEGIN SOLUTION\n    return y\n    ### END SOLUTION\n"
    assert strip_solution(source) == ("def f(x):\n    y = x\n    # YOUR CODE HERE\n"
                                      "    raise NotImplementedError()\n")


def test_strip_solution_refuses_a_region_without_its_end():
    with pytest.raises(ValueError, match=r"the `### BEGIN SOLUTION` on line 2 has no "
                                         r"`### END SOLUTION` after it"):
        strip_solution("def f(x):\n    ### BEGIN SOLUTION\n    return x\n")


def test_strip_solution_refuses_nested_regions():
    with pytest.raises(ValueError, match=r"on line 3 opens a region inside the one opened on "
                                         r"line 1"):
        strip_solution("### BEGIN SOLUTION\nx = 1\n### BEGIN SOLUTION\n### END SOLUTION")


def test_student_version_stubs_solutions_clears_outputs_and_tags_the_failing_check():
    student = student_version(_solution_notebook())
    assert student.cells[2].source == ("def double(x):\n    # YOUR CODE HERE\n"
                                       "    raise NotImplementedError()\n")
    assert student.cells[2].outputs == [] and student.cells[2].execution_count is None
    assert student.cells[3].source == "assert double(2) == 4"
    assert student.cells[3].metadata["tags"] == ["test", "raises-exception"]
    assert not student.cells[0].metadata.get("tags")


def test_student_version_locks_cells_as_nbgrader_does():
    student = student_version(_solution_notebook())
    assert "deletable" not in student.cells[0].metadata
    assert student.cells[1].metadata["editable"] is False  # locked instructions
    assert student.cells[2].metadata["deletable"] is False and \
        "editable" not in student.cells[2].metadata  # the answer stays editable
    assert student.cells[3].metadata["editable"] is False  # the graded check


def test_student_version_stubs_a_whole_solution_cell_without_a_region():
    notebook = _solution_notebook(exercise="def double(x):\n    return 2 * x")
    notebook.cells[1].metadata["nbgrader"].update(solution=True, locked=False)
    student = student_version(notebook)
    assert student.cells[2].source == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert student.cells[1].source == "YOUR ANSWER HERE"


def test_student_version_refuses_a_region_outside_a_solution_cell():
    with pytest.raises(ValueError, match=r"lab\.ipynb, cell 2 holds a `### BEGIN SOLUTION` "
                                         r"region but is not a solution cell"):
        student_version(_solution_notebook(solution_metadata=False), "lab.ipynb")


def test_old_imports_from_kerasreg_notebooks_still_work():
    assert notebooks.student_version is student_version


def test_student_command_writes_a_folder(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    nbformat.write(_solution_notebook(), tmp_path / "solutions" / "lab.ipynb")
    status, out, _ = _student_command(capsys, tmp_path / "solutions", tmp_path / "student")
    assert status == 0 and out == f"wrote {tmp_path / 'student' / 'lab.ipynb'}\n"
    written = nbformat.read(tmp_path / "student" / "lab.ipynb", as_version=4)
    assert "NotImplementedError" in written.cells[2].source


def test_write_student_versions_writes_one_notebook_into_a_folder(tmp_path):
    nbformat.write(_solution_notebook(), tmp_path / "lab.ipynb")
    (tmp_path / "student").mkdir()
    assert write_student_versions(tmp_path / "lab.ipynb", tmp_path / "student") == \
        [tmp_path / "student" / "lab.ipynb"]


def _student_command(capsys, *arguments):
    """Run `python -m kerasreg student ARGUMENTS` in this process: (exit status, stdout, stderr)."""
    try:
        status = main(["student", *map(str, arguments)])
    except SystemExit as exit:  # sys.exit(message) exits with status 1, message on stderr
        status, message = exit.code, str(exit.code)
        status = 1 if isinstance(status, str) else status
    else:
        message = ""
    captured = capsys.readouterr()
    return status, captured.out, captured.err + message


def _files(folder):
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("destination, message", [
    (".", "is the source folder"),
    ("student", "is the source folder .* or inside it"),
    ("nested/student", "or inside it"),
], ids=["the source", "inside", "deep inside"])
def test_student_command_refuses_a_destination_in_the_source_folder(tmp_path, capsys,
                                                                    destination, message):
    nbformat.write(_solution_notebook(), tmp_path / "lab.ipynb")
    before = _files(tmp_path)
    status, out, err = _student_command(capsys, tmp_path, tmp_path / destination)
    assert status != 0 and out == "" and re.search(message, err)
    assert "Nothing was written." in err
    assert _files(tmp_path) == before


def test_student_command_refuses_the_source_notebook_as_destination(tmp_path, capsys):
    nbformat.write(_solution_notebook(), tmp_path / "lab.ipynb")
    before = _files(tmp_path)
    status, _, err = _student_command(capsys, tmp_path / "lab.ipynb", tmp_path / "lab.ipynb")
    assert status != 0 and "is the source notebook" in err
    assert _files(tmp_path) == before


def test_student_command_refuses_an_unterminated_region_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    nbformat.write(_solution_notebook(), tmp_path / "solutions" / "a_good.ipynb")
    nbformat.write(_solution_notebook("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x"),
                   tmp_path / "solutions" / "b_broken.ipynb")
    status, _, err = _student_command(capsys, tmp_path / "solutions", tmp_path / "student")
    assert status != 0
    assert "b_broken.ipynb, cell 2: the `### BEGIN SOLUTION` on line 2 has no" in err
    assert not (tmp_path / "student").exists()
