"""Data parallelism on the backends' own engines, and mixed precision.

Two devices on a CPU: JAX host devices (XLA_FLAGS) and TensorFlow logical
CPUs, each in a subprocess since a process's devices are fixed at start.
"""

import os
import warnings

import keras
import numpy as np
import pytest

from dcgan_keras.distribute import precision, set_precision
from helpers import random_images, run_backend, tiny_gan

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distribute_script.py")
BACKEND = keras.backend.backend()
needs_distribution = pytest.mark.skipif(BACKEND == "torch", reason="torch has no data-parallel path")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("distribute")
    results = {mode: run_backend(BACKEND, SCRIPT, mode, workdir) for mode in ("one", "two", "resume")}
    return workdir, results


def assert_same_losses(a, b):
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-4, err_msg=name)


@needs_distribution
def test_two_devices_match_one_device_with_the_same_global_batch(runs):
    workdir, results = runs
    assert_same_losses(results["two"]["step1"], results["one"]["step1"])
    one, two = np.load(workdir / "one.npz"), np.load(workdir / "two.npz")
    assert set(one.files) == set(two.files)
    for name in one.files:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-4, atol=1e-6, err_msg=name)


@needs_distribution
@pytest.mark.parametrize("model, metric", [("pix2pix", "g_l1_loss"), ("cyclegan", "cycle_loss")])
def test_a_translator_step_on_two_devices_matches_one_device(runs, model, metric):
    workdir, results = runs
    one, two = results["one"][f"{model}_step1"], results["two"][f"{model}_step1"]
    assert sorted(one) == sorted(two) and metric in one
    for name in one:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-4, err_msg=name)
    one, two = np.load(workdir / f"{model}_one.npz"), np.load(workdir / f"{model}_two.npz")
    assert set(one.files) == set(two.files) and len(one.files) > 8
    for name in one.files:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-4, atol=1e-6, err_msg=name)


@needs_distribution
def test_checkpoints_move_between_one_and_two_devices(runs):
    _, results = runs
    # Both continuations start from the state after one step: the same second step.
    assert_same_losses(results["two"]["resumed_one"], results["one"]["step2"])
    assert_same_losses(results["resume"]["resumed_two"], results["one"]["step2"])


@needs_distribution
def test_auto_jit_compile_is_xla_on_jax_and_graph_mode_on_tf_cpus(runs):
    # TensorFlow on CPUs: graph mode, as Keras's own "auto" (faster here:
    # bench/RESULTS.md, attempt 14); XLA would refuse a MirroredStrategy's variables over several.
    _, results = runs
    assert results["one"]["auto_jit_compile"] is (BACKEND == "jax")
    assert results["two"]["auto_jit_compile"] is (BACKEND == "jax")


@pytest.mark.skipif(BACKEND != "torch", reason="the torch backend's refusal")
def test_torch_refuses_data_parallel_with_the_supported_backends_named():
    from dcgan_keras.distribute import data_parallel

    with pytest.raises(ValueError, match="jax.*tensorflow"):
        data_parallel()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_finite_losses_and_float32_weights(policy, tmp_path):
    with precision(policy):
        gan = tiny_gan(d_batch_norm=True)
        before = [keras.ops.convert_to_numpy(v) for v in gan.generator.trainable_variables]
        history = gan.fit(random_images(32), batch_size=16, epochs=1, verbose=0).history
        gan.save(str(tmp_path / "gan.keras"))
    assert np.isfinite(history["d_loss"][-1]) and np.isfinite(history["g_loss"][-1])
    after = [keras.ops.convert_to_numpy(v) for v in gan.generator.trainable_variables]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert {str(v.dtype) for v in gan.weights} == {"float32"}
    # ... while the layers compute in the mixed policy, not silently in float32.
    assert policy in {layer.dtype_policy.name for layer in gan.generator.layers + gan.discriminator.layers}
    if policy == "mixed_float16":
        assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    images = gan.generate(2, seed=0)
    assert images.dtype == np.float32 and np.all(np.abs(images) <= 1)
    # The README's float32 islands: D's logits and G's tanh (the losses take them as they are).
    logits = gan.discriminator(random_images(2), training=False)
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    fake = gan.generator(keras.random.normal((2, gan.latent_dim)), training=False)
    assert keras.backend.standardize_dtype(fake.dtype) == "float32"
    loaded = keras.saving.load_model(str(tmp_path / "gan.keras"))
    assert {str(v.dtype) for v in loaded.weights} == {"float32"}


# The translators' presets at a tiny size: a U-Net and PatchGAN, a ResNet generator of one block.
TRANSLATORS = {
    "pix2pix": ("facades", dict(lr_decay=False)),
    "cyclegan": ("horse2zebra", dict(residual_blocks=1, pool_size=2, lr_decay=False)),
}


@pytest.mark.parametrize("model", sorted(TRANSLATORS))
def test_a_translator_trains_in_mixed_bfloat16_and_writes_float32_generators(model, tmp_path):
    from dcgan_keras.config import resolve_config
    from dcgan_keras.run_model import build_model, plain_generators

    preset, overrides = TRANSLATORS[model]
    config = resolve_config(preset, overrides=dict(image_size=32, filters=4, batch_size=2,
                                                   mixed_precision="mixed_bfloat16", **overrides))
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32") for _ in range(2))
    with precision(config.mixed_precision):
        gan = build_model(config)
        history = gan.fit(a, b, batch_size=2, epochs=1, verbose=0).history if model == "pix2pix" else gan.fit(
            (a, b), batch_size=2, epochs=1, verbose=0).history
        gan.save(str(tmp_path / "gan.keras"))
    for name, values in history.items():
        assert np.isfinite(values).all(), name
    assert {str(v.dtype) for v in gan.weights if "float" in str(v.dtype)} == {"float32"}
    layers = [layer for network in gan.networks.values() for layer in network._flatten_layers()]
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in layers}  # computed in bfloat16
    images = gan.translate(a[:2])
    assert images.dtype == np.float32 and np.isfinite(images).all() and np.abs(images).max() <= 1
    # What a run writes: each generator in float32, the same weights, close to the bfloat16 outputs.
    for name, generator in plain_generators(gan, config).items():
        assert {layer.dtype_policy.name for layer in generator._flatten_layers()} == {"float32"}, name
        direction = "BtoA" if name == "generator_ba" else "AtoB"
        np.testing.assert_allclose(keras.ops.convert_to_numpy(generator(a[:2])),
                                   gan.translate(a[:2], **({"direction": direction} if model == "cyclegan" else {})),
                                   atol=0.1, err_msg=name)
    loaded = keras.saving.load_model(str(tmp_path / "gan.keras"))
    assert {str(v.dtype) for v in loaded.weights if "float" in str(v.dtype)} == {"float32"}


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="float16x.*mixed_bfloat16"):
        set_precision("float16x")


def test_precision_block_restores_the_policy_it_found_even_on_error():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with pytest.raises(RuntimeError, match="inside"):
            with precision("mixed_bfloat16"):
                assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
                raise RuntimeError("inside")
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        with pytest.raises(ValueError, match="float16x"):
            with precision("float16x"):
                pass
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_mixed_float16_on_a_cpu_warns_and_names_what_to_use_instead(monkeypatch):
    # CPUs have no fast float16 kernels: a step took 8x (TensorFlow) to 45x
    # (torch) float32's (bench/precision_cpu.py). The run is not refused.
    from dcgan_keras import backend as seam

    monkeypatch.setattr(seam, "computes_on_cpu", lambda: True)
    try:
        with pytest.warns(UserWarning, match=r"mixed_float16 on a CPU.*slower.*use mixed_bfloat16"):
            set_precision("mixed_float16")
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            set_precision("mixed_bfloat16")
            set_precision("float32")
            monkeypatch.setattr(seam, "computes_on_cpu", lambda: False)  # as on a GPU
            set_precision("mixed_float16")
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_computes_on_cpu_says_where_keras_puts_a_new_tensor():
    from dcgan_keras import backend as seam

    x = keras.ops.zeros((1,))
    if BACKEND == "tensorflow":
        kind = x.device.split("device:")[-1].split(":")[0].lower()
    elif BACKEND == "jax":
        kind = next(iter(x.devices())).platform
    else:
        kind = x.device.type
    assert seam.computes_on_cpu() == (kind == "cpu"), kind
