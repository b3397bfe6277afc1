import nbformat
import numpy as np
import pytest

from kerasreg import report


def test_record_rounds_floats_and_keeps_them(capsys):
    assert report.record("val_accuracy", 0.912345) == 0.9123
    assert report.recorded["val_accuracy"] == 0.9123
    assert capsys.readouterr().out == "val_accuracy = 0.9123\n"


def test_record_keeps_integers_integral():
    assert report.record("best_epoch", np.int64(6)) == 6
    assert isinstance(report.recorded["best_epoch"], int)


@pytest.mark.parametrize("name, value, argument", [("", 1.0, "name"), ("x", [1, 2], "value"),
                                                   ("x", None, "value")])
def test_record_rejects_bad_arguments(name, value, argument):
    with pytest.raises(ValueError, match=f"`{argument}` must be"):
        report.record(name, value)


def test_read_records_collects_figures_from_cell_outputs():
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("record(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        report.MIME_TYPE: {"gap": 0.1}, "text/plain": "gap = 0.1"})]
    notebook.cells = [nbformat.v4.new_markdown_cell("# lab"), cell]
    assert report.read_records(notebook) == {"gap": 0.1}
