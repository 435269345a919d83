"""The GAN base (dcgan_keras.gans.base) under a game that is not the DCGAN's.

`FourWay` has CycleGAN's shape: two generators and two discriminators, each
with its own optimizer, a BatchNorm (non-trainable state) in one generator and
seeded dropout in one discriminator. D_a updates twice per step, so each
optimizer's `iterations` tells its own count. And DCGAN checkpoints written
before the base (tests/fixtures/legacy_dcgan_<backend>.keras) still load,
sample the same images and train on.
"""

import os

import keras
import numpy as np
import pytest
from keras import ops

from dcgan_keras import GAN, latent_noise
from dcgan_keras.gans.base import unwrap
from dcgan_keras import backend as seam
from dcgan_keras.losses import bce_with_logits
from tests.helpers import BACKENDS, QUICK_COMPILE, changed, numpy_weights

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
SHAPE = (4, 4, 1)


@keras.saving.register_keras_serializable(package="dcgan_keras_tests")
class FourWay(GAN):
    network_names = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")
    optimizer_targets = {
        "g_ab": ("generator_ab",), "g_ba": ("generator_ba",),
        "d_a": ("discriminator_a",), "d_b": ("discriminator_b",),
    }
    adversaries = ("discriminator_a", "discriminator_b")
    metric_names = ("d_a_loss", "d_b_loss", "g_ab_loss", "g_ba_loss")
    inputs = "unpaired"
    range_of = "generator_ab"

    def __init__(self, generator_ab, generator_ba, discriminator_a, discriminator_b, cycle_weight=1.0, **kwargs):
        super().__init__(
            {"generator_ab": generator_ab, "generator_ba": generator_ba, "discriminator_a": discriminator_a,
             "discriminator_b": discriminator_b},
            **kwargs,
        )
        self.cycle_weight = cycle_weight

    def extra_config(self):
        return {"cycle_weight": self.cycle_weight}

    def unpack_batch(self, data):
        a, b = unwrap(data)
        return ops.cast(a, "float32"), ops.cast(b, "float32")

    def train_batch(self, batch):
        a, b = batch
        # Noise from the model's seed state, so that a resume must restore it.
        a = a + 0.01 * keras.random.normal(ops.shape(a), seed=self.seed_generator)

        def generator_losses():
            fake_b = seam.forward(self.generator_ab, a, training=True)
            fake_a = seam.forward(self.generator_ba, b, training=True)
            cycle = ops.mean(ops.abs(seam.forward(self.generator_ba, fake_b, training=True) - a)) + ops.mean(
                ops.abs(seam.forward(self.generator_ab, fake_a, training=True) - b)
            )
            adv_ab = bce_with_logits(ops.ones((ops.shape(a)[0], 1)), self.discriminator_b(fake_b, training=True))
            adv_ba = bce_with_logits(ops.ones((ops.shape(b)[0], 1)), self.discriminator_a(fake_a, training=True))
            return (adv_ab + self.cycle_weight * cycle, adv_ba + self.cycle_weight * cycle), (fake_a, fake_b)

        (g_ab_loss, g_ba_loss), (fake_a, fake_b) = seam.minimize_each(
            generator_losses,
            [(self.generator_ab.trainable_variables, self.g_ab_optimizer),
             (self.generator_ba.trainable_variables, self.g_ba_optimizer)],
        )
        fake_a, fake_b = ops.stop_gradient(fake_a), ops.stop_gradient(fake_b)

        def d_loss(discriminator, real, fake):
            def loss():
                real_out = discriminator(real, training=True)
                fake_out = discriminator(fake, training=True)
                return bce_with_logits(ops.ones_like(real_out), real_out) + bce_with_logits(
                    ops.zeros_like(fake_out), fake_out), ()
            return loss

        for _ in range(2):
            d_a_loss, _ = seam.minimize(
                d_loss(self.discriminator_a, a, fake_a), self.discriminator_a.trainable_variables, self.d_a_optimizer
            )
        d_b_loss, _ = seam.minimize(
            d_loss(self.discriminator_b, b, fake_b), self.discriminator_b.trainable_variables, self.d_b_optimizer
        )
        return {"d_a_loss": d_a_loss, "d_b_loss": d_b_loss, "g_ab_loss": g_ab_loss, "g_ba_loss": g_ba_loss}


def _generator(name, batch_norm):
    layers = [keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(16)]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers += [keras.layers.Reshape(SHAPE), keras.layers.Activation("tanh")]
    return keras.Sequential(layers, name=name)


def _discriminator(name, dropout):
    layers = [keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(8), keras.layers.LeakyReLU(0.2)]
    if dropout:
        layers.append(keras.layers.Dropout(0.3, seed=5))
    layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers, name=name)


def four_way(seed=0):
    keras.utils.set_random_seed(seed)
    gan = FourWay(
        _generator("g_ab", batch_norm=True), _generator("g_ba", batch_norm=False),
        _discriminator("d_a", dropout=False), _discriminator("d_b", dropout=True), seed=seed,
    )
    gan.compile(optimizers={"g_ab": keras.optimizers.Adam(1e-2), "d_b": keras.optimizers.SGD(0.1)}, **QUICK_COMPILE)
    return gan


def domains(n=16, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 0, (n,) + SHAPE).astype("float32")
    b = rng.uniform(-0.5, 1, (n,) + SHAPE).astype("float32")
    return a, b


def _iterations(gan):
    return {name: int(ops.convert_to_numpy(o.iterations)) for name, o in gan.optimizers.items()}


def test_four_optimizers_each_count_their_own_updates_and_every_network_moves():
    gan = four_way()
    before = {name: numpy_weights(net.trainable_variables) for name, net in gan.networks.items()}
    bn_before = numpy_weights(gan.generator_ab.non_trainable_variables)
    seeds_before = numpy_weights(gan._rng_state_variables())
    history = gan.fit(domains(), batch_size=8, epochs=2, verbose=0, shuffle=False)
    assert _iterations(gan) == {"g_ab": 4, "g_ba": 4, "d_a": 8, "d_b": 4}
    assert int(ops.convert_to_numpy(gan.optimizer.iterations)) == 4  # the last optimizer's, the step count
    for name, network in gan.networks.items():
        assert changed(before[name], numpy_weights(network.trainable_variables)), name
    assert changed(bn_before, numpy_weights(gan.generator_ab.non_trainable_variables)), "BatchNorm statistics"
    assert changed(seeds_before, numpy_weights(gan._rng_state_variables())), "seed states"
    assert sorted(history.history) == sorted(FourWay.metric_names)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert isinstance(gan.d_b_optimizer, keras.optimizers.SGD)
    assert gan.optimizer.g_ab is gan.g_ab_optimizer


def test_four_optimizers_save_load_and_resume_with_identical_next_step_losses(tmp_path):
    a, b = domains()
    gan = four_way()
    gan.fit((a, b), batch_size=8, epochs=1, verbose=0, shuffle=False)
    path = str(tmp_path / "four.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, FourWay) and loaded.cycle_weight == 1.0
    assert _iterations(loaded) == _iterations(gan)
    assert isinstance(loaded.d_b_optimizer, keras.optimizers.SGD)
    for original, copy in zip(gan.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(original), ops.convert_to_numpy(copy))
    logs = [m.fit((a, b), batch_size=8, epochs=1, verbose=0, shuffle=False).history for m in (gan, loaded)]
    for name in FourWay.metric_names:
        np.testing.assert_array_equal(logs[0][name], logs[1][name], err_msg=name)
    for original, copy in zip(gan.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(original), ops.convert_to_numpy(copy))


def test_compile_names_optimizers_by_the_game_and_refuses_others():
    gan = four_way()
    with pytest.raises(ValueError, match=r"optimizers \['g_ab', 'g_ba', 'd_a', 'd_b'\].*\['d'\]"):
        gan.compile(optimizers={"d": "adam"})
    with pytest.raises(ValueError, match=r"d_optimizer= names none of them"):
        gan.compile(d_optimizer="adam")
    with pytest.raises(ValueError, match="given twice"):
        gan.compile(optimizers={"d_a": "adam"}, d_a_optimizer="adam")
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="distinct objects"):
        gan.compile(optimizers={"d_a": shared, "d_b": shared})
    with pytest.raises(ValueError, match="not optimizer="):
        gan.compile(optimizer="adam")

    class TwoNetworks(GAN):
        network_names = ("generator", "critic")

    with pytest.raises(ValueError, match=r"TwoNetworks trains the networks \['generator', 'critic'\]"):
        TwoNetworks({"generator": gan.generator_ab})
    gan.compile(d_a_optimizer=keras.optimizers.RMSprop(1e-3))
    assert isinstance(gan.d_a_optimizer, keras.optimizers.RMSprop)
    assert isinstance(gan.g_ba_optimizer, keras.optimizers.Adam)  # default_optimizer


def test_fit_range_checks_both_domains_of_an_unpaired_batch():
    gan = four_way()
    a, b = domains()
    with pytest.raises(ValueError, match=r"range over \[64, 254\], but the generator's images lie in \[-1, 1\]"):
        gan.fit((a, np.round((b + 1) * 127.5).astype("float32")), batch_size=8, epochs=1, verbose=0)


def test_the_learning_rate_a_callback_sets_scales_every_optimizer():
    gan = four_way()
    rates = {name: float(ops.convert_to_numpy(o.learning_rate)) for name, o in gan.optimizers.items()}
    gan.optimizer.learning_rate = rates["g_ab"] / 2
    for name, o in gan.optimizers.items():
        np.testing.assert_allclose(float(ops.convert_to_numpy(o.learning_rate)), rates[name] / 2, rtol=1e-6)


@pytest.mark.parametrize("written_on", BACKENDS)
def test_a_dcgan_checkpoint_from_before_the_base_loads_samples_the_same_and_trains_on(written_on):
    expected = np.load(os.path.join(FIXTURES, f"legacy_dcgan_{written_on}.npz"))
    gan = keras.saving.load_model(os.path.join(FIXTURES, f"legacy_dcgan_{written_on}.keras"))
    assert type(gan).__name__ == "DCGAN" and gan.ema_generator is not None
    np.testing.assert_array_equal(expected["z"], latent_noise(4, 8, seed=1))
    same = written_on == keras.backend.backend()
    np.testing.assert_allclose(gan.generate(z=expected["z"]), expected["images"], atol=1e-6 if same else 1e-4)
    iterations = [int(ops.convert_to_numpy(o.iterations)) for o in (gan.d_optimizer, gan.g_optimizer)]
    assert iterations == [int(expected["d_iterations"]), int(expected["g_iterations"])] == [2, 2]
    before = numpy_weights(gan.generator.trainable_variables)
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    history = gan.fit(images, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert int(ops.convert_to_numpy(gan.g_optimizer.iterations)) == 4
    assert changed(before, numpy_weights(gan.generator.trainable_variables))
