"""Finding a data set's files under ``data_dir``, with errors that say what was expected where."""

import gzip
import os
import pathlib
import zlib

from dcgan_keras.data.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"


def _unreadable(path, err):
    return DataError(
        f"Cannot read {path} ({type(err).__name__}: {err.strerror or err}); "
        "fix its permissions (or those of its folders) and run again."
    )


def _is(test, path):
    # Path.exists()/is_file() raise on a folder that cannot be entered.
    try:
        return test(path)
    except OSError as err:
        raise _unreadable(path, err) from err


def require_dir(data_dir, name, expected):
    """Returns ``data_dir`` as an absolute Path, or raises DataError if it is not a directory.

    Args:
        data_dir: the user's ``data_dir`` (str or PathLike), or None.
        name: the data set name, for the message.
        expected: what the directory should hold, for the message (e.g.
            "train-images-idx3-ubyte.gz").
    """
    if data_dir is None:
        raise DataError(f"{name} needs data_dir=<a directory holding {expected}>.")
    path = pathlib.Path(os.fspath(data_dir)).expanduser().absolute()
    if not _is(pathlib.Path.exists, path):
        raise DataError(f"data_dir {path} does not exist; it should hold {expected} for {name}.")
    if not path.is_dir():
        raise DataError(f"data_dir {path} is a file; {name} needs a directory holding {expected}.")
    return path


def find_file(directory, names, subdirs=("",), what="file"):
    """Returns the first of ``names`` found in ``directory`` or one of its ``subdirs``.

    A folder named like the file and holding it (name/name, as some mirrors
    unpack archives) is looked into.

    Args:
        directory: a Path.
        names: accepted file names, most preferred first.
        subdirs: subfolders to look in too ("" is the directory itself), in order.
        what: a description for the error message.

    Raises:
        DataError: naming every name and folder that was tried.
    """
    folders = [directory / sub if sub else directory for sub in subdirs]
    for folder in folders:
        for name in names:
            for candidate in (folder / name, folder / name / name):
                if _is(pathlib.Path.is_file, candidate):
                    return candidate
    tried = ", ".join(str(f) for f in folders if f.is_dir()) or str(directory)
    raise DataError(f"No {what} in {tried}: expected one of {', '.join(names)}.")


def find_dir_with_all(directory, names, subdirs, what):
    """Returns the first of ``directory``/``subdirs`` that holds every file in ``names``.

    Raises:
        DataError: naming the missing files of the folder that came closest.
    """
    best, best_missing = None, list(names)
    for sub in subdirs:
        folder = directory / sub if sub else directory
        if not folder.is_dir():
            continue
        missing = [n for n in names if not (folder / n).is_file()]
        if not missing:
            return folder
        if len(missing) < len(best_missing):
            best, best_missing = folder, missing
    where = best or directory
    raise DataError(
        f"{what}: {where} lacks {', '.join(best_missing)} (expected {', '.join(names)} "
        f"in {directory} or its subfolder {' or '.join(s for s in subdirs if s)})."
    )


def read_maybe_gzip(path):
    """The bytes of ``path``, gunzipped if they start with the gzip magic (whatever the extension)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise _unreadable(path, err) from err
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path} is a damaged gzip file ({err}); download it again.") from err
