"""Pix2Pix: image-to-image translation by a conditional GAN with an L1 term (Isola et al., 2017).

The generator G maps an input image x to an output image; the discriminator D
judges (x, y) pairs, real targets against G's outputs. G's loss is the
adversarial loss plus `l1_weight` (the paper's 100) times mean |y - G(x)|.

Each step follows the authors' code: G(x) once; D updated on (x, y) against
(x, G(x)) with no gradient into G, its loss halved as in the paper; then G
updated through the updated D from that same forward pass.

Translating (BatchNorm and dropout at inference) is a decision made
explicit in `translate`: by default the network runs in inference mode
(BatchNorm's moving statistics, no dropout). The paper instead keeps dropout
at test time, as G's only noise, and normalizes with the test batch's
statistics; the TensorFlow tutorial gets that with `training=True`, which
also moves BatchNorm's moving statistics on every call
(tensorflow/tensorflow#29478). Here `dropout=True` and
`batch_statistics=True` ask for each of those, and no call of `translate`
ever changes a moving statistic: the layers' state is put back as it was.
"""

import contextlib

import keras
import numpy as np
from keras import ops

from dcgan_keras import backend as seam, losses
from dcgan_keras.gans.base import GAN, check_network, unwrap
from dcgan_keras.gans.dcgan import checked_images
from dcgan_keras.models import in_sample_range

METRIC_NAMES = ("d_loss", "g_gan_loss", "g_l1_loss", "d_real", "d_fake")


@keras.saving.register_keras_serializable(package="dcgan_keras")
class Pix2Pix(GAN):
    """Paired image-to-image translation trained with `fit` on (input, target) batches.

    `fit(x=inputs, y=targets)`, or a dataset of (input, target) batches
    (e.g. `dcgan_keras.data.paired`'s `PairedDataset.batches`), both in
    [-1, 1]. `fit` reports `d_loss` (D's loss, halved as in the paper),
    `g_gan_loss` (G's adversarial loss), `g_l1_loss` (mean |target - G(input)|,
    before weighting), `d_real` and `d_fake` (D's mean probability of "real"
    over the patches of real and of generated pairs, or its mean score under
    a loss that scores them: `losses.read_outputs`).

    Compile with `compile(d_optimizer=, g_optimizer=, loss_fn=)`; each
    optimizer defaults to Adam(2e-4, beta_1=0.5), as in the paper.

    Args:
        generator: a Keras model, input images (H, W, C_in) -> images
            (H, W, C_out), e.g. `build_unet_generator`.
        discriminator: a Keras model of two image inputs, "image" (the
            input) and "target" (real or generated), returning logits (one
            per image, or one per patch as `build_patch_discriminator` does).
            Taking a dict {"image", "target"} or a list [image, target].
        l1_weight: weight of the L1 term in G's loss (the paper's 100).
        seed: seed of the training noise (the generator's dropout).
        **kwargs: passed to `keras.Model`, e.g. `name`.

    Example:
        >>> from dcgan_keras.networks import build_unet_generator, build_patch_discriminator
        >>> gan = Pix2Pix(generator=build_unet_generator(64), discriminator=build_patch_discriminator(64))
        >>> gan.compile()
        >>> gan.fit(inputs, targets, batch_size=1, epochs=200)  # doctest: +SKIP
        >>> outputs = gan.translate(inputs)  # doctest: +SKIP
    """

    network_names = ("discriminator", "generator")
    optimizer_targets = {"d": ("discriminator",), "g": ("generator",)}
    step_optimizer = "g"
    adversaries = ("discriminator",)
    metric_names = METRIC_NAMES
    inputs = "pairs"
    range_of = "generator"

    def __init__(self, generator, discriminator, l1_weight=100.0, seed=None, **kwargs):
        pair_as_dict = _check_pair_networks(generator, discriminator)
        if isinstance(l1_weight, bool) or not isinstance(l1_weight, (int, float)) or not l1_weight >= 0:
            raise ValueError(f"`l1_weight` must be a number >= 0. Received: l1_weight={l1_weight!r}")
        super().__init__({"discriminator": discriminator, "generator": generator}, seed=seed, **kwargs)
        self.l1_weight = float(l1_weight)
        self._pair_as_dict = pair_as_dict

    def extra_config(self):
        return {"l1_weight": self.l1_weight}

    @property
    def input_image_shape(self):
        """(H, W, C_in) of the images the generator translates."""
        return tuple(self.generator.input_shape[1:])

    @property
    def image_shape(self):
        """(H, W, C_out) of the images the generator makes."""
        return tuple(self.generator.output_shape[1:])

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn=None, jit_compile="auto", **kwargs):
        """Sets the two optimizers and the adversarial loss.

        Args:
            d_optimizer: the discriminator's optimizer. Default Adam(2e-4, beta_1=0.5).
            g_optimizer: the generator's optimizer. Same default.
            loss_fn: None or "non_saturating" (BCE on logits, the paper's),
                "least_squares" and the others of `dcgan_keras.losses`, a
                `GANLoss`, or a Keras loss; applied to every patch's logit.
            jit_compile: as `GAN.compile`.
            **kwargs: `optimizers={"d": ..., "g": ...}`, and what Keras's compile takes.
        """
        named = {k: v for k, v in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)) if v is not None}
        super().compile(loss_fn=loss_fn, jit_compile=jit_compile, **named, **kwargs)

    # --------------------------------------------------------------- the game

    def unpack_batch(self, data):
        pair = unwrap(data)
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(
                "Pix2Pix.fit takes (input, target) image pairs: fit(x=inputs, y=targets), or a dataset of "
                f"(input, target) batches. Received {type(pair).__name__}"
                + (f" of {len(pair)} parts." if isinstance(pair, (tuple, list)) else ".")
            )
        source = checked_images(pair[0], self.input_image_shape, "Pix2Pix")
        target = checked_images(pair[1], self.image_shape, "Pix2Pix")
        return source, target

    def train_batch(self, batch):
        """One step on (input, target) batches in [-1, 1]: D, then G; returns the five metrics."""
        source, target = batch
        # G(x) once: D learns on it with no gradient into G, and G's update
        # then backpropagates through this same pass.
        fake, generator_pass = seam.record(
            lambda: seam.forward(self.generator, source, training=True), self.generator.trainable_variables
        )
        d_loss, (real_out, fake_out) = seam.minimize(
            lambda: self._discriminator_loss(source, target, fake),
            self.discriminator.trainable_variables,
            self.d_optimizer,
        )
        _, (gan_loss, l1_loss) = generator_pass.minimize(
            lambda fake: self._generator_loss(source, target, fake), self.g_optimizer
        )
        d_real, d_fake, _ = losses.read_outputs(self.gan_loss, real_out, fake_out)
        return {"d_loss": d_loss, "g_gan_loss": gan_loss, "g_l1_loss": l1_loss, "d_real": d_real, "d_fake": d_fake}

    def judge(self, source, target, training=True):
        """D's logits for (input, target) pairs, whichever way D takes its two inputs."""
        pair = {"image": source, "target": target} if self._pair_as_dict else [source, target]
        return seam.forward(self.discriminator, pair, training=training)

    def _discriminator_loss(self, source, target, fake):
        fake = ops.stop_gradient(fake)
        real_out = self.judge(source, target)
        fake_out = self.judge(source, fake)
        # Halved, as in the paper: D learns at half G's pace.
        loss = 0.5 * self.gan_loss.discriminator(real_out, fake_out, 0.0)
        return loss, (real_out, fake_out)

    def _generator_loss(self, source, target, fake):
        # D has just been updated: G learns against the discriminator it now faces.
        gan_loss = self.gan_loss.generator(self.judge(source, fake))
        l1_loss = ops.mean(ops.abs(ops.cast(target, "float32") - ops.cast(fake, "float32")))
        return gan_loss + self.l1_weight * l1_loss, (gan_loss, l1_loss)

    # ------------------------------------------------------------ translating

    def call(self, images, training=False):
        """G(images), so the GAN can stand in for its generator (inference mode unless `training`)."""
        return self.generator(images, training=training)

    def translate(self, images, dropout=False, batch_statistics=False, batch_size=64):
        """Translates input images, as a NumPy array of images in [-1, 1].

        Args:
            images: (num, H, W, C_in) floats in [-1, 1].
            dropout: False (the default): no dropout, a deterministic
                translation. True: dropout as in training, the paper's noise
                at test time (each call draws fresh masks).
            batch_statistics: False (the default): BatchNorm normalizes with
                its moving statistics. True: with each call's batch's own
                statistics, as the paper does at test time (the results then
                depend on the batch). Either way the moving statistics are
                left as they were.
            batch_size: images per generator call (with `batch_statistics`,
                the batch the statistics come from).

        Returns:
            float32 (num, H, W, C_out).

        Example:
            >>> outputs = gan.translate(inputs)  # doctest: +SKIP
            >>> noisy = gan.translate(inputs, dropout=True)  # doctest: +SKIP
        """
        images = np.asarray(images, dtype="float32")
        if images.ndim != 4 or tuple(images.shape[1:]) != self.input_image_shape:
            raise ValueError(
                f"translate takes images of shape (num, *{self.input_image_shape}). Received shape {images.shape}."
            )
        with translation_mode(self.generator, dropout, batch_statistics) as training:
            batches = [
                ops.convert_to_numpy(self.generator(images[i : i + batch_size], training=training))
                for i in range(0, len(images), batch_size)
            ]
        if not batches:
            return np.zeros((0,) + self.image_shape, "float32")
        return in_sample_range(np.concatenate(batches).astype("float32"), self.generator)

    # ------------------------------------------------------- run directories

    def grid_inputs(self, num, seed, data=None):
        """`num` fixed (input, target) pairs of `data`, drawn by `seed`, stacked on channels.

        Args:
            num: how many pairs the grid shows.
            seed: the run's seed.
            data: the pairs to draw from (held-out ones, ideally): a
                `PairedDataset`, or (inputs, targets) arrays, uint8 or in [-1, 1].

        Returns:
            float32 (num, H, W, C_in + C_out): each input and its target.
        """
        if data is None:
            raise ValueError("Pix2Pix's sample grid shows held-out pairs: grid_inputs needs `data`.")
        if getattr(data, "held_out", None) is not None:  # a run's data set (`load_run_data`)
            data = data.held_out
        sources, targets = _pair_arrays(data)
        count = min(num, len(sources))
        take = np.sort(np.random.default_rng(seed).choice(len(sources), count, replace=False))
        return np.concatenate([_as_floats(sources[take]), _as_floats(targets[take])], axis=-1)

    def grid_images(self, inputs):
        """input | target | output, one pair a row (3 columns), from `grid_inputs`' array."""
        inputs = np.asarray(inputs, "float32")
        split = self.input_image_shape[-1]
        sources, targets = inputs[..., :split], inputs[..., split:]
        outputs = self.translate(sources)
        channels = max(split, targets.shape[-1], outputs.shape[-1])
        rows = [_with_channels(part, channels) for part in (sources, targets, outputs)]
        return np.stack(rows, axis=1).reshape((-1,) + outputs.shape[1:3] + (channels,)), 3

    def exported_generators(self):
        return {"generator": self.generator}

    # ----------------------------------------------------------- train.py runs

    @classmethod
    def from_run_config(cls, config, data=None):
        """The compiled Pix2Pix a train.py config describes (`model="pix2pix"`).

        The paper's networks: `build_unet_generator` and the 70x70
        `build_patch_discriminator`, at `config.image_size` with
        `config.filters` (None: 64), from `in_channels` (None: `channels`) to
        `channels`; Adam at the config's rates (`lr_decay`: the paper's schedule).

        Args:
            config: a checked `dcgan_keras.config.Config`.
            data: the run's `PairedDataset` (needed with `lr_decay`, to count an epoch's steps).

        Example:
            >>> from dcgan_keras.config import make_config
            >>> config = make_config({"model": "pix2pix", "image_size": 32, "channels": 3, "filters": 4})
            >>> Pix2Pix.from_run_config(config).image_shape
            (32, 32, 3)
        """
        from dcgan_keras.gans.run_config import run_adams, run_filters
        from dcgan_keras.networks import build_patch_discriminator, build_unet_generator

        in_channels, out_channels = run_channels(config)
        size, filters = config.image_size, run_filters(config)
        generator = build_unet_generator(size, in_channels, out_channels, filters=filters, seed=config.seed,
                                         name="generator")
        discriminator = build_patch_discriminator(size, in_channels, out_channels, filters=filters,
                                                  seed=config.seed, name="discriminator")
        gan = cls(generator=generator, discriminator=discriminator, l1_weight=config.l1_weight, seed=config.seed)
        gan.compile(**run_adams(config, ("d", "g"), data), loss_fn=config.loss, jit_compile=config.jit_compile)
        return gan

    @classmethod
    def load_run_data(cls, config):
        """The run's training pairs (`dcgan_keras.data.paired.load_paired_dataset`), with its held-out ones.

        `config.dataset` is a named pix2pix set (facades, cityscapes, ...:
        downloaded with `keras.utils.get_file` when `data_dir` is None) or
        "paired_folder" (`data_dir`: side-by-side images, or A/ and B/).
        The `val/` split, where the folder has one, becomes `data.held_out`:
        the sample grid's pairs and `val_l1`'s (`run_callbacks`).

        Raises:
            DataError: as `load_paired_dataset` (an image that is not two
                halves, A/ and B/ names that do not pair, ...), or an unknown
                `data_options` key.
        """
        from dcgan_keras.data import DataError
        from dcgan_keras.data.paired import has_split, load_paired_dataset

        unknown = sorted(set(config.data_options) - {"cache_dir", "workers"})
        if unknown:
            raise DataError(f"Paired data sets take the data_options cache_dir and workers, not {', '.join(unknown)}.")
        in_channels, out_channels = run_channels(config)

        def load(split, data_dir):
            return load_paired_dataset(
                config.dataset, data_dir=data_dir, image_size=config.image_size, direction=config.direction,
                split=split, in_channels=in_channels, out_channels=out_channels, limit=config.limit,
                **config.data_options,
            )

        data = load("train", config.data_dir)
        data.held_out = load("val", data.source) if has_split(data.source, "val") else None
        data.run_options = {"jitter": config.jitter}
        return data

    def run_identity(self, config=None, data=None):
        del data
        if config is not None:
            in_channels, out_channels = run_channels(config)
            size = config.image_size
            return {"input shape": (size, size, in_channels), "image shape": (size, size, out_channels)}
        return {"input shape": self.input_image_shape, "image shape": self.image_shape}

    def run_batches(self, data, **kwargs):
        """(input, target) batches of the run's pairs, jittered as its config says (`load_run_data`)."""
        return data.batches(**kwargs, **getattr(data, "run_options", {}))

    def run_callbacks(self, data):
        """`ValidationL1` on the held-out pairs, where the data set has them."""
        held_out = getattr(data, "held_out", None)
        return [] if held_out is None else [ValidationL1(held_out)]


def run_channels(config):
    """(input channels, target channels) of a Pix2Pix run config."""
    return (config.channels if config.in_channels is None else config.in_channels), config.channels


class ValidationL1(keras.callbacks.Callback):
    """Adds `val_l1` to each epoch's logs: mean |target - G(input)| over held-out pairs.

    In [-1, 1] units, as `g_l1_loss`; G translates in inference mode
    (`Pix2Pix.translate`'s default). Before `MetricsCSV` in a run's
    callbacks, so that metrics.csv records it.

    Args:
        pairs: a `PairedDataset` (uint8) or (inputs, targets) arrays.
        batch_size: pairs per generator call.
    """

    def __init__(self, pairs, batch_size=32):
        super().__init__()
        self.inputs, self.targets = _pair_arrays(pairs)
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        total, count = 0.0, 0
        for i in range(0, len(self.inputs), self.batch_size):
            targets = _as_floats(self.targets[i : i + self.batch_size])
            outputs = self.model.translate(_as_floats(self.inputs[i : i + self.batch_size]), batch_size=self.batch_size)
            total += float(np.abs(outputs - targets).sum(dtype="float64"))
            count += targets.size
        logs["val_l1"] = total / max(count, 1)


@contextlib.contextmanager
def translation_mode(network, dropout=False, batch_statistics=False):
    """Runs `network` with dropout and BatchNorm's batch statistics each on or off, changing no statistic.

    Yields the `training` flag to call the network with: False when neither
    is asked for (plain inference). Otherwise True, with the Dropout layers
    silenced (rate 0) unless `dropout`, BatchNorm frozen (trainable=False,
    which in Keras runs it in inference mode) unless `batch_statistics`, and
    every BatchNorm's moving statistics put back afterwards.

    Args:
        network: the Keras model to be called inside.
        dropout: keep its Dropout layers' dropout.
        batch_statistics: normalize with each batch's own statistics.
    """
    if not (dropout or batch_statistics):
        yield False
        return
    layers = list(network._flatten_layers(include_self=False, recursive=True))
    norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    drops = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    trainable = [layer.trainable for layer in norms]
    rates = [layer.rate for layer in drops]
    statistics = [(v, ops.convert_to_numpy(v)) for layer in norms for v in layer.non_trainable_variables]
    try:
        if not dropout:
            for layer in drops:
                layer.rate = 0.0
        if not batch_statistics:
            for layer in norms:
                layer.trainable = False
        yield True
    finally:
        for layer, rate in zip(drops, rates):
            layer.rate = rate
        for layer, flag in zip(norms, trainable):
            layer.trainable = flag
        for variable, value in statistics:
            variable.assign(value)


def _check_pair_networks(generator, discriminator):
    """Checks that the networks fit together; returns whether D takes its pair as a dict."""
    for role, network in (("generator", generator), ("discriminator", discriminator)):
        check_network(role, network, "Pix2Pix")
    if len(generator.inputs) != 1 or len(generator.input_shape) != 4 or len(generator.output_shape) != 4:
        raise ValueError(
            "The generator must take one batch of images (batch, H, W, C) and return images. Received input "
            f"shape {generator.input_shape} and output shape {generator.output_shape}."
        )
    try:
        inputs = discriminator.input
    except (AttributeError, ValueError):  # a Sequential's, on some backends
        inputs = None
    if isinstance(inputs, dict):
        if set(inputs) != {"image", "target"}:
            raise ValueError(
                f"The discriminator's inputs must be named 'image' and 'target'. Received: {sorted(inputs)}"
            )
        shapes = [tuple(inputs["image"].shape[1:]), tuple(inputs["target"].shape[1:])]
    elif isinstance(inputs, (list, tuple)) and len(inputs) == 2:
        shapes = [tuple(t.shape[1:]) for t in inputs]
    else:
        raise ValueError(
            "The discriminator judges (input, target) pairs: it must take two image inputs, 'image' and "
            "'target' (see build_patch_discriminator). Received one input of shape "
            f"{discriminator.input_shape}."
        )
    expected = [tuple(generator.input_shape[1:]), tuple(generator.output_shape[1:])]
    if shapes != expected:
        raise ValueError(
            f"The discriminator takes (image, target) of shapes {shapes[0]} and {shapes[1]}, but the generator "
            f"translates {expected[0]} into {expected[1]}. Build both for the same image_size and channels."
        )
    return isinstance(inputs, dict)


def _pair_arrays(data):
    if hasattr(data, "inputs") and hasattr(data, "targets"):
        return np.asarray(data.inputs), np.asarray(data.targets)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return np.asarray(data[0]), np.asarray(data[1])
    raise ValueError(
        "Pix2Pix's grid_inputs takes a PairedDataset or (inputs, targets) arrays. "
        f"Received: {type(data).__name__}"
    )


def _as_floats(images):
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype("float32") / np.float32(127.5) - np.float32(1.0)
    return images.astype("float32")


def _with_channels(images, channels):
    return np.repeat(images, channels, axis=-1) if images.shape[-1] == 1 and channels > 1 else images
