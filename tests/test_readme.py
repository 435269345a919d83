"""Every code block of README.md and docs/*.md runs, or says why not, so none can rot.

A block marked `<!-- readme-test: NAME -->` runs here, as a user would run it,
from a fresh directory, shortened: training commands get `--epochs=1
--steps_per_epoch=2` (a resume, `--epochs=2`), and only a resume exports its
SavedModel (the one the snippets read); `--dataset=mnist` gets a `--data_dir`
of IDX files, and keras.datasets finds Fashion-MNIST in its cache instead of
downloading it (KERAS_HOME holds the real MNIST files under Fashion-MNIST's
names: the same IDX format, parsed by the same Keras code; where
../shared/data/mnist is not beside the checkout, as in a fresh CI clone, IDX
files of random images written here). A sample.py line on this process's
backend runs sample.py's main here, with the line's arguments (the tests of
sample.py itself start it as a process). A block marked
`<!-- not-run: REASON -->` needs the network, a GPU, or installs or serves.
"""

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

from helpers import REPO, write_idx
from sample_artifacts import sample_in_process
from test_train_cli import WITHOUT_EXPORT

MNIST = os.path.join(os.path.dirname(REPO), "shared", "data", "mnist")
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
BLOCK = re.compile(r"<!-- readme-test: (\S+) -->\n```(\w+)\n(.*?)```", re.S)



DOCS = [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
MARK = re.compile(r"<!-- (readme-test: \S+|not-run: [^>]*\S[^>]*) -->\n$")
#: The blocks the tests below run.
RUN = {
    "quickstart", "full-run", "cli", "sample", "export", "saved-model", "onnx", "python-api", "python-api-full",
    "gan-family", "conditional", "translator",
}


def snippets():
    found = {}
    for path in DOCS:
        with open(path) as f:
            for name, _, code in BLOCK.findall(f.read()):
                assert name not in found, f"two blocks named {name}"
                found[name] = code
    return found


def test_every_code_block_runs_or_says_why_not():
    for path in DOCS:
        with open(path) as f:
            text = f.read()
        for match in FENCE.finditer(text):
            mark = MARK.search(text[: match.start()])
            where = f"{os.path.relpath(path, REPO)}:{text[: match.start()].count(chr(10)) + 1}"
            assert mark, f"{where}: mark the block <!-- readme-test: NAME --> or <!-- not-run: REASON -->"
            if mark.group(1).startswith("readme-test: "):
                assert mark.group(1).split(": ")[1] in RUN, f"{where}: no test runs {mark.group(1)}"
    assert set(snippets()) == RUN


def test_the_readme_is_short_and_shows_real_output():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    assert len(text) <= 10_000, len(text)
    for picture in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
        assert os.path.getsize(os.path.join(REPO, picture)) < 200_000, picture
    # Install, quickstart, sampling, export and the test command on the first two screens (~100 lines).
    first_screens = "\n".join(text.splitlines()[:110])
    for heading in ("## Install", "## Quickstart", "## Sample", "## Export", "## Tests"):
        assert heading in first_screens, heading


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("readme")
    datasets = home / "keras_home" / "datasets" / "fashion-mnist"
    datasets.mkdir(parents=True)
    if all(os.path.exists(os.path.join(MNIST, f)) for f in FILES):
        for f in FILES:
            shutil.copy(os.path.join(MNIST, f), datasets / f)
    else:
        # Enough images for the snippets' steps (and load_dataset's limit=1024).
        rng = np.random.default_rng(0)
        for name, count in (("train", 1024), ("t10k", 256)):
            write_idx(datasets / f"{name}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28)), gz=True)
            write_idx(datasets / f"{name}-labels-idx1-ubyte.gz", rng.integers(0, 10, count), gz=True)
    # The quickstart's --dataset=mnist reads IDX files here instead of downloading mnist.npz.
    shutil.copytree(datasets, home / "mnist_idx")
    # With conftest.py's XLA flags for the tests' tiny models: they slow the real
    # networks' steps 2-3x, but the JAX commands here run two steps after a
    # compile that they shorten (19 s a run instead of 24-28 s).
    env = dict(os.environ, KERAS_HOME=str(home / "keras_home"), PYTHONPATH=REPO)
    return home, env


def run(args, home, env, timeout=600):
    proc = subprocess.run(args, cwd=home, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{shlex.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc


def command_line(line):
    """A README shell line as argv, shortened as the module docstring says.

    A training command exports its SavedModel only when it resumes: the
    snippets sample and export from the resumed run's, and the other runs'
    would be written and never read (on JAX and torch each export is a
    TensorFlow subprocess; test_train_cli exports on every backend).
    """
    args = shlex.split(line.split("#")[0])
    assert args[0] == "python", line
    args = [sys.executable, os.path.join(REPO, args[1])] + args[2:]
    if args[1].endswith("train.py"):
        if "--resume" not in args:
            args[1] = WITHOUT_EXPORT
        args = [a for a in args if not a.startswith(("--epochs", "--steps_per_epoch"))]
        args += ["--epochs=2"] if "--resume" in args else ["--epochs=1", "--steps_per_epoch=2"]
        if "--dataset=mnist" in args or "--dataset=mnist_conditional" in args:
            args.append("--data_dir=mnist_idx")
    return args


# The snippets name no backend: a user runs them on whichever is set. Once (conftest.py's
# ONE_BACKEND_PASS, torch: no XLA compile of the real networks, which took JAX's pass minutes on a
# cold cache), as the command lines below: each trains the real networks, and the library calls
# they make are tested on every backend elsewhere (test_gan, test_data).
@pytest.mark.one_backend
def test_python_api_snippet(home):
    home, env = home
    for name in ("python-api", "python-api-full"):
        os.makedirs(home / name, exist_ok=True)
        run([sys.executable, "-c", snippets()[name]], home / name, dict(env, KERAS_BACKEND=keras.backend.backend()))
        assert os.path.exists(home / name / "fashion_mnist_gan.keras")


def test_gan_family_snippet(home):
    home, env = home
    os.makedirs(home / "family", exist_ok=True)
    run([sys.executable, "-c", snippets()["gan-family"]], home / "family", dict(env, KERAS_BACKEND=keras.backend.backend()))


# Once, on torch: its calls are tested on every backend in test_cyclegan and test_translate_runs
# (whose ONNX test checks JAX's message naming jax2onnx, which requirements.txt leaves out).
@pytest.mark.one_backend
def test_translator_snippet(home):
    home, env = home
    os.makedirs(home / "translator", exist_ok=True)
    proc = run([sys.executable, "-c", snippets()["translator"]], home / "translator",
               dict(env, KERAS_BACKEND=keras.backend.backend()))
    assert float(proc.stdout.split()[-1]) < 1e-4, proc.stdout  # what the block prints: the ONNX file's difference


@pytest.mark.one_backend  # the commands name their backends where they need one
def test_command_line_snippets_and_saved_model_inference(home, capfd, monkeypatch):
    home, env = home
    monkeypatch.chdir(home)
    for name in ("quickstart", "full-run", "cli", "sample", "export", "conditional"):
        for line in snippets()[name].strip().splitlines():
            args = command_line(line)
            backend = [a.split("=", 1)[1] for a in args if a.startswith("--backend=")]
            if args[1].endswith("sample.py") and backend in ([], [keras.backend.backend()]):
                # sample.py on this process's backend: its main, here (a process start is 5-10 s).
                proc = sample_in_process(*args[2:], capfd=capfd, monkeypatch=monkeypatch)
                assert proc.returncode == 0, f"{line} failed:\n{proc.stderr[-3000:]}"
            else:
                run(args, home, env)
    for artifact in ("runs/first/metrics.png", "runs/mnist/generator.keras",
                     "runs/fashion/checkpoints/epoch_0002.keras", "samples.png", "walk.png", "samples.npz",
                     "fashion_generator/saved_model.pb", "fashion_generator.onnx", "runs/digits/generator.keras",
                     "sevens.png"):
        assert os.path.exists(home / artifact), artifact
    # Plain TensorFlow (or ONNX Runtime): no Keras backend is chosen, none of this package is imported.
    plain = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "KERAS_BACKEND")}
    run([sys.executable, "-c", snippets()["saved-model"] + "\nassert pixels.shape == (16, 28, 28, 1)"], home, plain)
    run([sys.executable, "-c", snippets()["onnx"] + "\nassert images.shape == (16, 28, 28, 1)"], home, plain)
