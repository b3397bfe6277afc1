"""What every exercise check shares: the error it raises and how it calls an answer."""

import numpy as np


class GradingError(AssertionError):
    """An exercise's answer is wrong; the message says how."""


def call(function, *arguments):
    """Call a student's function on copies of its array `arguments`.

    In-place code (`h *= mask`) is fine: the check's own arrays are never
    changed. Other arguments (a random generator) are passed as they are.
    A stub that still raises `NotImplementedError` becomes a `GradingError`
    saying so.
    """
    copies = [np.array(argument) if isinstance(argument, np.ndarray) else argument
              for argument in arguments]
    try:
        return function(*copies)
    except NotImplementedError:
        raise GradingError(f"{function.__name__} is not implemented yet: replace "
                           "`raise NotImplementedError()` with your code.") from None


def expect_shape(what, shape, expected):
    """Raise a `GradingError` unless `shape` is `expected`."""
    if tuple(shape) != tuple(expected):
        raise GradingError(f"{what} must keep the input's shape {tuple(expected)}; "
                           f"got {tuple(shape)}.")
