"""The DCGAN's building blocks, shared by its networks (dcgan_keras.models) and the conditional ones.

Per-size defaults, N(0, 0.02) weights, BatchNorm, activations, seeded
dropout, and the generator's trunk from its input vector to the image.
Plain `keras.layers` throughout: a saved network loads without this package.
"""

import math

import keras
from keras import layers

from dcgan_keras import backend as seam

SUPPORTED_SIZES = (28, 32, 64, 128)

# Per image size, the architecture a user gets without choosing. 28 is the
# TensorFlow tutorial's MNIST network; 64 is the one of Radford et al. as
# written in pytorch/examples; 32 and 128 extend the 64 one by a block.
_GENERATOR_DEFAULTS = {
    28: dict(filters=(256, 128, 64), kernel_size=5, activation="leaky_relu"),
    32: dict(filters=(256, 128, 64), kernel_size=4, activation="relu"),
    64: dict(filters=(512, 256, 128, 64), kernel_size=4, activation="relu"),
    128: dict(filters=(1024, 512, 256, 128, 64), kernel_size=4, activation="relu"),
}
_DISCRIMINATOR_DEFAULTS = {
    28: dict(filters=(64, 128), kernel_size=5, batch_norm=False),
    32: dict(filters=(64, 128, 256), kernel_size=4, batch_norm=True),
    64: dict(filters=(64, 128, 256, 512), kernel_size=4, batch_norm=True),
    128: dict(filters=(64, 128, 256, 512, 1024), kernel_size=4, batch_norm=True),
}

PRESETS = {
    # https://www.tensorflow.org/tutorials/generative/dcgan
    "tf_tutorial": dict(image_size=28, channels=1),
    # Radford et al., as in pytorch/examples/dcgan (ngf = ndf = 64).
    "dcgan64": dict(image_size=64, channels=3),
}

#: The images' layout everywhere in the package (data, samples, exports), whatever
#: keras.config.image_data_format() says: set to "channels_first" (keras.json), it
#: made these layers read the channels from the wrong axis.
CHANNELS = "channels_last"


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}. Received: {name}={value!r}")


def _resolve(preset, image_size, channels):
    if preset is not None:
        _check_choice("preset", preset, PRESETS)
        image_size = image_size or PRESETS[preset]["image_size"]
        channels = channels or PRESETS[preset]["channels"]
    image_size = image_size or 28
    channels = channels or 1
    _check_choice("image_size", image_size, SUPPORTED_SIZES)
    _check_choice("channels", channels, (1, 3))
    return image_size, channels


def _start_size(image_size):
    # 28 is 7 * 2**2; the powers of two start from 4x4, as in the DCGAN paper.
    return 7 if image_size == 28 else 4


def _kernel_init(stddev):
    return keras.initializers.RandomNormal(mean=0.0, stddev=stddev)


def seeded_dropout(rate, seed):
    """`keras.layers.Dropout(rate, seed=seed)` with its seed state where the seam keeps the step's seeds.

    (torch: host memory, so that a mask's seed read is no device sync.)
    """
    with seam.seed_state_scope():
        return layers.Dropout(rate, seed=seed)


def _batch_norm(momentum, stddev):
    return layers.BatchNormalization(
        momentum=momentum,
        gamma_initializer=keras.initializers.RandomNormal(mean=1.0, stddev=stddev),
    )


def _activation(name):
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2)
    return layers.Activation(name)


def generator_arguments(latent_dim, image_size, filters, kernel_size, activation):
    """`build_generator`'s filters, kernel size and activation for the image size, checked.

    Args:
        latent_dim: size of z (must be a positive int).
        image_size: one of `SUPPORTED_SIZES`.
        filters, kernel_size, activation: as given; None takes the image size's default.

    Returns:
        (filters tuple, kernel_size, activation).
    """
    defaults = _GENERATOR_DEFAULTS[image_size]
    filters = tuple(filters or defaults["filters"])
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"`latent_dim` must be a positive integer. Received: latent_dim={latent_dim!r}")
    start = _start_size(image_size)
    doublings = int(math.log2(image_size // start))
    if len(filters) < doublings:
        raise ValueError(
            f"An image size of {image_size} needs at least {doublings} filter counts "
            f"(one per doubling from {start}x{start}). Received: filters={filters}"
        )
    return filters, kernel_size or defaults["kernel_size"], activation or defaults["activation"]


def generator_trunk(x, image_size, channels, filters, kernel_size, activation, batch_norm, bn_momentum, init_stddev):
    """The DCGAN generator from its input vector on: Dense -> map -> transposed-convolution blocks -> tanh.

    What `build_generator` and the conditional generator (whose vector is z
    joined to the label's code) share; `filters` checked by the caller.

    Args:
        x: the input vector's Keras tensor.
        image_size, channels, filters, kernel_size, activation, batch_norm,
            bn_momentum, init_stddev: as `build_generator`'s, resolved.

    Returns:
        The images' Keras tensor (batch, image_size, image_size, channels) in [-1, 1].
    """
    start = _start_size(image_size)
    doublings = int(math.log2(image_size // start))
    init = _kernel_init(init_stddev)
    x = layers.Dense(start * start * filters[0], use_bias=not batch_norm, kernel_initializer=init)(x)
    if batch_norm:
        x = _batch_norm(bn_momentum, init_stddev)(x)
    x = _activation(activation)(x)
    x = layers.Reshape((start, start, filters[0]))(x)
    blocks = filters[1:]
    for i, f in enumerate(blocks):
        # The output layer makes one doubling; the last blocks make the rest.
        strides = 2 if i >= len(blocks) - (doublings - 1) else 1
        x = layers.Conv2DTranspose(
            f, kernel_size, strides=strides, padding="same", use_bias=not batch_norm, kernel_initializer=init,
            data_format=CHANNELS,
        )(x)
        if batch_norm:
            x = _batch_norm(bn_momentum, init_stddev)(x)
        x = _activation(activation)(x)
    x = layers.Conv2DTranspose(
        channels, kernel_size, strides=2, padding="same", use_bias=False, kernel_initializer=init,
        data_format=CHANNELS,
    )(x)
    # tanh in float32 even under mixed precision: images must be exact in [-1, 1].
    return layers.Activation("tanh", dtype="float32", name="images")(x)
