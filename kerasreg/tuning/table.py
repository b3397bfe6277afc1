"""Results as a table: rows of dicts with a readable text form (the tuning helpers' output)."""

from kerasreg._text_table import text_table


class Table:
    """Rows of results (dicts with the same keys) with a readable text form.

    Index it by position for a row (`table[0]`) or by name for a column
    (`table["learning_rate"]`); iterate over the rows; `len` counts them.

    Args:
        rows: a sequence of dicts.
        columns: column order. Defaults to the keys of the first row.
        hyperparameters: the columns that are settings rather than results
            (what `refine_grid` refines). Defaults to `()`.

    Example:
    >>> table = Table([{"learning_rate": 0.01, "val_accuracy": 0.9},
    ...                {"learning_rate": 0.001, "val_accuracy": 0.85}])
    >>> table["learning_rate"]
    [0.01, 0.001]
    >>> table
    learning_rate  val_accuracy
             0.01           0.9
            0.001          0.85
    """

    def __init__(self, rows, columns=None, hyperparameters=()):
        self.rows = [dict(row) for row in rows]
        self.columns = list(columns if columns is not None else
                            (self.rows[0] if self.rows else []))
        self.hyperparameters = list(hyperparameters)

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key):
        if isinstance(key, str):
            return [row.get(key) for row in self.rows]
        return self.rows[key]

    def __repr__(self):
        return text_table(self.columns, [[format_cell(row.get(column)) for column in self.columns]
                                         for row in self.rows], align="right")


def format_cell(value):
    """A table cell: floats to 4 significant digits, `None` empty."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)
