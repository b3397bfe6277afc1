"""Aligned plain-text tables, for the `str()` / `repr()` of result objects.

Shared by `tuning.Table` (numbers, right-aligned) and
`inference.BatchNormAudit` (names and modes, left-aligned).
"""


def text_table(header, rows, align="left"):
    """The header and rows as lines of columns two spaces apart.

    Args:
        header: the column titles.
        rows: lists of cells (anything `str()` can show), one per column.
        align: `"left"` or `"right"` within each column. Defaults to `"left"`.

    Returns:
        The table as one string, without trailing spaces.

    Example:
    >>> print(text_table(("name", "value"), [("lr", 0.1), ("momentum", 0.9)]))
    name      value
    lr        0.1
    momentum  0.9
    """
    cells = [[str(cell) for cell in line] for line in [header, *rows]]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    justify = str.ljust if align == "left" else str.rjust
    return "\n".join("  ".join(justify(cell, width) for cell, width in zip(line, widths)).rstrip()
                     for line in cells)
