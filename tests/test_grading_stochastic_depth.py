import numpy as np
import pytest

from kerasreg.course.grading import (GradingError, check_linear_survival,
                                     check_stochastic_depth_block)
from kerasreg.layers import linear_survival


def rule_loop(num_blocks, final_survival):
    return [1 - l / num_blocks * (1 - final_survival) for l in range(1, num_blocks + 1)]


def rule_vectorized(num_blocks, final_survival):
    return 1 - np.arange(1, num_blocks + 1) / num_blocks * (1 - final_survival)


def batch_train(x, fx, p, rng):
    return x + (rng.random() < p) * fx


def per_example_train(x, fx, p, rng):
    keep = rng.random((len(x), 1)) < p
    return np.where(keep, x + fx, x)


def in_place_train(x, fx, p, rng):
    if rng.random() < p:
        x += fx
    return x


def predict(x, fx, p):
    return x + p * fx


@pytest.mark.parametrize("rule", [rule_loop, rule_vectorized, linear_survival])
def test_check_linear_survival_accepts_correct_rules(rule):
    assert check_linear_survival(rule) == "linear survival rule: all checks passed"


@pytest.mark.parametrize("wrong, message", [
    (lambda L, p: [1 - l / L * (1 - p) for l in range(L)], "Off by one: the blocks are numbered"),
    (lambda L, p: [1 - l / (L - 1) * (1 - p) for l in range(L)], "Off by one: with l = 0"),
    (lambda L, p: [1 - l / L * p for l in range(1, L + 1)], "Did you use p_L as the last block's drop"),
    (lambda L, p: [l / L * (1 - p) for l in range(1, L + 1)], "These are drop probabilities"),
    (lambda L, p: rule_loop(L, p)[::-1], "The order is reversed"),
    (lambda L, p: [p] * L, "uniform rule"),
    (lambda L, p: [1 - l / L * (1 - p) for l in range(L + 1)], "without the input"),
])
def test_check_linear_survival_names_the_mistake(wrong, message):
    with pytest.raises(GradingError, match=message):
        check_linear_survival(wrong)


def test_check_linear_survival_catches_drop_probability_only_at_the_second_value():
    # At p_L = 0.5 survival and drop probability coincide: the check must use another p_L.
    def drop_as_survival(L, p):
        return [1 - l / L * p for l in range(1, L + 1)]

    assert np.allclose(drop_as_survival(4, 0.5), rule_loop(4, 0.5))
    with pytest.raises(GradingError, match=r"survival\(10, 0.2\)"):
        check_linear_survival(drop_as_survival)


def test_check_linear_survival_reports_other_errors_with_the_block():
    with pytest.raises(GradingError, match=r"block l = 1 must survive with 0.8750"):
        check_linear_survival(lambda L, p: [0.9] + rule_loop(L, p)[1:])


@pytest.mark.parametrize("train", [batch_train, per_example_train, in_place_train])
def test_check_stochastic_depth_block_accepts_correct_blocks(train):
    assert check_stochastic_depth_block(train, predict) == \
        "stochastic depth block: all checks passed"


def test_check_stochastic_depth_block_accepts_in_place_predict():
    def in_place_predict(x, fx, p):
        fx *= p
        x += fx
        return x

    assert check_stochastic_depth_block(batch_train, in_place_predict).endswith("passed")


@pytest.mark.parametrize("wrong_predict, message", [
    (lambda x, fx, p: x + fx, "Did you forget to scale the branch by p"),
    (lambda x, fx, p: x + (1 - p) * fx, "Did you scale by the drop probability 1 - p"),
    (lambda x, fx, p: p * (x + fx), "Scale only the branch, not the identity"),
    (lambda x, fx, p: x + fx / p, "Dividing by p is the inverted form"),
])
def test_check_stochastic_depth_block_names_test_time_mistakes(wrong_predict, message):
    with pytest.raises(GradingError, match=message):
        check_stochastic_depth_block(batch_train, wrong_predict)


@pytest.mark.parametrize("wrong_train, message", [
    (lambda x, fx, p, rng: x + (rng.random() >= p) * fx, "Did you use p as the drop probability"),
    (lambda x, fx, p, rng: x + (rng.random(x.shape) < p) * fx, "not one per unit"),
    (lambda x, fx, p, rng: x + (rng.random() < p) * fx / p, "Did you divide the kept branch by p"),
    (lambda x, fx, p, rng: (rng.random() < p) * fx, "The identity path always runs"),
    (lambda x, fx, p, rng: x + p * fx, r"must be x \(block dropped\) or x \+ f\(x\)"),
])
def test_check_stochastic_depth_block_names_training_mistakes(wrong_train, message):
    with pytest.raises(GradingError, match=message):
        check_stochastic_depth_block(wrong_train, predict)


def test_check_stochastic_depth_block_catches_a_wrong_shape():
    with pytest.raises(GradingError, match=r"must keep the input's shape \(8, 5\)"):
        check_stochastic_depth_block(lambda x, fx, p, rng: batch_train(x, fx, p, rng)[0], predict)


def test_stochastic_depth_checks_report_a_stub_as_not_implemented():
    def survival_probabilities(num_blocks, final_survival):
        raise NotImplementedError()

    def block_train_step(x, fx, p, rng):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="survival_probabilities is not implemented yet"):
        check_linear_survival(survival_probabilities)
    with pytest.raises(GradingError, match="block_train_step is not implemented yet"):
        check_stochastic_depth_block(block_train_step, predict)
