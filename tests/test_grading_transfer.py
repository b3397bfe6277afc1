"""Tests for kerasreg.course.grading.transfer: the 2x2 transfer decision, its plausible
mistakes."""

import pytest

from kerasreg.course.grading import GradingError, check_transfer_strategy
from kerasreg.transfer import fine_tune_strategy


def _from_table(little_if):
    """A strategy function reading the table, with `little_if(n, small_data)` as its row test."""
    def strategy(num_examples, similar, small_data):
        little = little_if(num_examples, small_data)
        if similar:
            return "linear_probe" if little else "finetune_top"
        return "linear_probe_stages" if little else "finetune_most"
    return strategy


def _lookup(num_examples, similar, small_data):
    """A correct variant: a dict lookup keyed by (row, column)."""
    table = {("little", "similar"): "linear_probe", ("a lot", "similar"): "finetune_top",
             ("little", "different"): "linear_probe_stages",
             ("a lot", "different"): "finetune_most"}
    row = "a lot" if num_examples >= small_data else "little"
    return table[(row, "similar" if similar else "different")]


@pytest.mark.parametrize("answer", [
    fine_tune_strategy, _lookup, _from_table(lambda n, small: not n >= small),
])
def test_correct_variants_pass(answer):
    assert check_transfer_strategy(answer) == "transfer strategy: all checks passed"


def _swapped_columns(num_examples, similar, small_data):
    return _from_table(lambda n, small: n < small)(num_examples, not similar, small_data)


def _ignores_similarity(num_examples, similar, small_data):
    return "linear_probe" if num_examples < small_data else "finetune_top"


def _unknown_name(num_examples, similar, small_data):
    return "fine-tune" if num_examples >= small_data else "linear_probe"


@pytest.mark.parametrize("answer, message", [
    (_from_table(lambda n, small: n <= small), r"returned 'linear_probe', expected "
     r"'finetune_top'\. num_examples == small_data is already 'quite a lot of data'.*<= \?"),
    (_from_table(lambda n, small: n < small - 1), r"small_data - 1 is still 'very little "
     r"data'.*off by one\?"),
    (_from_table(lambda n, small: n >= small), r"Did you swap the rows\?"),
    (_swapped_columns, r"Did you swap the columns\?"),
    (_from_table(lambda n, small: n < 5000), r"small_data=100.*threshold of 5000: use the "
     r"`small_data` argument"),
    (_from_table(lambda n, small: True), r"always answered as if there were very little data"),
    (_ignores_similarity, r"similar-data answer for different data too"),
    (_unknown_name, r"returned 'fine-tune'; it must return one of 'linear_probe', "
     r"'finetune_top', 'linear_probe_stages', 'finetune_most'\."),
    (lambda n, similar, small: "finetune_top" if n % 2 else "linear_probe",
     r"^strategy\(num_examples=1, similar=True, small_data=100\) returned 'finetune_top', "
     r"expected 'linear_probe'\.$"),
])
def test_wrong_answers_are_caught_with_their_mistake_named(answer, message):
    with pytest.raises(GradingError, match=message):
        check_transfer_strategy(answer)


def test_a_stub_is_reported_as_not_implemented():
    def strategy(num_examples, similar, small_data):
        raise NotImplementedError()

    with pytest.raises(GradingError, match=r"strategy is not implemented yet"):
        check_transfer_strategy(strategy)
