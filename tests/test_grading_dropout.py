"""kerasreg.course.grading.check_dropout: correct variants pass, each plausible mistake is
named."""

import numpy as np
import pytest

from kerasreg.course.grading import GradingError, check_dropout


def vanilla_train(h, p, rng):
    return h * (rng.random(h.shape) < p)


def vanilla_predict(h, p):
    return h * p


def inverted_train(h, p, rng):
    return h * (rng.random(h.shape) < p) / p


def inverted_predict(h, p):
    return h


def vanilla_train_in_place(h, p, rng):  # the slide's code
    mask = rng.random(h.shape) < p
    h *= mask
    return h


def vanilla_predict_in_place(h, p):
    h *= p
    return h


def inverted_train_in_place(h, p, rng):
    mask = (rng.random(h.shape) < p) / p
    h *= mask
    return h


CORRECT = {
    "vanilla, lecture": (vanilla_train, vanilla_predict, False),
    "vanilla, in place": (vanilla_train_in_place, vanilla_predict_in_place, False),
    "vanilla, np.where": (lambda h, p, rng: np.where(rng.random(h.shape) < p, h, 0.0),
                          vanilla_predict, False),
    "vanilla, binomial mask": (lambda h, p, rng: h * rng.binomial(1, p, h.shape),
                               vanilla_predict, False),
    "inverted, lecture": (inverted_train, inverted_predict, True),
    "inverted, in place": (inverted_train_in_place, inverted_predict, True),
    "inverted, np.where": (lambda h, p, rng: np.where(rng.random(h.shape) < p, h / p, 0.0),
                           lambda h, p: h.copy(), True),
}


@pytest.mark.parametrize("train, predict, inverted", CORRECT.values(), ids=CORRECT.keys())
def test_check_dropout_accepts_every_correct_variant(train, predict, inverted):
    name = "inverted" if inverted else "vanilla"
    assert check_dropout(train, predict, inverted) == f"{name} dropout: all checks passed"


def test_check_dropout_grades_in_place_code_on_its_own_inputs():
    seen = []

    def train(h, p, rng):
        seen.append(h.min())
        return vanilla_train_in_place(h, p, rng)

    check_dropout(train, vanilla_predict_in_place, inverted=False)
    assert seen == [0.5, 0.5]  # h was never zeroed by the previous call


WRONG = {
    "vanilla predict scales by the drop rate": (
        vanilla_train, lambda h, p: h * (1 - p), False,
        r"predict\(h, p=0\.8\) must equal the expected training output p \* h.*Did you scale "
        r"by the drop rate 1 - p instead of the keep probability p\?"),
    "vanilla mask keeps with probability 1 - p": (
        lambda h, p, rng: h * (rng.random(h.shape) >= p), vanilla_predict, False,
        r"train\(h, p=0\.8, rng\) kept \d+\.\d% of the units.*Did you use p as the drop "
        r"probability"),
    "vanilla predict without scaling": (
        vanilla_train, lambda h, p: h, False,
        r"Vanilla dropout scales at test time: every unit on, times p\."),
    "vanilla predict divides by p": (
        vanilla_train, lambda h, p: h / p, False, r"Multiply by p: dividing by p belongs"),
    "vanilla train rescales like inverted": (
        inverted_train, vanilla_predict, False,
        r"That is inverted dropout's training pass"),
    "vanilla train scales by p": (
        lambda h, p, rng: vanilla_train(h, p, rng) * p, vanilla_predict, False,
        r"Vanilla dropout does not scale in training"),
    "vanilla mask shared by every example": (
        lambda h, p, rng: h * (rng.random(h.shape[1]) < p), vanilla_predict, False,
        r"drops the same units in every example \(row\) of h"),
    "vanilla output flattened": (
        lambda h, p, rng: vanilla_train(h, p, rng).ravel(), vanilla_predict, False,
        r"must keep the input's shape \(100, 40\); got \(4000,\)"),
    "inverted divides by the drop rate": (
        lambda h, p, rng: h * (rng.random(h.shape) < p) / (1 - p), inverted_predict, True,
        r"Did you divide by the drop rate 1 - p instead of the keep probability p\?"),
    "inverted without the rescale": (
        vanilla_train, inverted_predict, True,
        r"Did you forget to divide the kept units by p\?"),
    "inverted predict scales again": (
        inverted_train, vanilla_predict, True,
        r"must equal the expected training output h.*Inverted dropout already rescaled in "
        r"training: predict returns h as it is\."),
    "inverted mask keeps with probability 1 - p": (
        lambda h, p, rng: h * (rng.random(h.shape) >= p) / p, inverted_predict, True,
        r"kept \d+\.\d% of the units.*Did you use p as the drop probability"),
    "inverted predict samples a mask": (
        inverted_train, lambda h, p: inverted_train(h, p, np.random.default_rng()), True,
        r"predict\(h, p=0\.8\) must equal the expected training output h; at h="),
}


@pytest.mark.parametrize("train, predict, inverted, message", WRONG.values(), ids=WRONG.keys())
def test_check_dropout_names_each_plausible_mistake(train, predict, inverted, message):
    with pytest.raises(GradingError, match=message):
        check_dropout(train, predict, inverted)


def test_check_dropout_catches_a_mistake_seen_only_at_the_second_keep_probability():
    def keeps_eight_in_ten(h, p, rng):  # hard-coded for the first value
        return h * (rng.random(h.shape) < 0.8)

    with pytest.raises(GradingError, match=r"train\(h, p=0\.3, rng\) kept 8\d\.\d% of the units"):
        check_dropout(keeps_eight_in_ten, vanilla_predict, inverted=False)


def test_check_dropout_reports_a_stub_as_not_implemented():
    def vanilla_train(h, p, rng):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="vanilla_train is not implemented yet"):
        check_dropout(vanilla_train, vanilla_predict, inverted=False)


def test_check_dropout_needs_two_different_keep_probabilities():
    with pytest.raises(ValueError, match=r"`keep_probabilities` must be two or more different "
                                         r"numbers in \(0, 1\)\. Received: "
                                         r"keep_probabilities=\(0\.5,\)"):
        check_dropout(vanilla_train, vanilla_predict, False, keep_probabilities=(0.5,))
