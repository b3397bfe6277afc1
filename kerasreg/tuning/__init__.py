"""Choosing hyperparameters: the lecture's seven-step recipe.

1. Check the initial loss (`check_initial_loss`: about `log(C)` for a
   softmax over `C` classes).
2. Overfit a small sample (`overfit_small_sample`: 100% training accuracy
   on about 5 mini-batches).
3. Find a learning rate that makes the loss go down within about 100
   iterations (`find_learning_rate`, or `kerasreg.callbacks.LRFinder`).
4. Coarse grid, 1-5 epochs (`grid_search`, on KerasTuner's `GridSearch`).
5. Refine the grid, train longer (`refine_grid`, then `grid_search` again).
6. Look at the loss curves (`kerasreg.curves.plot_history`, `diagnose`).
7. Go to step 5.
"""

from kerasreg.tuning.grid import grid_search, refine_grid
from kerasreg.tuning.recipe import (check_initial_loss, expected_initial_loss,
                                    find_learning_rate, overfit_small_sample)
from kerasreg.tuning.table import Table
