"""Image folders (any tree of JPEG/PNG/WebP/BMP files) and CelebA, decoded once and cached.

Every image is converted to the requested channels, cropped to a centered
square (CelebA: DCGAN's 108x108 face crop) and resized with PIL's LANCZOS
filter. Decoding runs on a thread pool (PIL releases the GIL while decoding
and resampling), and the result is cached as one uint8 .npy (see cache.py).
"""

import concurrent.futures
import math
import os
import pathlib
import warnings

import numpy as np
from PIL import Image, ImageOps

from dcgan_keras.data import cache
from dcgan_keras.data.convert import center_square_box, check_image_size, resize_image
from dcgan_keras.data.errors import DataError, DataWarning, warn_skipped
from dcgan_keras.data.files import require_dir

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
#: The DCGAN paper's CelebA preprocessing: center crop 108x108 of the aligned 178x218 faces.
CELEBA_CROP = 108
_CELEBA_SUBDIRS = ("img_align_celeba/img_align_celeba", "img_align_celeba", "")


def list_images(root, limit=None):
    """The image files under ``root``, recursively, sorted by relative path.

    Hidden files and folders (".DS_Store", macOS "._x.jpg" forks, ".git") are
    skipped: they are never training images. Symbolic links to files and
    folders are followed (each real folder once, so a link loop ends).

    Returns:
        (entries, others, problems): ``entries`` holds (relative posix path,
        size, mtime_ns, ctime_ns, inode) per image file, the first ``limit``
        of them; ``others`` counts the non-image files seen, for the
        empty-folder message; ``problems`` holds "path (reason)" for each
        folder that could not be listed and each image that could not be
        opened (no permission, a dangling link): what is left out.
    """
    entries, others, problems, walked = [], 0, [], set()

    def left_out(path, err):
        problems.append(f"{path} ({type(err).__name__}: {err.strerror or err})")

    unlistable = lambda err: left_out(err.filename, err)  # noqa: E731
    for folder, dirs, files in os.walk(root, onerror=unlistable, followlinks=True):
        real = os.path.realpath(folder)
        if real in walked:
            dirs[:] = []
            continue
        walked.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                others += 1
                continue
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except OSError as err:
                left_out(path, err)
                continue
            entries.append(
                (
                    os.path.relpath(path, root).replace(os.sep, "/"),
                    stat.st_size,
                    stat.st_mtime_ns,
                    stat.st_ctime_ns,
                    stat.st_ino,
                )
            )
    entries.sort()
    return entries[:limit], others, problems


def _warn_left_out(problems, root):
    if problems:
        warnings.warn(
            f"Could not list or open {len(problems)} folder(s) or file(s) under {root}, e.g. "
            f"{problems[0]}; their images are left out: fix the permissions or links to use them.",
            DataWarning,
            stacklevel=3,
        )


def _to_8bit_mode(image, mode):
    """Converts any PIL mode to ``mode`` ("L" or "RGB"), dropping alpha."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit grayscale PNGs: keep the high byte, rather than PIL's clipping to 255.
        values = np.asarray(image).astype(np.uint32)
        if image.mode.startswith("I;16") or values.max() > 255:
            values = values >> 8
        image = Image.fromarray(values.astype(np.uint8))
    elif image.mode == "P":
        # Through RGBA so palette transparency is read, not warned about.
        image = image.convert("RGBA")
    return image if image.mode == mode else image.convert(mode)


def decode_image(path, image_size, channels, crop_size=None):
    """Decodes one image file to uint8 (image_size, image_size, channels).

    Args:
        path: the file.
        image_size: the output side.
        channels: 1 (grayscale) or 3 (RGB).
        crop_size: the side of the centered square crop; None takes the
            largest one (the shorter side).

    Example:
        >>> Image.new("RGB", (178, 218)).save("face.jpg")  # a CelebA-sized photo
        >>> decode_image("face.jpg", 64, 3, crop_size=108).shape
        (64, 64, 3)
    """
    mode = "L" if channels == 1 else "RGB"
    with Image.open(path) as image:
        width = image.size[0]
        side = min(image.size) if crop_size is None else min(crop_size, *image.size)
        if image.format == "JPEG" and side > image_size:
            # Let the JPEG decoder shrink by 1/2, 1/4 or 1/8 while keeping the crop
            # at least image_size wide: several times faster on large photos.
            scale = image_size / side
            image.draft(mode, tuple(math.ceil(n * scale) for n in image.size))
        # The crop side in the pixels the decoder actually delivers.
        side = side * image.size[0] / width
        image = ImageOps.exif_transpose(image)
        image = _to_8bit_mode(image, mode)
    side = min(round(side), *image.size)
    return _finish(image, image_size, channels, side)


def _finish(image, image_size, channels, side):
    box = center_square_box(image.size[0], image.size[1], side)
    if box == (0, 0) + image.size:
        box = None
    resized = np.asarray(resize_image(image, image_size, box), dtype=np.uint8)
    return resized.reshape(image_size, image_size, channels)


def _decode_or_reason(path, image_size, channels, crop_size):
    try:
        return decode_image(path, image_size, channels, crop_size), None
    except Exception as err:  # PIL raises OSError, ValueError, SyntaxError... on bad files.
        return None, f"{type(err).__name__}: {err}"


def decode_all(root, relpaths, image_size, channels, crop_size=None, workers=None):
    """Decodes ``relpaths`` under ``root`` on a thread pool.

    Returns:
        (images, failures): uint8 (M, image_size, image_size, channels) for the
        M readable files, in order, and (path, reason) for each unreadable one.
    """
    workers = workers or min(32, (os.cpu_count() or 1) + 4)
    out = np.empty((len(relpaths), image_size, image_size, channels), np.uint8)
    ok = np.zeros(len(relpaths), bool)
    failures = []
    paths = [root / rel for rel in relpaths]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = pool.map(lambda p: _decode_or_reason(p, image_size, channels, crop_size), paths)
        for i, (image, reason) in enumerate(results):
            if reason is None:
                out[i] = image
                ok[i] = True
            else:
                failures.append((paths[i], reason))
    return (out if ok.all() else out[ok]), failures


def load_image_folder(root, kind, image_size, channels, crop_size=None, limit=None, options=None):
    """Decodes (or reads from the cache) every image under ``root``.

    Args:
        root: the folder (a Path).
        kind: "folder" or "celeba", for messages and cache names.
        image_size, channels, crop_size: see ``decode_image``.
        limit: keep only the first ``limit`` files (sorted by path).
        options: ``cache`` (default True), ``cache_dir``, ``workers``.

    Returns:
        uint8 (N, image_size, image_size, channels).
    """
    return load_image_folder_with_paths(root, kind, image_size, channels, crop_size, limit, options)[0]


def load_image_folder_with_paths(root, kind, image_size, channels, crop_size=None, limit=None, options=None):
    """``load_image_folder``'s images, and the relative posix path of each (the readable files, in order)."""
    options = options or {}
    workers = options.get("workers")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise DataError(f"workers must be a positive int (decoding threads), got {workers!r}.")
    entries, others, problems = list_images(root, limit)
    if not entries:
        if problems:
            raise DataError(
                f"No image file under {root} could be listed or opened, e.g. {problems[0]}: "
                "fix the permissions or links there."
            )
        seen = f" (it holds {others} other files)" if others else ""
        raise DataError(
            f"No image files ({', '.join(IMAGE_EXTENSIONS)}) under {root}{seen}; "
            f"point data_dir at the folder that holds the images (searched recursively)."
        )
    _warn_left_out(problems, root)
    # limit is part of the settings (so of the cache name): a quick limited run
    # must not evict the cache of the full folder.
    settings = {
        "kind": kind,
        "image_size": image_size,
        "channels": channels,
        "crop": crop_size,
        "limit": limit,
    }
    use_cache = options.get("cache", True)
    if use_cache:
        cache_dir = pathlib.Path(options.get("cache_dir") or cache.default_cache_dir()).expanduser()
        stem, key = cache.cache_stem(root, settings), cache.fingerprint(entries, settings)
        hit = cache.load(cache_dir, stem, key)
        # A cache written before it named its skipped files cannot say whose images it holds.
        if hit is not None and (not hit[1].get("skipped") or "failed" in hit[1]):
            images, meta = hit
            # The skipped files are still skipped: say so again, or the log of a
            # cached run would hide them.
            warn_skipped(meta.get("skipped", 0), len(entries), root, meta.get("example"))
            failed = set(meta.get("failed", ()))
            return images, [entry[0] for entry in entries if entry[0] not in failed]
    relpaths = [entry[0] for entry in entries]
    images, failures = decode_all(root, relpaths, image_size, channels, crop_size, workers)
    if not len(images):
        path, reason = failures[0]
        raise DataError(
            f"None of the {len(entries)} image files under {root} could be read, e.g. {path}: "
            f"{reason}. Are they images, fully downloaded?"
        )
    example = f"{failures[0][0]}: {failures[0][1]}" if failures else None
    warn_skipped(len(failures), len(entries), root, example)
    failed = [pathlib.Path(path).relative_to(root).as_posix() for path, _ in failures]
    if use_cache:
        meta = {"source": str(root), "files": len(entries), "skipped": len(failures), "example": example,
                "failed": failed}
        cache.save(cache_dir, stem, key, images, meta)
    failed = set(failed)
    return images, [rel for rel in relpaths if rel not in failed]


def _check_crop(value):
    return None if value is None else check_image_size(value, "crop_size")


def load_folder(request):
    """The ``folder`` data set: every image under ``request.data_dir``, default 64x64 RGB.

    Images that all sit in sub-folders are labelled by them, as
    ``keras.utils.image_dataset_from_directory`` reads a folder: one class
    per sub-folder, the classes in sorted order, a class's images in any
    depth below it. Images directly in ``data_dir`` leave the folder unlabelled.

    Returns:
        (images, source, labels or None, class names or None).
    """
    root = require_dir(request.data_dir, "folder", "image files (" + ", ".join(IMAGE_EXTENSIONS) + ")")
    images, relpaths = load_image_folder_with_paths(
        root,
        "folder",
        request.image_size,
        request.channels,
        _check_crop(request.options.get("crop_size")),
        request.limit,
        request.options,
    )
    labels, class_names = folder_labels(relpaths)
    return images, str(root), labels, class_names


def folder_labels(relpaths):
    """(int32 class ids, class names) from each image's first sub-folder, or (None, None) if any sits at the top.

    Example:
        >>> folder_labels(["cat/1.png", "dog/a/2.png", "cat/3.png"])
        (array([0, 1, 0], dtype=int32), ['cat', 'dog'])
        >>> folder_labels(["1.png", "cat/2.png"])
        (None, None)
    """
    parts = [rel.split("/", 1) for rel in relpaths]
    if not parts or any(len(p) == 1 for p in parts):
        return None, None
    class_names = sorted({p[0] for p in parts})
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[p[0]] for p in parts], np.int32), class_names


def find_celeba_dir(data_dir):
    """The folder that holds CelebA's aligned JPEGs: img_align_celeba/ under data_dir, or data_dir."""
    root = require_dir(data_dir, "celeba", "img_align_celeba/ (000001.jpg, ...)")
    for sub in _CELEBA_SUBDIRS:
        folder = root / sub if sub else root
        if folder.is_dir() and any(
            entry.name.lower().endswith((".jpg", ".jpeg")) for entry in os.scandir(folder)
        ):
            return folder
    raise DataError(
        f"No CelebA images under {root}: expected img_align_celeba/000001.jpg, ... there "
        "(from img_align_celeba.zip), or the .jpg files in data_dir itself."
    )


def load_celeba(request):
    """CelebA (aligned): center crop 108x108, resize to 64 (image_size overrides), as in DCGAN."""
    root = find_celeba_dir(request.data_dir)
    crop = _check_crop(request.options.get("crop_size", CELEBA_CROP))
    images = load_image_folder(
        root, "celeba", request.image_size, request.channels, crop, request.limit, request.options
    )
    return images, str(root)
