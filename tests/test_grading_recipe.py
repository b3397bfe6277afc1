"""Tests for kerasreg.course.grading.check_initial_loss_exercise: ln C and the mean cross-entropy
pass; log10, the predicted class instead of the label, C from the labels... are named."""

import math

import keras
import numpy as np
import pytest

from kerasreg.course.grading import GradingError, check_initial_loss_exercise


def _picked(probabilities, labels):
    return probabilities[np.arange(len(labels)), labels]


def initial_loss(probabilities, labels):
    return -np.log(_picked(probabilities, labels)).mean(), np.log(probabilities.shape[1])


def test_check_initial_loss_accepts_the_lecture_solution():
    assert check_initial_loss_exercise(initial_loss) == "initial loss: all checks passed"


def test_check_initial_loss_accepts_keras_cross_entropy_and_a_one_hot_sum():
    def with_keras(probabilities, labels):
        loss = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        return float(np.mean(keras.ops.convert_to_numpy(loss))), math.log(len(probabilities[0]))

    def one_hot(probabilities, labels):
        targets = np.eye(probabilities.shape[1])[labels]
        return -(targets * np.log(probabilities)).sum(axis=1).mean(), -np.log(
            1 / probabilities.shape[1])

    assert check_initial_loss_exercise(with_keras) == "initial loss: all checks passed"
    assert check_initial_loss_exercise(one_hot) == "initial loss: all checks passed"


@pytest.mark.parametrize("expected, mistake", [
    (lambda p, y: np.log10(p.shape[1]), r"expected = 1\.0000; .* ln C = 2\.3026\. Did you "
                                        r"use log10\?"),
    (lambda p, y: np.log2(p.shape[1]), r"Did you use log2\?"),
    (lambda p, y: 1 / p.shape[1], r"1 / C is the uniform probability"),
    (lambda p, y: np.log(y.max() + 1), r"Did you read C from the labels\?"),
    (lambda p, y: np.log(10), r"shape \(8, 3\), labels\) returned expected = 2\.3026; .* "
                              r"ln C = 1\.0986\.$"),
], ids=["log10", "log2", "one_over_c", "classes_from_labels", "hard_coded"])
def test_check_initial_loss_names_the_wrong_expected_loss(expected, mistake):
    with pytest.raises(GradingError, match=mistake):
        check_initial_loss_exercise(lambda p, y: (initial_loss(p, y)[0], expected(p, y)))


@pytest.mark.parametrize("measured, mistake", [
    (lambda p, y: -np.log10(_picked(p, y)).mean(), r"Did you use log10\? Cross-entropy"),
    (lambda p, y: -np.log(_picked(p, y)).sum(), r"Did you sum over the examples\?"),
    (lambda p, y: -np.log(p.max(axis=1)).mean(), r"Did you take the largest probability\?"),
    (lambda p, y: -np.log(p).mean(), r"Did you average -ln p over every class\?"),
    (lambda p, y: np.log(_picked(p, y)).mean(), r"Did you forget the minus sign\?"),
], ids=["log10", "sum", "max_probability", "every_class", "sign"])
def test_check_initial_loss_names_the_wrong_measured_loss(measured, mistake):
    with pytest.raises(GradingError, match=r"returned measured = -?\d+\.\d+; the mean "
                                           r"cross-entropy .* " + mistake):
        check_initial_loss_exercise(lambda p, y: (measured(p, y), initial_loss(p, y)[1]))


def test_check_initial_loss_reports_a_stub_as_not_implemented():
    def initial_loss(probabilities, labels):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="initial_loss is not implemented yet"):
        check_initial_loss_exercise(initial_loss)
