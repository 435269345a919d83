"""Config loading, run-directory rules and the training lifecycle, in-process and fast."""

import dataclasses
import json
import os
import shutil
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

from dcgan_keras import config as config_lib
from dcgan_keras import gif, run_model
from dcgan_keras import rundir, training
from dcgan_keras.callbacks import read_metrics
from dcgan_keras.tensorboard_logs import TensorBoardLogger, read_tensorboard
from dcgan_keras.config import Config, ConfigError, resolve_config
from dcgan_keras.rundir import RunDir, RunDirError
from helpers import QUICK_COMPILE, changed, numpy_weights, snapshot

# Two steps an epoch of the synthetic preset's tiny networks.
QUICK = {"steps_per_epoch": 2, "epochs": 1, "data_options": {"num": 64}, **QUICK_COMPILE}


@pytest.fixture
def no_export(monkeypatch):
    """The SavedModel export costs a TensorFlow subprocess on JAX and torch;
    the command-line tests run it, these record that it was asked for."""
    from dcgan_keras import export

    calls = []

    def fake_export(generator, export_dir, overwrite=False):
        os.makedirs(export_dir, exist_ok=True)
        calls.append(export_dir)
        return export_dir

    monkeypatch.setattr(export, "export_saved_model", fake_export)
    return calls



# ------------------------------------------------------------------ config


def test_defaults_are_the_dcgan_paper_recipe():
    config = Config()
    assert (config.lr, config.beta_1, config.batch_size, config.latent_dim) == (2e-4, 0.5, 128, 100)
    assert config.d_learning_rate == config.g_learning_rate == 2e-4
    assert Config(lr=1e-3, g_lr=5e-4).g_learning_rate == 5e-4


@pytest.mark.parametrize("name", config_lib.list_presets())
def test_every_preset_loads_and_names_its_data_set(name):
    overrides = config_lib.load_preset(config_lib.preset_path(name))
    assert overrides, "a preset returns what differs from the defaults"
    config = resolve_config(name)
    assert config.dataset == overrides.get("dataset", Config().dataset)


def test_presets_cover_the_issue_list():
    expected = {"mnist", "fashion_mnist", "cifar10", "svhn", "celeba64", "folder", "synthetic"}
    assert expected <= set(config_lib.list_presets())


def test_overrides_win_and_none_means_unset():
    config = resolve_config("cifar10", overrides={"epochs": 3, "lr": None, "seed": 7})
    assert (config.epochs, config.lr, config.seed, config.image_size) == (3, 2e-4, 7, 32)


def test_json_round_trip_gives_an_equal_config():
    config = resolve_config("synthetic")
    assert config.g_filters == (16, 8, 4)
    again = config_lib.make_config(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert config_lib.config_differences(config, again.to_dict()) == []


def test_unknown_keys_are_named_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"batchsize \(did you mean batch_size\?\)"):
        resolve_config("mnist", overrides={"batchsize": 64})


def test_bad_values_are_all_named():
    with pytest.raises(ConfigError) as err:
        config_lib.make_config({"image_size": 30, "lr": -1.0, "epochs": 0, "g_filters": (8, "x")})
    for key in ("image_size", "lr", "epochs", "g_filters"):
        assert key in str(err.value)
    assert isinstance(err.value, ValueError)


def test_simultaneous_update_with_several_d_steps_is_refused():
    with pytest.raises(ConfigError, match=r"update='simultaneous'.*d_steps must be 1, got 2"):
        resolve_config("mnist", overrides={"update": "simultaneous", "d_steps": 2})
    with pytest.raises(ConfigError, match=r"update must be one of"):
        resolve_config("mnist", overrides={"update": "alternating"})
    assert resolve_config("mnist", overrides={"update": "simultaneous"}).update == "simultaneous"


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"No preset 'mnits'.*Did you mean 'mnist'"):
        resolve_config("mnits")


def test_a_preset_file_whose_get_config_fails_is_refused_naming_it(tmp_path):
    preset = tmp_path / "raises.py"
    preset.write_text("def get_config():\n    raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"get_config\(\) in .*raises.py failed: RuntimeError: boom"):
        resolve_config(config_path=str(preset))


def test_a_data_dir_for_the_synthetic_data_set_is_refused():
    with pytest.raises(ConfigError, match=r"'synthetic' draws its images and reads no files"):
        resolve_config("synthetic", overrides={"data_dir": "/data"})


def test_a_seed_beyond_uint32_is_refused():
    with pytest.raises(ConfigError, match=r"seed must be an int in \[0, 4294967295\]"):
        resolve_config("synthetic", overrides={"seed": 2**32})


def test_data_dir_and_a_judge_file_are_recorded_absolute_and_data_dir_may_change_on_resume(tmp_path, monkeypatch):
    from dcgan_keras.config import RESUMABLE_CHANGES, config_differences

    monkeypatch.chdir(tmp_path)
    recorded = resolve_config("mnist", overrides={"data_dir": "data/mnist"})
    assert recorded.data_dir == str(tmp_path / "data" / "mnist")
    moved = resolve_config("mnist", overrides={"data_dir": "/elsewhere/mnist"})
    assert config_differences(recorded, moved, ignore=RESUMABLE_CHANGES) == []
    # A classifier judge's file too: a resume from elsewhere would not find "clf.weights.h5".
    judged = resolve_config("mnist", overrides={"fid_every": 1, "fid_extractor": "clf.weights.h5"})
    assert judged.fid_extractor == str(tmp_path / "clf.weights.h5")
    assert resolve_config("mnist", overrides={"fid_every": 1}).fid_extractor == "inception"


def test_a_preset_that_leaves_out_the_shape_gets_the_data_sets_own():
    # It trained CIFAR-100 as 28x28 gray, Config's MNIST defaults, without a word.
    config = config_lib.make_config({"dataset": "cifar100"})
    assert (config.image_size, config.channels) == (32, 3)
    assert config_lib.make_config({"dataset": "folder", "channels": 1}).image_size == 64
    assert config_lib.make_config({"dataset": "cifar10", "image_size": 64}).channels == 3
    with pytest.raises(ConfigError, match=r"dataset 'npy' holds images of any shape: set image_size and channels"):
        config_lib.make_config({"dataset": "npy", "data_dir": "/x.npy"})


def test_a_data_set_without_a_preset_is_refused_with_how_to_write_one():
    # load_dataset reads cifar100, but --dataset names a preset file.
    with pytest.raises(ConfigError, match=r"cifar100 is a data set.*'dataset': 'cifar100'.*--config=PATH"):
        resolve_config("cifar100")


def test_preset_files_anywhere(tmp_path):
    good = tmp_path / "mine.py"
    good.write_text("def get_config():\n    return {'dataset': 'synthetic', 'epochs': 4}  # why: short\n")
    assert resolve_config(config_path=good).epochs == 4
    (tmp_path / "none.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match="must define get_config"):
        resolve_config(config_path=tmp_path / "none.py")
    (tmp_path / "broken.py").write_text("def get_config(:\n")
    with pytest.raises(ConfigError, match="failed to import: SyntaxError"):
        resolve_config(config_path=tmp_path / "broken.py")
    (tmp_path / "typo.py").write_text("def get_config():\n    return {'eopchs': 4}\n")
    with pytest.raises(ConfigError, match=r"typo.py: eopchs \(did you mean epochs\?\)"):
        resolve_config(config_path=tmp_path / "typo.py")


def test_config_differences_ignore_epochs():
    assert config_lib.config_differences(Config(epochs=1), Config(epochs=9)) == []
    assert config_lib.config_differences(Config(lr=1e-3, seed=1), Config()) == ["lr", "seed"]


def test_distribute_and_precision_values_match_the_library_and_the_flags():
    import train
    from dcgan_keras import distribute

    assert config_lib.DISTRIBUTE_MODES == distribute.MODES
    assert config_lib.PRECISIONS == distribute.PRECISIONS
    assert train.FLAGS["distribute"].parser.enum_values == list(config_lib.DISTRIBUTE_MODES)
    assert train.FLAGS["mixed_precision"].parser.enum_values == list(config_lib.PRECISIONS)
    assert (Config().distribute, Config().mixed_precision) == ("none", "float32")
    with pytest.raises(ConfigError) as err:
        config_lib.make_config({"distribute": "ddp", "mixed_precision": "float16"})
    assert "distribute must be one of 'none', 'data_parallel'" in str(err.value)
    assert "mixed_precision must be one of 'float32', 'mixed_float16', 'mixed_bfloat16'" in str(err.value)


# ------------------------------------------------------------------ run dir


def test_new_run_accepts_missing_or_empty_and_refuses_anything_else(tmp_path):
    rundir.check_new_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    rundir.check_new_run(tmp_path / "empty")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match=r"already holds files.*--resume.*another --workdir"):
        rundir.check_new_run(tmp_path / "used")
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="is a file"):
        rundir.check_new_run(tmp_path / "file")
    # A stopped run's skeleton (the lock, empty folders) is no run; an empty checkpoints/ beside a file is.
    (tmp_path / "skeleton" / "checkpoints").mkdir(parents=True)
    (tmp_path / "skeleton" / ".lock").write_text("123\n")
    rundir.check_new_run(tmp_path / "skeleton")
    (tmp_path / "skeleton" / "config.json").write_text("{}")
    with pytest.raises(RunDirError, match="already holds an earlier run"):
        rundir.check_new_run(tmp_path / "skeleton")


def test_a_workdir_that_cannot_be_listed_is_named(tmp_path, monkeypatch):
    # As root in a test, chmod cannot make one: os.listdir fails as it would for another user.
    (tmp_path / "theirs").mkdir()

    def listdir(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(rundir.os, "listdir", listdir)
    with pytest.raises(RunDirError, match=r"Cannot read .*theirs \(Permission denied\): fix its permissions"):
        rundir.check_new_run(tmp_path / "theirs")


def test_resume_needs_an_existing_run(tmp_path):
    with pytest.raises(RunDirError, match="does not exist"):
        rundir.check_resumable(tmp_path / "missing")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "data.csv").write_text("1,2\n")
    with pytest.raises(RunDirError, match="not a run directory.*no config.json"):
        rundir.check_resumable(tmp_path / "foreign")
    (tmp_path / "foreign" / "config.json").write_text("{not json")
    with pytest.raises(RunDirError, match="Cannot read"):
        rundir.check_resumable(tmp_path / "foreign")


def test_checkpoints_ignore_and_clean_temporaries_and_rotate(tmp_path):
    run = RunDir(tmp_path)
    run.create()
    for epoch in (1, 2, 3, 4):
        with open(run.checkpoint_path(epoch), "w") as f:
            f.write("ckpt")
    leftovers = [
        os.path.join(run.checkpoints_dir, ".tmp-123-epoch_0005.keras"),
        os.path.join(run.checkpoints_dir, "epoch_0005.keras.tmp"),
        os.path.join(run.samples_dir, "epoch_0005.png.tmp-123"),
    ]
    for path in leftovers:
        with open(path, "w") as f:
            f.write("half")
    assert [e for e, _ in run.checkpoints()] == [1, 2, 3, 4]
    assert run.temporaries() == sorted(leftovers)
    run.remove_temporaries()
    assert run.temporaries() == []
    run.rotate_checkpoints(keep=2)
    assert [e for e, _ in run.checkpoints()] == [3, 4]


def test_atomic_writes_leave_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    rundir.write_json(path, {"a": 1})
    rundir.write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert os.listdir(tmp_path) == ["a.json"]

    # Atomic: a write that dies half-way (a kill, a full disk) leaves the old file whole.
    real_open = open

    class Torn:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

    def torn_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        return Torn(f) if "w" in mode else f

    monkeypatch.setattr(rundir, "open", torn_open, raising=False)
    with pytest.raises(OSError, match="No space left"):
        rundir.write_json(path, {"a": 3, "padding": "x" * 100})
    assert json.loads(path.read_text()) == {"a": 2}
    assert os.listdir(tmp_path) == ["a.json"]


def test_truncate_metrics_drops_rows_of_lost_epochs(tmp_path):
    run = RunDir(tmp_path)
    with open(run.metrics_csv, "w") as f:
        f.write("epoch,d_loss\n1,0.5\n2,0.6\n3,0.7\n")
    run.truncate_metrics(2)
    assert open(run.metrics_csv).read() == "epoch,d_loss\n1,0.5\n2,0.6\n"


# ------------------------------------------------------------------ training


def fake_run(path, config, backend=None):
    """A run directory as `train` leaves it before its first checkpoint."""
    run = RunDir(path)
    run.create()
    run.write_record({"config": config.to_dict(), "backend": backend or keras.backend.backend(), "versions": {}})
    run.release()  # as the killed process's ending did
    return run


def test_resume_refuses_another_config_naming_the_keys_and_changes_nothing(tmp_path):
    config = resolve_config("synthetic", overrides=QUICK)
    fake_run(tmp_path / "run", config)
    before = snapshot(tmp_path / "run")
    other = resolve_config("synthetic", overrides=dict(QUICK, lr=0.1, seed=3, epochs=5))
    with pytest.raises(RunDirError, match=r"differing key\(s\): lr, seed \(lr: run has 0.0002, asked 0.1") as refusal:
        training.train(other, tmp_path / "run", resume=True)
    # What may change instead: every key a resume accepts (--data_dir was left out).
    assert "only --epochs, --distribute, --mixed_precision, --data_dir may change" in str(refusal.value)
    assert snapshot(tmp_path / "run") == before


def test_resume_may_change_how_steps_are_computed_and_says_so(tmp_path):
    config = resolve_config("synthetic", overrides=QUICK)
    fake_run(tmp_path / "run", config)
    changed = resolve_config(
        "synthetic",
        overrides=dict(QUICK, epochs=3, distribute="data_parallel", mixed_precision="mixed_bfloat16"),
    )
    _, _, recorded = training._open_run_dir(changed, tmp_path / "run", resume=True)
    assert recorded == config
    lines = training._resume_changes(recorded, changed)
    assert "distribute='data_parallel' (the run had 'none')" in lines[0]
    assert "mixed_precision='mixed_bfloat16' (the run had 'float32')" in lines[1]
    assert training._resume_changes(recorded, config) == []


def test_the_global_batch_must_split_evenly_across_devices():
    from dcgan_keras.data import Batches, ImageDataset

    data = ImageDataset(np.zeros((64, 28, 28, 1), "uint8"), "zeros")
    config = resolve_config("synthetic", overrides=dict(QUICK, batch_size=18))
    with pytest.raises(ConfigError, match="batch_size=18 must be a multiple of the 4 devices"):
        training._batches(data, config, 0, devices=4)
    assert isinstance(training._batches(data, config, 0, devices=2), Batches)


def test_new_run_refuses_an_existing_run_before_loading_anything(tmp_path):
    config = resolve_config("synthetic", overrides=QUICK)
    fake_run(tmp_path / "run", config)
    before = snapshot(tmp_path / "run")
    with pytest.raises(RunDirError, match="already holds an earlier run.*--resume"):
        training.train(config, tmp_path / "run")
    assert snapshot(tmp_path / "run") == before


def test_resolve_run_config_takes_the_recorded_one_when_resuming(tmp_path):
    config = resolve_config("synthetic", overrides=QUICK)
    fake_run(tmp_path / "run", config)
    resolved = training.resolve_run_config(tmp_path / "run", resume=True, overrides={"epochs": 4, "lr": None})
    assert resolved == resolve_config("synthetic", overrides=dict(QUICK, epochs=4))
    with pytest.raises(ConfigError, match="--dataset=NAME"):
        training.resolve_run_config(tmp_path / "new", resume=False)
    # A bad value in the recorded config is blamed on that file.
    record = RunDir(tmp_path / "run").read_record()
    record["config"]["lr"] = -1.0
    (tmp_path / "run" / "config.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"run.config\.json.*lr must be"):
        training.resolve_run_config(tmp_path / "run", resume=True)


def test_data_errors_come_before_the_run_dir_is_created(tmp_path):
    from dcgan_keras.data import DataError

    config = resolve_config("svhn", overrides={"data_dir": str(tmp_path / "nowhere")})
    with pytest.raises(DataError):
        training.train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_resume_cleans_up_after_a_kill_and_trains_longer(tmp_path, no_export):
    """A run killed in its first epoch restarts; one with a checkpoint continues;
    leftovers of the kill (half-written files, the lost epoch's metrics row and
    TensorBoard points) go."""
    config = resolve_config("synthetic", overrides=QUICK)
    run = fake_run(tmp_path / "run", config)
    lines = []
    training.train(config, run.path, resume=True, verbose=0, print_fn=lines.append)
    assert any("no complete checkpoint yet" in line for line in lines)
    assert [e for e, _ in run.checkpoints()] == [1]

    # What a kill in epoch 2, after its metrics row and during its checkpoint, leaves.
    with open(run.metrics_csv) as f:
        header, row1 = f.read().splitlines()
    with open(run.metrics_csv, "a") as f:
        f.write("2" + row1[1:] + "\n")
    half = os.path.join(run.checkpoints_dir, ".tmp-99999-epoch_0002.keras")
    with open(half, "wb") as f:
        f.write(b"PK\x03\x04 half a zip")
    lost = TensorBoardLogger(run.tensorboard_dir)
    lost.on_train_begin()
    lost.on_epoch_end(1, {"g_loss": 99.0})  # epoch 2's point
    lost.on_train_end()
    with open(os.path.join(run.tensorboard_dir, sorted(os.listdir(run.tensorboard_dir))[-1]), "ab") as f:
        f.write(b"\x10\x00")  # and a record torn by the kill
    torn = os.path.join(run.tensorboard_dir, ".tmp-99999-events.out.tfevents.1.host")
    with open(torn, "wb") as f:
        f.write(b"\x10\x00")

    longer = resolve_config("synthetic", overrides=dict(QUICK, epochs=3))
    gan = training.train(longer, run.path, resume=True, verbose=0, print_fn=lines.append)
    assert not os.path.exists(half) and not os.path.exists(torn)
    g_loss = read_tensorboard(run.tensorboard_dir)["g_loss"]
    assert [step for step, _ in g_loss] == [1, 2, 3] and 99.0 not in [value for _, value in g_loss]
    assert [e for e, _ in run.checkpoints()] == [1, 2, 3]
    metrics = read_metrics(run.metrics_csv)
    np.testing.assert_array_equal(metrics["epoch"], [1, 2, 3])
    assert np.isfinite(metrics["g_loss"]).all()
    record = run.read_record()
    assert record["config"]["epochs"] == 3
    assert [r["after_epoch"] for r in record["resumes"]] == [0, 1]
    assert len(run.samples()) == 3 and os.path.isfile(run.gif)
    assert os.path.isfile(run.generator_keras) and no_export == [run.generator_saved_model] * 2
    assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 3 * QUICK["steps_per_epoch"]


def test_resuming_on_other_images_is_warned_about_and_recorded(tmp_path, no_export):
    images = np.random.default_rng(0).integers(0, 256, (32, 28, 28, 1), dtype=np.uint8)
    np.save(tmp_path / "x.npy", images)
    config = resolve_config(
        "synthetic", overrides=dict(QUICK, dataset="npy", data_dir=str(tmp_path / "x.npy"), data_options={})
    )
    training.train(config, str(tmp_path / "run"), verbose=0)
    run = RunDir(str(tmp_path / "run"))
    first = run.read_record()["data"]
    assert first["images"] == 32 and first["shape"] == [28, 28, 1]

    longer = dataclasses.replace(config, epochs=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*other data")  # the same images: nothing to say
        training.train(longer, run.path, resume=True, verbose=0)
    np.save(tmp_path / "x.npy", 255 - images)
    with pytest.warns(UserWarning, match=r"other data than the run trained on \(the same number of images \(32\), but other pixels\)"):
        training.train(dataclasses.replace(config, epochs=3), run.path, resume=True, verbose=0)
    np.save(tmp_path / "x.npy", images[:16])
    with pytest.warns(UserWarning, match=r"16 images of \(28, 28, 1\); the run had 32"):
        training.train(dataclasses.replace(config, epochs=4), run.path, resume=True, verbose=0)
    assert run.read_record()["data"]["images"] == 16


def test_a_resume_drops_the_lost_epochs_grid_from_samples_and_the_gif(tmp_path, no_export):
    from PIL import Image

    config = resolve_config("synthetic", overrides=dict(QUICK, epochs=2))
    training.train(config, str(tmp_path / "run"), verbose=0)
    run = RunDir(str(tmp_path / "run"))
    # What a kill in epoch 3 leaves: its grid and GIF frame, no checkpoint.
    shutil.copy(run.sample_path(1), run.sample_path(3))  # not a copy of the frame before: GIF merges those
    gif.build_gif([p for _, p in run.samples()], run.gif)
    assert Image.open(run.gif).n_frames == 3
    training.train(config, run.path, resume=True, verbose=0)  # trains nothing: 2 epochs done
    assert [e for e, _ in run.samples()] == [1, 2] and Image.open(run.gif).n_frames == 2


def test_a_mixed_float16_run_on_a_cpu_trains_and_warns_that_it_is_slow(tmp_path, no_export):
    # 8-45x float32's step time on TensorFlow and torch CPUs (bench/precision_cpu.py).
    config = resolve_config("synthetic", overrides=dict(QUICK, mixed_precision="mixed_float16"))
    with pytest.warns(UserWarning, match="mixed_float16 on a CPU computes slower than float32"):
        gan = training.train(config, str(tmp_path / "run"), verbose=0)
    assert "mixed_float16" in {layer.dtype_policy.name for layer in gan.generator.layers}
    assert keras.mixed_precision.global_policy().name == "float32"  # the run's policy did not leak


def test_ema_run_writes_the_averaged_generator_and_resumes_only_with_it(tmp_path, no_export):
    from dcgan_keras.images import make_grid, to_uint8
    from dcgan_keras.sampling import load_generator, sample_images

    # A high learning rate: two steps move the images far enough for 8-bit grids to tell raw from average.
    config = resolve_config("synthetic", overrides=dict(QUICK, ema=0.9, lr=0.05))
    gan = training.train(config, str(tmp_path / "run"), verbose=0)
    run = RunDir(str(tmp_path / "run"))
    exported = keras.saving.load_model(run.generator_keras, compile=False)
    z = np.random.default_rng(0).normal(size=(4, config.latent_dim)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(exported(z)), gan.generate(z=z))
    assert changed(numpy_weights(exported.weights), numpy_weights(gan.generator.weights))
    # README: samples, grids and sample.py use the average too, not the raw generator.
    noise = np.load(run.fixed_noise)
    raw = to_uint8(keras.ops.convert_to_numpy(gan.generator(noise, training=False)))
    average = to_uint8(gan.generate(z=noise))
    assert np.abs(raw.astype(int) - average).max() > 8
    np.testing.assert_allclose(sample_images(load_generator(run.path), 4, seed=0), gan.generate(4, seed=0), atol=1e-6)
    grid = np.asarray(Image.open(run.sample_path(1)))
    expected = make_grid(average)
    assert np.abs(grid.reshape(expected.shape).astype(int) - expected).max() <= 1
    without = resolve_config("synthetic", overrides=dict(QUICK, epochs=2, lr=0.05))
    with pytest.raises(RunDirError, match=r"differing key\(s\): ema \(ema: run has 0.9, asked 0.0\)"):
        training.train(without, run.path, resume=True, verbose=0)


def test_training_without_tensorflow_keeps_the_generator_and_says_how_to_export(tmp_path, monkeypatch):
    from dcgan_keras import export

    monkeypatch.setattr(export, "tensorflow_installed", lambda: False)
    lines = []
    config = resolve_config("synthetic", overrides=QUICK)
    training.train(config, tmp_path / "run", verbose=0, print_fn=lines.append)
    run = RunDir(tmp_path / "run")
    assert os.path.isfile(run.generator_keras)
    assert not os.path.exists(run.generator_saved_model)
    # An export of an earlier, shorter training (made where TensorFlow was) would
    # now give other images than generator.keras: it goes.
    os.makedirs(run.generator_saved_model)
    open(os.path.join(run.generator_saved_model, "saved_model.pb"), "wb").close()
    training.train(dataclasses.replace(config, epochs=2), run.path, resume=True, verbose=0, print_fn=lines.append)
    assert not os.path.exists(run.generator_saved_model)
    assert "pip install tensorflow" in lines[-1] and f"--export={run.generator_saved_model}" in lines[-1]


def test_steps_per_epoch_serves_the_first_batches_of_each_epochs_order():
    from dcgan_keras.data import Batches

    images = np.arange(40, dtype="uint8").reshape(40, 1, 1, 1)
    full = Batches(images, 4, seed=1, epoch=2)
    capped = Batches(images, 4, seed=1, epoch=2, max_batches=3)
    assert (len(full), len(capped)) == (10, 3)
    for i in range(3):
        np.testing.assert_array_equal(capped[i], full[i])
    with pytest.raises(IndexError):
        capped[3]
    assert len(Batches(images, 4, max_batches=50)) == 10


def test_a_diverged_epoch_is_neither_scored_nor_drawn(tmp_path, no_export):
    # A NaN generator's FID crashed scipy (no diverged.txt, exit 1); its grid was a black frame.
    from dcgan_keras.callbacks import InjectNaN
    from dcgan_keras.metrics import build_mnist_classifier

    classifier = str(tmp_path / "clf.keras")
    build_mnist_classifier(feature_dim=8).save(classifier)
    config = resolve_config(
        "synthetic",
        overrides=dict(QUICK, epochs=2, fid_every=1, fid_extractor=classifier, fid_num_samples=32),
    )
    with pytest.raises(training.TrainingDiverged):
        training.train(config, tmp_path / "run", verbose=0, callbacks=[InjectNaN(2)])
    run = RunDir(tmp_path / "run")
    assert os.path.isfile(run.diverged)
    assert [e for e, _ in run.samples()] == [1] and [e for e, _ in run.checkpoints()] == [1]
    assert np.isfinite(read_metrics(run.metrics_csv)["fid"][0])


def test_each_epoch_trains_on_its_own_shuffled_order():
    from dcgan_keras.data import ImageDataset

    # Image i is filled with the value i: a batch says which images it holds.
    coded = np.arange(64, dtype=np.uint8)[:, None, None, None] * np.ones((1, 28, 28, 1), np.uint8)
    config = resolve_config("synthetic", overrides={"batch_size": 8})

    def order(epoch):
        batches = training._batches(ImageDataset(coded, "coded"), config, epoch)
        return [int(i) for batch in (batches[b] for b in range(len(batches))) for i in np.rint((batch[:, 0, 0, 0] + 1) * 127.5)]

    first, second = order(0), order(1)
    assert sorted(first) == sorted(second) == list(range(64))  # every image, once an epoch
    assert first != list(range(64)) and first != second  # a class-sorted folder would train in blocks
    assert order(1) == second  # and a resumed run recomputes it


def test_resuming_another_backends_run_warns_that_it_will_not_match(tmp_path, no_export):
    config = resolve_config("synthetic", overrides=QUICK)
    other = "jax" if keras.backend.backend() != "jax" else "torch"
    run = fake_run(tmp_path / "run", config, backend=other)
    with pytest.warns(UserWarning, match=f"Resuming a {other} run on {keras.backend.backend()}"):
        training.train(config, run.path, resume=True, verbose=0)


def test_build_model_builds_what_the_config_records():
    # config.json says these; a model built otherwise would not be the run it describes.
    config = resolve_config("synthetic", overrides={
        "lr": 1e-3, "g_lr": 3e-4, "beta_1": 0.7, "dropout": 0.1, "bn_momentum": 0.8,
        "d_steps": 2, "label_smoothing": 0.1, "ema": 0.9,
    })
    gan = run_model.build_model(config)
    for optimizer, rate in ((gan.d_optimizer, 1e-3), (gan.g_optimizer, 3e-4)):
        assert float(optimizer.beta_1) == 0.7
        np.testing.assert_allclose(float(keras.ops.convert_to_numpy(optimizer.learning_rate)), rate, rtol=1e-6)
    layers = gan.generator.layers + gan.discriminator.layers
    dropouts = [layer.rate for layer in layers if isinstance(layer, keras.layers.Dropout)]
    momenta = [layer.momentum for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    generator_momenta = [layer.momentum for layer in gan.generator.layers
                         if isinstance(layer, keras.layers.BatchNormalization)]
    assert dropouts and set(dropouts) == {0.1}
    assert generator_momenta and set(momenta) == {0.8}
    assert (gan.d_steps, gan.label_smoothing, gan.ema_momentum) == (2, 0.1, 0.9)


def test_fid_every_scores_epochs_into_metrics_csv(tmp_path, no_export):
    from dcgan_keras.metrics import build_mnist_classifier

    classifier = str(tmp_path / "clf.keras")
    build_mnist_classifier(feature_dim=8).save(classifier)
    config = resolve_config(
        "synthetic",
        overrides=dict(QUICK, fid_every=1, fid_extractor=classifier, fid_num_samples=32),
    )
    lines = []
    training.train(config, tmp_path / "run", verbose=0, print_fn=lines.append)
    assert np.isfinite(read_metrics(RunDir(tmp_path / "run").metrics_csv)["fid"]).all()
    assert " fid " in lines[-2]  # the epoch summary, before the export line

    # The real images are a seeded random subset: a folder's first images can all be one class.
    from dcgan_keras.data import ImageDataset

    coded = np.arange(64, dtype=np.uint8)[:, None, None, None] * np.ones((1, 28, 28, 1), np.uint8)
    callback = training._fid_callback(config, ImageDataset(coded, "coded"))
    picked = callback.real_images[:, 0, 0, 0]
    assert len(picked) == 32 and len(set(picked)) == 32 and picked.max() >= 32
    np.testing.assert_array_equal(training._fid_callback(config, ImageDataset(coded, "coded")).real_images, callback.real_images)

    bad = resolve_config("synthetic", overrides=dict(QUICK, fid_every=1, fid_extractor="nope.keras"))
    with pytest.raises(ConfigError, match=r"fid_extractor='[^']*nope.keras': cannot build"):
        training.train(bad, tmp_path / "bad", verbose=0)
    assert not (tmp_path / "bad").exists()
