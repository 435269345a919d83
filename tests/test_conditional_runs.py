"""The conditional DCGAN through train.py and sample.py, on the backend under test.

A run of the mnist_conditional preset (two epochs of three steps) writes the whole run
directory with one class per row; sample.py asks it for classes from the
run directory, its generator.keras and its SavedModel, with the same images
from each; the SavedModel is served by plain TensorFlow; the checkpoint
moves to another backend; a run killed mid-epoch resumes to the
uninterrupted result; bad input exits 2 naming the problem.

The MNIST files are ../shared/data/mnist where the checkout has them beside
it, else IDX files of random labelled images written here (the same parser).
"""

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from dcgan_keras.callbacks import read_metrics
from dcgan_keras.generators import load_generator
from dcgan_keras.rundir import RunDir
from dcgan_keras.images import to_uint8
from dcgan_keras.sampling import class_grid_inputs, class_interpolation_weights, latent_noise
from helpers import BACKENDS, REPO, assert_same_pixels, snapshot, write_idx
from sample_artifacts import sample_in_process
from test_train_cli import WITHOUT_EXPORT, assert_ok, assert_refused, cli_env, signal_in_epoch_2, train_cli, train_in_process

pytestmark = pytest.mark.full  # subprocesses of train.py and sample.py: not in the quick tier

BACKEND = keras.backend.backend()
SAMPLE = os.path.join(REPO, "sample.py")
SHARED_MNIST = os.path.join(os.path.dirname(REPO), "shared", "data", "mnist")
DIGITS = [str(d) for d in range(10)]


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    if os.path.isfile(os.path.join(SHARED_MNIST, "train-labels-idx1-ubyte.gz")):
        return SHARED_MNIST
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (512, 28, 28), dtype=np.uint8), gz=True)
    write_idx(folder / "train-labels-idx1-ubyte.gz", (np.arange(512) % 10).astype(np.uint8), gz=True)
    return str(folder)


# The command, at batch 16 and for two epochs: the killed run's reference too.
FLAGS = ["--dataset=mnist_conditional", "--epochs=2", "--steps_per_epoch=3", "--batch_size=16"]


@pytest.fixture(scope="module")
def conditional_run(mnist_dir, tmp_path_factory):
    """Two epochs of three steps of mnist_conditional, uninterrupted."""
    cwd = tmp_path_factory.mktemp("conditional")
    proc = train_cli(*FLAGS, f"--data_dir={mnist_dir}", "--workdir=run", cwd=cwd)
    assert_ok(proc)
    return RunDir(os.path.join(cwd, "run"))


def sample_cli(*args, cwd):
    return subprocess.run([sys.executable, SAMPLE, f"--backend={BACKEND}", *args], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=240)


def test_a_run_writes_the_whole_run_directory_with_a_class_per_row(conditional_run):
    run = conditional_run
    record = json.load(open(run.config_json))
    assert record["config"]["model"] == "conditional" and record["config"]["conditioning"] == "projection"
    assert record["data"]["class_names"] == DIGITS
    assert [e for e, _ in run.checkpoints()] == [1, 2] and [e for e, _ in run.samples()] == [1, 2]
    assert np.isfinite(read_metrics(run.metrics_csv)["d_loss"]).all()
    assert os.path.isfile(run.gif) and os.path.isfile(run.metrics_png)
    # 80 samples: ten rows (a digit each) of eight, the same z down each column.
    noise = np.load(run.fixed_noise)
    z, labels = noise[:, :-1], noise[:, -1]
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 8))
    np.testing.assert_array_equal(z, np.tile(z[:8], (10, 1)))
    assert Image.open(run.sample_path(2)).size == (8 * 30 + 2, 10 * 30 + 2)
    gan = keras.saving.load_model(run.checkpoint_path(2))
    assert type(gan).__name__ == "ConditionalDCGAN" and gan.num_classes == 10
    assert os.path.isfile(os.path.join(run.generator_saved_model, "saved_model.pb"))
    assert run.temporaries() == []


def test_sample_py_asks_for_classes_with_the_same_images_from_every_artifact(conditional_run, tmp_path, capfd,
                                                                            monkeypatch):
    # One flag from each artifact: sample.py as a process once (5-10 s a start), its main in this
    # process for the others; the library calls behind them are compared on every artifact below,
    # in floats.
    run = conditional_run
    sources = {"run": run.path, "keras": run.generator_keras, "saved_model": run.generator_saved_model}
    assert_ok(sample_cli(f"--checkpoint={run.path}", "--labels=0,3,7", "--num=6", f"--out={tmp_path}/grid.npz",
                         cwd=tmp_path))
    assert_ok(sample_in_process(f"--checkpoint={run.generator_keras}", "--label=7", "--num=5",
                                f"--out={tmp_path}/seven.npz", capfd=capfd, monkeypatch=monkeypatch))
    morph = sample_in_process(f"--checkpoint={run.generator_saved_model}", "--interpolate_classes=1,5",
                              "--interpolate=4", f"--out={tmp_path}/morph.npz", capfd=capfd, monkeypatch=monkeypatch)
    assert_ok(morph)
    assert "4 images from class 1 to class 5" in morph.stdout

    generators = {name: load_generator(source) for name, source in sources.items()}
    grid = np.load(tmp_path / "grid.npz")
    z, labels = class_grid_inputs(100, [0, 3, 7], 2, seed=0)  # a row for each class, two columns: --num=6
    np.testing.assert_array_equal(grid["labels"], labels)
    # Each artifact's pixels against another's: one 8-bit level apart where two runtimes round an
    # x.5 differently (CI saw one pixel in 4704, 124 against 125).
    assert_same_pixels(grid["images"], to_uint8(generators["saved_model"](z, labels=labels)))
    sevens = np.load(tmp_path / "seven.npz")
    np.testing.assert_array_equal(sevens["labels"], [7] * 5)
    assert_same_pixels(sevens["images"], to_uint8(generators["run"](latent_noise(5, 100, 0), labels=7)))
    weights = class_interpolation_weights(10, 1, 5, 4)
    assert_same_pixels(np.load(tmp_path / "morph.npz")["images"],
                       to_uint8(generators["keras"](latent_noise(1, 100, 0).repeat(4, 0), labels=weights)))

    # In floats, from each artifact: the same images for the same z and labels (or label
    # weights), and the labels matter.
    z, labels = class_grid_inputs(100, range(10), 2, seed=3)
    for name in ("keras", "saved_model"):
        for asked in (labels, weights.repeat(5, 0)):
            np.testing.assert_allclose(generators[name](z, labels=asked), generators["run"](z, labels=asked),
                                       atol=1e-5, err_msg=name)
    images = generators["run"](z, labels=labels)
    assert np.abs(images[0] - images[2]).max() > 1e-4  # the same z, classes 0 and 1


def test_plain_tensorflow_serves_the_saved_model_and_the_checkpoint_moves_to_another_backend(conditional_run, tmp_path):
    run = conditional_run
    z, labels = latent_noise(6, 100, seed=1), np.array([0, 1, 2, 7, 8, 9], "int32")
    expected = load_generator(run.generator_keras)(z, labels=labels)
    np.savez(tmp_path / "inputs.npz", z=z, labels=labels)
    serve = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"inputs = np.load({str(tmp_path / 'inputs.npz')!r})\n"
        f"serve = tf.saved_model.load({run.generator_saved_model!r}).signatures['serving_default']\n"
        "out = serve(z=tf.constant(inputs['z']), labels=tf.constant(inputs['labels']))['images'].numpy()\n"
        f"np.save({str(tmp_path / 'served.npy')!r}, out)\n"
        "assert not any(m.startswith('dcgan_keras') for m in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", serve], env=env, cwd=tmp_path, check=True, timeout=240)
    np.testing.assert_allclose(np.load(tmp_path / "served.npy"), expected, atol=1e-5)

    other = next(b for b in BACKENDS if b != BACKEND)
    moved = (
        "import keras, numpy as np\n"
        "import dcgan_keras  # registers the GAN classes, as a user's script does\n"
        f"inputs = np.load({str(tmp_path / 'inputs.npz')!r})\n"
        f"gan = keras.saving.load_model({run.checkpoint_path(2)!r})\n"
        "out = gan.generate(z=inputs['z'], labels=inputs['labels'])\n"
        f"np.save({str(tmp_path / 'moved.npy')!r}, out)\n"
        "gan.fit((np.zeros((16, 28, 28, 1), 'float32'), np.arange(16) % 10), batch_size=16, verbose=0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", moved], env=dict(os.environ, KERAS_BACKEND=other, PYTHONPATH=REPO),
                          cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    gan = keras.saving.load_model(run.checkpoint_path(2))
    np.testing.assert_allclose(np.load(tmp_path / "moved.npy"), gan.generate(z=z, labels=labels), atol=1e-5)


def test_a_killed_conditional_run_resumes_to_the_uninterrupted_result(conditional_run, mnist_dir, tmp_path):
    reference = conditional_run
    run = RunDir(tmp_path / "killed")
    signal_in_epoch_2(run, tmp_path, signal.SIGKILL, args=FLAGS + [f"--data_dir={mnist_dir}"])
    assert [e for e, _ in run.checkpoints()] == [1]
    resumed = subprocess.run([sys.executable, WITHOUT_EXPORT, "--resume", f"--workdir={run.path}"], cwd=tmp_path,
                             env=cli_env(), capture_output=True, text=True, timeout=240)
    assert_ok(resumed)
    expected, got = read_metrics(reference.metrics_csv), read_metrics(run.metrics_csv)
    for column in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-5, err_msg=column)
    z, labels = class_grid_inputs(100, range(10), 1, seed=0)
    np.testing.assert_allclose(load_generator(run.generator_keras)(z, labels=labels),
                               load_generator(reference.generator_keras)(z, labels=labels), atol=1e-5)


def test_bad_conditional_runs_exit_2_before_writing(mnist_dir, tmp_path, capfd):
    cases = {
        "a": (["--dataset=synthetic", "--model=conditional"], ("has no labels", "model='dcgan'")),
        "b": (["--dataset=mnist_conditional", f"--data_dir={mnist_dir}", "--num_classes=5"],
              ("num_classes=5", "run up to 9")),
        "c": (["--dataset=mnist", f"--data_dir={mnist_dir}", "--conditioning=concat"],  # not the default
              ("conditioning is read by model 'conditional' only, but model is 'dcgan'",)),
    }
    for name, (flags, phrases) in cases.items():
        proc = train_in_process(*flags, f"--workdir={tmp_path / name}", capfd=capfd)
        assert_refused(proc, *phrases)
    assert not any(os.path.exists(tmp_path / name) for name in cases)


def test_sample_py_refuses_classes_it_cannot_give(conditional_run, tmp_path, capfd, monkeypatch):
    run = conditional_run
    before = snapshot(run.path)

    def sample(*args):
        return sample_in_process(*args, f"--out={tmp_path}/x.png", capfd=capfd, monkeypatch=monkeypatch)

    assert_refused(sample(f"--checkpoint={run.path}", "--label=10"), "--label=10 is not a class", "0 to 9")
    dcgan = tmp_path / "dcgan.keras"
    from dcgan_keras.config import resolve_config
    from dcgan_keras.run_model import build_model

    build_model(resolve_config("synthetic")).save(dcgan)
    assert_refused(sample(f"--checkpoint={dcgan}", "--label=1"), "--label asks a conditional model", "unconditional")
    assert not os.path.exists(tmp_path / "x.png")
    assert snapshot(run.path) == before
