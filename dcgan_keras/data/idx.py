"""IDX files: MNIST, Fashion-MNIST, KMNIST and EMNIST as published.

The format (yann.lecun.com/exdb/mnist): a 4-byte magic ``00 00 <type> <ndim>``,
``ndim`` big-endian uint32 dimensions, then the values, row-major. The files
ship gzipped or not, and some mirrors spell them ``train-images.idx3-ubyte``.
"""

import struct

import numpy as np

from dcgan_keras.data.errors import DataError
from dcgan_keras.data.files import find_file, read_maybe_gzip, require_dir

# IDX type byte -> numpy dtype (big-endian, as the format stores multi-byte values).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IMAGES_MAGIC = 0x00000803

#: The file stem of each split in the MNIST family.
MNIST_STEMS = {"train": "train-images", "test": "t10k-images"}
#: Subfolders searched besides data_dir itself: torchvision keeps the files in raw/.
_MNIST_SUBDIRS = ("", "raw")
#: EMNIST's official archive unpacks to gzip/.
_EMNIST_SUBDIRS = ("", "gzip", "raw")
#: The six EMNIST splits (Cohen et al. 2017).
EMNIST_SPLITS = ("balanced", "byclass", "bymerge", "digits", "letters", "mnist")


def read_idx(path):
    """Reads an IDX file (gzipped or not) into a numpy array of its declared type and shape.

    Args:
        path: a pathlib.Path.

    Raises:
        DataError: for a wrong magic number or a file shorter or longer than
            its header declares.

    Example:
        >>> import pathlib
        >>> read_idx(pathlib.Path("mnist/train-images-idx3-ubyte.gz")).shape  # doctest: +SKIP
        (60000, 28, 28)
    """
    raw = read_maybe_gzip(path)
    if len(raw) < 4:
        raise DataError(
            f"{path} is truncated: {len(raw)} bytes, not even an IDX header; download it again."
        )
    magic = struct.unpack(">I", raw[:4])[0]
    code, ndim = raw[2], raw[3]
    if raw[:2] != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path} is not an IDX file: magic number 0x{magic:08x}, expected "
            f"0x{_IMAGES_MAGIC:08x} for images. Is it the right file, and fully unpacked?"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated inside its header; download it again.")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise DataError(
            f"{path} is truncated: its header declares shape {dims} ({expected} bytes of data) "
            f"but it holds {found}; download it again."
        )
    if found > expected:
        raise DataError(
            f"{path} has {found - expected} bytes after the {expected} its header declares "
            f"(shape {dims}); it is damaged or not an IDX file."
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).copy()


def idx_file_names(stem):
    """Every spelling an IDX image file of ``stem`` ships under, most common first."""
    names = [f"{stem}-idx3-ubyte", f"{stem}.idx3-ubyte"]
    return [n + ext for n in names for ext in ("", ".gz")]


def read_idx_images(path):
    """Reads an IDX file and checks it holds uint8 images (N, H, W)."""
    images = read_idx(path)
    if images.ndim != 3 or images.dtype != np.uint8:
        kind = "labels" if images.ndim == 1 else f"a {images.dtype} array of shape {images.shape}"
        raise DataError(f"{path} holds {kind}, not uint8 images (N, H, W): is it the -images- file?")
    return images


def read_idx_labels(path, num_images):
    """Reads an IDX labels file (uint8 class ids (N,)) and checks it has one label per image."""
    labels = read_idx(path)
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(f"{path} holds a {labels.dtype} array of shape {labels.shape}, not uint8 labels (N,).")
    if len(labels) != num_images:
        raise DataError(
            f"{path} holds {len(labels)} labels for {num_images} images: the labels file belongs to another split."
        )
    return labels


def _labels_beside(images_path, images, subdirs):
    # The labels file beside the images file, where there is one: train-labels-idx1-ubyte beside
    # train-images-idx3-ubyte (and every spelling of it). Without one the data set is unlabelled.
    stem = images_path.name.split("-idx3")[0].split(".idx3")[0].replace("-images", "-labels")
    names = [f"{stem}-idx1-ubyte", f"{stem}.idx1-ubyte"]
    names = [n + ext for n in names for ext in ("", ".gz")]
    try:
        path = find_file(images_path.parent, names, ("",), what="labels")
    except DataError:
        return None
    return read_idx_labels(path, len(images))


def load_mnist_family(request):
    """MNIST, Fashion-MNIST and KMNIST from IDX files in ``request.data_dir``, with their labels if present."""
    stem = MNIST_STEMS[request.split]
    names = idx_file_names(stem)
    directory = require_dir(request.data_dir, request.name, names[0] + "(.gz)")
    path = find_file(directory, names, _MNIST_SUBDIRS, what=f"{request.name} {request.split} images")
    images = read_idx_images(path)
    return images, str(path), _labels_beside(path, images, _MNIST_SUBDIRS)


def load_emnist(request):
    """EMNIST from IDX files; ``emnist_split`` picks one of EMNIST_SPLITS (default balanced).

    EMNIST stores each image transposed relative to MNIST (column-major, as
    converted from the NIST MATLAB files), so it is transposed back here.
    """
    split = request.options.get("emnist_split", "balanced")
    if split not in EMNIST_SPLITS:
        raise DataError(f"emnist_split must be one of {', '.join(EMNIST_SPLITS)}, got {split!r}.")
    stem = f"emnist-{split}-{request.split}-images"
    names = idx_file_names(stem)
    directory = require_dir(request.data_dir, "emnist", names[0] + "(.gz)")
    path = find_file(directory, names, _EMNIST_SUBDIRS, what=f"EMNIST {split} {request.split} images")
    images = read_idx_images(path)
    # (EMNIST letters number its classes 1-26, as published: no class 0.)
    labels = _labels_beside(path, images, _EMNIST_SUBDIRS)
    return np.ascontiguousarray(images.transpose(0, 2, 1)), str(path), labels
