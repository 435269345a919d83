"""DCGAN: a generator and a discriminator trained against each other by `fit`.

The keras.io GAN conventions (`DCGAN(discriminator=, generator=,
latent_dim=)`, `compile(d_optimizer=, g_optimizer=, loss_fn=)`, loss trackers
in `metrics`), with one `gan_step` for the three backends: what differs
between them (how gradients are taken and applied) lives in
`dcgan_keras.backend`.
"""

import copy
import operator
import warnings

import numpy as np
import keras
from keras import ops

from dcgan_keras import backend as seam
from dcgan_keras import fit_inputs, losses
# Their home before models.py; importable from here as they were.
from dcgan_keras.models import in_sample_range, output_range  # noqa: F401

METRIC_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "d_acc")
UPDATES = ("sequential", "simultaneous")


def latent_noise(num, latent_dim, seed=None):
    """Standard normal latent vectors drawn with NumPy.

    Host-side noise is the same on every backend for the same seed, so a
    checkpoint, a `.keras` file and an exported SavedModel sample the same
    images. (Noise inside `train_step` comes from Keras's own RNG instead.)

    Args:
        num: number of vectors.
        latent_dim: their size.
        seed: int for reproducible noise, None for fresh noise.

    Example:
        >>> latent_noise(2, 100, seed=0).shape
        (2, 100)
    """
    return np.random.default_rng(seed).standard_normal((num, latent_dim)).astype("float32")


class _OptimizerPair:
    """What Keras's trainers see as `model.optimizer`.

    The JAX trainer threads `model.optimizer.variables` through its jitted
    step, and nothing else: handing it both optimizers' variables here is what
    keeps their slots from being baked in as constants. Callbacks that read
    `model.optimizer.iterations` (TensorBoard) see GAN steps.
    """

    def __init__(self, gan):
        self.d = gan.d_optimizer
        self.g = gan.g_optimizer
        self._d_vars = gan.discriminator.trainable_variables
        self._g_vars = gan.generator.trainable_variables
        self._g_per_d = None  # G's rate over D's, for learning-rate callbacks

    @property
    def built(self):
        return self.d.built and self.g.built

    def build(self, _unused_variables=None):
        if not self.d.built:
            self.d.build(self._d_vars)
        if not self.g.built:
            self.g.build(self._g_vars)

    @property
    def variables(self):
        return self.d.variables + self.g.variables

    @property
    def iterations(self):
        return self.g.iterations

    @property
    def learning_rate(self):
        """D's learning rate; setting it sets D's and scales G's by the same factor.

        What LearningRateScheduler and ReduceLROnPlateau read and write: the
        pair keeps the ratio of its two rates (equal by default).
        """
        return self.d.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if self._g_per_d is None:
            # Taken once, from the rates as compiled: a schedule through 0
            # would lose it if it were taken afresh at every change.
            d, g = (float(keras.ops.convert_to_numpy(o.learning_rate)) for o in (self.d, self.g))
            self._g_per_d = g / d if d else 1.0
        value = float(keras.ops.convert_to_numpy(value))
        self.d.learning_rate = value
        self.g.learning_rate = value * self._g_per_d

    def scale_loss(self, loss):
        return loss


@keras.saving.register_keras_serializable(package="dcgan_keras")
class DCGAN(keras.Model):
    """A GAN trained with `fit`: `d_steps` discriminator updates, then one generator update.

    Algorithm 1 of Goodfellow et al. (2014), in pytorch/examples' order: each
    step draws z from N(0, I) with the model's own `SeedGenerator`, updates D
    on real against G(z) `d_steps` times (on the same real batch, fresh z each
    time, as keras.io's WGAN-GP does), then updates G through the updated D on
    the last of those G(z), so G runs forward once per D update. `fit`
    reports `d_loss`, `g_loss`, `d_real` (mean D(x) as a probability),
    `d_fake` (mean D(G(z))) and `d_acc` (D's accuracy over real and fake).

    `update="simultaneous"` is the TensorFlow tutorial's step instead: one
    forward pass G(z), D(real), D(G(z)), and both networks updated from it, G
    against the D of before the update. It skips one forward and one backward
    pass of D per step (about 12% of the 28x28 preset's work).

    Args:
        discriminator: a Keras model, images -> one output per image (logits,
            or probabilities when `loss_fn` expects them).
        generator: a Keras model, z (latent_dim,) -> images.
        latent_dim: size of z; must match the generator's input.
        d_steps: discriminator updates per generator update.
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
        **kwargs: passed to `keras.Model`, e.g. `name`.

    Example:
        >>> from dcgan_keras import DCGAN, build_generator, build_discriminator
        >>> gan = DCGAN(discriminator=build_discriminator(), generator=build_generator(),
        ...             latent_dim=100)
        >>> gan.compile()
        >>> gan.fit(images, epochs=5)  # images: float32 (N, 28, 28, 1) in [-1, 1]  # doctest: +SKIP
    """

    def __init__(
        self,
        discriminator,
        generator,
        latent_dim=None,
        d_steps=1,
        label_smoothing=0.0,
        seed=None,
        update="sequential",
        ema_momentum=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for role, network in (("discriminator", discriminator), ("generator", generator)):
            _check_network(role, network)
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
        if not isinstance(d_steps, int) or d_steps < 1:
            raise ValueError(f"`d_steps` must be an integer >= 1. Received: d_steps={d_steps!r}")
        if update not in UPDATES:
            raise ValueError(f"`update` must be one of {UPDATES}. Received: update={update!r}")
        if update == "simultaneous" and d_steps != 1:
            raise ValueError(
                "update='simultaneous' updates D and G from one forward pass, so it takes "
                f"d_steps=1. Received: d_steps={d_steps}. Use update='sequential' for several D updates."
            )
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"`label_smoothing` must be in [0, 1). Received: label_smoothing={label_smoothing!r}"
            )
        if label_smoothing >= 0.5:
            # Warned, not refused: runs and files made with such a value still load.
            warnings.warn(
                f"label_smoothing={label_smoothing!r} makes the real images' target {round(1 - label_smoothing, 6)!r}, "
                "at or below the fakes' side of 0.5: it is how far the target drops below 1 (0.1: target "
                f"0.9). For a target of {label_smoothing!r} pass {round(1 - label_smoothing, 6)!r}.",
                stacklevel=2,
            )
        if ema_momentum is not None and not 0.0 < ema_momentum < 1.0:
            raise ValueError(
                "`ema_momentum` must be in (0, 1), or None for no average of the generator's "
                f"weights. Received: ema_momentum={ema_momentum!r}"
            )
        self.discriminator = discriminator
        self.generator = generator
        self.ema_momentum = None if ema_momentum is None else float(ema_momentum)
        self.ema_generator = None if ema_momentum is None else _frozen_copy(generator)
        self.latent_dim = int(latent_dim)
        self.d_steps = d_steps
        self.label_smoothing = float(label_smoothing)
        self.seed = seed
        self.update = update
        with seam.seed_state_scope():
            self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRIC_NAMES}
        # Both sub-models are built; building here keeps `fit` from tracing
        # `call` with images to build a model that has nothing left to build.
        self.built = True

    @property
    def image_shape(self):
        """(height, width, channels) of the images the GAN makes and judges."""
        return tuple(self.generator.output_shape[1:])

    @property
    def metrics(self):
        return list(self.trackers.values())

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

    # ------------------------------------------------------------------ compile

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn=None, jit_compile="auto", **kwargs):
        """Sets the two optimizers and the GAN loss.

        Args:
            d_optimizer: the discriminator's optimizer. Default
                Adam(2e-4, beta_1=0.5), as in the DCGAN paper.
            g_optimizer: the generator's optimizer. Same default.
            loss_fn: None or "non_saturating" (BCE on logits, the default),
                "minimax", a `GANLoss`, or a Keras loss such as
                `keras.losses.BinaryCrossentropy(from_logits=True)` applied
                with real = 1, fake = 0 targets (keras.io's example labels the
                other way round; here D's output reads as "real"). With
                `from_logits=False` the discriminator must end in a sigmoid,
                as keras.io's does (a warning says so otherwise).
            jit_compile: "auto" picks per backend and device (XLA on JAX,
                and on TensorFlow with a GPU; graph mode on TensorFlow on
                CPUs; eager torch); True/False force it.
            **kwargs: `run_eagerly`, `steps_per_execution`, passed to Keras.

        Example:
            >>> gan.compile(d_optimizer=keras.optimizers.Adam(1e-4), loss_fn="minimax")  # doctest: +SKIP
        """
        for unsupported in ("optimizer", "loss", "metrics"):
            if unsupported in kwargs:
                raise ValueError(
                    f"DCGAN.compile takes d_optimizer=, g_optimizer= and loss_fn=, not {unsupported}=. "
                    f"Received: {unsupported}={kwargs[unsupported]!r}"
                )
        self.d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer else _default_optimizer()
        self.g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer else _default_optimizer()
        if self.d_optimizer is self.g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two optimizer objects: one keeps "
                "the discriminator's slots, the other the generator's."
            )
        if "mixed_float16" in _policies(self):
            # float16 gradients underflow without loss scaling; Keras's own
            # compile wraps its one optimizer the same way. The networks'
            # policies decide: they may be built under it and the DCGAN not.
            self.d_optimizer = _loss_scaled(self.d_optimizer, "d")
            self.g_optimizer = _loss_scaled(self.g_optimizer, "g")
        self.loss_fn = loss_fn
        self.gan_loss = losses.get(loss_fn)
        if not self.gan_loss.outputs_are_logits and not _ends_in_sigmoid(self.discriminator):
            warnings.warn(
                f"loss_fn={loss_fn!r} reads the discriminator's outputs as probabilities (from_logits=False), "
                f"but its last layer ({self.discriminator.layers[-1].name}) has no sigmoid: build_discriminator "
                "returns logits. Pass keras.losses.BinaryCrossentropy(from_logits=True), or end the "
                "discriminator in a sigmoid as keras.io's example does.",
                stacklevel=2,
            )
        if losses.declared_logits(loss_fn) and _ends_in_sigmoid(self.discriminator):
            warnings.warn(
                f"The discriminator ends in a sigmoid ({self.discriminator.layers[-1].name}), but "
                f"loss_fn={loss_fn!r} reads its outputs as logits: D(x) would be squashed twice and the "
                "metrics would stay near 0.5 whatever D does. Pass keras.losses.BinaryCrossentropy() "
                "(from_logits=False), as keras.io's example does, or drop the sigmoid.",
                stacklevel=2,
            )
        # Saved as asked: "auto" resolves afresh where the model is loaded
        # (another backend, or another device count, may want another answer).
        self._jit_compile_asked = jit_compile
        if jit_compile == "auto":
            jit_compile = seam.default_jit_compile(self)
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        self.optimizer = _OptimizerPair(self)
        # Built now, so that loading a checkpoint finds slots to fill (an
        # unbuilt optimizer silently skips its saved state).
        self.optimizer.build()

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or not hasattr(self, "d_optimizer"):
            return {}
        return {
            "d_optimizer": _portable(keras.saving.serialize_keras_object(self.d_optimizer)),
            "g_optimizer": _portable(keras.saving.serialize_keras_object(self.g_optimizer)),
            "loss_fn": losses.serialize(self.loss_fn),
            "jit_compile": self._jit_compile_asked,
        }

    def compile_from_config(self, config):
        self.compile(
            d_optimizer=keras.saving.deserialize_keras_object(_portable(config["d_optimizer"])),
            g_optimizer=keras.saving.deserialize_keras_object(_portable(config["g_optimizer"])),
            loss_fn=losses.deserialize(config.get("loss_fn")),
            jit_compile=config.get("jit_compile", "auto"),
        )

    # --------------------------------------------------------------- training

    def train_step(self, *args):
        # (data) on TensorFlow and torch, (state, data) on JAX: the seam adapts.
        return seam.train_step(self, *args)

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit`, refusing what would train wrongly before it starts.

        Real images are checked first: the generator ends in tanh (or
        sigmoid), so they must lie in [-1, 1] (or [0, 1]), or the
        discriminator tells real from fake by range alone and the generator
        learns nothing. A float copy of 0-255 pixels (what
        `keras.utils.image_dataset_from_directory` yields) is refused;
        [0, 1] images for a tanh generator, and batches of one image with
        BatchNorm (of a dataset: its first batch), are warned about. An array or a tensor is checked on a
        sample of up to about 1000 images; a `tf.data.Dataset`, a
        `keras.utils.PyDataset`, a torch `DataLoader` or a Python generator
        on its first batch (a dataset's is read once more by `fit`: one with
        a large shuffle buffer fills it twice, and a shuffled tf.data
        pipeline starts one shuffle later; not read: a tf.data `.cache()`
        and a PyDataset with `use_multiprocessing`). A GAN has no validation loss: `validation_data` and
        `validation_split` are refused.

        Args:
            x: the real images (batch, H, W, C), floats in the generator's
                output range, or anything else `keras.Model.fit` takes.
            *args, **kwargs: as `keras.Model.fit` (labels, if any, are
                ignored).

        Returns:
            The `History` of `keras.Model.fit`.

        Example:
            >>> history = gan.fit(images, batch_size=128, epochs=5)  # doctest: +SKIP
        """
        x = fit_inputs.check(self, x, args, kwargs)
        return super().fit(x, *args, **kwargs)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """`keras.Model.save`, to a `.keras` file: both networks, both optimizers, the RNG state.

        The legacy HDF5 format (`.h5`) holds one optimizer, so it is refused
        (`save_weights("x.weights.h5")` writes the weights alone).

        Args:
            filepath: the `.keras` file to write.
            overwrite, zipped, **kwargs: as `keras.Model.save`.

        Example:
            >>> gan.save("gan.keras")  # doctest: +SKIP
        """
        fit_inputs.check_save_path(filepath)
        return super().save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`: images from latent vectors, through `call`.

        Prefer `generate` (seeded noise, the averaged generator, no
        `keras.Model` batching rules); this is here for Keras's conventions.

        Args:
            x: latent vectors (num, latent_dim).
            *args, **kwargs: as `keras.Model.predict`.

        Example:
            >>> images = gan.predict(z, batch_size=64, verbose=0)  # doctest: +SKIP
        """
        try:
            return super().predict(x, *args, **kwargs)
        finally:
            # JAX: Keras's predict puts the weights back only when it succeeds (a no-op otherwise).
            if hasattr(self, "jax_state_sync"):
                self.jax_state_sync()

    def _get_jax_state(self, **kwargs):
        # Called by Keras's JAX trainer only, before each stateless step.
        from dcgan_keras.backend import jax as jax_seam

        return jax_seam.state_for_step(self, super()._get_jax_state, **kwargs)

    def evaluate(self, *args, **kwargs):
        """Refused: a GAN has no loss to evaluate on held-out images; use dcgan_keras.metrics (FID)."""
        raise NotImplementedError(
            "DCGAN.evaluate has nothing to compute: a GAN has no validation loss (D's and G's losses "
            "measure each other). Score samples instead, e.g. FID with dcgan_keras.metrics."
        )

    def sample_noise(self, batch_size):
        """z for one update, from the model's SeedGenerator (tests replace it to fix z).

        Each call advances the seed state, which checkpoints save, so a
        resumed run draws the z an uninterrupted one would have.

        Args:
            batch_size: number of latent vectors to draw.

        Returns:
            A float tensor (batch_size, latent_dim) drawn from N(0, I).

        Example:
            >>> tuple(gan.sample_noise(4).shape)  # doctest: +SKIP
            (4, 100)
        """
        return seam.normal_noise(batch_size, self.latent_dim, self.seed_generator)

    def gan_step(self, data):
        """One GAN training step on a batch of real images; returns the metrics.

        What `train_step` runs on every backend. It needs a compiled model;
        on TensorFlow and torch it also runs when called directly, on JAX
        only inside `train_step`, which supplies the trainer's state.

        Args:
            data: float images (batch, H, W, C) in [-1, 1], or a tuple or
                list whose first element they are, as `fit` hands them over
                (labels are ignored).

        Returns:
            {name: scalar} for `d_loss`, `g_loss`, `d_real`, `d_fake` and
            `d_acc`: the trackers' running means.

        Example:
            >>> logs = gan.gan_step(np.zeros((8, 28, 28, 1), "float32"))  # doctest: +SKIP
            >>> sorted(logs)  # doctest: +SKIP
            ['d_acc', 'd_fake', 'd_loss', 'd_real', 'g_loss']
        """
        real = self._real_images(data)
        step = self._simultaneous_step if self.update == "simultaneous" else self._sequential_step
        d_loss, g_loss, real_out, fake_out = step(real, ops.shape(real)[0])
        if self.ema_generator is not None:
            self._update_average()
        results = self._update_trackers(d_loss, g_loss, real_out, fake_out)
        return {
            name: results[name] if name in results else tracker.result() for name, tracker in self.trackers.items()
        }

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

    def _update_average(self):
        # After the k-th generator update the momentum is min(m, (k - 1) / k):
        # an even mean of the weights so far until k = 1 / (1 - m), then the
        # exponential average. A copy of the initial weights would otherwise
        # keep m^k of its weight (a tenth, 2340 updates at m = 0.999).
        seam.move_average(
            self.ema_generator.weights, self.generator.weights, self.g_optimizer.iterations, self.ema_momentum
        )

    def _real_images(self, data):
        # fit hands over images, or (images, labels) tuples (lists from a
        # torch DataLoader); labels play no part in an unconditional GAN.
        if isinstance(data, (tuple, list)):
            data = data[0]
        if isinstance(data, dict):
            raise ValueError(
                f"The data's elements are dicts (keys {sorted(data)}); DCGAN.fit takes batches of images. "
                "Map the dataset to its images first, e.g. ds.map(lambda d: d['image'])."
            )
        expected = self.image_shape  # read once: on torch this runs eagerly every step
        if len(data.shape) == len(expected):
            raise ValueError(
                f"DCGAN.fit takes batches of shape (batch, *{expected}); received elements of shape "
                f"{tuple(data.shape)}. Batch a dataset of single images (e.g. tf.data's .batch(128)), and "
                "give grayscale images a channel axis (x[..., None])."
            )
        shape = tuple(data.shape[1:])
        if shape != expected:
            raise ValueError(
                f"The data's images have shape {shape} but the discriminator expects "
                f"{expected}. Load the data at this image_size and channel count, "
                "or build the models for the data's shape."
            )
        dtype = keras.backend.standardize_dtype(data.dtype)
        if not dtype.startswith(("float", "bfloat")):
            raise ValueError(
                f"Real images must be floats scaled to [-1, 1]. Received dtype {dtype}: "
                "scale uint8 images with x / 127.5 - 1."
            )
        return ops.cast(data, "float32")

    def _discriminator_loss(self, real, fake):
        # No gradient into G during D's update: it would be thrown away.
        fake = ops.stop_gradient(fake)
        real_out = seam.forward(self.discriminator, real, training=True)
        fake_out = seam.forward(self.discriminator, fake, training=True)
        loss = self.gan_loss.discriminator(real_out, fake_out, self.label_smoothing)
        return loss, (real_out, fake_out)

    def _generator_loss(self, fake):
        # D has just been updated: G learns against the discriminator it now faces.
        fake_out = seam.forward(self.discriminator, fake, training=True)
        return self.gan_loss.generator(fake_out), ()

    def _joint_losses(self, real, z):
        fake = seam.forward(self.generator, z, training=True)
        real_out = seam.forward(self.discriminator, real, training=True)
        fake_out = seam.forward(self.discriminator, fake, training=True)
        d_loss = self.gan_loss.discriminator(real_out, fake_out, self.label_smoothing)
        return (d_loss, self.gan_loss.generator(fake_out)), (real_out, fake_out)

    def _update_trackers(self, d_loss, g_loss, real_out, fake_out):
        """Updates the five metrics; returns {name: result} where the seam computed the results."""
        if self.gan_loss.outputs_are_logits:
            real_p, fake_p = ops.sigmoid(real_out), ops.sigmoid(fake_out)
        else:
            real_p, fake_p = real_out, fake_out
        real_p = ops.cast(real_p, "float32")
        fake_p = ops.cast(fake_p, "float32")
        accuracy = 0.5 * (
            ops.mean(ops.cast(real_p > 0.5, "float32")) + ops.mean(ops.cast(fake_p < 0.5, "float32"))
        )
        values = {
            "d_loss": d_loss, "g_loss": g_loss, "d_real": ops.mean(real_p), "d_fake": ops.mean(fake_p),
            "d_acc": accuracy,
        }
        means = [self.trackers[name] for name in values]
        return dict(zip(values, seam.add_to_means(means, list(values.values()))))

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
            z = latent_noise(_image_count(num), self.latent_dim, seed)
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

    # ------------------------------------------------------------ serializing

    def _rng_state_variables(self):
        # Seed states (the model's and the Dropout layers') are not weights:
        # Keras leaves them out of `.keras` files. Saved here, a resumed run
        # draws the noise an uninterrupted one would have.
        weights = {id(w) for w in self.weights}
        return [v for v in self.non_trainable_variables if id(v) not in weights]

    def save_own_variables(self, store):
        for i, v in enumerate(self._rng_state_variables()):
            store[f"rng_{i}"] = v

    def load_own_variables(self, store):
        variables = self._rng_state_variables()
        saved = [k for k in store.keys() if k.startswith("rng_")]
        if len(saved) != len(variables):
            # A file from before seed states were saved: keep fresh seeds.
            return
        for i, v in enumerate(variables):
            v.assign(store[f"rng_{i}"])

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "latent_dim": self.latent_dim,
            "d_steps": self.d_steps,
            "label_smoothing": self.label_smoothing,
            "seed": self.seed,
            "update": self.update,
            "ema_momentum": self.ema_momentum,
        }

    @classmethod
    def from_config(cls, config):
        # Keras's deserialization empties the networks' nested configs as it
        # reads them: a deep copy leaves the caller's config whole.
        config = copy.deepcopy(config)
        for key in ("discriminator", "generator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def _frozen_copy(generator):
    # The same layers and starting weights; never trained, only assigned to,
    # so its variables are the model's non-trainable state (JAX threads them
    # through the jitted step) and are saved with it.
    copy = keras.models.clone_model(generator)
    if [w.shape for w in copy.weights] != [w.shape for w in generator.weights]:
        raise ValueError(
            f"ema_momentum: the generator {generator.name!r} does not clone into the same weights "
            "(a layer that does not rebuild from its config?); train without ema_momentum."
        )
    copy.set_weights(generator.get_weights())
    copy.trainable = False
    return copy


def _ends_in_sigmoid(model):
    # Dense(1, activation="sigmoid") or an Activation("sigmoid") layer last,
    # as keras.io's discriminators end.
    layers = getattr(model, "layers", None)
    activation = getattr(layers[-1], "activation", None) if layers else None
    return getattr(activation, "__name__", "") == "sigmoid"  # keras.activations.sigmoid, or a user's


def _default_optimizer():
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


def _image_count(num):
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


def _policies(gan):
    """Every dtype policy the GAN's networks (and the GAN itself) compute in."""
    layers = gan.generator.layers + gan.discriminator.layers
    return {layer.dtype_policy.name for layer in layers} | {gan.dtype_policy.name}


def _check_network(role, network):
    # The checks below read the networks' input and output shapes, which a
    # subclassed model (no Input) or a Sequential without one does not have.
    if not isinstance(network, keras.Model):
        raise ValueError(f"The {role} must be a keras.Model. Received: {type(network).__name__}")
    try:
        network.input_shape, network.output_shape
    except (AttributeError, ValueError) as err:
        raise ValueError(
            f"The {role} {network.name!r} has no input and output shapes to check ({err}). DCGAN takes "
            "functional or Sequential models that start with keras.Input(shape); a subclassed model can "
            "be wrapped as keras.Sequential([keras.Input(shape), model])."
        ) from err


def _portable(optimizer_config):
    """A serialized optimizer that every backend loads as its own.

    Keras's torch optimizers serialize under their backend's module
    (`keras.src.backend.torch.optimizers.torch_adam`), so a checkpoint saved on
    torch would load torch's Adam on TensorFlow or JAX, which then fails in
    the first step. The public class of that name is what each backend builds.
    Files saved before this fix are mended on load the same way.
    """
    if isinstance(optimizer_config, list):
        return [_portable(item) for item in optimizer_config]
    if not isinstance(optimizer_config, dict):
        return optimizer_config
    config = {key: _portable(value) for key, value in optimizer_config.items()}
    module, name = config.get("module"), config.get("class_name")
    if (isinstance(module, str) and module.startswith("keras.src.backend.") and isinstance(name, str)
            and isinstance(getattr(keras.optimizers, name, None), type)):
        config.update(module="keras.optimizers", registered_name=None)
    return config


def _loss_scaled(optimizer, prefix):
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{prefix}_loss_scale_optimizer")
