"""Early stopping with an atomic checkpoint: keep the best weights, stop on a plateau.

`EarlyStopping` is Keras' callback (same arguments and meaning) that also
writes the best weights to `checkpoint_path` through
`save_weights_atomically`, so a run killed mid-save never leaves a
half-written file.
"""

import os
import warnings

import keras
import numpy as np

from kerasreg._validation import check_bool, check_choice, check_number, fail

WEIGHTS_SUFFIX = ".weights.h5"


def _check_weights_path(path):
    if path is not None and not (isinstance(path, (str, os.PathLike))
                                 and os.fspath(path).endswith(WEIGHTS_SUFFIX)):
        fail("checkpoint_path", f"None or a file path ending in {WEIGHTS_SUFFIX!r}", path)
    return path


def save_weights_atomically(model, path):
    """Write `model`'s weights to `path` so that `path` is never half-written.

    The weights go to a temporary file beside `path` (`.<name>.tmp.weights.h5`,
    so a save killed half-way leaves one that the next save replaces),
    flushed to disk, renamed over `path` (`os.replace` is atomic on POSIX and
    Windows), and the folder is flushed so that the rename survives a power
    cut. A process killed at any moment leaves either the previous complete
    file or the new complete file at `path`, with the permissions Keras'
    `save_weights` gives (the umask's).

    Args:
        model: a built `keras.Model`.
        path: destination, ending in `.weights.h5`.

    Example:
    >>> import tempfile, pathlib
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> folder = tempfile.mkdtemp()
    >>> save_weights_atomically(model, f"{folder}/best.weights.h5")
    >>> sorted(path.name for path in pathlib.Path(folder).iterdir())
    ['best.weights.h5']
    """
    _check_weights_path(path)
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    temporary = os.path.join(folder, f".{name[:-len(WEIGHTS_SUFFIX)]}.tmp{WEIGHTS_SUFFIX}")
    try:
        model.save_weights(temporary, overwrite=True)
        with open(temporary, "rb") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    if os.name == "nt":  # Windows cannot open a folder; its renames are journaled
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _prepare_checkpoint_folder(path):
    """Create `path`'s folder as Keras' `ModelCheckpoint` does; fail now if it cannot be written."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        fail("checkpoint_path", f"a file in a folder that can be created ({error.strerror})", path)
    if not os.access(folder, os.W_OK | os.X_OK):
        fail("checkpoint_path", "a file in a writable folder", path)


class EarlyStopping(keras.callbacks.EarlyStopping):
    """Stop when the validation error plateaus; keep and restore the best weights.

    The lecture's recipe: every time the validation error improves, store a
    copy of the weights; when it has not improved for `patience` epochs,
    stop; return the stored copy. This is `keras.callbacks.EarlyStopping`
    with `restore_best_weights=True` by default, plus:

    - `checkpoint_path`: the best weights are also written to disk at every
      improvement, atomically (temporary file, then `os.replace`), so a run
      killed at any point leaves a loadable file with the best weights so
      far, never a half-written one; a missing folder is created when
      training begins (as Keras' `ModelCheckpoint` does) and an unwritable
      one is refused then, naming `checkpoint_path`;
    - `best_value` (the best monitored value), next to Keras' `best_epoch`
      and `stopped_epoch` (epochs counted from 0; both reset by each `fit`
      and stay 0 until set, as in Keras);
    - the best weights are restored when training ends, stopped early or not;
    - argument checks, and an error when `monitor` is not among the logged
      metrics at the first epoch's end (Keras only warns, every epoch).

    Args:
        monitor: logged quantity to watch. Defaults to `"val_loss"`.
        patience: epochs without improvement before stopping, an integer
            >= 0. Defaults to `10`.
        min_delta: smallest change that counts as an improvement, >= 0.
            Defaults to `0.0`.
        mode: `"min"`, `"max"`, or `"auto"` (from the monitor's name).
            Defaults to `"auto"`.
        restore_best_weights: restore the best weights at the end.
            Defaults to `True`.
        checkpoint_path: file (ending in `.weights.h5`) for the on-disk copy
            of the best weights; `None` keeps the copy in memory only.
            Defaults to `None`.
        start_from_epoch: epochs to train before watching, an integer >= 0.
            Defaults to `0`.
        baseline: value the monitor must beat, as in Keras. Defaults to `None`.
        verbose: 1 prints when it stops and restores. Defaults to `0`.

    Example:
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> stopper = EarlyStopping(monitor="loss", patience=2)
    >>> history = model.fit(np.ones((8, 1)), np.ones((8, 1)), epochs=3, verbose=0,
    ...                     callbacks=[stopper])
    >>> stopper.best_epoch, stopper.best_value == min(history.history["loss"])
    (2, True)

    Reference:
        Prechelt, "Early Stopping - But When?", Neural Networks: Tricks of
        the Trade, 1998.
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, mode="auto",
                 restore_best_weights=True, checkpoint_path=None, start_from_epoch=0,
                 baseline=None, verbose=0):
        if not (isinstance(monitor, str) and monitor):
            fail("monitor", "the name of a logged metric, e.g. 'val_loss'", monitor)
        check_number("patience", patience, 0, integer=True)
        check_number("min_delta", min_delta, 0)
        check_choice("mode", mode, ("auto", "min", "max"))
        check_bool("restore_best_weights", restore_best_weights)
        check_number("start_from_epoch", start_from_epoch, 0, integer=True)
        if baseline is not None:
            check_number("baseline", baseline)
        super().__init__(monitor=monitor, min_delta=min_delta, patience=patience,
                         verbose=verbose, mode=mode, baseline=baseline,
                         restore_best_weights=restore_best_weights,
                         start_from_epoch=start_from_epoch)
        self.checkpoint_path = _check_weights_path(checkpoint_path)

    @property
    def best_value(self):
        """The best monitored value so far (`None` before the first)."""
        return self.best

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.checkpoint_path is not None:
            _prepare_checkpoint_folder(self.checkpoint_path)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if epoch >= self.start_from_epoch:
            self._check_monitor(logs)
        best_before = self.best
        super().on_epoch_end(epoch, logs)
        if self.best is not best_before and self.checkpoint_path is not None:
            save_weights_atomically(self.model, self.checkpoint_path)

    def _check_monitor(self, logs):
        if self.monitor in logs or self.best is not None:
            return
        available = sorted(logs)
        if self.monitor.startswith("val_") and not any(k.startswith("val_") for k in available):
            warnings.warn(f"EarlyStopping watches `monitor={self.monitor!r}` but this epoch "
                          f"logged no validation metrics: pass `validation_data` to "
                          f"`fit`. Logged: {', '.join(available)}.", stacklevel=3)
            return
        fail("monitor", "one of the logged metrics " + ", ".join(map(repr, available)),
             self.monitor)
