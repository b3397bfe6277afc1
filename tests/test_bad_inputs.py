"""Bad input gets a clear error: one table over the public functions and layers.

Every row is a call a user can plausibly get wrong (a value out of range,
NaN, the wrong rank, an empty batch, labels outside the classes, a
reversed range); each must raise `ValueError` whose message names the
argument in backticks and shows the value received, before any TensorFlow
trace. Per-module tests pin the exact messages; this table makes sure no
public entry point is left without one.
"""

import keras
import numpy as np
import pytest

from kerasreg import (augment, callbacks, curves, inference, initialization, models,
                      preprocessing, transfer, tta, tuning)
from kerasreg import layers as kl
from kerasreg.course import datasets, plots, report
from kerasreg.layers import auto_augment, image_ops
from kerasreg.layers.augmentation import pca_lighting

NAN = float("nan")
IMAGES = np.random.default_rng(0).random((4, 8, 8, 3)).astype("float32")
LABELS = np.array([0, 1, 2, 3])


def _dense_model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden"),
                             keras.layers.Dropout(0.5), keras.layers.Dense(2)])


def _whitening_adapted_on(data):
    kl.PCAWhitening().adapt(data)


# (id, call, argument the message must name)
BAD_INPUTS = [
    # layers: constructor arguments
    ("VanillaDropout rate 1.5", lambda: kl.VanillaDropout(1.5), "rate"),
    ("VanillaDropout rate NaN", lambda: kl.VanillaDropout(NAN), "rate"),
    ("MCDropout rate -0.1", lambda: kl.MCDropout(-0.1), "rate"),
    ("StochasticDepth survival 0", lambda: kl.StochasticDepth(keras.layers.Dense(2), 0.0),
     "survival_probability"),
    ("StochasticDepth survival 1.5", lambda: kl.StochasticDepth(keras.layers.Dense(2), 1.5),
     "survival_probability"),
    ("StochasticDepth mode", lambda: kl.StochasticDepth(keras.layers.Dense(2), mode="row"),
     "mode"),
    ("linear_survival 0 blocks", lambda: kl.linear_survival(0), "num_blocks"),
    ("linear_survival final 1.5", lambda: kl.linear_survival(4, final_survival=1.5),
     "final_survival"),
    ("GroupNorm groups 0", lambda: kl.GroupNorm(0), "groups"),
    ("GroupNorm epsilon -1", lambda: kl.GroupNorm(2, epsilon=-1.0), "epsilon"),
    ("InstanceNorm epsilon NaN", lambda: kl.InstanceNorm(epsilon=NAN), "epsilon"),
    ("Cutout size 0", lambda: kl.Cutout(0), "size"),
    ("Cutout count 0", lambda: kl.Cutout(0.5, count=0), "count"),
    ("Cutout fill NaN", lambda: kl.Cutout(0.5, fill_value=NAN), "fill_value"),
    ("RandomScaleCrop reversed range", lambda: kl.RandomScaleCrop((480, 256), 224),
     "scale_range"),
    ("RandomScaleCrop crop 0", lambda: kl.RandomScaleCrop((256, 480), 0), "crop_size"),
    ("RandomLensDistortion factor NaN", lambda: kl.RandomLensDistortion(NAN), "factor"),
    ("Dequantize levels 1", lambda: kl.Dequantize(1), "levels"),
    ("PCAWhitening epsilon -1", lambda: kl.PCAWhitening(epsilon=-1.0), "epsilon"),
    # layers: inputs
    ("GroupNorm channels not divisible", lambda: kl.GroupNorm(3)(np.ones((2, 4, 4, 4), "float32")),
     "groups"),
    ("Cutout rank 2", lambda: kl.Cutout(0.5)(np.ones((2, 8), "float32")), "inputs"),
    ("PCAWhitening adapt NaN", lambda: _whitening_adapted_on(np.full((8, 3), NAN, "float32")),
     "data"),
    ("PCAWhitening adapt empty", lambda: _whitening_adapted_on(np.ones((0, 3), "float32")),
     "len(data)"),
    # test-time augmentation
    ("ten_crop rank 3", lambda: tta.ten_crop(IMAGES[0], 4), "images"),
    ("ten_crop crop larger", lambda: tta.ten_crop(IMAGES, 16), "crop_size"),
    ("multi_crop scale below crop", lambda: tta.multi_crop(IMAGES, 8, scales=(4,)), "scales"),
    ("resize_short_side 0", lambda: tta.resize_short_side(IMAGES, 0), "short_side"),
    # mixing and the pipeline
    ("mix_batch label out of range",
     lambda: augment.mix_batch(IMAGES, np.array([0, 1, 2, 12]), num_classes=10, seed=0), "labels"),
    ("mix_batch negative label",
     lambda: augment.mix_batch(IMAGES, np.array([0, 1, -1, 2]), num_classes=10, seed=0), "labels"),
    ("mix_batch float labels",
     lambda: augment.mix_batch(IMAGES, np.array([0.0, 1.9, 2.0, 3.0]), num_classes=10, seed=0),
     "labels"),
    ("mix_batch label count", lambda: augment.mix_batch(IMAGES, LABELS[:3], num_classes=10, seed=0),
     "labels"),
    ("mix_batch alpha 0", lambda: augment.mix_batch(IMAGES, LABELS, alpha=0.0, num_classes=10),
     "alpha"),
    ("mix_batch method", lambda: augment.mix_batch(IMAGES, LABELS, "blend", num_classes=10),
     "method"),
    ("soft_labels out of range", lambda: augment.soft_labels(np.array([0, 5]), num_classes=3),
     "labels"),
    ("pipeline unknown step", lambda: augment.pipeline(["no_such_step"]), "steps"),
    ("pipeline reversed value_range", lambda: augment.pipeline(["flip"], value_range=(1, 0)),
     "value_range"),
    # inference
    ("mc_predict samples 0", lambda: inference.mc_predict(_dense_model(), np.ones((2, 4)), 0),
     "samples"),
    ("mc_predict empty batch", lambda: inference.mc_predict(_dense_model(), np.ones((0, 4))), "x"),
    ("mask_sampling_accuracy count 0", lambda: inference.mask_sampling_accuracy(
        _dense_model(), np.ones((2, 4)), [0, 1], mask_counts=(0,)), "mask_counts"),
    # callbacks and schedules
    ("EarlyStopping patience -1", lambda: callbacks.EarlyStopping(patience=-1), "patience"),
    ("EarlyStopping monitor None", lambda: callbacks.EarlyStopping(monitor=None), "monitor"),
    ("EarlyStopping baseline text", lambda: callbacks.EarlyStopping(baseline="x"), "baseline"),
    ("EarlyStopping restore text", lambda: callbacks.EarlyStopping(restore_best_weights="yes"),
     "restore_best_weights"),
    ("StepDecay unsorted milestones", lambda: callbacks.StepDecay(milestones=(60, 30)),
     "milestones"),
    ("StepDecay factor 0", lambda: callbacks.StepDecay(factor=0.0), "factor"),
    ("StepDecay factor NaN", lambda: callbacks.StepDecay(factor=NAN), "factor"),
    ("step_decay negative epoch", lambda: callbacks.step_decay(-1, 0.1), "epoch"),
    ("step_decay rate NaN", lambda: callbacks.step_decay(0, NAN), "initial_learning_rate"),
    ("cosine_decay total 0", lambda: callbacks.cosine_decay(0, 0.1, 0), "total_epochs"),
    ("cosine_decay min above initial", lambda: callbacks.cosine_decay(0, 0.1, 10, min_lr=1.0),
     "min_lr"),
    ("linear_decay rate -1", lambda: callbacks.linear_decay(0, -1.0, 10), "initial_learning_rate"),
    ("warmup 0 epochs", lambda: callbacks.warmup(0, 0.1, 0), "warmup_epochs"),
    ("CosineDecay total 0", lambda: callbacks.CosineDecay(0), "total_epochs"),
    ("LRFinder min_lr 0", lambda: callbacks.LRFinder(min_lr=0.0), "min_lr"),
    ("LRFinder reversed", lambda: callbacks.LRFinder(min_lr=1.0, max_lr=0.1), "max_lr"),
    ("LRFinder steps 1", lambda: callbacks.LRFinder(steps=1), "steps"),
    # curves, tuning
    ("ema beta 1.5", lambda: curves.ema([1.0, 2.0], beta=1.5), "beta"),
    ("ema empty", lambda: curves.ema([]), "values"),
    ("expected_initial_loss 1 class", lambda: tuning.expected_initial_loss(1), "num_classes"),
    ("refine_grid top 0", lambda: tuning.refine_grid([], top=0), "top"),
    # preprocessing and whitening
    ("fit_normalization NaN", lambda: preprocessing.fit_normalization(np.full((4, 3), NAN)),
     "data"),
    ("image_normalization variant", lambda: preprocessing.image_normalization(IMAGES, "zscore"),
     "variant"),
    ("random_crops size larger", lambda: preprocessing.random_crops(IMAGES, 16, 2), "size"),
    # transfer
    ("fine_tune_strategy -1 examples", lambda: transfer.fine_tune_strategy(-1, True),
     "num_examples"),
    ("freeze unknown layer", lambda: transfer.freeze(_dense_model(), until="nowhere"), "until"),
    ("unfreeze_top -1", lambda: transfer.unfreeze_top(_dense_model(), -1), "num_layers"),
    ("tta_predict batch_size 0", lambda: tta.tta_predict(
        keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(2)]),
        IMAGES, crop_size=4, scales=(8,), batch_size=0), "batch_size"),
    ("mix_parameters mode", lambda: augment.mix_parameters(IMAGES, mode="row"), "mode"),
    ("mix_parameters probability 2", lambda: augment.mix_parameters(IMAGES, "switch",
                                                                     probability=2.0),
     "probability"),
    ("cutmix_parameters alpha -1", lambda: augment.cutmix_parameters(IMAGES, -1.0), "alpha"),
    ("label_preservation label count",
     lambda: augment.label_preservation(IMAGES, LABELS[:2], lambda x: x), "labels"),
    ("recalibrate_bn steps 0", lambda: inference.recalibrate_bn(_dense_model(), np.ones((4, 4)),
                                                                steps=0), "steps"),
    ("DivergenceGuard factor 1", lambda: callbacks.DivergenceGuard(factor=1.0), "factor"),
    ("report.claim empty", lambda: report.claim("x", [], []), "technique"),
    ("report.claim unpaired", lambda: report.claim("x", [1.0, 2.0], [1.0]), "baseline"),
    ("mlp 1 class", lambda: models.mlp((4,), 1), "num_classes"),
    ("mlp dropout 1", lambda: models.mlp((4,), 2, dropout=1.0), "dropout"),
    ("resnet depth 21", lambda: models.resnet(depth=21), "depth"),
    ("small_cnn norm", lambda: models.small_cnn((8, 8, 1), 2, norm="weird"), "norm"),
    ("transfer_model strategy", lambda: transfer.transfer_model(_dense_model(), 2, "thaw"),
     "strategy"),
    ("discriminative factor 0", lambda: transfer.discriminative(
        _dense_model(), {"top": ["hidden"]}, factor=0.0), "factor"),
    ("per_class_subset 0", lambda: transfer.per_class_subset(IMAGES, LABELS, 0), "per_class"),
    ("check_initial_loss tolerance -1", lambda: tuning.check_initial_loss(
        _dense_model(), np.ones((2, 4)), [0, 1], tolerance=-1.0), "tolerance"),
    ("grid_search empty grid", lambda: tuning.grid_search(lambda hp: _dense_model(), {},
                                                          np.ones((2, 4)), [0, 1], 1), "grid"),
    ("diagnose empty history", lambda: curves.diagnose({}), "history"),
    ("image_grid columns 0", lambda: plots.image_grid(IMAGES, columns=0), "columns"),
    ("image_grid no images", lambda: plots.image_grid(IMAGES[:0]), "images"),
    ("image_grid titles", lambda: plots.image_grid(IMAGES, titles=["a"]), "titles"),
    ("RandAugment num_ops -1", lambda: kl.RandAugment(-1), "num_ops"),
    ("RandAugment magnitude 31", lambda: kl.RandAugment(2, 31), "magnitude"),
    ("TrivialAugment reversed value_range", lambda: kl.TrivialAugment(value_range=(1, 0)),
     "value_range"),
    ("drop_path survival 0", lambda: kl.drop_path(IMAGES, 0.0), "survival_probability"),
    ("mixup_parameters alpha NaN", lambda: augment.mixup_parameters(IMAGES, NAN), "alpha"),
    ("diverged factor 0.5", lambda: callbacks.diverged(1.0, 1.0, factor=0.5), "factor"),
    ("LinearDecay warmup past the end", lambda: callbacks.LinearDecay(5, warmup_epochs=5),
     "warmup_epochs"),
    ("plot_history beta 1", lambda: curves.plot_history({"loss": [1.0]}, beta=1.0), "beta"),
    ("curve_evidence max_spike -1", lambda: curves.curve_evidence(
        {"loss": [1.0, 0.5]}, max_spike=-1.0), "max_spike"),
    ("overfit_small_sample batches 0", lambda: tuning.overfit_small_sample(
        _dense_model(), np.ones((4, 4)), [0, 1, 0, 1], batches=0), "batches"),
    ("find_learning_rate no rates", lambda: tuning.find_learning_rate(
        _dense_model, np.ones((4, 4)), [0, 1, 0, 1], learning_rates=()), "learning_rates"),
    ("layer_groups no names", lambda: transfer.layer_groups(_dense_model(), names=()), "names"),
    ("source_cnn 1 class", lambda: transfer.source_cnn((8, 8, 1), 1), "num_classes"),
    ("photo_patches scale 0", lambda: transfer.photo_patches(scale=0.0), "scale"),
    ("models.normalization unknown", lambda: models.normalization("weird", 4), "norm"),
    ("dropout_layers not a model", lambda: inference.dropout_layers(None), "model"),
    ("batchnorm_layers not a model", lambda: transfer.batchnorm_layers("resnet"), "model"),
    ("stage_names not a model", lambda: transfer.stage_names("resnet"), "base"),
    ("pretrain_base epochs 0", lambda: transfer.pretrain_base(IMAGES, LABELS, 4, epochs=0),
     "epochs"),
    ("sgd_loss_curves no rates", lambda: preprocessing.sgd_loss_curves(
        _dense_model(), np.ones((4, 4)), np.zeros(4), []), "learning_rates"),
    ("batch_loss batch before previous", lambda: callbacks.batch_loss(1.0, -1), "batch"),
    ("check_claims none", lambda: report.check_claims(), "claims"),
    ("label_preservation transform", lambda: augment.label_preservation(IMAGES, LABELS, "flip"),
     "transform"),
    ("mix_batch one image", lambda: augment.mix_batch(IMAGES[0], np.arange(8), num_classes=10),
     "images"),
    ("RandomPCALighting alpha_std -1", lambda: kl.RandomPCALighting(-1.0), "alpha_std"),
    ("vanilla_dropout rate 1", lambda: kl.vanilla_dropout(IMAGES, 1.0, training=True), "rate"),
    ("group_norm groups 0", lambda: kl.group_norm(IMAGES, 0), "groups"),
    ("group_norm groups not dividing", lambda: kl.group_norm(IMAGES, 2), "groups"),
    ("pca one row", lambda: kl.pca(np.ones((1, 3))), "len(data)"),
    ("whitening_matrix epsilon -1", lambda: kl.whitening_matrix(np.ones(3), np.eye(3),
                                                                epsilon=-1.0), "epsilon"),
    ("moving_statistics not a model", lambda: transfer.moving_statistics("resnet"), "model"),
    ("record empty name", lambda: report.record("", 1.0), "name"),
    ("EpochDecay warmup -1", lambda: callbacks.EpochDecay(warmup_epochs=-1), "warmup_epochs"),
    ("fold_batchnorm not a model", lambda: inference.fold_batchnorm("resnet"), "model"),
    ("bn_audit not a model", lambda: inference.bn_audit(3), "model"),
    ("fine_tune epochs 0", lambda: transfer.fine_tune(
        _dense_model(), (np.ones((4, 4)), np.zeros(4)), {"top": ["hidden"]},
        epochs_per_stage=0), "epochs_per_stage"),
    ("train_and_score steps 0", lambda: transfer.train_and_score(
        _dense_model(), (np.ones((4, 4)), np.zeros(4)), (np.ones((4, 4)), np.zeros(4)), steps=0),
     "steps"),
    ("mobilenet_base image_size 10", lambda: transfer.mobilenet_base(image_size=10, weights=None),
     "image_size"),
    ("save_weights_atomically suffix", lambda: callbacks.save_weights_atomically(
        _dense_model(), "model.h5"), "checkpoint_path"),
    # datasets
    ("load_textures patch 0", lambda: datasets.load_textures(patch_size=0), "patch_size"),
    ("load_cifar10 limit 0", lambda: datasets.load_cifar10(limit=0), "limit"),
    ("sample_photos unknown", lambda: datasets.sample_photos(["moon"]), "names"),
    ("load_digits image_size 0", lambda: datasets.load_digits(image_size=0), "image_size"),
    ("load_tabular name", lambda: datasets.load_tabular("titanic"), "name"),
    ("wrong_labels fraction 2", lambda: datasets.wrong_labels([0, 1], 2.0), "fraction"),
    # image operations with fixed parameters
    ("cutout size 0", lambda: kl.cutout(IMAGES, np.zeros((4, 1, 2)), 0), "size"),
    ("cutout rank 3", lambda: kl.cutout(IMAGES[0], np.zeros((4, 1, 2)), 2), "images"),
    ("fill_boxes count", lambda: kl.fill_boxes(IMAGES, np.zeros((3, 1, 2)), np.ones((3, 1, 2)),
                                               0.0), "corners"),
    ("lens_distortion count", lambda: kl.lens_distortion(IMAGES, [0.1, 0.2]), "strengths"),
    ("pca_lighting count", lambda: pca_lighting(IMAGES, np.zeros((2, 3)), np.ones(3), np.eye(3)),
     "alphas"),
    ("scale_crop crop 0", lambda: kl.scale_crop(IMAGES, [8] * 4, np.zeros((4, 2)), 0),
     "crop_size"),
    ("scale_crop count", lambda: kl.scale_crop(IMAGES, [8] * 3, np.zeros((4, 2)), 4),
     "short_sides"),
    ("resized_shape 0", lambda: kl.resized_shape(8, 8, 0), "short_side"),
    ("auto_augment operation 20", lambda: auto_augment(IMAGES, [[20]] * 4, [[1.0]] * 4),
     "operations"),
    ("auto_augment operation -1", lambda: auto_augment(IMAGES, [[-1]] * 4, [[1.0]] * 4),
     "operations"),
    ("auto_augment count", lambda: auto_augment(IMAGES, [[1]], [[1.0]]), "operations"),
    ("auto_augment magnitudes count", lambda: auto_augment(IMAGES, [[1]] * 4, [[1.0]] * 2),
     "magnitudes"),
    ("auto_augment rank 3", lambda: auto_augment(IMAGES[0], [[1]] * 4, [[1.0]] * 4), "images"),
    ("apply_operations count", lambda: image_ops.apply_operations(IMAGES, [1, 2], [1.0] * 4),
     "operations"),
    ("mixup count", lambda: augment.mixup(IMAGES, np.eye(4), [0.5] * 3, [1, 0, 3, 2]),
     "lambdas"),
    ("mixup lambda 1.5", lambda: augment.mixup(IMAGES, np.eye(4), [1.5] * 4, [1, 0, 3, 2]),
     "lambdas"),
    ("mixup partner 4", lambda: augment.mixup(IMAGES, np.eye(4), [0.5] * 4, [1, 0, 3, 4]),
     "permutation"),
    ("cutmix labels count", lambda: augment.cutmix(IMAGES, np.eye(3), np.zeros((4, 2)),
                                                   np.ones((4, 2)), [1, 0, 3, 2]), "labels"),
    ("initializer_for_layer -1", lambda: initialization.initializer_for_layer(
        keras.initializers.HeNormal(seed=0), -1), "index"),
    ("read_records path", lambda: report.read_records("labs/dropout.ipynb"), "notebook"),
]


@pytest.mark.parametrize("call, argument", [pytest.param(call, argument, id=name)
                                            for name, call, argument in BAD_INPUTS])
def test_bad_input_raises_a_value_error_naming_the_argument_and_value(call, argument):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert f"`{argument}`" in message, message
    assert "Received" in message, message
