"""Checks for the labs' graded exercises.

Each check calls the student's function on fixed inputs and raises
`GradingError` with a short, specific message (what was expected, what came
back, on which input) instead of a bare assert. A stub that still raises
`NotImplementedError` gets "not implemented yet". Solution regions in the
notebooks use nbgrader's markers, so `python -m kerasreg student` (or
nbgrader itself) can write the student version.

Each lab's checks live in `kerasreg.grading.<lab>`; the names are re-exported
here, so a lab writes `from kerasreg.grading import check_dropout`.
"""

from kerasreg.grading._checks import GradingError
from kerasreg.grading.augmentation import check_ten_crop_average
from kerasreg.grading.dropout import check_dropout
from kerasreg.grading.early_stopping import check_early_stopping
from kerasreg.grading.initialization import check_he_init
from kerasreg.grading.mixing import check_cutout_mask, check_mixed_labels
from kerasreg.grading.normalization import check_batch_norm
from kerasreg.grading.preprocessing import check_standardize
from kerasreg.grading.recipe import check_initial_loss_exercise
from kerasreg.grading.schedules import check_cosine_decay, check_step_decay
from kerasreg.grading.stochastic_depth import check_linear_survival, check_stochastic_depth_block
from kerasreg.grading.transfer import check_transfer_strategy
