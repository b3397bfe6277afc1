"""Inference tricks: Monte Carlo dropout, BatchNorm folding, audit and recalibration.

One module per tool: `mc_dropout` (`mc_predict`, `mask_sampling_accuracy`,
`dropout_layers`), `folding` (`fold_batchnorm`), `batchnorm` (`bn_audit`,
`recalibrate_bn`); every name is re-exported here.
"""

from kerasreg.inference.batchnorm import (BATCH_STATISTICS, MOVING_STATISTICS, BatchNormAudit,
                                          BatchNormRow, bn_audit, recalibrate_bn)
from kerasreg.inference.folding import FOLDABLE_TYPES, fold_batchnorm
from kerasreg.inference.mc_dropout import (DROPOUT_TYPES, dropout_layers,
                                           mask_sampling_accuracy, mc_predict)
