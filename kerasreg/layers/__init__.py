"""Keras layers for the lecture's regularizations (all registered as `kerasreg>Name`)."""

from kerasreg.layers.augmentation import (Cutout, Dequantize, RandomLensDistortion,
                                          RandomPCALighting, RandomScaleCrop)
from kerasreg.layers.augmentation_ops import (cutout, fill_boxes, lens_distortion, resized_shape,
                                              scale_crop)
from kerasreg.layers.auto_augment import RandAugment, TrivialAugment, auto_augment
from kerasreg.layers.dropout import MCDropout, VanillaDropout, vanilla_dropout
from kerasreg.layers.normalization import GroupNorm, InstanceNorm, group_norm
from kerasreg.layers.pipeline import AugmentationPipeline
from kerasreg.layers.stochastic_depth import StochasticDepth, drop_path, linear_survival
from kerasreg.layers.whitening import PCAWhitening, pca, whitening_matrix
