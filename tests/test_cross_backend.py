"""Every GAN of the family on TensorFlow, JAX and torch: one step gives the same numbers, files move freely.

Each backend runs in a subprocess (the backend is fixed per process), one per
backend and phase for all the models (tests/parity_script.py). The file runs
in one pass of the suite only (conftest.py's `one_backend` marker), since it
covers all three.
"""

import os

import numpy as np
import pytest

from dcgan_keras import CycleGAN, Pix2Pix
from tests.helpers import BACKENDS, LATENT, random_images, run_backend, tiny_gan

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity_script.py")

pytestmark = [pytest.mark.full, pytest.mark.one_backend]


def _inputs(root):
    """Each model's folder with its initial weights and shared batch, as parity_script.py reads them."""
    from tests.pix2pix_script import tiny_pix2pix
    from tests.test_conditional import CLASSES, CONDITIONINGS, labelled, tiny_conditional
    from tests.test_cyclegan import domains, tiny_cyclegan
    from tests.test_pix2pix import _pairs

    folders = {m: root / m for m in ("dcgan", "conditional", "pix2pix", "cyclegan", "wgan_gp")}
    for folder in folders.values():
        folder.mkdir()
    rng = np.random.default_rng(0)

    tiny_gan(dropout=0.0, d_batch_norm=True).save_weights(str(folders["dcgan"] / "initial.weights.h5"))
    np.savez(folders["dcgan"] / "shared.npz", real=random_images(16, seed=1),
             z=rng.standard_normal((16, LATENT)).astype("float32"))

    real, labels = labelled(16, seed=1)
    np.savez(folders["conditional"] / "shared.npz", real=real, labels=labels,
             z=rng.standard_normal((16, LATENT)).astype("float32"),
             fake_labels=rng.integers(0, CLASSES, 16).astype("int32"))
    for conditioning in CONDITIONINGS:
        tiny_conditional(conditioning, dropout=0.0).save_weights(
            str(folders["conditional"] / f"{conditioning}.weights.h5"))

    tiny_pix2pix().save_weights(str(folders["pix2pix"] / "initial.weights.h5"))
    x, y = _pairs(n=4, seed=5)
    np.savez(folders["pix2pix"] / "shared.npz", inputs=x, targets=y)

    tiny_cyclegan(pool_size=0).save_weights(str(folders["cyclegan"] / "initial.weights.h5"))
    a, b = domains(4, seed=5)
    np.savez(folders["cyclegan"] / "shared.npz", a=a, b=b)

    tiny_gan(dropout=0.0).save_weights(str(folders["wgan_gp"] / "initial.weights.h5"))
    rng = np.random.default_rng(3)
    np.savez(folders["wgan_gp"] / "shared.npz", real=random_images(6, seed=4),
             z=rng.standard_normal((6, LATENT)).astype("float32"),
             eps=rng.uniform(0, 1, (6, 1, 1, 1)).astype("float32"))
    return folders


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    folders = _inputs(root)
    step = {b: run_backend(b, SCRIPT, "step", root, timeout=900) for b in BACKENDS}
    load = {b: run_backend(b, SCRIPT, "load", root, timeout=900) for b in BACKENDS}
    return folders, step, load


def _same_losses(step, model, names, key=lambda result: result):
    for b in BACKENDS[1:]:
        for name in names:
            np.testing.assert_allclose(key(step[b][model])[name], key(step["tensorflow"][model])[name],
                                       rtol=1e-4, atol=1e-6, err_msg=f"{model} {b} {name}")


def _same_arrays(folder, name="{backend}.npz", atol=1e-6):
    reference = np.load(folder / name.format(backend="tensorflow"))
    for b in BACKENDS[1:]:
        other = np.load(folder / name.format(backend=b))
        assert set(other.files) == set(reference.files)
        for key in reference.files:
            np.testing.assert_allclose(other[key], reference[key], rtol=1e-4, atol=atol,
                                       err_msg=f"{folder.name} {b}: {key}")


def _same_outputs_after_a_move(folder, key):
    for saver in BACKENDS:
        own = np.load(folder / f"{saver}.npz")[key]
        for loader in BACKENDS:
            if loader != saver:
                np.testing.assert_allclose(np.load(folder / f"{saver}-on-{loader}.npy"), own, atol=1e-5,
                                           err_msg=f"{folder.name}: {saver} -> {loader}")


# ------------------------------------------------------------------ DCGAN


def test_a_dcgan_step_gives_the_same_losses_and_weights_on_every_backend(parity):
    folders, step, _ = parity
    _same_losses(step, "dcgan", ("d_loss", "g_loss"))
    _same_arrays(folders["dcgan"])


def test_dcgan_checkpoints_load_on_the_other_backends_and_make_the_same_images(parity):
    folders, _, _ = parity
    _same_outputs_after_a_move(folders["dcgan"], "images")


def test_dcgan_checkpoints_train_on_on_the_other_backends(parity):
    # Keras's torch optimizers serialize under their backend's module, and a
    # torch checkpoint brought torch's Adam to TensorFlow and JAX: it loaded,
    # sampled, and failed in the first training step.
    _, _, load = parity
    for loader in BACKENDS:
        for saver, trained in load[loader]["dcgan"].items():
            assert np.isfinite(trained["d_loss"]), (saver, loader)
            assert trained["steps"] == 2, (saver, loader)  # the saved step and this one
            assert f"backend.{loader}" in trained["optimizer"] or "backend." not in trained["optimizer"], (
                saver, loader, trained["optimizer"])


# ------------------------------------------------------ the rest of the family


def test_a_conditional_step_matches_on_every_backend_for_both_conditionings(parity):
    from tests.test_conditional import CONDITIONINGS

    folders, step, _ = parity
    for conditioning in CONDITIONINGS:
        _same_losses(step, "conditional", ("d_loss", "g_loss"), key=lambda result: result[conditioning])
        # Adam's first step is lr * g / (|g| + eps): a weight whose gradient is
        # at rounding level (~eps; D's logit bias, when D scores both sides
        # alike) moves by a few % of lr = 2e-4 more on one backend than another.
        _same_arrays(folders["conditional"], f"{conditioning}-{{backend}}.npz", atol=1e-5)


def test_a_pix2pix_step_matches_across_backends_and_checkpoints_move(parity):
    folders, step, _ = parity
    _same_losses(step, "pix2pix", Pix2Pix.metric_names)
    _same_arrays(folders["pix2pix"], atol=1e-5)
    _same_outputs_after_a_move(folders["pix2pix"], "outputs")


def test_a_cyclegan_step_matches_across_backends_and_checkpoints_train_on(parity):
    folders, step, load = parity
    _same_losses(step, "cyclegan", CycleGAN.metric_names)
    _same_arrays(folders["cyclegan"])
    for loader in BACKENDS:
        for saver, trained in load[loader]["cyclegan"].items():
            # Each of the four optimizers: the saved step and this one.
            assert set(trained["iterations"].values()) == {2}, (saver, loader, trained)
            assert all(np.isfinite(v) for v in trained["losses"].values()), (saver, loader, trained)


def test_the_penalty_gradient_wrt_the_critic_weights_agrees_across_backends(parity):
    _, step, _ = parity
    reference = step["tensorflow"]["wgan_gp"]
    assert reference["penalty"] > 0 and any(np.abs(g).max() > 1e-3 for g in reference["grads"])
    for b in BACKENDS[1:]:
        ours = step[b]["wgan_gp"]
        np.testing.assert_allclose(ours["penalty"], reference["penalty"], rtol=1e-4)
        for i, (mine, theirs) in enumerate(zip(ours["grads"], reference["grads"])):
            np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max(), err_msg=f"{b} {i}")
