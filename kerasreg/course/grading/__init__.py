"""Checks for the labs' graded exercises.

Each check calls the student's function on fixed inputs and raises
`GradingError` with a short, specific message (what was expected, what came
back, on which input) instead of a bare assert. A stub that still raises
`NotImplementedError` gets "not implemented yet". Solution regions in the
notebooks use nbgrader's markers, so `python -m kerasreg student` (or
nbgrader itself) can write the student version.

Each lab's checks live in `kerasreg.course.grading.<lab>`; the names are re-exported
here, so a lab writes `from kerasreg.course.grading import check_dropout`.
"""

from kerasreg.course.grading._checks import GradingError
from kerasreg.course.grading.augmentation import check_ten_crop_average
from kerasreg.course.grading.dropout import check_dropout
from kerasreg.course.grading.early_stopping import check_early_stopping
from kerasreg.course.grading.initialization import check_he_init
from kerasreg.course.grading.mixing import check_cutout_mask, check_mixed_labels
from kerasreg.course.grading.normalization import check_batch_norm
from kerasreg.course.grading.preprocessing import check_standardize
from kerasreg.course.grading.recipe import check_initial_loss_exercise
from kerasreg.course.grading.schedules import check_cosine_decay, check_step_decay
from kerasreg.course.grading.stochastic_depth import (check_linear_survival,
                                                      check_stochastic_depth_block)
from kerasreg.course.grading.transfer import check_transfer_strategy
