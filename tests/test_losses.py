"""The GAN losses by name, WGAN-GP's gradient penalty and the DCGAN options of issue 29.

On whichever backend KERAS_BACKEND selects; the penalty's cross-backend
parity is test_cross_backend.py's.
"""

import dataclasses
import functools
import os

import keras
import numpy as np
import pytest

from dcgan_keras import DCGAN, GANLoss, build_discriminator, build_generator, losses
from dcgan_keras.gans.dcgan import latent_noise
from helpers import LATENT, QUICK_COMPILE, assert_same_pixels, numpy_weights, random_images
from test_gan import blob_images

REAL = np.array([[2.0], [-1.0], [0.5], [3.0]], "float32")
FAKE = np.array([[-2.5], [0.0], [1.5], [-0.3]], "float32")


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def focal(y, x, gamma=2.0):
    p = sigmoid(x)
    p_t = y * p + (1 - y) * (1 - p)
    bce = y * softplus(-x) + (1 - y) * softplus(x)
    return np.mean((1 - p_t) ** gamma * bce)


# name: (D loss at smoothing s, G loss), by hand from each paper's formula.
CLOSED_FORMS = {
    "least_squares": (
        lambda s: 0.5 * np.mean((REAL - (1 - s)) ** 2) + 0.5 * np.mean(FAKE**2),
        0.5 * np.mean((FAKE - 1) ** 2),
    ),
    "hinge": (
        lambda s: np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)),
        -np.mean(FAKE),
    ),
    "focal": (lambda s: focal(1 - s, REAL) + focal(0.0, FAKE), focal(1.0, FAKE)),
    "wgan_gp": (lambda s: np.mean(FAKE) - np.mean(REAL), -np.mean(FAKE)),
    "non_saturating": (
        lambda s: np.mean((1 - s) * softplus(-REAL) + s * softplus(REAL)) + np.mean(softplus(FAKE)),
        np.mean(softplus(-FAKE)),
    ),
    "minimax": (
        lambda s: np.mean((1 - s) * softplus(-REAL) + s * softplus(REAL)) + np.mean(softplus(FAKE)),
        -np.mean(softplus(FAKE)),
    ),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_each_loss_is_its_closed_form_on_known_logits(name, smoothing):
    loss = losses.get(name)
    d_expected, g_expected = CLOSED_FORMS[name]
    real, fake = keras.ops.convert_to_tensor(REAL), keras.ops.convert_to_tensor(FAKE)
    d = float(keras.ops.convert_to_numpy(loss.discriminator(real, fake, smoothing)))
    g = float(keras.ops.convert_to_numpy(loss.generator(fake)))
    np.testing.assert_allclose(d, d_expected(smoothing), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g, g_expected, rtol=1e-5, atol=1e-6)
    assert losses.serialize(loss) == name and losses.get(losses.deserialize(name)) is loss


def test_focal_is_keras_binary_focal_crossentropy_on_logits():
    keras_focal = keras.losses.BinaryFocalCrossentropy(from_logits=True, gamma=2.0)
    for y in (0.0, 0.9, 1.0):
        labels = np.full_like(REAL, y)
        ours = keras.ops.convert_to_numpy(losses.focal_with_logits(labels, REAL))
        np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(keras_focal(labels, REAL)), rtol=1e-5)


def test_bce_is_the_non_saturating_loss():
    assert losses.get("bce") is losses.get("non_saturating")


def linear_critic(weights, bias=0.3):
    """D(x) = <w, x> + b on 2x2x1 images: its input gradient is w for every image."""
    critic = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    critic.set_weights([np.asarray(weights, "float32").reshape(4, 1), np.array([bias], "float32")])
    return critic


@pytest.mark.parametrize("weights", [[0.1, -0.2, 0.3, 0.05], [3.0, 0.0, -4.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
def test_the_penalty_is_the_hand_computed_gradient_norm_of_a_linear_critic(weights):
    critic = linear_critic(weights)
    rng = np.random.default_rng(0)
    real, fake = (rng.uniform(-1, 1, (5, 2, 2, 1)).astype("float32") for _ in range(2))
    penalty = losses.gradient_penalty(critic, real, fake, keras.random.SeedGenerator(1))
    # ||grad_x D|| = ||w|| for every interpolate, so any eps gives 10 (||w|| - 1)^2;
    # at w = 0 the epsilon in the root keeps it finite: 10 (1e-6 - 1)^2.
    norm = np.sqrt(np.sum(np.square(weights)) + 1e-12)
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(penalty)), 10 * (norm - 1) ** 2, rtol=1e-5)


def test_the_penalty_interpolates_per_image_and_its_input_gradient_is_exact():
    # D(x) = sum(x^2) / 2 has input gradient x: the penalty at eps is
    # 10 mean((||eps r + (1 - eps) f|| - 1)^2), one eps per image.
    images = keras.Input((2, 2, 1))
    critic = keras.Model(images, keras.ops.sum(0.5 * keras.ops.square(images), axis=(1, 2, 3))[:, None])
    rng = np.random.default_rng(2)
    real, fake = (rng.uniform(-1, 1, (3, 2, 2, 1)).astype("float32") for _ in range(2))
    eps = np.array([0.0, 0.25, 1.0], "float32").reshape(3, 1, 1, 1)
    penalty = losses.gradient_penalty(critic, real, fake, None, eps=keras.ops.convert_to_tensor(eps))
    x_hat = eps * real + (1 - eps) * fake
    expected = 10 * np.mean((np.sqrt(np.sum(x_hat**2, axis=(1, 2, 3)) + 1e-12) - 1) ** 2)
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(penalty)), expected, rtol=1e-5)


# ------------------------------------------------------------- training


def small_gan(loss_fn="non_saturating", seed=0, d_steps=None, d_batch_norm=False, g_architecture="transposed",
              d_architecture="strided", spectral_norm=False, dropout=0.3, compile_kwargs=None, **options):
    """A 28x28x1 DCGAN of a few thousand weights, in any of the architectures, compiled with `loss_fn`."""
    keras.utils.set_random_seed(seed)
    if g_architecture == "upsample":
        generator = build_generator(latent_dim=LATENT, image_size=28, filters=(8, 4), architecture="upsample")
    else:
        generator = build_generator(latent_dim=LATENT, image_size=28, channels=1, filters=(16, 8, 4))
    d_filters = (4, 4, 8) if d_architecture == "blocks3x3" else (4, 8)
    discriminator = build_discriminator(
        image_size=28, channels=1, filters=d_filters, dropout=dropout, batch_norm=d_batch_norm, seed=seed,
        architecture=d_architecture, spectral_norm=spectral_norm,
    )
    gan = DCGAN(discriminator=discriminator, generator=generator, d_steps=d_steps, seed=seed, **options)
    gan.compile(loss_fn=loss_fn, **{**QUICK_COMPILE, **(compile_kwargs or {})})
    return gan


CASES = {
    "least_squares": dict(loss_fn="least_squares"),
    "hinge": dict(loss_fn="hinge"),
    "focal": dict(loss_fn="focal"),
    "minimax": dict(loss_fn="minimax"),
    "wgan_gp": dict(loss_fn="wgan_gp", d_steps=2),
    "wgan_gp_simultaneous": dict(loss_fn="wgan_gp", update="simultaneous"),
    "spectral_norm": dict(spectral_norm=True),
    "instance_noise": dict(instance_noise=0.5, instance_noise_steps=3),
    "uniform_latent": dict(latent_distribution="uniform"),
    "upsample_generator": dict(g_architecture="upsample"),
    "blocks3x3_critic": dict(d_architecture="blocks3x3", d_batch_norm=True),
    "wgan_gp_blocks3x3_sn": dict(loss_fn="wgan_gp", d_steps=1, d_architecture="blocks3x3", spectral_norm=True),
}


# The quick tier keeps four that between them take every loss family's path (hinge; WGAN-GP with the
# 3x3 critic and spectral norm), the upsampling G and instance noise; the full tier takes them all.
QUICK_CASES = ("hinge", "wgan_gp_blocks3x3_sn", "upsample_generator", "instance_noise")


@pytest.mark.parametrize("case", [c if c in QUICK_CASES else pytest.param(c, marks=pytest.mark.full) for c in sorted(CASES)])
def test_each_loss_and_option_trains_and_round_trips_through_a_keras_file(case, tmp_path):
    batch = random_images(16, seed=5)
    gan = small_gan(**CASES[case])
    before = numpy_weights(gan.discriminator.trainable_variables + gan.generator.trainable_variables)
    history = gan.fit(batch, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()
    after = numpy_weights(gan.discriminator.trainable_variables + gan.generator.trainable_variables)
    assert all(not np.array_equal(a, b) for a, b in zip(before, after) if a.size > 1)
    assert int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations)) == 2 * gan.d_steps
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    own = lambda model: {k: v for k, v in model.get_config().items() if k not in ("generator", "discriminator")}
    assert own(loaded) == own(gan)
    assert loaded.gan_loss is gan.gan_loss and loaded.d_steps == gan.d_steps
    np.testing.assert_allclose(loaded.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-6)
    continued = gan.fit(batch, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    resumed = loaded.fit(batch, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    for name in ("d_loss", "g_loss"):
        np.testing.assert_allclose(resumed[name], continued[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_wgan_gp_brings_its_papers_defaults_and_a_chosen_d_steps_or_optimizer_wins():
    gan = small_gan("wgan_gp")
    assert gan.d_steps == 5 and gan.get_config()["d_steps"] is None
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        np.testing.assert_allclose(
            [float(keras.ops.convert_to_numpy(optimizer.learning_rate)), optimizer.beta_1, optimizer.beta_2],
            [1e-4, 0.0, 0.9],
        )
    chosen = small_gan("wgan_gp", d_steps=3, compile_kwargs={"g_optimizer": keras.optimizers.SGD(0.1)})
    assert chosen.d_steps == 3 and isinstance(chosen.g_optimizer, keras.optimizers.SGD)
    assert isinstance(chosen.d_optimizer, keras.optimizers.Adam) and chosen.d_optimizer.beta_1 == 0.0
    default = small_gan("hinge")
    assert default.d_steps == 1 and default.d_optimizer.beta_1 == 0.5


def test_instance_noise_anneals_linearly_to_zero_with_the_saved_step_count():
    gan = small_gan(instance_noise=0.4, instance_noise_steps=4, dropout=0.0)
    images = keras.ops.zeros((512, 28, 28, 1))
    stds = []
    for step in range(6):
        gan.g_optimizer.iterations.assign(step)
        stds.append(float(np.std(keras.ops.convert_to_numpy(gan.seen_by_discriminator(images)))))
    np.testing.assert_allclose(stds, [0.4, 0.3, 0.2, 0.1, 0.0, 0.0], atol=0.01)
    assert small_gan().seen_by_discriminator(images) is images


def test_uniform_latent_vectors_are_in_minus_one_one_in_training_and_sampling():
    gan = small_gan(latent_distribution="uniform")
    z = keras.ops.convert_to_numpy(gan.sample_noise(1000))
    assert z.min() >= -1 and z.max() <= 1 and abs(z.std() - 1 / np.sqrt(3)) < 0.02
    host = latent_noise(1000, LATENT, seed=0, distribution="uniform")
    assert host.min() >= -1 and host.max() <= 1
    np.testing.assert_allclose(gan.grid_inputs(3, seed=0), latent_noise(3, LATENT, 0, "uniform"))
    assert "latent_distribution" not in small_gan().get_config()  # configs from before read the same


@pytest.mark.full  # starts sample.py
def test_sampling_draws_the_noise_the_model_was_trained_on_and_warns_when_told_otherwise(tmp_path):
    import json
    import subprocess
    import sys

    from dcgan_keras.generators import load_generator
    from dcgan_keras.sampling import sample_images
    from helpers import REPO

    gan = small_gan(latent_distribution="uniform")
    gan.save(tmp_path / "uniform.keras")
    gan.generator.save(tmp_path / "generator.keras")  # a bare generator: it cannot say
    uniform = latent_noise(4, LATENT, seed=0, distribution="uniform")
    for path, expected in (("uniform.keras", "uniform"), ("generator.keras", None)):
        assert load_generator(tmp_path / path).latent_distribution == expected, path
    np.testing.assert_allclose(sample_images(load_generator(tmp_path / "uniform.keras"), 4, seed=0),
                               gan.generate(z=uniform), atol=1e-6)
    np.testing.assert_allclose(sample_images(gan, 4, seed=0), gan.generate(z=uniform), atol=1e-6)
    # A run's generator.keras says it through the run's config.json beside it.
    (tmp_path / "config.json").write_text(json.dumps({"config": {"latent_distribution": "uniform"}}))
    assert load_generator(tmp_path / "generator.keras").latent_distribution == "uniform"

    # Told to draw normal noise for it, sample.py does, saying the images will not look trained.
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "sample.py"), f"--backend={keras.backend.backend()}",
         f"--checkpoint={tmp_path / 'uniform.keras'}", "--latent_distribution=normal", "--num=4",
         f"--out={tmp_path / 'normal.npz'}"],
        env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "was trained on uniform noise; --latent_distribution=normal" in proc.stderr
    from dcgan_keras.images import to_uint8

    # Another process's pixels: one 8-bit level apart where it rounds an x.5 otherwise.
    expected = to_uint8(gan.generate(z=latent_noise(4, LATENT, seed=0)))
    assert_same_pixels(np.load(tmp_path / "normal.npz")["images"], expected)


def test_the_default_architectures_are_unchanged_by_the_new_options():
    keras.utils.set_random_seed(0)
    plain = build_discriminator(image_size=28, filters=(4, 8), seed=0)
    keras.utils.set_random_seed(0)
    explicit = build_discriminator(image_size=28, filters=(4, 8), seed=0, architecture="strided", spectral_norm=False)
    assert [type(layer) for layer in plain.layers] == [type(layer) for layer in explicit.layers]
    for a, b in zip(plain.get_weights(), explicit.get_weights()):
        np.testing.assert_array_equal(a, b)
    wrapped = build_discriminator(image_size=28, filters=(4, 8), spectral_norm=True)
    assert [type(layer).__name__ for layer in wrapped.layers].count("SpectralNormalization") == 3


@pytest.mark.parametrize("size", [28, 32, 64])
def test_the_upsample_generator_and_blocks3x3_critic_fit_every_size(size):
    generator = build_generator(latent_dim=LATENT, image_size=size, channels=3, filters=None, architecture="upsample")
    critic = build_discriminator(image_size=size, channels=3, architecture="blocks3x3")
    assert generator.output_shape == (None, size, size, 3) and critic.input_shape == (None, size, size, 3)
    names = [type(layer).__name__ for layer in generator.layers]
    assert "Conv2DTranspose" not in names and names.count("UpSampling2D") == int(np.log2(size // (7 if size == 28 else 8)))
    assert generator.layers[-2].kernel_size == (1, 1)
    strides = [layer.strides for layer in critic.layers if type(layer).__name__ == "Conv2D"]
    assert strides[:3] == [(1, 1), (1, 1), (2, 2)] and critic.output_shape == (None, 1)


# ------------------------------------------------------------- learning


BLOB = {
    # loss: (options, bound on the mean image's error after training). See test_gan.test_it_learns_a_blob.
    "least_squares": (dict(), 0.15),
    "hinge": (dict(), 0.15),
    # WGAN-GP's Adam(beta_1=0, beta_2=0.9) at a blob's rate; 2 critic steps of 3 epochs of 800
    # images: 5 of 4 of 1200 (the paper's d_steps) learned it as well (0.09-0.10 against
    # 0.08-0.09, 2 seeds, JAX) in 3x the time, 10 min under load, which kept it out of CI.
    "wgan_gp": (dict(d_steps=2, images=800, epochs=3,
                     compile_kwargs={"d_optimizer": keras.optimizers.Adam(2e-3, beta_1=0.0, beta_2=0.9),
                                     "g_optimizer": keras.optimizers.Adam(2e-3, beta_1=0.0, beta_2=0.9)}),
                0.15),
}


@pytest.mark.full  # trains for seconds to learn a known answer: the full tier's
@pytest.mark.parametrize("loss_fn", sorted(BLOB))
def test_it_learns_a_blob_with_each_loss(loss_fn):
    options, bound = BLOB[loss_fn]
    options = dict(options)
    compile_kwargs = options.pop("compile_kwargs", None) or {
        "d_optimizer": keras.optimizers.Adam(2e-3, beta_1=0.5), "g_optimizer": keras.optimizers.Adam(2e-3, beta_1=0.5),
    }
    images, target = blob_images(options.pop("images", 1200))
    epochs = options.pop("epochs", 4)
    gan = small_gan(loss_fn, seed=1, compile_kwargs=compile_kwargs, **options)
    error_before = np.abs(gan.generate(256, seed=0)[..., 0].mean(0) - target).mean()
    gan.fit(images, batch_size=32, epochs=epochs, verbose=0)
    error_after = np.abs(gan.generate(256, seed=0)[..., 0].mean(0) - target).mean()
    assert error_before > 0.5
    assert error_after < bound, f"{loss_fn}: mean image error {error_after:.3f} (untrained {error_before:.3f})"


# ------------------------------------------------------------- refusals


def test_an_unknown_loss_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown GAN loss 'wgan'.*'focal'.*'hinge'.*'least_squares'.*'wgan_gp'"):
        small_gan("wgan")


def test_wgan_gp_refuses_batchnorm_or_a_sigmoid_in_the_critic():
    with pytest.raises(ValueError, match=r"BatchNorm.*LayerNormalization or no normalization"):
        small_gan("wgan_gp", d_batch_norm=True)
    with pytest.raises(ValueError, match=r"BatchNorm"):
        small_gan("wgan_gp", d_architecture="blocks3x3", d_batch_norm=True, spectral_norm=True)
    keras.utils.set_random_seed(0)
    sigmoid_critic = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid"),
    ])
    gan = DCGAN(discriminator=sigmoid_critic, generator=build_generator(latent_dim=LATENT, filters=(16, 8, 4)))
    with pytest.raises(ValueError, match=r"ends in a sigmoid"):
        gan.compile(loss_fn="wgan_gp")


@pytest.mark.parametrize("options, message", [
    (dict(instance_noise=-0.1, instance_noise_steps=10), "instance_noise` must be a std >= 0"),
    (dict(instance_noise=0.1), "instance_noise_steps"),
    (dict(latent_distribution="gaussian"), "latent_distribution"),
    (dict(d_steps=0), "d_steps"),
])
def test_bad_options_are_refused_naming_them(options, message):
    with pytest.raises(ValueError, match=message):
        small_gan(**options)


def test_unknown_architectures_are_refused():
    with pytest.raises(ValueError, match=r"architecture.*upsample"):
        build_generator(architecture="resize")
    with pytest.raises(ValueError, match=r"architecture.*blocks3x3"):
        build_discriminator(architecture="resnet")
    with pytest.raises(ValueError, match=r"takes 2 filter counts"):
        build_generator(architecture="upsample", filters=(8, 8, 8))


def test_a_gan_loss_of_ones_own_made_of_the_built_in_parts_saves_and_loads_whole(tmp_path):
    # Only its two functions and outputs_are_logits were saved: a penalty,
    # d_steps and the rest were gone after loading, and resuming trained another game.
    mine = GANLoss("mine", losses.wasserstein_critic_loss, losses.wasserstein_generator_loss,
                   penalty=losses.gradient_penalty, d_steps=3, optimizer=losses.wgan_gp_optimizer,
                   score_boundary="midpoint")
    gan = small_gan(mine)
    gan.save(tmp_path / "mine.keras")
    loaded = keras.saving.load_model(tmp_path / "mine.keras")
    assert loaded.gan_loss == mine and loaded.d_steps == 3
    # A partial (the natural way to change the penalty's weight) cannot be saved: said so, by field.
    lighter = dataclasses.replace(mine, penalty=functools.partial(losses.gradient_penalty, weight=5.0))
    with pytest.raises(ValueError, match=r"GANLoss 'mine''s penalty is a functools.partial.*named function"):
        small_gan(lighter).save(tmp_path / "lighter.keras")
    with pytest.raises(ValueError, match=r"score_boundary is None.*a number or 'midpoint'; received 'zero'"):
        GANLoss("mine", losses.hinge_discriminator_loss, losses.hinge_generator_loss, score_boundary="zero")


def test_a_gan_loss_of_ones_own_with_a_penalty_is_guarded_too():
    mine = GANLoss("mine", losses.wasserstein_critic_loss, losses.wasserstein_generator_loss,
                   penalty=losses.gradient_penalty)
    with pytest.raises(ValueError, match="BatchNorm"):
        small_gan(mine, d_batch_norm=True)
