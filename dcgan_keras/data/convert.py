"""Bringing any image array to the one layout the package hands out.

Every loader returns uint8 ``(N, H, W, C)`` channels-last, C in {1, 3}. These
helpers get arrays there (dtype, rank, value range, alpha), and convert the
channel count and the size when the caller asks for another one.
"""

import concurrent.futures
import numbers
import os

import numpy as np
from PIL import Image

from dcgan_keras.data.errors import DataError

#: Channel counts a data set can be converted to: grayscale and RGB.
VALID_CHANNELS = (1, 3)
#: Largest image side accepted; anything bigger is almost surely a typo (a
#: DCGAN of this project builds 28, 32, 64 and 128) and would exhaust memory.
MAX_IMAGE_SIZE = 4096

# ITU-R 601-2 luma in PIL's 16-bit fixed point (its L24 macro), so a gray
# version of an RGB array equals what PIL's convert("L") gives the folder loader.
_LUMA = np.array([19595, 38470, 7471], dtype=np.uint32)

# Below this many images a thread pool costs more than it saves.
_PARALLEL_MIN_IMAGES = 2048


def check_image_size(image_size, what="image_size"):
    """Returns ``image_size`` as an int, or raises DataError if it is not a usable side.

    Args:
        image_size: None (keep the native size) or a positive int.
        what: the argument's name, for the message.
    """
    if image_size is None:
        return None
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral):
        raise DataError(
            f"{what} must be a positive int (the side of the square images, e.g. 64), "
            f"got {image_size!r} of type {type(image_size).__name__}."
        )
    if not 1 <= image_size <= MAX_IMAGE_SIZE:
        raise DataError(f"{what} must be between 1 and {MAX_IMAGE_SIZE}, got {image_size}.")
    return int(image_size)


def check_channels(channels):
    """Returns ``channels`` as an int, or raises DataError unless it is None, 1 or 3."""
    if channels is None:
        return None
    if (
        isinstance(channels, bool)
        or not isinstance(channels, numbers.Integral)
        or (channels not in VALID_CHANNELS)
    ):
        raise DataError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}.")
    return int(channels)


def check_limit(limit):
    """Returns ``limit`` as an int, or raises DataError unless it is None or a positive int."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1:
        raise DataError(
            f"limit must be None or a positive int (how many images to keep), got {limit!r}."
        )
    return int(limit)


def float_to_uint8(images, source, value_range=None):
    """Maps float images in [0, 1] or [-1, 1] to uint8 0..255.

    The range is detected from the data: a minimum below zero means [-1, 1].
    Anything outside [-1, 1] is refused rather than guessed at, because a
    wrong guess silently trains on garbage.

    Args:
        images: a float array.
        source: where it came from, for the message.
        value_range: (min, max) of the whole data set, when ``images`` is a
            part of it: the first images of a [-1, 1] set may all lie in
            [0, 1], and must not be read as such.
    """
    if images.size == 0:
        return images.astype(np.uint8)
    low, high = value_range or _finite_range(images, source)
    # A little slack: arrays written as x/255 or x/127.5-1 can overshoot by rounding.
    eps = 1e-3
    if low >= -eps and high <= 1 + eps:
        scaled = images * 255.0
    elif low >= -1 - eps and high <= 1 + eps:
        scaled = (images + 1.0) * 127.5
    else:
        raise DataError(
            f"{source} holds floats in [{low:g}, {high:g}]; float images must lie in "
            "[0, 1] or [-1, 1]. If they are 0..255 pixel values, store them as uint8."
        )
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _finite_range(images, source):
    if not np.isfinite(images).all():
        raise DataError(f"{source} holds NaN or infinite values; clean them before training.")
    return float(images.min()), float(images.max())


def as_image_array(array, source, limit=None):
    """Brings an array of images to uint8 (N, H, W, C) with C in {1, 3}.

    Accepts (N, H, W) grayscale and (N, H, W, C) with C in {1, 2, 3, 4}: alpha
    is dropped (2 -> 1, 4 -> 3), as PIL does when converting RGBA to RGB.
    Integer arrays must hold 0..255; float arrays [0, 1] or [-1, 1] (judged
    on the whole array, whatever ``limit``). A 3-D array whose last axis is
    1 to 4 is refused: one (H, W, C) image, not images of width 4 or less.

    Args:
        array: the images.
        source: a file name or data set name, for error messages.
        limit: keep the first ``limit`` images (None: all).

    Example:
        >>> as_image_array(np.zeros((10, 28, 28), np.float32), "x.npy").shape
        (10, 28, 28, 1)
    """
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] <= 4:
        raise DataError(
            f"{source} holds an array of shape {array.shape}: one (H, W, C) image, or "
            f"{array.shape[0]} images {array.shape[-1]} pixels wide? Store images as "
            "(N, H, W, C), e.g. x[np.newaxis] for a single image."
        )
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4:
        raise DataError(
            f"{source} holds an array of shape {array.shape}; expected images of shape "
            "(N, H, W) or (N, H, W, C)."
        )
    if array.shape[-1] not in (1, 2, 3, 4):
        hint = ""
        if array.shape[1] in (1, 3):
            hint = " It looks channels-first: transpose it with x.transpose(0, 2, 3, 1)."
        raise DataError(
            f"{source} holds an array of shape {array.shape}; the last axis must be the "
            f"channels (1, 3, or 4 with alpha).{hint}"
        )
    if array.shape[0] == 0:
        raise DataError(f"{source} holds no images (its array has shape {array.shape}).")
    value_range = None
    if np.issubdtype(array.dtype, np.floating):
        value_range = _finite_range(array, source)
    if limit is not None and limit < len(array):
        # A copy, so the full array is not kept alive behind a view.
        array = np.array(array[:limit])
    if array.dtype == np.uint8:
        pass
    elif np.issubdtype(array.dtype, np.floating):
        array = float_to_uint8(array, source, value_range)
    elif np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise DataError(
                f"{source} holds integers in [{low}, {high}]; integer images must hold "
                "0..255 pixel values."
            )
        array = array.astype(np.uint8)
    else:
        raise DataError(f"{source} holds {array.dtype} values; expected uint8 or float images.")
    if array.shape[-1] in (2, 4):
        array = array[..., :-1]
    return np.ascontiguousarray(array)


def to_channels(images, channels):
    """Converts uint8 (N, H, W, C) images to ``channels`` (1 or 3); a no-op if they match.

    Gray -> RGB repeats the plane; RGB -> gray uses PIL's luma weights.

    Example:
        >>> to_channels(np.zeros((2, 8, 8, 1), np.uint8), 3).shape
        (2, 8, 8, 3)
    """
    if channels is None or images.shape[-1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    # Chunked so the uint32 intermediate stays small for big data sets.
    out = np.empty(images.shape[:-1] + (1,), np.uint8)
    for start in range(0, len(images), 4096):
        chunk = images[start : start + 4096].astype(np.uint32)
        out[start : start + 4096, ..., 0] = ((chunk @ _LUMA) + 0x8000) >> 16
    return out


def center_square_box(width, height, side=None):
    """The (left, upper, right, lower) box of the centered square crop.

    Args:
        width, height: the image size.
        side: the crop side; default the shorter side (the largest square).
    """
    side = min(width, height) if side is None else side
    # Rounded like DCGAN's reference crop (int(round((h - crop) / 2))).
    left = int(round((width - side) / 2.0))
    top = int(round((height - side) / 2.0))
    return (left, top, left + side, top + side)


def resize_image(image, size, box=None):
    """Resizes one PIL image to ``size`` x ``size`` with antialiasing, optionally from a crop box."""
    if box is None and image.size == (size, size):
        return image
    return image.resize((size, size), Image.Resampling.LANCZOS, box=box)


def _resize_chunk(images, size, out):
    for i, array in enumerate(images):
        height, width = array.shape[:2]
        image = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
        box = center_square_box(width, height) if width != height else None
        resized = np.asarray(resize_image(image, size, box))
        out[i] = resized.reshape(out.shape[1:])


def resize_images(images, size):
    """Center-crops uint8 (N, H, W, C) images to squares and resizes them to ``size``.

    Uses PIL's LANCZOS filter (antialiased when shrinking). PIL releases the
    GIL while resampling, so large arrays are split over a thread pool.

    Example:
        >>> resize_images(np.zeros((4, 28, 28, 1), np.uint8), 32).shape
        (4, 32, 32, 1)
    """
    if size is None or images.shape[1:3] == (size, size):
        return images
    out = np.empty((len(images), size, size, images.shape[-1]), np.uint8)
    workers = min(8, os.cpu_count() or 1)
    if len(images) < _PARALLEL_MIN_IMAGES or workers == 1:
        _resize_chunk(images, size, out)
        return out
    step = -(-len(images) // (workers * 4))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        jobs = [
            pool.submit(_resize_chunk, images[i : i + step], size, out[i : i + step])
            for i in range(0, len(images), step)
        ]
        for job in jobs:
            job.result()
    return out
