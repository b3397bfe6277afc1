"""Augmentation pipelines, batch mixing (mixup, CutMix) and the label check.

- `pipeline(steps)`: the lecture's whole list of augmentations as named
  steps (`STEPS`), built from Keras' own layers where Keras has them (flip,
  rotation, translation, shear, zoom, color jitter, erasing, ...) and from
  `kerasreg.layers` for the rest (scale crops, Cutout, lens distortion,
  dequantization, and RandAugment / TrivialAugment with per-image
  operations; Keras' batch-wide RandAugment stays as `keras_rand_augment`). The result is a `keras.layers.Pipeline`:
  map it over a `tf.data.Dataset` (graph mode) or put it in a model.
- `mix_batch(images, labels, method)`: mixup, CutMix or a random switch of
  the two on a batch, with integer or one-hot labels and timm's options
  (per-example / per-pair / per-batch draws, mixing probability,
  area-corrected CutMix labels, label smoothing); `mix_parameters` draws
  the parameters, and `mixup`, `cutmix` and `mix` apply fixed ones.
- `label_preservation(images, labels, transform)`: which classes a
  transform maps into each other (the lecture's 6/9 and b/d warning).
"""

from kerasreg.augment.label_check import LabelPreservation, label_preservation
from kerasreg.augment.mixing import (DEFAULT_ALPHA, METHODS, MODES, cutmix, cutmix_parameters,
                                     mix, mix_batch, mix_parameters, mixup, mixup_parameters,
                                     soft_labels)
from kerasreg.augment.steps import STEPS, pipeline
from kerasreg.layers.pipeline import AugmentationPipeline  # importable here, as before
