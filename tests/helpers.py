"""Shared test helpers: tiny models, array conversion, running a script under a backend."""

import gzip
import json
import os
import re
import signal
import site
import struct
import subprocess
import sys
import time

import keras
import numpy as np

from dcgan_keras import DCGAN, build_discriminator, build_generator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("tensorflow", "jax", "torch")
LATENT = 8
# What tests that are not about the compiled program pass to compile (or put
# in a config): on TensorFlow, graph mode. XLA takes seconds to compile each
# new model, which the many tests that build one would pay over and over; it
# is jit_compile="auto" on a GPU, and graph mode is on CPUs anyway. The
# command-line tests, the README's and test_keras_io_conventions train under
# the default.
# TensorFlow's C++ log lines (absl's `I0000 00:00:...` and the lines around
# them), which train.py and sample.py keep quiet unless the user sets
# TF_CPP_MIN_LOG_LEVEL.
TF_LOG_LINE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl|To enable the following instructions)"
    r"|oneDNN custom operations|cpu_feature_guard|remapper failed",
    re.M,
)


def without_tf_log_level(env):
    """`env` as a user's shell has it: no TF_CPP_MIN_LOG_LEVEL (conftest.py sets one for the tests)."""
    env = dict(env)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


QUICK_COMPILE = {"jit_compile": False} if keras.backend.backend() == "tensorflow" else {}


def tiny_gan(
    seed=0, d_steps=1, dropout=0.3, d_batch_norm=False, latent_dim=LATENT, compile=True, update="sequential",
    ema_momentum=None, **compile_kwargs,
):
    """A 28x28x1 DCGAN with a few hundred weights: fast on every backend.

    Compiled with QUICK_COMPILE unless `jit_compile` is given.
    """
    compile_kwargs = {**QUICK_COMPILE, **compile_kwargs}
    keras.utils.set_random_seed(seed)
    generator = build_generator(latent_dim=latent_dim, image_size=28, channels=1, filters=(16, 8, 4))
    discriminator = build_discriminator(
        image_size=28, channels=1, filters=(4, 8), dropout=dropout, batch_norm=d_batch_norm, seed=seed
    )
    gan = DCGAN(
        discriminator=discriminator, generator=generator, latent_dim=latent_dim, d_steps=d_steps, seed=seed,
        update=update, ema_momentum=ema_momentum,
    )
    if compile:
        gan.compile(**compile_kwargs)
    return gan


def random_images(n=32, seed=0, shape=(28, 28, 1)):
    return np.random.default_rng(seed).uniform(-1, 1, (n,) + shape).astype("float32")


def numpy_weights(variables):
    return [keras.ops.convert_to_numpy(v) for v in variables]


def changed(before, after):
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


def run_backend(backend, script, *args, timeout=300):
    """Runs `python script args` with KERAS_BACKEND=backend; returns its last stdout line as JSON."""
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, script, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{backend} run of {script} failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_same_pixels(actual, expected):
    """uint8 images equal up to one level: two runtimes (or backends) round an x.5 boundary differently."""
    actual, expected = np.asarray(actual, "int16"), np.asarray(expected, "int16")
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert np.abs(actual - expected).max() <= 1


def snapshot(directory):
    """{path: (bytes, mtime_ns)} of every file under `directory`: proof that nothing was touched."""
    found = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, directory)] = (f.read(), os.stat(path).st_mtime_ns)
    return found


def site_packages_without(root, *prefixes):
    """A folder of symlinks to everything installed but the packages named `prefixes...`.

    With `python -S` and this folder on sys.path, those packages are as good
    as uninstalled: what a user with another set of packages would have.
    """
    root.mkdir()
    for site_dir in site.getsitepackages():
        if not os.path.isdir(site_dir):
            continue
        for name in os.listdir(site_dir):
            top = name.split("-")[0].split(".")[0].lower()
            if top.startswith(prefixes) or name.endswith(".pth"):
                continue
            if not (root / name).exists():
                (root / name).symlink_to(os.path.join(site_dir, name))
    return root


def write_idx(path, array, gz=False):
    """An IDX file (MNIST's format): 00 00 08 <ndim>, big-endian uint32 dims, then the bytes."""
    array = np.asarray(array, np.uint8)
    raw = (
        bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def sigterm_while_writing(args, env, cwd, folder):
    """Runs `args`, sends SIGTERM once a `*.tmp-*` folder in `folder` holds over ten files: (exit code, stderr).

    For the tests that a signal mid-write leaves nothing half written (each
    output is written to a temporary renamed at the end).
    """
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            partial = [os.path.join(folder, n) for n in os.listdir(folder) if ".tmp-" in n]
            if partial and len(os.listdir(partial[0])) > 10:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stderr
