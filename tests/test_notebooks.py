"""The lab runner, and the conventions every lab and lecture notebook follows."""

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kerasreg.course import notebooks

ROOT = Path(__file__).resolve().parents[1]
ALL_NOTEBOOKS = sorted(ROOT.glob("labs/*.ipynb")) + sorted(ROOT.glob("lectures/*.ipynb"))
BADGE = re.compile(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/main/"
                   r"(?P<path>[\w/.-]+\.ipynb)")


def _write_notebook(path, *sources):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def lab_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("project")
    (folder / "labs").mkdir()
    _write_notebook(folder / "labs" / "a_good.ipynb",
                    "from kerasreg.course.report import record",
                    "record('answer', 42.0)")
    _write_notebook(folder / "labs" / "b_bad.ipynb",
                    "x = 1",
                    "raise RuntimeError('broken on purpose')",
                    "never = 'reached'")
    return folder


@pytest.fixture(scope="module")
def cli_run(lab_folder):
    return subprocess.run([sys.executable, "-m", "kerasreg", "labs", "--root", str(lab_folder)],
                          capture_output=True, text=True, timeout=300)


def test_runner_exits_non_zero_when_a_lab_fails(cli_run):
    assert cli_run.returncode == 1


def test_runner_summary_has_a_row_per_lab_with_status_and_figures(cli_run, lab_folder):
    summary = (lab_folder / "build" / "labs" / "summary.md").read_text()
    assert "| a_good | passed |" in summary and "answer = 42.0" in summary
    assert "| b_bad | FAILED (cell 1: RuntimeError: broken on purpose) |" in summary


def test_runner_writes_executed_copies_and_keeps_running_after_a_failure(cli_run, lab_folder):
    executed = nbformat.read(lab_folder / "build" / "labs" / "a_good.ipynb", as_version=4)
    assert executed.cells[1].outputs
    source = nbformat.read(lab_folder / "labs" / "a_good.ipynb", as_version=4)
    assert not source.cells[1].outputs


def test_runner_rejects_unknown_names(lab_folder):
    with pytest.raises(ValueError, match=r"`names` must be notebooks of .*a_good, b_bad"):
        notebooks.find_notebooks(lab_folder / "labs", ["c_missing"])


def test_find_notebooks_accepts_stems_and_paths(lab_folder):
    found = notebooks.find_notebooks(lab_folder / "labs", ["labs/b_bad.ipynb", "a_good"])
    assert [path.stem for path in found] == ["b_bad", "a_good"]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_badge_points_to_its_own_path(path):
    notebook = nbformat.read(path, as_version=4)
    badges = [match["path"] for cell in notebook.cells if cell.cell_type == "markdown"
              for match in BADGE.finditer(cell.source)]
    assert badges == [str(path.relative_to(ROOT))]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_follows_the_lab_conventions(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.get("accelerator") == "GPU"
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1 and "ONLINE = False" in parameters[0].source
    counts = [cell.execution_count for cell in notebook.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), "stored outputs must come from one clean run"
    assert str(ROOT) not in json.dumps(notebook), "outputs must not hold this machine's paths"


def _parameterized_notebook(path, *sources):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(notebook, path)
    return path


def test_parse_parameters_reads_literals_and_rejects_a_missing_equals():
    assert notebooks.parse_parameters(["ABLATE=True", "SEEDS=(0, 1)"]) == {
        "ABLATE": True, "SEEDS": (0, 1)}
    with pytest.raises(ValueError, match=r"`param` must be NAME=VALUE.*Received: param='ABLATE'"):
        notebooks.parse_parameters(["ABLATE"])


def test_set_parameters_injects_a_cell_after_the_parameters_cell(tmp_path):
    path = _parameterized_notebook(tmp_path / "lab.ipynb", "ABLATE = False", "print(ABLATE)")
    notebook = notebooks.set_parameters(nbformat.read(path, as_version=4), {"ABLATE": True})
    assert notebook.cells[1].metadata["tags"] == ["injected-parameters"]
    assert "ABLATE = True" in notebook.cells[1].source
    assert notebook.cells[0].source == "ABLATE = False"


def test_set_parameters_keeps_a_tuple_a_sequence(tmp_path):
    path = _parameterized_notebook(tmp_path / "lab.ipynb", "SEEDS = (0, 1, 2)")
    notebook = notebooks.set_parameters(nbformat.read(path, as_version=4), {"SEEDS": (0,)})
    assert "SEEDS = [0]" in notebook.cells[1].source


def test_set_parameters_rejects_a_name_the_parameters_cell_does_not_assign(tmp_path):
    path = _parameterized_notebook(tmp_path / "lab.ipynb", "ABLATE = False")
    with pytest.raises(ValueError, match=r"`param` must be names of the parameters cell "
                                         r"\(ABLATE\). Received: param=\['ABLTE'\]"):
        notebooks.set_parameters(nbformat.read(path, as_version=4), {"ABLTE": True})


@pytest.fixture(scope="module")
def claim_lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("claims")
    (folder / "labs").mkdir()
    _parameterized_notebook(
        folder / "labs" / "claim.ipynb", "ABLATE = False",
        "from kerasreg.course import report\n"
        "gain = 0.0 if ABLATE else 0.1\n"
        "result = report.claim('helps', [0.8 + gain, 0.7 + gain, 0.9 + gain], [0.8, 0.7, 0.9])",
        "assert result.holds, result")
    return folder


def _run_cli(folder, *arguments):
    return subprocess.run([sys.executable, "-m", "kerasreg", "labs", "--root", str(folder),
                           *arguments], capture_output=True, text=True, timeout=300)


def test_runner_param_switches_the_technique_off_and_the_claim_fails(claim_lab):
    assert _run_cli(claim_lab).returncode == 0
    ablated = _run_cli(claim_lab, "--param", "ABLATE=True")
    assert ablated.returncode == 1
    assert "FAILED (cell 3: AssertionError: helps does NOT hold" in ablated.stdout


def test_runner_never_stores_a_failed_run_in_the_source_notebook(claim_lab):
    source = claim_lab / "labs" / "claim.ipynb"
    assert _run_cli(claim_lab, "--inplace").returncode == 0
    passed = source.read_text()
    assert "helps.difference" in passed
    notebook = nbformat.read(source, as_version=4)
    notebook.cells[1].source = notebook.cells[1].source.replace("0.1\n", "0.0\n")
    nbformat.write(notebook, source)
    assert _run_cli(claim_lab, "--inplace").returncode == 1
    stored = nbformat.read(source, as_version=4)
    assert stored.cells[1].source.count("0.0") == 2 and stored.cells[2].outputs == []
    assert not list(source.parent.glob(".*.tmp"))


def test_runner_refuses_inplace_with_parameters(claim_lab):
    refused = _run_cli(claim_lab, "--inplace", "--param", "ABLATE=True")
    assert refused.returncode != 0 and "`parameters` must be empty" in refused.stderr


def test_a_failed_run_shows_no_outputs_of_an_earlier_run(tmp_path):
    folder = tmp_path
    (folder / "labs").mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("raise RuntimeError('now broken')"),
                      nbformat.v4.new_code_cell("from kerasreg.course.report import record\n"
                                                "record('stale', 1.0)")]
    notebook.cells[1].outputs = [nbformat.v4.new_output(
        "display_data", data={"application/vnd.kerasreg.record+json": {"stale": 1.0},
                              "text/plain": "stale = 1.0"})]
    nbformat.write(notebook, folder / "labs" / "old.ipynb")
    assert _run_cli(folder).returncode == 1
    executed = nbformat.read(folder / "build" / "labs" / "old.ipynb", as_version=4)
    assert executed.cells[1].outputs == []
    assert "stale" not in (folder / "build" / "labs" / "summary.md").read_text()
