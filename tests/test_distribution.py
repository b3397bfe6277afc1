"""Data-parallel and multi-process training give the single-device result.

Each run is a fresh process of `tests/distributed/train_small.py` (devices
must be configured before the backend starts); the weights it writes are
compared here. Every run starts from the same weights and sees the same
batches, so the runs agree to float32 rounding: tolerance 1e-5 absolute on
weights that training moves by more than 1e-2.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).parent / "distributed"
TOLERANCE = 1e-5
TIMEOUT = 240


def run_script(script, *args, **env):
    """Start `script` in a fresh Python with extra environment variables."""
    return subprocess.Popen([sys.executable, str(SCRIPTS / script), *map(str, args)],
                            env=dict(os.environ, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait(process):
    """Wait for `process` (bounded in time) and fail with its stderr if it failed."""
    try:
        _, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, stderr[-3000:]


def train(tmp_path, mode, backend="tensorflow", **env):
    out = tmp_path / f"{mode}-{backend}.npz"
    wait(run_script("train_small.py", mode, out, KERAS_BACKEND=backend, **env))
    return load(out)


def load(path):
    with np.load(path) as weights:
        return [weights[f"arr_{i}"] for i in range(len(weights.files))]


def max_difference(weights, reference):
    return max(float(np.max(np.abs(a - b))) for a, b in zip(weights, reference))


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def single_device(tmp_path_factory):
    return train(tmp_path_factory.mktemp("single"), "single")


def test_single_device_training_moves_the_weights(single_device):
    rng = np.random.default_rng(0)  # the draw train_small.py starts from
    initial = [0.3 * rng.standard_normal(w.shape).astype("float32") for w in single_device]
    assert max_difference(single_device, initial) > 1e-2


def test_mirrored_strategy_on_two_cpus_equals_single_device(tmp_path, single_device):
    assert max_difference(train(tmp_path, "mirrored"), single_device) < TOLERANCE


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_jax_data_parallel_on_two_host_devices_equals_single_device(tmp_path, single_device):
    two_devices = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    jax_single = train(tmp_path, "single", "jax")
    jax_parallel = train(tmp_path, "jax_data_parallel", "jax", **two_devices)
    assert max_difference(jax_parallel, jax_single) < TOLERANCE
    assert max_difference(jax_single, single_device) < TOLERANCE


def test_multi_worker_mirrored_two_local_workers_equal_single_device(tmp_path, single_device):
    workers = [f"localhost:{free_port()}", f"localhost:{free_port()}"]
    outputs = [tmp_path / f"worker{index}.npz" for index in range(2)]
    processes = [
        run_script("train_small.py", "multi_worker", out, KERAS_BACKEND="tensorflow",
                   TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                         "task": {"type": "worker", "index": index}}))
        for index, out in enumerate(outputs)]
    for process in processes:
        wait(process)
    for out in outputs:
        assert max_difference(load(out), single_device) < TOLERANCE


def test_kerastuner_chief_and_two_workers_run_the_whole_grid_once(tmp_path):
    oracle = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    tables = {tuner_id: tmp_path / f"{tuner_id}.jsonl" for tuner_id in ("chief", "tuner0", "tuner1")}
    processes = [run_script("tune_small.py", table, KERASTUNER_TUNER_ID=tuner_id, **oracle)
                 for tuner_id, table in tables.items()]
    for process in processes:
        wait(process)
    rows = {tuner_id: path.read_text().splitlines() for tuner_id, path in tables.items()}
    assert len(rows["chief"]) == 4 and len(set(rows["chief"])) == 4
    assert sorted(rows["tuner0"] + rows["tuner1"]) == sorted(rows["chief"])
