"""Tests for kerasreg.callbacks: early stopping, epoch schedules, LR range test, divergence.

References: scripted validation losses (the best and stop epochs follow
from the sequence by hand), the lecture's formulas written out again here
(`0.5 * a0 * (1 + cos(t * pi / T))`, `a0 * (1 - t / T)`, times 0.1 after
30, 60, 90), compared exactly (the pure functions) or after float32
rounding (the optimizer's learning-rate variable), and a least-squares
problem whose stable learning rates are known in closed form.
"""

import math
import os
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest

from kerasreg.callbacks import (CosineDecay, DivergenceGuard, EarlyStopping, LinearDecay,
                                LRFinder, StepDecay, batch_loss, cosine_decay, linear_decay,
                                save_weights_atomically, step_decay)

SCRIPTED_VAL_LOSS = [3.0, 2.0, 1.0, 1.5, 1.2, 1.7, 1.1, 0.9]  # best at 2 until epoch 7


def _tiny_model(optimizer="sgd"):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer, "mse", run_eagerly=True)  # no tracing: a few steps run faster
    return model


def _set_epoch_weights(model, epoch):
    model.set_weights([np.full(w.shape, float(epoch), "float32") for w in model.get_weights()])


def _drive(callback, model, val_losses):
    """Run the callback's hooks over scripted epochs; the weights of epoch t are all t."""
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    for epoch, val_loss in enumerate(val_losses):
        _set_epoch_weights(model, epoch)
        callback.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
        if model.stop_training:
            break
    callback.on_train_end()
    return epoch


# ---------------------------------------------------------------- EarlyStopping

def test_early_stopping_stops_after_patience_epochs_without_improvement():
    stopper = EarlyStopping(patience=3)
    last = _drive(stopper, _tiny_model(), SCRIPTED_VAL_LOSS)
    assert (stopper.best_epoch, stopper.best_value, stopper.stopped_epoch, last) == (2, 1.0, 5, 5)


def test_early_stopping_restores_the_weights_of_the_best_epoch():
    model = _tiny_model()
    _drive(EarlyStopping(patience=3), model, SCRIPTED_VAL_LOSS)
    assert all(np.all(w == 2.0) for w in model.get_weights())


def test_early_stopping_restores_the_best_weights_when_training_runs_to_the_end():
    model = _tiny_model()
    stopper = EarlyStopping(patience=100)
    _drive(stopper, model, [3.0, 1.0, 2.0, 2.5])
    assert stopper.stopped_epoch == 0 and stopper.best_epoch == 1
    assert all(np.all(w == 1.0) for w in model.get_weights())


def test_early_stopping_min_delta_ignores_small_improvements():
    stopper = EarlyStopping(patience=2, min_delta=0.5)
    _drive(stopper, _tiny_model(), [3.0, 2.9, 2.8, 2.7])
    assert (stopper.best_epoch, stopper.stopped_epoch) == (0, 2)


def test_early_stopping_max_mode_keeps_the_highest_value():
    stopper = EarlyStopping(monitor="val_loss", mode="max", patience=5)
    _drive(stopper, _tiny_model(), [0.1, 0.7, 0.3])
    assert (stopper.best_epoch, stopper.best_value) == (1, 0.7)


def test_early_stopping_resets_its_state_for_a_second_fit():
    stopper, model = EarlyStopping(patience=3), _tiny_model()
    _drive(stopper, model, SCRIPTED_VAL_LOSS)
    _drive(stopper, model, [5.0, 4.0, 6.0])
    assert (stopper.best_epoch, stopper.best_value, stopper.stopped_epoch) == (1, 4.0, 0)


def test_early_stopping_writes_the_best_weights_to_the_checkpoint(tmp_path):
    path = str(tmp_path / "best.weights.h5")
    _drive(EarlyStopping(patience=3, checkpoint_path=path), _tiny_model(), SCRIPTED_VAL_LOSS)
    loaded = _tiny_model()
    loaded.load_weights(path)
    assert all(np.all(w == 2.0) for w in loaded.get_weights())
    assert os.listdir(tmp_path) == ["best.weights.h5"]  # no temporary file left behind


def test_early_stopping_raises_on_an_unknown_monitor_at_the_first_epoch_end():
    stopper = EarlyStopping(monitor="val_los")
    stopper.set_model(_tiny_model())
    stopper.on_train_begin()
    with pytest.raises(ValueError, match=r"`monitor` must be one of the logged metrics "
                                         r"'loss', 'val_loss'\. Received: monitor='val_los'"):
        stopper.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})


@pytest.mark.filterwarnings("ignore:Early stopping conditioned on metric")  # Keras' own
def test_early_stopping_warns_when_no_validation_metrics_were_logged():
    stopper = EarlyStopping()
    stopper.set_model(_tiny_model())
    stopper.on_train_begin()
    with pytest.warns(UserWarning, match="validation_data"):
        stopper.on_epoch_end(0, {"loss": 1.0})


@pytest.mark.parametrize("kwargs, message", [
    ({"patience": -1}, "`patience` must be an integer >= 0. Received: patience=-1"),
    ({"min_delta": -0.1}, "`min_delta` must be a number >= 0. Received: min_delta=-0.1"),
    ({"mode": "lowest"}, "`mode` must be one of 'auto', 'min', 'max'. Received: mode='lowest'"),
    ({"start_from_epoch": 1.5}, "`start_from_epoch` must be an integer >= 0"),
    ({"checkpoint_path": "best.h5"}, "`checkpoint_path` must be None or a file path ending "
                                     "in '.weights.h5'. Received: checkpoint_path='best.h5'"),
    ({"monitor": None}, "`monitor` must be the name of a logged metric, e.g. 'val_loss'. "
                        "Received: monitor=None"),
    ({"baseline": "x"}, "`baseline` must be a number. Received: baseline='x'"),
    ({"baseline": float("inf")}, "`baseline` must be a finite number. Received: baseline=inf"),
    ({"restore_best_weights": "yes"}, "`restore_best_weights` must be a bool (True or False). "
                                      "Received: restore_best_weights='yes'"),
])
def test_early_stopping_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.").replace("[", r"\[")):
        EarlyStopping(**kwargs)


def test_early_stopping_in_fit_stops_and_restores():
    model = _tiny_model(keras.optimizers.SGD(0.1))
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    script = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: logs.update(val_loss=SCRIPTED_VAL_LOSS[epoch]))
    saved = {}
    keep = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: saved.update({epoch: model.get_weights()}))
    stopper = EarlyStopping(patience=3)
    history = model.fit(x, x[:, :2], epochs=8, verbose=0, callbacks=[script, stopper, keep])
    assert len(history.history["loss"]) == 6
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), saved[2]))


CHILD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import keras
    from kerasreg.callbacks import EarlyStopping

    path, folder, kill = sys.argv[1], sys.argv[2], sys.argv[3]
    val_loss = [3.0, 2.0, 1.0, 1.5, 1.7, 0.5, 0.4]
    if kill == "rename":  # die in the save of epoch 5, after the temporary file is written
        real_replace = os.replace
        saves = []
        def replace(source, destination):
            if destination == path:
                saves.append(source)
                if len(saves) == 4:  # improvements at epochs 0, 1, 2, then 5
                    os.kill(os.getpid(), signal.SIGKILL)
            real_replace(source, destination)
        os.replace = replace

    class Script(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            logs["val_loss"] = val_loss[epoch]

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            np.savez(f"{folder}/epoch{epoch}.npz", *self.model.get_weights())
            if kill == "epoch" and epoch == 4:
                os.kill(os.getpid(), signal.SIGKILL)

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model.fit(x, x[:, :2], epochs=7, verbose=0,
              callbacks=[Script(), EarlyStopping(patience=10, checkpoint_path=path), Record()])
""")


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory):
    """Both kill scenarios, run as two child processes at once."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    children = {}
    for kill in ("epoch", "rename"):
        folder = tmp_path_factory.mktemp(kill)
        (folder / "child.py").write_text(CHILD)
        children[kill] = folder, subprocess.Popen(
            [sys.executable, str(folder / "child.py"), str(folder / "best.weights.h5"),
             str(folder), kill], env=env, stderr=subprocess.PIPE, text=True)
    for folder, child in children.values():
        _, stderr = child.communicate(timeout=600)  # a loaded CI machine imports slowly
        assert child.returncode == -9, stderr[-2000:]  # killed by SIGKILL, not finished
    return {kill: folder for kill, (folder, _) in children.items()}


def _checkpoint_and_best(folder):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    model.load_weights(str(folder / "best.weights.h5"))
    best = np.load(folder / "epoch2.npz")
    return model.get_weights(), [best[f"arr_{i}"] for i in range(len(best.files))]


def test_checkpoint_of_a_run_killed_after_the_best_epoch_holds_exactly_the_best_weights(
        killed_runs):
    folder = killed_runs["epoch"]
    weights, best = _checkpoint_and_best(folder)
    assert (folder / "epoch4.npz").exists()  # it trained two epochs past the best
    assert all(np.array_equal(a, b) for a, b in zip(weights, best))


def test_checkpoint_is_never_half_written_when_killed_during_a_save(killed_runs):
    folder = killed_runs["rename"]
    weights, best = _checkpoint_and_best(folder)
    assert (folder / "epoch4.npz").exists() and not (folder / "epoch5.npz").exists()
    assert all(np.array_equal(a, b) for a, b in zip(weights, best))
    leftovers = [name for name in os.listdir(folder) if name.endswith(".tmp.weights.h5")]
    assert len(leftovers) == 1  # the interrupted write stayed in its temporary file


def test_save_weights_atomically_removes_the_temporary_file_on_failure(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2)])  # unbuilt: saving fails
    with pytest.raises(Exception):
        save_weights_atomically(model, str(tmp_path / "best.weights.h5"))
    assert os.listdir(tmp_path) == []


def test_checkpoint_has_the_permissions_of_keras_save_weights(tmp_path):
    model = _tiny_model()
    model.save_weights(tmp_path / "keras.weights.h5")
    save_weights_atomically(model, tmp_path / "ours.weights.h5")
    mode = {path.name: path.stat().st_mode & 0o777 for path in tmp_path.iterdir()}
    assert mode["ours.weights.h5"] == mode["keras.weights.h5"]


def test_save_replaces_the_temporary_file_a_killed_save_left(tmp_path):
    (tmp_path / ".best.tmp.weights.h5").write_bytes(b"half-written")
    save_weights_atomically(_tiny_model(), tmp_path / "best.weights.h5")
    assert os.listdir(tmp_path) == ["best.weights.h5"]


def test_early_stopping_creates_a_missing_checkpoint_folder_as_model_checkpoint_does(tmp_path):
    path = tmp_path / "runs" / "a" / "best.weights.h5"
    model = _tiny_model()
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0,
              callbacks=[EarlyStopping(monitor="loss", checkpoint_path=str(path))])
    assert path.exists()


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root writes anywhere")
def test_early_stopping_names_checkpoint_path_for_a_read_only_folder_before_training(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir(mode=0o555)
    path = str(folder / "best.weights.h5")
    model = _tiny_model()
    with pytest.raises(ValueError, match="`checkpoint_path` must be a file in a writable folder. "
                                         "Received: checkpoint_path="):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0,
                  callbacks=[EarlyStopping(monitor="loss", checkpoint_path=path)])
    assert model.optimizer.iterations.numpy() == 0


# Keras' own tests ship in some of its wheels (3.15.1) and not in others (3.15.0).
KERAS_EARLY_STOPPING_TESTS = ("test_early_stopping", "test_early_stopping_patience",
                              "test_early_stopping_reuse", "test_state_reset_across_fit_calls",
                              "test_early_stopping_with_baseline",
                              "test_early_stopping_final_weights_when_restoring_model_weights",
                              "test_early_stopping_with_start_from_epoch")


@pytest.mark.parametrize("name", KERAS_EARLY_STOPPING_TESTS)
def test_early_stopping_passes_keras_own_early_stopping_tests(name, monkeypatch):
    """Keras' tests, run against ours with Keras' one differing default restored."""
    early_stopping_test = pytest.importorskip("keras.src.callbacks.early_stopping_test")

    class WithKerasDefaults(EarlyStopping):
        def __init__(self, restore_best_weights=False, **kwargs):
            super().__init__(restore_best_weights=restore_best_weights, **kwargs)

    monkeypatch.setattr(early_stopping_test.callbacks, "EarlyStopping", WithKerasDefaults)
    case = early_stopping_test.EarlyStoppingTest(name)
    case.setUp()
    getattr(case, name)()


# ---------------------------------------------------------------- schedules

def test_step_decay_multiplies_by_a_tenth_after_30_60_90():
    expected = [1e-1 * 0.1 ** ((t >= 30) + (t >= 60) + (t >= 90)) for t in range(120)]
    assert [step_decay(t, 1e-1) for t in range(120)] == expected


def test_cosine_decay_is_the_lecture_formula_exactly():
    a0, total = 0.1, 37
    expected = [0.5 * a0 * (1 + math.cos(t * math.pi / total)) for t in range(total + 1)]
    assert [cosine_decay(t, a0, total) for t in range(total + 1)] == expected


def test_linear_decay_is_the_lecture_formula_exactly():
    a0, total = 0.1, 37
    expected = [a0 * (1 - t / total) for t in range(total + 1)]
    assert [linear_decay(t, a0, total) for t in range(total + 1)] == expected


def test_decays_hold_min_lr_after_the_last_epoch():
    assert cosine_decay(50, 1.0, 10, min_lr=0.1) == linear_decay(50, 1.0, 10, min_lr=0.1) == 0.1


def _fit_lrs(callback, epochs, optimizer=None, **fit_kwargs):
    model = _tiny_model(optimizer or keras.optimizers.SGD(0.1))
    x = np.ones((4, 3), "float32")
    history = model.fit(x, x[:, :2], epochs=epochs, verbose=0, callbacks=[callback], **fit_kwargs)
    return history.history["lr"]


OPTIMIZERS = [keras.optimizers.SGD, keras.optimizers.Adam, keras.optimizers.AdamW,
              keras.optimizers.RMSprop, keras.optimizers.Adagrad, keras.optimizers.Nadam,
              keras.optimizers.Lion]
A0 = float(np.float32(0.1))  # alpha0 as the optimizer holds it (a float32 variable)


def _as_float32(rates):
    return [float(np.float32(rate)) for rate in rates]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: o.__name__)
def test_cosine_decay_logs_the_formula_with_any_optimizer(optimizer):
    lrs = _fit_lrs(CosineDecay(total_epochs=6), 6, optimizer(learning_rate=0.1))
    assert lrs == _as_float32(0.5 * A0 * (1 + math.cos(t * math.pi / 6)) for t in range(6))


def test_step_decay_in_fit_logs_the_rate_of_each_epoch():
    lrs = _fit_lrs(StepDecay(milestones=(2, 4), factor=0.1), 6)
    assert lrs == _as_float32(A0 * 0.1 ** ((t >= 2) + (t >= 4)) for t in range(6))


def test_linear_decay_in_fit_logs_the_formula():
    lrs = _fit_lrs(LinearDecay(total_epochs=5), 5)
    assert lrs == _as_float32(A0 * (1 - t / 5) for t in range(5))


def test_warmup_ramps_linearly_up_to_the_initial_rate():
    schedule = CosineDecay(total_epochs=10, warmup_epochs=4, initial_learning_rate=1.0)
    lrs = [schedule.learning_rate(t) for t in range(6)]
    assert np.allclose(np.diff(lrs[:5]), 0.2, rtol=0, atol=1e-12)  # +alpha0 / (W + 1) each
    assert lrs[4] == 1.0 and lrs[5] == cosine_decay(1, 1.0, 6)


def test_schedule_continues_when_fit_resumes_with_initial_epoch():
    model, schedule = _tiny_model(keras.optimizers.SGD(0.1)), LinearDecay(total_epochs=6)
    x = np.ones((4, 3), "float32")
    first = model.fit(x, x[:, :2], epochs=3, verbose=0, callbacks=[schedule])
    second = model.fit(x, x[:, :2], initial_epoch=3, epochs=6, verbose=0, callbacks=[schedule])
    lrs = first.history["lr"] + second.history["lr"]
    assert lrs == _as_float32(A0 * (1 - t / 6) for t in range(6))


def test_schedule_reads_alpha0_afresh_for_a_new_optimizer():
    schedule = LinearDecay(total_epochs=4)
    _fit_lrs(schedule, 4, keras.optimizers.SGD(0.1))
    assert _fit_lrs(schedule, 1, keras.optimizers.SGD(0.25)) == [0.25]


def test_schedule_rejects_min_lr_above_the_optimizer_rate():
    with pytest.raises(ValueError, match=r"`min_lr` must be a number in \[0, 0\.1\] \(at most "
                                         r"the initial learning rate alpha_0\)\. "
                                         r"Received: min_lr=0\.5"):
        _fit_lrs(CosineDecay(total_epochs=4, min_lr=0.5), 1)


def test_schedule_rejects_an_optimizer_with_a_learning_rate_schedule():
    optimizer = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(ValueError, match="not a LearningRateSchedule"):
        _fit_lrs(StepDecay(), 1, optimizer)


@pytest.mark.parametrize("make, message", [
    (lambda: StepDecay(milestones=(30, 20)), "`milestones` must be a non-empty sequence of "
                                             "strictly increasing positive integers"),
    (lambda: StepDecay(milestones=(0, 10)), "`milestones` must be"),
    (lambda: StepDecay(factor=0), r"`factor` must be a number > 0\. Received: factor=0"),
    (lambda: CosineDecay(0), r"`total_epochs` must be an integer >= 1\. Received: total_epochs=0"),
    (lambda: LinearDecay(5, min_lr=-1.0), r"`min_lr` must be a number >= 0"),
    (lambda: LinearDecay(5, warmup_epochs=5), r"`warmup_epochs` must be an integer in \[0, 5\)"),
    (lambda: CosineDecay(5, warmup_epochs=-1), r"`warmup_epochs` must be an integer >= 0"),
    (lambda: CosineDecay(5, min_lr=0.2, initial_learning_rate=0.1),
     r"`min_lr` must be a number in \[0, 0\.1\]"),
])
def test_schedules_reject_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ---------------------------------------------------------------- LRFinder

def _least_squares(n=256, d=8):
    """MSE on features with X^T X / n = I: Hessian 2I, so SGD is stable for lr < 1."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(n, d)))
    x = (q * np.sqrt(n)).astype("float32")
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model, x, (x @ rng.normal(size=(d, 1))).astype("float32")


@pytest.fixture(scope="module")
def range_test():
    keras.utils.set_random_seed(0)
    model, x, y = _least_squares()
    repeats = (100, 1)  # 100 identical full batches in one epoch: full-batch gradient descent
    return LRFinder(min_lr=1e-4, max_lr=10.0, steps=100).run(
        model, np.tile(x, repeats), np.tile(y, repeats), batch_size=len(x), shuffle=False)


def test_lr_finder_suggestion_falls_in_the_known_good_range(range_test):
    # Full-batch gradient descent contracts the error by |1 - 2 lr| per step: 100 steps
    # at a fixed lr cut the loss 10x for lr in [0.006, 0.99]; lr >= 1 diverges.
    assert 0.006 <= range_test.suggestion() <= 0.99


def test_lr_finder_stops_early_when_the_loss_diverges(range_test):
    assert len(range_test.losses) < 100 and range_test.lrs[-1] > 1.0  # past the stability limit


def test_lr_finder_restores_weights_learning_rate_and_optimizer_state():
    model, x, y = _least_squares()
    model.compile(keras.optimizers.Adam(0.003), "mse")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    before = ([w.copy() for w in model.get_weights()],
              [keras.ops.convert_to_numpy(v).copy() for v in model.optimizer.variables])
    LRFinder(min_lr=1e-4, max_lr=1.0, steps=20).run(model, x, y, batch_size=64)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before[0]))
    assert all(np.array_equal(keras.ops.convert_to_numpy(v), b)
               for v, b in zip(model.optimizer.variables, before[1]))
    assert float(model.optimizer.learning_rate) == float(np.float32(0.003))


def test_lr_finder_records_one_geometric_rate_per_batch():
    model, x, y = _least_squares()
    finder = LRFinder(min_lr=1e-4, max_lr=1e-2, steps=10).run(model, x, y, batch_size=64)
    assert np.allclose(finder.lrs, np.geomspace(1e-4, 1e-2, 10), rtol=1e-6)


def test_lr_finder_suggestion_needs_a_test_first():
    with pytest.raises(RuntimeError, match="at least 5 finite losses"):
        LRFinder().suggestion()


def test_lr_finder_over_a_range_that_only_diverges_suggests_nothing():
    model, x, y = _least_squares()  # every rate >= 1 diverges
    repeats = (20, 1)
    finder = LRFinder(min_lr=1.05, max_lr=2.0, steps=20).run(
        model, np.tile(x, repeats), np.tile(y, repeats), batch_size=len(x), shuffle=False)
    with pytest.raises(RuntimeError, match=r"no learning rate at which the loss decreases: "
                                           r"from 1\.05 .* smaller min_lr"):
        finder.suggestion()
    with pytest.warns(RuntimeWarning, match="no learning rate"):
        figure = finder.plot()  # the curve, without a suggestion line
    assert figure.axes[0].get_title() == "no suggestion (see the warning)"


@pytest.mark.parametrize("kwargs, message", [
    ({"min_lr": 0}, r"`min_lr` must be a number > 0\. Received: min_lr=0"),
    ({"min_lr": 1e-3, "max_lr": 1e-4}, r"`max_lr` must be a number > 0\.001"),
    ({"steps": 1}, r"`steps` must be an integer >= 2\. Received: steps=1"),
    ({"max_lr": float("inf")}, r"`max_lr` must be a finite number > 1e-07\. Received: max_lr=inf"),
    ({"diverge_factor": float("inf")}, r"`diverge_factor` must be a finite number > 1\. "
                                       r"Received: diverge_factor=inf"),
])
def test_lr_finder_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LRFinder(**kwargs)


# ---------------------------------------------------------------- DivergenceGuard

def _exploding_fit(guard, learning_rate=100.0, epochs=20):
    model = _tiny_model(keras.optimizers.SGD(learning_rate))
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    return model.fit(x, x[:, :2], batch_size=8, epochs=epochs, verbose=0, callbacks=[guard])


def test_divergence_guard_stops_an_exploding_run_and_names_the_learning_rate():
    guard = DivergenceGuard()
    with pytest.warns(RuntimeWarning, match=r"The learning rate \(100\) is the likely cause"):
        history = _exploding_fit(guard)
    assert len(history.history["loss"]) == 1 and guard.stopped_epoch == 0


def test_divergence_guard_catches_a_nan_loss():
    guard = DivergenceGuard(factor=1e300)  # only NaN / inf can trigger it
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        _exploding_fit(guard, learning_rate=1e6)
    assert "the loss is nan" in guard.message or "the loss is inf" in guard.message


def test_divergence_guard_can_raise_instead():
    with pytest.raises(RuntimeError, match="learning rate"):
        _exploding_fit(DivergenceGuard(raise_error=True))


def test_divergence_guard_leaves_a_healthy_run_alone():
    guard = DivergenceGuard()
    history = _exploding_fit(guard, learning_rate=0.01, epochs=5)
    assert guard.message is None and len(history.history["loss"]) == 5


@pytest.mark.parametrize("kwargs, message", [
    ({"factor": 1}, r"`factor` must be a number > 1\. Received: factor=1"),
    ({"factor": float("inf")}, r"`factor` must be a finite number > 1\. Received: factor=inf"),
    ({"raise_error": "yes"}, r"`raise_error` must be a bool \(True or False\)\. "
                             r"Received: raise_error='yes'"),
])
def test_divergence_guard_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DivergenceGuard(**kwargs)


SPIKE = [2.28] * 9 + [12.65] + [2.28] * 6  # one batch explodes; its epoch mean reads 3.3


def _running_means(losses):
    return list(np.cumsum(losses) / np.arange(1, len(losses) + 1))


def test_batch_loss_recovers_each_batch_from_keras_running_mean():
    means = _running_means(SPIKE)
    recovered = [batch_loss(means[k], k, means[k - 1] if k else 0.0, k - 1)
                 for k in range(len(SPIKE))]
    np.testing.assert_allclose(recovered, SPIKE, rtol=1e-12)


def test_batch_loss_of_several_steps_per_log_is_their_mean():
    means = _running_means(SPIKE)
    # steps_per_execution=4: logs after batches 3, 7, 11; the block 8-11 holds the spike
    assert batch_loss(means[11], 11, means[7], 7) == pytest.approx(np.mean(SPIKE[8:12]))


def test_divergence_guard_fires_on_the_batch_loss_not_the_running_mean():
    model = _tiny_model(keras.optimizers.SGD(10.0))
    guard = DivergenceGuard()  # fires above 4 x 2.28 = 9.12; the running mean peaks at 3.32
    guard.set_model(model)
    guard.on_train_begin()
    guard.on_epoch_begin(0)
    with pytest.warns(RuntimeWarning, match="epoch 0, batch 9: the loss is 12.65"):
        for batch, mean in enumerate(_running_means(SPIKE)):
            guard.on_train_batch_end(batch, {"loss": mean})
    assert model.stop_training and max(_running_means(SPIKE)) < 4 * SPIKE[0]


def test_divergence_guard_in_fit_catches_one_exploding_batch():
    # Zero weights and learning rate 0: each batch's MSE is its target squared, 2.28 in
    # batches 0-8 and 12.65 in batch 9, which lifts Keras' logged epoch mean only to 3.32.
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(keras.optimizers.SGD(0.0), "mse")
    y = np.repeat(np.sqrt(SPIKE[:12]), 8).astype("float32")[:, None]
    guard = DivergenceGuard()
    with pytest.warns(RuntimeWarning, match="epoch 0, batch 9: the loss is 12.65"):
        history = model.fit(np.ones_like(y), y, batch_size=8, shuffle=False, verbose=0,
                            callbacks=[guard])
    assert history.history["loss"][-1] < 4 * SPIKE[0] and guard.stopped_epoch == 0


def test_divergence_guard_reads_each_epoch_from_its_first_batch():
    guard = DivergenceGuard()
    guard.set_model(_tiny_model())
    guard.on_train_begin()
    for epoch in range(2):  # Keras resets the running mean at each epoch
        guard.on_epoch_begin(epoch)
        for batch, mean in enumerate(_running_means([2.0, 3.0, 2.5])):
            guard.on_train_batch_end(batch, {"loss": mean})
    assert guard.message is None
