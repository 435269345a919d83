"""The DCGAN networks: a generator and a discriminator, as functional Keras models.

Both follow Radford et al. (2015): the generator grows a small feature map to
the image size with strided transposed convolutions, the discriminator shrinks
the image with strided convolutions; weights start from N(0, 0.02). The
discriminator returns logits (no sigmoid): the losses take logits, which is
numerically safer than probabilities.
"""

import math

import keras
from keras import layers

from dcgan_keras import config

# The blocks and per-size defaults the conditional networks share (networks/blocks.py);
# SUPPORTED_SIZES and PRESETS are part of this module's API too.
from dcgan_keras.networks.blocks import (  # noqa: F401
    CHANNELS,
    PRESETS,
    SUPPORTED_SIZES,
    _DISCRIMINATOR_DEFAULTS,
    _activation,
    _batch_norm,
    _check_choice,
    _kernel_init,
    _resolve,
    generator_arguments,
    generator_trunk,
    seeded_dropout,
)


def build_generator(
    latent_dim=100,
    image_size=None,
    channels=None,
    filters=None,
    kernel_size=None,
    activation=None,
    batch_norm=True,
    bn_momentum=0.9,
    init_stddev=0.02,
    preset=None,
    name="generator",
    architecture="transposed",
    num_classes=None,
    conditioning="projection",
    embedding_dim=None,
):
    """Builds the DCGAN generator: z -> image in [-1, 1], channels last.

    z -> Dense -> BatchNorm -> activation -> Reshape to a (7x7 or 4x4) map ->
    Conv2DTranspose (+BatchNorm +activation) blocks -> Conv2DTranspose to
    `channels` with tanh. The last `log2(image_size / start) - 1` blocks and
    the output layer double the resolution; earlier blocks keep it (the
    TensorFlow tutorial's 256 -> 128 block is such a one).

    Args:
        latent_dim: size of the noise vector z.
        image_size: 28, 32, 64 or 128 (default 28, or the preset's).
        channels: 1 (grayscale) or 3 (RGB) (default 1, or the preset's).
        filters: channels of the projected map and of each block, e.g.
            `(256, 128, 64)`. Default: chosen for the image size.
        kernel_size: of the transposed convolutions.
        activation: "relu", "leaky_relu" (slope 0.2) or any Keras activation.
        batch_norm: BatchNorm after the projection and every block, as in
            the paper. Off, the layers get biases instead.
        bn_momentum: BatchNorm moving-average momentum. 0.9 (PyTorch's 0.1)
            lets the inference statistics follow a short run.
        init_stddev: standard deviation of the N(0, s) weight initialization.
        preset: "tf_tutorial" (28x28x1) or "dcgan64" (64x64x3).
        name: model name.
        architecture: "transposed" (the default, above) or "upsample":
            bilinear upsampling then two 3x3 convolution blocks per doubling
            instead of transposed convolutions, against checkerboard
            artifacts (see `_upsample_generator`).
        num_classes: None (unconditional), or a number of classes: the
            class-conditional generator [z, labels] -> image of
            `dcgan_keras.networks.build_conditional_generator`.
        conditioning, embedding_dim: how it reads the label ("projection",
            the default, or "concat"; see `build_conditional_generator`);
            with `num_classes` only.

    Returns:
        A functional `keras.Model`.

    Example:
        >>> g = build_generator(latent_dim=100, image_size=28, channels=1)
        >>> g.output_shape
        (None, 28, 28, 1)
    """
    image_size, channels = _resolve(preset, image_size, channels)
    _check_choice("architecture", architecture, GENERATOR_ARCHITECTURES)
    if architecture == "upsample":
        return _upsample_generator(latent_dim, image_size, channels, filters, activation, batch_norm, bn_momentum,
                                   init_stddev, name)
    if num_classes is not None:  # the conditional generator (dcgan_keras/networks/conditional.py)
        from dcgan_keras.networks.conditional import build_conditional_generator

        return build_conditional_generator(
            latent_dim, num_classes, image_size, channels, conditioning, embedding_dim, filters, kernel_size,
            activation, batch_norm, bn_momentum, init_stddev, name,
        )
    filters, kernel_size, activation = generator_arguments(latent_dim, image_size, filters, kernel_size, activation)
    z = keras.Input((latent_dim,), name="z")
    images = generator_trunk(
        z, image_size, channels, filters, kernel_size, activation, batch_norm, bn_momentum, init_stddev
    )
    return keras.Model(z, images, name=name)


def build_discriminator(
    image_size=None,
    channels=None,
    filters=None,
    kernel_size=None,
    dropout=0.3,
    batch_norm=None,
    bn_momentum=0.9,
    init_stddev=0.02,
    seed=None,
    preset=None,
    name="discriminator",
    architecture="strided",
    spectral_norm=False,
    num_classes=None,
    conditioning="projection",
):
    """Builds the DCGAN discriminator: image in [-1, 1] -> one logit.

    Strided Conv2D blocks (stride 2) with LeakyReLU(0.2) and dropout, optional
    BatchNorm (never on the first block, as in the paper), then Flatten ->
    Dense(1). No sigmoid: the GAN losses take logits.

    Args:
        image_size: 28, 32, 64 or 128 (default 28, or the preset's).
        channels: 1 or 3 (default 1, or the preset's).
        filters: channels of each strided block, e.g. `(64, 128)`.
            Default: chosen for the image size.
        kernel_size: of the convolutions.
        dropout: dropout rate after each block (0 disables it).
        batch_norm: BatchNorm after every block but the first. Default: off
            at 28 (the TensorFlow tutorial's), on for the larger sizes.
        bn_momentum: BatchNorm moving-average momentum.
        init_stddev: standard deviation of the N(0, s) weight initialization.
        seed: seeds the dropout masks. Without one, torch draws them from its
            global RNG, which a checkpoint cannot restore: training runs set it.
        preset: "tf_tutorial" (28x28x1) or "dcgan64" (64x64x3).
        name: model name.
        architecture: "strided" (the default, above) or "blocks3x3": per
            block two stride-1 3x3 convolutions and a stride-2 one (see
            `_blocks3x3_discriminator`).
        spectral_norm: wrap every Conv2D and the Dense logit in spectral
            normalization (Miyato et al., 2018): `keras.layers.SpectralNormalization`'s
            power iteration, without its write into the kernel
            (`dcgan_keras.spectral_norm`).
        num_classes: None (unconditional), or a number of classes: the
            class-conditional discriminator [images, labels] -> logit of
            `dcgan_keras.networks.build_conditional_discriminator`.
        conditioning: how it reads the label ("projection", the default, or "concat");
            with `num_classes` only.

    Returns:
        A functional `keras.Model`.

    Example:
        >>> d = build_discriminator(image_size=64, channels=3)
        >>> d.output_shape
        (None, 1)
    """
    image_size, channels = _resolve(preset, image_size, channels)
    _check_choice("architecture", architecture, DISCRIMINATOR_ARCHITECTURES)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
    if architecture == "blocks3x3":
        return _blocks3x3_discriminator(image_size, channels, filters, dropout, batch_norm, bn_momentum,
                                        init_stddev, seed, spectral_norm, name)
    if num_classes is not None:  # the conditional discriminator (dcgan_keras/networks/conditional.py)
        from dcgan_keras.networks.conditional import build_conditional_discriminator

        return build_conditional_discriminator(
            image_size, channels, num_classes, conditioning, filters, kernel_size, dropout, batch_norm,
            bn_momentum, init_stddev, seed, name,
        )
    defaults = _DISCRIMINATOR_DEFAULTS[image_size]
    filters = tuple(filters or defaults["filters"])
    kernel_size = kernel_size or defaults["kernel_size"]
    batch_norm = defaults["batch_norm"] if batch_norm is None else batch_norm
    sn = _spectral_norm if spectral_norm else (lambda layer: layer)

    init = _kernel_init(init_stddev)
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for i, f in enumerate(filters):
        normalized = batch_norm and i > 0
        # A bias before BatchNorm is subtracted away again: its gradient is
        # zero up to rounding, which Adam would blow up into noise.
        x = sn(layers.Conv2D(
            f, kernel_size, strides=2, padding="same", use_bias=not normalized, kernel_initializer=init,
            data_format=CHANNELS,
        ))(x)
        if normalized:
            x = _batch_norm(bn_momentum, init_stddev)(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        if dropout:
            x = seeded_dropout(dropout, None if seed is None else seed + i)(x)
    x = layers.Flatten(data_format=CHANNELS)(x)
    # Logits in float32 even under mixed precision: the losses need the range.
    logits = sn(layers.Dense(1, kernel_initializer=init, dtype="float32", name="logits"))(x)
    return keras.Model(images, logits, name=name)


# ------------------------------------------------ the other architectures

# The lists of choices live in config.py (train.py's flags read them before Keras loads).
GENERATOR_ARCHITECTURES = config.G_ARCHITECTURES
DISCRIMINATOR_ARCHITECTURES = config.D_ARCHITECTURES
_UPSAMPLE_FILTERS = {28: (128, 64), 32: (128, 64), 64: (256, 128, 64), 128: (256, 128, 64, 32)}
_BLOCKS3X3_FILTERS = {28: (32, 64, 96), 32: (32, 64, 96), 64: (32, 64, 96, 128), 128: (32, 64, 96, 128, 192)}


def _spectral_norm(layer):
    # Keras's wrapper, less its write of W / sigma into the kernel (which
    # breaks torch's backward pass when D runs twice a loss): see spectral_norm.py.
    from dcgan_keras.spectral_norm import SpectralNormalization

    return SpectralNormalization(layer, name=f"{layer.name}_sn")


def _upsample_start(image_size):
    # The 7x7 (28) or 8x8 (the powers of two).
    return 7 if image_size == 28 else 8


def _upsample_generator(latent_dim, image_size, channels, filters, activation, batch_norm, bn_momentum,
                        init_stddev, name):
    """z -> Dense -> (7x7 or 8x8) map -> per doubling: bilinear x2, two (3x3 conv, BatchNorm, ReLU) -> 1x1 conv, tanh.

    The PyTorch lab write-up's generator, for every image size: resizing then
    convolving leaves no checkerboard of uneven transposed-convolution overlap
    (Odena et al., 2016, "Deconvolution and Checkerboard Artifacts").
    `filters`: the projected map's channels and each doubling's.
    """
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"`latent_dim` must be a positive integer. Received: latent_dim={latent_dim!r}")
    start = _upsample_start(image_size)
    doublings = int(math.log2(image_size // start))
    filters = tuple(filters or _UPSAMPLE_FILTERS[image_size])
    if len(filters) != doublings:
        raise ValueError(
            f"architecture='upsample' at image size {image_size} takes {doublings} filter counts (one per "
            f"doubling from {start}x{start}). Received: filters={filters}"
        )
    activation = activation or "relu"
    init = _kernel_init(init_stddev)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(start * start * filters[0], use_bias=not batch_norm, kernel_initializer=init)(z)
    if batch_norm:
        x = _batch_norm(bn_momentum, init_stddev)(x)
    x = _activation(activation)(x)
    x = layers.Reshape((start, start, filters[0]))(x)
    for f in filters:
        x = layers.UpSampling2D(2, interpolation="bilinear", data_format=CHANNELS)(x)
        for _ in range(2):
            x = layers.Conv2D(f, 3, padding="same", use_bias=not batch_norm, kernel_initializer=init,
                              data_format=CHANNELS)(x)
            if batch_norm:
                x = _batch_norm(bn_momentum, init_stddev)(x)
            x = _activation(activation)(x)
    x = layers.Conv2D(channels, 1, kernel_initializer=init, data_format=CHANNELS)(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(z, images, name=name)


def _blocks3x3_discriminator(image_size, channels, filters, dropout, batch_norm, bn_momentum, init_stddev, seed,
                             spectral_norm, name):
    """Blocks of two stride-1 3x3 convolutions and a stride-2 one, each (BatchNorm,) LeakyReLU 0.2, then dropout.

    The PyTorch lab write-up's critic (32, 64, 96 channels at 28x28; a block
    more per doubling above 32), ending in Flatten -> Dense(1) logits.
    `batch_norm` defaults to on; pass False for "wgan_gp", whose per-image
    gradient penalty BatchNorm breaks.
    """
    filters = tuple(filters or _BLOCKS3X3_FILTERS[image_size])
    batch_norm = True if batch_norm is None else batch_norm
    sn = _spectral_norm if spectral_norm else (lambda layer: layer)
    init = _kernel_init(init_stddev)
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for i, f in enumerate(filters):
        for strides in (1, 1, 2):
            x = sn(layers.Conv2D(f, 3, strides=strides, padding="same", use_bias=not batch_norm,
                                 kernel_initializer=init, data_format=CHANNELS))(x)
            if batch_norm:
                x = _batch_norm(bn_momentum, init_stddev)(x)
            x = layers.LeakyReLU(negative_slope=0.2)(x)
        if dropout:
            x = seeded_dropout(dropout, None if seed is None else seed + i)(x)
    x = layers.Flatten(data_format=CHANNELS)(x)
    logits = sn(layers.Dense(1, kernel_initializer=init, dtype="float32", name="logits"))(x)
    return keras.Model(images, logits, name=name)


def output_range(generator):
    """(low, high) of a generator's images, from its last activation; None if unbounded or unknown.

    Args:
        generator: a Keras model whose last layer has an `activation`.

    Example:
        >>> from dcgan_keras import build_generator
        >>> output_range(build_generator(preset="tf_tutorial"))
        (-1.0, 1.0)
    """
    activation = getattr(generator.layers[-1], "activation", None)
    return {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}.get(getattr(activation, "__name__", None))


def in_sample_range(images, generator):
    """`generator`'s images in [-1, 1], the range samples are served and drawn in.

    A keras.io-style sigmoid generator's [0, 1] is mapped there; any other
    output is returned as it is.

    Args:
        images: what `generator` made.
        generator: the Keras model that made them.

    Example:
        >>> from dcgan_keras import build_generator
        >>> import numpy as np
        >>> in_sample_range(np.array([0.0, 1.0]), build_generator(preset="tf_tutorial")).tolist()  # tanh: as is
        [0.0, 1.0]
    """
    return images * 2.0 - 1.0 if output_range(generator) == (0.0, 1.0) else images
