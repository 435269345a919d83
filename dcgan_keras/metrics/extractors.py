"""Feature extractors and batched feature extraction.

A feature extractor is any callable (a keras.Model included) that maps a batch
of images in [-1, 1], shape (N, H, W, C), to features of shape (N, D). The
generator's tanh output is already in that range, so generated images go in
as they come out; real data is brought to the same range here.
"""

import warnings

import keras
import numpy as np
from keras import ops

from dcgan_keras.distribute import precision

# Big enough to keep the CPU busy, small enough that Inception at 299x299
# (about 0.5 GB of activations per 100 images) fits in memory.
DEFAULT_BATCH_SIZE = 100

# keras.applications' InceptionV3 refuses smaller inputs without the top.
MIN_INCEPTION_SIZE = 75


def extract_features(extractor, images, batch_size=DEFAULT_BATCH_SIZE, num_samples=None):
    """Runs `extractor` over `images` in batches and stacks the features.

    Args:
        extractor: callable or keras.Model, images in [-1, 1] -> (N, D).
            keras Models run through `predict_on_batch`, which compiles the
            forward pass on every backend (much faster than eager calls).
        images: one of
            - an array (numpy or backend tensor) of shape (N, H, W, C), or
              (N, H, W) for grayscale;
            - a callable `fn(n)` returning n new images, called repeatedly
              with n <= batch_size until `num_samples` are drawn. It must
              draw new noise on every call (do not fix a seed inside it);
            - an iterable of batches (a Python generator, a tf.data.Dataset,
              a torch DataLoader); a batch that is a tuple or list, as
              (images, labels), contributes its first element.
            uint8 images are read as [0, 255] and mapped to [-1, 1]; float
            images must already be in [-1, 1].
        batch_size: images per extractor call.
        num_samples: how many images to use; required for a callable, and
            for the other sources a cap (None: all of them).

    Returns:
        float32 numpy array of shape (num_images, D).

    Example:
        >>> extractor = inception_extractor()  # downloads weights  # doctest: +SKIP
        >>> real = extract_features(extractor, x_train[:10000])  # doctest: +SKIP
        >>> fake = extract_features(extractor, lambda n: gan.generate(n),  # doctest: +SKIP
        ...                         num_samples=10000)
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    features, count, first_len = [], 0, None
    for batch in _batches(images, batch_size, num_samples):
        if num_samples is not None:
            batch = batch[: num_samples - count]
        batch = to_model_range(batch)
        first_len = first_len or len(batch)
        features.append(_run_extractor(extractor, batch, pad_to=first_len))
        count += len(batch)
        if num_samples is not None and count >= num_samples:
            break
    if not features:
        raise ValueError("extract_features got no images.")
    return np.concatenate(features, axis=0)


def to_model_range(images):
    """uint8 [0, 255] -> float32 [-1, 1]; float images are checked and kept.

    Also adds the channel axis to (N, H, W) grayscale images.

    Args:
        images: a NumPy array or backend tensor, (N, H, W) or (N, H, W, C):
            uint8, or floats already in [-1, 1]. Floats all in [0, 1] pass
            with a warning, since [0, 1] data would be silently misread.

    Returns:
        A float32 NumPy array (N, H, W, C) in [-1, 1].

    Raises:
        ValueError: another rank or dtype, or floats outside [-1, 1].

    Example:
        >>> x = to_model_range(np.full((2, 28, 28), 255, np.uint8))
        >>> x.shape, x.dtype, float(x.max())
        ((2, 28, 28, 1), dtype('float32'), 1.0)
    """
    images = np.asarray(ops.convert_to_numpy(images))
    if images.ndim == 3 and images.shape[-1] <= 4:
        raise ValueError(
            f"Images must have shape (N, H, W[, C]), got {images.shape}: one (H, W, C) image? "
            "Pass a batch, e.g. x[None] (a list of images goes through np.stack)."
        )
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"Images must have shape (N, H, W[, C]), got {images.shape}.")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    if not _is_float(images.dtype):
        raise ValueError(
            f"Images must be uint8 in [0, 255] or float in [-1, 1], got dtype {images.dtype}."
        )
    images = images.astype(np.float32)
    if not np.isfinite(images).all():
        raise ValueError(
            "Images hold NaN or infinite values (from a diverged generator?); they have no features."
        )
    low, high = float(images.min()), float(images.max())
    # A little slack: tanh outputs and resized images can overshoot by round-off.
    if low < -1.01 or high > 1.01:
        raise ValueError(
            f"Float images must be in [-1, 1], got values in [{low:.3g}, {high:.3g}]; "
            "pass uint8 for [0, 255] data."
        )
    if low >= 0.0 and high > 0.0:
        warnings.warn(
            "Float images are all in [0, 1]; extractors expect [-1, 1]. "
            "Rescale with x * 2 - 1 if they are [0, 1] data.",
            stacklevel=3,
        )
    return images


def _is_float(dtype):
    # Keras's test, not NumPy's: bfloat16 is no NumPy floating. Keras refuses
    # to name object or string dtypes at all.
    try:
        return keras.backend.is_float_dtype(dtype.name)
    except ValueError:
        return False


def _batches(images, batch_size, num_samples):
    if isinstance(images, (list, tuple)) and images and all(hasattr(x, "shape") for x in images):
        # [np.asarray(Image.open(p)) for p in paths]: a list of images, not of batches.
        shapes = {tuple(x.shape) for x in images}
        if len(shapes) > 1:
            raise ValueError(f"A list of images must hold one shape, got {sorted(shapes)[:3]}...")
        images = np.stack([ops.convert_to_numpy(x) for x in images])
    if hasattr(images, "shape") and not callable(images):
        total = len(images) if num_samples is None else min(num_samples, len(images))
        for start in range(0, total, batch_size):
            yield images[start : start + batch_size]
    elif callable(images):
        if num_samples is None:
            raise ValueError("num_samples is required when images is a callable.")
        previous = None
        for start in range(0, num_samples, batch_size):
            n = min(batch_size, num_samples - start)
            batch = images(n)
            if len(batch) != n:
                raise ValueError(
                    f"The image callable returned {len(batch)} images when asked for {n}; it must "
                    "return exactly n (else the sample shrinks or grows silently)."
                )
            # A generator with a fixed seed returns the same images every call,
            # which shrinks the sample to one batch's diversity. A collapsed
            # generator does too, and deserves its (bad) score: warned, not refused.
            if previous is not None and _same_batch(previous, batch):
                warnings.warn(
                    "The image callable returned the same images twice: a collapsed generator, "
                    "or a fixed seed inside it (it must draw new noise on every call).",
                    stacklevel=4,
                )
            previous = batch
            yield batch
    else:
        for batch in images:
            if isinstance(batch, dict):
                batch = _image_entry(batch)
            yield batch[0] if isinstance(batch, (tuple, list)) else batch


def _image_entry(batch):
    # tensorflow_datasets' {"image": ..., "label": ...} elements.
    for key in ("image", "images"):
        if key in batch:
            return batch[key]
    raise ValueError(
        f"A batch is a dict without an 'image' entry (keys: {sorted(batch)}); map it to images, "
        "e.g. dataset.map(lambda d: d['your_key'])."
    )


def _same_batch(a, b):
    a, b = ops.convert_to_numpy(a), ops.convert_to_numpy(b)
    return a.shape == b.shape and np.array_equal(a, b)


def _run_extractor(extractor, batch, pad_to):
    n = len(batch)
    if isinstance(extractor, keras.Model):
        # A short last batch would retrace the compiled function (seconds for
        # Inception); padding it to the usual size costs one partial batch.
        if n < pad_to:
            padding = np.zeros((pad_to - n,) + batch.shape[1:], batch.dtype)
            batch = np.concatenate([batch, padding])
        out = extractor.predict_on_batch(batch)
    else:
        out = extractor(batch)
    out = np.asarray(ops.convert_to_numpy(out), dtype=np.float32)[:n]
    return out.reshape(n, -1)


@keras.saving.register_keras_serializable(package="dcgan_keras")
class InceptionExtractor(keras.Model):
    """InceptionV3 pool features (2048-d) of images in [-1, 1] of any size.

    Grayscale images are repeated to RGB and all images are resized
    (bilinear) to `input_size`. No further preprocessing: Keras's InceptionV3
    expects exactly [-1, 1] (its `preprocess_input` maps [0, 255] there).
    Calling it directly therefore needs float images in [-1, 1];
    `extract_features` converts uint8 ones first.

    Args:
        weights: "imagenet" (the default; downloaded by Keras on first use),
            a path to a weights file, or None for random weights (tests only).
        input_size: side the images are resized to, >= 75; 299 (the
            default) is standard.
        **kwargs: passed to `keras.Model`, e.g. `name`.

    Example:
        >>> extractor = InceptionExtractor(weights=None, input_size=75)  # seconds on JAX  # doctest: +SKIP
        >>> extract_features(extractor, np.zeros((2, 28, 28, 1), np.uint8)).shape  # doctest: +SKIP
        (2, 2048)
    """

    def __init__(self, weights="imagenet", input_size=299, **kwargs):
        super().__init__(**kwargs)
        if input_size < MIN_INCEPTION_SIZE:
            raise ValueError(
                f"input_size must be >= {MIN_INCEPTION_SIZE} for InceptionV3, got {input_size}."
            )
        self.weights_source = weights
        self.input_size = input_size
        # The same features whatever the session's settings: float32 under a
        # global mixed-precision policy, and channels last (the images' layout,
        # and what input_shape means here) under image_data_format="channels_first".
        data_format = keras.config.image_data_format()
        keras.config.set_image_data_format("channels_last")
        try:
            with precision("float32"):
                self.inception = keras.applications.InceptionV3(
                    include_top=False,
                    weights=weights,
                    input_shape=(input_size, input_size, 3),
                    pooling="avg",
                )
        finally:
            keras.config.set_image_data_format(data_format)

    def call(self, images):
        channels = images.shape[-1]
        if channels not in (1, 3, None):
            raise ValueError(f"Images must have 1 or 3 channels, got shape {images.shape}.")
        # Broadcasting rather than repeat: traced functions may relax the
        # channel axis to None (TF does after seeing 1 and 3), and broadcasting
        # to 3 is right for both.
        images = ops.broadcast_to(images, (*ops.shape(images)[:-1], 3))
        images = ops.image.resize(
            images, (self.input_size, self.input_size), interpolation="bilinear"
        )
        return self.inception(images, training=False)

    def get_config(self):
        # weights=None: a saved extractor holds its weights already; the file
        # or download it came from need not exist where it is loaded.
        return {**super().get_config(), "weights": None, "input_size": self.input_size}


def inception_extractor(weights="imagenet", input_size=299):
    """The usual FID/KID feature extractor: InceptionV3 average-pool features.

    Args:
        weights: "imagenet" (downloaded by Keras on first use into
            ~/.keras/models, about 90 MB), a path to a weights file, or None
            for random weights (tests only: the numbers mean nothing).
        input_size: side the images are resized to; 299 is standard,
            >= 75 is accepted.

    Returns:
        An `InceptionExtractor` (keras.Model): images in [-1, 1] of shape
        (N, H, W, 1 or 3) -> features (N, 2048).

    Note:
        Keras's ImageNet weights are not the TF-2015 graph that pytorch-fid
        and the papers use, so these FIDs are comparable between our runs but
        not with published numbers.

    Example:
        >>> extractor = inception_extractor()  # downloads weights  # doctest: +SKIP
        >>> features = extract_features(extractor, images)  # (N, 2048)  # doctest: +SKIP
    """
    return InceptionExtractor(weights=weights, input_size=input_size)
