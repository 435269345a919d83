"""DCGAN: a generator and a discriminator trained against each other by `fit`.

The keras.io GAN conventions (`DCGAN(discriminator=, generator=,
latent_dim=)`, `compile(d_optimizer=, g_optimizer=, loss_fn=)`, loss trackers
in `metrics`) on the family's `GAN` base: this module states the game alone.
"""

import operator
import warnings

import numpy as np
import keras
from keras import ops

from dcgan_keras import backend as seam, losses
# The lists of choices live in config.py, which imports no Keras (train.py's flags read them first).
from dcgan_keras.config import LATENT_DISTRIBUTIONS, UPDATES  # noqa: F401 (UPDATES: importable from here)
from dcgan_keras.gans.base import GAN, check_network, user_stacklevel
from dcgan_keras.models import in_sample_range

METRIC_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "d_acc")


def latent_noise(num, latent_dim, seed=None, distribution="normal"):
    """Latent vectors drawn with NumPy: standard normal, or uniform in [-1, 1].

    Host-side noise is the same on every backend for the same seed, so a
    checkpoint, a `.keras` file and an exported SavedModel sample the same
    images. (Noise inside `train_step` comes from Keras's own RNG instead.)

    Args:
        num: number of vectors.
        latent_dim: their size.
        seed: int for reproducible noise, None for fresh noise.
        distribution: "normal" (N(0, I), the default) or "uniform" (U[-1, 1]).

    Example:
        >>> latent_noise(2, 100, seed=0).shape
        (2, 100)
    """
    _check_latent_distribution(distribution)
    rng = np.random.default_rng(seed)
    if distribution == "uniform":
        return rng.uniform(-1.0, 1.0, (num, latent_dim)).astype("float32")
    return rng.standard_normal((num, latent_dim)).astype("float32")


def _check_latent_distribution(distribution):
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ValueError(
            f"`latent_distribution` must be one of {LATENT_DISTRIBUTIONS}. Received: {distribution!r}"
        )


@keras.saving.register_keras_serializable(package="dcgan_keras")
class DCGAN(GAN):
    """A GAN trained with `fit`: `d_steps` discriminator updates, then one generator update.

    Algorithm 1 of Goodfellow et al. (2014), in pytorch/examples' order: each
    step draws z from N(0, I) with the model's own `SeedGenerator`, updates D
    on real against G(z) `d_steps` times (on the same real batch, fresh z each
    time, as keras.io's WGAN-GP does), then updates G through the updated D on
    the last of those G(z), so G runs forward once per D update. `fit`
    reports `d_loss`, `g_loss`, `d_real` (mean D(x) as a probability of
    "real", or as a score where the loss scores: least squares, hinge,
    Wasserstein), `d_fake` (mean D(G(z))) and `d_acc` (D's accuracy over
    real and fake, at the loss's boundary: `losses.read_outputs`).

    `update="simultaneous"` is the TensorFlow tutorial's step instead: one
    forward pass G(z), D(real), D(G(z)), and both networks updated from it, G
    against the D of before the update. It skips one forward and one backward
    pass of D per step (about 12% of the 28x28 preset's work).

    Compile with `compile(d_optimizer=, g_optimizer=, loss_fn=)` (or
    `optimizers={"d": ..., "g": ...}`); each optimizer defaults to
    Adam(2e-4, beta_1=0.5), as in the DCGAN paper.

    Args:
        discriminator: a Keras model, images -> one output per image (logits,
            or probabilities when `loss_fn` expects them).
        generator: a Keras model, z (latent_dim,) -> images.
        latent_dim: size of z; must match the generator's input.
        d_steps: discriminator updates per generator update; None (the
            default) takes the loss's (`GANLoss.d_steps`: 1, and 5 for
            "wgan_gp", as in Gulrajani et al.), resolved at compile.
        label_smoothing: one-sided smoothing of the real labels, in [0, 1):
            0.1 makes the real target 0.9 (0.5 and above warn).
        seed: seed of the training noise; the same seed gives the same run.
        update: "sequential" (the default: D, then G through the updated D)
            or "simultaneous" (both from one forward pass; needs d_steps=1).
        ema_momentum: None (the default), or in (0, 1): keep an exponential
            moving average of the generator's weights (BatchNorm statistics
            included), updated after each generator update, in
            `gan.ema_generator`; `generate`, `gan(z)` and train.py's samples
            and exported generator then use it. The average smooths out the
            step-to-step wander of adversarial training; the first
            1 / (1 - ema_momentum) updates are averaged evenly, so nothing of
            the random initial weights stays in it.
        latent_distribution: "normal" (N(0, I), the default) or "uniform"
            (U[-1, 1], as some write-ups draw z), for training and `generate`.
        instance_noise: the std of Gaussian noise added to every image the
            discriminator sees, real and fake (Sønderby et al., 2017; Arjovsky
            & Bottou, 2017), annealed linearly to 0 over
            `instance_noise_steps` GAN steps (the generator optimizer's
            `iterations`, saved with the model). 0 (the default): none.
        instance_noise_steps: the steps the noise takes to reach 0; needed
            with `instance_noise`.
        **kwargs: passed to `keras.Model`, e.g. `name`.

    Example:
        >>> from dcgan_keras import DCGAN, build_generator, build_discriminator
        >>> gan = DCGAN(discriminator=build_discriminator(), generator=build_generator(),
        ...             latent_dim=100)
        >>> gan.compile()
        >>> gan.fit(images, epochs=5)  # images: float32 (N, 28, 28, 1) in [-1, 1]  # doctest: +SKIP
    """

    network_names = ("discriminator", "generator")
    optimizer_targets = {"d": ("discriminator",), "g": ("generator",)}
    step_optimizer = "g"
    adversaries = ("discriminator",)
    metric_names = METRIC_NAMES
    inputs = "images"
    range_of = "generator"
    ema_of = "generator"

    def __init__(
        self,
        discriminator,
        generator,
        latent_dim=None,
        d_steps=None,
        label_smoothing=0.0,
        seed=None,
        update="sequential",
        ema_momentum=None,
        latent_distribution="normal",
        instance_noise=0.0,
        instance_noise_steps=None,
        **kwargs,
    ):
        networks = {"discriminator": discriminator, "generator": generator}
        latent_dim = _check_dcgan(discriminator, generator, latent_dim)
        check_options(d_steps, update, label_smoothing)
        _check_latent_distribution(latent_distribution)
        _check_instance_noise(instance_noise, instance_noise_steps)
        super().__init__(networks, seed=seed, ema_momentum=ema_momentum, **kwargs)
        self.latent_dim = int(latent_dim)
        self.d_steps_asked = d_steps
        self.label_smoothing = float(label_smoothing)
        self.update = update
        self.latent_distribution = latent_distribution
        self.instance_noise = float(instance_noise)
        self.instance_noise_steps = None if instance_noise_steps is None else int(instance_noise_steps)

    @property
    def d_steps(self):
        """D updates per G update: as built, or (d_steps=None) the loss's, 1 before compile."""
        if self.d_steps_asked is not None:
            return self.d_steps_asked
        if self.update == "simultaneous" or not hasattr(self, "gan_loss"):
            return 1
        return self.gan_loss.d_steps

    def extra_config(self):
        config = {
            "latent_dim": self.latent_dim, "d_steps": self.d_steps_asked, "label_smoothing": self.label_smoothing,
            "update": self.update,
        }
        # Only where not the default: files and configs from before read the same.
        if self.latent_distribution != "normal":
            config["latent_distribution"] = self.latent_distribution
        if self.instance_noise:
            config.update(instance_noise=self.instance_noise, instance_noise_steps=self.instance_noise_steps)
        return config

    @property
    def image_shape(self):
        """(height, width, channels) of the images the GAN makes and judges."""
        return tuple(self.generator.output_shape[1:])

    @property
    def sampling_generator(self):
        """The generator that makes samples: `ema_generator` if kept, else `generator`."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def call(self, z, training=False):
        """G(z): `gan(z)` generates, so the GAN can stand in for its generator.

        The generator is `sampling_generator`: the moving average when
        `ema_momentum` keeps one, else the trained generator.

        Args:
            z: latent vectors, shape (batch, latent_dim).
            training: passed to the generator (BatchNorm's batch statistics
                and updates); False by default, for sampling.

        Returns:
            Images (batch, H, W, C) in [-1, 1], a backend tensor; `generate`
            returns NumPy.

        Example:
            >>> tuple(gan(latent_noise(2, gan.latent_dim, seed=0)).shape)  # doctest: +SKIP
            (2, 28, 28, 1)
        """
        return self.sampling_generator(z, training=training)

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn=None, jit_compile="auto", **kwargs):
        """Sets the two optimizers and the GAN loss.

        Args:
            d_optimizer: the discriminator's optimizer. Default
                Adam(2e-4, beta_1=0.5), as in the DCGAN paper.
            g_optimizer: the generator's optimizer. Same default.
            loss_fn: None or "non_saturating" (BCE on logits, the default;
                also "bce"), "minimax", "least_squares", "hinge", "focal",
                "wgan_gp" (which also sets the defaults: 5 D steps when
                d_steps is None, and Adam(1e-4, beta_1=0, beta_2=0.9) for
                each optimizer not given; see `dcgan_keras.losses`), a
                `GANLoss`, or a Keras loss such as
                `keras.losses.BinaryCrossentropy(from_logits=True)` applied
                with real = 1, fake = 0 targets (keras.io's example labels the
                other way round; here D's output reads as "real"). With
                `from_logits=False` the discriminator must end in a sigmoid,
                as keras.io's does (a warning says so otherwise).
            jit_compile: "auto" picks per backend and device (XLA on JAX,
                and on TensorFlow with a GPU; graph mode on TensorFlow on
                CPUs; eager torch); True/False force it.
            **kwargs: `optimizers={"d": ..., "g": ...}` instead of the two
                above; `run_eagerly`, `steps_per_execution`, passed to Keras.

        Example:
            >>> gan.compile(d_optimizer=keras.optimizers.Adam(1e-4), loss_fn="minimax")  # doctest: +SKIP
        """
        named = {k: v for k, v in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)) if v is not None}
        super().compile(loss_fn=loss_fn, jit_compile=jit_compile, **named, **kwargs)

    # --------------------------------------------------------------- the game

    def sample_noise(self, batch_size):
        """z for one update, from the model's SeedGenerator (tests replace it to fix z).

        Each call advances the seed state, which checkpoints save, so a
        resumed run draws the z an uninterrupted one would have.

        Args:
            batch_size: number of latent vectors to draw.

        Returns:
            A float tensor (batch_size, latent_dim) drawn from N(0, I), or
            from U[-1, 1] with latent_distribution="uniform".

        Example:
            >>> tuple(gan.sample_noise(4).shape)  # doctest: +SKIP
            (4, 100)
        """
        if self.latent_distribution == "uniform":
            return keras.random.uniform(
                (batch_size, self.latent_dim), minval=-1.0, maxval=1.0, seed=self.seed_generator
            )
        return seam.normal_noise(batch_size, self.latent_dim, self.seed_generator)

    def seen_by_discriminator(self, images):
        """`images` as D sees them: with instance noise, N(0, std^2) added, std annealed linearly to 0.

        The std after k GAN steps (the generator optimizer's `iterations`) is
        instance_noise * max(0, 1 - k / instance_noise_steps).
        """
        if not self.instance_noise:
            return images
        k = ops.cast(self.g_optimizer.iterations, "float32")
        std = self.instance_noise * ops.maximum(0.0, 1.0 - k / float(self.instance_noise_steps))
        return images + std * keras.random.normal(ops.shape(images), seed=self.seed_generator)

    def unpack_batch(self, data):
        # fit hands over images, or (images, labels) tuples (lists from a
        # torch DataLoader); labels play no part in an unconditional GAN.
        if isinstance(data, (tuple, list)):
            data = data[0]
        return checked_images(data, self.image_shape, type(self).__name__)

    def train_batch(self, real):
        """One step on real images (batch, H, W, C) in [-1, 1]: D, then G; returns the five metrics."""
        step = self._simultaneous_step if self.update == "simultaneous" else self._sequential_step
        d_loss, g_loss, real_out, fake_out = step(real, ops.shape(real)[0])
        return discriminator_metrics(d_loss, g_loss, real_out, fake_out, self.gan_loss)

    def _sequential_step(self, real, batch_size):
        generator_variables = self.generator.trainable_variables
        for _ in range(self.d_steps):
            z = self.sample_noise(batch_size)
            # G(z) once per step: D learns on it with no gradient into G, and
            # G's update then backpropagates through this same forward pass
            # (pytorch/examples' order), rather than paying for a second G(z).
            fake, generator_pass = seam.record(
                lambda: seam.forward(self.generator, z, training=True), generator_variables
            )
            d_loss, (real_out, fake_out) = seam.minimize(
                lambda: self._discriminator_loss(real, fake),
                self.discriminator.trainable_variables,
                self.d_optimizer,
            )
        g_loss, _ = generator_pass.minimize(self._generator_loss, self.g_optimizer)
        return d_loss, g_loss, real_out, fake_out

    def _simultaneous_step(self, real, batch_size):
        z = self.sample_noise(batch_size)
        (d_loss, g_loss), (real_out, fake_out) = seam.minimize_each(
            lambda: self._joint_losses(real, z),
            [
                (self.discriminator.trainable_variables, self.d_optimizer),
                (self.generator.trainable_variables, self.g_optimizer),
            ],
        )
        return d_loss, g_loss, real_out, fake_out

    def _discriminator_loss(self, real, fake):
        # No gradient into G during D's update: it would be thrown away.
        fake = ops.stop_gradient(fake)
        return self._d_loss_and_outputs(real, fake)

    def _d_loss_and_outputs(self, real, fake):
        real = self.seen_by_discriminator(real)
        fake = self.seen_by_discriminator(fake)
        real_out = seam.forward(self.discriminator, real, training=True)
        fake_out = seam.forward(self.discriminator, fake, training=True)
        loss = self.gan_loss.discriminator(real_out, fake_out, self.label_smoothing)
        if self.gan_loss.penalty is not None:
            # WGAN-GP's gradient penalty; it never reaches G (the interpolates are cut off from it).
            loss = loss + self.gan_loss.penalty(
                self.discriminator, real, ops.stop_gradient(fake), self.seed_generator
            )
        return loss, (real_out, fake_out)

    def _generator_loss(self, fake):
        # D has just been updated: G learns against the discriminator it now faces.
        fake_out = seam.forward(self.discriminator, self.seen_by_discriminator(fake), training=True)
        return self.gan_loss.generator(fake_out), ()

    def _joint_losses(self, real, z):
        fake = seam.forward(self.generator, z, training=True)
        d_loss, (real_out, fake_out) = self._d_loss_and_outputs(real, fake)
        return (d_loss, self.gan_loss.generator(fake_out)), (real_out, fake_out)

    # --------------------------------------------------------------- sampling

    def generate(self, num=None, seed=None, z=None, batch_size=256):
        """Generates images, channels last, in [-1, 1], as a NumPy array.

        Args:
            num: number of images (ignored when `z` is given).
            seed: seed of the NumPy noise: the same seed gives the same
                images on every backend.
            z: latent vectors (num, latent_dim) to use instead of noise.
            batch_size: images per generator call.

        Example:
            >>> images = gan.generate(16, seed=0)  # doctest: +SKIP
        """
        if z is None:
            if num is None:
                raise ValueError("generate() needs `num` or `z`.")
            z = latent_noise(image_count(num), self.latent_dim, seed, self.latent_distribution)
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"`z` must have shape (num, {self.latent_dim}). Received shape {z.shape}."
            )
        batches = [
            ops.convert_to_numpy(self.sampling_generator(z[i : i + batch_size], training=False))
            for i in range(0, len(z), batch_size)
        ]
        return np.concatenate(batches) if batches else np.zeros((0,) + self.image_shape, "float32")


    # ------------------------------------------------------- run directories

    @classmethod
    def from_run_config(cls, config, data=None):
        """The compiled DCGAN a train.py config describes (`run_model.build_model` seeds first).

        Args:
            config: a checked `dcgan_keras.config.Config`.
            data: the run's data set (unused: the config says everything).

        Example:
            >>> from dcgan_keras.config import resolve_config
            >>> DCGAN.from_run_config(resolve_config("synthetic")).latent_dim
            8
        """
        from dcgan_keras.models import build_discriminator, build_generator

        del data
        generator = build_generator(
            latent_dim=config.latent_dim, image_size=config.image_size, channels=config.channels,
            filters=config.g_filters, kernel_size=config.kernel_size, bn_momentum=config.bn_momentum,
            architecture=config.g_architecture,
        )
        discriminator = build_discriminator(
            image_size=config.image_size, channels=config.channels, filters=config.d_filters,
            kernel_size=config.kernel_size, dropout=config.dropout, batch_norm=config.d_batch_norm,
            bn_momentum=config.bn_momentum,
            # Seeded dropout: torch's global RNG would not be in the checkpoint.
            seed=config.seed, architecture=config.d_architecture, spectral_norm=config.spectral_norm,
        )
        gan = cls(
            discriminator=discriminator, generator=generator, latent_dim=config.latent_dim,
            d_steps=config.d_steps, label_smoothing=config.label_smoothing, seed=config.seed,
            update=config.update, ema_momentum=config.ema or None,
            latent_distribution=config.latent_distribution, instance_noise=config.instance_noise,
            instance_noise_steps=config.instance_noise_steps,
        )

        gan.compile(**run_optimizers(config), loss_fn=config.loss, jit_compile=config.jit_compile)
        return gan

    def run_identity(self, config=None, data=None):
        """What must match between a run's config and a checkpoint found in it: {name: value}.

        Args:
            config: None for this model's own values, or a run config for what it asks.
            data: the run's data set, with `config`.
        """
        del data
        if config is not None:
            return {"latent_dim": config.latent_dim,
                    "image shape": (config.image_size, config.image_size, config.channels)}
        return {"latent_dim": self.latent_dim, "image shape": tuple(self.image_shape)}

    def grid_inputs(self, num, seed, data=None):
        del data
        return latent_noise(num, self.latent_dim, seed=seed, distribution=self.latent_distribution)

    def grid_images(self, inputs):
        return in_sample_range(self.generate(z=inputs), self.sampling_generator), None

    def exported_generators(self):
        return {"generator": self.sampling_generator}


def run_optimizers(config):
    """{"d_optimizer": Adam, "g_optimizer": Adam} at a run config's rates, betas and weight decay."""

    def adam(learning_rate):
        return keras.optimizers.Adam(
            learning_rate, beta_1=config.beta_1, beta_2=config.beta_2, weight_decay=config.weight_decay or None
        )

    return {"d_optimizer": adam(config.d_learning_rate), "g_optimizer": adam(config.g_learning_rate)}


def discriminator_metrics(d_loss, g_loss, real_out, fake_out, gan_loss):
    """The five DCGAN metrics from the losses and D's outputs on a real and a fake batch.

    Args:
        d_loss, g_loss: the step's losses.
        real_out, fake_out: D(x) and D(G(z)).
        gan_loss: the `GANLoss` that says how they read (`losses.read_outputs`).

    Returns:
        {"d_loss", "g_loss", "d_real", "d_fake", "d_acc"}: D's mean outputs
        (probabilities of "real", or the loss's scores) and its accuracy
        over both batches.
    """
    real, fake, accuracy = losses.read_outputs(gan_loss, real_out, fake_out)
    return {"d_loss": d_loss, "g_loss": g_loss, "d_real": real, "d_fake": fake, "d_acc": accuracy}


def checked_images(data, expected, owner="DCGAN"):
    """A batch of real images (batch, *expected) as float32, or a ValueError naming what is wrong.

    Args:
        data: the batch's images, as `fit` hands them over.
        expected: (H, W, C) the discriminator takes.
        owner: the GAN's class name, for the messages.
    """
    if isinstance(data, dict):
        raise ValueError(
            f"The data's elements are dicts (keys {sorted(data)}); {owner}.fit takes batches of images. "
            "Map the dataset to its images first, e.g. ds.map(lambda d: d['image'])."
        )
    if len(data.shape) == len(expected):
        raise ValueError(
            f"{owner}.fit takes batches of shape (batch, *{expected}); received elements of shape "
            f"{tuple(data.shape)}. Batch a dataset of single images (e.g. tf.data's .batch(128)), and "
            "give grayscale images a channel axis (x[..., None])."
        )
    shape = tuple(data.shape[1:])
    if shape != tuple(expected):
        raise ValueError(
            f"The data's images have shape {shape} but the discriminator expects "
            f"{tuple(expected)}. Load the data at this image_size and channel count, "
            "or build the models for the data's shape."
        )
    dtype = keras.backend.standardize_dtype(data.dtype)
    if not dtype.startswith(("float", "bfloat")):
        raise ValueError(
            f"Real images must be floats scaled to [-1, 1]. Received dtype {dtype}: "
            "scale uint8 images with x / 127.5 - 1."
        )
    return ops.cast(data, "float32")


def _check_instance_noise(std, steps):
    if isinstance(std, bool) or not isinstance(std, (int, float)) or not std >= 0.0:
        raise ValueError(f"`instance_noise` must be a std >= 0. Received: instance_noise={std!r}")
    if std and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(
            "`instance_noise` anneals to 0 over `instance_noise_steps` GAN steps, an integer >= 1 "
            f"(e.g. the run's total steps). Received: instance_noise_steps={steps!r}"
        )


def check_options(d_steps, update, label_smoothing):
    """Refuses a bad `d_steps`, `update` or `label_smoothing`; warns of a smoothing of 0.5 or more."""
    if d_steps is not None and (not isinstance(d_steps, int) or d_steps < 1):
        raise ValueError(f"`d_steps` must be an integer >= 1, or None for the loss's. Received: d_steps={d_steps!r}")
    if update not in UPDATES:
        raise ValueError(f"`update` must be one of {UPDATES}. Received: update={update!r}")
    if update == "simultaneous" and d_steps not in (None, 1):
        raise ValueError(
            "update='simultaneous' updates D and G from one forward pass, so it takes "
            f"d_steps=1. Received: d_steps={d_steps}. Use update='sequential' for several D updates."
        )
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"`label_smoothing` must be in [0, 1). Received: label_smoothing={label_smoothing!r}")
    if label_smoothing >= 0.5:
        # Warned, not refused: runs and files made with such a value still load.
        warnings.warn(
            f"label_smoothing={label_smoothing!r} makes the real images' target {round(1 - label_smoothing, 6)!r}, "
            "at or below the fakes' side of 0.5: it is how far the target drops below 1 (0.1: target "
            f"0.9). For a target of {label_smoothing!r} pass {round(1 - label_smoothing, 6)!r}.",
            stacklevel=user_stacklevel(),
        )


def _check_dcgan(discriminator, generator, latent_dim):
    """Checks the two networks fit together; returns latent_dim (the generator's if None)."""
    for role, network in (("discriminator", discriminator), ("generator", generator)):
        check_network(role, network, "DCGAN")
    if len(generator.input_shape) == 4 and len(discriminator.input_shape) == 2:
        raise ValueError(
            "The discriminator takes vectors and the generator takes images: the two look swapped. "
            "Pass DCGAN(discriminator=..., generator=...), discriminator first, as keras.io does."
        )
    generator_latent = generator.input_shape[-1]
    latent_dim = generator_latent if latent_dim is None else latent_dim
    if latent_dim != generator_latent:
        raise ValueError(
            f"`latent_dim` must match the generator's input size {generator_latent} "
            f"(generator input shape {generator.input_shape}). Received: latent_dim={latent_dim}"
        )
    fake_shape = tuple(generator.output_shape[1:])
    real_shape = tuple(discriminator.input_shape[1:])
    if fake_shape != real_shape:
        raise ValueError(
            f"The generator makes images of shape {fake_shape} but the discriminator "
            f"expects {real_shape}. Build both for the same image_size and channels."
        )
    if tuple(discriminator.output_shape[1:]) != (1,):
        raise ValueError(
            "The discriminator must return one value per image, shape (batch, 1). "
            f"Received output shape {discriminator.output_shape}."
        )
    return latent_dim


def image_count(num):
    """`generate`'s `num` as an int: anything `operator.index` takes (0-d arrays and tensors too)."""
    try:
        if isinstance(num, bool) or np.ndim(num):
            raise TypeError
        return operator.index(num)
    except TypeError:
        raise ValueError(
            f"generate()'s first argument is `num`, a number of images. Received {type(num).__name__}"
            + (f" of shape {np.shape(num)}: pass latent vectors as generate(z=...)." if np.ndim(num) else ".")
        ) from None
