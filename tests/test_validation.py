import keras
import pytest

from kerasreg._validation import check_choice, check_learning_rates, check_model, check_number


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
