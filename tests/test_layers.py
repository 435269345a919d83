"""dcgan_keras.layers (thin registered Keras layers) and the fast kernels the seam runs them with (torch; JAX on CPU): Keras's results."""

import keras
import numpy as np
import pytest

from dcgan_keras import build_discriminator, build_generator
from dcgan_keras import layers as dcgan_layers

BACKEND = keras.backend.backend()
TORCH = BACKEND == "torch"


def _has_fast_path():
    """Whether dcgan_keras.layers compute in their own way here (dcgan_keras/backend/*_layers.py)."""
    if BACKEND == "jax":
        import jax

        return jax.default_backend() == "cpu"
    return BACKEND == "torch"


FAST_PATH = _has_fast_path()

# (kernel, strides, padding, input size, bias): symmetric and asymmetric
# "same" padding, even and odd sizes, "valid", a kernel smaller than its
# stride (the transposed convolution's fallback to Keras's op).
CONV_CASES = [
    (5, 2, "same", 8, True),  # the TF tutorial's: padding 1 before, 2 after
    (5, 2, "same", 7, False),
    (4, 2, "same", 8, False),  # DCGAN-64's: symmetric
    (4, 2, "same", 7, True),
    (5, 1, "same", 7, False),
    (3, 1, "same", 8, True),
    (3, 2, "valid", 8, True),
    (4, 1, "valid", 7, False),
    (1, 2, "same", 7, True),
]


def _pair(layer_name, **kwargs):
    """Our layer and Keras's, built on one input shape with the same weights."""
    ours, theirs = getattr(dcgan_layers, layer_name)(**kwargs), getattr(keras.layers, layer_name)(**kwargs)
    return ours, theirs


def _one_layer_model(layer, shape):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs))


def _conv_model(layer, shape):
    # A 1x1 convolution of Keras's own in front: its kernel's gradient is made
    # of the tested layer's input gradient, so a training step checks that too.
    inputs = keras.Input(shape)
    mixed = keras.layers.Conv2D(shape[-1], 1, kernel_initializer=keras.initializers.RandomNormal(seed=1))(inputs)
    return keras.Model(inputs, layer(mixed))


def _train_one_step(model, x, y):
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.train_on_batch(x, y)
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def _conv_kwargs(layer_name, kernel, strides, padding, bias):
    # 16 filters: JAX's transposed convolution goes by phases from 16 on.
    return dict(
        filters=16, kernel_size=kernel, strides=strides, padding=padding, use_bias=bias,
        bias_initializer="random_normal",
    )


@pytest.mark.parametrize("layer_name", ["Conv2D", "Conv2DTranspose"])
@pytest.mark.parametrize("kernel,strides,padding,size,bias", CONV_CASES)
def test_convolutions_match_keras_in_output_and_in_a_training_step(layer_name, kernel, strides, padding, size, bias):
    rng = np.random.default_rng(0)
    shape = (size, size, 16)  # 16 channels in: JAX's input gradient goes by phases from 16 on
    x = rng.normal(size=(4,) + shape).astype("float32")
    ours, theirs = _pair(layer_name, **_conv_kwargs(layer_name, kernel, strides, padding, bias))
    m_ours, m_theirs = _conv_model(ours, shape), _conv_model(theirs, shape)
    m_ours.set_weights(m_theirs.get_weights())
    out = keras.ops.convert_to_numpy(m_theirs(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(m_ours(x)), out, rtol=1e-5, atol=1e-5)
    assert m_ours.output_shape == m_theirs.output_shape == (None,) + out.shape[1:]
    if not FAST_PATH:
        return  # our layers run Keras's own call: one forward check is enough
    # The weights after one SGD step agree, so the gradients do (the input's too).
    y = rng.normal(size=out.shape).astype("float32")
    for a, b in zip(_train_one_step(m_ours, x, y), _train_one_step(m_theirs, x, y)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(6, 6, 4), (12,)])
def test_batch_norm_matches_keras_in_training_and_moving_statistics(shape):
    rng = np.random.default_rng(1)
    x = (3.0 + 2.0 * rng.normal(size=(16,) + shape)).astype("float32")
    kwargs = dict(momentum=0.8, gamma_initializer="random_normal", beta_initializer="random_normal")
    ours, theirs = _pair("BatchNormalization", **kwargs)
    m_ours, m_theirs = _one_layer_model(ours, shape), _one_layer_model(theirs, shape)
    m_ours.set_weights(m_theirs.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(m_ours(x, training=True)),
        keras.ops.convert_to_numpy(m_theirs(x, training=True)),
        rtol=1e-5, atol=1e-5,
    )
    # One step: gamma and beta from the gradients, and the moving statistics
    # (again updated by the training call) from the biased batch variance.
    y = rng.normal(size=x.shape).astype("float32")
    w_ours, w_theirs = _train_one_step(m_ours, x, y), _train_one_step(m_theirs, x, y)
    names = [w.path for w in m_theirs.weights]
    for name, a, b in zip(names, w_ours, w_theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=name)
    moving_variance = w_ours[names.index(theirs.moving_variance.path)]
    assert not np.allclose(moving_variance, 1.0), "the moving variance never moved"
    # Inference uses the moving statistics, as Keras's does.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(m_ours(x)), keras.ops.convert_to_numpy(m_theirs(x)), rtol=1e-5, atol=1e-5
    )


def test_batch_norm_in_a_stateless_call_returns_its_statistics_and_leaves_the_layer_alone():
    # JAX's trainer, and users' own loops, train through `stateless_call`: the
    # moving statistics come back as new values, the variables keep theirs.
    x = np.random.default_rng(2).normal(3.0, 2.0, size=(8, 4, 4, 3)).astype("float32")
    model = _one_layer_model(dcgan_layers.BatchNormalization(momentum=0.5), x.shape[1:])
    before = [keras.ops.convert_to_numpy(v) for v in model.non_trainable_variables]
    _, new_statistics = model.stateless_call(
        [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
        x, training=True,
    )
    for variable, value in zip(model.non_trainable_variables, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), value)
    model(x, training=True)
    for variable, value in zip(model.non_trainable_variables, new_statistics):
        assert not np.allclose(keras.ops.convert_to_numpy(value), before[0 if "mean" in variable.path else 1])
        np.testing.assert_allclose(keras.ops.convert_to_numpy(value), keras.ops.convert_to_numpy(variable), rtol=1e-6)


def test_seeded_dropout_drops_at_its_rate_and_rescales_the_rest():
    layer = dcgan_layers.Dropout(0.3, seed=7)
    x = np.ones((50, 40, 4), "float32")
    out = keras.ops.convert_to_numpy(layer(x, training=True))
    dropped = np.mean(out == 0)
    assert abs(dropped - 0.3) < 0.03, dropped
    np.testing.assert_allclose(out[out != 0], 1 / 0.7, rtol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)


def test_seeded_dropout_masks_come_from_the_seed_state_a_checkpoint_restores():
    x = np.ones((8, 6, 6, 3), "float32")

    def mask(layer):
        return keras.ops.convert_to_numpy(layer(x, training=True)) == 0

    first, second = dcgan_layers.Dropout(0.5, seed=3), dcgan_layers.Dropout(0.5, seed=3)
    m1 = mask(first)
    np.testing.assert_array_equal(mask(second), m1)  # same seed, same mask
    saved = keras.ops.convert_to_numpy(first.seed_generator.state)
    m2 = mask(first)
    assert not np.array_equal(m1, m2), "every call must draw a new mask"
    first.seed_generator.state.assign(saved)  # what loading a checkpoint does
    np.testing.assert_array_equal(mask(first), m2)


@pytest.mark.parametrize("seed", [5, 2**31 - 2])  # torch keeps int32 seeds: the third sum wraps
def test_the_latent_noise_is_keras_random_normals_draw_and_moves_the_seed_state_as_keras_does(seed):
    from dcgan_keras import backend as seam

    ours, keras_own = keras.random.SeedGenerator(seed), keras.random.SeedGenerator(seed)
    for _ in range(3):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(seam.normal_noise(4, 8, ours)),
            keras.ops.convert_to_numpy(keras.random.normal((4, 8), seed=keras_own)),
        )
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours.state), keras.ops.convert_to_numpy(keras_own.state))


@pytest.mark.skipif(not TORCH, reason="on torch a draw reads the seed state back to the host")
def test_on_torch_the_seed_states_live_in_host_memory_whatever_keras_default_device():
    # "meta" stands in for a GPU: where the default device is not the host,
    # Keras's own Dropout keeps its state there, and ours does not.
    from dcgan_keras import DCGAN

    with keras.device("meta"):
        keras_own = keras.layers.Dropout(0.5, seed=1)
    assert keras_own.seed_generator.state.value.device.type == "meta"  # the presets' are not (below)
    with keras.device("meta"):
        generator = build_generator(latent_dim=8, image_size=28, channels=1, filters=(8, 8, 4))
        discriminator = build_discriminator(image_size=28, channels=1, filters=(4, 8), seed=0)
        gan = DCGAN(discriminator, generator, latent_dim=8)
    assert discriminator.layers[1].kernel.value.device.type == "meta"
    dropouts = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts and all(layer.seed_generator.state.value.device.type == "cpu" for layer in dropouts)
    assert gan.seed_generator.state.value.device.type == "cpu"


@pytest.mark.skipif(not TORCH, reason="torch draws its dropout masks from a seeded torch.Generator")
def test_a_stateless_call_draws_the_dropout_mask_from_the_given_seed_state():
    model = _one_layer_model(dcgan_layers.Dropout(0.5, seed=4), (6, 6, 3))
    x = np.ones((4, 6, 6, 3), "float32")
    state = [v.value for v in model.non_trainable_variables]
    before = keras.ops.convert_to_numpy(state[0])
    out, new_state = model.stateless_call([], state, x, training=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.non_trainable_variables[0]), before)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(new_state[0]), before + [0, 1])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x, training=True)), keras.ops.convert_to_numpy(out))


def _fast_path_calls(monkeypatch):
    """Per fast op of the backend's module: (layer, whether the fast path computed it) per call."""
    if TORCH:
        from dcgan_keras.backend.fast import torch_layers as fast_layers
    else:
        from dcgan_keras.backend.fast import jax_layers as fast_layers

    taken = {}
    names = ("conv2d", "conv2d_transpose") + (("batch_norm_training", "seeded_dropout") if TORCH else ())
    for name in names:
        original = getattr(fast_layers, name)

        def counted(layer, inputs, _original=original, _name=name):
            outputs = _original(layer, inputs)
            taken.setdefault(_name, []).append((layer, outputs is not None))
            return outputs

        monkeypatch.setattr(fast_layers, name, counted)
    return taken


def _run_preset_networks(preset):
    generator = build_generator(preset=preset, latent_dim=8, filters=None)
    discriminator = build_discriminator(preset=preset, seed=0)
    # Where the training step runs them: the seam's forward plan (the fast path).
    from dcgan_keras import backend as seam

    images = seam.forward(generator, np.zeros((2, 8), "float32"), training=True)
    seam.forward(discriminator, images, training=True)


@pytest.mark.skipif(not TORCH, reason="the fast path exists on torch only")
@pytest.mark.parametrize("preset", ["tf_tutorial", "dcgan64"])
def test_the_presets_networks_take_the_torch_fast_path_in_every_layer(monkeypatch, preset):
    taken = _fast_path_calls(monkeypatch)
    _run_preset_networks(preset)
    expected = {"conv2d", "conv2d_transpose", "batch_norm_training", "seeded_dropout"}
    assert set(taken) == expected
    assert all(fast for calls in taken.values() for _, fast in calls), taken  # no layer fell back


@pytest.mark.skipif(BACKEND != "jax" or not FAST_PATH, reason="JAX on CPU only")
@pytest.mark.parametrize("preset", ["tf_tutorial", "dcgan64"])
def test_on_jax_cpu_the_presets_strided_convolutions_go_by_phases(monkeypatch, preset):
    taken = _fast_path_calls(monkeypatch)
    _run_preset_networks(preset)
    # Stride 1 has no dilation; where the dilated convolution has an image's 1
    # or 3 channels (G's last layer, D's first), Keras's op is faster.
    for layer, fast in taken["conv2d"]:
        channels_in = layer.kernel.shape[2]
        assert fast == (max(layer.strides) > 1 and channels_in >= 16), (layer.name, layer.strides, channels_in)
    for layer, fast in taken["conv2d_transpose"]:
        assert fast == (max(layer.strides) > 1 and layer.filters >= 16), (layer.name, layer.strides, layer.filters)
    for op in ("conv2d", "conv2d_transpose"):
        assert any(fast for _, fast in taken[op]), op


@pytest.mark.skipif(BACKEND != "jax" or not FAST_PATH, reason="JAX on CPU only")
def test_on_jax_cpu_a_gan_trained_by_phases_ends_where_keras_ops_take_it(monkeypatch):
    # The whole jitted train step (both updates, G's average, the custom input
    # gradient inside it) against the same GAN on Keras's own convolutions.
    from dcgan_keras import DCGAN
    from dcgan_keras.backend.fast import jax_layers

    def trained():
        keras.utils.set_random_seed(0)
        generator = build_generator(latent_dim=8, image_size=28, channels=1, filters=(16, 16, 16))
        discriminator = build_discriminator(image_size=28, channels=1, filters=(16, 16), batch_norm=True, seed=0)
        gan = DCGAN(discriminator=discriminator, generator=generator, latent_dim=8, seed=0, ema_momentum=0.9)
        gan.compile()
        x = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype("float32")
        history = gan.fit(x, batch_size=8, epochs=1, verbose=0, shuffle=False).history
        return history, [keras.ops.convert_to_numpy(v) for v in gan.weights]

    taken = _fast_path_calls(monkeypatch)
    history, weights = trained()
    assert any(fast for calls in taken.values() for _, fast in calls), "no layer went by phases"
    monkeypatch.setattr(jax_layers, "conv2d", lambda layer, inputs: None)
    monkeypatch.setattr(jax_layers, "conv2d_transpose", lambda layer, inputs: None)
    keras_history, keras_weights = trained()
    for name in ("d_loss", "g_loss"):
        np.testing.assert_allclose(history[name], keras_history[name], rtol=1e-4, atol=1e-5)
    for ours, theirs in zip(weights, keras_weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("layer_name", ["Conv2D", "Conv2DTranspose"])
def test_under_mixed_bfloat16_the_convolutions_match_keras(layer_name):
    x = np.random.default_rng(3).normal(size=(4, 7, 7, 16)).astype("float32")
    y = np.random.default_rng(4).normal(size=(4, 14, 14, 16) if layer_name == "Conv2DTranspose" else (4, 4, 4, 16))
    results = []
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        ours, theirs = _pair(layer_name, **_conv_kwargs(layer_name, 5, 2, "same", True))
        m_ours, m_theirs = _conv_model(ours, x.shape[1:]), _conv_model(theirs, x.shape[1:])
        m_ours.set_weights(m_theirs.get_weights())
        for model in (m_ours, m_theirs):
            out = model(x)
            assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
            results.append([keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))])
            results[-1] += _train_one_step(model, x, y.astype("float32"))
    finally:
        keras.config.set_dtype_policy("float32")
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=0.05, atol=0.05)


@pytest.mark.skipif(not TORCH, reason="the fast path exists on torch only")
def test_under_torch_compile_the_layers_leave_the_work_to_keras_ops(monkeypatch):
    import torch

    taken = _fast_path_calls(monkeypatch)
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    from dcgan_keras import backend as seam

    discriminator = build_discriminator(image_size=28, channels=1, filters=(4, 8), batch_norm=True, seed=0)
    seam.forward(discriminator, np.zeros((2, 28, 28, 1), "float32"), training=True)
    # seam.forward itself leaves a compiled step to Keras: no kernel is even asked.
    assert not any(fast for calls in taken.values() for _, fast in calls), taken


@pytest.mark.skipif(not TORCH, reason="jit_compile=True is torch.compile on torch")
def test_a_gan_trains_under_torch_compile_as_it_does_eagerly():
    # Inductor (torch 2.13) failed on the fast transposed convolution and
    # BatchNorm, and on seam.forward's direct layer calls; about 30 s.
    from helpers import random_images, tiny_gan

    histories = {}
    for jit_compile in (False, True):
        # No dropout: compiled, Keras's own dropout draws other masks.
        gan = tiny_gan(seed=0, d_batch_norm=True, dropout=0.0, jit_compile=jit_compile)
        histories[jit_compile] = gan.fit(random_images(64), batch_size=16, epochs=1, verbose=0, shuffle=False).history
    for name in ("d_loss", "g_loss", "d_real"):
        np.testing.assert_allclose(histories[True][name], histories[False][name], rtol=1e-4, err_msg=name)


def test_a_network_of_our_layers_saves_loads_and_shares_weights_with_keras_layers(tmp_path):
    discriminator = build_discriminator(image_size=32, channels=3, filters=(4, 8, 8), seed=0)
    x = np.random.default_rng(2).uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(discriminator(x))

    path = str(tmp_path / "d.keras")
    discriminator.save(path)
    loaded = keras.saving.load_model(path)
    # Keras's own layers (dcgan_keras.layers' names only load older files).
    assert {type(layer) for layer in loaded.layers} >= {keras.layers.Conv2D, keras.layers.BatchNormalization}
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), expected, rtol=1e-6, atol=1e-6)

    # Weight files do not depend on the layer classes: Keras's own network reads ours.
    weights = str(tmp_path / "d.weights.h5")
    discriminator.save_weights(weights)
    plain = keras.Model.from_config(dcgan_layers.keras_layers_config(discriminator.get_config()))
    assert not any(type(layer).__module__.startswith("dcgan_keras") for layer in plain.layers)
    plain.load_weights(weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(x)), expected, rtol=1e-5, atol=1e-5)
