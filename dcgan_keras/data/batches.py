"""Batches: a uint8 image array served to ``model.fit`` as shuffled float batches.

Why a PyDataset and not a tf.data pipeline: it is the one input type that
``fit`` accepts on TensorFlow, JAX and torch alike, and it keeps the data set
in memory as uint8 (4x smaller than float32), scaling one batch at a time.

How the epoch is tracked, as Keras 3.15 calls a PyDataset (read in
``trainers/epoch_iterator.py`` and ``py_dataset_adapter.py``, and observed on
all three backends):

* ``fit`` brackets every training epoch with ``on_epoch_begin()`` and
  ``on_epoch_end()``.
* Before the first epoch, ``fit`` also calls ``on_epoch_end()`` once from
  ``EpochIterator.reset()``. When the model is not yet built (JAX, torch, or
  TensorFlow under a distribution strategy) that call closes an extra
  ``on_epoch_begin()`` + one ``__getitem__`` that Keras uses to infer shapes.
  On TensorFlow, ``__getitem__(0)`` and ``(1)`` are also read with no
  bracket at all, to build the tf.data signature.

So the first ``on_epoch_end()`` after construction (or after ``set_epoch``)
does not advance the epoch, nor does one that closes no bracket; every other
``on_epoch_end()`` does. That gives epochs 0, 1, 2 for ``fit(epochs=3)`` on
every backend whether the model is built or not, and a second ``fit`` on the
same Batches carries on where the first stopped.

``fit(shuffle=True)`` (its default) additionally permutes the *batch* order
with Python's global ``random``; the batches of an epoch stay the same set,
but pass ``shuffle=False`` for an order that depends on (seed, epoch) only.
"""

import math
import numbers

import keras
import numpy as np

from dcgan_keras.data.errors import DataError


def epoch_permutation(num_images, seed, epoch):
    """The order in which epoch ``epoch`` visits the images: a pure function of its arguments.

    Seeding a fresh generator with (seed, epoch), rather than drawing from one
    long-lived generator, is what lets a run resumed at epoch e see the same
    order as an uninterrupted run.

    Example:
        >>> epoch_permutation(5, seed=0, epoch=1)  # same result every call
        array([1, 4, 3, 0, 2])
    """
    return np.random.default_rng([seed, epoch]).permutation(num_images)


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DataError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def check_labels(labels, num_images):
    """Class ids (N,) or (N, 1), whole numbers >= 0, one per image, as int32 (N,); else a DataError."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or len(labels) != num_images:
        raise DataError(
            f"labels must be one class id per image, shape ({num_images},); got shape {labels.shape}."
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or np.any(np.mod(labels, 1) != 0):
            raise DataError(f"labels must be whole class ids; got {labels.dtype} values such as {labels[:3]}.")
    if labels.size and (labels.min() < 0 or labels.max() > np.iinfo(np.int32).max):
        raise DataError(f"labels must be class ids >= 0; got ids from {labels.min()} to {labels.max()}.")
    return labels.astype(np.int32)


class Batches(keras.utils.PyDataset):
    """Shuffled float32 batches in [-1, 1] from uint8 images, for ``model.fit``.

    Batch ``i`` of epoch ``e`` holds ``images[order[i*B:(i+1)*B]] / 127.5 - 1``
    with ``order = np.random.default_rng([seed, e]).permutation(N)``. Keras hands
    it to ``train_step`` as the 1-tuple ``(x,)``. With ``labels``, batch ``i``
    is ``(images, labels[order[i*B:(i+1)*B]])``, the labels as int32 ids in
    the images' order (a conditional GAN's batches).

    Args:
        images: uint8 array (N, H, W, C).
        batch_size: images per batch.
        seed: seeds the per-epoch shuffle.
        shuffle: False serves the images in stored order every epoch.
        drop_remainder: True drops the last partial batch (a GAN step wants
            full batches); False serves it, smaller.
        epoch: the epoch the first batches come from (see ``set_epoch``).
        max_batches: serve at most this many batches an epoch (None: all):
            each epoch is then its first ``max_batches`` batches, so short
            epochs still see different images and keep a (seed, epoch) order.
            (``fit(steps_per_epoch=...)`` below ``len()`` would instead run
            on through the next epoch's batches without starting it.)
        labels: None, or int class ids (N,), one per image: served with
            them, batch by batch, in the same order.

    Example:
        >>> images = np.zeros((1000, 28, 28, 1), "uint8")
        >>> batches = Batches(images, batch_size=128, seed=0)
        >>> initial_epoch = 3  # when resuming after 3 epochs
        >>> batches.set_epoch(initial_epoch)
        >>> model.fit(batches, epochs=25, initial_epoch=initial_epoch, shuffle=False)  # doctest: +SKIP
    """

    def __init__(
        self, images, batch_size, seed=0, shuffle=True, drop_remainder=True, epoch=0, max_batches=None,
        labels=None,
    ):
        super().__init__()
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4:
            raise DataError(
                f"Batches needs uint8 images of shape (N, H, W, C), got {images.dtype} "
                f"of shape {images.shape}."
            )
        self.images = images
        self.labels = None if labels is None else check_labels(labels, len(images))
        self.batch_size = _check_int(batch_size, "batch_size", 1)
        self.seed = _check_int(seed, "seed", 0)
        self.shuffle = bool(shuffle)
        self.drop_remainder = bool(drop_remainder)
        self.max_batches = None if max_batches is None else _check_int(max_batches, "max_batches", 1)
        if len(images) == 0:
            raise DataError("Batches got an empty image array.")
        if self.drop_remainder and len(images) < self.batch_size:
            raise DataError(
                f"batch_size {self.batch_size} is larger than the data set ({len(images)} "
                "images), so drop_remainder leaves no batch: lower batch_size or load more images."
            )
        self._order_cache = None
        self.set_epoch(epoch)

    # Epoch bookkeeping ----------------------------------------------------

    @property
    def epoch(self):
        """The epoch whose order the batches currently follow."""
        return self._epoch

    def set_epoch(self, epoch):
        """Makes the next batches follow epoch ``epoch``'s order.

        Call it with ``initial_epoch`` before ``fit`` when resuming, or at the
        start of every epoch in a hand-written loop.
        """
        self._epoch = _check_int(epoch, "epoch", 0)
        self._in_epoch = False
        # The next on_epoch_end is fit's start-of-training call (see module doc).
        self._await_fit_start = True

    def on_epoch_begin(self):
        self._in_epoch = True

    def on_epoch_end(self):
        closes_epoch, self._in_epoch = self._in_epoch, False
        if self._await_fit_start:
            self._await_fit_start = False
        elif closes_epoch:
            self._epoch += 1

    # Data -----------------------------------------------------------------

    def order(self, epoch=None):
        """The image indices in the order epoch ``epoch`` (default: the current one) visits them."""
        epoch = self._epoch if epoch is None else epoch
        if not self.shuffle:
            return np.arange(len(self.images))
        # One cached (epoch, order) pair, swapped in one assignment: TensorFlow
        # reads batches from another thread while fit calls on_epoch_end here.
        cached = self._order_cache
        if cached is None or cached[0] != epoch:
            cached = (epoch, epoch_permutation(len(self.images), self.seed, epoch))
            self._order_cache = cached
        return cached[1]

    def __len__(self):
        if self.drop_remainder:
            full = len(self.images) // self.batch_size
        else:
            full = math.ceil(len(self.images) / self.batch_size)
        return full if self.max_batches is None else min(full, self.max_batches)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} is out of range for {len(self)} batches")
        index %= len(self)
        take = self.order()[index * self.batch_size : (index + 1) * self.batch_size]
        batch = self.images[take].astype(np.float32)
        batch /= np.float32(127.5)
        batch -= np.float32(1.0)
        return batch if self.labels is None else (batch, self.labels[take])

    def __repr__(self):
        return (
            f"Batches({len(self.images)} {'labelled ' if self.labels is not None else ''}images "
            f"{self.images.shape[1:]}, "
            f"batch_size={self.batch_size}, {len(self)} batches, seed={self.seed}, "
            f"epoch={self._epoch})"
        )
