"""Generator artifacts shared by test_export.py and test_sampling.py, made once per pytest run.

Exporting is the slow part (on JAX and torch it starts a TensorFlow process),
so one SavedModel, written by `sample.py --export`, serves both files.

The files are written once, from `gan` and `older_gan` as they were then, and
test_sampling.py compares what loads from them with these in-memory GANs: a
test that changed them (a `training=True` call updates BatchNorm's moving
statistics) would fail every later comparison. `checked` hands the artifacts
to one test and, after it, fails that test if it changed them.
"""

import dataclasses
import os
import subprocess
import sys

import keras
import numpy as np

from helpers import REPO, tiny_gan

_CACHE = {}


@dataclasses.dataclass
class Artifacts:
    gan: object  # the DCGAN, in this process
    gan_file: str  # a compiled DCGAN checkpoint
    generator_file: str  # the bare generator
    run_dir: str  # checkpoints/epoch_0001.keras (another GAN) and epoch_0002.keras (this one)
    older_gan: object  # the GAN of epoch_0001
    saved_model: str  # exported by sample.py --export --overwrite over a stale directory
    export_proc: subprocess.CompletedProcess
    saved_weights: dict = dataclasses.field(default_factory=dict, repr=False)  # as written to the files


def run_sample(*args, backend=None, timeout=300):
    """Runs sample.py; KERAS_BACKEND is this test run's backend unless `backend` says otherwise."""
    # No TF_CPP_MIN_LOG_LEVEL, as a user's shell: sample.py must keep TensorFlow quiet itself.
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env["KERAS_BACKEND"] = backend or keras.backend.backend()
    # JAX compiles every eager op per shape (each initializer of a loaded
    # model: seconds). The cache conftest.py gives this process serves the
    # subprocesses too.
    env.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(REPO, ".pytest_cache", "jax-compile"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "sample.py"), *map(str, args)],
        env=env, capture_output=True, text=True, timeout=timeout,
    )


def sample_in_process(*args, capfd, monkeypatch):
    """`python sample.py ARGS` run in this process: its exit code, stdout and stderr.

    For refusals, which spare a process start (5-10 s) each; sample.py itself
    runs as a process in the tests that write images. Its flags are defined
    in a flag set of their own: absl's global one holds train.py's (tests run
    train.py's main in-process too), whose names overlap. What sample.py
    changes for the whole process (the backend's and TensorFlow's log level's
    environment variables, the warning format, absl's log verbosity) is put
    back.
    """
    import types
    import warnings

    from absl import flags, logging

    from dcgan_keras import sample_command

    fv = flags.FlagValues()
    sample_command.define_flags(fv)
    flags.DEFINE_integer("verbosity", 0, "absl's logging flag, which sample.py reads", flag_values=fv)
    monkeypatch.setattr(sample_command, "FLAGS", fv)
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    for name in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL"):
        # Set first in either case: monkeypatch restores only what it changed.
        monkeypatch.setenv(name, os.environ.get(name, ""))
        if not os.environ[name]:
            monkeypatch.delenv(name)
    verbosity = logging.get_verbosity()
    capfd.readouterr()
    code = 0
    try:
        sample_command.main(sample_command.parse_flags(["sample.py", *map(str, args)]))
    except SystemExit as exit_info:
        code = exit_info.code or 0
    finally:
        logging.set_verbosity(verbosity)
    out, err = capfd.readouterr()
    return types.SimpleNamespace(returncode=code, stdout=out, stderr=err)


def vivid_gan(seed):
    """A tiny DCGAN whose generator makes varied images in inference mode.

    At N(0, 0.02) init every image is flat grey and BatchNorm's moving
    statistics are 0 and 1: images that cannot tell two seeds, or training
    mode from inference mode, apart.
    """
    gan = tiny_gan(seed=seed)
    rng = np.random.default_rng(seed)
    for v in gan.generator.weights:
        shape = tuple(v.shape)
        if "kernel" in v.path:
            # Unit-scale activations, as after training: Dense (in, out) sums
            # `in` terms; a stride-2 transposed conv (k, k, out, in) about k*k*in/4.
            fan_in = shape[0] if len(shape) == 2 else shape[0] * shape[1] * shape[3] / 4
            value = rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)
        elif "moving_variance" in v.path:
            value = rng.uniform(0.5, 1.5, shape)
        elif "gamma" in v.path:
            value = rng.uniform(0.8, 1.2, shape)
        else:  # beta, moving_mean
            value = rng.normal(0.0, 0.2, shape)
        v.assign(value.astype("float32"))
    return gan


def _weights(model):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in model.weights]


def checked(tmp_path_factory):
    """A function-scoped fixture's body: the shared artifacts, checked unchanged after the test."""
    artifacts = get(tmp_path_factory)
    yield artifacts
    changed = []
    for name, weights in artifacts.saved_weights.items():
        model = getattr(artifacts, name)
        for v, saved in zip(model.weights, weights):
            if not np.array_equal(keras.ops.convert_to_numpy(v), saved):
                changed.append(f"{name}: {v.path}")
                v.assign(saved)  # so that later tests compare with the files again
    assert not changed, (
        "This test changed the shared artifacts' GANs, which no longer match the files written "
        "from them (restored now). Use a copy, or stateless_call for training=True. "
        f"Changed: {changed}"
    )


def get(tmp_path_factory):
    if "artifacts" in _CACHE:
        return _CACHE["artifacts"]
    root = tmp_path_factory.mktemp("artifacts")
    gan = vivid_gan(seed=0)
    gan_file = str(root / "gan.keras")
    gan.save(gan_file)
    generator_file = str(root / "generator.keras")
    gan.generator.save(generator_file)

    run_dir = root / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    older = vivid_gan(seed=1)
    older.save(str(run_dir / "checkpoints" / "epoch_0001.keras"))
    gan.save(str(run_dir / "checkpoints" / "epoch_0002.keras"))

    saved_model = root / "saved_model"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"an older export")
    (saved_model / "stale.txt").write_text("from an older export")
    # From the bare generator: with the three sampling runs of test_sampling.py,
    # sample.py reads each kind of artifact once.
    proc = run_sample(f"--checkpoint={generator_file}", f"--export={saved_model}", "--overwrite")
    assert proc.returncode == 0, f"sample.py --export failed:\n{proc.stderr[-4000:]}"
    _CACHE["artifacts"] = Artifacts(
        gan=gan,
        gan_file=gan_file,
        generator_file=generator_file,
        run_dir=str(run_dir),
        older_gan=older,
        saved_model=str(saved_model),
        export_proc=proc,
        saved_weights={"gan": _weights(gan), "older_gan": _weights(older)},
    )
    return _CACHE["artifacts"]
