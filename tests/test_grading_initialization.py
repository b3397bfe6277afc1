"""kerasreg.course.grading.check_he_init: correct variants pass, each plausible mistake is
named."""

import keras
import numpy as np
import pytest

from kerasreg.course.grading import GradingError, check_he_init


def he_init(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def keras_he_normal(fan_in, fan_out, rng):  # a normal truncated at 2 standard deviations
    seed = int(rng.integers(2**31))
    return keras.initializers.HeNormal(seed=seed)((fan_in, fan_out))


CORRECT = {
    "lecture": he_init,
    "global randn": lambda fan_in, fan_out, rng: (np.random.randn(fan_in, fan_out)
                                                  * np.sqrt(2.0 / fan_in)),
    "rng.normal": lambda fan_in, fan_out, rng: rng.normal(0.0, np.sqrt(2.0 / fan_in),
                                                          (fan_in, fan_out)),
    "divided by sqrt(fan_in / 2)": lambda fan_in, fan_out, rng: (
        rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in / 2)),
    "Keras HeNormal": keras_he_normal,
}


@pytest.mark.parametrize("answer", CORRECT.values(), ids=CORRECT.keys())
def test_check_he_init_accepts_every_correct_variant(answer):
    assert check_he_init(answer) == "He initialization: all checks passed"


@pytest.mark.parametrize("seed", range(8))
def test_check_he_init_accepts_keras_truncated_he_normal_for_every_seed(seed):
    def answer(fan_in, fan_out, rng):
        return keras.initializers.HeNormal(seed=seed)((fan_in, fan_out))

    check_he_init(answer)


def _scaled(scale):
    return lambda fan_in, fan_out, rng: rng.standard_normal((fan_in, fan_out)) * scale(
        fan_in, fan_out)


WRONG = {
    "hard-coded for 400 inputs": (
        _scaled(lambda fan_in, fan_out: np.sqrt(2.0 / 400)),
        r"he_init\(fan_in=64, fan_out=512, rng\) has standard deviation 0\.07\d+; He "
        r"initialization needs sqrt\(2 / fan_in\) = 0\.1768\. That is sqrt\(2 / 400\), the "
        r"scale of a layer with 400 inputs"),
    "1.8 instead of 2": (
        _scaled(lambda fan_in, fan_out: np.sqrt(1.8 / fan_in)),
        r"has standard deviation 0\.06\d+; He initialization needs sqrt\(2 / fan_in\) = "
        r"0\.0707\.$"),
    "Xavier": (_scaled(lambda fan_in, fan_out: np.sqrt(1.0 / fan_in)),
               r"That is sqrt\(1 / fan_in\), Xavier"),
    "fan_out": (_scaled(lambda fan_in, fan_out: np.sqrt(2.0 / fan_out)),
                r"That is sqrt\(2 / fan_out\)"),
    "Glorot": (_scaled(lambda fan_in, fan_out: np.sqrt(2.0 / (fan_in + fan_out))),
               r"That is sqrt\(2 / \(fan_in \+ fan_out\)\), Glorot"),
    "the variance": (_scaled(lambda fan_in, fan_out: 2.0 / fan_in),
                     r"That is 2 / fan_in, the variance: take its square root"),
    "sqrt of 2 only": (_scaled(lambda fan_in, fan_out: np.sqrt(2.0) / fan_in),
                       r"That is sqrt\(2\) / fan_in"),
    "randn unscaled": (_scaled(lambda fan_in, fan_out: 1.0), r"That is 1, randn's own scale"),
    "symmetric: every unit a copy": (
        lambda fan_in, fan_out, rng: np.tile(he_init(fan_in, 1, rng), (1, fan_out)),
        r"returns units \(columns\) that are copies of each other"),
    "constant": (lambda fan_in, fan_out, rng: np.full((fan_in, fan_out), np.sqrt(2 / fan_in)),
                 r"returns units \(columns\) that are copies of each other"),
    "one weight per unit": (
        lambda fan_in, fan_out, rng: np.tile(he_init(fan_in, fan_out, rng)[:1], (fan_in, 1)),
        r"gives each unit one weight repeated over its inputs"),
    "uniform of the right variance": (
        lambda fan_in, fan_out, rng: rng.uniform(-1, 1, (fan_in, fan_out)) * np.sqrt(
            6.0 / fan_in),
        r"looks uniform \(kurtosis 1\.8\d; a Gaussian's is 3"),
    "Keras HeUniform": (
        lambda fan_in, fan_out, rng: keras.initializers.HeUniform(seed=0)((fan_in, fan_out)),
        r"looks uniform"),
    "non-zero mean": (lambda fan_in, fan_out, rng: he_init(fan_in, fan_out, rng) + 0.01,
                      r"has mean 0\.01\d\d; the weights must be centred on 0"),
    "swapped fans": (lambda fan_in, fan_out, rng: he_init(fan_out, fan_in, rng),
                     r"must return a \(fan_in, fan_out\) = \(400, 100\) kernel.*got "
                     r"\(100, 400\)\. Did you swap"),
}


@pytest.mark.parametrize("answer, message", WRONG.values(), ids=WRONG.keys())
def test_check_he_init_names_each_plausible_mistake(answer, message):
    with pytest.raises(GradingError, match=message):
        check_he_init(answer)


def test_check_he_init_rejects_a_symmetric_kernel_for_every_seed():
    def symmetric(fan_in, fan_out, rng):
        return np.tile(he_init(fan_in, 1, rng), (1, fan_out))

    for seed in range(8):
        with pytest.raises(GradingError, match="copies of each other"):
            check_he_init(symmetric, layers=((400 + seed, 100), (64, 512)))


def test_check_he_init_reports_a_stub_as_not_implemented():
    def he_init(fan_in, fan_out, rng):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="he_init is not implemented yet"):
        check_he_init(he_init)


def test_check_he_init_needs_layers_large_enough_to_measure_the_scale():
    with pytest.raises(ValueError, match=r"`layers` must be \(fan_in, fan_out\) pairs of at "
                                         r"least 10,000 weights each"):
        check_he_init(he_init, layers=((10, 10), (64, 512)))
