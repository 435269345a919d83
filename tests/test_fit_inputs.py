"""`fit` takes every input the README names, and trains on the images alone.

README: NumPy arrays, `tf.data.Dataset`s, `keras.utils.PyDataset`s and torch
`DataLoader`s (Keras takes each on every backend), of images or of (images,
labels) batches. Each input
below holds the same 16 images in the same order; a fresh GAN with the same
seed must end one epoch with the same weights as on the plain array, so the
labels played no part and no input lost or reordered an image.
"""

import keras
import numpy as np
import pytest

from helpers import numpy_weights, random_images, tiny_gan

BACKEND = keras.backend.backend()
BATCH = 8
IMAGES = random_images(16, seed=3)
LABELS = np.arange(16) % 10


class _Batches(keras.utils.PyDataset):
    def __init__(self, with_labels):
        super().__init__()
        self.with_labels = with_labels

    def __len__(self):
        return len(IMAGES) // BATCH

    def __getitem__(self, i):
        images = IMAGES[i * BATCH : (i + 1) * BATCH]
        return (images, LABELS[i * BATCH : (i + 1) * BATCH]) if self.with_labels else images


def _tf_dataset(with_labels):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((IMAGES, LABELS) if with_labels else IMAGES).batch(BATCH)


def _data_loader(with_labels):
    import torch

    tensors = [torch.from_numpy(IMAGES)] + ([torch.from_numpy(LABELS)] if with_labels else [])
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors), batch_size=BATCH)


INPUTS = {
    # name: (x, y, fit's batch_size) made lazily: tf.data and torch need their framework.
    "arrays_with_labels": lambda: (IMAGES, LABELS, BATCH),
    "py_dataset": lambda: (_Batches(False), None, None),
    "py_dataset_with_labels": lambda: (_Batches(True), None, None),
    "tf_data": lambda: (_tf_dataset(False), None, None),
    "tf_data_with_labels": lambda: (_tf_dataset(True), None, None),
    "torch_data_loader": lambda: (_data_loader(False), None, None),
    "torch_data_loader_with_labels": lambda: (_data_loader(True), None, None),
}


def _trained_weights(x, y=None, batch_size=None):
    gan = tiny_gan(seed=0)
    gan.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return numpy_weights(gan.generator.weights + gan.discriminator.weights)


@pytest.fixture(scope="module")
def on_the_array():
    gan = tiny_gan(seed=0)
    untrained = numpy_weights(gan.generator.weights + gan.discriminator.weights)
    trained = _trained_weights(IMAGES, batch_size=BATCH)
    # Training moved every weight, so an input that lost, added or reordered
    # a batch could not end on the same ones.
    assert all(not np.array_equal(a, b) for a, b in zip(untrained, trained) if a.size > 1)
    return trained


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_fit_trains_the_same_on_every_input_the_readme_names(name, on_the_array):
    weights = _trained_weights(*INPUTS[name]())
    assert len(weights) == len(on_the_array)
    for got, want in zip(weights, on_the_array):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
