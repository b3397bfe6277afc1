"""Tests for kerasreg.course.grading.check_standardize: training statistics only; the plausible
wrong answers (validation statistics leaking in, wrong axis, variance...) are named."""

import keras
import numpy as np
import pytest

from kerasreg.course.grading import GradingError, check_standardize


def standardize(x_train, x_val):
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    return (x_train - mean) / std, (x_val - mean) / std


def test_check_standardize_accepts_the_lecture_solution():
    assert check_standardize(standardize) == "standardizing: all checks passed"


def test_check_standardize_accepts_in_place_code_and_the_sample_std():
    def in_place(x_train, x_val):
        mean, std = x_train.mean(axis=0), x_train.std(axis=0, ddof=1)
        x_val -= mean
        x_val /= std
        x_train -= mean
        x_train /= std
        return x_train, x_val

    assert check_standardize(in_place) == "standardizing: all checks passed"


def test_check_standardize_accepts_a_keras_normalization_layer():
    def with_keras(x_train, x_val):
        layer = keras.layers.Normalization()
        layer.adapt(x_train)
        return (keras.ops.convert_to_numpy(layer(x_train)),
                keras.ops.convert_to_numpy(layer(x_val)))

    assert check_standardize(with_keras) == "standardizing: all checks passed"


def _own_val_statistics(x_train, x_val):
    return standardize(x_train, x_train)[0], standardize(x_val, x_val)[0]


def _pooled(x_train, x_val):
    both = np.concatenate([x_train, x_val])
    mean, std = both.mean(axis=0), both.std(axis=0)
    return (x_train - mean) / std, (x_val - mean) / std


def _rows(x_train, x_val):
    return tuple((x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
                 for x in (x_train, x_val))


@pytest.mark.parametrize("wrong, mistake", [
    (_own_val_statistics, r"the validation output .* The validation rows were standardized "
                          r"with their own statistics"),
    (_pooled, r"the training output .* The statistics include the validation rows"),
    (_rows, r"Statistics per row \(axis=1\)\?"),
    (lambda x_train, x_val: tuple((x - x_train.mean(axis=0)) / x_train.var(axis=0)
                                  for x in (x_train, x_val)), r"Did you divide by the variance"),
    (lambda x_train, x_val: (x_train - x_train.mean(axis=0), x_val - x_train.mean(axis=0)),
     r"Only centered"),
    (lambda x_train, x_val: (x_train / x_train.std(axis=0), x_val / x_train.std(axis=0)),
     r"Did you forget to subtract the mean"),
    (lambda x_train, x_val: tuple((x - x_train.mean()) / x_train.std()
                                  for x in (x_train, x_val)),
     r"One mean and standard deviation for the whole table"),
], ids=["val_statistics", "pooled", "per_row", "variance", "centered_only", "not_centered",
        "global_statistics"])
def test_check_standardize_names_the_mistake(wrong, mistake):
    with pytest.raises(GradingError, match=mistake):
        check_standardize(wrong)


def test_check_standardize_rejects_a_transposed_output():
    with pytest.raises(GradingError, match=r"training output must keep the input's shape "
                                           r"\(40, 3\); got \(3, 40\)"):
        check_standardize(lambda x_train, x_val: tuple(s.T for s in standardize(x_train, x_val)))


def test_check_standardize_reports_a_stub_as_not_implemented():
    def standardize(x_train, x_val):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="standardize is not implemented yet"):
        check_standardize(standardize)
