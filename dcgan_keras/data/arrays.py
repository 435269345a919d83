"""Images stored as one numpy array: a .npy file, or an entry of a .npz file."""

import os
import pathlib
import zipfile

import numpy as np

from dcgan_keras.data.errors import DataError

# Keys tried, in order, when an .npz holds several arrays and no `key` is given:
# our own convention first, then keras.datasets' (x_train/x_test).
_SPLIT_KEYS = {"train": ("images", "x_train"), "test": ("x_test",)}
# And of the class ids beside them, when the file has some: the data set is then labelled.
_LABEL_KEYS = {"train": ("labels", "y_train"), "test": ("y_test",)}


def _array_path(request):
    given = request.options.get("path", request.data_dir)
    suffix = "." + request.name
    if given is None:
        raise DataError(f"{request.name} needs data_dir=<a {suffix} file> (or path=...).")
    path = pathlib.Path(os.fspath(given)).expanduser().absolute()
    if path.is_dir():
        found = sorted(path.glob(f"*{suffix}"))
        if len(found) != 1:
            listed = ", ".join(p.name for p in found) or "none"
            raise DataError(
                f"{path} is a directory; {request.name} needs the {suffix} file itself "
                f"(found {listed} there)."
            )
        path = found[0]
    if not path.is_file():
        raise DataError(f"{path} does not exist; {request.name} needs a {suffix} file of images.")
    return path


def _pick_npz_key(archive, path, split, key):
    keys = list(archive.keys())
    if key is not None:
        if key not in keys:
            raise DataError(f"{path} has no array {key!r}; it holds {', '.join(keys) or 'nothing'}.")
        return key
    for candidate in _SPLIT_KEYS[split]:
        if candidate in keys:
            return candidate
    if split == "train" and len(keys) == 1:
        return keys[0]
    if split == "test":
        # Handing back the training images as a "test" split would, for one,
        # measure FID against the images the generator was trained on.
        raise DataError(
            f"{path} has no test split (its arrays: {', '.join(keys)}; the test split is an array "
            "called x_test). Pass key=<name> to pick an array, or use split='train'."
        )
    raise DataError(
        f"{path} holds several arrays ({', '.join(keys)}) and none is called "
        f"{' or '.join(_SPLIT_KEYS[split])}: pass key=<name>."
    )


def load_array_file(request):
    """Images from a .npy or .npz file (either name reads either format), and an .npz's labels.

    An .npz's class ids are its ``labels`` (or ``y_train``; ``y_test`` for the
    test split) array, where it has one.

    Pickled (object) arrays are refused: loading a pickle can run code.
    Options: ``path`` (instead of data_dir), ``key`` (the .npz entry).
    """
    path = _array_path(request)
    key = request.options.get("key")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            if key is not None:
                raise DataError(f"key={key!r} only applies to .npz files; {path} holds one array.")
            return loaded, str(path)
        with loaded as archive:
            key = _pick_npz_key(archive, path, request.split, key)
            labels_key = next((k for k in _LABEL_KEYS[request.split] if k in archive.keys()), None)
            labels = None if labels_key is None else archive[labels_key]
            return archive[key], f"{path}[{key}]", labels
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(
            f"{path} is not a readable {request.name} file ({type(err).__name__}: {err})."
        ) from err
