"""train.py as users run it, on the backend under test ($KERAS_BACKEND).

The suite runs once per backend, so the three runs of it cover
`train.py --backend=B` for B = tensorflow, jax and torch. Runs, the kill and
the refusals that must leave a run untouched are subprocesses; the other
error paths call `train.run(argv)` in this process, which skips the seconds
each new process spends importing Keras and its backend.
"""

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import types

import keras
import numpy as np
import pytest
from PIL import Image

from dcgan_keras.callbacks import read_metrics
from dcgan_keras.config import flag_specs
from dcgan_keras.plots import read_curves
from dcgan_keras.tensorboard_logs import read_tensorboard
from dcgan_keras.images import make_grid, to_uint8
from dcgan_keras.rundir import RunDir
from helpers import REPO, TF_LOG_LINE, assert_same_pixels, site_packages_without, snapshot, without_tf_log_level

BACKEND = keras.backend.backend()
TRAIN = os.path.join(REPO, "train.py")
# The synthetic preset's tiny networks, 2 epochs of 3 steps.
QUICK = ["--dataset=synthetic", "--epochs=2", "--steps_per_epoch=3"]
LOSS_COLUMNS = ("d_loss", "g_loss", "d_real", "d_fake", "d_acc")


def cli_env():
    # No TF_CPP_MIN_LOG_LEVEL, as a user's shell: train.py must keep TensorFlow quiet itself.
    env = without_tf_log_level(dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1"))
    # The JAX runs share the tests' compile cache rather than filling ~/.cache.
    env.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(REPO, ".pytest_cache", "jax-compile"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
    # The backend must come from --backend, whatever the environment says.
    env["KERAS_BACKEND"] = "torch" if BACKEND != "torch" else "jax"
    return env


# train.py with the SavedModel export replaced by an empty folder: for runs
# that are not about the export, which on JAX and torch costs a TensorFlow
# subprocess (~14 s here).
WITHOUT_EXPORT = os.path.join(REPO, "tests", "train_without_export.py")


def train_cli(*args, cwd, timeout=240, export=True):
    return subprocess.run(
        [sys.executable, TRAIN if export else WITHOUT_EXPORT, f"--backend={BACKEND}", *args],
        cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout,
    )


def assert_ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


def assert_refused(proc, *phrases, code=2):
    """Exit `code`, one `error:` line on stderr saying `phrases`, no traceback."""
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]


def train_in_process(*args, capfd):
    """`python train.py --backend=B ARGS` run here: its exit code, stdout and stderr."""
    import train

    train.FLAGS.unparse_flags()
    with pytest.raises(SystemExit) as exit_info:
        train.run(["train.py", f"--backend={BACKEND}", *args])
    out, err = capfd.readouterr()
    return types.SimpleNamespace(returncode=exit_info.value.code or 0, stdout=out, stderr=err)



def generator_output(path):
    generator = keras.saving.load_model(path)
    z = np.random.default_rng(0).standard_normal((4, generator.input_shape[-1])).astype("float32")
    return keras.ops.convert_to_numpy(generator(z, training=False))


def plain_keras_output(path, z, cwd):
    """`path`'s images for `z`, from a process with Keras alone: dcgan_keras never imported there."""
    np.save(os.path.join(cwd, "z.npy"), z)
    code = (
        "import sys, keras, numpy as np\n"
        f"g = keras.saving.load_model({str(path)!r})\n"
        "np.save('out.npy', keras.ops.convert_to_numpy(g(np.load('z.npy'), training=False)))\n"
        "assert not any(m.startswith('dcgan_keras') for m in sys.modules), 'dcgan_keras was imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", code], env=dict(env, KERAS_BACKEND=BACKEND), cwd=cwd, check=True)
    return np.load(os.path.join(cwd, "out.npy"))


def signal_in_epoch_2(run, cwd, signum, args=QUICK):
    """Sends `signum` to a run of `args` (two epochs of 3 steps) in `run` midway through epoch 2; its exit code and stderr."""
    with open(os.path.join(cwd, "stderr.txt"), "w+") as stderr:
        # Half a second a batch: epoch 2 lasts 1.5 s, time to signal it mid-way.
        proc = subprocess.Popen(
            [sys.executable, TRAIN, f"--backend={BACKEND}", *args, f"--workdir={run.path}",
             "--debug_batch_sleep=0.5"],
            cwd=cwd, env=cli_env(), stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
        try:
            deadline = time.time() + 180
            # The summary line comes after epoch 1's checkpoint; epoch 2 starts right after it.
            for line in proc.stdout:
                if "epoch 1/2  " in line or time.time() > deadline:
                    break
            assert os.path.isfile(run.checkpoint_path(1)), "epoch 1 never finished"
            time.sleep(0.6)
            assert proc.poll() is None, "the run ended before the signal"
            proc.send_signal(signum)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        stderr.seek(0)
        return types.SimpleNamespace(returncode=proc.returncode, stderr=stderr.read())


def assert_plot_matches_csv(run):
    """metrics.png is a whole PNG whose drawn curves are metrics.csv's columns, epoch by epoch."""
    with Image.open(run.metrics_png) as image:
        image.verify()
    metrics, curves = read_metrics(run.metrics_csv), read_curves(run.metrics_png)
    assert sorted(curves) == ["d_fake", "d_loss", "d_real", "g_loss"]  # no FID computed: no FID panel
    for column, points in curves.items():
        np.testing.assert_allclose(np.array(points), np.stack([metrics["epoch"], metrics[column]], 1), err_msg=column)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """One uninterrupted run: its artifacts are checked, and the killed run must match it."""
    cwd = tmp_path_factory.mktemp("cli")
    proc = train_cli(*QUICK, "--workdir=ref", cwd=cwd)
    assert_ok(proc)
    return RunDir(os.path.join(cwd, "ref")), proc


def test_a_run_writes_every_artifact(reference_run, tmp_path):
    run, proc = reference_run
    assert f"backend: {BACKEND}" in proc.stdout
    # TensorFlow's C++ start-up lines (oneDNN, cpu_feature_guard, remapper) stay quiet by default.
    assert not TF_LOG_LINE.findall(proc.stdout + proc.stderr), proc.stderr[-3000:]
    assert "epoch 2/2  d_loss " in proc.stdout and " img/s" in proc.stdout

    record = json.load(open(run.config_json))
    assert record["backend"] == BACKEND
    assert record["config"]["dataset"] == "synthetic" and record["config"]["epochs"] == 2
    assert {"keras", "numpy", "tensorflow", "jax", "torch"} <= set(record["versions"])
    assert record["started"]

    assert [e for e, _ in run.checkpoints()] == [1, 2]
    assert np.load(run.fixed_noise).shape == (16, 8)
    assert [e for e, _ in run.samples()] == [1, 2]
    assert Image.open(run.sample_path(2)).size == (4 * 30 + 2,) * 2
    # The grids are G(fixed noise): the last one, the last checkpoint's generator on it.
    last = keras.saving.load_model(run.checkpoint_path(2)).generate(z=np.load(run.fixed_noise))
    grid = np.asarray(Image.open(run.sample_path(2))).astype(int).reshape(4 * 30 + 2, 4 * 30 + 2, 1)
    assert np.abs(grid - make_grid(to_uint8(last))).max() <= 1  # 8-bit rounding
    assert Image.open(run.gif).n_frames == 2

    metrics = read_metrics(run.metrics_csv)
    np.testing.assert_array_equal(metrics["epoch"], [1, 2])
    for column in LOSS_COLUMNS + ("seconds", "images_per_sec"):
        assert np.isfinite(metrics[column]).all(), column

    assert_plot_matches_csv(run)

    events = read_tensorboard(run.tensorboard_dir)
    assert [step for step, _ in events["g_loss"]] == [1, 2]
    assert [step for step, _ in events["samples"]] == [1, 2]

    assert os.path.isfile(os.path.join(run.generator_saved_model, "saved_model.pb"))
    images = generator_output(run.generator_keras)
    assert images.shape == (4, 28, 28, 1)
    # The exported generator is the last checkpoint's.
    checkpoint = keras.saving.load_model(run.checkpoint_path(2))
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    np.testing.assert_allclose(checkpoint.generate(z=z), images, atol=1e-6)
    # It loads in plain Keras, where dcgan_keras was never imported, and makes the run's samples' images.
    fixed = np.load(run.fixed_noise)
    np.testing.assert_allclose(
        plain_keras_output(run.generator_keras, fixed, tmp_path), checkpoint.generate(z=fixed), atol=1e-5
    )
    assert run.temporaries() == []


def test_a_killed_run_resumes_to_the_uninterrupted_result(reference_run, tmp_path):
    reference, _ = reference_run
    run = RunDir(tmp_path / "killed")
    signal_in_epoch_2(run, tmp_path, signal.SIGKILL)
    assert [e for e, _ in run.checkpoints()] == [1]
    assert not os.path.exists(run.generator_keras)
    assert_plot_matches_csv(run)  # killed mid-epoch 2: epoch 1's figure, whole

    # The config comes from the run's config.json, and the backend from there too, over
    # KERAS_BACKEND (cli_env names another): flags may be left out.
    resumed = subprocess.run(
        [sys.executable, WITHOUT_EXPORT, "--resume", f"--workdir={run.path}"],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=240,
    )
    assert_ok(resumed)
    assert f"backend: {BACKEND}\n" in resumed.stdout and "Resuming a" not in resumed.stderr

    expected, got = read_metrics(reference.metrics_csv), read_metrics(run.metrics_csv)
    np.testing.assert_array_equal(got["epoch"], [1, 2])
    for column in LOSS_COLUMNS:
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-5, err_msg=column)
    np.testing.assert_allclose(
        generator_output(run.generator_keras), generator_output(reference.generator_keras), atol=1e-5
    )
    assert [r["after_epoch"] for r in json.load(open(run.config_json))["resumes"]] == [1]


def test_resume_takes_the_backend_the_run_last_trained_on_and_passes_over_a_damaged_record(tmp_path):
    from dcgan_keras.train_command import run_backend

    records = {
        '{"backend": "jax"}': "jax",
        '{"backend": "jax", "resumes": [{"backend": "torch"}]}': "torch",  # moved on a resume
        '{"backend": "jax", "resumes": {"0": {}}}': None,  # damaged: the resume's own check names it
        '{"backend": "mxnet"}': None,
        "not json": None,
        "[1, 2]": None,
    }
    for text, expected in records.items():
        (tmp_path / "config.json").write_text(text)
        assert run_backend(str(tmp_path)) == expected, text
    assert run_backend(str(tmp_path / "missing")) is None


def test_a_run_directory_another_process_trains_in_is_refused(tmp_path, capfd):
    busy = RunDir(tmp_path / "busy")
    busy.create(new=True)  # as a training process holds it
    try:
        for args in (QUICK, ["--resume"]):
            proc = train_in_process(*args, f"--workdir={busy.path}", capfd=capfd)
            assert_refused(proc, f"Another process (pid {os.getpid()}) is training in {busy.path}")
    finally:
        busy.release()
    assert sorted(os.listdir(busy.path)) == [".lock", "checkpoints", "samples"]
    # What a run stopped before its first file leaves: the same command starts it again.
    proc = train_in_process(*QUICK, f"--workdir={busy.path}", capfd=capfd)
    assert proc.returncode == 0, proc.stderr
    assert [e for e, _ in busy.checkpoints()] == [1, 2]


def test_a_full_disk_exits_2_naming_the_file_keeping_the_completed_epochs(tmp_path, capfd, monkeypatch):
    from dcgan_keras.gan import DCGAN

    save = DCGAN.save

    def save_until_the_disk_fills(self, path, *args, **kwargs):
        if "epoch_0002" in os.fspath(path):
            with open(path, "wb") as f:
                f.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device", os.fspath(path))
        return save(self, path, *args, **kwargs)

    monkeypatch.setattr(DCGAN, "save", save_until_the_disk_fills)
    run = RunDir(tmp_path / "full")
    proc = train_in_process(*QUICK, f"--workdir={run.path}", capfd=capfd)
    assert_refused(proc, "No space left on device", "epoch_0002.keras", "free space",
                   f"--resume --workdir={run.path}")
    assert [e for e, _ in run.checkpoints()] == [1]
    assert run.temporaries() == []  # the half-written checkpoint does not hold on to the space
    keras.saving.load_model(run.checkpoint_path(1))


def test_a_diverged_run_stops_and_keeps_its_last_good_checkpoint(tmp_path, capfd):
    run = RunDir(tmp_path / "nan")
    proc = train_in_process(*QUICK, f"--workdir={run.path}", "--debug_nan_at_epoch=2", capfd=capfd)
    # The advice is for a new run: a resume refuses another --lr or --seed.
    assert_refused(proc, "Training diverged", "at epoch 2, batch 1", "epoch_0001.keras", "in a new run", code=3)
    assert [e for e, _ in run.checkpoints()] == [1]
    assert "Training diverged" in open(run.diverged).read()
    assert not os.path.exists(run.generator_keras)
    gan = keras.saving.load_model(run.checkpoint_path(1))
    assert np.isfinite(gan.generate(4, seed=0)).all()
    for v in gan.discriminator.trainable_variables:
        assert np.isfinite(keras.ops.convert_to_numpy(v)).all()


@pytest.mark.one_backend  # refused while the flags are parsed, before a backend loads
def test_bad_flag_values_exit_2_before_anything_loads(tmp_path):
    for args, phrase in (
        (["--dataset=synthetic", "--epochs=abc"], "epochs"),
        (["--dataset=synthetic", "--epochs=0"], "epochs"),
        (["--dataset=synthetic", "--nonsense=1"], "nonsense"),
        (["--dataset=synthetic", "--seed=4294967296"], "seed"),  # Keras's seeds are uint32
        (["--dataset=synthetic", "--workdir="], "--workdir is empty"),
        (["--dataset=synthetic", "--coordinator_address=notanaddress", "--num_processes=2", "--process_id=0"],
         "HOST:PORT"),
    ):
        assert_refused(train_cli(*args, cwd=tmp_path, timeout=60), phrase)
    proc = subprocess.run(
        [sys.executable, TRAIN, "--backend=numpy"], cwd=tmp_path, env=cli_env(),
        capture_output=True, text=True, timeout=60,
    )
    assert_refused(proc, "backend")
    assert os.listdir(tmp_path) == []


def test_a_network_too_large_for_memory_exits_2_saying_so(tmp_path):
    # Each backend runs out its own way (MemoryError, torch's OutOfMemoryError, XLA's
    # RESOURCE_EXHAUSTED): cli.out_of_memory must know each. 313 GB for G's first layer.
    assert_refused(train_cli("--dataset=synthetic", "--latent_dim=100000000", cwd=tmp_path, timeout=120),
                   "out of memory")
    assert os.listdir(tmp_path) == []


def test_a_new_run_never_touches_an_existing_one(reference_run):
    run, _ = reference_run
    before = snapshot(run.path)
    proc = train_cli(*QUICK, f"--workdir={run.path}", cwd=os.path.dirname(run.path))
    assert_refused(proc, "already holds an earlier run", "--resume", "another --workdir")
    assert snapshot(run.path) == before


def test_resume_with_another_config_is_refused_naming_the_keys(reference_run, capfd):
    run, _ = reference_run
    before = snapshot(run.path)
    proc = train_in_process(*QUICK, "--lr=0.1", "--resume", f"--workdir={run.path}", capfd=capfd)
    assert_refused(proc, "differing key(s): lr ")
    assert snapshot(run.path) == before


def test_resume_refuses_a_checkpoint_of_another_run_before_writing(reference_run, tmp_path, capfd):
    from dcgan_keras.config import resolve_config
    from dcgan_keras.run_model import build_model

    run = RunDir(tmp_path / "run")
    shutil.copytree(reference_run[0].path, run.path)
    # A checkpoint of another run (latent 4, not the preset's 8) as the newest one.
    build_model(resolve_config("synthetic", overrides={"latent_dim": 4})).save(run.checkpoint_path(3))
    before = snapshot(run.path)
    proc = train_in_process("--dataset=synthetic", "--steps_per_epoch=3", "--epochs=4", "--resume",
                            f"--workdir={run.path}", capfd=capfd)
    assert_refused(proc, "epoch_0003.keras is not a checkpoint of this run", "latent_dim 4", "Move it out")
    assert snapshot(run.path) == before


def test_resume_with_fewer_epochs_than_trained_is_refused(reference_run, capfd):
    run, _ = reference_run
    before = snapshot(run.path)
    proc = train_in_process("--dataset=synthetic", "--steps_per_epoch=3", "--epochs=1", "--resume",
                            f"--workdir={run.path}", capfd=capfd)
    assert_refused(proc, "has 2 epochs; epochs=1 would train none", "--epochs above 2")
    assert snapshot(run.path) == before


def truncate(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def test_resume_gets_past_damaged_files_and_trains_on(reference_run, tmp_path, capfd):
    run = RunDir(tmp_path / "run")
    shutil.copytree(reference_run[0].path, run.path)
    original = np.load(run.fixed_noise)
    with open(run.fixed_noise, "wb") as f:
        f.write(b"not an array")
    with open(run.sample_path(1), "wb") as f:  # a damaged grid: left out of the GIF
        f.write(b"not a png")
    truncate(run.checkpoint_path(2))  # the newest checkpoint: the run goes on from epoch 1's
    with pytest.warns(UserWarning) as warned:
        proc = train_in_process("--dataset=synthetic", "--steps_per_epoch=3", "--epochs=3", "--resume",
                                f"--workdir={run.path}", capfd=capfd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming after epoch 1" in proc.stdout
    messages = " | ".join(str(w.message) for w in warned)
    assert "fixed_noise.npy is damaged" in messages and "epoch_0001.png out of the GIF" in messages
    assert "epoch_0002.keras: not a .keras archive" in messages
    np.testing.assert_array_equal(np.load(run.fixed_noise), original)
    assert os.path.isfile(run.checkpoint_path(3))
    assert Image.open(run.gif).n_frames == 2  # epochs 2 and 3


def test_resume_with_every_checkpoint_damaged_is_refused(reference_run, tmp_path, capfd):
    run = RunDir(tmp_path / "run")
    shutil.copytree(reference_run[0].path, run.path)
    for epoch in (1, 2):
        truncate(run.checkpoint_path(epoch))
    before = snapshot(run.path)
    with pytest.warns(UserWarning, match="not a .keras archive"):
        proc = train_in_process("--dataset=synthetic", "--steps_per_epoch=3", "--epochs=3", "--resume",
                                f"--workdir={run.path}", capfd=capfd)
    assert_refused(proc, "None of the checkpoints in", "could be loaded")
    assert snapshot(run.path) == before


def test_resume_of_a_missing_workdir_and_unknown_preset(tmp_path, capfd):
    missing = tmp_path / "nowhere"
    assert_refused(train_in_process("--resume", f"--workdir={missing}", capfd=capfd), "nowhere does not exist")
    new = tmp_path / "new"
    assert_refused(train_in_process("--dataset=mnits", f"--workdir={new}", capfd=capfd),
                   "No preset 'mnits'", "Did you mean 'mnist'")
    assert_refused(train_in_process(f"--workdir={new}", capfd=capfd), "--dataset=NAME")
    assert os.listdir(tmp_path) == []


def test_missing_data_files_and_an_unwritable_workdir_exit_2_leaving_no_run(tmp_path, capfd):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = train_in_process("--dataset=mnist", f"--data_dir={empty}", f"--workdir={tmp_path / 'run'}", capfd=capfd)
    assert_refused(proc, "train-images-idx3-ubyte", str(empty))
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    assert_refused(train_in_process(*QUICK, f"--workdir={a_file}/run", capfd=capfd), str(a_file))
    assert sorted(os.listdir(tmp_path)) == ["a_file", "empty"] and a_file.read_text() == "mine"


def test_flags_reach_the_run_and_a_failed_export_exits_1_keeping_the_training(tmp_path, capfd, monkeypatch):
    from dcgan_keras import export

    def broken_export(*args, **kwargs):
        raise export.ExportError("the converter broke")

    monkeypatch.setattr(export, "export_saved_model", broken_export)
    run = RunDir(tmp_path / "run")
    preset = tmp_path / "preset.py"  # the synthetic preset, keeping one checkpoint
    preset.write_text(open(os.path.join(REPO, "configs", "synthetic.py")).read().replace(
        '"epochs": 2,', '"epochs": 2, "checkpoints_to_keep": 1,'))
    flags = {"batch_size": 8, "latent_dim": 6, "lr": 0.0005, "d_steps": 2, "update": "sequential",
             "label_smoothing": 0.2, "ema": 0.9, "seed": 3}
    proc = train_in_process(
        f"--config={preset}", "--epochs=2", "--steps_per_epoch=3",
        f"--workdir={run.path}", *(f"--{name}={value}" for name, value in flags.items()), capfd=capfd,
    )
    assert_refused(proc, "training finished", "the export failed: the converter broke", code=1)
    # README: the checkpoints and generator.keras are there, and sample.py --export makes it again.
    assert [epoch for epoch, _ in run.checkpoints()] == [2]  # "the last few kept": here one
    assert os.path.exists(run.generator_keras) and not os.path.exists(run.generator_saved_model)
    config = run.read_record()["config"]
    assert {name: config[name] for name in flags} == flags
    assert config["dataset"] == "synthetic" and config["checkpoints_to_keep"] == 1
    gan = keras.saving.load_model(run.checkpoint_path(2))
    assert (gan.d_steps, gan.latent_dim, gan.ema_momentum, gan.label_smoothing) == (2, 6, 0.9, 0.2)


def test_every_config_flag_reaches_the_config(tmp_path, capfd, monkeypatch):
    # A flag left out of the overrides would be accepted and then ignored.
    from dcgan_keras import training

    values = {
        "data_dir": str(tmp_path), "epochs": 7, "batch_size": 16, "latent_dim": 9, "lr": 0.001, "d_steps": 3,
        "update": "sequential", "label_smoothing": 0.1, "ema": 0.5, "seed": 4, "steps_per_epoch": 5,
        "fid_every": 2, "fid_extractor": str(tmp_path / "judge.keras"), "fid_num_samples": 50, "distribute": "data_parallel",
        "mixed_precision": "mixed_bfloat16", "loss": "hinge", "d_lr": 0.002, "g_lr": 0.003, "beta_2": 0.9,
        "weight_decay": 0.01, "g_architecture": "upsample", "d_architecture": "blocks3x3", "spectral_norm": True,
        "latent_distribution": "uniform", "instance_noise": 0.1, "instance_noise_steps": 100,
    }
    # The keys of one model each, checked in a run of that model (the others refuse them).
    by_model = {
        "conditional": {"num_classes": 12, "conditioning": "concat", "image_size": 32, "channels": 3},
        "pix2pix": {"filters": 8, "jitter": True, "lr_decay": True, "l1_weight": 10.0, "direction": "BtoA",
                    "in_channels": 1, "image_size": 64, "num_samples": 4},
        "cyclegan": {"cycle_weight": 5.0, "identity_weight": 0.0, "pool_size": 3, "residual_blocks": 2},
    }
    named = set(values) | {"model"} | {name for keys in by_model.values() for name in keys}
    assert named == {spec.name for spec in flag_specs()}, "give each config flag a value to check"
    given = []
    monkeypatch.setattr(training, "train", lambda config, workdir, **kwargs: given.append(config))
    flags = [f"--{name}={value}" for name, value in values.items()]
    assert train_in_process("--dataset=mnist", *flags, f"--workdir={tmp_path / 'run'}", capfd=capfd).returncode == 0
    config = given[0]
    assert {name: getattr(config, name) for name in values if name != "update"} == {
        name: value for name, value in values.items() if name != "update"}
    for model, keys in by_model.items():
        given.clear()
        size = [] if "image_size" in keys else ["--image_size=32"]
        flags = [f"--{name}={value}" for name, value in keys.items()]
        proc = train_in_process("--dataset=synthetic" if model == "conditional" else "--dataset=paired_folder",
                                f"--model={model}", *size, *flags, f"--workdir={tmp_path / 'run'}", capfd=capfd)
        assert proc.returncode == 0, proc.stderr
        assert given[0].model == model and {name: getattr(given[0], name) for name in keys} == keys
    given.clear()
    train_in_process("--dataset=synthetic", "--update=simultaneous", f"--workdir={tmp_path / 'run'}", capfd=capfd)
    assert given[0].update == "simultaneous"  # not the default, which the first run could not tell apart


# Runs a script with `python -S`, on a site-packages folder given first (what
# helpers.site_packages_without makes) and the repository.
WITHOUT_BOOT = r"""
import runpy, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
sys.argv = sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.skipif(BACKEND == "tensorflow", reason="what a JAX- or torch-only install does")
def test_without_tensorflow_a_run_trains_samples_and_says_how_to_export(tmp_path):
    site_dir = site_packages_without(tmp_path / "site", "tensorflow", "tf2onnx")
    (tmp_path / "boot.py").write_text(WITHOUT_BOOT)

    def run_script(script, *args):
        return subprocess.run(
            [sys.executable, "-S", str(tmp_path / "boot.py"), str(site_dir), REPO, os.path.join(REPO, script),
             f"--backend={BACKEND}", *args],
            cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=240,
        )

    proc = run_script("train.py", *QUICK, "--workdir=run")
    assert_ok(proc)
    run = RunDir(tmp_path / "run")
    assert "tensorflow is not installed: no TensorBoard logs" in proc.stderr, proc.stderr
    assert "no SavedModel" in proc.stdout and "pip install tensorflow" in proc.stdout, proc.stdout
    assert "(python sample.py --checkpoint=run/generator.keras --export=run/generator)" in proc.stdout
    assert [epoch for epoch, _ in run.checkpoints()] == [1, 2] and os.path.exists(run.generator_keras)
    assert not os.path.exists(run.generator_saved_model) and not os.path.exists(tmp_path / "run" / "tensorboard")

    proc = run_script("sample.py", "--checkpoint=run", "--num=4", "--out=samples.png")
    assert_ok(proc)
    # The newest checkpoint's images, sampled here on the same backend (in another process: one
    # 8-bit level apart where it rounds an x.5 otherwise).
    expected = make_grid(to_uint8(keras.saving.load_model(run.checkpoint_path(2)).generate(4, seed=0)))
    assert_same_pixels(np.asarray(Image.open(tmp_path / "samples.png")).reshape(expected.shape), expected)
    assert_refused(run_script("sample.py", "--checkpoint=run", "--export=generator"), "pip install tensorflow")


def test_without_workdir_a_run_lands_in_runs_dataset_backend_time(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_ok(train_in_process("--dataset=synthetic", "--epochs=1", "--steps_per_epoch=1", capfd=capfd))
    (name,) = os.listdir(tmp_path / "runs")
    assert re.fullmatch(rf"synthetic-{BACKEND}-\d{{8}}-\d{{6}}", name), name
    assert [epoch for epoch, _ in RunDir(tmp_path / "runs" / name).checkpoints()] == [1]


@pytest.mark.one_backend  # train.py's warning format, whatever the backend
def test_the_package_warnings_print_as_one_warning_line(tmp_path):
    # As errors print one `error:` line: not Python's file:line and source echo.
    proc = train_cli("--dataset=synthetic", "--epochs=1", "--steps_per_epoch=1", "--mixed_precision=mixed_float16",
                     f"--workdir={tmp_path / 'run'}", cwd=tmp_path, export=False)
    assert_ok(proc)
    warned = [line for line in proc.stderr.splitlines() if "mixed_float16 on a CPU" in line]
    assert warned == [warned[0]] and warned[0].startswith("warning: mixed_float16 on a CPU computes slower"), proc.stderr
    assert "UserWarning" not in proc.stderr and "distribute.py" not in proc.stderr, proc.stderr


STEP = re.compile(r"\x1b\[1m(\d+)/\d+\x1b\[0m")  # the progress bar's "k/N"


@pytest.mark.parametrize("signum, epoch", [(signal.SIGINT, 1), (signal.SIGTERM, 2)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_epoch_stops_within_two_steps_saying_what_was_kept(tmp_path, signum, epoch):
    # Ctrl-C in the first epoch keeps nothing; SIGTERM (what schedulers, `timeout` and `docker stop`
    # send) in the second keeps the first. Each step's batch-end hook sleeps 0.3 s on fit's thread
    # pool, as a slow device would: on JAX the loop ran ~30 steps ahead of it, and all of them ran
    # after a Ctrl-C. The signal goes at step 5 of 24: CI once saw step 5 only when 12 steps had run
    # (its runner starved this loop), and the Ctrl-C fell after epoch 1 was kept.
    run, steps_per_epoch = RunDir(tmp_path / "run"), 24
    proc = subprocess.Popen(
        [sys.executable, TRAIN, f"--backend={BACKEND}", "--dataset=synthetic", f"--epochs={epoch}",
         f"--steps_per_epoch={steps_per_epoch}", "--debug_step_sleep=0.3", "--workdir=run"],
        cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )

    def steps_of_the_epoch(out):
        # The bar's steps after the summary line of the epoch before (none before that line).
        text, before = out.decode(errors="replace"), f"epoch {epoch - 1}/{epoch}  "
        if epoch > 1:
            text = text.split(before)[-1] if before in text else ""
        return [int(k) for k in STEP.findall(text)]

    try:
        os.set_blocking(proc.stdout.fileno(), False)
        out, at_signal, deadline = b"", None, time.time() + 180
        while proc.poll() is None and time.time() < deadline:
            out += proc.stdout.read() or b""
            steps = steps_of_the_epoch(out)
            if at_signal is None and steps and max(steps) >= 5:
                at_signal, signalled = max(steps), time.monotonic()
                proc.send_signal(signum)
            time.sleep(0.01)
        proc.wait(timeout=30)
        out += proc.stdout.read() or b""
        stderr = proc.stderr.read().decode()
        assert at_signal is not None, f"epoch {epoch} never reached step 5:\n{stderr[-3000:]}"
        seconds = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    last = max(steps_of_the_epoch(out))
    assert at_signal < steps_per_epoch - 2, f"this loop saw step 5 of epoch {epoch} only at step {at_signal}: too late to judge"
    assert last - at_signal <= 2, f"signalled after step {at_signal} of epoch {epoch}, the bar went on to {last}"
    assert seconds < 10, f"{seconds:.1f} s from the signal to the exit"
    assert "Traceback" not in stderr, stderr[-3000:]  # one line says what happened, and nothing above it
    if signum == signal.SIGINT:
        assert proc.returncode == 130, stderr[-3000:]
        assert "error: interrupted; no epoch had completed, so none is kept" in stderr, stderr[-3000:]
        return
    assert_refused(
        types.SimpleNamespace(returncode=proc.returncode, stderr=stderr), "stopped by SIGTERM",
        "epoch 1 is kept (checkpoints/epoch_0001.keras)", f"python train.py --resume --workdir=run --backend={BACKEND}",
        code=143,
    )
    assert [e for e, _ in run.checkpoints()] == [1]
    assert run.temporaries() == [] and not os.path.exists(run.generator_keras)
    run.create()  # its lock went with it
    run.release()
