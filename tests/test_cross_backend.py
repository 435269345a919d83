"""The same GAN on TensorFlow, JAX and torch: one step gives the same numbers, files move freely.

Each backend runs in a subprocess (the backend is fixed per process); this
file runs in the tensorflow pass of the suite only, since it covers all three.
"""

import os

import keras
import numpy as np
import pytest

from helpers import BACKENDS, LATENT, random_images, run_backend, tiny_gan

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cross_backend_script.py")

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="runs all three backends in subprocesses; once per suite run is enough",
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cross_backend")
    gan = tiny_gan(dropout=0.0, d_batch_norm=True)
    gan.save_weights(str(path / "initial.weights.h5"))
    rng = np.random.default_rng(0)
    np.savez(path / "shared.npz", real=random_images(16, seed=1), z=rng.standard_normal((16, LATENT)).astype("float32"))
    results = {b: run_backend(b, SCRIPT, "step", path) for b in BACKENDS}
    for b in BACKENDS:
        results[f"load-{b}"] = run_backend(b, SCRIPT, "load", path)
    return path, results


def test_one_step_gives_the_same_losses_on_every_backend(workdir):
    _, results = workdir
    for b in BACKENDS[1:]:
        for name in ("d_loss", "g_loss"):
            np.testing.assert_allclose(results[b][name], results["tensorflow"][name], rtol=1e-4, err_msg=f"{b} {name}")


def test_one_step_gives_the_same_weights_on_every_backend(workdir):
    path, _ = workdir
    reference = np.load(path / "tensorflow.npz")
    for b in BACKENDS[1:]:
        other = np.load(path / f"{b}.npz")
        assert set(other.files) == set(reference.files)
        for name in reference.files:
            np.testing.assert_allclose(
                other[name], reference[name], rtol=1e-4, atol=1e-6, err_msg=f"{b}: {name}"
            )


def test_checkpoints_load_on_the_other_backends_and_make_the_same_images(workdir):
    path, _ = workdir
    for saver in BACKENDS:
        own = np.load(path / f"{saver}.npz")["images"]
        for loader in BACKENDS:
            if loader != saver:
                np.testing.assert_allclose(
                    np.load(path / f"{saver}-on-{loader}.npy"), own, atol=1e-5, err_msg=f"{saver} -> {loader}"
                )


def test_checkpoints_train_on_on_the_other_backends(workdir):
    # Keras's torch optimizers serialize under their backend's module, and a
    # torch checkpoint brought torch's Adam to TensorFlow and JAX: it loaded,
    # sampled, and failed in the first training step.
    _, results = workdir
    for loader in BACKENDS:
        for saver, trained in results[f"load-{loader}"].items():
            assert np.isfinite(trained["d_loss"]), (saver, loader)
            assert trained["steps"] == 2, (saver, loader)  # the saved step and this one
            assert f"backend.{loader}" in trained["optimizer"] or "backend." not in trained["optimizer"], (
                saver, loader, trained["optimizer"])
