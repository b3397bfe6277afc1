import numpy as np
import pytest

from kerasreg._batches import input_batches

X = np.arange(12, dtype="float32").reshape(6, 2)
Y = np.arange(6)


@pytest.mark.parametrize("data", [X, (X,), (X, Y), (X, Y, np.ones(6))])
def test_arrays_and_fit_tuples_give_x_in_slices(data):
    batches = list(input_batches(data, batch_size=4))
    assert [batch.tolist() for batch in batches] == [X[:4].tolist(), X[4:].tolist()]


def test_arrays_without_a_batch_size_come_as_one_batch():
    assert [batch.shape for batch in input_batches((X, Y))] == [(6, 2)]


def test_a_dict_is_the_inputs_of_a_multi_input_model():
    batches = list(input_batches({"a": X, "b": Y}, batch_size=5))
    assert [sorted(batch) for batch in batches] == [["a", "b"], ["a", "b"]]
    assert batches[1]["b"].tolist() == [5]


@pytest.mark.parametrize("make", [list, iter])
def test_an_iterable_yields_the_x_of_each_batch_as_it_is(make):
    batches = make([(X[:2], Y[:2]), X[2:5], [X[5:], Y[5:]]])
    assert [batch.shape for batch in input_batches(batches, batch_size=1)] == [
        (2, 2), (3, 2), (1, 2)]


def test_a_tf_data_dataset_of_x_y_batches():
    tf = pytest.importorskip("tensorflow")
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(4)
    batches = [np.asarray(batch) for batch in input_batches(dataset)]
    np.testing.assert_array_equal(np.concatenate(batches), X)
