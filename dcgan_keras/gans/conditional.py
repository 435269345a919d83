"""ConditionalDCGAN: the DCGAN's game with the class label fed to both networks.

Mirza and Osindero (2014): G(z, y) makes an image of class y, D(x, y) judges
whether x is a real image of class y. Batches are `(images, labels)`, the
labels integer class ids or one-hot vectors (keras.io's Conditional GAN
passes one-hot); both train alike. The networks: `dcgan_keras.networks`
(`build_conditional_generator`, `build_conditional_discriminator`).
"""

import numpy as np
import keras
from keras import ops

from dcgan_keras import backend as seam
from dcgan_keras import losses
from dcgan_keras.gans.base import GAN, check_network, unwrap
from dcgan_keras.gans.dcgan import (
    METRIC_NAMES,
    check_options,
    checked_images,
    discriminator_metrics,
    image_count,
    latent_noise,
    run_optimizers,
)
from dcgan_keras.models import in_sample_range


@keras.saving.register_keras_serializable(package="dcgan_keras")
class ConditionalDCGAN(GAN):
    """A class-conditional DCGAN trained with `fit` on `(images, labels)`.

    Each step, as the DCGAN's (Algorithm 1, sequential): `d_steps` times,
    draw z from N(0, I) and labels y' uniformly over the classes (both from
    the model's `SeedGenerator`: `keras.random.randint`), and update D on
    (real images, their labels) against (G(z, y'), y'); then update G through
    the updated D on the last G(z, y'), with those labels y'. The fakes'
    labels are drawn, not copied from the real batch, so every class is
    asked for equally often whatever the data's class balance.

    Labels in a batch: int class ids of shape (batch,) or (batch, 1), or
    one-hot (batch, num_classes); `unpack_batch` turns them into int32 ids.
    Their values are checked by `fit` before training for arrays and for
    labelled `Batches` (ids in [0, num_classes), one-hot rows); a dataset's
    values are not read ahead, and an out-of-range id inside a compiled
    step is not caught.

    Args:
        discriminator: a Keras model, [images, labels] -> (batch, 1)
            logits (or probabilities when `loss_fn` expects them).
        generator: a Keras model, [z (latent_dim,), labels] -> images.
        latent_dim: size of z; must match the generator's first input
            (default: read from it).
        num_classes: number of classes; must match the networks' label
            layers (default: read from them).
        d_steps: discriminator updates per generator update.
        label_smoothing: one-sided smoothing of the real target, in [0, 1).
        seed: seed of the training noise and drawn labels.
        ema_momentum: None, or in (0, 1): a moving average of the
            generator's weights (`ema_generator`), used for sampling, as
            `DCGAN`'s.
        **kwargs: passed to `keras.Model`, e.g. `name`.

    Example:
        >>> from dcgan_keras import ConditionalDCGAN
        >>> from dcgan_keras.networks import build_conditional_generator, build_conditional_discriminator
        >>> gan = ConditionalDCGAN(discriminator=build_conditional_discriminator(num_classes=10),
        ...                        generator=build_conditional_generator(latent_dim=100, num_classes=10),
        ...                        latent_dim=100, num_classes=10)
        >>> gan.compile()
        >>> gan.fit((images, labels), batch_size=64, epochs=5)  # doctest: +SKIP
        >>> sevens = gan.generate(16, labels=7, seed=0)  # doctest: +SKIP
    """

    network_names = ("discriminator", "generator")
    optimizer_targets = {"d": ("discriminator",), "g": ("generator",)}
    step_optimizer = "g"
    adversaries = ("discriminator",)
    metric_names = METRIC_NAMES
    inputs = "images_labels"
    range_of = "generator"
    ema_of = "generator"

    def __init__(
        self,
        discriminator,
        generator,
        latent_dim=None,
        num_classes=None,
        d_steps=1,
        label_smoothing=0.0,
        seed=None,
        ema_momentum=None,
        **kwargs,
    ):
        latent_dim, num_classes = _check_conditional(discriminator, generator, latent_dim, num_classes)
        check_options(d_steps, "sequential", label_smoothing)
        super().__init__(
            {"discriminator": discriminator, "generator": generator}, seed=seed, ema_momentum=ema_momentum,
            **kwargs,
        )
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.d_steps = d_steps
        self.label_smoothing = float(label_smoothing)

    def extra_config(self):
        return {
            "latent_dim": self.latent_dim, "num_classes": self.num_classes, "d_steps": self.d_steps,
            "label_smoothing": self.label_smoothing,
        }

    @property
    def image_shape(self):
        """(height, width, channels) of the images the GAN makes and judges."""
        return tuple(self.generator.output_shape[1:])

    @property
    def sampling_generator(self):
        """The generator that makes samples: `ema_generator` if kept, else `generator`."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def call(self, inputs, training=False):
        """G(z, labels) by `sampling_generator`: `gan([z, labels])` generates."""
        return self.sampling_generator(inputs, training=training)

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn=None, jit_compile="auto", **kwargs):
        """Sets the two optimizers and the GAN loss, as `DCGAN.compile`.

        Example:
            >>> gan.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer="adam")  # doctest: +SKIP
        """
        if losses.get(loss_fn).penalty is not None:
            # The step has no place for a penalty on [images, labels] interpolates: refused, not dropped.
            raise ValueError(
                f"ConditionalDCGAN takes no loss with a gradient penalty (loss_fn={loss_fn!r}): its critic reads "
                "labels, and the penalty is the DCGAN's. Use 'least_squares' or 'hinge', or DCGAN for WGAN-GP."
            )
        named = {k: v for k, v in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)) if v is not None}
        super().compile(loss_fn=loss_fn, jit_compile=jit_compile, **named, **kwargs)

    def fit(self, x=None, *args, **kwargs):
        """`GAN.fit` on `(images, labels)`, after checking the labels' values.

        Takes `fit((images, labels))`, `fit(images, labels)`, a labelled
        `Batches`, or a dataset of `(images, labels)` batches. Arrays' labels
        are checked here: their count against the images', their ids against
        `num_classes` (one-hot rows: one 1 each). Images without labels are
        refused.
        """
        _check_labelled_fit(self, x, args, kwargs)
        return super().fit(x, *args, **kwargs)

    # --------------------------------------------------------------- the game

    def sample_noise(self, batch_size):
        """z for one update, from the model's SeedGenerator (tests replace it to fix z)."""
        return seam.normal_noise(batch_size, self.latent_dim, self.seed_generator)

    def sample_labels(self, batch_size):
        """Labels for one update's fakes: uniform over the classes, from the model's SeedGenerator.

        Replaced in tests to fix them, as `sample_noise`.

        Returns:
            int32 ids, shape (batch_size,).
        """
        return keras.random.randint((batch_size,), 0, self.num_classes, dtype="int32", seed=self.seed_generator)

    def unpack_batch(self, data):
        data = unwrap(data)
        owner = type(self).__name__
        if isinstance(data, dict):
            raise ValueError(
                f"The data's elements are dicts (keys {sorted(data)}); {owner}.fit takes (images, labels) "
                "batches. Map the dataset to them first, e.g. ds.map(lambda d: (d['image'], d['label']))."
            )
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(_unlabelled_message(owner, self.num_classes))
        images = checked_images(data[0], self.image_shape, owner)
        return images, checked_labels(data[1], self.num_classes, images.shape[0], owner)

    def train_batch(self, batch):
        """One step on (real images in [-1, 1], their int32 labels): D, then G; returns the five metrics."""
        real, real_labels = batch
        batch_size = ops.shape(real)[0]
        generator_variables = self.generator.trainable_variables
        for _ in range(self.d_steps):
            z, fake_labels = self.sample_noise(batch_size), self.sample_labels(batch_size)
            # As the DCGAN's step: one G(z, y') per D update, reused by G's update.
            fake, generator_pass = seam.record(
                lambda: seam.forward(self.generator, [z, fake_labels], training=True), generator_variables
            )
            d_loss, (real_out, fake_out) = seam.minimize(
                lambda: self._discriminator_loss(real, real_labels, fake, fake_labels),
                self.discriminator.trainable_variables,
                self.d_optimizer,
            )
        g_loss, _ = generator_pass.minimize(lambda fake: self._generator_loss(fake, fake_labels), self.g_optimizer)
        return discriminator_metrics(d_loss, g_loss, real_out, fake_out, self.gan_loss)

    def _discriminator_loss(self, real, real_labels, fake, fake_labels):
        fake = ops.stop_gradient(fake)
        real_out = seam.forward(self.discriminator, [real, real_labels], training=True)
        fake_out = seam.forward(self.discriminator, [fake, fake_labels], training=True)
        return self.gan_loss.discriminator(real_out, fake_out, self.label_smoothing), (real_out, fake_out)

    def _generator_loss(self, fake, fake_labels):
        fake_out = seam.forward(self.discriminator, [fake, fake_labels], training=True)
        return self.gan_loss.generator(fake_out), ()

    # --------------------------------------------------------------- sampling

    def generate(self, num=None, labels=None, seed=None, z=None, batch_size=256):
        """Generates images of the given classes, channels last, in [-1, 1], as NumPy.

        Args:
            num: number of images (ignored when `z` is given).
            labels: one class id for all, a sequence of ids (one per image),
                or None: the classes in turn (0, 1, ..., 0, 1, ...).
            seed: seed of the NumPy noise: the same seed gives the same
                images on every backend.
            z: latent vectors (num, latent_dim) to use instead of noise.
            batch_size: images per generator call.

        Example:
            >>> sevens = gan.generate(8, labels=7, seed=0)  # doctest: +SKIP
        """
        if z is None:
            if num is None:
                num = None if labels is None or np.ndim(labels) == 0 else len(labels)
                if num is None:
                    raise ValueError("generate() needs `num`, `z`, or a sequence of `labels`.")
            z = latent_noise(image_count(num), self.latent_dim, seed)
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"`z` must have shape (num, {self.latent_dim}). Received shape {z.shape}.")
        labels = self._generate_labels(labels, len(z))
        batches = [
            ops.convert_to_numpy(self.sampling_generator(
                [ops.convert_to_tensor(z[i : i + batch_size]), ops.convert_to_tensor(labels[i : i + batch_size])],
                training=False,
            ))
            for i in range(0, len(z), batch_size)
        ]
        return np.concatenate(batches) if batches else np.zeros((0,) + self.image_shape, "float32")

    def _generate_labels(self, labels, num):
        if labels is None:
            return (np.arange(num) % self.num_classes).astype("int32")
        array = np.asarray(labels)
        if array.ndim == 0:
            array = np.full((num,), array)
        if array.ndim != 1 or len(array) != num:
            raise ValueError(
                f"`labels` must be one class id or one per image ({num}). Received shape {np.shape(labels)}."
            )
        check_label_values(array, self.num_classes, "generate()")
        return array.astype("int32")

    # ------------------------------------------------------- run directories

    def grid_inputs(self, num, seed, data=None):
        """One row per class, the same `num // num_classes` (at least one) noise vectors in each row.

        Returns:
            float32 (rows * columns, latent_dim + 1): z, then the label as a float.
        """
        del data
        columns = max(1, num // self.num_classes)
        noise = latent_noise(columns, self.latent_dim, seed=seed)
        z = np.tile(noise, (self.num_classes, 1))
        labels = np.repeat(np.arange(self.num_classes), columns).astype("float32")
        return np.concatenate([z, labels[:, None]], axis=1)

    def grid_images(self, inputs):
        inputs = np.asarray(inputs, "float32")
        z, labels = inputs[:, :-1], np.rint(inputs[:, -1]).astype("int32")
        images = self.generate(z=z, labels=labels)
        return in_sample_range(images, self.sampling_generator), len(z) // self.num_classes

    def exported_generators(self):
        return {"generator": self.sampling_generator}

    @classmethod
    def from_run_config(cls, config, data=None):
        """The compiled ConditionalDCGAN a train.py config describes (`model="conditional"`).

        Its networks are `build_conditional_generator` and
        `build_conditional_discriminator` with the config's conditioning,
        filters and dropout; its classes are `config.num_classes`, else the
        data set's.

        Args:
            config: a checked `dcgan_keras.config.Config`.
            data: the run's data set; needed when `config.num_classes` is None.

        Raises:
            ValueError: no class count (neither the config nor labelled data),
                or labels beyond `config.num_classes`.

        Example:
            >>> from dcgan_keras.config import resolve_config
            >>> config = resolve_config("synthetic", overrides={"model": "conditional", "num_classes": 3})
            >>> ConditionalDCGAN.from_run_config(config).num_classes
            3
        """
        from dcgan_keras.networks import build_conditional_discriminator, build_conditional_generator

        num_classes = run_classes(config, data)
        generator = build_conditional_generator(
            latent_dim=config.latent_dim, num_classes=num_classes, image_size=config.image_size,
            channels=config.channels, conditioning=config.conditioning, filters=config.g_filters,
            kernel_size=config.kernel_size, bn_momentum=config.bn_momentum,
        )
        discriminator = build_conditional_discriminator(
            image_size=config.image_size, channels=config.channels, num_classes=num_classes,
            conditioning=config.conditioning, filters=config.d_filters, kernel_size=config.kernel_size,
            dropout=config.dropout, batch_norm=config.d_batch_norm, bn_momentum=config.bn_momentum,
            seed=config.seed,
        )
        gan = cls(
            discriminator=discriminator, generator=generator, latent_dim=config.latent_dim,
            num_classes=num_classes, d_steps=config.d_steps, label_smoothing=config.label_smoothing,
            seed=config.seed, ema_momentum=config.ema or None,
        )
        gan.compile(**run_optimizers(config), loss_fn=config.loss, jit_compile=config.jit_compile)
        return gan

    def run_identity(self, config=None, data=None):
        if config is not None:
            return {"latent_dim": config.latent_dim,
                    "image shape": (config.image_size, config.image_size, config.channels),
                    "classes": run_classes(config, data)}
        return {"latent_dim": self.latent_dim, "image shape": tuple(self.image_shape), "classes": self.num_classes}

    def run_batches(self, data, **kwargs):
        return data.batches(labels=True, **kwargs)


def run_classes(config, data):
    """The classes a conditional run trains: `config.num_classes`, else the data set's; checked against its labels.

    Raises:
        ValueError: neither gives a count, the data has no labels, or its
            labels run past `config.num_classes`.
    """
    if data is not None and data.labels is None:
        raise ValueError(
            f"{data.name} ({data.source or 'no source'}) has no labels, and model='conditional' trains on images "
            "with their class ids. Use a labelled data set (mnist, fashion_mnist, kmnist, emnist, cifar10, "
            "cifar100 with their label files; an npz with a 'labels' array), or model='dcgan'."
        )
    if config.num_classes is None:
        if data is None:
            raise ValueError("model='conditional' needs num_classes, or a labelled data set to take it from.")
        num_classes = data.num_classes
        if num_classes < 2:
            raise ValueError(
                f"{data.name} holds one class ({(data.class_names or ['0'])[0]!r}): a conditional model needs "
                "two or more (a folder: one sub-folder per class). Train an unconditional DCGAN (model='dcgan')."
            )
        return num_classes
    if data is not None and len(data.labels) and int(data.labels.max()) >= config.num_classes:
        raise ValueError(
            f"num_classes={config.num_classes}, but {data.name}'s labels run up to {int(data.labels.max())}: "
            f"set num_classes to at least {int(data.labels.max()) + 1}, or leave it out to take the data's "
            f"({data.num_classes})."
        )
    return config.num_classes


# ------------------------------------------------------------------ checks


def _unlabelled_message(owner, num_classes):
    return (
        f"{owner} is conditional: it trains on (images, labels) batches, labels being class ids in "
        f"[0, {num_classes}) or one-hot vectors, and this data holds images alone. Pass fit((images, labels)) "
        "or fit(images, labels), or a labelled data set's batches(batch_size, labels=True); DCGAN trains on "
        "images without labels."
    )


def checked_labels(labels, num_classes, batch_size=None, owner="ConditionalDCGAN"):
    """A batch's labels as int32 ids (batch,), from ids (batch,) / (batch, 1) or one-hot (batch, num_classes).

    Shapes and dtypes only (a compiled step has no values to read): `fit`
    checks the values of arrays before training (`check_label_values`).

    Args:
        labels: the batch's labels, as `fit` hands them over.
        num_classes: the model's number of classes.
        batch_size: the batch's number of images, when known, to compare.
        owner: the GAN's class name, for the messages.
    """
    shape = tuple(labels.shape)
    if len(shape) == 2 and shape[1] == num_classes and num_classes != 1:
        labels = ops.argmax(labels, axis=-1)
    elif len(shape) == 2 and shape[1] == 1:
        labels = ops.reshape(labels, (-1,))
    elif len(shape) != 1:
        raise ValueError(
            f"{owner}'s labels must be class ids of shape (batch,) or (batch, 1), or one-hot vectors of shape "
            f"(batch, {num_classes}). Received labels of shape {shape}."
        )
    if batch_size is not None and shape[0] is not None and int(shape[0]) != int(batch_size):
        raise ValueError(
            f"A batch holds {int(batch_size)} images and {int(shape[0])} labels: {owner} needs one label per image."
        )
    return ops.cast(labels, "int32")


def check_label_values(labels, num_classes, where="The labels"):
    """Refuses ids outside [0, num_classes), non-integer ids, or one-hot rows that are not one-hot.

    Args:
        labels: a NumPy array of ids (n,) / (n, 1) or one-hot rows (n, num_classes).
        num_classes: the model's number of classes.
        where: what the labels are, for the message.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == num_classes and num_classes != 1:
        ones = np.sum(labels == 1, axis=1)
        zeros = np.sum(labels == 0, axis=1)
        bad = np.flatnonzero((ones != 1) | (ones + zeros != num_classes))
        if bad.size:
            raise ValueError(
                f"{where}: one-hot labels must hold a single 1 per row, zeros elsewhere; row {int(bad[0])} is "
                f"{labels[bad[0]].tolist()}."
            )
        return
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"{where}: labels must be class ids of shape (n,) or (n, 1), or one-hot vectors of shape "
            f"(n, {num_classes}). Received shape {labels.shape}."
        )
    if labels.size == 0:
        return
    if not (np.issubdtype(labels.dtype, np.integer) or np.all(np.mod(labels, 1) == 0)):
        raise ValueError(f"{where}: class ids must be whole numbers. Received e.g. {labels[np.mod(labels, 1) != 0][0]!r}.")
    low, high = labels.min(), labels.max()
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"{where}: class ids must lie in [0, {num_classes}) (num_classes={num_classes}); received ids from "
            f"{int(low)} to {int(high)}. Build the model for the data's number of classes."
        )


def _check_labelled_fit(gan, x, args, kwargs):
    from dcgan_keras.data.batches import Batches
    from dcgan_keras.fit_inputs import _fit_arguments

    owner = type(gan).__name__
    y = _fit_arguments(args, kwargs).get("y")
    if isinstance(x, Batches):
        labels = getattr(x, "labels", None)
        if labels is None:
            raise ValueError(_unlabelled_message(owner, gan.num_classes))
        check_label_values(labels, gan.num_classes, f"{owner}.fit")
        return
    if y is None and isinstance(x, (tuple, list)) and len(x) == 2:
        images, labels = x
    elif y is not None:
        images, labels = x, y
    else:
        if isinstance(x, np.ndarray) or ops.is_tensor(x):
            raise ValueError(_unlabelled_message(owner, gan.num_classes))
        return  # a dataset or generator: its batches are checked by shape in the step
    if not _is_array(images) or not _is_array(labels):
        return
    if len(images) != len(labels):
        raise ValueError(
            f"{owner}.fit was given {len(images)} images and {len(labels)} labels: it needs one label per image."
        )
    check_label_values(ops.convert_to_numpy(labels), gan.num_classes, f"{owner}.fit")


def _is_array(value):
    return isinstance(value, np.ndarray) or ops.is_tensor(value)


def _label_layer_classes(network):
    """{layer name: number of classes} of the network's label layers (one-hot encodings, embeddings)."""
    found = {}
    for layer in network.layers:
        if isinstance(layer, keras.layers.CategoryEncoding):
            found[layer.name] = int(layer.num_tokens)
        elif isinstance(layer, keras.layers.Embedding):
            found[layer.name] = int(layer.input_dim)
    return found


def _check_conditional(discriminator, generator, latent_dim, num_classes):
    """Checks the networks fit together and with the classes; returns (latent_dim, num_classes)."""
    for role, network, first in (("discriminator", discriminator, "images"), ("generator", generator, "z")):
        check_network(role, network, "ConditionalDCGAN")
        if len(network.inputs) != 2:
            raise ValueError(
                f"The {role} of a ConditionalDCGAN takes two inputs, [{first}, labels] (labels: int class ids "
                f"of shape ()); {network.name!r} takes {len(network.inputs)}. Build it with "
                f"dcgan_keras.networks.build_conditional_{role}, or an unconditional DCGAN."
            )
        label_shape = tuple(network.inputs[1].shape[1:])
        if label_shape != ():
            raise ValueError(
                f"The {role}'s second input must take int class ids of shape (); "
                f"{network.name!r}'s has shape {label_shape}."
            )
    z_shape, image_shape = tuple(generator.inputs[0].shape[1:]), tuple(discriminator.inputs[0].shape[1:])
    if len(z_shape) != 1:
        raise ValueError(f"The generator's first input must be z of shape (latent_dim,). Received {z_shape}.")
    latent_dim = z_shape[0] if latent_dim is None else latent_dim
    if latent_dim != z_shape[0]:
        raise ValueError(
            f"`latent_dim` must match the generator's z input size {z_shape[0]}. Received: latent_dim={latent_dim}"
        )
    fake_shape = tuple(generator.output_shape[1:])
    if fake_shape != image_shape:
        raise ValueError(
            f"The generator makes images of shape {fake_shape} but the discriminator expects {image_shape}. "
            "Build both for the same image_size and channels."
        )
    if tuple(discriminator.output_shape[1:]) != (1,):
        raise ValueError(
            f"The discriminator must return one value per image, shape (batch, 1). Received {discriminator.output_shape}."
        )
    layers = {f"{role}'s {name}": count for role, network in (("generator", generator), ("discriminator", discriminator))
              for name, count in _label_layer_classes(network).items()}
    if num_classes is None:
        counts = sorted(set(layers.values()))
        if len(counts) != 1:
            raise ValueError(
                "ConditionalDCGAN needs `num_classes`: it could not be read from the networks' label layers "
                f"({layers or 'none found'})."
            )
        num_classes = counts[0]
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")
    mismatched = {name: count for name, count in layers.items() if count != num_classes}
    if mismatched:
        raise ValueError(
            f"num_classes={num_classes} does not match the networks' label layers: "
            + ", ".join(f"{name} has {count} classes" for name, count in mismatched.items())
            + ". Build the networks and the model for the same number of classes."
        )
    return latent_dim, int(num_classes)
