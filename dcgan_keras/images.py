"""Turning generated images (floats in [-1, 1], channels last) into pictures."""

import contextlib
import math
import os

import numpy as np
from PIL import Image


def to_uint8(images):
    """[-1, 1] floats -> uint8 [0, 255], rounding to nearest (clipping stray values).

    Example:
        >>> to_uint8(np.array([-1.0, 0.0, 1.0])).tolist()
        [0, 128, 255]
    """
    images = np.asarray(images, dtype="float32")
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype("uint8")


def make_grid(images, cols=None, padding=2, pad_value=0):
    """Tiles images (N, H, W, C) into one uint8 picture (rows, cols), row by row.

    Args:
        images: floats in [-1, 1] or uint8, channels last.
        cols: images per row; default: the smallest square that holds N.
        padding: pixels between tiles and around the edge.
        pad_value: uint8 value of the padding.

    Example:
        >>> make_grid(np.zeros((6, 28, 28, 1)), cols=3).shape
        (62, 92, 1)
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"Expected images of shape (N, H, W, C). Received shape {images.shape}.")
    if images.dtype != np.uint8:
        images = to_uint8(images)
    n, h, w, c = images.shape
    if n == 0:
        raise ValueError("Cannot make a grid of zero images.")
    cols = cols or math.ceil(math.sqrt(n))
    if not isinstance(cols, int) or cols < 1:
        raise ValueError(f"`cols` must be a positive integer. Received: cols={cols!r}")
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    grid = np.full(
        (rows * (h + padding) + padding, cols * (w + padding) + padding, c), pad_value, dtype="uint8"
    )
    for i, image in enumerate(images):
        r, col = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def to_pil(image):
    """One (H, W, C) image, uint8 or [-1, 1] floats, as a PIL image (L or RGB)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = to_uint8(image)
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def save_png(image, path):
    """Writes one (H, W, C) image as PNG, atomically (a reader never sees half a file)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        to_pil(image).save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        # A full disk or an interrupt: no half-written temporary beside `path`.
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return path
