"""DCGAN training behaviour, on whichever backend KERAS_BACKEND selects."""

import json
import os
import warnings

import keras
import numpy as np
import pytest

from dcgan_keras import DCGAN, build_discriminator, build_generator
from helpers import LATENT, QUICK_COMPILE, changed, numpy_weights, random_images, tiny_gan


class LastNoise(keras.metrics.Metric):
    """Reports the first row of the latest z, so a callback can see the noise of each step."""

    def __init__(self, latent_dim, **kwargs):
        super().__init__(name="z0", **kwargs)
        self.z0 = self.add_variable(shape=(latent_dim,), initializer="zeros", name="z0")

    def update_state(self, z):
        self.z0.assign(z[0])

    def result(self):
        return keras.ops.convert_to_tensor(self.z0)


class NoiseRecordingGAN(DCGAN):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trackers["z0"] = LastNoise(self.latent_dim)

    def sample_noise(self, batch_size):
        z = super().sample_noise(batch_size)
        self.trackers["z0"].update_state(z)
        return z


class BatchLogs(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append({k: keras.ops.convert_to_numpy(v) for k, v in logs.items()})


def test_fit_updates_both_networks_and_both_optimizers():
    gan = tiny_gan(d_steps=2)
    g_before = numpy_weights(gan.generator.trainable_variables)
    d_before = numpy_weights(gan.discriminator.trainable_variables)
    bn = [v for v in gan.generator.non_trainable_variables if "moving" in v.path]
    bn_before = numpy_weights(bn)
    history = gan.fit(random_images(32), batch_size=8, epochs=1, verbose=0)

    for name in ("d_loss", "g_loss", "d_real", "d_fake", "d_acc"):
        assert np.isfinite(history.history[name][-1]), name
    assert 0.0 <= history.history["d_real"][-1] <= 1.0
    assert changed(g_before, numpy_weights(gan.generator.trainable_variables))
    assert changed(d_before, numpy_weights(gan.discriminator.trainable_variables))
    assert changed(bn_before, numpy_weights(bn)), "BatchNorm moving statistics did not move"
    # 4 steps: d_steps=2 discriminator updates and one generator update each.
    assert int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations)) == 8
    assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 4


def test_the_metrics_are_what_keras_means_report_step_by_step(monkeypatch):
    # torch adds to the five Means in fused calls (seam.add_to_means); a Mean
    # subclass takes Keras's own update_state. Both must log the same numbers.
    from dcgan_keras import backend as seam

    class KerasMean(keras.metrics.Mean):
        pass

    fused_calls = []
    fused = getattr(seam._fast_hooks, "add_to_means", None)
    if fused is not None:
        def counted(*args):
            results = fused(*args)
            fused_calls.append(results is not None)  # None: the plain loop
            return results

        monkeypatch.setattr(seam._fast_hooks, "add_to_means", counted)
    logs = {}
    for kind in ("default", "keras"):
        gan = tiny_gan(compile=False)
        if kind == "keras":
            gan.trackers = {name: KerasMean(name=name) for name in gan.trackers}
        gan.compile(**QUICK_COMPILE)
        recorder = BatchLogs()
        gan.fit(random_images(24), batch_size=8, epochs=2, verbose=0, shuffle=False, callbacks=[recorder])
        logs[kind] = recorder.logs
        assert [m.name for m in gan.metrics] == ["d_loss", "g_loss", "d_real", "d_fake", "d_acc"]
    assert len(logs["default"]) == 6
    for default, keras_own in zip(logs["default"], logs["keras"], strict=True):
        assert default.keys() == keras_own.keys()
        for name in default:
            np.testing.assert_array_equal(default[name], keras_own[name], err_msg=name)
    assert fused_calls.count(True) == (6 if fused is not None and seam.fast.enabled() else 0)


def test_consecutive_steps_draw_different_noise_and_seed_reproduces_run():
    def run():
        keras.utils.set_random_seed(3)
        g = build_generator(latent_dim=LATENT, image_size=28, channels=1, filters=(16, 8, 4))
        d = build_discriminator(image_size=28, channels=1, filters=(4, 8), seed=3)
        gan = NoiseRecordingGAN(discriminator=d, generator=g, latent_dim=LATENT, seed=3)
        gan.compile(**QUICK_COMPILE)
        logs = BatchLogs()
        gan.fit(random_images(24), batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[logs])
        return logs.logs, numpy_weights(gan.weights)

    logs_a, weights_a = run()
    noise = [log["z0"] for log in logs_a]
    assert not np.allclose(noise[0], noise[1]) and not np.allclose(noise[1], noise[2])
    logs_b, weights_b = run()
    np.testing.assert_array_equal(noise, [log["z0"] for log in logs_b])
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def blob_images(n, seed=0):
    """One fixed blurred blob plus small noise: trivially learnable."""
    yy, xx = np.mgrid[:28, :28]
    blob = np.exp(-((yy - 11.0) ** 2 + (xx - 16.0) ** 2) / (2 * 4.0**2))
    base = 2.0 * blob - 1.0
    noise = np.random.default_rng(seed).normal(0, 0.05, (n, 28, 28))
    return np.clip(base + noise, -1, 1)[..., None].astype("float32"), base


def _one_step_with_fixed_noise(update, d_lr=2e-4):
    gan = tiny_gan(dropout=0.0, d_batch_norm=True, update=update,
                   d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.5))
    z = keras.ops.convert_to_tensor(np.random.default_rng(1).standard_normal((8, LATENT)).astype("float32"))
    gan.sample_noise = lambda batch_size: z
    gan.fit(random_images(8), batch_size=8, epochs=1, shuffle=False, verbose=0)
    return (numpy_weights(gan.discriminator.trainable_variables), numpy_weights(gan.generator.trainable_variables))


def _assert_close(a, b):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)


def test_update_orders_differ_only_in_which_discriminator_g_learns_against():
    d_sim, g_sim = _one_step_with_fixed_noise("simultaneous")
    d_seq, g_seq = _one_step_with_fixed_noise("sequential")
    _, g_seq_frozen_d = _one_step_with_fixed_noise("sequential", d_lr=0.0)
    # D's update is the same step in both orders.
    _assert_close(d_sim, d_seq)
    # Simultaneous: G follows the D of before the update, which a sequential
    # step whose D does not move reproduces ...
    _assert_close(g_sim, g_seq_frozen_d)
    # ... and sequential G follows the updated D.
    assert max(np.abs(a - b).max() for a, b in zip(g_sim, g_seq)) > 1e-6


def test_simultaneous_update_learns_and_refuses_several_d_steps():
    gan = tiny_gan(update="simultaneous")
    history = gan.fit(random_images(16), batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["g_loss"]).all() and np.isfinite(history.history["d_loss"]).all()
    assert int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations)) == 4
    assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 4
    restored = DCGAN.from_config(gan.get_config())
    assert restored.update == "simultaneous"
    with pytest.raises(ValueError, match="d_steps=1"):
        tiny_gan(update="simultaneous", d_steps=2)
    with pytest.raises(ValueError, match="sequential"):
        tiny_gan(update="alternating")


@pytest.mark.full  # trains for seconds to learn a known answer: the full tier's
def test_it_learns_a_blob():
    # Mean absolute error between the mean generated image and the data mean,
    # over pixels in [-1, 1]: ~0.8 untrained (tanh of small values is ~0 on a
    # -1 background); the bound after 150 steps is 0.15 (0.06-0.08 on every
    # backend, seeds 1 and 2).
    images, target = blob_images(1200)
    gan = tiny_gan(seed=1, latent_dim=8, d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
                   g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))
    error_before = np.abs(gan.generate(256, seed=0)[..., 0].mean(0) - target).mean()
    gan.fit(images, batch_size=32, epochs=4, verbose=0)
    error_after = np.abs(gan.generate(256, seed=0)[..., 0].mean(0) - target).mean()
    assert error_before > 0.5
    assert error_after < 0.15, f"mean image error {error_after:.3f} (untrained {error_before:.3f})"


def test_keras_file_round_trip_continues_the_same_run(tmp_path):
    batch = random_images(8, seed=5)
    gan = tiny_gan(seed=2, d_batch_norm=True)
    gan.fit(batch, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, DCGAN)
    for name in ("d_optimizer", "g_optimizer"):
        np.testing.assert_equal(
            numpy_weights(getattr(loaded, name).variables), numpy_weights(getattr(gan, name).variables)
        )
    np.testing.assert_allclose(loaded.generate(4, seed=1), gan.generate(4, seed=1), rtol=0, atol=1e-6)
    # shuffle=False: Keras shuffles arrays with the global RNG, which is not
    # the model's state (the run's data loader owns the order).
    continued = gan.fit(batch, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    resumed = loaded.fit(batch, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    for name in ("d_loss", "g_loss"):
        np.testing.assert_allclose(resumed[name], continued[name], rtol=1e-5)


class GeneratorWeights(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(numpy_weights(self.model.generator.weights))


@keras.saving.register_keras_serializable(package="test_gan")
def _hinge_discriminator_loss(real_out, fake_out, label_smoothing=0.0):
    return keras.ops.mean(keras.ops.relu(1.0 - real_out)) + keras.ops.mean(keras.ops.relu(1.0 + fake_out))


@keras.saving.register_keras_serializable(package="test_gan")
def _hinge_generator_loss(fake_out):
    return -keras.ops.mean(fake_out)


def _unregistered_generator_loss(fake_out):
    return -keras.ops.mean(fake_out)


def test_a_saved_gan_keeps_a_custom_gan_loss_or_says_which_function_to_register(tmp_path):
    from dcgan_keras.losses import GANLoss

    hinge = GANLoss("hinge", _hinge_discriminator_loss, _hinge_generator_loss)
    gan = tiny_gan(loss_fn=hinge)
    gan.fit(random_images(8), batch_size=8, epochs=1, verbose=0)
    gan.save(tmp_path / "hinge.keras")
    loaded = keras.saving.load_model(tmp_path / "hinge.keras")
    assert loaded.gan_loss.discriminator is _hinge_discriminator_loss
    assert loaded.gan_loss.generator is _hinge_generator_loss
    assert loaded.gan_loss.name == "hinge" and loaded.gan_loss.outputs_are_logits

    unregistered = GANLoss("mine", _hinge_discriminator_loss, _unregistered_generator_loss)
    gan = tiny_gan(loss_fn=unregistered)
    gan.save(tmp_path / "mine.keras")
    with pytest.raises(TypeError, match=r"_unregistered_generator_loss.*register_keras_serializable"):
        keras.saving.load_model(tmp_path / "mine.keras")


@pytest.mark.parametrize("update", ["sequential", "simultaneous"])
def test_ema_generator_is_the_moving_average_of_the_trained_weights(update):
    gan = tiny_gan(seed=3, update=update, ema_momentum=0.6)
    recorder = GeneratorWeights()
    gan.fit(random_images(40, seed=1), batch_size=8, epochs=1, verbose=0, callbacks=[recorder])
    # An even mean of the first 1 / (1 - 0.6) = 2.5 updates, then momentum 0.6;
    # BatchNorm statistics averaged like the weights.
    expected = recorder.steps[0]
    for k, weights in enumerate(recorder.steps[1:], start=2):
        momentum = min(0.6, (k - 1) / k)
        expected = [momentum * e + (1 - momentum) * w for e, w in zip(expected, weights)]
    averaged = numpy_weights(gan.ema_generator.weights)
    for got, want in zip(averaged, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert changed(averaged, recorder.steps[-1])
    assert gan.ema_generator.trainable_variables == []
    z = np.random.default_rng(0).normal(size=(4, LATENT)).astype("float32")
    np.testing.assert_array_equal(gan.generate(z=z), keras.ops.convert_to_numpy(gan.ema_generator(z)))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(gan(z)), gan.generate(z=z))


def test_ema_generator_is_saved_and_a_reloaded_model_continues_the_same_average(tmp_path):
    batch = random_images(16, seed=5)
    gan = tiny_gan(seed=2, ema_momentum=0.9)
    gan.fit(batch, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.ema_momentum == 0.9
    np.testing.assert_array_equal(loaded.generate(4, seed=1), gan.generate(4, seed=1))
    gan.fit(batch, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(batch, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(numpy_weights(loaded.ema_generator.weights), numpy_weights(gan.ema_generator.weights)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 1.0, -0.5, 2])
def test_ema_momentum_outside_0_1_is_refused(momentum):
    with pytest.raises(ValueError, match=r"`ema_momentum` must be in \(0, 1\)"):
        tiny_gan(ema_momentum=momentum, compile=False)


def test_saved_jit_compile_auto_is_resolved_again_where_loaded():
    # A model saved where "auto" meant XLA (one device) must not force XLA
    # where it is loaded (several CPUs): the file keeps what was asked.
    gan = tiny_gan(jit_compile="auto")
    assert gan.get_compile_config()["jit_compile"] == "auto"
    assert tiny_gan(jit_compile=False).get_compile_config()["jit_compile"] is False


def test_keras_io_conventions():
    """As keras.io's DCGAN example calls it: sigmoid discriminator, BCE loss object, a callback."""
    discriminator = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 4, strides=2, padding="same"),
         keras.layers.LeakyReLU(0.2), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")],
        name="discriminator",
    )
    generator = build_generator(latent_dim=LATENT, image_size=28, channels=1, filters=(8, 4, 4))

    class GANMonitor(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            z = keras.random.normal((2, self.model.latent_dim), seed=epoch)
            self.images = keras.ops.convert_to_numpy(self.model.generator(z))

    gan = DCGAN(discriminator=discriminator, generator=generator, latent_dim=LATENT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sigmoid discriminator: from_logits=False is right
        gan.compile(
            d_optimizer=keras.optimizers.Adam(learning_rate=0.0001),
            g_optimizer=keras.optimizers.Adam(learning_rate=0.0001),
            loss_fn=keras.losses.BinaryCrossentropy(),
        )
    monitor = GANMonitor()
    history = gan.fit(random_images(16), batch_size=8, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.images.shape == (2, 28, 28, 1)
    # A sigmoid discriminator's outputs are read as probabilities, not logits.
    assert 0.4 < history.history["d_real"][-1] < 0.6
    assert np.isfinite(history.history["d_loss"][-1])


def test_a_probability_loss_on_a_logit_discriminator_is_warned_about():
    with pytest.warns(UserWarning, match=r"has no sigmoid.*from_logits=True"):
        tiny_gan(loss_fn=keras.losses.BinaryCrossentropy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny_gan(loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))


def test_minimax_loss_trains():
    gan = tiny_gan(loss_fn="minimax")
    history = gan.fit(random_images(16), batch_size=8, epochs=1, verbose=0)
    # log(1 - D(G(z))) is negative: the minimax loss is not the default BCE one.
    assert history.history["g_loss"][-1] < 0


def test_the_losses_equal_their_closed_forms_at_any_logit():
    # softplus(x) - x * y, in float64: from saturated fakes to saturated reals
    # (torch computes these with its fused loss, the others with keras.ops).
    from dcgan_keras import losses

    logits = np.array([[-100.0], [-3.0], [0.0], [0.25], [2.5], [100.0]], "float32")

    def bce(y):
        x = logits.astype("float64")
        return float(np.mean(np.logaddexp(0.0, x) - x * y))

    def value(loss):
        return float(keras.ops.convert_to_numpy(loss))

    x = keras.ops.convert_to_tensor(logits)
    expected = {
        "d": bce(0.9) + bce(0.0),  # label smoothing 0.1 on the real half only
        "g": bce(1.0),
        "minimax": -bce(0.0),
    }
    got = {
        "d": value(losses.discriminator_loss(x, x, label_smoothing=0.1)),
        "g": value(losses.non_saturating_generator_loss(x)),
        "minimax": value(losses.minimax_generator_loss(x)),
    }
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-6, err_msg=name)


def test_latent_size_mismatch_is_refused():
    g = build_generator(latent_dim=16, image_size=28, channels=1, filters=(8, 4, 4))
    d = build_discriminator(image_size=28, channels=1, filters=(4, 4))
    with pytest.raises(ValueError, match=r"latent_dim.*16.*Received: latent_dim=32"):
        DCGAN(discriminator=d, generator=g, latent_dim=32)


def test_generator_and_discriminator_shapes_must_agree():
    g = build_generator(latent_dim=8, image_size=28, channels=1, filters=(8, 4, 4))
    d = build_discriminator(image_size=32, channels=3, filters=(4, 4, 4))
    with pytest.raises(ValueError, match=r"\(28, 28, 1\).*\(32, 32, 3\)"):
        DCGAN(discriminator=d, generator=g)


def test_data_of_the_wrong_shape_is_refused():
    gan = tiny_gan()
    with pytest.raises(ValueError, match=r"\(32, 32, 3\).*\(28, 28, 1\)"):
        gan.fit(random_images(8, shape=(32, 32, 3)), batch_size=8, epochs=1, verbose=0)


def test_a_fit_or_predict_that_fails_in_its_first_step_leaves_the_weights_usable():
    # On JAX, Keras empties the variables while a step runs and had nothing to
    # put back when the first one failed: every later call failed.
    gan = tiny_gan()
    before = numpy_weights(gan.variables)
    with pytest.raises(ValueError, match=r"\(32, 32, 1\).*\(28, 28, 1\)"):
        gan.fit(random_images(8, shape=(32, 32, 1)), batch_size=8, epochs=1, verbose=0)
    assert not changed(before, numpy_weights(gan.variables))
    with pytest.raises(ValueError):
        gan.predict(np.zeros((4, LATENT + 1), "float32"), verbose=0)
    assert not changed(before, numpy_weights(gan.variables))
    np.testing.assert_allclose(
        gan.predict(np.zeros((4, LATENT), "float32"), verbose=0), gan.generate(z=np.zeros((4, LATENT))), atol=1e-6
    )
    gan.fit(random_images(8), batch_size=8, epochs=1, verbose=0)
    assert changed(before, numpy_weights(gan.generator.trainable_variables))


def test_networks_are_channels_last_whatever_keras_image_data_format_says():
    # With "channels_first" in keras.json the generator made (None, 1, 28, 1024)-shaped nonsense.
    data_format = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        gan = tiny_gan()
        assert gan.generator.output_shape == (None, 28, 28, 1)
        gan.fit(random_images(8), batch_size=8, epochs=1, verbose=0)
    finally:
        keras.config.set_image_data_format(data_format)
    assert gan.generate(2).shape == (2, 28, 28, 1)


def test_uint8_data_is_refused_with_a_hint():
    gan = tiny_gan()
    images = np.zeros((8, 28, 28, 1), "uint8")
    with pytest.raises(ValueError, match=r"uint8.*127.5"):
        gan.fit(images, batch_size=8, epochs=1, verbose=0)


def test_fit_before_compile_is_refused():
    gan = tiny_gan(compile=False)
    with pytest.raises(ValueError, match="compile"):
        gan.fit(random_images(8), batch_size=8, epochs=1, verbose=0)


def test_unknown_loss_name_is_refused():
    gan = tiny_gan(compile=False)
    with pytest.raises(ValueError, match=r"Unknown GAN loss 'hinge_typo'.*minimax"):
        gan.compile(loss_fn="hinge_typo")


def test_compile_refuses_single_optimizer_arguments():
    gan = tiny_gan(compile=False)
    with pytest.raises(ValueError, match="d_optimizer=, g_optimizer="):
        gan.compile(optimizer="adam")


def test_generate_returns_images_in_range_and_is_seeded():
    gan = tiny_gan()
    images = gan.generate(5, seed=7)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1
    # Equal up to rounding: on a GPU the autotuned conv kernels may differ between calls.
    np.testing.assert_allclose(images, gan.generate(5, seed=7), rtol=0, atol=1e-6)
    assert not np.array_equal(images, gan.generate(5, seed=8))
    with pytest.raises(ValueError, match=r"\(num, 8\)"):
        gan.generate(z=np.zeros((2, 3)))


@pytest.mark.parametrize("floatx", ["float32", "float16"])
def test_smoothed_real_targets_are_ops_full(floatx):
    # 1 - s rounded once, as ops.full rounds it: ones * (1 - s) rounds twice
    # in float16 (JAX: 0.6475 for s = 0.3527832152785498, ops.full 0.647).
    from dcgan_keras.losses import smoothed_ones

    previous = keras.config.floatx()
    keras.config.set_floatx(floatx)
    try:
        for s in (0.0, 0.1, 0.3527832152785498, 0.3220214786475067):
            expected = keras.ops.convert_to_numpy(keras.ops.full((2,), 1.0 - s))
            got = keras.ops.convert_to_numpy(smoothed_ones((2,), s))
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
    finally:
        keras.config.set_floatx(previous)


def test_the_reported_metrics_mean_what_the_readme_says():
    # D scores an image by its mean brightness: logit = 0.01 * sum(pixels).
    # G makes black images (tanh(-10)). Half the real images are white, half
    # black, so every metric has its own value, and a swapped or flipped one shows.
    latent = 4
    z = keras.Input((latent,))
    black = keras.layers.Dense(784, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(-10.0))(z)
    generator = keras.Model(z, keras.layers.Activation("tanh")(keras.layers.Reshape((28, 28, 1))(black)))
    x = keras.Input((28, 28, 1))
    score = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(0.01))(keras.layers.Flatten()(x))
    discriminator = keras.Model(x, score)
    gan = DCGAN(discriminator=discriminator, generator=generator, latent_dim=latent, seed=0)
    frozen = dict(d_optimizer=keras.optimizers.Adam(0.0), g_optimizer=keras.optimizers.Adam(0.0))
    gan.compile(**frozen, **QUICK_COMPILE)
    real = np.concatenate([np.ones((4, 28, 28, 1)), -np.ones((4, 28, 28, 1))]).astype("float32")
    logs = gan.fit(real, batch_size=8, epochs=1, shuffle=False, verbose=0).history

    sigmoid = lambda t: 1.0 / (1.0 + np.exp(-t))  # noqa: E731
    softplus = lambda t: np.log1p(np.exp(t))  # noqa: E731
    white, dark = 0.01 * 784, -0.01 * 784 * np.tanh(10.0)  # the logits of a white and a black image
    expected = {
        "d_real": (sigmoid(white) + sigmoid(-white)) / 2,  # mean D(x) as a probability: 0.5
        "d_fake": sigmoid(dark),  # mean D(G(z)): near 0
        "d_acc": (0.5 + 1.0) / 2,  # half the real images called real, every fake one called fake
        # -log D(x) - log(1 - D(G(z))), averaged; and the non-saturating -log D(G(z)).
        "d_loss": (softplus(-white) + softplus(white)) / 2 + softplus(dark),
        "g_loss": softplus(-dark),
    }
    for name, value in expected.items():
        assert logs[name][-1] == pytest.approx(value, abs=1e-4), name


def _fixed_gan(real_logits, loss_fn=None, label_smoothing=0.0, sigmoid=False, fake_logit=7.84 * np.tanh(-0.5)):
    # The fixed setup above, with a chosen logit per real image: D scores an
    # image by 0.01 * sum(pixels), G makes images that score fake_logit (pixels
    # of tanh(-0.5) by default), Adam(0) keeps both still.
    latent = 4
    z = keras.Input((latent,))
    dim = keras.layers.Dense(784, kernel_initializer="zeros",
                             bias_initializer=keras.initializers.Constant(np.arctanh(fake_logit / 7.84)))(z)
    generator = keras.Model(z, keras.layers.Activation("tanh")(keras.layers.Reshape((28, 28, 1))(dim)))
    x = keras.Input((28, 28, 1))
    score = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(0.01),
                               activation="sigmoid" if sigmoid else None)(keras.layers.Flatten()(x))
    gan = DCGAN(discriminator=keras.Model(x, score), generator=generator, latent_dim=latent, seed=0,
                label_smoothing=label_smoothing)
    gan.compile(d_optimizer=keras.optimizers.Adam(0.0), g_optimizer=keras.optimizers.Adam(0.0), loss_fn=loss_fn,
                **QUICK_COMPILE)
    pixels = np.asarray(real_logits, "float32") / 7.84  # 784 pixels of this value score real_logits
    real = np.ones((len(real_logits), 28, 28, 1), "float32") * pixels[:, None, None, None]
    return gan.fit(real, batch_size=len(real_logits), epochs=1, shuffle=False, verbose=0).history


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_losses_are_the_documented_bce_for_the_default_and_a_keras_loss(label_smoothing):
    # Else compile(loss_fn=keras.losses.BinaryCrossentropy()) as on keras.io, or
    # DCGAN(label_smoothing=...), silently trains a different game than documented.
    # d_loss = mean BCE(1 - s, D(x)) + mean BCE(0, D(G(z))) (a sum of two means,
    # only the real targets smoothed); g_loss = mean BCE(1, D(G(z))).
    real_logits = np.array([-1.5, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0])
    fake_logit = 0.01 * 784 * np.tanh(-0.5)
    softplus = lambda t: np.log1p(np.exp(t))  # noqa: E731  BCE(y, logit t) = y * sp(-t) + (1 - y) * sp(t)
    target = 1.0 - label_smoothing
    d_loss = np.mean(target * softplus(-real_logits) + (1 - target) * softplus(real_logits)) + softplus(fake_logit)
    g_loss = softplus(-fake_logit)
    runs = {
        "default": _fixed_gan(real_logits, None, label_smoothing),
        "keras logits": _fixed_gan(real_logits, keras.losses.BinaryCrossentropy(from_logits=True), label_smoothing),
        "keras probabilities": _fixed_gan(real_logits, keras.losses.BinaryCrossentropy(), label_smoothing,
                                          sigmoid=True),
    }
    for name, logs in runs.items():
        assert logs["d_loss"][-1] == pytest.approx(d_loss, abs=2e-4), name
        assert logs["g_loss"][-1] == pytest.approx(g_loss, abs=2e-4), name
        assert logs["d_loss"][-1] == pytest.approx(runs["default"]["d_loss"][-1], abs=2e-4), name


@pytest.mark.parametrize("loss_fn", ["least_squares", "hinge", "wgan_gp", "keras_mse"])
def test_a_loss_that_scores_reports_the_scores_and_splits_them_at_its_boundary(loss_fn):
    # The metrics once read every output as a logit: least squares showed its
    # scores' sigmoid (0.62 for both at balance) and called a fake it scored 0.3,
    # nearer its fake target 0 than its real 1, real. keras_mse: least squares the Keras way.
    real_logits, fake_logit = np.array([-0.2, 0.2, 0.45, 0.6, 0.9, 1.3]), 0.3
    logs = _fixed_gan(real_logits, keras.losses.MeanSquaredError() if loss_fn == "keras_mse" else loss_fn,
                      fake_logit=fake_logit)
    boundary = {"least_squares": 0.5, "keras_mse": 0.5, "hinge": 0.0,
                "wgan_gp": (real_logits.mean() + fake_logit) / 2}[loss_fn]  # a critic's scores have no fixed zero
    accuracy = (np.mean(real_logits > boundary) + float(fake_logit < boundary)) / 2
    assert logs["d_real"][-1] == pytest.approx(real_logits.mean(), abs=1e-4)
    assert logs["d_fake"][-1] == pytest.approx(fake_logit, abs=1e-4)
    assert logs["d_acc"][-1] == pytest.approx(accuracy, abs=1e-6)


def test_fit_refuses_float_pixels_outside_the_generators_range_before_training():
    # x.astype("float32") without scaling: D would tell real from fake by
    # range alone, and G would learn nothing, with no sign of why.
    gan = tiny_gan()
    before = numpy_weights(gan.weights)
    pixels = (random_images(16) + 1) * 127.5
    for x in (pixels, keras.ops.convert_to_tensor(pixels)):
        with pytest.raises(ValueError, match=r"range over \[0.*255.*lie in \[-1, 1\].*x / 127.5 - 1"):
            gan.fit(x, batch_size=8, epochs=1, verbose=0)
    assert not changed(before, numpy_weights(gan.weights))


def test_fit_warns_about_zero_to_one_images_for_a_tanh_generator_but_not_a_sigmoid_one():
    unit = (random_images(16) + 1) / 2
    with pytest.warns(UserWarning, match=r"lie in \[0, 1\].*x \* 2 - 1"):
        tiny_gan().fit(unit, batch_size=8, epochs=1, verbose=0)
    # keras.io's example scales to [0, 1] for its sigmoid generator: right as it is.
    generator = keras.Sequential(
        [keras.Input((LATENT,)), keras.layers.Dense(28 * 28), keras.layers.Reshape((28, 28, 1)),
         keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")], name="generator")
    gan = DCGAN(discriminator=tiny_gan(compile=False).discriminator, generator=generator, latent_dim=LATENT)
    gan.compile(**QUICK_COMPILE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gan.fit(unit, batch_size=8, epochs=1, verbose=0)
        tiny_gan().fit(random_images(16), batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\].*x / 255"):
        gan.fit(random_images(16), batch_size=8, epochs=1, verbose=0)


def _sigmoid_discriminator():
    return keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 4, strides=2, padding="same"),
         keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")], name="discriminator")


def test_a_sigmoid_discriminator_with_a_logits_loss_is_warned_about():
    # keras.io's discriminator ends in a sigmoid; the default loss reads logits.
    generator = tiny_gan(compile=False).generator
    for loss_fn in (None, "minimax", keras.losses.BinaryCrossentropy(from_logits=True)):
        gan = DCGAN(discriminator=_sigmoid_discriminator(), generator=generator)
        with pytest.warns(UserWarning, match=r"ends in a sigmoid.*reads its outputs as logits.*BinaryCrossentropy\(\)"):
            gan.compile(loss_fn=loss_fn)


def test_a_plain_loss_function_is_read_as_its_signature_says_and_averaged():
    # keras.losses.binary_crossentropy defaults to from_logits=False and
    # returns one loss per image: it failed on torch and JAX (no scalar to
    # differentiate) and trained silently on TensorFlow.
    with pytest.warns(UserWarning, match=r"has no sigmoid"):
        tiny_gan(loss_fn=keras.losses.binary_crossentropy)
    logits = tiny_gan(loss_fn=lambda y, p: keras.losses.binary_crossentropy(y, p, from_logits=True))
    per_image = tiny_gan(loss_fn=keras.losses.BinaryCrossentropy(from_logits=True, reduction=None))
    mean = tiny_gan(loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    x = random_images(16)
    runs = [gan.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0).history for gan in (logits, per_image, mean)]
    for history in runs[:2]:
        np.testing.assert_allclose(history["d_loss"], runs[2]["d_loss"], rtol=1e-5)
        np.testing.assert_allclose(history["g_loss"], runs[2]["g_loss"], rtol=1e-5)


def test_frozen_networks_are_refused_by_fit_but_still_save_load_and_sample(tmp_path):
    gan = tiny_gan()
    before = numpy_weights(gan.weights)
    gan.discriminator.trainable = False
    with pytest.raises(ValueError, match=r"discriminator has no trainable weights.*both stay trainable"):
        gan.fit(random_images(16), batch_size=8, epochs=1, verbose=0)
    gan.discriminator.trainable = True
    gan.generator.trainable = False
    with pytest.raises(ValueError, match=r"generator has no trainable weights"):
        gan.fit(random_images(16), batch_size=8, epochs=1, verbose=0)
    assert not changed(before, numpy_weights(gan.weights))
    gan.trainable = False  # a finished GAN, frozen for serving
    gan.save(tmp_path / "frozen.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras: a frozen model's optimizers are not restored
        loaded = keras.saving.load_model(tmp_path / "frozen.keras")
    np.testing.assert_allclose(loaded.generate(2, seed=0), gan.generate(2, seed=0), atol=1e-6)


def test_validation_and_evaluate_are_refused_before_any_training():
    gan = tiny_gan()
    before = numpy_weights(gan.weights)
    x = random_images(16)
    for kwargs in ({"validation_split": 0.25}, {"validation_data": x[:8]}):
        with pytest.raises(ValueError, match=r"no validation.*FID"):
            gan.fit(x, batch_size=8, epochs=1, verbose=0, **kwargs)
    with pytest.raises(NotImplementedError, match=r"no validation loss.*FID"):
        gan.evaluate(x)
    assert not changed(before, numpy_weights(gan.weights))


def test_what_keras_would_silently_ignore_or_fail_on_late_is_refused_before_training(tmp_path):
    gan = tiny_gan()
    before = numpy_weights(gan.weights)
    x = random_images(16)
    refused = [
        ({"sample_weight": np.linspace(0, 1, 16)}, r"no sample_weight: .*no per-image loss"),
        ({"class_weight": {0: 1.0, 1: 5.0}}, r"no class_weight: [^(]*weight\. To favour"),  # not sample_weight's aside
        # It reads logs["loss"], which a GAN does not have: it never stops.
        ({"callbacks": [keras.callbacks.TerminateOnNaN()]}, r"TerminateOnNaN.*DivergenceMonitor"),
        # Keras's legacy writer failed on the two optimizers after the first epoch had trained.
        ({"callbacks": [keras.callbacks.ModelCheckpoint(str(tmp_path / "gan.h5"))]}, r"HDF5.*\.keras"),
    ]
    for kwargs, message in refused:
        with pytest.raises(ValueError, match=message):
            gan.fit(x, batch_size=8, epochs=1, verbose=0, **kwargs)
    with pytest.raises(ValueError, match=r"TerminateOnNaN"):  # positional callbacks too
        gan.fit(x, None, 8, 1, 0, [keras.callbacks.TerminateOnNaN()])
    with pytest.raises(ValueError, match=r"TerminateOnNaN"):  # and a CallbackList, which fit takes too
        gan.fit(x, batch_size=8, epochs=1, verbose=0,
                callbacks=keras.callbacks.CallbackList([keras.callbacks.TerminateOnNaN()], model=gan))
    with pytest.raises(ValueError, match=r"gan.h5.*legacy HDF5 format holds one optimizer.*save_weights"):
        gan.save(tmp_path / "gan.h5")
    assert not changed(before, numpy_weights(gan.weights)) and os.listdir(tmp_path) == []
    # What the messages offer instead works.
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "gan.weights.h5"), save_weights_only=True)
    gan.fit(x, batch_size=8, epochs=1, verbose=0,
            callbacks=keras.callbacks.CallbackList([checkpoint], add_history=True, model=gan))
    assert os.listdir(tmp_path) == ["gan.weights.h5"]


def test_from_config_leaves_the_config_it_reads_whole():
    # Keras's deserialization empties nested configs as it reads them; a config read twice must build twice.
    gan = tiny_gan()
    config = gan.get_config()
    before = json.dumps(config, sort_keys=True)
    first, second = DCGAN.from_config(config), DCGAN.from_config(config)
    assert json.dumps(config, sort_keys=True) == before
    assert [w.shape for w in first.weights] == [w.shape for w in second.weights] == [w.shape for w in gan.weights]


def test_label_smoothing_of_a_target_value_is_warned_about_naming_the_smoothing_meant():
    # Warned, not refused: runs and .keras files made with such a value still load.
    generator, discriminator = tiny_gan(compile=False).generator, tiny_gan(compile=False).discriminator
    with pytest.warns(UserWarning, match=r"makes the real images' target 0.1.*For a target of 0.9 pass 0.1"):
        gan = DCGAN(discriminator=discriminator, generator=generator, label_smoothing=0.9)
    assert gan.label_smoothing == 0.9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert DCGAN(discriminator=discriminator, generator=generator, label_smoothing=0.1).label_smoothing == 0.1
    with pytest.raises(ValueError, match=r"must be in \[0, 1\)"):
        DCGAN(discriminator=discriminator, generator=generator, label_smoothing=1.0)


def test_networks_built_under_mixed_float16_get_loss_scaling_even_if_the_gan_is_built_after():
    from dcgan_keras.distribute import precision

    with precision("mixed_float16"):
        networks = tiny_gan(compile=False)
    gan = DCGAN(discriminator=networks.discriminator, generator=networks.generator)  # outside the block
    gan.compile(**QUICK_COMPILE)
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert not isinstance(tiny_gan().d_optimizer, keras.optimizers.LossScaleOptimizer)


def test_generate_with_latent_vectors_in_the_place_of_num_says_to_pass_z():
    gan = tiny_gan()
    z = np.zeros((2, LATENT), "float32")
    with pytest.raises(ValueError, match=r"first argument is `num`.*shape \(2, \d+\): pass latent vectors as generate\(z=...\)"):
        gan.generate(z)
    assert gan.generate(np.int64(2), seed=0).shape == (2, 28, 28, 1)
    assert gan.generate(np.array(2), seed=0).shape == (2, 28, 28, 1)  # a 0-d array is a count
    with pytest.raises(ValueError, match=r"a number of images. Received bool"):
        gan.generate(True)


def test_fit_names_unbatched_and_dict_elements():
    gan = tiny_gan()
    with pytest.raises(ValueError, match=r"batches of shape \(batch, \*\(28, 28, 1\)\); received elements of shape \(8, 28, 28\).*channel axis"):
        gan.fit(random_images(16)[..., 0], batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"dicts \(keys \['image'\]\).*Map the dataset"):
        gan.gan_step({"image": random_images(8)})


def test_learning_rate_callbacks_set_both_optimizers_and_keep_their_ratio():
    # README: any Keras callback works; these read and write model.optimizer.learning_rate.
    x = random_images(16)
    gan = tiny_gan()
    halve = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3 * 0.5**epoch)
    gan.fit(x, batch_size=8, epochs=3, verbose=0, callbacks=[halve])
    rates = [float(keras.ops.convert_to_numpy(o.learning_rate)) for o in (gan.d_optimizer, gan.g_optimizer)]
    np.testing.assert_allclose(rates, [2.5e-4, 2.5e-4], rtol=1e-6)

    ttur = tiny_gan(d_optimizer=keras.optimizers.Adam(4e-4), g_optimizer=keras.optimizers.Adam(1e-4))
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="d_loss", mode="min", patience=0, min_delta=10, factor=0.5)
    ttur.fit(x, batch_size=8, epochs=3, verbose=0, callbacks=[plateau])
    rates = [float(keras.ops.convert_to_numpy(o.learning_rate)) for o in (ttur.d_optimizer, ttur.g_optimizer)]
    np.testing.assert_allclose(rates, [1e-4, 2.5e-5], rtol=1e-5)  # halved after epochs 2 and 3, 4:1 kept


def test_a_learning_rate_set_by_a_callback_is_the_one_the_steps_use():
    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.after_first = numpy_weights(self.model.generator.trainable_weights + self.model.discriminator.trainable_weights)

    gan, snapshot = tiny_gan(), Snapshot()
    stop = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3 if epoch == 0 else 0.0)
    gan.fit(random_images(16), batch_size=8, epochs=2, verbose=0, callbacks=[stop, snapshot])
    after = numpy_weights(gan.generator.trainable_weights + gan.discriminator.trainable_weights)
    assert not changed(snapshot.after_first, after)  # epoch 2 ran at rate 0


def test_networks_without_shapes_are_refused_naming_the_wrapping_that_works():
    class Subclassed(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.flatten, self.dense = keras.layers.Flatten(), keras.layers.Dense(1)

        def call(self, x):
            return self.dense(self.flatten(x))

    generator = tiny_gan(compile=False).generator
    no_input = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(1)])
    for discriminator in (Subclassed(), no_input):
        with pytest.raises(ValueError, match=r"discriminator .* no input and output shapes.*keras.Input\(shape\)"):
            DCGAN(discriminator=discriminator, generator=generator)
    with pytest.raises(ValueError, match=r"generator must be a keras.Model"):
        DCGAN(discriminator=tiny_gan(compile=False).discriminator, generator=lambda z: z)
    wrapped = keras.Sequential([keras.Input((28, 28, 1)), Subclassed()])  # what the message says
    gan = DCGAN(discriminator=wrapped, generator=generator)
    gan.compile(**QUICK_COMPILE)
    assert np.isfinite(gan.fit(random_images(16), batch_size=8, epochs=1, verbose=0).history["d_loss"][-1])


def test_batches_of_one_image_are_warned_about_when_the_networks_use_batchnorm():
    gan = tiny_gan()  # the generator has BatchNorm
    for count, batch_size in ((16, 1), (17, 8)):
        with pytest.warns(UserWarning, match=rf"{count} images in batches of {batch_size} give batches of one") as record:
            gan.fit(random_images(count), batch_size=batch_size, epochs=1, verbose=0, steps_per_epoch=2)
        assert [w.filename for w in record if "batches of one" in str(w.message)] == [__file__]  # the fit call
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gan.fit(random_images(18), batch_size=8, epochs=1, verbose=0)  # a last batch of 2 is fine


def test_swapped_networks_and_an_unbatched_image_dataset_name_the_fix():
    networks = tiny_gan(compile=False)
    with pytest.raises(ValueError, match=r"look swapped.*discriminator first"):
        DCGAN(networks.generator, networks.discriminator)
    from dcgan_keras.data import load_dataset

    data = load_dataset("synthetic", num=16, image_size=28, channels=1)
    with pytest.raises(ValueError, match=r"pass dataset.batches\(batch_size\)"):
        tiny_gan().fit(data, epochs=1, verbose=0)


def test_learning_rate_callbacks_keep_the_ratio_through_a_warm_up_from_zero():
    ttur = tiny_gan(d_optimizer=keras.optimizers.Adam(1e-4), g_optimizer=keras.optimizers.Adam(4e-4))
    warm_up = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-4 * min(1.0, epoch / 2))
    ttur.fit(random_images(16), batch_size=8, epochs=3, verbose=0, callbacks=[warm_up])
    rates = [float(keras.ops.convert_to_numpy(o.learning_rate)) for o in (ttur.d_optimizer, ttur.g_optimizer)]
    np.testing.assert_allclose(rates, [1e-4, 4e-4], rtol=1e-5)


def test_a_least_squares_loss_on_a_sigmoid_discriminator_is_not_warned_about():
    gan = DCGAN(discriminator=_sigmoid_discriminator(), generator=tiny_gan(compile=False).generator)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gan.compile(loss_fn=keras.losses.MeanSquaredError(), **QUICK_COMPILE)


def test_a_gan_of_flat_vectors_still_trains():
    # DCGAN's checks are about images, but nothing in the step needs 4-D data.
    generator = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(64, activation="tanh")])
    discriminator = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16), keras.layers.LeakyReLU(0.2),
                                      keras.layers.Dense(1)])
    gan = DCGAN(discriminator=discriminator, generator=generator)
    gan.compile(**QUICK_COMPILE)
    x = np.random.default_rng(0).uniform(-1, 1, (16, 64)).astype("float32")
    assert np.isfinite(gan.fit(x, batch_size=8, epochs=1, verbose=0).history["d_loss"][-1])
