"""Checks run on every public layer of kerasreg.layers (cases in tests/layer_checks.py)."""

from tests.layer_checks import layer_cases, assert_loads_in_fresh_processes, public_layer_names


def test_every_public_layer_has_a_harness_case():
    assert public_layer_names() == sorted(layer_cases())


def test_every_public_layer_loads_in_a_fresh_process_after_import_kerasreg(tmp_path):
    assert_loads_in_fresh_processes(tmp_path)
