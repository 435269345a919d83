"""The pix2pix discriminator: a PatchGAN judging each 70x70 patch of an (input, target) pair.

The paper's 70x70 PatchGAN (appendix 6.1.2) is C64-C128-C256-C512 and a
convolution to one channel, on the input and the (real or generated) target
stacked on channels: the first three 4x4 convolutions of stride 2, the last
two of stride 1 (each after a zero padding of 1, as the authors' code and the
TensorFlow tutorial do), no normalization on the first, LeakyReLU(0.2). Each
output is a logit for one 70x70 patch of the input: 30x30 of them at 256x256,
(image_size / 8 - 2) squared in general (2x2 at 32x32).
"""

import keras
from keras import layers

from dcgan_keras.networks.unet import check_channels, check_norm, check_size, normalization, weight_init


def patch_receptive_field(downsamples=3):
    """The side of the patch each logit sees (70 for the paper's three stride-2 blocks).

    Example:
        >>> patch_receptive_field(3), patch_receptive_field(1)
        (70, 16)
    """
    field = 1
    # Walked back from the logit: the final 4x4 conv, the stride-1 4x4 conv, then the stride-2 ones.
    for stride in [1, 1] + [2] * downsamples:
        field = (field - 1) * stride + 4
    return field


def build_patch_discriminator(
    image_size=256, in_channels=3, out_channels=3, filters=64, norm="batch", downsamples=3, max_filters=None,
    seed=None, name="patch_discriminator",
):
    """The 70x70 PatchGAN: (input image, target image) -> a map of logits, one per patch.

    Args:
        image_size: side of the square images, a power of two from 32 to 256.
        in_channels: channels of the input images (the generator's input).
        out_channels: channels of the target images (the generator's output).
        filters: the first block's filters (the paper's 64), doubled per
            block up to `max_filters` (default 8 * filters).
        norm: "batch" (the paper's), "instance" (CycleGAN's), or None.
        downsamples: stride-2 blocks (3: the 70x70 PatchGAN; 1: 16x16, 2: 34x34).
        seed: seed of the weight initialization.
        name: the model's name.

    Returns:
        A functional `keras.Model` with the inputs "image" and "target",
        returning float32 logits (batch, image_size / 2**downsamples - 2, ..., 1).

    Example:
        >>> d = build_patch_discriminator(256)
        >>> d.output_shape
        (None, 30, 30, 1)
    """
    check_size(image_size)
    check_channels(in_channels, "in_channels")
    check_channels(out_channels, "out_channels")
    check_channels(filters, "filters")
    _check_blocks(norm, downsamples)
    image = keras.Input((image_size, image_size, in_channels), name="image")
    target = keras.Input((image_size, image_size, out_channels), name="target")
    x = layers.Concatenate(name="pair")([image, target])
    logits = _patch_logits(x, filters, norm, downsamples, max_filters, seed)
    return keras.Model({"image": image, "target": target}, logits, name=name)


def build_image_patch_discriminator(
    image_size=256, channels=3, filters=64, norm="instance", downsamples=3, max_filters=None, seed=None,
    name="image_patch_discriminator",
):
    """The 70x70 PatchGAN on single images, as CycleGAN's discriminators judge each domain.

    The same blocks as `build_patch_discriminator`, on one image input
    "image" (no pair), with instance normalization by default (CycleGAN's).

    Args:
        image_size: side of the square images, a power of two from 32 to 256.
        channels: channels of the images judged.
        filters, norm, downsamples, max_filters, seed, name: as `build_patch_discriminator`.

    Returns:
        A functional `keras.Model` returning float32 logits (batch, image_size / 2**downsamples - 2, ..., 1).

    Example:
        >>> build_image_patch_discriminator(256).output_shape
        (None, 30, 30, 1)
    """
    check_size(image_size)
    check_channels(channels, "channels")
    check_channels(filters, "filters")
    _check_blocks(norm, downsamples)
    image = keras.Input((image_size, image_size, channels), name="image")
    return keras.Model(image, _patch_logits(image, filters, norm, downsamples, max_filters, seed), name=name)


def _check_blocks(norm, downsamples):
    """Refuses a norm or a block count the PatchGAN's blocks (`_patch_logits`) cannot build."""
    check_norm(norm)
    if isinstance(downsamples, bool) or not isinstance(downsamples, int) or not 1 <= downsamples <= 4:
        raise ValueError(f"`downsamples` must be an int from 1 to 4. Received: downsamples={downsamples!r}")


def _patch_logits(x, filters, norm, downsamples, max_filters, seed):
    """The PatchGAN's blocks on `x`: C64-C128-C256 of stride 2, the stride-1 C512, the logits."""
    max_filters = filters * 8 if max_filters is None else max_filters
    seeds = iter(range(seed, seed + 100)) if seed is not None else None

    def init():
        return weight_init(None if seeds is None else next(seeds))

    for block in range(downsamples + 1):
        n = min(filters * 2**block, max_filters)
        last = block == downsamples  # the stride-1 C512
        if last:
            x = layers.ZeroPadding2D(1, name=f"block{block}_pad")(x)
        x = layers.Conv2D(
            n, 4, strides=1 if last else 2, padding="valid" if last else "same", kernel_initializer=init(),
            use_bias=norm is None or block == 0, name=f"block{block}_conv",
        )(x)
        if block > 0 and norm is not None:
            x = normalization(norm, f"block{block}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"block{block}_lrelu")(x)
    x = layers.ZeroPadding2D(1, name="logits_pad")(x)
    # Logits in float32 even under mixed precision: the losses need the range.
    return layers.Conv2D(1, 4, padding="valid", kernel_initializer=init(), dtype="float32", name="logits")(x)
