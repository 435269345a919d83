"""The on-disk cache of decoded image folders: one uint8 .npy per (folder, settings, contents).

Decoding and resizing 200k JPEGs takes minutes; loading the same pixels from
one .npy takes about a second. The file name carries a hash of everything the
pixels depend on (file names, sizes, modification and change times, image size,
channels, crop, limit, this module's format version), so a changed folder or
setting misses the cache and rebuilds it, and stale entries for the same
folder and settings are deleted when the new one is written.
"""

import hashlib
import json
import os
import pathlib
import re
import uuid
import warnings

import numpy as np

from dcgan_keras.data.errors import DataWarning

#: Bump when the decoding changes in a way that changes pixels: old caches are then ignored.
CACHE_FORMAT = 1
#: Environment variable that moves the cache (e.g. to a scratch disk).
CACHE_ENV = "DCGAN_KERAS_CACHE"


def default_cache_dir():
    """Where decoded folders are cached.

    $DCGAN_KERAS_CACHE if set, else $XDG_CACHE_HOME/dcgan_keras, else
    ~/.cache/dcgan_keras. The ``cache_dir`` option of load_dataset overrides it.

    Example:
        >>> default_cache_dir()  # depends on $HOME and the environment  # doctest: +SKIP
        PosixPath('/home/me/.cache/dcgan_keras')
    """
    if os.environ.get(CACHE_ENV):
        return pathlib.Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return pathlib.Path(base).expanduser() / "dcgan_keras"


def fingerprint(entries, settings):
    """A hex digest of the source files and the decode settings.

    Args:
        entries: (relative path, then numbers from the file's stat) per file,
            in load order. The folder loader gives size, mtime, ctime and
            inode: an in-place edit that keeps size and mtime (exiftool -P,
            `touch -r`) or a chmod that makes a skipped file readable still
            changes the ctime, which nothing but the kernel sets.
        settings: a JSON-serializable dict (image_size, channels, crop, ...).
    """
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": CACHE_FORMAT, **settings}, sort_keys=True).encode())
    for relpath, *numbers in entries:
        # fsencode: file names need not be valid UTF-8 on POSIX.
        digest.update(b"\0" + os.fsencode(relpath))
        digest.update("".join(f"\0{n}" for n in numbers).encode())
    return digest.hexdigest()


def cache_stem(root, settings):
    """The part of the cache file name shared by every version of one folder's cache.

    Readable (folder name, size, channels) so a user can tell the files apart,
    plus a hash of the absolute folder path and settings so that two folders
    with the same name do not evict each other.
    """
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", root.name)[:40] or "root"
    identity = json.dumps({"root": str(root), **settings}, sort_keys=True).encode()
    return (
        f"{settings['kind']}-{slug}-{settings['image_size']}px-{settings['channels']}c-"
        f"{hashlib.sha256(identity).hexdigest()[:8]}"
    )


def _write_atomically(path, write):
    # Written beside the target, then renamed: a crash or a concurrent run can
    # leave a stray temporary file but never a half-written cache.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load(cache_dir, stem, key):
    """Returns (images, metadata) from the cache, or None on a miss or an unreadable entry."""
    path = cache_dir / f"{stem}-{key[:20]}.npy"
    if not path.is_file():
        return None
    try:
        images = np.load(path, allow_pickle=False)
        meta_path = path.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    except (OSError, ValueError) as err:
        warnings.warn(
            f"Ignoring unreadable cache {path} ({err}); rebuilding it.", DataWarning, stacklevel=3
        )
        return None
    return images, meta


def save(cache_dir, stem, key, images, meta):
    """Stores ``images`` (and a JSON ``meta`` sidecar) and deletes older entries of ``stem``.

    A cache that cannot be written (read-only disk, full disk) costs only
    speed, so it is a warning, not an error.

    Returns:
        The path written, or None.
    """
    path = cache_dir / f"{stem}-{key[:20]}.npy"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, lambda handle: np.save(handle, images, allow_pickle=False))
        _write_atomically(
            path.with_suffix(".json"), lambda handle: handle.write(json.dumps(meta).encode())
        )
    except OSError as err:
        warnings.warn(
            f"Could not write the image cache {path} ({err}); the folder will be decoded "
            f"again next time. Set cache_dir= or ${CACHE_ENV} to a writable place.",
            DataWarning,
            stacklevel=3,
        )
        return None
    for old in cache_dir.glob(f"{stem}-*"):
        if old.stem != path.stem:
            try:
                old.unlink()
            except OSError:
                pass  # Another process may be removing it too.
    return path
