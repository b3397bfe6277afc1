"""Student versions of solution notebooks, without an nbgrader course.

`python -m kerasreg student SRC DST` writes the cells that
`nbgrader generate_assignment` writes: in a solution cell (nbgrader metadata
`solution: true`) each region from a `### BEGIN SOLUTION` line to its
`### END SOLUTION` line becomes the stub, indented like the `BEGIN` line; a
solution cell without a region becomes the stub as a whole (markdown: "YOUR
ANSWER HERE"); outputs are cleared and locked cells made read-only. It
refuses what nbgrader refuses (a region outside a solution cell, a region
with no end, nested regions) and writes nothing then.
"""

import copy
import re
from pathlib import Path

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
# nbgrader's delimiters: a line holding one of them (whatever its comment mark) opens or closes.
_BEGIN, _END = "BEGIN SOLUTION", "END SOLUTION"


def strip_solution(source, stub=CODE_STUB, where="the cell"):
    """Replace each solution region of a cell's source by `stub`, as nbgrader does.

    The stub keeps the indentation of the `### BEGIN SOLUTION` line, so a
    solution inside a function body becomes that function's body. Every
    other line, trailing newline included, is kept as it is.

    Args:
        source: the cell's source.
        stub: what replaces a region. Defaults to nbgrader's Python stub.
        where: how error messages name the cell. Defaults to `"the cell"`.

    Returns:
        The new source (unchanged when it holds no region).

    Raises:
        ValueError: a region has no `### END SOLUTION`, or regions are nested.

    Example:
    >>> print(strip_solution("def f(x):\\n    ### BEGIN SOLUTION\\n    return x\\n    ### END SOLUTION"))
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    lines, opened = [], None
    for number, line in enumerate(source.split("\n"), start=1):
        if _BEGIN in line:
            if opened is not None:
                raise ValueError(f"{where}: the `{BEGIN_SOLUTION}` on line {number} opens a "
                                 f"region inside the one opened on line {opened}; close the "
                                 f"first with `{END_SOLUTION}`.")
            opened = number
            indent = re.match(r"\s*", line).group(0)
            lines += [indent + stub_line for stub_line in stub.split("\n")]
        elif _END in line:
            opened = None
        elif opened is None:
            lines.append(line)
    if opened is not None:
        raise ValueError(f"{where}: the `{BEGIN_SOLUTION}` on line {opened} has no "
                         f"`{END_SOLUTION}` after it, so the rest of the cell would be "
                         "dropped; add the end marker.")
    return "\n".join(lines)


def student_version(notebook, name="the notebook"):
    """The student version of a solution notebook (what nbgrader writes).

    Solution regions become stubs, outputs and execution counts are
    cleared, locked, graded and solution cells get nbgrader's `editable` /
    `deletable` flags, and the cells that now fail on purpose (the checks,
    tagged `test`, from the first stub on) are tagged `raises-exception`,
    so nbval runs the student version too. Labs use an exercise's answer
    only in its check, so nothing else fails.

    Args:
        notebook: an `nbformat.NotebookNode` holding solution regions.
        name: how error messages name the notebook. Defaults to
            `"the notebook"`.

    Returns:
        A new `NotebookNode`.

    Raises:
        ValueError: a solution region is outside a cell marked as a solution
            cell (nbgrader metadata `solution: true`), has no end, or is nested.

    Example:
    >>> import nbformat
    >>> answer = nbformat.v4.new_code_cell(
    ...     "def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION",
    ...     metadata={"nbgrader": {"grade_id": "f", "solution": True, "locked": False}})
    >>> print(student_version(nbformat.v4.new_notebook(cells=[answer])).cells[0].source)
    def f():
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    student = copy.deepcopy(notebook)
    stubbed = False
    for index, cell in enumerate(student.cells):
        grading = cell.metadata.get("nbgrader", {})
        where = f"{name}, cell {index}"
        stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
        if _BEGIN in cell.source and not grading.get("solution", False):
            raise ValueError(
                f"{where} holds a `{BEGIN_SOLUTION}` region but is not a solution cell: give "
                "it nbgrader metadata with `solution: true` and a `grade_id` (nbgrader "
                "refuses it too).")
        if grading.get("solution", False):
            cell.source = strip_solution(cell.source, stub, where) if (
                _BEGIN in cell.source) else stub
            stubbed = stubbed or cell.cell_type == "code"
        _lock(cell, grading)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        tags = cell.metadata.setdefault("tags", [])
        if stubbed and "test" in tags and "raises-exception" not in tags:
            tags.append("raises-exception")
    return student


def _lock(cell, grading):
    # nbgrader's LockCells with its defaults.
    if grading.get("solution", False):
        cell.metadata["deletable"] = False
    elif grading.get("grade", False) or grading.get("locked", False):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False


def write_student_versions(source, destination):
    """Write student versions of one notebook or of every notebook in a folder.

    Every student version is made before any file is written, so a notebook
    that cannot be converted leaves the destination untouched.

    Args:
        source: a solution notebook or a folder of them.
        destination: the output notebook (or a folder to write it into), or
            a folder for a folder source; never the source or inside it.

    Returns:
        The list of written paths.

    Raises:
        ValueError: the source is missing, the destination is the source or
            inside it, or a notebook's solution regions are malformed.

    Example:
    >>> write_student_versions(".", "student")
    Traceback (most recent call last):
    ...
    ValueError: The destination student is the source folder . or inside it: the student versions would overwrite or mix with the solutions. Pass another folder.
    """
    import nbformat

    source, destination = Path(source), Path(destination)
    if not source.exists():
        raise ValueError(f"No notebook or folder at {source}: pass a solution notebook or "
                         "a folder of them.")
    if source.is_dir():
        if source.resolve() in [destination.resolve(), *destination.resolve().parents]:
            raise ValueError(f"The destination {destination} is the source folder {source} or "
                             "inside it: the student versions would overwrite or mix with the "
                             "solutions. Pass another folder.")
        pairs = [(path, destination / path.name) for path in sorted(source.glob("*.ipynb"))]
    else:
        target = destination / source.name if destination.is_dir() else destination
        if target.resolve() == source.resolve():
            raise ValueError(f"The destination {destination} is the source notebook {source}: "
                             "the solutions would be lost. Pass another path.")
        pairs = [(source, target)]
    students = [(student_version(nbformat.read(path, as_version=4), str(path)), target)
                for path, target in pairs]
    for student, target in students:
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student, target)
    return [target for _, target in students]
