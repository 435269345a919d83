"""`fit` takes every input the README names, and trains on the images alone.

README: NumPy arrays, `tf.data.Dataset`s, `keras.utils.PyDataset`s, torch
`DataLoader`s and Python generators (Keras takes each on every backend), of
images or of (images, labels) batches. Each input
below holds the same 16 images in the same order; a fresh GAN with the same
seed must end one epoch with the same weights as on the plain array, so the
labels played no part and no input lost or reordered an image.
"""

import keras
import numpy as np
import pytest

from dcgan_keras import DCGAN
from helpers import numpy_weights, random_images, tiny_gan

BACKEND = keras.backend.backend()
BATCH = 8
IMAGES = random_images(16, seed=3)
LABELS = np.arange(16) % 10


class _Batches(keras.utils.PyDataset):
    def __init__(self, with_labels, images=IMAGES):
        super().__init__()
        self.with_labels = with_labels
        self.images = images

    def __len__(self):
        return len(self.images) // BATCH

    def __getitem__(self, i):
        images = self.images[i * BATCH : (i + 1) * BATCH]
        return (images, LABELS[i * BATCH : (i + 1) * BATCH]) if self.with_labels else images


def _tf_dataset(with_labels, images=IMAGES):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((images, LABELS) if with_labels else images).batch(BATCH)


def _data_loader(with_labels, images=IMAGES):
    import torch

    tensors = [torch.from_numpy(images)] + ([torch.from_numpy(LABELS)] if with_labels else [])
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors), batch_size=BATCH)


def _python_generator(images=IMAGES):
    # Read once: a batch fit reads ahead to check must still be trained on.
    for i in range(len(images) // BATCH):
        yield (images[i * BATCH : (i + 1) * BATCH],)


INPUTS = {
    # name: (x, y, fit's batch_size) made lazily: tf.data and torch need their framework.
    "arrays_with_labels": lambda: (IMAGES, LABELS, BATCH),
    "py_dataset": lambda: (_Batches(False), None, None),
    "py_dataset_with_labels": lambda: (_Batches(True), None, None),
    "tf_data": lambda: (_tf_dataset(False), None, None),
    "tf_data_with_labels": lambda: (_tf_dataset(True), None, None),
    "torch_data_loader": lambda: (_data_loader(False), None, None),
    "torch_data_loader_with_labels": lambda: (_data_loader(True), None, None),
    "python_generator": lambda: (_python_generator(), None, None),
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


# A float copy of 0-255 pixels, what keras.utils.image_dataset_from_directory yields.
PIXELS = ((IMAGES + 1.0) * 127.5).astype("float32")
DATASETS = {
    "py_dataset": lambda images: _Batches(True, images),
    "tf_data": lambda images: _tf_dataset(False, images),
    "tf_data_with_labels": lambda images: _tf_dataset(True, images),
    "torch_data_loader": lambda images: _data_loader(True, images),
    "python_generator": _python_generator,
}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_fit_refuses_a_dataset_of_0_255_pixels_before_training(name):
    gan = tiny_gan(seed=0)
    before = numpy_weights(gan.generator.weights + gan.discriminator.weights)
    with pytest.raises(ValueError, match=r"range over \[0.*255.*lie in \[-1, 1\].*x / 127.5 - 1"):
        gan.fit(DATASETS[name](PIXELS), epochs=1, verbose=0)
    after = numpy_weights(gan.generator.weights + gan.discriminator.weights)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_fit_warns_of_a_dataset_of_0_1_images_for_a_tanh_generator():
    gan = tiny_gan(seed=0)
    with pytest.warns(UserWarning, match=r"lie in \[0, 1\].*x \* 2 - 1") as record:
        gan.fit(_tf_dataset(False, (IMAGES + 1.0) / 2.0), epochs=1, shuffle=False, verbose=0)
    # The warning points at the user's fit call, not at the package.
    assert [w.filename for w in record if "lie in" in str(w.message)] == [__file__]


def test_fit_warns_of_a_dataset_of_one_image_batches_with_batchnorm():
    import tensorflow as tf

    gan = tiny_gan(seed=0)  # the generator has BatchNorm
    with pytest.warns(UserWarning, match=r"first batch holds one image.*BatchNormalization") as record:
        gan.fit(tf.data.Dataset.from_tensor_slices(IMAGES[:2]).batch(1), epochs=1, shuffle=False, verbose=0)
    assert [w.filename for w in record if "one image" in str(w.message)] == [__file__]


def test_fit_checks_a_keras_image_directory_dataset(tmp_path):
    # The keras.io DCGAN's input: image_dataset_from_directory yields 0-255 floats.
    from PIL import Image

    for i, image in enumerate(((IMAGES[..., 0] + 1.0) * 127.5).astype("uint8")):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    dataset = keras.utils.image_dataset_from_directory(
        tmp_path, label_mode=None, color_mode="grayscale", image_size=(28, 28), batch_size=BATCH
    )
    with pytest.raises(ValueError, match=r"x / 127.5 - 1"):
        tiny_gan(seed=0).fit(dataset, epochs=1, verbose=0)


def test_a_generators_own_error_is_the_one_fit_raises():
    # Not Keras's "empty generator", which the check's read would have left it.
    def failing():
        raise FileNotFoundError("no such file: batch0.npy")
        yield IMAGES[:BATCH]

    with pytest.raises(FileNotFoundError, match="batch0.npy"):
        tiny_gan(seed=0).fit(failing(), epochs=1, verbose=0)


def test_a_shuffling_data_loader_trains_as_it_would_without_the_range_check():
    import torch

    def trained(fit):
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(IMAGES)),
                                             batch_size=BATCH, shuffle=True)
        gan = tiny_gan(seed=0)
        torch.manual_seed(0)  # the loader's shuffle draws from torch's RNG
        fit(gan, loader, epochs=1, shuffle=False, verbose=0)  # the loader shuffles
        return numpy_weights(gan.generator.weights)

    # keras.Model.fit is DCGAN.fit without its checks: the check's read must not use up a shuffle.
    for got, want in zip(trained(DCGAN.fit), trained(keras.Model.fit)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_what_reading_ahead_would_disturb_is_not_read():
    import tensorflow as tf

    from dcgan_keras.fit_inputs import _first_batch_images

    class Forking(_Batches):
        def __init__(self):
            super().__init__(False, PIXELS)
            self._use_multiprocessing = True

        def __getitem__(self, i):
            raise AssertionError("read in the parent process: its workers would inherit what it opened")

    cached = tf.data.Dataset.from_tensor_slices(PIXELS).cache().batch(BATCH)  # a partial read makes TF warn
    for data in (Forking(), cached):
        assert _first_batch_images(data) == (None, data)
