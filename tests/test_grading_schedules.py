"""Tests for kerasreg.course.grading.check_step_decay and check_cosine_decay: the lecture's
formulas (and Keras' CosineDecay) pass, the plausible wrong ones are named."""

import bisect
import math

import keras
import numpy as np
import pytest

from kerasreg.course.grading import GradingError, check_cosine_decay, check_step_decay


def test_check_step_decay_accepts_a_count_of_the_milestones_passed():
    def step_decay(t, a0, milestones, factor):
        return a0 * factor ** sum(t >= milestone for milestone in milestones)

    assert check_step_decay(step_decay) == "step decay: all checks passed"


@pytest.mark.parametrize("count", [
    lambda t, milestones: bisect.bisect_right(milestones, t),
    lambda t, milestones: int(np.searchsorted(milestones, t, side="right")),
], ids=["bisect", "searchsorted"])
def test_check_step_decay_accepts_other_ways_to_count(count):
    assert check_step_decay(lambda t, a0, milestones, factor: a0 * factor ** count(
        t, milestones)) == "step decay: all checks passed"


@pytest.mark.parametrize("wrong, mistake", [
    (lambda t, a0, m, f: a0 * f ** sum(t > x for x in m),
     r"step_decay\(t=3, a0=0\.1, milestones=\(3, 6, 8\), factor=0\.1\) returned 0\.1; "
     r"expected 0\.01\. The rate drops at the start of a milestone epoch"),
    (lambda t, a0, m, f: a0 * f ** sum(t + 1 >= x for x in m),
     r"step_decay\(t=2, .*Did you count the epochs from 1"),
    (lambda t, a0, m, f: a0 * (f if any(t >= x for x in m) else 1.0),
     r"step_decay\(t=6, .*The factor compounds"),
    (lambda t, a0, m, f: a0 * f ** t, r"step_decay\(t=1, .*Did you decay every epoch"),
    (lambda t, a0, m, f: 0.1 * 0.1 ** sum(t >= x for x in (3, 6, 8)),
     r"step_decay\(t=0, a0=2\.0, milestones=\(2, 5\), factor=0\.5\) returned 0\.1; "
     r"expected 2\.$"),
], ids=["after_milestone", "from_one", "no_compounding", "every_epoch", "hard_coded"])
def test_check_step_decay_names_the_mistake(wrong, mistake):
    with pytest.raises(GradingError, match=mistake):
        check_step_decay(wrong)


def test_check_cosine_decay_accepts_the_lectures_formula_and_numpy():
    assert check_cosine_decay(lambda t, a0, T: 0.5 * a0 * (1 + math.cos(t * math.pi / T))
                              ) == "cosine decay: all checks passed"
    assert check_cosine_decay(lambda t, a0, T: a0 * np.cos(np.pi * t / (2 * T)) ** 2
                              ) == "cosine decay: all checks passed"


def test_check_cosine_decay_accepts_keras_cosine_decay():
    def cosine_decay(t, a0, total):
        schedule = keras.optimizers.schedules.CosineDecay(a0, decay_steps=total)
        return float(keras.ops.convert_to_numpy(schedule(t)))

    assert check_cosine_decay(cosine_decay) == "cosine decay: all checks passed"


@pytest.mark.parametrize("wrong, mistake", [
    (lambda t, a0, T: a0 * math.cos(t * math.pi / T), r"Did you forget the 0\.5 \* \(1 \+"),
    (lambda t, a0, T: 0.5 * a0 * (1 - math.cos(t * math.pi / T)),
     r"cosine_decay\(t=0, a0=0\.1, T=10\) returned 0; expected 0\.1\. .*not 1 - cos"),
    (lambda t, a0, T: a0 * (1 + math.cos(t * math.pi / T)),
     r"returned 0\.2; expected 0\.1\. Did you forget the 0\.5\?"),
    (lambda t, a0, T: 0.5 * a0 * (1 + math.cos(t * math.pi / (T - 1))),
     r"Did you divide by T - 1"),
    (lambda t, a0, T: 0.5 * a0 * (1 + math.cos(t / T)), r"Did you leave out pi"),
    (lambda t, a0, T: 0.5 * a0 * (1 + math.cos(2 * t * math.pi / T)), r"Did you use 2 \* pi"),
    (lambda t, a0, T: 0.5 * a0 * (1 + math.cos(t * math.pi / 10)),
     r"cosine_decay\(t=1, a0=3\.0, T=7\) .*expected 2\.85\d+\.$"),
], ids=["no_half_one_plus", "one_minus", "no_half", "t_minus_one", "no_pi", "two_pi",
        "hard_coded_T"])
def test_check_cosine_decay_names_the_mistake(wrong, mistake):
    with pytest.raises(GradingError, match=mistake):
        check_cosine_decay(wrong)


def test_schedule_checks_report_stubs_as_not_implemented():
    def step_decay(t, a0, milestones, factor):
        raise NotImplementedError()

    def cosine_decay(t, a0, total_epochs):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="step_decay is not implemented yet"):
        check_step_decay(step_decay)
    with pytest.raises(GradingError, match="cosine_decay is not implemented yet"):
        check_cosine_decay(cosine_decay)
