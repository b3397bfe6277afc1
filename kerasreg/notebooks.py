"""Run lab and lecture notebooks headless and summarize what they measured.

Used by `python -m kerasreg labs` (and `lectures`): each notebook runs top
to bottom in a fresh kernel of the current Python (nbclient), a failing
notebook is reported with its cell and error while the others still run,
and `build/<folder>/summary.md` gets one row per notebook with its status,
wall time and the figures it recorded through `kerasreg.report.record`.
"""

import dataclasses
import os
import time
from pathlib import Path

from kerasreg.report import read_records

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
    """

    name: str
    passed: bool
    seconds: float
    figures: dict
    error: str = ""


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


def execute_notebook(path, output_path, kernel_log, cell_timeout=300, progress=None):
    """Execute one notebook in a fresh kernel and write the executed copy.

    Args:
        path: the notebook to run; it runs in its own folder.
        output_path: where the executed notebook is written (may be `path`).
        kernel_log: file that receives the kernel's own stderr (C++ library logs).
        cell_timeout: seconds before a stuck cell fails. Defaults to `300`.
        progress: optional `tqdm` bar advanced once per executed cell.

    Returns:
        A `NotebookResult`.
    """
    import nbclient
    import nbformat

    os.environ.update(QUIET_ENVIRONMENT)
    notebook = nbformat.read(path, as_version=4)
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
    nbformat.write(notebook, output_path)
    return NotebookResult(Path(path).stem, not error, seconds, read_records(notebook), error)


def run_notebooks(paths, output_folder, inplace=False, cell_timeout=300):
    """Execute notebooks one after another with a progress bar.

    Args:
        paths: notebooks to run.
        output_folder: where executed copies and `summary.md` go.
        inplace: also store the outputs back into the source notebooks
            (how the committed outputs are refreshed). Defaults to `False`.
        cell_timeout: seconds before a stuck cell fails. Defaults to `300`.

    Returns:
        A list of `NotebookResult`, one per notebook, in order.
    """
    import nbformat
    from tqdm.auto import tqdm

    results = []
    with tqdm(paths, unit="notebook", position=0) as notebooks:
        for path in notebooks:
            notebooks.set_postfix_str(path.stem)
            cells = len(nbformat.read(path, as_version=4).cells)
            with tqdm(total=cells, unit="cell", position=1, leave=False) as progress:
                output_path = path if inplace else Path(output_folder) / path.name
                kernel_log = Path(output_folder) / f"{path.stem}.kernel.log"
                results.append(execute_notebook(path, output_path, kernel_log, cell_timeout,
                                                progress))
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


BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def strip_solution(source):
    """Replace each nbgrader solution region of a cell's source by the stub.

    The stub keeps the indentation of the `### BEGIN SOLUTION` line, so a
    solution inside a function body becomes that function's body.

    Example:
    >>> print(strip_solution("def f(x):\\n    ### BEGIN SOLUTION\\n    return x\\n    ### END SOLUTION"))
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN_SOLUTION:
            indent = line[:len(line) - len(line.lstrip())]
            lines += [indent + stub_line for stub_line in STUB.splitlines()]
            inside = True
        elif line.strip() == END_SOLUTION:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


def student_version(notebook):
    """The student version of a solution notebook (nbgrader conventions).

    Solution regions become stubs, outputs and execution counts are
    cleared, and the cells that now fail on purpose (the checks, tagged
    `test`, from the first stub on) are tagged `raises-exception`, so nbval
    runs the student version too. Labs use an exercise's answer only in its
    check, so nothing else fails.

    Args:
        notebook: an `nbformat.NotebookNode` holding solution regions.

    Returns:
        A new `NotebookNode`.
    """
    import copy

    student = copy.deepcopy(notebook)
    stubbed = False
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if BEGIN_SOLUTION in cell.source:
            cell.source = strip_solution(cell.source)
            stubbed = True
        tags = cell.metadata.setdefault("tags", [])
        if stubbed and "test" in tags and "raises-exception" not in tags:
            tags.append("raises-exception")
    return student


def write_student_versions(source, destination):
    """Write student versions of one notebook or of every notebook in a folder.

    Args:
        source: a solution notebook or a folder of them.
        destination: the output notebook, or a folder for a folder source.

    Returns:
        The list of written paths.
    """
    import nbformat

    source, destination = Path(source), Path(destination)
    pairs = ([(path, destination / path.name) for path in sorted(source.glob("*.ipynb"))]
             if source.is_dir() else [(source, destination)])
    for path, target in pairs:
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_version(nbformat.read(path, as_version=4)), target)
    return [target for _, target in pairs]
