from kerasreg._text_table import text_table


def test_columns_are_as_wide_as_their_widest_cell_two_spaces_apart():
    assert text_table(("a", "bbb"), [(1234, "x")]).splitlines() == ["a     bbb", "1234  x"]


def test_right_alignment_and_no_trailing_spaces():
    lines = text_table(("rate", "note"), [(0.1, ""), (0.001, "best")], align="right").splitlines()
    assert lines == [" rate  note", "  0.1", "0.001  best"]
