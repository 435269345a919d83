"""Paired image data sets for image-to-image translation (pix2pix): (input, target) uint8 pairs.

Two layouts on disk:

* side by side, the pix2pix authors' layout: every image holds A on the left
  and B on the right, each half square (facades, cityscapes, maps,
  edges2shoes, edges2handbags, night2day), under `train/`, `val/`, `test/`;
* two folders, `A/` and `B/` (or `A/<split>/`, `B/<split>/`), whose files
  pair by name.

`direction` says which side is the input: "AtoB" (A -> B) or "BtoA". The
named sets download with `keras.utils.get_file` from where the pix2pix
authors publish them when no `data_dir` is given.

Batches serve (input, target) floats in [-1, 1], in a (seed, epoch) order
as `Batches` does (so a resumed run sees the same order), optionally with
the paper's jitter, the same on both images of a pair: resize to 286/256 of
the size (286 at 256), a random crop back to the size, a random mirror.

Example:
    >>> data = load_paired_dataset("facades")  # downloads; or data_dir=...  # doctest: +SKIP
    >>> gan.fit(data.batches(1, seed=0, jitter=True), epochs=200, shuffle=False)  # doctest: +SKIP
"""

import concurrent.futures
import os
import pathlib

import numpy as np
from PIL import Image, ImageOps

from dcgan_keras.data.batches import Batches
from dcgan_keras.data.convert import check_image_size
from dcgan_keras.data.errors import DataError
from dcgan_keras.data.files import require_dir
from dcgan_keras.data.folder import IMAGE_EXTENSIONS, list_images

DIRECTIONS = ("AtoB", "BtoA")
#: Where the pix2pix authors publish their data sets (their datasets/download_pix2pix_dataset.sh).
URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
#: name: (splits, the direction the paper trains it in). Facades: the right
#: half is the label map, translated into the photo on the left.
PAIRED_DATASETS = {
    "facades": (("train", "val", "test"), "BtoA"),
    "cityscapes": (("train", "val"), "AtoB"),
    "maps": (("train", "val"), "AtoB"),
    "edges2shoes": (("train", "val"), "AtoB"),
    "edges2handbags": (("train", "val"), "AtoB"),
    "night2day": (("train", "val", "test"), "AtoB"),
}
SPLITS = ("train", "val", "test")
#: The paper's jitter at 256x256: resize to 286, crop back to 256.
JITTER_RATIO = 286 / 256
_LISTED = 5  # unpaired names a message lists


class PairedDataset:
    """Loaded pairs: uint8 inputs (N, H, W, C_in) and targets (N, H, W, C_out).

    Args:
        inputs, targets: uint8 arrays of the same N, H and W.
        name: the data set's name ("facades", "paired_folder").
        source: where it came from, for logs.
        direction: "AtoB" or "BtoA", as loaded.
    """

    def __init__(self, inputs, targets, name, source="", direction="AtoB"):
        inputs, targets = np.asarray(inputs), np.asarray(targets)
        for what, array in (("inputs", inputs), ("targets", targets)):
            if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] not in (1, 3):
                raise DataError(
                    f"PairedDataset needs uint8 {what} of shape (N, H, W, 1 or 3), got {array.dtype} of "
                    f"shape {array.shape}."
                )
        if inputs.shape[:3] != targets.shape[:3]:
            raise DataError(
                f"PairedDataset's inputs {inputs.shape} and targets {targets.shape} must hold as many images of "
                "the same size."
            )
        self.inputs, self.targets = inputs, targets
        self.name, self.source, self.direction = name, source, direction
        self._jittered = {}

    @property
    def image_shape(self):
        """(H, W, C_out) of the targets."""
        return tuple(self.targets.shape[1:])

    @property
    def input_shape(self):
        """(H, W, C_in) of the inputs."""
        return tuple(self.inputs.shape[1:])

    def __len__(self):
        return len(self.inputs)

    def identity_arrays(self):
        """{name: array} of what a run trains on, for its record (config.json hashes them)."""
        return {"inputs": self.inputs, "targets": self.targets}

    def batches(self, batch_size, seed=0, shuffle=True, drop_remainder=True, epoch=0, jitter=False,
                max_batches=None):
        """(input, target) float batches in [-1, 1] for `Pix2Pix.fit`, as `PairBatches`.

        Args:
            batch_size, seed, shuffle, drop_remainder, epoch, max_batches: as `Batches`.
            jitter: the paper's random jitter (resize up by 286/256, random
                crop, random mirror), the same on both images of a pair.
        """
        jitter_size = None
        if jitter:
            size = self.inputs.shape[1]
            jitter_size = int(round(size * JITTER_RATIO))
            if jitter_size not in self._jittered:
                # Resized once: each batch then only crops and mirrors.
                self._jittered[jitter_size] = (
                    _resize_all(self.inputs, jitter_size), _resize_all(self.targets, jitter_size)
                )
        return PairBatches(
            self.inputs, self.targets, batch_size, seed=seed, shuffle=shuffle, drop_remainder=drop_remainder,
            epoch=epoch, max_batches=max_batches, jittered=self._jittered.get(jitter_size),
        )

    def __repr__(self):
        return (f"PairedDataset({self.name!r}, {len(self)} pairs {self.input_shape} -> {self.image_shape}, "
                f"{self.direction}, source={self.source!r})")


class PairBatches(Batches):
    """Batches of (input, target) float32 pairs in [-1, 1]; the order and epochs of `Batches`.

    Batch i of epoch e holds the pairs `order[i*B:(i+1)*B]`, with
    `order` the (seed, e) permutation; with jitter, each pair's crop offset
    and mirror are drawn from (seed, e, i): a resumed run sees the same.

    Args:
        inputs, targets: uint8 (N, H, W, C_in), (N, H, W, C_out).
        batch_size, seed, shuffle, drop_remainder, epoch, max_batches: as `Batches`.
        jittered: None, or (inputs, targets) resized up to the jitter size.
    """

    def __init__(self, inputs, targets, batch_size, seed=0, shuffle=True, drop_remainder=True, epoch=0,
                 max_batches=None, jittered=None):
        super().__init__(inputs, batch_size, seed=seed, shuffle=shuffle, drop_remainder=drop_remainder,
                         epoch=epoch, max_batches=max_batches)
        self.targets = np.asarray(targets)
        self.jittered = jittered

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} is out of range for {len(self)} batches")
        index %= len(self)
        take = self.order()[index * self.batch_size : (index + 1) * self.batch_size]
        if self.jittered is None:
            return _floats(self.images[take]), _floats(self.targets[take])
        size = self.images.shape[1]
        big_inputs, big_targets = self.jittered
        rng = np.random.default_rng([self.seed, self.epoch, index])
        offsets = rng.integers(0, big_inputs.shape[1] - size + 1, (len(take), 2))
        mirror = rng.random(len(take)) < 0.5
        inputs, targets = [], []
        for i, (top, left), flip in zip(take, offsets, mirror):
            pair = [big[i, top : top + size, left : left + size] for big in (big_inputs, big_targets)]
            if flip:
                pair = [image[:, ::-1] for image in pair]
            inputs.append(pair[0])
            targets.append(pair[1])
        return _floats(np.stack(inputs)), _floats(np.stack(targets))


def _floats(images):
    batch = images.astype(np.float32)
    batch /= np.float32(127.5)
    batch -= np.float32(1.0)
    return batch


def _resize_all(images, size):
    mode = "L" if images.shape[-1] == 1 else "RGB"
    out = np.empty((len(images), size, size, images.shape[-1]), np.uint8)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if mode == "L" else image, mode)
        out[i] = np.asarray(pil.resize((size, size), Image.Resampling.BICUBIC)).reshape(size, size, -1)
    return out


# ----------------------------------------------------------------- loading


def check_direction(direction):
    """Refuses a direction other than "AtoB" or "BtoA" (DataError)."""
    if direction not in DIRECTIONS:
        raise DataError(f"direction must be 'AtoB' or 'BtoA'. Received: direction={direction!r}")
    return direction


def load_paired_dataset(name="paired_folder", data_dir=None, image_size=256, direction=None, split="train",
                        in_channels=3, out_channels=3, limit=None, cache_dir=None, workers=None):
    """Loads a paired data set as a `PairedDataset`.

    Args:
        name: one of `PAIRED_DATASETS` (downloaded when `data_dir` is None),
            or "paired_folder": the layout is read from `data_dir`: `A/` and
            `B/` folders paired by file name, else side-by-side images.
        data_dir: the folder: side-by-side images in `<split>/` (or in the
            folder itself), or `A/` and `B/` (each with `<split>/` or not).
        image_size: the side both images are resized to.
        direction: "AtoB" (the left/A image is the input) or "BtoA"; None:
            the named set's own (facades: BtoA), else AtoB.
        split: "train", "val" or "test".
        in_channels, out_channels: 1 (grayscale) or 3 (RGB) for the inputs
            and the targets.
        limit: keep the first `limit` pairs (sorted by name).
        cache_dir: where a download goes (default Keras's, ~/.keras).
        workers: decoding threads.

    Raises:
        DataError: with the file or value at fault: an image that is not two
            square halves, A/ and B/ names that do not pair, pairs of
            different sizes, a bad direction, split or name.
    """
    image_size = check_image_size(image_size)
    if image_size is None:
        raise DataError("Paired data sets are resized to one image_size (e.g. 256); image_size=None is not one.")
    for value, what in ((in_channels, "in_channels"), (out_channels, "out_channels")):
        if value not in (1, 3):
            raise DataError(f"{what} must be 1 or 3. Received: {what}={value!r}")
    if split not in SPLITS:
        raise DataError(f"split must be one of {', '.join(SPLITS)}. Received: split={split!r}")
    if name != "paired_folder" and name not in PAIRED_DATASETS:
        raise DataError(
            f"Unknown paired data set {name!r}; known: paired_folder, {', '.join(sorted(PAIRED_DATASETS))}."
        )
    if direction is None:
        direction = PAIRED_DATASETS[name][1] if name in PAIRED_DATASETS else "AtoB"
    check_direction(direction)
    if data_dir is None:
        if name == "paired_folder":
            raise DataError("paired_folder needs data_dir=<a folder of side-by-side images, or of A/ and B/>.")
        root = download(name, cache_dir)
    else:
        root = require_dir(data_dir, name, "side-by-side images (train/, val/, test/) or A/ and B/ folders")
    if name in PAIRED_DATASETS and split not in PAIRED_DATASETS[name][0]:
        raise DataError(f"{name} has no split {split!r}; use one of {', '.join(PAIRED_DATASETS[name][0])}.")
    a_dir, b_dir = root / "A", root / "B"
    if a_dir.is_dir() and b_dir.is_dir():
        a, b = load_ab_folders(a_dir, b_dir, image_size, (in_channels, out_channels), direction, split, limit,
                               workers)
    else:
        a, b = load_side_by_side(_split_dir(root, split), image_size, (in_channels, out_channels), direction,
                                 limit, workers)
    inputs, targets = (a, b) if direction == "AtoB" else (b, a)
    return PairedDataset(inputs, targets, name, str(root), direction)


def has_split(root, split):
    """Whether the paired folder `root` holds the split `split`: `<split>/`, or `A/<split>/` and `B/<split>/`."""
    root = pathlib.Path(root)
    if (root / "A").is_dir() and (root / "B").is_dir():
        return (root / "A" / split).is_dir() and (root / "B" / split).is_dir()
    return (root / split).is_dir()


def download(name, cache_dir=None):
    """The named set's folder, downloaded and unpacked by `keras.utils.get_file` on first use."""
    import keras

    try:
        path = keras.utils.get_file(
            fname=f"{name}.tar.gz", origin=URL.format(name=name), extract=True, cache_dir=cache_dir,
            cache_subdir="datasets",
        )
    except Exception as err:  # get_file raises a bare Exception on network errors.
        raise DataError(
            f"Downloading {name} from {URL.format(name=name)} failed ({type(err).__name__}: {err}). Without "
            f"network access, fetch and unpack it yourself and pass data_dir=<the folder holding train/>."
        ) from err
    path = pathlib.Path(path)
    # The archive unpacks into a folder named after the set; get_file may return it or its parent.
    for candidate in (path / name, path, path.parent / name):
        if candidate.is_dir() and any((candidate / split).is_dir() for split in SPLITS):
            return candidate
    raise DataError(f"The {name} archive unpacked at {path} holds no train/, val/ or test/ folder.")


def _split_dir(root, split):
    folder = root / split
    if folder.is_dir():
        return folder
    others = [s for s in SPLITS if (root / s).is_dir()]
    if others:
        raise DataError(f"No {split}/ folder under {root} (it has {', '.join(s + '/' for s in others)}).")
    return root  # the images in data_dir itself


def _images_in(folder):
    entries, _, problems = list_images(folder)
    if problems:
        raise DataError(f"Cannot read {problems[0]}: fix its permissions or links.")
    return [entry[0] for entry in entries]


def _open(path, channels):
    mode = "L" if channels == 1 else "RGB"
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return image.convert(mode) if image.mode != mode else image.copy()
    except Exception as err:  # PIL raises OSError, ValueError, SyntaxError... on bad files.
        raise DataError(f"Cannot read the image {path} ({type(err).__name__}: {err}).") from err


def _square(image, size, path):
    if image.size[0] != image.size[1]:
        raise DataError(
            f"{path}: each image of a pair must be square, got {image.size[0]}x{image.size[1]}; crop the pairs "
            "to squares first (the same crop on both)."
        )
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, np.uint8).reshape(size, size, -1)


def _decode_side_by_side(path, size, channels):
    with Image.open(path) as probe:
        width, height = probe.size
    if width % 2 or width != 2 * height:
        raise DataError(
            f"{path} is {width}x{height}: a side-by-side pair is two square halves, twice as wide as high "
            f"({2 * height}x{height}). Is this folder of pairs (pix2pix's layout), or of single images?"
        )
    image = _open(path, max(channels))
    a, b = image.crop((0, 0, height, height)), image.crop((height, 0, width, height))
    return tuple(_square(_mode(half, c), size, path) for half, c in zip((a, b), channels))


def _mode(image, channels):
    mode = "L" if channels == 1 else "RGB"
    return image if image.mode == mode else image.convert(mode)


def _decode_all(fn, items, workers):
    workers = workers or min(8, (os.cpu_count() or 1) + 2)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        decoded = list(pool.map(fn, items))
    return tuple(np.stack(part) for part in zip(*decoded))


def load_side_by_side(folder, image_size, channels=(3, 3), direction="AtoB", limit=None, workers=None):
    """(A, B) uint8 arrays from the side-by-side images in `folder` (left half A, right half B).

    `direction` is checked only; the caller swaps the halves for BtoA.
    """
    check_direction(direction)
    names = _images_in(folder)[:limit]
    if not names:
        raise DataError(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) under {folder}.")
    # A channel count per half, in A, B order: the caller's (input, target) for AtoB.
    halves = channels if direction == "AtoB" else channels[::-1]
    return _decode_all(lambda name: _decode_side_by_side(folder / name, image_size, halves), names, workers)


def load_ab_folders(a_dir, b_dir, image_size, channels=(3, 3), direction="AtoB", split="train", limit=None,
                    workers=None):
    """(A, B) uint8 arrays from `A/` and `B/` (or their `<split>/`), files paired by name (extension aside)."""
    check_direction(direction)
    halves = channels if direction == "AtoB" else channels[::-1]
    folders = [d / split if (d / split).is_dir() else d for d in (a_dir, b_dir)]
    listed = [{os.path.splitext(name)[0]: name for name in _images_in(folder)} for folder in folders]
    only_a, only_b = sorted(set(listed[0]) - set(listed[1])), sorted(set(listed[1]) - set(listed[0]))
    if only_a or only_b:
        def few(names):
            return ", ".join(names[:_LISTED]) + (f" (and {len(names) - _LISTED} more)" if len(names) > _LISTED else "")

        parts = [f"{len(names)} only in {folder}: {few(names)}"
                 for names, folder in ((only_a, folders[0]), (only_b, folders[1])) if names]
        raise DataError(
            f"The files of A/ and B/ must pair by name; {'; '.join(parts)}. Rename or remove them."
        )
    stems = sorted(listed[0])[:limit]
    if not stems:
        raise DataError(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) under {folders[0]} and {folders[1]}.")

    def pair(stem):
        images = [_open(folder / names[stem], c) for folder, names, c in zip(folders, listed, halves)]
        if images[0].size != images[1].size:
            raise DataError(
                f"The pair {stem!r} has images of different sizes: {folders[0] / listed[0][stem]} is "
                f"{images[0].size[0]}x{images[0].size[1]}, {folders[1] / listed[1][stem]} is "
                f"{images[1].size[0]}x{images[1].size[1]}. A pair must be aligned pixel for pixel."
            )
        return tuple(_square(image, image_size, folder / names[stem])
                     for image, folder, names in zip(images, folders, listed))

    return _decode_all(pair, stems, workers)
