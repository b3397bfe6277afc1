"""Transfer learning: the lecture's 2x2 table of fine-tuning strategies.

|                     | very similar dataset   | very different dataset             |
|---------------------|------------------------|------------------------------------|
| very little data    | linear classifier on   | linear classifiers from different  |
|                     | the top layer          | stages ("you're in trouble")       |
| quite a lot of data | fine-tune a few layers | fine-tune a large number of layers |

`fine_tune_strategy` reads the table, `transfer_model` builds the model of
each cell on a pretrained base: a new softmax head, the right layers
trainable (`freeze`, `unfreeze_top`), and every BatchNormalization layer of
the base frozen. That last point is the Keras trap: a BatchNormalization
layer that runs in training mode during fine-tuning replaces its moving
statistics, learned on the source data, with those of a few target batches
and ruins the features. Keras' transfer-learning guide says to call the base
with `training=False`; in Keras 3 that flag, given while building a
functional model, does not survive `fit`, which calls the model with
`training=True` (keras-team/keras#20285, checked with Keras 3.15). What
does hold is that a BatchNormalization layer with `trainable = False` runs
in inference mode, so this module keeps them frozen (`keep_batchnorm_frozen`).
Unfreeze more layers later with `unfreeze_top`, not with the guide's
`base.trainable = False` then `True`, which unfreezes them too.

How fast each layer changes matters as well: the layers near the input hold
generic features to keep, the top ones features to adapt, and a new head
starts random. `discriminative` trains each group of layers (`layer_groups`)
at its own learning rate, e.g. the stem 100 times slower than the top,
with any Keras optimizer; `fine_tune` unfreezes the groups one at a time
from the top, every few epochs (gradual unfreezing). Both come from ULMFiT
(Howard & Ruder, "Universal Language Model Fine-tuning for Text
Classification", 2018).

The pretrained base needs no download: `pretrain_base` (course kit, in
`kerasreg.course.sources`, still importable from here) trains a small CNN
(`source_cnn`) with the toolkit's own code on an offline source task. The
transfer lab uses half of the handwritten digits (a source network near 98%
accurate on its own task); unseen digits are then its "similar" target and
texture photographs a "different" one. `photo_patches` (which of seven
photographs a patch comes from) is a harder, natural-image source task: a
small CNN reaches only about two thirds accuracy on it at 16 x 16 pixels.
`mobilenet_base` is the online alternative (ImageNet weights, for CIFAR-10
on Colab); with `weights=None` it runs offline, and everything after it is
the same code.
"""

import importlib

from kerasreg.transfer.fine_tuning import discriminative, fine_tune, layer_groups
from kerasreg.transfer.freezing import (batchnorm_layers, freeze, moving_statistics,
                                        unfreeze_top)
from kerasreg.transfer.heads import (STRATEGIES, fine_tune_strategy, stage_names,
                                     transfer_model)

# The lab's pretrained bases are course kit (kerasreg.course.sources), kept importable
# from here: loaded on first use, so the library does not import the course kit.
_SOURCES = ("mobilenet_base", "per_class_subset", "photo_patches", "pretrain_base",
            "source_cnn", "train_and_score")


def __getattr__(name):
    if name in _SOURCES:
        return getattr(importlib.import_module("kerasreg.course.sources"), name)
    raise AttributeError(f"module 'kerasreg.transfer' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SOURCES))
