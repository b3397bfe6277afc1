"""Tests for kerasreg.transfer: the 2x2 table, freezing, and the BatchNormalization trap.

The trap tests fine-tune on data far from the source data (shifted and
scaled), so a BatchNormalization layer in training mode would move its
statistics by a lot; "unchanged" is checked exactly.
"""

import doctest

import keras
import numpy as np
import pytest

import kerasreg.transfer
from kerasreg.transfer import (STRATEGIES, batchnorm_layers, fine_tune_strategy, freeze,
                               mobilenet_base, moving_statistics, per_class_subset,
                               photo_patches, pretrain_base, source_cnn, stage_names,
                               train_and_score, transfer_model, unfreeze_top)

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


def test_transfer_docstring_examples_run():
    results = doctest.testmod(kerasreg.transfer)
    assert results.attempted > 0 and results.failed == 0
