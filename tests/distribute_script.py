"""Run by tests/test_distribute.py in a subprocess: a process's device count is fixed at start.

  one WORKDIR: one device; saves the initial weights, takes a step, saves a
      checkpoint, takes another step.
  two WORKDIR: two devices (JAX host devices / TF logical CPUs); from the same
      initial weights, takes a step; also resumes the one-device checkpoint.
  resume WORKDIR: one device again, resuming the two-device checkpoint.
`one` and `two` also take a Pix2Pix and a CycleGAN step from the same initial weights.
Prints one JSON line of losses and what jit_compile="auto" resolved to; writes
weights to WORKDIR/<mode>.npz (a Pix2Pix's to pix2pix_<mode>.npz, a CycleGAN's to cyclegan_<mode>.npz).
"""

import contextlib
import json
import os
import sys

mode, workdir = sys.argv[1], sys.argv[2]
devices = 2 if mode == "two" else 1
if os.environ["KERAS_BACKEND"] == "jax":
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}"

import keras  # noqa: E402
import numpy as np  # noqa: E402

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dcgan_keras import DCGAN, CycleGAN, Pix2Pix, build_discriminator, build_generator  # noqa: E402
from dcgan_keras.networks import build_patch_discriminator, build_unet_generator  # noqa: E402
from dcgan_keras.distribute import data_parallel  # noqa: E402
from helpers import random_images  # noqa: E402

# TensorFlow's replicas normalize with their own batch statistics (see the
# README): the comparison there is made without BatchNorm.
BATCH_NORM = keras.backend.backend() != "tensorflow"
# jit_compile="auto" is graph mode on TF CPU devices (XLA would refuse a
# MirroredStrategy's variables over several): the same program on both sides
# keeps the float rounding comparable.
JIT_COMPILE = False if keras.backend.backend() == "tensorflow" else "auto"
BATCH = random_images(16, seed=3)


def build(jit_compile=JIT_COMPILE):
    keras.utils.set_random_seed(0)
    g = build_generator(latent_dim=8, image_size=28, channels=1, filters=(16, 8, 4), batch_norm=BATCH_NORM)
    d = build_discriminator(image_size=28, channels=1, filters=(4, 8), dropout=0.0, batch_norm=BATCH_NORM)
    gan = DCGAN(discriminator=d, generator=g, seed=0)
    gan.compile(jit_compile=jit_compile)
    return gan


def step(gan):
    logs = gan.fit(BATCH, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    return {k: float(v[-1]) for k, v in logs.items()}


# A Pix2Pix too: a game of the base other than DCGAN's, with image pairs for a batch.
# Instance norm on TensorFlow, for the reason above (per image: the same on any replica).
PAIRS = tuple(np.random.default_rng(4).uniform(-1, 1, (4, 32, 32, 1)).astype("float32") for _ in range(2))


def build_pix2pix():
    keras.utils.set_random_seed(0)
    norm = "batch" if BATCH_NORM else "instance"
    generator = build_unet_generator(32, 1, 1, filters=4, norm=norm, dropout=0.0, seed=0)
    discriminator = build_patch_discriminator(32, 1, 1, filters=4, norm=norm, seed=1)
    gan = Pix2Pix(generator=generator, discriminator=discriminator, seed=0)
    gan.compile(jit_compile=JIT_COMPILE)
    return gan


def pix2pix_step(gan):
    logs = gan.fit(*PAIRS, batch_size=4, epochs=1, shuffle=False, verbose=0).history
    return {k: float(v[-1]) for k, v in logs.items()}


# And a CycleGAN: four networks, four optimizers, one backward pass for both generators
# (seam.minimize_together). Instance norm (per image) in G; no image pool (its draws are random).
UNPAIRED = tuple(np.random.default_rng(5).uniform(-1, 1, (4, 16, 16, 1)).astype("float32") for _ in range(2))


def build_cyclegan():
    keras.utils.set_random_seed(0)
    layers = keras.layers

    def generator(name):
        return keras.Sequential([keras.Input((16, 16, 1)), layers.Conv2D(4, 3, padding="same", use_bias=False),
                                 layers.GroupNormalization(groups=-1), layers.LeakyReLU(0.2),
                                 layers.Conv2D(1, 3, padding="same", activation="tanh")], name=name)

    def discriminator(name):
        return keras.Sequential([keras.Input((16, 16, 1)), layers.Conv2D(4, 4, strides=2, padding="same"),
                                 layers.LeakyReLU(0.2), layers.Conv2D(1, 3, padding="same")], name=name)

    gan = CycleGAN(generator("g_ab"), generator("g_ba"), discriminator("d_a"), discriminator("d_b"),
                   pool_size=0, seed=0)
    gan.compile(jit_compile=JIT_COMPILE)
    return gan


def cyclegan_step(gan):
    logs = gan.fit(UNPAIRED, batch_size=4, epochs=1, shuffle=False, verbose=0).history
    return {k: float(v[-1]) for k, v in logs.items()}


def weights(gan):
    return {v.path: keras.ops.convert_to_numpy(v) for v in gan.weights}


def path(name):
    return os.path.join(workdir, name)


scope = data_parallel() if devices > 1 else contextlib.nullcontext()
result = {}
with scope:
    if mode == "one":
        gan = build()
        gan.save_weights(path("initial.weights.h5"))
        result["step1"] = step(gan)
        np.savez(path("one.npz"), **weights(gan))
        gan.save(path("one.keras"))
        result["step2"] = step(gan)
        pix2pix = build_pix2pix()
        pix2pix.save_weights(path("pix2pix_initial.weights.h5"))
        result["pix2pix_step1"] = pix2pix_step(pix2pix)
        np.savez(path("pix2pix_one.npz"), **weights(pix2pix))
        cyclegan = build_cyclegan()
        cyclegan.save_weights(path("cyclegan_initial.weights.h5"))
        result["cyclegan_step1"] = cyclegan_step(cyclegan)
        np.savez(path("cyclegan_one.npz"), **weights(cyclegan))
    elif mode == "two":
        gan = build()
        gan.load_weights(path("initial.weights.h5"))
        result["step1"] = step(gan)
        np.savez(path("two.npz"), **weights(gan))
        gan.save(path("two.keras"))
        result["resumed_one"] = step(keras.saving.load_model(path("one.keras")))
        pix2pix = build_pix2pix()
        pix2pix.load_weights(path("pix2pix_initial.weights.h5"))
        result["pix2pix_step1"] = pix2pix_step(pix2pix)
        np.savez(path("pix2pix_two.npz"), **weights(pix2pix))
        cyclegan = build_cyclegan()
        cyclegan.load_weights(path("cyclegan_initial.weights.h5"))
        result["cyclegan_step1"] = cyclegan_step(cyclegan)
        np.savez(path("cyclegan_two.npz"), **weights(cyclegan))
    else:
        result["resumed_two"] = step(keras.saving.load_model(path("two.keras")))
    result["auto_jit_compile"] = bool(build(jit_compile="auto").jit_compile)
print(json.dumps(result))
