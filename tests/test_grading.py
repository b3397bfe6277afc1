import numpy as np
import pytest

from kerasreg.grading import GradingError, check_dropout


def vanilla_train(h, p, rng):
    return h * (rng.random(h.shape) < p)


def vanilla_predict(h, p):
    return h * p


def inverted_train(h, p, rng):
    return h * (rng.random(h.shape) < p) / p


def inverted_predict(h, p):
    return h


def test_check_dropout_accepts_the_lecture_solutions():
    assert check_dropout(vanilla_train, vanilla_predict, inverted=False) == \
        "vanilla dropout: all checks passed"
    assert check_dropout(inverted_train, inverted_predict, inverted=True) == \
        "inverted dropout: all checks passed"


def test_check_dropout_catches_inverted_dropout_without_the_rescale():
    with pytest.raises(GradingError, match="Did you forget to divide the kept units by p"):
        check_dropout(vanilla_train, inverted_predict, inverted=True)


def test_check_dropout_catches_vanilla_dropout_without_test_time_scaling():
    with pytest.raises(GradingError, match=r"must equal the expected training output"):
        check_dropout(vanilla_train, inverted_predict, inverted=False)


def test_check_dropout_catches_p_used_as_the_drop_probability():
    def drops_with_p(h, p, rng):
        return h * (rng.random(h.shape) >= p)

    with pytest.raises(GradingError, match=r"kept .* of the units"):
        check_dropout(drops_with_p, vanilla_predict, inverted=False, keep_probability=0.8)


def test_check_dropout_reports_a_stub_as_not_implemented():
    def vanilla_train(h, p, rng):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="vanilla_train is not implemented yet"):
        check_dropout(vanilla_train, vanilla_predict, inverted=False)


def test_check_dropout_catches_a_wrong_shape():
    with pytest.raises(GradingError, match=r"must keep the input's shape \(100, 40\)"):
        check_dropout(lambda h, p, rng: vanilla_train(h, p, rng).ravel(), vanilla_predict,
                      inverted=False)
