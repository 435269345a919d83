"""The ResNet generator of CycleGAN (Zhu et al., 2017; Johnson et al., 2016).

c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-channels: a 7x7 convolution,
two stride-2 downsamplings, residual blocks, two stride-2 transposed
convolutions back up, a 7x7 convolution to the image's channels and tanh.
Each convolution but the last is followed by instance normalization
(`GroupNormalization(groups=-1)`) and ReLU; weights start from N(0, 0.02), as
in pytorch-CycleGAN-and-pix2pix.

Reflection padding is built from Keras's own layers (one-pixel `Cropping2D`
slices in mirrored order, joined by `Concatenate`), wrapped in a small nested
functional model per padding: the saved generator then loads with
`keras.saving.load_model` in a process that never imports dcgan_keras (a
custom `ReflectionPadding2D` layer would need our package, or a registered
class, to load). It costs more layers, not more arithmetic: the slices copy
the same values `ops.pad(mode="reflect")` would.
"""

import keras
from keras import layers

CHANNELS = "channels_last"


def default_residual_blocks(image_size):
    """The paper's count: 9 residual blocks above 128 px, 6 at 128 and below."""
    return 9 if image_size > 128 else 6


def reflection_padding(size, channels, pad, name):
    """A functional model that pads (size, size, channels) images by `pad` pixels, mirrored (no edge repeat).

    What `ops.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="reflect")`
    computes, from Cropping2D and Concatenate only.

    Args:
        size: the input's height and width.
        channels: its channels.
        pad: pixels to add on each side, < size.
        name: the model's name.

    Example:
        >>> pad = reflection_padding(8, 3, 2, "pad")
        >>> pad.output_shape
        (None, 12, 12, 3)
    """
    if not 0 < pad < size:
        raise ValueError(f"Reflection padding needs 0 < pad < size. Received: pad={pad}, size={size}")
    inputs = keras.Input((size, size, channels))

    def mirrored(x, axis, length):
        # Index i on `axis`: rows (axis 1) or columns (axis 2), one pixel thick.
        def take(i, tag):
            crop = (i, length - 1 - i)
            cropping = (crop, (0, 0)) if axis == 1 else ((0, 0), crop)
            return layers.Cropping2D(cropping, data_format=CHANNELS, name=f"{name}_{axis}_{tag}")(x)

        before = [take(i, f"b{i}") for i in range(pad, 0, -1)]
        after = [take(length - 1 - i, f"a{i}") for i in range(1, pad + 1)]
        return layers.Concatenate(axis=axis, name=f"{name}_cat{axis}")(before + [x] + after)

    x = mirrored(inputs, 1, size)
    x = mirrored(x, 2, size)
    return keras.Model(inputs, x, name=name)


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def _norm(name):
    # Instance normalization: one group per channel.
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def build_resnet_generator(image_size, channels, residual_blocks=None, filters=64, out_channels=None,
                           name="resnet_generator"):
    """CycleGAN's ResNet generator: images (size, size, channels) -> images in [-1, 1].

    Args:
        image_size: height and width, a multiple of 4 (two downsamplings), >= 8.
        channels: the input images' channels.
        residual_blocks: None for the paper's count (9 above 128 px, 6 at
            128 and below), or an int >= 0.
        filters: the first convolution's filters (the paper's 64); the
            downsamplings double it twice.
        out_channels: the output images' channels (default: `channels`).
        name: the model's name.

    Returns:
        A functional `keras.Model` ending in a float32 tanh.

    Example:
        >>> g = build_resnet_generator(32, 3, residual_blocks=2, filters=8)
        >>> g.output_shape
        (None, 32, 32, 3)
    """
    for label, value, low in (("image_size", image_size, 8), ("channels", channels, 1), ("filters", filters, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"`{label}` must be an int >= {low}. Received: {label}={value!r}")
    if image_size % 4:
        raise ValueError(
            f"`image_size` must be a multiple of 4 (the generator halves it twice). Received: image_size={image_size}"
        )
    if residual_blocks is None:
        residual_blocks = default_residual_blocks(image_size)
    if isinstance(residual_blocks, bool) or not isinstance(residual_blocks, int) or residual_blocks < 0:
        raise ValueError(f"`residual_blocks` must be an int >= 0. Received: residual_blocks={residual_blocks!r}")
    out_channels = channels if out_channels is None else out_channels

    def conv(x, n, kernel, stride, tag, padding="same"):
        return layers.Conv2D(n, kernel, strides=stride, padding=padding, use_bias=False,
                             kernel_initializer=_init(), data_format=CHANNELS, name=tag)(x)

    def norm_relu(x, tag):
        return layers.ReLU(name=f"{tag}_relu")(_norm(f"{tag}_norm")(x))

    inputs = keras.Input((image_size, image_size, channels), name="image")
    x = reflection_padding(image_size, channels, 3, "c7s1_pad")(inputs)
    x = norm_relu(conv(x, filters, 7, 1, "c7s1", padding="valid"), "c7s1")
    for i, n in enumerate((filters * 2, filters * 4)):
        x = norm_relu(conv(x, n, 3, 2, f"d{n}"), f"d{n}")
    size, width = image_size // 4, filters * 4
    for i in range(residual_blocks):
        tag = f"r{i}"
        y = reflection_padding(size, width, 1, f"{tag}_pad1")(x)
        y = norm_relu(conv(y, width, 3, 1, f"{tag}_conv1", padding="valid"), f"{tag}_1")
        y = reflection_padding(size, width, 1, f"{tag}_pad2")(y)
        y = _norm(f"{tag}_2_norm")(conv(y, width, 3, 1, f"{tag}_conv2", padding="valid"))
        x = layers.Add(name=f"{tag}_add")([x, y])
    for n in (filters * 2, filters):
        x = layers.Conv2DTranspose(n, 3, strides=2, padding="same", use_bias=False, kernel_initializer=_init(),
                                   data_format=CHANNELS, name=f"u{n}")(x)
        x = norm_relu(x, f"u{n}")
    x = reflection_padding(image_size, filters, 3, "out_pad")(x)
    x = layers.Conv2D(out_channels, 7, padding="valid", kernel_initializer=_init(), data_format=CHANNELS,
                      name="out_conv")(x)
    outputs = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)
