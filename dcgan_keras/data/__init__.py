"""Data sets for the DCGAN: uint8 images in memory, served as float batches in [-1, 1].

Example:
    >>> from dcgan_keras.data import load_dataset
    >>> data = load_dataset("mnist", data_dir="data/mnist")  # or no data_dir: keras.datasets  # doctest: +SKIP
    >>> model.fit(data.batches(128, seed=0), epochs=25, shuffle=False)  # doctest: +SKIP
"""

from dcgan_keras.data.batches import Batches
from dcgan_keras.data.cache import default_cache_dir
from dcgan_keras.data.dataset import ImageDataset
from dcgan_keras.data.errors import DataError, DataWarning
from dcgan_keras.data.registry import DATASETS, list_datasets, load_dataset
from dcgan_keras.data.unpaired import UnpairedDataset, load_unpaired

__all__ = [
    "DATASETS",
    "Batches",
    "DataError",
    "DataWarning",
    "ImageDataset",
    "UnpairedDataset",
    "default_cache_dir",
    "list_datasets",
    "load_dataset",
    "load_unpaired",
]
