"""Check of the transfer-learning lab's exercise: the lecture's 2x2 decision table."""

from kerasreg.course.grading._checks import GradingError, call as _call

TABLE = {(True, True): "linear_probe", (False, True): "finetune_top",
         (True, False): "linear_probe_stages", (False, False): "finetune_most"}
"""The lecture's table: `(very little data, similar) -> strategy`."""

_CHECKED_THRESHOLDS = (100, 5000)


def check_transfer_strategy(strategy):
    """Check `strategy(num_examples, similar, small_data)`: the lecture's 2x2 table.

    Very little data means `num_examples < small_data`. With similar data:
    a linear classifier on the top layer (`"linear_probe"`) when there is
    very little, fine-tune a few layers (`"finetune_top"`) when there is a
    lot; with different data: linear classifiers from different stages
    (`"linear_probe_stages"`) when there is very little, fine-tune a large
    number of layers (`"finetune_most"`) when there is a lot. The check
    asks every cell at two thresholds (100 and 5000, so a hard-coded one
    shows), on both sides of the line and on it (`num_examples ==
    small_data` counts as a lot, `small_data - 1` as very little), and
    names the mistake it recognises.

    Args:
        strategy: the student's function.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> from kerasreg.transfer import fine_tune_strategy
    >>> check_transfer_strategy(fine_tune_strategy)
    'transfer strategy: all checks passed'
    """
    answers, expected = {}, {}
    for small_data in _CHECKED_THRESHOLDS:
        for num_examples in (1, small_data // 2, small_data - 1, small_data, small_data + 1,
                             10 * small_data):
            for similar in (True, False):
                case = (num_examples, similar, small_data)
                answers[case] = _call(strategy, *case)
                expected[case] = TABLE[(num_examples < small_data, similar)]
                if answers[case] not in TABLE.values():
                    raise GradingError(
                        f"strategy{case} returned {answers[case]!r}; it must return one of "
                        f"{', '.join(repr(name) for name in TABLE.values())}.")
    wrong = [case for case in answers if answers[case] != expected[case]]
    if not wrong:
        return "transfer strategy: all checks passed"
    raise GradingError(_diagnosis(answers, expected, wrong))


def _diagnosis(answers, expected, wrong):
    """A message naming the first mistake that explains every wrong answer."""
    case = wrong[0]
    first = (f"strategy(num_examples={case[0]}, similar={case[1]}, small_data={case[2]}) "
             f"returned {answers[case]!r}, expected {expected[case]!r}.")
    swapped_rows = {(not little, similar): name for (little, similar), name in TABLE.items()}
    explanations = [
        (lambda n, similar, small: swapped_rows[(n < small, similar)],
         "Did you swap the rows? Very little data (num_examples < small_data) calls for a "
         "linear classifier, a lot of data for fine-tuning."),
        (lambda n, similar, small: TABLE[(n < small, not similar)],
         "Did you swap the columns? Similar data keep the top layer's features "
         "(linear_probe, finetune_top); different data need earlier stages or more layers "
         "(linear_probe_stages, finetune_most)."),
        (lambda n, similar, small: TABLE[(n <= small, similar)],
         "num_examples == small_data is already 'quite a lot of data': very little data "
         "means num_examples < small_data. Did you write <= ?"),
        (lambda n, similar, small: TABLE[(n < small - 1, similar)],
         "num_examples == small_data - 1 is still 'very little data' (num_examples < "
         "small_data). Is your comparison off by one?"),
        (lambda n, similar, small: TABLE[(n < 5000, similar)],
         "At small_data=100 your answers follow a threshold of 5000: use the `small_data` "
         "argument, not a fixed number."),
        (lambda n, similar, small: TABLE[(True, similar)],
         "You always answered as if there were very little data: compare num_examples "
         "with small_data."),
        (lambda n, similar, small: TABLE[(False, similar)],
         "You always answered as if there were a lot of data: compare num_examples "
         "with small_data."),
        (lambda n, similar, small: TABLE[(n < small, True)],
         "You gave the similar-data answer for different data too: the table's column "
         "depends on `similar`."),
        (lambda n, similar, small: TABLE[(n < small, False)],
         "You gave the different-data answer for similar data too: the table's column "
         "depends on `similar`."),
    ]
    for mistake, hint in explanations:
        if all(answers[case] == mistake(*case) for case in answers):
            return f"{first} {hint}"
    return first
