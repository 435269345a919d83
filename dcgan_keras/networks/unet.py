"""The pix2pix generator: a U-Net encoder-decoder with skip connections (Isola et al., 2017).

The paper's 256x256 network (appendix 6.1.1) is eight levels down and seven
up: encoder C64-C128-C256-C512-C512-C512-C512-C512, decoder
CD512-CD512-CD512-C512-C256-C128-C64, each decoder block's output joined to
the encoder block of the same size (channel concatenation), then a transposed
convolution to the output channels and tanh. Every block is a 4x4 convolution
of stride 2 (transposed in the decoder) with weights drawn from N(0, 0.02),
then the normalization, then LeakyReLU(0.2) going down and dropout and ReLU
coming up. The depth follows the image size: log2(image_size) levels, so that
the bottleneck is 1x1 (32x32: five levels, 256x256: the paper's eight).

Normalization is skipped on the first encoder block (as in the paper) and on
the 1x1 bottleneck (as in the authors' PyTorch code): over a 1x1 map
instance normalization, and BatchNorm on a batch of one (the paper's batch
size), turn every value into the layer's offset, cutting the innermost level
out of the network.
"""

import math

import keras
from keras import layers

NORMS = ("batch", "instance", None)


def check_norm(norm):
    """Refuses a `norm` other than "batch", "instance" or None."""
    if norm not in NORMS:
        raise ValueError(f"`norm` must be one of {NORMS}. Received: norm={norm!r}")
    return norm


def normalization(norm, name):
    """The normalization layer `norm` names: BatchNorm, instance norm (GroupNormalization(groups=-1)), or None.

    BatchNorm keeps the pix2pix code's settings (momentum 0.9 in Keras's
    convention, epsilon 1e-5); instance normalization is a group per channel.
    """
    if norm == "batch":
        return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
    if norm == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    return None


def weight_init(seed=None):
    """N(0, 0.02), the pix2pix (and DCGAN) initialization of every convolution."""
    return keras.initializers.RandomNormal(0.0, 0.02, seed=seed)


def check_size(image_size, smallest=32, largest=256):
    """Refuses an image size that is not a power of two in [smallest, largest]."""
    if (isinstance(image_size, bool) or not isinstance(image_size, int) or not smallest <= image_size <= largest
            or image_size & (image_size - 1)):
        raise ValueError(
            f"`image_size` must be a power of two from {smallest} to {largest}. Received: image_size={image_size!r}"
        )
    return image_size


def check_channels(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    return value


def unet_filters(image_size, filters=64, max_filters=None):
    """The encoder's filters per level: filters, 2x, 4x, 8x, then 8x to the 1x1 bottleneck.

    Example:
        >>> unet_filters(256)
        [64, 128, 256, 512, 512, 512, 512, 512]
        >>> unet_filters(32, filters=8)
        [8, 16, 32, 64, 64]
    """
    max_filters = filters * 8 if max_filters is None else max_filters
    return [min(filters * 2**i, max_filters) for i in range(int(math.log2(image_size)))]


def build_unet_generator(
    image_size=256, in_channels=3, out_channels=3, filters=64, norm="batch", dropout=0.5, dropout_blocks=3,
    max_filters=None, seed=None, name="unet_generator",
):
    """The pix2pix U-Net: images (image_size, image_size, in_channels) -> images in [-1, 1].

    Args:
        image_size: side of the square images, a power of two from 32 to 256;
            the depth is log2(image_size) levels (256: the paper's eight).
        in_channels: channels of the input images.
        out_channels: channels of the images it makes.
        filters: the first encoder block's filters (the paper's 64); each
            level doubles them up to `max_filters`.
        norm: "batch" (the paper's), "instance" (CycleGAN's; instance
            normalization as GroupNormalization(groups=-1)), or None.
        dropout: rate of the dropout in the first `dropout_blocks` decoder
            blocks (the paper's 0.5, its only noise: pix2pix has no z); 0
            for none.
        dropout_blocks: how many decoder blocks, from the bottleneck, have dropout.
        max_filters: cap on a block's filters (default 8 * filters: 512).
        seed: seed of the weight initialization and the dropout masks.
        name: the model's name.

    Returns:
        A functional `keras.Model` with the input "image"; its last layer,
        "images", is the tanh.

    Example:
        >>> g = build_unet_generator(256)
        >>> g.output_shape
        (None, 256, 256, 3)
    """
    check_size(image_size)
    check_channels(in_channels, "in_channels")
    check_channels(out_channels, "out_channels")
    check_channels(filters, "filters")
    check_norm(norm)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
    down_filters = unet_filters(image_size, filters, max_filters)
    depth = len(down_filters)
    seeds = iter(range(10_000)) if seed is None else iter(range(seed, seed + 10_000))

    def init():
        return weight_init(None if seed is None else next(seeds))

    image = keras.Input((image_size, image_size, in_channels), name="image")
    x, skips = image, []
    for level, n in enumerate(down_filters):
        innermost = level == depth - 1
        x = layers.Conv2D(
            n, 4, strides=2, padding="same", kernel_initializer=init(), use_bias=norm is None or level == 0 or innermost,
            name=f"down{level}_conv",
        )(x)
        if 0 < level < depth - 1 and norm is not None:
            x = normalization(norm, f"down{level}_norm")(x)
        if innermost:
            x = layers.ReLU(name=f"down{level}_relu")(x)
        else:
            x = layers.LeakyReLU(0.2, name=f"down{level}_lrelu")(x)
            skips.append(x)
    for block, (n, skip) in enumerate(zip(reversed(down_filters[:-1]), reversed(skips))):
        x = layers.Conv2DTranspose(
            n, 4, strides=2, padding="same", kernel_initializer=init(), use_bias=norm is None, name=f"up{block}_conv",
        )(x)
        if norm is not None:
            x = normalization(norm, f"up{block}_norm")(x)
        if dropout and block < dropout_blocks:
            x = layers.Dropout(dropout, seed=None if seed is None else next(seeds), name=f"up{block}_dropout")(x)
        x = layers.ReLU(name=f"up{block}_relu")(x)
        x = layers.Concatenate(name=f"up{block}_skip")([x, skip])
    x = layers.Conv2DTranspose(
        out_channels, 4, strides=2, padding="same", kernel_initializer=init(), dtype="float32", name="out_conv",
    )(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(image, images, name=name)
