"""Writing generated images: a PNG grid, a directory of PNGs or a uint8 `.npz`.

`write_output` picks the format from the path, after `check_output` has
refused any path that cannot or must not be written, so that a bad `--out`
fails before minutes of sampling rather than after.

Example:
    >>> write_output(images, "samples.png", grid_cols=8)  # doctest: +SKIP
    'png'
"""

import os
import shutil

import numpy as np

from dcgan_keras import rundir
from dcgan_keras.images import make_grid, save_png, to_uint8


class OutputPathError(ValueError):
    """An output path that cannot, or must not, be written."""


def output_kind(out):
    """How `write_output` writes `out`: "png" (a grid), "npz", or "dir" (one PNG per image)."""
    out = os.fspath(out)
    if out.endswith(("/", os.sep)):
        return "dir"
    ext = os.path.splitext(out)[1].lower()
    if ext in (".png", ".npz"):
        return ext[1:]
    if ext and not os.path.isdir(out):
        raise OutputPathError(
            f"Cannot tell what to write to {out}: end it in .png (a grid), .npz (a uint8 array) "
            "or name a directory (one PNG per image; add a trailing / if its name has a dot)."
        )
    return "dir"


def check_output(out, overwrite=False):
    """Refuses an output path that cannot or must not be written, before any work.

    The folder that will hold `out` must exist and be writable, and not be
    a run directory's samples/ (its grids make progress.gif); a `.png` or
    `.npz` file is replaced only with `overwrite`, and never a directory by
    that name; a directory output must not exist yet, or be empty.

    Args:
        out: the output path.
        overwrite: allow replacing an existing `.png` or `.npz` file.

    Returns:
        Its kind: "png", "npz" or "dir".

    Raises:
        OutputPathError: with the reason.

    Example:
        >>> check_output("samples.png")  # doctest: +SKIP
        'png'
        >>> check_output("/no/such/folder/samples.png")  # doctest: +SKIP
        OutputPathError: Cannot write /no/such/folder/samples.png: its folder /no/such/folder does not exist.
    """
    out = os.fspath(out)
    if not out:
        raise OutputPathError("The output path is empty.")
    kind = output_kind(out)
    target = out.rstrip("/" + os.sep) or out
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.exists(parent):
        raise OutputPathError(f"Cannot write {out}: its folder {parent} does not exist.")
    if not os.path.isdir(parent):
        raise OutputPathError(f"Cannot write {out}: {parent} is not a directory.")
    if not os.access(parent, os.W_OK):
        raise OutputPathError(f"Cannot write {out}: the folder {parent} is not writable.")
    run = os.path.dirname(parent)
    if os.path.basename(parent) == "samples" and os.path.isfile(os.path.join(run, "config.json")):
        raise OutputPathError(
            f"Cannot write {out}: {parent} holds the training run's own grids (progress.gif is made "
            "of them). Write samples elsewhere."
        )
    if kind == "dir":
        if os.path.exists(target) and not os.path.isdir(target):
            raise OutputPathError(f"Cannot write images into {out}: it exists and is not a directory.")
        if os.path.isdir(target) and os.listdir(target):
            raise OutputPathError(
                f"The output directory {out} exists and is not empty: choose a new directory or empty it."
            )
    elif os.path.isdir(target):
        raise OutputPathError(f"Cannot write the {kind} file {out}: a directory of that name exists.")
    elif os.path.exists(target) and not overwrite:
        raise OutputPathError(
            f"{out} exists. Choose another path, or replace it with overwrite=True (sample.py: --overwrite)."
        )
    elif os.path.exists(target) and not os.access(target, os.W_OK):
        raise OutputPathError(f"Cannot write {out}: the file exists and is not writable.")
    return kind


def _batches(images):
    """`images` as NumPy batches: an array, a tensor or a list of images is one batch; an iterator yields them."""
    if hasattr(images, "shape") or isinstance(images, (list, tuple)):
        return [np.asarray(images)]
    return (np.asarray(batch) for batch in images)


def _uint8(images):
    """All of `images` (an array or batches of one) as one uint8 array, converted batch by batch."""
    # Batch by batch: a float32 copy of everything is 4x the uint8 result.
    batches = [batch if batch.dtype == np.uint8 else to_uint8(batch) for batch in _batches(images)]
    if not batches:
        raise OutputPathError("No images to write: the batches were empty.")
    return batches[0] if len(batches) == 1 else np.concatenate(batches)


def write_grid(images, path, cols=None):
    """Writes the images as one PNG grid (`make_grid`), atomically.

    Args:
        images: (N, H, W, C) floats in [-1, 1] or uint8, or an iterable of
            such batches.
        path: the `.png` file.
        cols: images per row; default the smallest square.

    Example:
        >>> write_grid(images, "grid.png", cols=4)  # doctest: +SKIP
    """
    return save_png(make_grid(_uint8(images), cols=cols), os.fspath(path))


def write_png_dir(images, out_dir):
    """Writes one PNG per image, `000000.png`, `000001.png`..., into a new or empty directory.

    The files are written into a sibling temporary directory that is renamed
    into place, so a reader never sees half a set.

    Args:
        images: (N, H, W, C) floats in [-1, 1] or uint8, or an iterable of
            such batches, written as they come (one batch in memory).
        out_dir: the directory; it must not exist, or be empty.

    Example:
        >>> write_png_dir(images, "samples/")  # doctest: +SKIP
    """
    out_dir = os.fspath(out_dir).rstrip("/" + os.sep) or os.fspath(out_dir)
    tmp = f"{out_dir}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        count = 0
        for batch in _batches(images):
            for image in batch:
                save_png(image, os.path.join(tmp, f"{count:06d}.png"))
                count += 1
        if os.path.isdir(out_dir):
            os.rmdir(out_dir)  # empty (checked): rename cannot replace it on every OS
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def write_npz(images, path, labels=None):
    """Writes the images as uint8 (`to_uint8`) under the key `images` of a `.npz`, atomically.

    Args:
        images: (N, H, W, C) floats in [-1, 1] or uint8, or an iterable of
            such batches (only their uint8 copy is kept).
        path: the `.npz` file.
        labels: None, or the class id of each image (a conditional model's),
            stored as int32 `labels` beside `images`.

    Example:
        >>> write_npz(images, "samples.npz")  # doctest: +SKIP
        >>> np.load("samples.npz")["images"].dtype  # doctest: +SKIP
        dtype('uint8')
    """
    path = os.fspath(path)
    images = _uint8(images)
    arrays = {"images": images}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype="int32").reshape(-1)
        if len(arrays["labels"]) != len(images):
            raise ValueError(f"{len(arrays['labels'])} labels for {len(images)} images.")
    # A file object: given a name, np.savez would append ".npz" to it.
    with rundir.writing(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


def write_output(images, out, grid_cols=None, overwrite=False, labels=None):
    """Writes images where `out` says: `.png` a grid, `.npz` an array, anything else a directory.

    Args:
        images: (N, H, W, C) floats in [-1, 1] or uint8 (an array, a
            tensor or a list of images), or an iterator of such batches
            (e.g. `sampling.sample_batches`): a directory is
            then written batch by batch, and a `.npz` or grid holds only
            the uint8 images, never all of them as floats.
        out: `x.png` (a grid of `grid_cols` columns), `x.npz` (uint8
            `images`), or a directory (new or empty) of `000000.png`...
        grid_cols: columns of a `.png` grid; default the smallest square.
            Ignored for other outputs.
        overwrite: allow replacing an existing `.png` or `.npz` file.
        labels: None, or each image's class id: a `.npz` stores them as
            `labels` (a grid or a directory of PNGs shows the images alone).

    Returns:
        The kind written: "png", "npz" or "dir".

    Raises:
        OutputPathError: `out` cannot or must not be written (see
            `check_output`), or writing it failed (a full disk, a file system
            that refuses it).

    Example:
        >>> write_output(images, "samples.png", grid_cols=8)  # doctest: +SKIP
        'png'
    """
    kind = check_output(out, overwrite)
    images = _finite(_batches(images), out)
    try:
        if kind == "png":
            write_grid(images, out, cols=grid_cols)
        elif kind == "npz":
            write_npz(images, out, labels=labels)
        else:
            write_png_dir(images, out)
    except OSError as err:
        # Named by what was asked for, not by the temporary file it failed on.
        raise OutputPathError(f"Could not write {out}: {err.strerror or err}.") from err
    return kind


def _finite(batches, out):
    # Checked as the batches come: a directory's temporary is removed, nothing is replaced.
    for batch in batches:
        if batch.dtype != np.uint8 and not np.isfinite(batch).all():
            raise OutputPathError(
                f"Not writing {out}: the images hold NaN or infinite values (a checkpoint of a diverged "
                "run?). Sample a checkpoint from before the divergence."
            )
        yield batch
