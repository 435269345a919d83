"""The image pool of Shrivastava et al. (2017), as CycleGAN uses it: training state in Keras variables.

A discriminator that sees only the newest fakes forgets what earlier
generators made and the two networks can oscillate. The pool keeps up to
`pool_size` earlier fakes; each new fake is, while the pool fills, stored and
shown as it is; once the pool is full, with probability 1/2 it is shown as it
is, and otherwise it takes the place of a random stored fake, which is shown
instead (pytorch-CycleGAN-and-pix2pix's `ImagePool.query`).

Everything that changes is a Keras variable (the buffer and its fill count),
updated with `keras.ops` inside the training step, with random choices from
the model's `SeedGenerator`: so it moves through JAX's stateless step as
non-trainable state, and is saved in `.keras` files and restored on resume.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dcgan_keras")
class ImagePool(keras.layers.Layer):
    """A pool of `pool_size` past fakes of shape `image_shape`, as non-trainable variables.

    Not called like a layer: `query(fakes, seed_generator)` is its one
    operation. A layer so that the model tracks, threads and saves its
    variables (`images`, float32 (pool_size, H, W, C); `count`, int32, how
    many slots are filled).

    Args:
        pool_size: slots, >= 1.
        image_shape: (H, W, C) of the fakes.
        **kwargs: passed to `keras.layers.Layer`, e.g. `name`.

    Example:
        >>> pool = ImagePool(50, (256, 256, 3), name="pool_a")  # doctest: +SKIP
        >>> shown = pool.query(fake_a, gan.seed_generator)  # doctest: +SKIP
    """

    def __init__(self, pool_size, image_shape, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(trainable=False, **kwargs)
        self.pool_size = int(pool_size)
        self.image_shape = tuple(int(n) for n in image_shape)
        self.images = self.add_weight(
            shape=(self.pool_size,) + self.image_shape, initializer="zeros", dtype="float32", trainable=False,
            name="images",
        )
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="count")
        self.built = True

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "image_shape": self.image_shape}

    def query(self, fakes, seed_generator):
        """The images a discriminator learns on instead of `fakes`; stores `fakes` in the pool.

        Image by image, in batch order, as pytorch-CycleGAN-and-pix2pix's
        `ImagePool.query` (vectorized): image i of the batch, at fill
        position `count + i`, is stored there and shown while that is below
        `pool_size`; after that, a fair coin either shows it as it is or swaps
        it with a uniformly chosen slot, showing what that slot held (which
        may be an earlier image of this same batch).

        Args:
            fakes: (batch, H, W, C) generated images (no gradient is kept).
            seed_generator: the `keras.random.SeedGenerator` of the coin
                flips and slot choices.

        Returns:
            (batch, H, W, C) float32: the images to show the discriminator.
        """
        fakes = ops.cast(ops.stop_gradient(ops.convert_to_tensor(fakes)), "float32")
        size = self.pool_size
        batch = ops.shape(fakes)[0]
        index = ops.arange(batch, dtype="int32")
        position = self.count.value + index
        filling = position < size
        coin = keras.random.uniform(ops.shape(index), seed=seed_generator)
        choice = keras.random.randint(ops.shape(index), 0, size, dtype="int32", seed=seed_generator)
        swaps = ops.logical_and(ops.logical_not(filling), coin > 0.5)
        # The slot each image is written to: its fill position, its swap slot, or none (-1).
        slot = ops.where(filling, position, ops.where(swaps, choice, -1))

        # What a swapping image is shown: the last image of this batch written
        # before it to its slot, else what the slot held before the batch.
        earlier = ops.expand_dims(index, 0) < ops.expand_dims(index, 1)  # [i, j]: j before i
        same_slot = ops.equal(ops.expand_dims(slot, 0), ops.expand_dims(choice, 1))  # slot_j == choice_i
        source = _last_true(ops.logical_and(earlier, same_slot), index)  # (batch,), -1 if none
        from_batch = ops.take(fakes, ops.maximum(source, 0), axis=0)
        from_pool = ops.take(self.images.value, choice, axis=0)
        shown = ops.where(_per_image(source >= 0), from_batch, from_pool)
        shown = ops.where(_per_image(swaps), shown, fakes)

        # Each slot keeps the last image of the batch written to it.
        slots = ops.arange(size, dtype="int32")
        writes = ops.equal(ops.expand_dims(slot, 0), ops.expand_dims(slots, 1))  # [s, i]: i writes s
        writer = _last_true(writes, index)  # (size,), -1 if none
        new_images = ops.where(
            _per_image(writer >= 0), ops.take(fakes, ops.maximum(writer, 0), axis=0), self.images.value
        )
        self.images.assign(new_images)
        self.count.assign(ops.minimum(self.count.value + ops.cast(batch, "int32"), size))
        return shown


def _last_true(mask, index):
    """For each row of the bool matrix `mask` (rows, batch): the last column that is True, or -1."""
    return ops.max(ops.where(mask, ops.expand_dims(index, 0), -1), axis=1)


def _per_image(flags):
    """(n,) bools broadcast against (n, H, W, C) images."""
    return ops.reshape(flags, (-1, 1, 1, 1))
