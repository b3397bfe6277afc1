"""Training callbacks: early stopping, epoch learning-rate decay, divergence, LR range test.

The lecture's practical tricks as `keras.callbacks.Callback`s: keep the best
weights while the validation error improves and stop when it plateaus
(`EarlyStopping`, in `early_stopping`); start with a large learning rate and
decay it over the epochs (`StepDecay`, `CosineDecay`, `LinearDecay`, in
`schedules`); stop a run whose loss explodes, naming the learning rate as
the likely cause (`DivergenceGuard`, in `divergence`); and find the
learning rates that make the loss go down (`LRFinder`, in `lr_finder`).
"""

from kerasreg.callbacks.divergence import DivergenceGuard, batch_loss, divergence_message
from kerasreg.callbacks.early_stopping import (WEIGHTS_SUFFIX, EarlyStopping,
                                               save_weights_atomically)
from kerasreg.callbacks.lr_finder import LRFinder
from kerasreg.callbacks.schedules import (CosineDecay, EpochDecay, LinearDecay, StepDecay,
                                          cosine_decay, learning_rate_of, linear_decay,
                                          step_decay, warmup)
from kerasreg.curves import EXPLODING_FACTOR, diverged  # moved to kerasreg.curves; kept here
