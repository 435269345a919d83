"""CIFAR-10 and CIFAR-100 from their "python version" pickle batches.

Each batch is a pickled dict whose ``data`` entry is a uint8 (N, 3072) array:
the 1024 red, then green, then blue values of each 32x32 image, row-major.
"""

import pickle

import numpy as np

from dcgan_keras.data.convert import as_image_array
from dcgan_keras.data.errors import DataError
from dcgan_keras.data.files import find_dir_with_all, require_dir

CIFAR10_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
CIFAR100_FILES = {"train": ("train",), "test": ("test",)}
# The official archives unpack into these folders; accept data_dir pointing at either level.
_SUBDIRS = {"cifar10": ("", "cifar-10-batches-py"), "cifar100": ("", "cifar-100-python")}

# Only what rebuilding numpy arrays and Python-2 byte strings needs: a pickle
# can run arbitrary code, and these files come from the internet.
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }
)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_cifar_batch(path, with_labels=False):
    """Reads one CIFAR pickle batch into uint8 images (N, 32, 32, 3).

    Args:
        path: a pathlib.Path to e.g. ``data_batch_1``.

    Raises:
        DataError: if the file is not a CIFAR python batch.

    Example:
        >>> import pathlib
        >>> read_cifar_batch(pathlib.Path("cifar-10-batches-py/test_batch")).shape  # doctest: +SKIP
        (10000, 32, 32, 3)
    """
    try:
        with open(path, "rb") as handle:
            # encoding="bytes": the batches were pickled by Python 2.
            batch = _RestrictedUnpickler(handle, encoding="bytes").load()
    except Exception as err:  # A damaged pickle can raise almost anything.
        raise DataError(
            f"{path} is not a readable CIFAR python batch ({type(err).__name__}: {err}); "
            "download cifar-*-python.tar.gz again and unpack it."
        ) from err
    data = None
    if isinstance(batch, dict):
        data = batch.get(b"data", batch.get("data"))
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise DataError(
            f"{path} is not a CIFAR python batch: expected a dict with 'data' of shape "
            f"(N, 3072), found {type(batch).__name__} with data shape {shape}."
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    # The official batches are uint8; a re-saved float or int copy is scaled
    # by the same rules as any array (a cast would wrap or flatten it).
    images = as_image_array(images, str(path))
    if not with_labels:
        return images
    # CIFAR-10's "labels"; CIFAR-100's "fine_labels" (its 100 classes).
    labels = next((batch[k] for k in (b"labels", "labels", b"fine_labels", "fine_labels") if k in batch), None)
    return images, (None if labels is None or len(labels) != len(images) else np.asarray(labels))


def load_cifar(request):
    """CIFAR-10 or CIFAR-100 (``request.name``) from pickle batches in ``request.data_dir``."""
    names = (CIFAR10_FILES if request.name == "cifar10" else CIFAR100_FILES)[request.split]
    directory = require_dir(request.data_dir, request.name, ", ".join(names))
    folder = find_dir_with_all(
        directory, names, _SUBDIRS[request.name], what=f"{request.name} {request.split} split"
    )
    batches = [read_cifar_batch(folder / n, with_labels=True) for n in names]
    images = np.concatenate([images for images, _ in batches])
    labels = None if any(labels is None for _, labels in batches) else np.concatenate([l for _, l in batches])
    return images, str(folder), labels
