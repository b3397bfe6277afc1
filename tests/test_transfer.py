"""Tests for kerasreg.transfer (and the lab's bases in kerasreg.course.sources): the 2x2 table,
freezing, and the BatchNormalization trap.

The trap tests fine-tune on data far from the source data (shifted and
scaled), so a BatchNormalization layer in training mode would move its
statistics by a lot; "unchanged" is checked exactly. The discriminative
learning-rate tests drive the optimizer with constant gradients and compare each
group's step with the optimizer's formula at that group's rate.
"""

import doctest

import keras
import numpy as np
import pytest

import kerasreg.course.sources
import kerasreg.transfer
from kerasreg import models
from kerasreg.course.sources import (mobilenet_base, per_class_subset, photo_patches,
                                     pretrain_base, source_cnn, train_and_score)
from kerasreg.layers import StochasticDepth
from kerasreg.transfer import (STRATEGIES, batchnorm_layers, discriminative, fine_tune,
                               fine_tune_strategy, freeze, layer_groups, moving_statistics,
                               stage_names, transfer_model, unfreeze_top)

FILTERS = (4, 8)


@pytest.fixture(scope="module")
def pretrained():
    """A small source CNN trained one epoch: BatchNormalization with learned statistics."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 8, 8, 1)).astype("float32")
    base, _ = pretrain_base(x, np.arange(64) % 3, 3, filters=FILTERS, epochs=1, batch_size=16)
    return base, base.get_weights()


@pytest.fixture
def base(pretrained):
    """The pretrained base with its weights restored and every layer trainable."""
    model, weights = pretrained
    model.set_weights(weights)
    model.trainable = False  # Keras ignores setting the value the model already has
    model.trainable = True
    return model


def _target(count=32, seed=1):
    rng = np.random.default_rng(seed)
    return (3.0 * rng.random((count, 8, 8, 1)) + 2.0).astype("float32"), rng.integers(0, 2, count)


def _fine_tune(model, steps=4):
    x, y = _target()
    train_and_score(model, (x, y), (x, y), steps=steps, batch_size=8)


def _trainable_names(model):
    return [layer.name for layer in model.layers if layer.trainable]


def _assert_same_statistics(before, after):
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(after[name][0], before[name][0])
        np.testing.assert_array_equal(after[name][1], before[name][1])


@pytest.mark.parametrize("num_examples, similar, strategy", [
    (100, True, "linear_probe"), (50000, True, "finetune_top"),
    (100, False, "linear_probe_stages"), (50000, False, "finetune_most"),
    (5000, True, "finetune_top"), (4999, False, "linear_probe_stages"),
])
def test_fine_tune_strategy_reads_the_lectures_table(num_examples, similar, strategy):
    assert fine_tune_strategy(num_examples, similar) == strategy


def test_fine_tune_strategy_uses_the_given_threshold_of_little_data():
    assert fine_tune_strategy(150, True, small_data=100) == "finetune_top"


@pytest.mark.parametrize("arguments, message", [
    ((0, True), "`num_examples` must be an integer >= 1. Received: num_examples=0"),
    ((10, "yes"), "`similar` must be a bool (True or False). Received: similar='yes'"),
    ((10, True, 0), "`small_data` must be an integer >= 1. Received: small_data=0"),
])
def test_fine_tune_strategy_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError) as error:
        fine_tune_strategy(*arguments)
    assert str(error.value) == message


def test_freeze_without_until_freezes_every_layer(base):
    freeze(base)
    assert _trainable_names(base) == [] and base.trainable_weights == []


def test_freeze_until_a_name_freezes_up_to_it_and_trains_the_rest_but_batchnorm(base):
    names = [layer.name for layer in base.layers]
    freeze(base, until=names[4])
    expected = [layer.name for layer in base.layers[5:]
                if not isinstance(layer, keras.layers.BatchNormalization)]
    assert _trainable_names(base) == expected


def test_freeze_until_an_index_counts_from_the_end_when_negative(base):
    freeze(base, until=-3)
    assert _trainable_names(base) == [layer.name for layer in base.layers[-2:]]


def test_freeze_can_leave_later_batchnorm_layers_trainable(base):
    freeze(base, until=1, keep_batchnorm_frozen=False)
    assert _trainable_names(base) == [layer.name for layer in base.layers[2:]]


def test_freeze_keeps_the_batchnorm_inside_a_residual_branch_frozen():
    model = models.resnet(depth=8, width=4, input_shape=(8, 8, 3), final_survival=0.5)
    inside = [layer for block in model.layers if isinstance(block, StochasticDepth)
              for layer in block.branch.layers
              if isinstance(layer, keras.layers.BatchNormalization)]
    assert inside and all(layer in batchnorm_layers(model) for layer in inside)
    freeze(model, until=0)
    assert not any(layer.trainable for layer in inside)


@pytest.mark.parametrize("until", [10, -11, "no_such_layer"])
def test_freeze_rejects_layers_past_the_last_one_or_unknown(base, until):
    with pytest.raises(ValueError) as error:
        freeze(base, until=until)
    assert str(error.value) == ("`until` must be the name of one of the model's 10 layers or "
                                f"an index in [-10, 9]. Received: until={until!r}")


def test_unfreeze_top_trains_exactly_the_last_layers_except_batchnorm(base):
    unfreeze_top(base, 5)
    assert _trainable_names(base) == [layer.name for layer in base.layers[-5:]
                                      if not isinstance(layer, keras.layers.BatchNormalization)]


def test_unfreeze_top_can_train_batchnorm_too(base):
    unfreeze_top(base, 5, keep_batchnorm_frozen=False)
    assert _trainable_names(base) == [layer.name for layer in base.layers[-5:]]


def test_unfreeze_top_unfreezes_a_nested_base_whole_after_a_linear_probe(base):
    """On TensorFlow, `base.trainable = True` alone skips the layers of a base already True."""
    model = transfer_model(base, 2, "linear_probe")
    unfreeze_top(model, 2)
    kernels = [layer for layer in base.layers if getattr(layer, "kernel", None) is not None]
    assert all(layer.trainable for layer in kernels) and len(model.trainable_weights) == 4


def test_unfreeze_top_works_on_a_model_frozen_as_a_whole(base):
    base.trainable = False
    unfreeze_top(base, 5)
    assert len(base.trainable_weights) == 1  # the last convolution's kernel


@pytest.mark.parametrize("num_layers", [0, 11])
def test_unfreeze_top_rejects_a_count_outside_the_model(base, num_layers):
    with pytest.raises(ValueError) as error:
        unfreeze_top(base, num_layers)
    assert str(error.value) == ("`num_layers` must be an integer in [1, 10]. "
                                f"Received: num_layers={num_layers}")


@pytest.mark.parametrize("strategy, trainable_kernels", [
    ("linear_probe", ["classifier"]), ("linear_probe_stages", ["classifier"]),
    ("finetune_top", ["conv2d_top", "classifier"]),
    ("finetune_most", ["conv2d_bottom", "conv2d_top", "classifier"]),
])
def test_transfer_model_trains_the_layers_of_its_strategy(base, strategy, trainable_kernels):
    convolutions = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
    names = {id(convolutions[0]): "conv2d_bottom", id(convolutions[1]): "conv2d_top"}
    model = transfer_model(base, 2, strategy)
    kernels = [names.get(id(layer), layer.name) for layer in base.layers + model.layers
               if layer.trainable and getattr(layer, "kernel", None) is not None]
    assert model.output_shape == (None, 2)
    assert kernels == trainable_kernels
    assert not any(layer.trainable for layer in batchnorm_layers(base))


def test_linear_probe_stages_concatenates_every_stage_by_default(base):
    model = transfer_model(base, 2, "linear_probe_stages")
    assert stage_names(base) == [base.layers[3].name, base.layers[7].name]
    assert model.get_layer("classifier").kernel.shape == (sum(FILTERS), 2)


def test_transfer_model_is_named_after_its_strategy_or_the_given_name(base):
    assert transfer_model(base, 2, "linear_probe_stages").name == "transfer_linear_probe_stages"
    assert transfer_model(base, 2, "finetune_top", name="mine").name == "mine"


def test_linear_probe_stages_can_probe_one_stage(base):
    model = transfer_model(base, 2, "linear_probe_stages", stage=stage_names(base)[0])
    assert model.get_layer("classifier").kernel.shape == (FILTERS[0], 2)


def test_transfer_model_rejects_an_unknown_stage(base):
    with pytest.raises(ValueError, match=r"`stage` must be the name of one of the model's 10 "
                                         r"layers.*Received: stage='conv9'"):
        transfer_model(base, 2, "linear_probe_stages", stage="conv9")


def test_transfer_model_rejects_unknown_strategies(base):
    with pytest.raises(ValueError) as error:
        transfer_model(base, 2, "finetune_all")
    assert str(error.value) == ("`strategy` must be one of 'linear_probe', 'finetune_top', "
                                "'linear_probe_stages', 'finetune_most'. "
                                "Received: strategy='finetune_all'")


def test_transfer_model_rejects_a_single_class(base):
    with pytest.raises(ValueError, match=r"`num_classes` must be an integer >= 2"):
        transfer_model(base, 1, "linear_probe")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_fine_tuning_never_changes_the_moving_statistics_of_the_base(base, strategy):
    before = moving_statistics(base)
    _fine_tune(transfer_model(base, 2, strategy))
    _assert_same_statistics(before, moving_statistics(base))


def test_a_partly_unfrozen_base_trains_its_top_but_keeps_its_moving_statistics(base):
    model = transfer_model(base, 2, "linear_probe")
    unfreeze_top(base, 5)  # fine-tuning a first probe further, top convolution included
    top = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)][-1]
    kernel = keras.ops.convert_to_numpy(top.kernel).copy()
    before = moving_statistics(base)
    _fine_tune(model)
    _assert_same_statistics(before, moving_statistics(base))
    assert not np.array_equal(keras.ops.convert_to_numpy(top.kernel), kernel)


def test_the_trap_trainable_batchnorm_changes_its_moving_statistics(base):
    """What transfer_model prevents: here even `training=False` does not help (Keras 3)."""
    inputs = keras.Input((8, 8, 1))
    naive = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(
        base(inputs, training=False)))
    before = moving_statistics(base)
    _fine_tune(naive)
    after = moving_statistics(base)
    assert all(not np.allclose(after[name][0], before[name][0], atol=1e-3) for name in before)


def test_transfer_model_runs_its_base_in_inference_mode_during_training(base):
    model = transfer_model(base, 2, "finetune_most")
    x, _ = _target()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x, training=True)),
                               keras.ops.convert_to_numpy(model(x, training=False)), rtol=1e-6)


def test_mobilenet_base_shares_the_transfer_code_offline():
    base = mobilenet_base((32, 32, 3), image_size=32, weights=None, alpha=0.35)
    assert stage_names(base) == ["block_1_expand_relu", "block_3_expand_relu",
                                 "block_6_expand_relu", "block_13_expand_relu", "out_relu"]
    model = transfer_model(base, 10, "finetune_top")
    assert model.output_shape == (None, 10)
    assert _trainable_names(base)[0] == "block_13_expand"
    assert not any(layer.trainable for layer in batchnorm_layers(base))
    before = moving_statistics(base)
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    assert np.isfinite(keras.ops.convert_to_numpy(model(x, training=True))).all()
    _assert_same_statistics(before, moving_statistics(base))


GROUPS = {"stem": ["stem"], "middle": ["middle"], "top": ["top"]}
RATES = {"stem": 1e-5, "middle": 1e-4, "top": 1e-3}


def _three_groups(activation=None):
    """Three Dense layers named after the groups of `GROUPS` (functional, so that the variable
    paths are `layer/variable`; a Sequential model puts its own name in front)."""
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, name="stem")(inputs)
    x = keras.layers.Dense(4, name="middle")(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation=activation, name="top")(x))


def _one_step(model, optimizer, gradient):
    """Apply `gradient(variable)` to every trainable variable once; return each one's step
    (exact when the variables start at zero)."""
    before = [keras.ops.convert_to_numpy(v).copy() for v in model.trainable_variables]
    optimizer.apply([gradient(v) for v in model.trainable_variables], model.trainable_variables)
    return {v.path: keras.ops.convert_to_numpy(v) - old
            for v, old in zip(model.trainable_variables, before)}


def _varied_gradient(variable):
    """Gradients from 1e-6 to 2 in size, both signs: Adam's epsilon matters for the smallest."""
    size = int(np.prod(variable.shape))
    values = np.geomspace(1e-6, 2.0, size) * (-1.0) ** np.arange(size)
    return keras.ops.convert_to_tensor(values.reshape(variable.shape).astype("float32"))


def _group_of(path):
    return path.split("/")[0]


def _zeros(model):
    for variable in model.trainable_variables:
        variable.assign(keras.ops.zeros(variable.shape))
    return model


def test_layer_groups_split_the_weighted_layers_evenly_batchnorm_with_the_layer_before():
    model = source_cnn((8, 8, 1), 3, filters=(4, 8, 16))
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    norms = batchnorm_layers(model)
    groups = layer_groups(model)
    assert groups == {"stem": [convolutions[0], norms[0], convolutions[1], norms[1]],
                      "middle": [convolutions[2], norms[2]], "top": [model.layers[-1]]}


def test_layer_groups_search_the_base_nested_in_a_transfer_model(base):
    model = transfer_model(base, 2, "finetune_most")
    groups = layer_groups(model, names=("base", "head"))
    assert [layer.name for layer in groups["head"]] == ["classifier"]
    assert groups["base"] == [layer for layer in base.layers if layer.weights]


def test_layer_groups_reject_more_groups_than_weighted_layers():
    with pytest.raises(ValueError) as error:
        layer_groups(_three_groups(), names=("a", "b", "c", "d"))
    assert str(error.value) == (
        "`names` must be a list of 1 to 3 distinct group names (the model's layers holding "
        "weights, BatchNormalization aside). Received: names=('a', 'b', 'c', 'd')")


def test_discriminative_adam_moves_each_group_by_its_own_learning_rate():
    """Adam's first step is lr * sqrt(1 - b2) g / (sqrt(1 - b2) |g| + eps): about lr * sign(g)."""
    model = _zeros(_three_groups())
    adam = keras.optimizers.Adam(beta_2=0.999, epsilon=1e-7)
    steps = _one_step(model, discriminative(model, GROUPS, adam, learning_rates=RATES),
                      _varied_gradient)
    for variable in model.trainable_variables:
        g = keras.ops.convert_to_numpy(_varied_gradient(variable)).astype("float64")
        root = np.sqrt(1 - 0.999)
        expected = -RATES[_group_of(variable.path)] * root * g / (root * np.abs(g) + 1e-7)
        np.testing.assert_allclose(steps[variable.path], expected, rtol=1e-5)


def test_scaling_the_gradient_instead_leaves_adams_step_unchanged():
    """Why the rate, not the gradient, is scaled: Adam divides the scale out."""
    model = _three_groups()
    variable = model.get_layer("top").kernel
    full = _one_step(model, keras.optimizers.Adam(1e-3), lambda v: keras.ops.ones(v.shape))
    scaled = _one_step(model, keras.optimizers.Adam(1e-3), lambda v: keras.ops.ones(v.shape) / 100)
    np.testing.assert_allclose(scaled[variable.path], full[variable.path], rtol=1e-3)


def test_discriminative_sgd_steps_are_the_group_rate_times_the_gradient_rates_falling_by_factor():
    model = _zeros(_three_groups())
    optimizer = discriminative(model, GROUPS, keras.optimizers.SGD(0.5), factor=10.0)
    steps = _one_step(model, optimizer, _varied_gradient)
    rates = {"stem": 0.005, "middle": 0.05, "top": 0.5}
    for variable in model.trainable_variables:
        expected = -rates[_group_of(variable.path)] * keras.ops.convert_to_numpy(
            _varied_gradient(variable))
        np.testing.assert_allclose(steps[variable.path], expected, rtol=1e-6)


def test_discriminative_adamw_decays_each_group_with_its_own_rate():
    """With a zero gradient only the decoupled decay acts: w * (1 - weight_decay * rate)."""
    model = _three_groups()
    before = {v.path: keras.ops.convert_to_numpy(v).copy() for v in model.trainable_variables}
    adamw = keras.optimizers.AdamW(weight_decay=0.5)
    optimizer = discriminative(model, GROUPS, adamw, learning_rates=RATES)
    _one_step(model, optimizer, lambda v: keras.ops.zeros(v.shape))
    for variable in model.trainable_variables:
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(variable),
            before[variable.path] * (1 - 0.5 * RATES[_group_of(variable.path)]), rtol=1e-6)


def test_discriminative_takes_a_schedule_per_group():
    model = _three_groups()
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 1, 0.5)
    optimizer = discriminative(model, GROUPS, "sgd", learning_rates={**RATES, "top": schedule})
    steps = _one_step(model, optimizer, lambda v: keras.ops.ones(v.shape))
    np.testing.assert_allclose(steps["top/bias"], -1e-2, rtol=1e-6)
    np.testing.assert_allclose(steps["stem/bias"], -1e-5, rtol=1e-6)


def test_discriminative_in_fit_moves_the_stem_100_times_less_than_the_top():
    model = _three_groups()
    model.compile(optimizer=discriminative(model, GROUPS, keras.optimizers.Adam(1e-2)),
                  loss="mse")
    kernels = {name: keras.ops.convert_to_numpy(model.get_layer(name).kernel).copy()
               for name in ("stem", "top")}
    rng = np.random.default_rng(0)
    model.fit(rng.random((16, 3)), rng.random((16, 2)), batch_size=16, epochs=1, verbose=0)
    moved = {name: np.abs(keras.ops.convert_to_numpy(model.get_layer(name).kernel)
                          - kernel).max() for name, kernel in kernels.items()}
    np.testing.assert_allclose(moved["top"], 1e-2, rtol=1e-3)
    np.testing.assert_allclose(moved["stem"] / moved["top"], 0.01, rtol=1e-3)


def test_discriminative_optimizer_is_saved_and_loaded_with_the_model_and_its_state(tmp_path):
    model = _three_groups()
    model.compile(optimizer=discriminative(model, GROUPS, learning_rates=RATES), loss="mse")
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    model.fit(x, x[:, :2], epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    rates = [float(keras.ops.convert_to_numpy(group.learning_rate))
             for group in loaded.optimizer.optimizers]
    assert rates == pytest.approx([1e-5, 1e-4, 1e-3, 0.0])  # the groups', then the idle one
    ones = lambda variable: keras.ops.ones(variable.shape)  # noqa: E731
    steps = _one_step(model, model.optimizer, ones)
    for path, step in _one_step(loaded, loaded.optimizer, ones).items():
        np.testing.assert_allclose(step, steps[path], rtol=1e-5, atol=1e-10)  # moments kept


def test_discriminative_leaves_layers_outside_every_group_still():
    """A layer left out while frozen and unfrozen later gets the idle optimizer (rate 0)."""
    model = _three_groups()
    model.get_layer("middle").trainable = False
    optimizer = discriminative(model, {"stem": ["stem"], "top": ["top"]})
    model.get_layer("middle").trainable = True
    steps = _one_step(model, optimizer, lambda v: keras.ops.ones(v.shape))
    assert not steps["middle/kernel"].any() and steps["top/kernel"].all()


@pytest.mark.parametrize("groups, learning_rates, message", [
    (GROUPS, {"stem": 1e-3, "middle": 1e-4, "bottom": 1e-5},
     "`learning_rates` must be a dict with one rate for each group: 'stem', 'middle', 'top'. "
     "Received: learning_rates={'stem': 0.001, 'middle': 0.0001, 'bottom': 1e-05}"),
    ({"stem": ["stem"], "top": ["top"]}, None,
     "`groups` must be a dict of groups holding every trainable variable of the model exactly "
     "once; in no group: middle/kernel, middle/bias. "
     "Received: groups={'stem': ['stem'], 'top': ['top']}"),
    ({**GROUPS, "stem": ["stem", "middle"]}, None,
     "`groups` must be a dict of groups holding every trainable variable of the model exactly "
     "once; 'middle/kernel' is in 'stem' and 'middle'. "
     "Received: groups={'stem': ['stem', 'middle'], 'middle': ['middle'], 'top': ['top']}"),
    ({**GROUPS, "stem": ["stem", "conv9"]}, None,
     "`groups['stem']` must be a list of layers of the model or their names (nested models "
     "included); unknown: ['conv9']. Received: groups['stem']=['stem', 'conv9']"),
    ([], None, "`groups` must be a non-empty dict {group name: list of layers or layer names}. "
               "Received: groups=[]"),
    (GROUPS, {**RATES, "stem": -1.0},
     "`learning_rates['stem']` must be a number > 0. Received: learning_rates['stem']=-1.0"),
])
def test_discriminative_rejects_bad_groups_and_rates(groups, learning_rates, message):
    with pytest.raises(ValueError) as error:
        discriminative(_three_groups(), groups, learning_rates=learning_rates)
    assert str(error.value) == message


def test_discriminative_rejects_a_zero_factor():
    with pytest.raises(ValueError) as error:
        discriminative(_three_groups(), GROUPS, factor=0)
    assert str(error.value) == "`factor` must be a number > 0. Received: factor=0"


def test_discriminative_needs_rates_per_group_for_an_optimizer_with_a_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 1, 0.5)
    with pytest.raises(ValueError, match=r"`learning_rates` must be a dict of rates per group "
                                         r"when the optimizer's learning rate is a schedule"):
        discriminative(_three_groups(), GROUPS, keras.optimizers.Adam(schedule))


def test_discriminative_rejects_an_optimizer_of_optimizers():
    model = _three_groups()
    with pytest.raises(ValueError, match=r"`optimizer` must be a single Keras optimizer"):
        discriminative(model, GROUPS, discriminative(model, GROUPS))


class _Recorder(keras.callbacks.Callback):
    """Records how many variables train in each `fit` and `variable` after each epoch."""

    def __init__(self, variable):
        super().__init__()
        self.variable, self.counts, self.values = variable, [], []

    def on_train_begin(self, logs=None):
        self.counts.append(len(self.model.trainable_variables))

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(keras.ops.convert_to_numpy(self.variable).copy())


def test_fine_tune_unfreezes_one_more_group_per_stage_from_the_top():
    model = _three_groups(activation="softmax")
    x, y = np.random.default_rng(0).random((8, 3)).astype("float32"), np.arange(8) % 2
    recorder = _Recorder(model.get_layer("stem").kernel)
    history = fine_tune(model, (x, y), GROUPS, epochs_per_stage=2, validation_data=(x, y),
                        callbacks=[recorder], verbose=0)
    assert recorder.counts == [2, 4, 6]
    assert history.epoch == [0, 1, 2, 3, 4, 5]
    assert history.history["unfrozen_groups"] == [1, 1, 2, 2, 3, 3]
    assert all(len(history.history[key]) == 6 for key in ("loss", "val_accuracy"))


def test_fine_tune_moves_the_stem_only_in_its_stage_and_keeps_batchnorm_frozen(base):
    model = transfer_model(base, 2, "finetune_most")
    groups = layer_groups(model)
    recorder = _Recorder(groups["stem"][0].kernel)
    kernel = keras.ops.convert_to_numpy(recorder.variable).copy()
    before = moving_statistics(base)
    fine_tune(model, _target(), groups, epochs_per_stage=1, learning_rates=RATES, batch_size=8,
              callbacks=[recorder], verbose=0)
    np.testing.assert_array_equal(recorder.values[1], kernel)  # end of stage 2 of 3
    assert not np.array_equal(recorder.values[2], kernel)
    _assert_same_statistics(before, moving_statistics(base))
    assert not any(layer.trainable for layer in batchnorm_layers(model))


def test_fine_tune_rejects_a_stage_of_no_epochs():
    with pytest.raises(ValueError) as error:
        fine_tune(_three_groups(), (np.ones((2, 3)), np.ones(2)), GROUPS, epochs_per_stage=0)
    assert str(error.value) == ("`epochs_per_stage` must be an integer >= 1. "
                                "Received: epochs_per_stage=0")


def test_source_cnn_uses_a_batchnorm_momentum_fit_for_small_data():
    model = source_cnn((8, 8, 1), 3, FILTERS)
    assert [layer.momentum for layer in batchnorm_layers(model)] == [0.9, 0.9]


def test_photo_patches_are_labelled_by_photograph():
    x, y = photo_patches(patch_size=8, per_photo=4, seed=1)
    assert x.shape == (28, 8, 8, 1) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [4] * 7 and 0.0 <= x.min() and x.max() <= 1.0


def test_per_class_subset_keeps_at_most_that_many_of_each_class():
    y = np.array([0] * 5 + [1] * 2 + [2] * 9)
    x_small, y_small = per_class_subset(np.arange(16), y, 3, seed=2)
    assert np.bincount(y_small).tolist() == [3, 2, 3]
    np.testing.assert_array_equal(y[x_small], y_small)


def test_train_and_score_takes_exactly_the_given_number_of_steps():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    x = np.random.default_rng(0).random((5, 2)).astype("float32")
    accuracy = train_and_score(model, (x, np.arange(5) % 2), (x, np.arange(5) % 2), steps=7,
                               batch_size=4)
    assert int(model.optimizer.iterations) == 7 and 0.0 <= accuracy <= 1.0


def test_moving_statistics_are_copies(base):
    statistics = moving_statistics(base)
    statistics[batchnorm_layers(base)[0].name][0][:] = 99.0
    assert not (moving_statistics(base)[batchnorm_layers(base)[0].name][0] == 99.0).any()


@pytest.mark.parametrize("module", [kerasreg.transfer.freezing, kerasreg.transfer.heads,
                                    kerasreg.transfer.fine_tuning, kerasreg.course.sources])
def test_transfer_docstring_examples_run(module):
    results = doctest.testmod(module)
    assert results.attempted > 0 and results.failed == 0
