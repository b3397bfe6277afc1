import keras

from kerasreg._layer_search import find_layers, walk
from kerasreg.layers import StochasticDepth


def _model():
    branch = keras.Sequential([keras.layers.Dense(4, name="branch_dense"),
                               keras.layers.BatchNormalization(name="branch_bn")],
                              name="branch")
    inner = keras.Sequential([keras.layers.Dense(4, name="dense"),
                              keras.layers.BatchNormalization(name="bn")], name="inner")
    inputs = keras.Input((4,))
    x = inner(inputs)
    x = StochasticDepth(branch, 0.5, name="residual")(x)
    x = inner(x)  # the same nested model twice: its layers once
    return keras.Model(inputs, keras.layers.Dense(2, name="head")(x), name="outer")


def test_walk_goes_depth_first_each_layer_once_at_its_first_path():
    paths = [path for path, layer in walk(_model())
             if not isinstance(layer, keras.layers.InputLayer)]
    assert paths == ["outer/inner", "outer/inner/dense", "outer/inner/bn", "outer/residual",
                     "outer/residual/branch", "outer/residual/branch/branch_dense",
                     "outer/residual/branch/branch_bn", "outer/head"]


def test_walk_without_wrappers_stops_at_layers_that_are_not_models():
    names = [layer.name for _, layer in walk(_model(), into_wrappers=False)]
    assert "residual" in names and "branch" not in names and "branch_bn" not in names


def test_find_layers_reaches_the_batch_norm_inside_a_wrapper():
    found = find_layers(_model(), keras.layers.BatchNormalization)
    assert [path for path, _ in found] == ["outer/inner/bn", "outer/residual/branch/branch_bn"]
