"""SVHN (cropped digits) from the official MATLAB files ``{split}_32x32.mat``."""

import numpy as np

from dcgan_keras.data.errors import DataError
from dcgan_keras.data.files import find_file, require_dir

#: SVHN ships a third, larger split of easier samples.
SVHN_SPLITS = ("train", "test", "extra")


def read_svhn_mat(path, with_labels=False):
    """Reads the images of an SVHN .mat file: its ``X`` is (32, 32, 3, N), returned as (N, 32, 32, 3).

    With ``with_labels``, also its labels: ``y`` (N, 1) holds the digits 1 to 9,
    and 10 for the digit 0 (MATLAB's 1-based habit), returned as ids 0 to 9
    (None where the file has no ``y`` of N labels).

    scipy is imported here, not at module level, so the rest of the package
    works without it.

    Example:
        >>> import pathlib
        >>> read_svhn_mat(pathlib.Path("svhn/test_32x32.mat")).shape  # doctest: +SKIP
        (26032, 32, 32, 3)
    """
    try:
        import scipy.io
    except ImportError as err:
        raise DataError(f"Reading SVHN's MATLAB file {path} needs scipy: pip install scipy") from err
    try:
        contents = scipy.io.loadmat(path, variable_names=["X", "y"] if with_labels else ["X"])
    except NotImplementedError as err:
        # scipy reads MATLAB files up to v7; v7.3 files are HDF5 inside.
        raise DataError(
            f"{path} is a MATLAB v7.3 (HDF5) file, which scipy cannot read; re-save it in MATLAB "
            "with save(..., '-v7'), or use the official file from ufldl.stanford.edu/housenumbers."
        ) from err
    except Exception as err:  # scipy raises ValueError, TypeError, OSError... on damage.
        raise DataError(
            f"{path} is not a readable MATLAB file ({type(err).__name__}: {err}); download it again."
        ) from err
    images = contents.get("X")
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.shape[2] != 3:
        shape = getattr(images, "shape", None)
        raise DataError(
            f"{path} has no SVHN image array: expected X of shape (32, 32, 3, N), found {shape}."
        )
    images = np.ascontiguousarray(images.transpose(3, 0, 1, 2))
    if not with_labels:
        return images
    labels = contents.get("y")
    if not isinstance(labels, np.ndarray) or labels.size != len(images):
        return images, None
    return images, (labels.reshape(-1).astype(np.int64) % 10).astype(np.int32)


def load_svhn(request):
    """SVHN's train, test or extra split from ``request.data_dir``."""
    name = f"{request.split}_32x32.mat"
    directory = require_dir(request.data_dir, "svhn", name)
    path = find_file(directory, [name], what=f"SVHN {request.split} file")
    images, labels = read_svhn_mat(path, with_labels=True)
    return images, str(path), labels
