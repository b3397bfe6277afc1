import keras
import numpy as np
import pytest

from kerasreg._validation import (check_choice, check_images, check_learning_rates, check_model,
                                  check_number, check_one_per_image, check_value_range,
                                  check_values)


@pytest.mark.parametrize("value", [1.5, -0.1, float("nan"), "0.5", True, None])
def test_check_number_names_argument_value_and_range(value):
    with pytest.raises(ValueError) as error:
        check_number("rate", value, 0, 1, high_open=True)
    assert str(error.value) == f"`rate` must be a number in [0, 1). Received: rate={value!r}"


def test_check_number_requires_integers_when_asked():
    with pytest.raises(ValueError, match=r"`groups` must be an integer >= 1. Received: groups=2.5"):
        check_number("groups", 2.5, 1, integer=True)


def test_check_number_accepts_the_closed_bounds():
    assert check_number("p", 1, 0, 1, low_open=True) == 1


def test_check_choice_lists_the_valid_values():
    with pytest.raises(ValueError, match="`mode` must be one of 'batch', 'sample'. "
                                         "Received: mode='row'"):
        check_choice("mode", "row", ("batch", "sample"))


def test_check_choice_does_not_take_one_for_true():
    with pytest.raises(ValueError, match="Received: scale_at_test=1"):
        check_choice("scale_at_test", 1, (True, False))


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_check_number_rejects_infinity_by_default(value):
    with pytest.raises(ValueError, match=rf"`fill_value` must be a finite number. "
                                         rf"Received: fill_value={value!r}"):
        check_number("fill_value", value)


def test_check_number_accepts_infinity_when_asked():
    assert check_number("patience", float("inf"), 0, finite=False) == float("inf")


def test_check_model_names_the_argument_it_is_given():
    with pytest.raises(ValueError, match=r"`base` must be a keras.Model. Received: base='cnn'"):
        check_model("cnn", "base")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert check_model(model) is model


@pytest.mark.parametrize("rates", [[], (), "0.1", [0.1, 0.0], [float("nan")], None])
def test_check_learning_rates_wants_a_non_empty_sequence_of_positive_rates(rates):
    with pytest.raises(ValueError, match="`learning_rates` must be"):
        check_learning_rates(rates)


def test_check_learning_rates_returns_valid_rates_unchanged():
    assert check_learning_rates((1e-3, 0.1)) == (1e-3, 0.1)


def test_check_images_shows_the_shape_received():
    with pytest.raises(ValueError) as error:
        check_images(np.zeros((8, 8, 3)))
    assert str(error.value) == ("`images` must be a batch of shape (B, H, W, C). "
                                "Received: images of shape (8, 8, 3)")


def test_check_one_per_image_compares_static_counts_only():
    symbolic = keras.KerasTensor((None, 8, 8, 3))
    assert check_one_per_image("strengths", [0.1, 0.2], symbolic) == [0.1, 0.2]
    unknown_count = keras.KerasTensor((None,))
    assert check_one_per_image("strengths", unknown_count, np.zeros((3, 8, 8, 1))) is unknown_count
    with pytest.raises(ValueError, match=r"\(3 images\). Received: strengths of shape \(2,\)"):
        check_one_per_image("strengths", [0.1, 0.2], np.zeros((3, 8, 8, 1)))


@pytest.mark.parametrize("values", [[0.5, 1.5], [-0.1], [float("nan")]])
def test_check_values_rejects_concrete_values_outside_the_range(values):
    with pytest.raises(ValueError, match=r"`lambdas` must be numbers in \[0, 1\]"):
        check_values("lambdas", values, 0, 1)


def test_check_values_lets_symbolic_values_through():
    symbolic = keras.KerasTensor((4,))
    assert check_values("lambdas", symbolic, 0, 1) is symbolic


def test_check_values_summarizes_a_long_array():
    with pytest.raises(ValueError, match=r"Received: lambdas='an array in \[0.0, 2.0\]'"):
        check_values("lambdas", np.linspace(0, 2, 50), 0, 1)


@pytest.mark.parametrize("value_range", [(1, 0), (0,), (0, float("inf")), (False, 1), "01"])
def test_check_value_range_wants_two_finite_increasing_numbers(value_range):
    with pytest.raises(ValueError, match="`value_range` must be a pair"):
        check_value_range(value_range)
