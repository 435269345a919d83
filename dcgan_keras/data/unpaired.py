"""Two unpaired image domains for CycleGAN: folders in its layout, any two folders, or a named set.

The CycleGAN layout is `trainA/ trainB/ testA/ testB/` under one folder (the
test folders optional), as the CycleGAN authors publish their data sets.
Each domain is decoded once, square-cropped and resized (folder.py, cached),
and kept as uint8. The two domains may differ in size: an epoch is the larger
one, each image once, in a (seed, epoch) order; the smaller domain is drawn in
fresh permutations, repeated as needed, also from (seed, epoch): a resumed run
sees the batches an uninterrupted one would have.

Example:
    >>> data = load_unpaired(data_dir="datasets/horse2zebra", image_size=256)  # doctest: +SKIP
    >>> gan.fit(data.batches(1, seed=0, jitter=True), epochs=200, shuffle=False)  # doctest: +SKIP
"""

import pathlib

import numpy as np
from PIL import Image

from dcgan_keras.data import cache
from dcgan_keras.data.batches import Batches
from dcgan_keras.data.convert import check_channels, check_image_size, check_limit, resize_images
from dcgan_keras.data.errors import DataError
from dcgan_keras.data.files import require_dir
from dcgan_keras.data.folder import IMAGE_EXTENSIONS, list_images, load_image_folder

#: Where the CycleGAN authors publish their unpaired sets (pytorch-CycleGAN-and-pix2pix's
#: datasets/download_cyclegan_dataset.sh).
URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
NAMED = ("horse2zebra", "monet2photo", "summer2winter_yosemite", "apple2orange", "cezanne2photo",
         "ukiyoe2photo", "vangogh2photo", "maps", "facades", "iphone2dslr_flower")
#: The jitter's enlargement before the random crop: 286 for 256 (the paper's), scaled.
JITTER_SCALE = 286 / 256
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_OPTIONS = ("cache", "cache_dir", "workers")


class UnpairedDataset:
    """Two domains' uint8 images, train (and optionally test), of one shape.

    Args:
        train_a, train_b: uint8 (N_a, H, W, C) and (N_b, H, W, C).
        test_a, test_b: held-out images of each domain, or None.
        name: what it was loaded as, for logs.
        source: where it came from.
    """

    def __init__(self, train_a, train_b, test_a=None, test_b=None, name="unpaired", source=""):
        arrays = {"train_a": train_a, "train_b": train_b, "test_a": test_a, "test_b": test_b}
        for key, images in arrays.items():
            if images is None:
                continue
            if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4):
                raise DataError(f"UnpairedDataset needs uint8 (N, H, W, C) arrays; {key} is not one.")
            if len(images) == 0:
                raise DataError(f"UnpairedDataset: {key} holds no images.")
        shapes = {key: images.shape[1:] for key, images in arrays.items() if images is not None}
        if len(set(shapes.values())) > 1:
            raise DataError(
                "The two domains' images must have one shape (a CycleGAN with two image sizes or channel "
                f"counts needs two loads); received {shapes}."
            )
        self.train_a, self.train_b, self.test_a, self.test_b = train_a, train_b, test_a, test_b
        self.name, self.source = name, source

    @property
    def image_shape(self):
        return tuple(self.train_a.shape[1:])

    def __len__(self):
        """Images of an epoch: the larger domain's."""
        return max(len(self.train_a), len(self.train_b))

    def identity_arrays(self):
        """{name: array} of what a run trains on, for its record (config.json hashes them)."""
        return {"train_a": self.train_a, "train_b": self.train_b}

    def batches(self, batch_size, seed=0, shuffle=True, epoch=0, max_batches=None, jitter=False):
        """(images_a, images_b) float batches in [-1, 1] for `CycleGAN.fit`, as `UnpairedBatches`."""
        return UnpairedBatches(self.train_a, self.train_b, batch_size, seed=seed, shuffle=shuffle, epoch=epoch,
                               max_batches=max_batches, jitter=jitter)

    def grid_images(self, num, seed):
        """`num` fixed images of each domain in [-1, 1]: held-out ones where there are any.

        The first `num` of a (seed)-order of each domain, repeated if the domain has fewer.
        """
        out = []
        for domain, (test, train) in enumerate(((self.test_a, self.train_a), (self.test_b, self.train_b))):
            images = train if test is None else test
            order = np.random.default_rng([seed, 7, domain]).permutation(len(images))
            order = np.resize(order, num)
            out.append(images[order].astype("float32") / np.float32(127.5) - np.float32(1.0))
        return tuple(out)

    def __repr__(self):
        counts = ", ".join(f"{k} {len(v)}" for k, v in (("trainA", self.train_a), ("trainB", self.train_b),
                                                      ("testA", self.test_a), ("testB", self.test_b)) if v is not None)
        return f"UnpairedDataset({self.name!r}, {counts} images of {self.image_shape})"


class UnpairedBatches(Batches):
    """(images_a, images_b) batches: an epoch is the larger domain once; the smaller is reshuffled.

    Batch i of epoch e holds the larger domain's images at
    `permutation([seed, e, domain])[i*B:(i+1)*B]`, and the smaller domain's at
    the same positions of its permutations `[seed, e, domain, k]` (k = 0, 1,
    ...) joined end to end: a pure function of (seed, epoch, i), so resuming
    at an epoch gives the same batches. With `jitter`, each image is enlarged
    by 286/256 (LANCZOS, once, at construction), randomly cropped back and
    mirrored with probability 1/2, from a NumPy generator seeded by
    (seed, epoch, i).

    Args:
        images_a, images_b: uint8 (N, H, W, C), one shape.
        batch_size, seed, shuffle, epoch, max_batches: as `Batches`
            (the last partial batch is dropped).
        jitter: the paper's resize, random crop and mirror.
    """

    def __init__(self, images_a, images_b, batch_size, seed=0, shuffle=True, epoch=0, max_batches=None,
                 jitter=False):
        self.domains = (np.asarray(images_a), np.asarray(images_b))
        larger = int(len(self.domains[1]) > len(self.domains[0]))
        self._larger = larger
        super().__init__(self.domains[larger], batch_size, seed=seed, shuffle=shuffle, drop_remainder=True,
                         epoch=epoch, max_batches=max_batches)
        self.jitter = bool(jitter)
        size = self.domains[0].shape[1]
        self._enlarged = None
        if self.jitter:
            big = int(round(size * JITTER_SCALE))
            self._enlarged = tuple(resize_images(d, big) for d in self.domains)
        self._domain_cache = None

    def domain_order(self, domain, epoch=None):
        """The indices of `domain` (0: A, 1: B) an epoch visits, len(self.images) of them."""
        epoch = self._epoch if epoch is None else epoch
        count, total = len(self.domains[domain]), len(self.images)
        if not self.shuffle:
            return np.resize(np.arange(count), total)
        cached = self._domain_cache
        if cached is None or cached[0] != epoch:
            orders = [self._order(d, epoch) for d in (0, 1)]
            cached = (epoch, orders)
            self._domain_cache = cached
        return cached[1][domain]

    def _order(self, domain, epoch):
        count, total = len(self.domains[domain]), len(self.images)
        if domain == self._larger:
            return np.random.default_rng([self.seed, epoch, domain]).permutation(count)
        rounds = -(-total // count)
        return np.concatenate(
            [np.random.default_rng([self.seed, epoch, domain, k]).permutation(count) for k in range(rounds)]
        )[:total]

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} is out of range for {len(self)} batches")
        index %= len(self)
        window = slice(index * self.batch_size, (index + 1) * self.batch_size)
        rng = np.random.default_rng([self.seed, self._epoch, index, 99]) if self.jitter else None
        batch = []
        for domain in (0, 1):
            take = self.domain_order(domain)[window]
            images = self._jittered(domain, take, rng) if self.jitter else self.domains[domain][take]
            images = images.astype(np.float32)
            images /= np.float32(127.5)
            images -= np.float32(1.0)
            batch.append(images)
        return tuple(batch)

    def _jittered(self, domain, take, rng):
        size = self.domains[domain].shape[1]
        source = self._enlarged[domain]
        big = source.shape[1]
        out = np.empty((len(take), size, size, source.shape[-1]), np.uint8)
        for j, i in enumerate(take):
            top, left = rng.integers(0, big - size + 1, size=2)
            crop = source[i, top : top + size, left : left + size]
            out[j] = crop[:, ::-1] if rng.random() < 0.5 else crop
        return out

    def __repr__(self):
        return (f"UnpairedBatches({len(self.domains[0])} A and {len(self.domains[1])} B images "
                f"{self.images.shape[1:]}, batch_size={self.batch_size}, {len(self)} batches, seed={self.seed}, "
                f"epoch={self._epoch}, jitter={self.jitter})")


def native_channels(root):
    """1 if every image under `root` is grayscale (by its header), 3 if any is not; None if it holds none."""
    entries, _, _ = list_images(root)
    if not entries:
        return None
    for rel, *_ in entries:
        try:
            with Image.open(root / rel) as image:
                if image.mode not in _GRAY_MODES:
                    return 3
        except Exception:  # unreadable files are the decoder's to report
            continue
    return 1


def _domain_dir(path, label):
    return require_dir(path, f"unpaired domain {label}", "image files (" + ", ".join(IMAGE_EXTENSIONS) + ")")


def load_unpaired(name=None, data_dir=None, dir_a=None, dir_b=None, image_size=256, channels=None, limit=None,
                  **options):
    """Loads two unpaired domains as an `UnpairedDataset`.

    One of:
        - `data_dir` in the CycleGAN layout: trainA/, trainB/ (and testA/,
          testB/ if present);
        - `dir_a` and `dir_b`: any two folders, each one domain (no test set);
        - `name`, one of `NAMED` (horse2zebra, monet2photo, ...), with
          `data_dir` where it was unpacked, or None to download it with
          `keras.utils.get_file` from the CycleGAN authors' server.

    Args:
        image_size: the side the images are square-cropped and resized to (256).
        channels: 1 or 3; None reads each domain's own (all-grayscale: 1,
            else 3) and refuses domains that differ.
        limit: keep the first `limit` images of each folder.
        **options: `cache` (True), `cache_dir`, `workers`, as folder loads.

    Raises:
        DataError: a missing or empty domain folder, domains whose images
            differ in channels, an unknown name, a bad option.
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise DataError(f"load_unpaired does not take option(s) {', '.join(unknown)}; it takes: {', '.join(_OPTIONS)}.")
    image_size, channels, limit = check_image_size(image_size), check_channels(channels), check_limit(limit)
    if name is not None:
        if name not in NAMED:
            raise DataError(f"Unknown unpaired data set {name!r}; known: {', '.join(NAMED)}.")
        data_dir = _named_dir(name, data_dir, options)
    if (dir_a is None) != (dir_b is None):
        raise DataError("load_unpaired needs both dir_a and dir_b (one folder per domain), or a data_dir.")
    if dir_a is not None:
        if data_dir is not None:
            raise DataError("Pass either data_dir (the CycleGAN layout) or dir_a and dir_b, not both.")
        folders = {"train_a": _domain_dir(dir_a, "A"), "train_b": _domain_dir(dir_b, "B")}
        source = f"{folders['train_a']} | {folders['train_b']}"
    else:
        root = require_dir(data_dir, "unpaired", "trainA/ and trainB/ (and testA/, testB/)")
        folders = {}
        for key, sub in (("train_a", "trainA"), ("train_b", "trainB"), ("test_a", "testA"), ("test_b", "testB")):
            if (root / sub).is_dir():
                folders[key] = root / sub
            elif key.startswith("train"):
                raise DataError(
                    f"{root} lacks {sub}/: the CycleGAN layout is trainA/ and trainB/ (and testA/, testB/), "
                    "one folder per domain; or pass dir_a= and dir_b=."
                )
        source = str(root)
    if channels is None:
        found = {key: native_channels(folder) for key, folder in folders.items() if key.startswith("train")}
        if None not in found.values() and found["train_a"] != found["train_b"]:
            kinds = {1: "grayscale", 3: "colour"}
            raise DataError(
                f"The two domains' images differ in channels: {folders['train_a']} holds "
                f"{kinds[found['train_a']]} images, {folders['train_b']} {kinds[found['train_b']]} ones. Pass "
                "channels=3 to read both as RGB, or channels=1 for grayscale."
            )
        channels = found["train_a"] or found["train_b"] or 3  # an empty domain is refused below
    arrays = {key: load_image_folder(folder, "unpaired", image_size, channels, None, limit, options)
              for key, folder in folders.items()}
    return UnpairedDataset(arrays["train_a"], arrays["train_b"], arrays.get("test_a"), arrays.get("test_b"),
                           name=name or "unpaired", source=source)


def _named_dir(name, data_dir, options):
    import keras

    if data_dir is not None:
        root = require_dir(data_dir, name, "trainA/ and trainB/")
        return root / name if (root / name / "trainA").is_dir() else root
    cache_dir = pathlib.Path(options.get("cache_dir") or cache.default_cache_dir()).expanduser()
    archive = keras.utils.get_file(f"{name}.zip", URL.format(name=name), cache_dir=str(cache_dir),
                                   cache_subdir="cyclegan", extract=True)
    # get_file unpacks into a folder next to the archive; the zip holds <name>/trainA, ...
    base = pathlib.Path(archive)
    for candidate in (base / name, base, base.parent / name):
        if (candidate / "trainA").is_dir():
            return candidate
    raise DataError(f"The {name} archive from {URL.format(name=name)} unpacked without {name}/trainA under {base}.")
