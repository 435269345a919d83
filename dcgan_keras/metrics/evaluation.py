"""Scoring a generator: a one-shot evaluation and a training callback."""

import math
from pathlib import Path

import keras
import numpy as np

from dcgan_keras.callbacks import is_diverged
from dcgan_keras.metrics.distances import feature_statistics, frechet_distance, kid
from dcgan_keras.metrics.extractors import DEFAULT_BATCH_SIZE, extract_features


def evaluate_generator(generator_fn, real_images, extractor, num_samples=10000,
                       batch_size=DEFAULT_BATCH_SIZE, kid_subsets=100,
                       kid_subset_size=1000):
    """FID and KID of a generator against real images.

    Args:
        generator_fn: `fn(n)` returning n new images in [-1, 1], channels last.
            Called once per batch, so it must draw fresh noise on each call.
        real_images: real images, any source `extract_features` accepts (all
            of them are used: pass a subset to go faster).
        extractor: the feature extractor, e.g. `inception_extractor()`.
        num_samples: generated images to score. FID is biased upwards for
            small N: compare runs only at equal num_samples.
        batch_size: images per generator and extractor call.
        kid_subsets, kid_subset_size: see `kid`.

    Returns:
        {"fid": float, "kid": float, "kid_std": float}.

    Example:
        >>> scores = evaluate_generator(lambda n: gan.generate(n), x_test,  # doctest: +SKIP
        ...                             inception_extractor(), num_samples=5000)
        >>> scores["fid"]  # doctest: +SKIP
    """
    real = extract_features(extractor, real_images, batch_size=batch_size)
    fake = extract_features(extractor, generator_fn, batch_size=batch_size,
                            num_samples=num_samples)
    kid_mean, kid_std = kid(real, fake, num_subsets=kid_subsets,
                            subset_size=kid_subset_size)
    return {
        "fid": frechet_distance(*feature_statistics(real), *feature_statistics(fake)),
        "kid": kid_mean,
        "kid_std": kid_std,
    }


class FIDCallback(keras.callbacks.Callback):
    """Computes FID every `every` epochs and reports it as `logs["fid"]`.

    At the end of epochs every-1, 2*every-1, ... (0-based, counted from the
    start of training, so resumed runs keep the same schedule) it draws
    `num_samples` images with `self.model.generate(num_samples, seed=seed)`
    and scores them against `real_images`. The same seed every time means
    the noise is fixed, so changes in FID come from the generator, not the
    draw.

    Ordering: callbacks share one `logs` dict in list order, so put this
    callback before the ones that read it (CSVLogger, TensorBoard,
    ModelCheckpoint). `fit`'s History is always last and records it.

    On other epochs `logs["fid"]` is NaN: CSVLogger fixes its columns at the
    first epoch, so the key must be there from the start. For EarlyStopping
    on "fid", NaN epochs count as no improvement; scale `patience` by `every`.

    The project's TensorBoard callback logs `fid` like any other epoch metric;
    this callback writes no TensorBoard events itself (that needs TensorFlow,
    which the JAX and torch backends need not have).

    Args:
        real_images: real images, any array `extract_features` accepts. Their
            statistics are computed once, at the first evaluation.
        extractor: the feature extractor.
        every: evaluate every this many epochs.
        num_samples: images generated per evaluation.
        log_dir: if set, also appends "epoch,fid" lines to log_dir/fid.csv.
        seed: seed passed to `generate`.
        batch_size: images per extractor call.
        guard: None, or a `dcgan_keras.callbacks.DivergenceMonitor` placed
            before this callback: an epoch it flags as diverged is not scored
            (NaN), as its generator draws NaN images.

    Example:
        >>> gan.fit(data, epochs=50, callbacks=[  # a GAN, data and a classifier  # doctest: +SKIP
        ...     FIDCallback(x_train[:5000], classifier_extractor(clf), every=5),
        ...     keras.callbacks.CSVLogger("log.csv"),
        ... ])
    """

    def __init__(self, real_images, extractor, every=1, num_samples=1000,
                 log_dir=None, seed=0, batch_size=DEFAULT_BATCH_SIZE, guard=None):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}.")
        if num_samples < 2:
            raise ValueError(f"num_samples must be >= 2, got {num_samples}.")
        self.real_images = real_images
        self.extractor = extractor
        self.every = every
        self.num_samples = num_samples
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.seed = seed
        self.batch_size = batch_size
        self.guard = guard
        self._real_statistics = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or is_diverged(self.guard):
            value = math.nan
        else:
            value = self.compute_fid()
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                with open(self.log_dir / "fid.csv", "a") as f:
                    f.write(f"{epoch},{value}\n")
        if logs is not None:
            logs["fid"] = value

    def compute_fid(self):
        """FID of `self.model`'s current generator against the real images."""
        if not hasattr(self.model, "generate"):
            raise TypeError(
                "FIDCallback needs a model with generate(n, seed=...), got "
                f"{type(self.model).__name__}."
            )
        if self._real_statistics is None:
            real = extract_features(self.extractor, self.real_images,
                                    batch_size=self.batch_size)
            self._real_statistics = feature_statistics(real)
        images = np.asarray(keras.ops.convert_to_numpy(
            self.model.generate(self.num_samples, seed=self.seed)))
        fake = extract_features(self.extractor, images, batch_size=self.batch_size)
        return frechet_distance(*self._real_statistics, *feature_statistics(fake))
