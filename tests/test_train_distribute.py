"""Training runs with --distribute and --mixed_precision, on the backend under test.

A process's devices are fixed when its backend starts, so the two-device runs
are subprocesses: `train.py --debug_cpu_devices=2` splits the CPU (JAX host
devices, TensorFlow logical CPUs). They run through tests/train_without_export.py,
which skips the SavedModel export (tests/test_train_cli.py runs the real one).
The library-level guarantees (two devices compute what one does, checkpoints
move between device counts) are tests/test_distribute.py's.
"""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from dcgan_keras import training
from dcgan_keras.callbacks import read_metrics
from dcgan_keras.config import ConfigError, resolve_config
from dcgan_keras.rundir import RunDir
from test_train_cli import LOSS_COLUMNS, WITHOUT_EXPORT, assert_ok, assert_refused, cli_env, train_in_process

BACKEND = keras.backend.backend()
QUICK = {"steps_per_epoch": 2, "epochs": 1, "data_options": {"num": 64}}
QUICK_FLAGS = ["--dataset=synthetic", "--steps_per_epoch=2"]
needs_distribution = pytest.mark.skipif(BACKEND == "torch", reason="torch has no data-parallel path")


@pytest.fixture
def no_export(monkeypatch):
    """The export costs a TensorFlow subprocess on JAX and torch; tests/test_train_cli.py runs it."""
    from dcgan_keras import export

    def fake_export(generator, export_dir, overwrite=False):
        os.makedirs(export_dir, exist_ok=True)
        return export_dir

    monkeypatch.setattr(export, "export_saved_model", fake_export)


def train_cli(*args, cwd, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, WITHOUT_EXPORT, f"--backend={BACKEND}", *args],
        cwd=cwd, env=env or cli_env(), capture_output=True, text=True, timeout=timeout,
    )


def dtypes(variables):
    return {str(v.dtype) for v in variables}


def assert_finite_losses(run, epochs):
    metrics = read_metrics(run.metrics_csv)
    np.testing.assert_array_equal(metrics["epoch"], epochs)
    for column in LOSS_COLUMNS:
        assert np.isfinite(metrics[column]).all(), column


# -------------------------------------------------------------- mixed precision


def test_mixed_precision_runs_and_resumes_in_another_precision(tmp_path, no_export):
    """Epoch 1 in mixed_bfloat16, epoch 2 resumed in mixed_float16: finite
    losses, float32 checkpoints, the optimizers' state carried across, and
    the global policy float32 again after each run."""
    run = RunDir(tmp_path / "run")
    lines = []
    bf16 = resolve_config("synthetic", overrides=dict(QUICK, mixed_precision="mixed_bfloat16"))
    training.train(bf16, run.path, verbose=0, print_fn=lines.append)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert_finite_losses(run, [1])
    assert ", mixed_bfloat16" in lines[0]
    record = run.read_record()
    assert record["config"]["mixed_precision"] == "mixed_bfloat16" and record["devices"] == 1
    checkpoint = keras.saving.load_model(run.checkpoint_path(1))
    assert dtypes(checkpoint.weights) == {"float32"}
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in checkpoint.generator.layers}

    f16 = resolve_config("synthetic", overrides=dict(QUICK, epochs=2, mixed_precision="mixed_float16"))
    gan = training.train(f16, run.path, resume=True, verbose=0, print_fn=lines.append)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert any(
        "Resuming in mixed_precision='mixed_float16' (the run had 'mixed_bfloat16')" in line for line in lines
    )
    assert_finite_losses(run, [1, 2])
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    # Adam's slots and step count came over from the bfloat16 checkpoint.
    assert int(keras.ops.convert_to_numpy(gan.d_optimizer.inner_optimizer.iterations)) == 4
    assert "mixed_float16" in {layer.dtype_policy.name for layer in gan.generator.layers}
    checkpoint = keras.saving.load_model(run.checkpoint_path(2))
    assert dtypes(checkpoint.weights) == {"float32"}
    # The exported generator computes in float32, with the trained weights.
    generator = keras.saving.load_model(run.generator_keras)
    assert {layer.dtype_policy.name for layer in generator.layers} == {"float32"}
    for exported, trained in zip(generator.weights, gan.sampling_generator.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(exported), keras.ops.convert_to_numpy(trained))
    # The images are ~1e-3 at this stage: a tolerance relative to them, not 2e-2.
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    expected = gan.generate(z=z)
    np.testing.assert_allclose(generator.predict(z, verbose=0), expected, atol=0.05 * np.abs(expected).max())


# ---------------------------------------------------------------- refusals


@pytest.mark.skipif(BACKEND != "torch", reason="the torch backend's refusal")
def test_torch_refuses_data_parallel_before_writing_anything(tmp_path, capfd):
    proc = train_in_process(*QUICK_FLAGS, "--distribute=data_parallel", f"--workdir={tmp_path / 'run'}", capfd=capfd)
    assert_refused(proc, "distribute='data_parallel'", "jax", "tensorflow")
    assert os.listdir(tmp_path) == []


def test_multi_host_flags_go_together_and_are_for_jax(tmp_path, capfd):
    workdir = f"--workdir={tmp_path / 'run'}"
    proc = train_in_process(*QUICK_FLAGS, "--coordinator_address=localhost:1", "--num_processes=2", workdir, capfd=capfd)
    assert_refused(proc, "go together", "missing --process_id")
    if BACKEND != "jax":
        proc = train_in_process(
            *QUICK_FLAGS, "--coordinator_address=localhost:1", "--num_processes=2", "--process_id=0", workdir,
            capfd=capfd,
        )
        assert_refused(proc, "Multi-host training runs on the jax backend only")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TF_CONFIG is tensorflow's")
def test_tf_config_is_refused_before_any_worker_waits(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]},
                                                "task": {"type": "worker", "index": 0}}))
    config = resolve_config("synthetic", overrides=dict(QUICK, distribute="data_parallel"))
    with pytest.raises(ConfigError, match=r"MultiWorkerMirroredStrategy.*keras-team/keras#20585.*jax backend"):
        training.train(config, tmp_path / "run", verbose=0)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------ data parallel


@needs_distribution
def test_a_two_device_run_resumes_on_one_device(tmp_path):
    run = RunDir(tmp_path / "run")
    proc = train_cli(*QUICK_FLAGS, "--epochs=1", "--distribute=data_parallel", "--mixed_precision=mixed_bfloat16",
                     "--debug_cpu_devices=2", f"--workdir={run.path}", cwd=tmp_path)
    assert_ok(proc)
    assert "data-parallel on 2 devices, mixed_bfloat16" in proc.stdout
    record = run.read_record()
    assert record["devices"] == 2 and record["processes"] == 1
    assert record["config"]["distribute"] == "data_parallel"
    assert_finite_losses(run, [1])

    # One device, without data parallelism; the precision is the run's.
    proc = train_cli("--resume", "--epochs=2", "--distribute=none", f"--workdir={run.path}", cwd=tmp_path)
    assert_ok(proc)
    assert "Resuming with distribute='none' (the run had 'data_parallel')" in proc.stdout
    record = run.read_record()
    assert record["devices"] == 2 and [r["devices"] for r in record["resumes"]] == [1]
    assert record["config"]["distribute"] == "none" and record["config"]["mixed_precision"] == "mixed_bfloat16"
    assert [e for e, _ in run.checkpoints()] == [1, 2]
    assert_finite_losses(run, [1, 2])


def free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


# The suite's only multi-host test: ~17 s of two processes, in the JAX pass.
@pytest.mark.skipif(BACKEND != "jax", reason="multi-host runs are jax's")
def test_two_jax_processes_compute_what_one_process_on_two_devices_does(tmp_path):
    """Two processes of one device each, joined over localhost, each feeding
    its half of every global batch: the same losses and weights as one
    process with two devices."""
    common = [*QUICK_FLAGS, "--epochs=1", "--distribute=data_parallel"]
    assert_ok(train_cli(*common, "--debug_cpu_devices=2", f"--workdir={tmp_path / 'one'}", cwd=tmp_path))
    address = f"--coordinator_address=localhost:{free_port()}"
    procs = [
        subprocess.Popen(
            [sys.executable, WITHOUT_EXPORT, f"--backend={BACKEND}", *common, address, "--num_processes=2",
             f"--process_id={i}", f"--workdir={tmp_path / 'two'}"],
            cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    assert "this process's run directory" in out and "on 2 devices in 2 processes" in out

    one, runs = RunDir(tmp_path / "one"), [RunDir(tmp_path / "two"), RunDir(tmp_path / "two-process1")]
    for run in runs:
        assert run.read_record()["processes"] == 2
        expected, got = read_metrics(one.metrics_csv), read_metrics(run.metrics_csv)
        for column in LOSS_COLUMNS:
            np.testing.assert_allclose(got[column], expected[column], rtol=1e-5, err_msg=column)
        reference = keras.saving.load_model(one.checkpoint_path(1)).weights
        for a, b in zip(keras.saving.load_model(run.checkpoint_path(1)).weights, reference):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6)
