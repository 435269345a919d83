"""Class-conditional DCGAN networks: [z, labels] -> images and [images, labels] -> one logit.

The same blocks as the DCGAN's (dcgan_keras.models: its per-size defaults,
N(0, 0.02) weights, BatchNorm, LeakyReLU, dropout), with the class label fed
in one of two ways:

- "concat" (Mirza and Osindero, 2014; keras.io's Conditional GAN): the
  label's one-hot vector joined to z in G; in D the one-hot vector repeated
  over the image as `num_classes` constant maps, stacked onto its channels.
- "projection" (Miyato and Koyama, 2018), the default: in D, the inner
  product of a learned embedding of the label with D's last features,
  flattened, added to its logit: D(x, y) = w . phi(x) + embed(y) . phi(x);
  G as concat's. The embedding is one-hot @ W (a bias-free Dense on the
  one-hot vector; see `_embedding`).

In G, the one-hot vector joined to z is itself a learned label embedding:
G's first Dense adds one-hot @ W_y, a learned vector per class, to W_z z.
`embedding_dim` puts a separate learned embedding there instead (the
paper's wording); on MNIST that G drew one digit per class whatever z was
(bench/QUALITY.md, "Eleventh check"), so it is not the default.

Both are functional models of plain `keras.layers` with named inputs:
the generator's "z" (float, (latent_dim,)) and "labels", the
discriminator's "images" and "labels"; labels are int32 class ids of
shape () (a batch of them: (batch,)).
"""

import keras
from keras import layers

from dcgan_keras.networks.blocks import (
    CHANNELS,
    _DISCRIMINATOR_DEFAULTS,
    _batch_norm,
    _check_choice,
    _kernel_init,
    _resolve,
    generator_arguments,
    generator_trunk,
    seeded_dropout,
)

# The ways of feeding the label, listed in config.py (which imports no Keras: train.py's
# flags read it first). "projection" is the default by measurement: on MNIST its D lifted
# the label accuracy from concat's 0.970 to 0.987 at the same FID (medians of 3 seeds;
# bench/QUALITY.md, "Twelfth check").
from dcgan_keras.config import CONDITIONINGS  # noqa: E402


def _check_classes(num_classes):
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")


def _label_input():
    return keras.Input((), dtype="int32", name="labels")


def _one_hot(num_classes, labels):
    return layers.CategoryEncoding(num_classes, output_mode="one_hot", name="label_one_hot")(labels)


def _embedding(size, initializer, name):
    # A label embedding as one-hot @ W: the same function as keras.layers.Embedding, with a dense
    # gradient. Embedding's gather gives TensorFlow a sparse (IndexedSlices) gradient, which
    # Keras's Adam applied differently there than on JAX and torch (the rows moved by up to 3e-4
    # more after one step): the backends' steps no longer matched.
    return layers.Dense(size, use_bias=False, kernel_initializer=initializer, name=name)


def build_conditional_generator(
    latent_dim=100,
    num_classes=10,
    image_size=None,
    channels=None,
    conditioning="projection",
    embedding_dim=None,
    filters=None,
    kernel_size=None,
    activation=None,
    batch_norm=True,
    bn_momentum=0.9,
    init_stddev=0.02,
    name="generator",
):
    """Builds the conditional generator: [z, labels] -> image in [-1, 1], channels last.

    The DCGAN generator of `dcgan_keras.build_generator` whose first Dense
    reads z joined to the label's one-hot vector (both conditionings), or to
    a learned embedding of `embedding_dim` values if one is asked for.

    Args:
        latent_dim: size of z.
        num_classes: number of classes (>= 2); labels are ids in [0, num_classes).
        image_size: 28, 32, 64 or 128 (default 28).
        channels: 1 or 3 (default 1).
        conditioning: "projection" or "concat" (see the module's docstring);
            G reads the label the same way for both, and checks the name.
        embedding_dim: None (the one-hot vector), or the size of a learned
            N(0, 1) label embedding joined to z instead; on MNIST that G
            collapsed within each class (bench/QUALITY.md, "Eleventh check").
        filters, kernel_size, activation, batch_norm, bn_momentum,
            init_stddev: as `dcgan_keras.build_generator`.
        name: model name.

    Returns:
        A functional `keras.Model` with inputs "z" and "labels".

    Example:
        >>> g = build_conditional_generator(latent_dim=100, num_classes=10)
        >>> [tuple(i.shape) for i in g.inputs], g.output_shape
        ([(None, 100), (None,)], (None, 28, 28, 1))
    """
    image_size, channels = _resolve(None, image_size, channels)
    _check_classes(num_classes)
    _check_choice("conditioning", conditioning, CONDITIONINGS)
    filters, kernel_size, activation = generator_arguments(latent_dim, image_size, filters, kernel_size, activation)

    z = keras.Input((latent_dim,), name="z")
    labels = _label_input()
    code = _one_hot(num_classes, labels)
    if embedding_dim is not None:
        if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise ValueError(f"`embedding_dim` must be None or a positive integer. Received: embedding_dim={embedding_dim!r}")
        # N(0, 1), the scale of z's own entries, so the label is heard from the first step.
        code = _embedding(embedding_dim, keras.initializers.RandomNormal(stddev=1.0), "label_embedding")(code)
    x = layers.Concatenate(name="z_and_label")([z, code])
    images = generator_trunk(
        x, image_size, channels, filters, kernel_size, activation, batch_norm, bn_momentum, init_stddev
    )
    return keras.Model([z, labels], images, name=name)


def build_conditional_discriminator(
    image_size=None,
    channels=None,
    num_classes=10,
    conditioning="projection",
    filters=None,
    kernel_size=None,
    dropout=0.3,
    batch_norm=None,
    bn_momentum=0.9,
    init_stddev=0.02,
    seed=None,
    name="discriminator",
):
    """Builds the conditional discriminator: [images, labels] -> one logit per image.

    The DCGAN discriminator of `dcgan_keras.build_discriminator`, reading
    the label by "projection" (embed(y) . flattened features added to the
    logit; the default) or "concat" (one-hot maps stacked onto the image's
    channels).

    Args:
        image_size: 28, 32, 64 or 128 (default 28).
        channels: 1 or 3 (default 1).
        num_classes: number of classes (>= 2).
        conditioning: "projection" or "concat".
        filters, kernel_size, dropout, batch_norm, bn_momentum, init_stddev,
            seed: as `dcgan_keras.build_discriminator`.
        name: model name.

    Returns:
        A functional `keras.Model` with inputs "images" and "labels", output (batch, 1) logits.

    Example:
        >>> d = build_conditional_discriminator(num_classes=10, conditioning="projection")
        >>> d.output_shape
        (None, 1)
    """
    image_size, channels = _resolve(None, image_size, channels)
    _check_classes(num_classes)
    _check_choice("conditioning", conditioning, CONDITIONINGS)
    defaults = _DISCRIMINATOR_DEFAULTS[image_size]
    filters = tuple(filters or defaults["filters"])
    kernel_size = kernel_size or defaults["kernel_size"]
    batch_norm = defaults["batch_norm"] if batch_norm is None else batch_norm
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")

    init = _kernel_init(init_stddev)
    images = keras.Input((image_size, image_size, channels), name="images")
    labels = _label_input()
    x = images
    one_hot = _one_hot(num_classes, labels)
    if conditioning == "concat":
        maps = layers.Reshape((1, 1, num_classes))(one_hot)
        maps = layers.UpSampling2D((image_size, image_size), data_format=CHANNELS, name="label_maps")(maps)
        x = layers.Concatenate(axis=-1, name="images_and_label_maps")([images, maps])
    for i, f in enumerate(filters):
        normalized = batch_norm and i > 0
        x = layers.Conv2D(
            f, kernel_size, strides=2, padding="same", use_bias=not normalized, kernel_initializer=init,
            data_format=CHANNELS,
        )(x)
        if normalized:
            x = _batch_norm(bn_momentum, init_stddev)(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        if dropout:
            x = seeded_dropout(dropout, None if seed is None else seed + i)(x)
    flat = layers.Flatten(data_format=CHANNELS)(x)
    if conditioning == "concat":
        logits = layers.Dense(1, kernel_initializer=init, dtype="float32", name="logits")(flat)
    else:
        unconditional = layers.Dense(1, kernel_initializer=init, dtype="float32", name="unconditional_logit")(flat)
        # phi(x) is the flattened features, not their spatial average as in the paper's deep
        # ResNets: averaging the 7x7 map of a two-block D keeps which strokes are there but
        # not where, too little to tell the digits apart, and G collapsed onto the wrong
        # digits (bench/QUALITY.md, "Eleventh check").
        embedded = _embedding(int(flat.shape[-1]), init, "label_projection")(one_hot)
        projection = layers.Dot(axes=1, dtype="float32", name="projection")([embedded, flat])
        logits = layers.Add(dtype="float32", name="logits")([unconditional, projection])
    return keras.Model([images, labels], logits, name=name)
