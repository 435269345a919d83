"""Sampling a trained generator, whatever artifact holds it, into image files.

One interface over three kinds of artifact: a run directory, a `.keras` file
(a DCGAN or a bare generator) and an exported SavedModel. Each loads as an
object with `latent_dim`, `image_shape` and `__call__(z) -> images`, and noise
comes from `latent_noise`, so one seed gives the same images from any of them.

Example:
    >>> gen = load_generator("runs/mnist-jax-20250101-120000")  # doctest: +SKIP
    >>> write_output(sample_images(gen, 64, seed=0), "samples.png")  # doctest: +SKIP
    >>> write_output(sample_batches(gen, 50_000, seed=0), "many.npz")  # doctest: +SKIP
"""

import numpy as np

from dcgan_keras.gan import latent_noise

# Loading lives in generators.py, the writers in outputs.py; sampling is where a user looks for them.
from dcgan_keras.generators import (  # noqa: F401
    CheckpointError,
    KerasGenerator,
    SavedModelGenerator,
    as_generator,
    float32_generator,
    keras_generator,
    load_generator,
    resolve_checkpoint,
)
from dcgan_keras.outputs import (  # noqa: F401
    OutputPathError,
    check_output,
    output_kind,
    write_grid,
    write_npz,
    write_output,
    write_png_dir,
)

from dcgan_keras.cli import INTERPOLATION_METHODS  # noqa: F401  (defined once there: sample.py reads it before Keras loads)


def sample_images(gen, num, seed=None):
    """`num` images from `latent_noise(num, latent_dim, seed)`.

    Args:
        gen: a loaded generator, a DCGAN or a Keras generator model.
        num: number of images, >= 1.
        seed: the noise seed: the same seed gives the same images from a
            checkpoint, a `.keras` file or a SavedModel, on any backend.

    Returns:
        float32 images (num, H, W, C) in [-1, 1].

    Example:
        >>> sample_images(load_generator("gan.keras"), 16, seed=0).shape  # doctest: +SKIP
        (16, 28, 28, 1)
    """
    _check_positive(num=num)
    gen = as_generator(gen)
    return gen(latent_noise(num, gen.latent_dim, seed, noise_distribution(gen)))


def _check_positive(**counts):
    for name, value in counts.items():
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def sample_batches(gen, num, seed=None, batch_size=256, labels=None):
    """`sample_images(gen, num, seed)`, made and handed out one batch at a time.

    For more images than fit in memory as floats: `write_output` takes the
    batches as they come (a directory holds one batch at a time; a `.npz`
    only their uint8 copy).

    Args:
        gen: a loaded generator, a DCGAN or a Keras generator model.
        num: number of images, >= 1.
        seed: the noise seed; the batches, joined, are `sample_images`'s
            images for the same seed.
        batch_size: images per batch. At the default, the batches the
            generator runs anyway, they are bit for bit the same; another
            size can change the last bits (kernels vary with batch size).
        labels: a conditional generator's class ids: one for all images,
            or one per image; None for an unconditional generator.

    Returns:
        An iterator of float32 batches (<= batch_size, H, W, C) in [-1, 1].

    Example:
        >>> write_output(sample_batches(gen, 50_000, seed=0), "fid_samples/")  # doctest: +SKIP
        'dir'
    """
    _check_positive(num=num, batch_size=batch_size)
    gen = as_generator(gen)
    # All at once: the seed's stream, whatever the batch size.
    z = latent_noise(num, gen.latent_dim, seed, noise_distribution(gen))
    if labels is None:
        return (gen(z[i : i + batch_size]) for i in range(0, num, batch_size))
    labels = np.broadcast_to(np.asarray(labels), (num,))
    return (gen(z[i : i + batch_size], labels=labels[i : i + batch_size]) for i in range(0, num, batch_size))


def noise_distribution(gen):
    """The noise to sample `gen` with: the one it was trained on where known ("uniform"), else "normal"."""
    return getattr(gen, "latent_distribution", None) or "normal"


def class_grid_inputs(latent_dim, classes, columns, seed=None):
    """z and labels of a class-by-sample grid: a row per class, the same `columns` z in every row.

    Column j's z is the j-th of `latent_noise(columns, latent_dim, seed)`, so
    the first image of each row is `sample_images`' first for the same seed,
    and a row is what `--label` gives for that class.

    Args:
        latent_dim: size of z.
        classes: the rows' class ids, in order.
        columns: images per class, >= 1.
        seed: the noise seed.

    Returns:
        (z (rows * columns, latent_dim) float32, labels (rows * columns,) int32), row by row.

    Example:
        >>> z, labels = class_grid_inputs(8, [3, 7], 4, seed=0)
        >>> z.shape, labels.tolist()
        ((8, 8), [3, 3, 3, 3, 7, 7, 7, 7])
    """
    _check_positive(columns=columns)
    z = latent_noise(columns, latent_dim, seed)
    return np.tile(z, (len(classes), 1)), np.repeat(np.asarray(classes, "int32"), columns)


def class_interpolation_weights(num_classes, start, end, steps):
    """Label weights (steps, num_classes) walking from class `start`'s one-hot vector to `end`'s, ends included.

    What keras.io's Conditional GAN feeds its generator to morph one digit
    into another with the noise held fixed.

    Example:
        >>> class_interpolation_weights(3, 0, 2, 3).tolist()
        [[1.0, 0.0, 0.0], [0.5, 0.0, 0.5], [0.0, 0.0, 1.0]]
    """
    if not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"`steps` must be an integer >= 2 (both ends included). Received: steps={steps!r}")
    eye = np.eye(num_classes, dtype="float32")
    t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
    return (1.0 - t) * eye[start] + t * eye[end]


def interpolate(z0, z1, steps, method="slerp"):
    """`steps` latent points from `z0` to `z1`, both ends included.

    Spherical interpolation (White, 2016, "Sampling Generative Networks")
    keeps the points at the norms Gaussian noise has, where the generator was
    trained; the straight line's midpoints are shorter than any training z.

    Args:
        z0: first latent vector, shape (latent_dim,) (or (1, latent_dim)).
        z1: last latent vector, same shape.
        steps: number of points, >= 2.
        method: "slerp" (spherical) or "linear".

    Returns:
        float32 array (steps, latent_dim); row 0 is z0, the last row z1.

    Example:
        >>> interpolate(np.zeros(3), np.ones(3), 3, method="linear")[1].tolist()
        [0.5, 0.5, 0.5]
    """
    if method not in INTERPOLATION_METHODS:
        raise ValueError(f"`method` must be one of {list(INTERPOLATION_METHODS)}. Received: method={method!r}")
    if not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"`steps` must be an integer >= 2 (both ends included). Received: steps={steps!r}")
    z0 = np.asarray(z0, dtype="float64").reshape(-1)
    z1 = np.asarray(z1, dtype="float64").reshape(-1)
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same size. Received: {z0.shape} and {z1.shape}")
    t = np.linspace(0.0, 1.0, steps)[:, None]
    linear = (1.0 - t) * z0 + t * z1
    if method == "linear":
        return linear.astype("float32")
    norms = np.linalg.norm(z0) * np.linalg.norm(z1)
    if norms == 0.0:
        return linear.astype("float32")
    omega = np.arccos(np.clip(np.dot(z0, z1) / norms, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        # (Anti)parallel vectors: no unique great circle; the line is the limit.
        return linear.astype("float32")
    path = (np.sin((1.0 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)
    path[0], path[-1] = z0, z1  # exact ends, whatever the rounding
    return path.astype("float32")


def interpolation_noise(latent_dim, steps, seed=0, method="slerp", distribution="normal"):
    """The latent path between seed `seed`'s z and seed `seed + 1`'s.

    Each end is `latent_noise(1, latent_dim, s)[0]`, so the first image of an
    interpolation is the first image `sample_images(gen, n, seed)` makes.

    Args:
        latent_dim: size of z.
        steps: number of points, >= 2, both ends included.
        seed: the start's noise seed; the end's is `seed + 1`.
        method: "slerp" (the default) or "linear"; see `interpolate`.
        distribution: the noise of the ends, "normal" or "uniform" (as the
            generator was trained).

    Returns:
        float32 array (steps, latent_dim).

    Example:
        >>> interpolation_noise(100, 8, seed=0).shape
        (8, 100)
    """
    z0 = latent_noise(1, latent_dim, seed, distribution)[0]
    z1 = latent_noise(1, latent_dim, seed + 1, distribution)[0]
    return interpolate(z0, z1, steps, method)
