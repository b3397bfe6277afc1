"""Run lab and lecture notebooks headless and summarize what they measured.

Used by `python -m kerasreg labs` (and `lectures`): each notebook runs top
to bottom in a fresh kernel of the current Python (nbclient), a failing
notebook is reported with its cell and error while the others still run,
and `build/<folder>/summary.md` gets one row per notebook with its status,
wall time and the figures it recorded through `kerasreg.course.report.record`.
Parameters (`--param ABLATE=True`) are set on the cell tagged `parameters`
as papermill does: a cell tagged `injected-parameters` follows it.
"""

import ast
import dataclasses
import os
import tempfile
import time
from pathlib import Path

from kerasreg._validation import fail

from kerasreg.course.report import read_records

# TensorFlow's C++ start-up lines would land in every kernel's stderr.
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


@dataclasses.dataclass
class NotebookResult:
    """What running one notebook gave.

    Attributes:
        name: the notebook's stem, e.g. `"00_getting_started"`.
        passed: whether every cell ran without error.
        seconds: wall time of the run, kernel start included.
        figures: `{name: value}` recorded by the notebook.
        error: `"cell N: ErrorName: message"` when it failed, else `""`.
        executed: the executed notebook, or `None`.
    """

    name: str
    passed: bool
    seconds: float
    figures: dict
    error: str = ""
    executed: object = dataclasses.field(default=None, repr=False)


def find_notebooks(folder, names=()):
    """The notebooks of `folder` selected by `names` (all when empty), sorted.

    Args:
        folder: a folder of `.ipynb` files.
        names: stems (`"dropout"`), file names or paths of notebooks.

    Returns:
        A list of `Path`s.
    """
    available = {path.stem: path for path in sorted(Path(folder).glob("*.ipynb"))}
    if not names:
        return list(available.values())
    unknown = [name for name in names if Path(name).stem not in available]
    if unknown:
        raise ValueError(f"`names` must be notebooks of {folder}/: "
                         f"{', '.join(available)}. Received: names={unknown!r}")
    return [available[Path(name).stem] for name in names]


def parse_parameters(assignments):
    """Parse `NAME=VALUE` strings of the command line into a dict.

    Values are Python literals (`True`, `3`, `0.5`, `"text"`, `(1, 2)`);
    anything else is kept as a string.

    Example:
    >>> parse_parameters(["ABLATE=True", "EPOCHS=3", "NAME=cifar"])
    {'ABLATE': True, 'EPOCHS': 3, 'NAME': 'cifar'}
    """
    parameters = {}
    for assignment in assignments:
        name, equals, text = assignment.partition("=")
        if not equals or not name.strip().isidentifier():
            fail("param", "NAME=VALUE with NAME a Python name", assignment)
        try:
            parameters[name.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            parameters[name.strip()] = text.strip()
    return parameters


def set_parameters(notebook, parameters):
    """Set `parameters` on the notebook's cell tagged `parameters`, as papermill does.

    A cell tagged `injected-parameters` holding the assignments is put right
    after the parameters cell, so the notebook's own defaults stay visible.

    Args:
        notebook: an `nbformat.NotebookNode` with one cell tagged `parameters`.
        parameters: `{name: value}`; every name must be assigned in that cell.

    Returns:
        The parameterized notebook (a new `NotebookNode`).
    """
    check_parameters(notebook, parameters)
    from papermill.parameterize import parameterize_notebook

    # papermill writes a tuple as its string; a list is written as a list.
    parameters = {name: list(value) if isinstance(value, tuple) else value
                  for name, value in parameters.items()}
    notebook.metadata.setdefault("papermill", {})
    for cell in notebook.cells:  # papermill reads `tags` as an attribute of every cell
        cell.metadata.setdefault("tags", [])
    return parameterize_notebook(notebook, parameters, kernel_name="python3",
                                 language="python")


def check_parameters(notebook, parameters):
    """Check that each name of `parameters` is assigned in the parameters cell."""
    cells = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    if len(cells) != 1:
        fail("notebook", "a notebook with exactly one cell tagged `parameters`",
             f"{len(cells)} such cells")
    known = {target.id for node in ast.parse(cells[0].source).body
             if isinstance(node, ast.Assign) for target in node.targets
             if isinstance(target, ast.Name)}
    unknown = sorted(set(parameters) - known)
    if unknown:
        fail("param", f"names of the parameters cell ({', '.join(sorted(known))})", unknown)


def clear_outputs(notebook):
    """Remove every code cell's outputs and execution count, in place.

    A notebook is cleared before it runs, so a run that fails part-way shows
    no figures of an earlier run below the failing cell.
    """
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def write_atomically(notebook, path):
    """Write a notebook to `path` through a temporary file and a rename.

    A run killed while writing leaves the previous file whole.
    """
    import nbformat

    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            nbformat.write(notebook, file)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def execute_notebook(path, output_path, kernel_log, cell_timeout=300, progress=None,
                     parameters=None):
    """Execute one notebook in a fresh kernel and write the executed copy.

    Stored outputs are cleared first, so a failed run shows only what it ran.

    Args:
        path: the notebook to run; it runs in its own folder.
        output_path: where the executed notebook is written.
        kernel_log: file that receives the kernel's own stderr (C++ library logs).
        cell_timeout: seconds before a stuck cell fails. Defaults to `300`.
        progress: optional `tqdm` bar advanced once per executed cell.
        parameters: optional `{name: value}` set on the parameters cell.

    Returns:
        A `NotebookResult`; `executed` holds the executed notebook.
    """
    import nbclient
    import nbformat

    os.environ.update(QUIET_ENVIRONMENT)
    notebook = clear_outputs(nbformat.read(path, as_version=4))
    if parameters:
        notebook = set_parameters(notebook, parameters)
    failed_cell = []
    client = nbclient.NotebookClient(
        notebook, timeout=cell_timeout, kernel_name="python3", record_timing=False,
        # Output written straight to the process's file descriptors (C++
        # library logs) goes to `kernel_log`, not into the notebook.
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        resources={"metadata": {"path": str(Path(path).parent)}},
        on_cell_executed=lambda **_: progress and progress.update(),
        on_cell_error=lambda cell_index, **_: failed_cell.append(cell_index))
    start = time.perf_counter()
    error = ""
    for file in (output_path, kernel_log):
        Path(file).parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(kernel_log, "w") as log:
            client.execute(stderr=log)
    except nbclient.exceptions.CellExecutionError as failure:
        error = f"cell {failed_cell[0] if failed_cell else '?'}: {failure.ename}: {failure.evalue}"
    except nbclient.exceptions.CellTimeoutError as failure:
        error = f"cell {failed_cell[0] if failed_cell else '?'}: timeout: {failure}"
    seconds = time.perf_counter() - start
    write_atomically(notebook, output_path)
    return NotebookResult(Path(path).stem, not error, seconds, read_records(notebook), error,
                          notebook)


def run_notebooks(paths, output_folder, inplace=False, cell_timeout=300, parameters=None):
    """Execute notebooks one after another with a progress bar.

    Args:
        paths: notebooks to run.
        output_folder: where executed copies and `summary.md` go.
        inplace: also store the outputs of each run that passed back into
            its source notebook, atomically (how the committed outputs are
            refreshed); a failed run never reaches the source. Defaults to
            `False`.
        cell_timeout: seconds before a stuck cell fails. Defaults to `300`.
        parameters: optional `{name: value}` set on each notebook's
            parameters cell; not with `inplace` (committed outputs come from
            the notebooks' own parameters).

    Returns:
        A list of `NotebookResult`, one per notebook, in order.
    """
    if inplace and parameters:
        fail("parameters", "empty when `inplace` is set (committed outputs use the "
             "notebooks' own parameters)", parameters)
    import nbformat
    from tqdm.auto import tqdm

    for path in paths if parameters else ():
        check_parameters(nbformat.read(path, as_version=4), parameters)
    results = []
    with tqdm(paths, unit="notebook", position=0) as notebooks:
        for path in notebooks:
            notebooks.set_postfix_str(path.stem)
            cells = len(nbformat.read(path, as_version=4).cells)
            with tqdm(total=cells, unit="cell", position=1, leave=False) as progress:
                kernel_log = Path(output_folder) / f"{path.stem}.kernel.log"
                results.append(execute_notebook(path, Path(output_folder) / path.name,
                                                kernel_log, cell_timeout, progress, parameters))
            if inplace and results[-1].passed:
                write_atomically(results[-1].executed, path)
            if not results[-1].passed:
                notebooks.write(f"FAILED {path.name}: {results[-1].error}")
    write_summary(results, Path(output_folder) / "summary.md")
    return results


def write_summary(results, path):
    """Write the Markdown table of `results` to `path` and return its text.

    Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> text = write_summary([NotebookResult("lab", True, 1.5, {"acc": 0.9})], folder / "s.md")
    >>> print(text.splitlines()[-1])
    | lab | passed | 1.5 s | acc = 0.9 |
    """
    lines = ["| notebook | status | wall time | recorded figures |",
             "|---|---|---|---|"]
    for result in results:
        figures = ", ".join(f"{name} = {value}" for name, value in result.figures.items())
        error = " ".join(result.error.split()).replace("|", "/")
        status = "passed" if result.passed else f"FAILED ({error})"
        lines.append(f"| {result.name} | {status} | {result.seconds:.1f} s | {figures} |")
    text = "\n".join(lines) + "\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)
    return text


# The student-version generator moved to kerasreg.course.student; these names stay importable here.
from kerasreg.course.student import (student_version, strip_solution,  # noqa: E402,F401
                                     write_student_versions)
