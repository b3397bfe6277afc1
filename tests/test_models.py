import keras
import numpy as np
import pytest

from kerasreg import models
from kerasreg.layers import GroupNorm, InstanceNorm, StochasticDepth


def test_mlp_places_dropout_on_inputs_and_after_each_hidden_layer():
    model = models.mlp((8, 8, 1), 10, hidden_units=(32, 16), dropout=0.5, input_dropout=0.2)
    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.2, 0.5, 0.5]
    assert model.output_shape == (None, 10)


def test_mlp_without_dropout_has_no_dropout_layer():
    model = models.mlp((4,), 3, hidden_units=(8,))
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)


def test_mlp_takes_any_dropout_layer_factory():
    model = models.mlp((4,), 3, hidden_units=(8,), dropout=0.3,
                       dropout_layer=keras.layers.GaussianDropout)
    assert any(isinstance(layer, keras.layers.GaussianDropout) for layer in model.layers)


def test_mlp_gives_each_layer_its_own_draw_of_an_initializer_instance():
    def kernels():
        model = models.mlp((8,), 3, hidden_units=(8, 8, 8),
                           kernel_initializer=keras.initializers.HeNormal(seed=5))
        return [keras.ops.convert_to_numpy(layer.kernel) for layer in model.layers[2:4]]

    first = kernels()
    assert not np.array_equal(first[0], first[1])  # one Keras instance repeats its values
    for again, kernel in zip(kernels(), first):
        np.testing.assert_array_equal(again, kernel)


def test_builders_output_probabilities():
    x = np.random.default_rng(0).random((4, 8, 8, 1), "float32")
    for model in (models.mlp((8, 8, 1), 10), models.small_cnn((8, 8, 1), 10)):
        probabilities = keras.ops.convert_to_numpy(model(x))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("norm, layer_type", [
    ("batch", keras.layers.BatchNormalization), ("group", GroupNorm),
    ("layer", GroupNorm), ("instance", InstanceNorm),
])
def test_small_cnn_uses_the_chosen_normalization(norm, layer_type):
    model = models.small_cnn((8, 8, 1), 10, filters=(8, 16), norm=norm)
    assert sum(isinstance(layer, layer_type) for layer in model.layers) == 2


@pytest.mark.parametrize("norm, channels, groups", [("layer", 48, 1), ("group", 48, 24),
                                                    ("group", 64, 32)])
def test_normalization_picks_the_groups_of_each_scheme(norm, channels, groups):
    assert models.normalization(norm, channels).groups == groups


def test_resnet_with_instance_norm_normalizes_each_channel():
    model = models.resnet(depth=8, width=4, norm="instance", input_shape=(8, 8, 1))
    instance_norms = [layer for layer in model.layers if isinstance(layer, InstanceNorm)]
    assert instance_norms and all(layer.groups == layer.gamma.shape[0]
                                  for layer in instance_norms)


def test_resnet_has_six_n_plus_two_weighted_layers():
    model = models.resnet(depth=14, width=4, input_shape=(16, 16, 3))
    kernels = [w for w in model.weights if "kernel" in w.path and len(w.shape) == 4]
    shortcuts = [w for w in kernels if w.shape[0] == 1]
    assert len(kernels) - len(shortcuts) + 1 == 14  # + the final Dense
    assert model.output_shape == (None, 10)


def test_resnet_without_norm_keeps_conv_biases():
    model = models.resnet(depth=8, width=4, norm=None, input_shape=(8, 8, 1))
    assert not any("moving_mean" in w.path for w in model.weights)
    assert any("bias" in w.path and len(w.shape) == 1 and w.shape[0] == 4
               for w in model.weights)


@pytest.mark.parametrize("arguments, message", [
    ({"depth": 21}, "`depth` must be 6n + 2"),
    ({"depth": 2}, "`depth` must be an integer >= 8. Received: depth=2"),
    ({"norm": "weight"}, "`norm` must be one of 'batch', 'group', 'layer', 'instance', None. "
                         "Received: norm='weight'"),
    ({"dropout": 1.0}, "`dropout` must be a number in [0, 1). Received: dropout=1.0"),
    ({"final_survival": 0.0},
     "`final_survival` must be a number in (0, 1]. Received: final_survival=0.0"),
    ({"final_survival": 0.5, "stochastic_depth": 0.5},
     "`stochastic_depth` must be None when final_survival is given"),
    ({"num_classes": 1}, "`num_classes` must be an integer >= 2. Received: num_classes=1"),
])
def test_resnet_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError) as error:
        models.resnet(**arguments)
    assert str(error.value).startswith(message)


def test_mlp_rejects_a_bad_dropout_rate():
    with pytest.raises(ValueError, match=r"`dropout` must be a number in \[0, 1\). "
                                         r"Received: dropout=-0.1"):
        models.mlp((4,), 3, dropout=-0.1)


def test_resnet_gives_each_stochastic_depth_block_its_own_seed():
    model = models.resnet(depth=14, width=4, input_shape=(8, 8, 1), final_survival=0.5, seed=7)
    seeds = [layer.seed for layer in model.layers if isinstance(layer, StochasticDepth)]
    assert len(seeds) == len(set(seeds)) == 6


def test_resnet_keeps_the_old_name_of_final_survival_with_a_warning():
    with pytest.warns(DeprecationWarning, match="pass the same value as `final_survival`"):
        old = models.resnet(depth=14, width=4, input_shape=(8, 8, 1), stochastic_depth=0.2)
    new = models.resnet(depth=14, width=4, input_shape=(8, 8, 1), final_survival=0.2)
    survival = [[layer.survival_probability for layer in model.layers
                 if isinstance(layer, StochasticDepth)] for model in (old, new)]
    assert survival[0] == survival[1] and survival[0][-1] == pytest.approx(0.2)
