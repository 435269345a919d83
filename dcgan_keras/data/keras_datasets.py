"""The data sets Keras downloads itself: used when no data_dir is given.

Going through ``keras.datasets.X.load_data()`` (rather than our own download
code) means users get Keras's verified downloads and its cache in
~/.keras/datasets, and the tests exercise this exact call.
"""

import keras

from dcgan_keras.data.errors import DataError

#: Registry name -> the keras.datasets module that fetches it.
KERAS_DATASETS = {
    "mnist": keras.datasets.mnist,
    "fashion_mnist": keras.datasets.fashion_mnist,
    "cifar10": keras.datasets.cifar10,
    "cifar100": keras.datasets.cifar100,
}


def load_from_keras(name, split):
    """Returns (images, source, labels) for ``split`` ("train" or "test") of a keras.datasets set.

    Raises:
        DataError: if the download fails (no network), with the data_dir
            alternative.
    """
    try:
        (x_train, y_train), (x_test, y_test) = KERAS_DATASETS[name].load_data()
    except Exception as err:  # get_file raises a bare Exception on network errors.
        raise DataError(
            f"keras.datasets.{name}.load_data() failed ({type(err).__name__}: {err}). "
            f"Without network access, download the {name} files yourself and pass "
            "data_dir=<their folder>."
        ) from err
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    # CIFAR comes channels-first when keras.config.image_data_format() says so.
    if images.ndim == 4 and images.shape[1] == 3 and images.shape[-1] != 3:
        images = images.transpose(0, 2, 3, 1)
    return images, f"keras.datasets.{name}", labels.reshape(-1)
