import keras
import numpy as np
import pytest

from kerasreg._snapshot import restore, restored, snapshot


def test_restore_puts_back_the_values_at_the_snapshot():
    weight = keras.Variable([1.0, 2.0])
    count = keras.Variable(3, dtype="int64", trainable=False)
    saved = snapshot([weight, count])
    weight.assign([5.0, 6.0])
    count.assign(9)
    restore(saved)
    assert keras.ops.convert_to_numpy(weight).tolist() == [1.0, 2.0]
    assert int(keras.ops.convert_to_numpy(count)) == 3


def test_the_snapshot_is_a_copy_not_a_view():
    weight = keras.Variable(np.zeros(3, "float32"))
    saved = snapshot([weight])
    weight.assign(np.ones(3, "float32"))
    assert saved[0][1].tolist() == [0.0, 0.0, 0.0]


def test_restored_undoes_changes_also_on_error():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    before = [keras.ops.convert_to_numpy(v) for v in model.variables]
    with pytest.raises(RuntimeError), restored(model.variables):
        for variable in model.variables:
            variable.assign(variable + 1.0)
        raise RuntimeError("interrupted")
    for variable, value in zip(model.variables, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), value)
