"""ImageDataset: what every loader returns."""

import numpy as np

from dcgan_keras.data.batches import Batches, check_labels
from dcgan_keras.data.errors import DataError


class ImageDataset:
    """A loaded data set: uint8 images (N, H, W, C), channels-last, C in {1, 3}.

    Kept as uint8 (not float) so a data set costs a quarter of the memory;
    ``batches`` scales to [-1, 1] one batch at a time.

    Args:
        images: uint8 array (N, H, W, C).
        name: the registry name it was loaded under (e.g. "mnist").
        source: where it came from (a path, or "keras.datasets"), for logs.
        labels: None, or int class ids (N,), one per image (a labelled data set).
        class_names: None, or the classes' names, index = id (e.g. CIFAR-10's).

    Example:
        >>> from dcgan_keras.data import load_dataset
        >>> data = load_dataset("synthetic", num=256)
        >>> data.image_shape
        (28, 28, 1)
        >>> model.fit(data.batches(64, seed=0), epochs=5, shuffle=False)  # doctest: +SKIP
    """

    def __init__(self, images, name, source="", labels=None, class_names=None):
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise DataError(
                f"ImageDataset needs uint8 images of shape (N, H, W, 1 or 3), got "
                f"{images.dtype} of shape {images.shape}."
            )
        self.images = images
        self.name = name
        self.source = source
        self.labels = None if labels is None else check_labels(labels, len(images))
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        if self.labels is not None and self.class_names is not None and len(self.labels):
            if self.labels.max() >= len(self.class_names):
                raise DataError(
                    f"{name}'s labels run up to {self.labels.max()} but it names {len(self.class_names)} classes."
                )

    @property
    def num_classes(self):
        """The number of classes: the named ones, else the largest id + 1; None when unlabelled."""
        if self.labels is None:
            return None
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    @property
    def image_shape(self):
        """(H, W, C) of one image."""
        return tuple(self.images.shape[1:])

    def __len__(self):
        return len(self.images)

    def batches(self, batch_size, seed=0, shuffle=True, drop_remainder=True, epoch=0, labels=False,
                max_batches=None):
        """Float batches in [-1, 1] for ``model.fit``, as a ``Batches``.

        Args:
            batch_size: images per batch.
            seed: seeds the per-epoch shuffle.
            shuffle: False serves the images in stored order every epoch.
            drop_remainder: True (the default) drops the last partial batch,
                since a GAN step wants full batches.
            epoch: the epoch the first batches come from, for resuming.
            labels: True serves ``(images, labels)`` batches (a conditional
                GAN's), refused for a data set without labels.
            max_batches: None, or a cap on the batches of an epoch.

        Example:
            >>> from dcgan_keras.data import load_dataset
            >>> data = load_dataset("synthetic", num=256)
            >>> len(data.batches(100, seed=1)), len(data.batches(100, seed=1, drop_remainder=False))
            (2, 3)
        """
        if labels and self.labels is None:
            raise DataError(
                f"{self.name} ({self.source or 'no source'}) has no labels, and a conditional model trains on "
                "(images, labels): load a labelled data set (mnist, fashion_mnist, cifar10 with their label "
                "files; an npz with a 'labels' array), or train an unconditional DCGAN."
            )
        return Batches(
            self.images,
            batch_size,
            seed=seed,
            shuffle=shuffle,
            drop_remainder=drop_remainder,
            epoch=epoch,
            labels=self.labels if labels else None,
            max_batches=max_batches,
        )

    def __repr__(self):
        source = f", source={self.source!r}" if self.source else ""
        classes = f", {self.num_classes} classes" if self.labels is not None else ""
        return f"ImageDataset({self.name!r}, {len(self)} images of {self.image_shape}{classes}{source})"
