"""Tests for kerasreg.grading.check_he_init: the lecture's answer passes, the
plausible wrong ones fail with a message that names the mistake."""

import numpy as np
import pytest

from kerasreg.grading import GradingError, check_he_init


def he_init(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def test_check_he_init_accepts_the_lecture_solution():
    assert check_he_init(he_init) == "He initialization: all checks passed"


def test_check_he_init_accepts_the_lectures_global_randn():
    def randn_he_init(fan_in, fan_out, rng):
        return np.random.randn(fan_in, fan_out) * np.sqrt(2.0 / fan_in)

    assert check_he_init(randn_he_init) == "He initialization: all checks passed"


@pytest.mark.parametrize("scale, mistake", [
    (lambda fan_in, fan_out: np.sqrt(1.0 / fan_in), r"That is sqrt\(1 / fan_in\), Xavier"),
    (lambda fan_in, fan_out: np.sqrt(2.0 / fan_out), r"That is sqrt\(2 / fan_out\)"),
    (lambda fan_in, fan_out: np.sqrt(2.0 / (fan_in + fan_out)),
     r"That is sqrt\(2 / \(fan_in"),
    (lambda fan_in, fan_out: 2.0 / fan_in,
     r"That is 2 / fan_in, the variance: take its square root"),
], ids=["xavier", "fan_out", "glorot", "variance"])
def test_check_he_init_names_the_wrong_scale(scale, mistake):
    def wrong(fan_in, fan_out, rng):
        return rng.standard_normal((fan_in, fan_out)) * scale(fan_in, fan_out)

    with pytest.raises(GradingError, match=r"has standard deviation 0\.\d+; He initialization "
                                           r"needs sqrt\(2 / fan_in\) = 0\.0707\. " + mistake):
        check_he_init(wrong)


def test_check_he_init_catches_a_uniform_draw_of_the_right_variance():
    def uniform(fan_in, fan_out, rng):
        limit = np.sqrt(6.0 / fan_in)  # variance limit^2 / 3 = 2 / fan_in
        return rng.uniform(-limit, limit, (fan_in, fan_out))

    with pytest.raises(GradingError, match=r"does not look Gaussian \(kurtosis 1\.8\d"):
        check_he_init(uniform)


def test_check_he_init_catches_a_non_zero_mean():
    with pytest.raises(GradingError, match=r"has mean 0\.01\d\d; the weights must be centred on 0"):
        check_he_init(lambda fan_in, fan_out, rng: he_init(fan_in, fan_out, rng) + 0.01)


def test_check_he_init_catches_swapped_fans():
    with pytest.raises(GradingError, match=r"must return a \(fan_in, fan_out\) = \(400, 100\) "
                                           r"kernel.*got \(100, 400\)\. Did you swap"):
        check_he_init(lambda fan_in, fan_out, rng: he_init(fan_out, fan_in, rng))


def test_check_he_init_reports_a_stub_as_not_implemented():
    def he_init(fan_in, fan_out, rng):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="he_init is not implemented yet"):
        check_he_init(he_init)
