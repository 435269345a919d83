"""The registry of data set names, and ``load_dataset``, the one entry point."""

import dataclasses
import difflib
import typing

from dcgan_keras.data import arrays, cifar, folder, idx, svhn, synthetic
from dcgan_keras.data.convert import (
    as_image_array,
    check_channels,
    check_image_size,
    check_limit,
    resize_images,
    to_channels,
)
from dcgan_keras.data.dataset import ImageDataset
from dcgan_keras.data.errors import DataError
from dcgan_keras.data.keras_datasets import KERAS_DATASETS, load_from_keras

_FOLDER_OPTIONS = ("cache", "cache_dir", "workers", "crop_size")


@dataclasses.dataclass(frozen=True)
class LoadRequest:
    """What a loader is asked for, after ``load_dataset`` has checked the arguments."""

    name: str
    data_dir: typing.Any
    image_size: typing.Optional[int]
    channels: typing.Optional[int]
    split: str
    limit: typing.Optional[int]
    options: dict


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One registry entry.

    Attributes:
        name: the canonical name.
        load: ``LoadRequest -> (array, source[, labels])``, the array (N, H, W[, C]) in any
            dtype ``as_image_array`` accepts.
        summary: one line for ``--help`` texts.
        splits: the accepted ``split`` values.
        options: the accepted extra keyword options.
        defaults: (image_size, channels) when the loader renders images itself
            (folders, synthetic) and so needs them; None when the data has a
            native size that is kept unless the caller asks otherwise.
        native: (image_size, channels) of the data as published, where every
            copy has the same (None for arrays and folders).
    """

    name: str
    load: typing.Callable
    summary: str
    splits: tuple = ("train", "test")
    options: tuple = ()
    defaults: typing.Optional[tuple] = None
    native: typing.Optional[tuple] = None


def _specs():
    mnist_like = "IDX files {train,t10k}-images-idx3-ubyte[.gz] in data_dir"
    keras_or = "keras.datasets download, or "
    return [
        DatasetSpec(
            "mnist", idx.load_mnist_family, "28x28x1 digits: " + keras_or + mnist_like, native=(28, 1)
        ),
        DatasetSpec(
            "fashion_mnist",
            idx.load_mnist_family,
            "28x28x1 clothes: " + keras_or + mnist_like,
            native=(28, 1),
        ),
        DatasetSpec(
            "kmnist", idx.load_mnist_family, "28x28x1 Kuzushiji characters: " + mnist_like, native=(28, 1)
        ),
        DatasetSpec(
            "emnist",
            idx.load_emnist,
            "28x28x1 letters/digits: emnist-{split}-{train,test}-images-idx3-ubyte[.gz] in data_dir",
            options=("emnist_split",),
            native=(28, 1),
        ),
        DatasetSpec(
            "cifar10",
            cifar.load_cifar,
            "32x32x3: " + keras_or + "data_batch_1..5/test_batch",
            native=(32, 3),
        ),
        DatasetSpec(
            "cifar100",
            cifar.load_cifar,
            "32x32x3: " + keras_or + "cifar-100-python train/test",
            native=(32, 3),
        ),
        DatasetSpec(
            "svhn",
            svhn.load_svhn,
            "32x32x3 house numbers: {train,test,extra}_32x32.mat (needs scipy)",
            splits=svhn.SVHN_SPLITS,
            native=(32, 3),
        ),
        DatasetSpec(
            "celeba",
            folder.load_celeba,
            "faces: img_align_celeba/*.jpg, center crop 108, resized to 64x64x3 (cached)",
            splits=("train",),
            options=_FOLDER_OPTIONS,
            defaults=(64, 3),
        ),
        DatasetSpec(
            "folder",
            folder.load_folder,
            "any tree of JPEG/PNG/WebP/BMP images, square-cropped and resized to 64x64x3 (cached)",
            splits=("train",),
            options=_FOLDER_OPTIONS,
            defaults=(64, 3),
        ),
        DatasetSpec(
            "npz",
            arrays.load_array_file,
            "an .npz holding an image array (key 'images' or x_train)",
            options=("path", "key"),
        ),
        DatasetSpec(
            "npy",
            arrays.load_array_file,
            "an .npy image array (N,H,W[,C]), uint8 or float",
            splits=("train",),
            options=("path", "key"),
        ),
        DatasetSpec(
            "synthetic",
            synthetic.load_synthetic,
            "generated rectangles and discs, no files (options num=1024, seed=0)",
            options=("num", "seed"),
            defaults=(28, 1),
        ),
    ]


#: Every data set ``load_dataset`` knows, by canonical name.
DATASETS = {spec.name: spec for spec in _specs()}


def list_datasets():
    """The names ``load_dataset`` accepts, sorted.

    Example:
        >>> "mnist" in list_datasets()
        True
    """
    return sorted(DATASETS)


def default_shape(name):
    """(image_size, channels) a data set is trained at unless asked otherwise, or None.

    Its native shape (cifar10: (32, 3)), or what its loader renders by default
    (folders: (64, 3)); None for arrays (npz, npy: any shape).

    Raises:
        DataError: an unknown name.

    Example:
        >>> default_shape("cifar100")
        (32, 3)
    """
    spec = get_spec(name)
    return spec.native or spec.defaults


def _normalize(name):
    return name.lower().replace("-", "").replace("_", "")


def get_spec(name):
    """The registry entry for ``name``; spelling-tolerant ("Fashion-MNIST" finds fashion_mnist)."""
    if isinstance(name, str):
        for spec in DATASETS.values():
            if _normalize(spec.name) == _normalize(name):
                return spec
    close = difflib.get_close_matches(str(name).lower(), list(DATASETS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DataError(f"Unknown data set {name!r}; known: {', '.join(list_datasets())}.{hint}")


#: The classes' names of the labelled data sets that name them (index = class id).
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "svhn": [str(d) for d in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}


def _read_images(spec, request):
    """(array, source, labels or None, class names or None).

    A loader returns labels third, where its data set has them, and the
    classes' names fourth where the files name them (a folder's sub-folders);
    else `CLASS_NAMES` names them.
    """
    if request.data_dir is None and spec.name in KERAS_DATASETS:
        found = load_from_keras(spec.name, request.split)
    else:
        found = spec.load(request)
    array, source, *rest = found
    labels = rest[0] if rest else None
    class_names = rest[1] if len(rest) > 1 else CLASS_NAMES.get(spec.name)
    return array, source, labels, (class_names if labels is not None else None)


def load_dataset(
    name, data_dir=None, image_size=None, channels=None, split="train", limit=None, **options
):
    """Loads a data set by name as uint8 images (N, H, W, C).

    Args:
        name: one of ``list_datasets()``.
        data_dir: where its files are (a folder; for npz/npy the file). None
            downloads mnist, fashion_mnist, cifar10 and cifar100 through
            keras.datasets; the other sets need it.
        image_size: the side to resize square images to (antialiased, after a
            center square crop); None keeps the native size (folders: 64,
            synthetic: 28).
        channels: 1 (grayscale) or 3 (RGB); None keeps the native count
            (folders: 3, synthetic: 1).
        split: "train" or "test" ("extra" for svhn; folders have only "train").
        limit: keep the first ``limit`` images (folders: decode only those).
        **options: per data set: emnist ``emnist_split``; folder and celeba
            ``cache`` (True), ``cache_dir``, ``workers``, ``crop_size``;
            npz/npy ``path``, ``key``; synthetic ``num``, ``seed``.

    Returns:
        An ``ImageDataset``; labelled (``labels``, ``class_names``) where the
        data set's labels were found: mnist, fashion_mnist, kmnist and emnist
        with their -labels- IDX files, cifar10/100, svhn, keras.datasets
        downloads, an npz with a ``labels`` array, and a folder whose images
        sit in one sub-folder per class (the sub-folders' names name them).

    Raises:
        DataError: naming the bad name, value or file and what to do.

    Example:
        >>> data = load_dataset("mnist", data_dir="data/mnist", image_size=32)  # doctest: +SKIP
        >>> data.image_shape  # doctest: +SKIP
        (32, 32, 1)
    """
    spec = get_spec(name)
    image_size, channels, limit = (
        check_image_size(image_size),
        check_channels(channels),
        check_limit(limit),
    )
    if split not in spec.splits:
        raise DataError(f"{spec.name} has no split {split!r}; use one of {', '.join(spec.splits)}.")
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        accepted = ", ".join(spec.options) or "none"
        raise DataError(
            f"{spec.name} does not take option(s) {', '.join(unknown)}; it takes: {accepted}."
        )
    if spec.defaults is not None:
        image_size = image_size or spec.defaults[0]
        channels = channels or spec.defaults[1]
    request = LoadRequest(spec.name, data_dir, image_size, channels, split, limit, dict(options))
    array, source, labels, class_names = _read_images(spec, request)
    images = as_image_array(array, source, limit)
    if labels is not None:
        labels = labels[: len(images)]
    # Shrinking to gray before resizing (and expanding to RGB after) resizes fewer values.
    if channels == 1:
        images = resize_images(to_channels(images, channels), image_size)
    else:
        images = to_channels(resize_images(images, image_size), channels)
    return ImageDataset(images, spec.name, source, labels=labels, class_names=class_names)
