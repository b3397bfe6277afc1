import nbformat
import numpy as np
import pytest

from kerasreg.course import report


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


def test_claim_records_means_paired_difference_and_its_standard_error():
    result = report.claim("gap_shrinks", [0.10, 0.12, 0.08], [0.30, 0.35, 0.31],
                          higher_is_better=False)
    differences = np.array([0.20, 0.23, 0.23])
    assert result.difference == pytest.approx(differences.mean())
    assert result.difference_se == pytest.approx(differences.std(ddof=1) / np.sqrt(3))
    assert report.recorded["gap_shrinks.technique"] == 0.1
    assert report.recorded["gap_shrinks.baseline"] == 0.32
    assert report.recorded["gap_shrinks.seeds"] == 3
    assert result.holds


def test_claim_pairs_by_seed_so_a_shared_seed_effect_cancels():
    # Each seed shifts both runs alike; the paired difference is steady.
    result = report.claim("paired", [0.61, 0.91, 0.71], [0.60, 0.90, 0.70])
    assert result.difference == pytest.approx(0.01) and result.holds


@pytest.mark.parametrize("technique, baseline", [
    ([0.9, 0.9], [0.8, 0.8]),                 # two seeds are not enough
    ([0.9, 0.7, 0.85], [0.8, 0.8, 0.8]),      # mean within twice its standard error
    ([0.8, 0.8, 0.8], [0.8, 0.8, 0.8]),       # the technique switched off
    ([0.7, 0.7, 0.7], [0.8, 0.8, 0.8]),       # the opposite of the lecture
])
def test_claim_does_not_hold_without_a_clear_effect_over_three_seeds(technique, baseline):
    result = report.claim("unclear", technique, baseline)
    assert not result.holds
    assert "does NOT hold" in str(result)


@pytest.mark.parametrize("technique, baseline, argument", [
    ([0.9, 0.8, 0.7], [0.8, 0.8], "baseline"),
    ([], [], "technique"),
    ([0.9, float("nan"), 0.8], [0.8, 0.8, 0.8], "technique"),
    ("abc", [0.8], "technique"),
])
def test_claim_rejects_values_that_are_not_paired_numbers(technique, baseline, argument):
    with pytest.raises(ValueError, match=f"`{argument}` must be"):
        report.claim("bad", technique, baseline)


def test_check_claims_names_every_claim_that_does_not_hold():
    holds = report.claim("holds", [0.9, 0.8, 0.85], [0.7, 0.6, 0.66])
    fails = report.claim("fails", [0.7, 0.8, 0.9], [0.7, 0.8, 0.9])
    also_fails = report.claim("also_fails", [0.7], [0.6])
    with pytest.raises(AssertionError, match=r"^fails does NOT hold.*; also_fails does NOT hold"):
        report.check_claims(holds, fails, also_fails)
    assert report.check_claims(holds) == "claims hold: holds"
