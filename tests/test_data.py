"""Tests for dcgan_keras.data: every loader on real (tiny) files, every bad input, and Batches in fit.

Files are written in tmp_path in their published formats (IDX byte by byte,
CIFAR pickles, MATLAB .mat, PNG/JPEG), so each test reads what a user's disk
would hold. The ``fit`` tests run under whichever backend KERAS_BACKEND selects.
"""

import gzip
import os
import pathlib
import pickle
import struct
import sys
import time
import warnings

import keras
import numpy as np
import pytest
from keras import ops
from PIL import Image

from dcgan_keras.data import (
    DATASETS,
    Batches,
    DataError,
    DataWarning,
    ImageDataset,
    list_datasets,
    load_dataset,
)
from dcgan_keras.data import folder as folder_module
from dcgan_keras.data.cache import default_cache_dir
from helpers import write_idx

REAL_MNIST = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"


def random_images(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# ---------------------------------------------------------------------------
# File writers: the published formats, written by hand.


def write_cifar_batch(path, images):
    """A CIFAR "python version" batch, pickled with protocol 2 as the originals (Python 2)."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    batch = {b"batch_label": b"test", b"labels": [0] * len(images), b"data": data, b"filenames": []}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(batch, handle, protocol=2)


def save_image(path, array, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


# ---------------------------------------------------------------------------
# Registry and argument checks


def test_registry_lists_every_loader():
    assert list_datasets() == sorted(DATASETS)
    for name in (
        "mnist",
        "fashion_mnist",
        "kmnist",
        "emnist",
        "cifar10",
        "cifar100",
        "svhn",
        "celeba",
        "folder",
        "npz",
        "npy",
        "synthetic",
    ):
        assert name in DATASETS


def test_unknown_name_lists_known_names():
    with pytest.raises(DataError, match="Unknown data set 'mnits'.*cifar10.*Did you mean 'mnist'"):
        load_dataset("mnits")


def test_names_are_spelling_tolerant():
    data = load_dataset("Synthetic", num=4)
    assert data.name == "synthetic"


@pytest.mark.parametrize("value", [0, -3, 2.5, "64", True, 10_000])
def test_bad_image_size(value):
    with pytest.raises(DataError, match="image_size"):
        load_dataset("synthetic", image_size=value, num=2)


@pytest.mark.parametrize("value", [0, 2, 4, "3", True])
def test_bad_channels(value):
    with pytest.raises(DataError, match="channels must be 1 .* or 3"):
        load_dataset("synthetic", channels=value, num=2)


def test_bad_limit_split_and_option():
    with pytest.raises(DataError, match="limit"):
        load_dataset("synthetic", limit=0)
    with pytest.raises(DataError, match="no split 'valid'.*train, test"):
        load_dataset("synthetic", split="valid")
    with pytest.raises(DataError, match="does not take option.*colour.*num, seed"):
        load_dataset("synthetic", colour=True)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


# ---------------------------------------------------------------------------
# IDX: MNIST, Fashion-MNIST, KMNIST, EMNIST


@pytest.mark.parametrize("spelling", ["{}-idx3-ubyte", "{}.idx3-ubyte"])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files(tmp_path, spelling, gz):
    train, test = random_images((5, 28, 28), 1), random_images((3, 28, 28), 2)
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / (spelling.format("train-images") + suffix), train, gz)
    write_idx(tmp_path / (spelling.format("t10k-images") + suffix), test, gz)
    data = load_dataset("mnist", data_dir=tmp_path)
    assert isinstance(data, ImageDataset)
    assert data.images.dtype == np.uint8 and data.images.shape == (5, 28, 28, 1)
    assert data.image_shape == (28, 28, 1)
    np.testing.assert_array_equal(data.images[..., 0], train)
    np.testing.assert_array_equal(
        load_dataset("mnist", data_dir=str(tmp_path), split="test").images[..., 0], test
    )


@pytest.mark.parametrize("name", ["fashion_mnist", "kmnist"])
def test_other_mnist_like_sets_read_the_same_files(tmp_path, name):
    train = random_images((4, 28, 28), 3)
    write_idx(tmp_path / "raw" / "train-images-idx3-ubyte.gz", train, gz=True)  # torchvision layout
    np.testing.assert_array_equal(load_dataset(name, data_dir=tmp_path).images[..., 0], train)


def test_gzip_is_detected_by_content_not_name(tmp_path):
    train = random_images((2, 28, 28))
    write_idx(tmp_path / "train-images-idx3-ubyte", train, gz=True)  # gzipped, no .gz
    np.testing.assert_array_equal(load_dataset("mnist", data_dir=tmp_path).images[..., 0], train)


def test_emnist_is_transposed_back(tmp_path):
    upright = random_images((4, 28, 28), 4)
    # EMNIST stores every image transposed.
    write_idx(
        tmp_path / "gzip" / "emnist-letters-train-images-idx3-ubyte.gz",
        upright.transpose(0, 2, 1),
        gz=True,
    )
    data = load_dataset("emnist", data_dir=tmp_path, emnist_split="letters")
    np.testing.assert_array_equal(data.images[..., 0], upright)
    with pytest.raises(DataError, match="emnist-balanced-train-images-idx3-ubyte"):
        load_dataset("emnist", data_dir=tmp_path)  # balanced is the default split
    with pytest.raises(DataError, match="emnist_split must be one of balanced.*got 'letter'"):
        load_dataset("emnist", data_dir=tmp_path, emnist_split="letter")


def test_missing_idx_file_names_what_was_expected(tmp_path):
    with pytest.raises(
        DataError,
        match=r"train-images-idx3-ubyte, train-images-idx3-ubyte\.gz.*train-images\.idx3-ubyte",
    ):
        load_dataset("mnist", data_dir=tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist", data_dir=tmp_path / "nowhere")
    with pytest.raises(DataError, match="kmnist needs data_dir"):
        load_dataset("kmnist")


def test_an_idx_file_inside_a_folder_of_its_name_is_found(tmp_path):
    # How some mirrors unpack: train-images-idx3-ubyte/train-images-idx3-ubyte.
    images = random_images((3, 28, 28), 19)
    write_idx(tmp_path / "train-images-idx3-ubyte" / "train-images-idx3-ubyte", images)
    np.testing.assert_array_equal(load_dataset("mnist", data_dir=tmp_path).images[..., 0], images)


def test_a_file_that_cannot_be_read_is_a_data_error_naming_it(tmp_path, monkeypatch):
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", random_images((2, 28, 28)), gz=True)
    real_read = pathlib.Path.read_bytes

    def no_permission(self):
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(pathlib.Path, "read_bytes", no_permission)
    with pytest.raises(DataError, match=r"Cannot read .*train-images-idx3-ubyte.gz \(PermissionError.*permissions"):
        load_dataset("mnist", data_dir=tmp_path)


def test_truncated_idx_file(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", random_images((3, 28, 28)))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=f"{path}.*truncated.*download it again"):
        load_dataset("mnist", data_dir=tmp_path)


def test_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", random_images((30, 28, 28)), gz=True)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=f"{path}.*damaged gzip"):
        load_dataset("mnist", data_dir=tmp_path)


def test_wrong_idx_magic(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataError, match="not an IDX file: magic number 0x504b0304, expected 0x00000803"):
        load_dataset("mnist", data_dir=tmp_path)


def test_labels_file_in_place_of_images(tmp_path):
    raw = bytes([0, 0, 8, 1]) + struct.pack(">I", 4) + bytes(4)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(raw)
    with pytest.raises(DataError, match="holds labels, not uint8 images"):
        load_dataset("mnist", data_dir=tmp_path)


def test_real_mnist_matches_its_raw_bytes():
    path = REAL_MNIST / "train-images-idx3-ubyte.gz"
    if not path.is_file():
        pytest.skip(f"real MNIST not found at {REAL_MNIST} (the shared data folder)")
    with gzip.open(path, "rb") as handle:
        raw = np.frombuffer(handle.read(), np.uint8, offset=16)
    data = load_dataset("mnist", data_dir=REAL_MNIST)
    assert data.images.shape == (60000, 28, 28, 1) and data.images.dtype == np.uint8
    assert data.images[0].tobytes() == raw[:784].tobytes()
    assert data.images.mean() == pytest.approx(raw.mean(), abs=1e-9)
    assert data.images.std() == pytest.approx(raw.std(), abs=1e-9)


# ---------------------------------------------------------------------------
# keras.datasets, without the network: get_file is pointed at local files.


def test_mnist_through_keras_datasets(tmp_path, monkeypatch):
    x_train, x_test = random_images((6, 28, 28), 5), random_images((2, 28, 28), 6)
    npz = tmp_path / "mnist.npz"
    np.savez(
        npz, x_train=x_train, y_train=np.zeros(6, np.uint8), x_test=x_test, y_test=np.zeros(2, np.uint8)
    )
    fetched = []

    def fake_get_file(fname=None, origin=None, **kwargs):
        fetched.append(origin)
        return str(npz)

    monkeypatch.setattr("keras.src.datasets.mnist.get_file", fake_get_file)
    data = load_dataset("mnist")
    assert fetched and fetched[0].endswith("mnist.npz")
    assert data.source == "keras.datasets.mnist"
    np.testing.assert_array_equal(data.images[..., 0], x_train)
    np.testing.assert_array_equal(load_dataset("mnist", split="test").images[..., 0], x_test)


def test_fashion_mnist_through_keras_datasets(tmp_path, monkeypatch):
    x_train = random_images((3, 28, 28), 7)
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + bytes(3)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x_train, gz=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", x_train, gz=True)
    monkeypatch.setattr(
        "keras.src.datasets.fashion_mnist.get_file", lambda fname, **kwargs: str(tmp_path / fname)
    )
    np.testing.assert_array_equal(load_dataset("fashion_mnist").images[..., 0], x_train)


@pytest.mark.parametrize("image_data_format", ["channels_last", "channels_first"])
def test_cifar100_through_keras_datasets(tmp_path, monkeypatch, image_data_format):
    # keras.datasets hands CIFAR over in keras.config.image_data_format()'s
    # layout; the images come out (N, H, W, C) either way.
    train, test = random_images((3, 32, 32, 3), 11), random_images((2, 32, 32, 3), 12)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name, images in (("train", train), ("test", test)):
        batch = {b"data": images.transpose(0, 3, 1, 2).reshape(len(images), 3072),
                 b"fine_labels": [0] * len(images), b"coarse_labels": [0] * len(images)}
        with open(folder / name, "wb") as handle:
            pickle.dump(batch, handle, protocol=4)  # Keras's unpickler refuses protocol 2's bytes codec
    monkeypatch.setattr("keras.src.datasets.cifar100.get_file", lambda fname, **kwargs: str(tmp_path))
    monkeypatch.setattr(keras.config, "image_data_format", lambda: image_data_format)
    monkeypatch.setattr("keras.src.backend.image_data_format", lambda: image_data_format)
    data = load_dataset("cifar100")
    assert data.source == "keras.datasets.cifar100"
    np.testing.assert_array_equal(data.images, train)
    np.testing.assert_array_equal(load_dataset("cifar100", split="test").images, test)


def test_download_failure_suggests_data_dir(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- no network")

    monkeypatch.setattr("keras.src.datasets.mnist.get_file", offline)
    with pytest.raises(DataError, match="load_data\\(\\) failed.*URL fetch failure.*data_dir"):
        load_dataset("mnist")


# ---------------------------------------------------------------------------
# CIFAR


def test_cifar10_pickle_batches(tmp_path):
    batches = [random_images((2, 32, 32, 3), i) for i in range(5)]
    folder = tmp_path / "cifar-10-batches-py"
    for i, images in enumerate(batches, 1):
        write_cifar_batch(folder / f"data_batch_{i}", images)
    test_images = random_images((3, 32, 32, 3), 9)
    write_cifar_batch(folder / "test_batch", test_images)
    data = load_dataset("cifar10", data_dir=tmp_path)  # finds the subfolder
    assert data.images.shape == (10, 32, 32, 3) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images, np.concatenate(batches))
    np.testing.assert_array_equal(
        load_dataset("cifar10", data_dir=folder, split="test").images, test_images
    )


def test_cifar100_and_missing_batches(tmp_path):
    images = random_images((4, 32, 32, 3), 10)
    write_cifar_batch(tmp_path / "cifar-100-python" / "train", images)
    np.testing.assert_array_equal(load_dataset("cifar100", data_dir=tmp_path).images, images)
    for i in (1, 2, 4, 5):
        write_cifar_batch(tmp_path / f"data_batch_{i}", images)
    with pytest.raises(DataError, match=f"{tmp_path} lacks data_batch_3"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_a_cifar_batch_of_floats_is_scaled_not_cast(tmp_path):
    images = random_images((2, 32, 32, 3), 18)
    write_cifar_batch(tmp_path / "cifar-100-python" / "train", images.astype(np.float32) / 255.0)
    np.testing.assert_array_equal(load_dataset("cifar100", data_dir=tmp_path).images, images)


def test_cifar_pickle_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(DataError, match="not a readable CIFAR python batch.*refusing to load"):
        load_dataset("cifar10", data_dir=tmp_path, split="test")


# ---------------------------------------------------------------------------
# SVHN


def test_svhn_mat_file(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    images = random_images((5, 32, 32, 3), 11)
    # SVHN's y is 1-based: 10 is the digit 0.
    scipy_io.savemat(
        tmp_path / "test_32x32.mat",
        {"X": images.transpose(1, 2, 3, 0), "y": np.array([[1], [10], [9], [10], [3]], np.uint8)},
    )
    data = load_dataset("svhn", data_dir=tmp_path, split="test")
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, [1, 0, 9, 0, 3])
    assert data.class_names == [str(d) for d in range(10)]
    with pytest.raises(DataError, match="train_32x32.mat"):
        load_dataset("svhn", data_dir=tmp_path)


def test_a_matlab_v7_3_svhn_file_says_how_to_resave_it(tmp_path):
    pytest.importorskip("scipy")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116)
    (tmp_path / "train_32x32.mat").write_bytes(header + b"\0" * 8 + b"\x00\x02IM" + b"\x89HDF\r\n\x1a\n")
    with pytest.raises(DataError, match=r"MATLAB v7.3 \(HDF5\) file.*'-v7'"):
        load_dataset("svhn", data_dir=tmp_path)


def test_svhn_without_scipy_says_to_install_it(tmp_path, monkeypatch):
    (tmp_path / "train_32x32.mat").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "scipy.io", None)  # makes `import scipy.io` fail
    with pytest.raises(DataError, match="needs scipy: pip install scipy"):
        load_dataset("svhn", data_dir=tmp_path)


# ---------------------------------------------------------------------------
# npz / npy


def test_npy_uint8_and_float_ranges(tmp_path):
    images = random_images((4, 6, 6), 12)
    np.save(tmp_path / "a.npy", images)
    np.testing.assert_array_equal(
        load_dataset("npy", data_dir=tmp_path / "a.npy").images[..., 0], images
    )
    np.save(tmp_path / "unit.npy", images.astype(np.float32) / 255.0)
    np.testing.assert_array_equal(load_dataset("npy", path=tmp_path / "unit.npy").images[..., 0], images)
    np.save(tmp_path / "signed.npy", images.astype(np.float64) / 127.5 - 1.0)
    np.testing.assert_array_equal(
        load_dataset("npy", data_dir=tmp_path / "signed.npy").images[..., 0], images
    )
    np.save(tmp_path / "raw.npy", images.astype(np.float32))
    with pytest.raises(
        DataError,
        match=r"raw.npy holds floats in \[.*\]; float images must lie in \[0, 1\] or \[-1, 1\]",
    ):
        load_dataset("npy", data_dir=tmp_path / "raw.npy")


def test_npz_keys(tmp_path):
    images = random_images((3, 5, 5, 3), 13)
    np.savez(tmp_path / "one.npz", anything=images)
    np.testing.assert_array_equal(load_dataset("npz", data_dir=tmp_path / "one.npz").images, images)
    np.savez(tmp_path / "named.npz", labels=np.zeros(3), images=images)
    np.testing.assert_array_equal(load_dataset("npz", data_dir=tmp_path / "named.npz").images, images)
    np.savez(tmp_path / "keras.npz", x_train=images, x_test=images[:1], y_train=np.zeros(3))
    assert len(load_dataset("npz", data_dir=tmp_path / "keras.npz", split="test")) == 1
    np.savez(tmp_path / "two.npz", a=images, b=images)
    with pytest.raises(DataError, match=r"holds several arrays \(a, b\).*pass key="):
        load_dataset("npz", data_dir=tmp_path / "two.npz")
    assert len(load_dataset("npz", data_dir=tmp_path / "two.npz", key="b")) == 3


def test_array_file_errors(tmp_path):
    with pytest.raises(DataError, match="missing.npz does not exist"):
        load_dataset("npz", data_dir=tmp_path / "missing.npz")
    np.save(tmp_path / "chw.npy", random_images((4, 3, 8, 8)))
    with pytest.raises(DataError, match="channels-first.*transpose"):
        load_dataset("npy", data_dir=tmp_path / "chw.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="objects.npy is not a readable npy file"):
        load_dataset("npy", data_dir=tmp_path / "objects.npy")


def test_an_npz_without_x_test_has_no_test_split(tmp_path):
    # It used to hand back the training images as the test split.
    images = random_images((3, 5, 5, 3), 14)
    np.savez(tmp_path / "mine.npz", images=images, labels=np.zeros(3))
    np.savez(tmp_path / "one.npz", images)
    for name in ("mine.npz", "one.npz"):
        with pytest.raises(DataError, match=rf"{name} has no test split .*x_test.*key=<name>"):
            load_dataset("npz", data_dir=tmp_path / name, split="test")
    assert len(load_dataset("npz", data_dir=tmp_path / "mine.npz", split="test", key="images")) == 3


def test_a_single_image_array_is_refused_not_read_as_images_a_few_pixels_wide(tmp_path):
    np.save(tmp_path / "one.npy", random_images((64, 64, 3), 15))
    with pytest.raises(DataError, match=r"\(64, 64, 3\): one \(H, W, C\) image.*x\[np.newaxis\]"):
        load_dataset("npy", data_dir=tmp_path / "one.npy")
    np.save(tmp_path / "gray.npy", random_images((2, 8, 8), 16))  # (N, H, W) stays grayscale
    assert load_dataset("npy", data_dir=tmp_path / "gray.npy").images.shape == (2, 8, 8, 1)


def test_limit_does_not_change_how_float_pixels_are_read(tmp_path):
    # A [-1, 1] set whose first images happen to lie in [0, 1].
    images = random_images((4, 6, 6, 1), 17)
    floats = images.astype(np.float32) / 127.5 - 1.0
    floats[:2] = np.abs(floats[:2])
    np.save(tmp_path / "signed.npy", floats)
    full = load_dataset("npy", data_dir=tmp_path / "signed.npy").images
    np.testing.assert_array_equal(load_dataset("npy", data_dir=tmp_path / "signed.npy", limit=2).images, full[:2])


def test_arrays_are_resized_and_converted_like_pil(tmp_path):
    images = random_images((3, 10, 14, 3), 14)
    np.save(tmp_path / "rgb.npy", images)
    data = load_dataset("npy", data_dir=tmp_path / "rgb.npy", image_size=20, channels=1)
    expected = [
        np.asarray(
            Image.fromarray(x)
            .convert("L")
            .resize((20, 20), Image.Resampling.LANCZOS, box=(2, 0, 12, 10))
        )
        for x in images
    ]
    np.testing.assert_array_equal(data.images[..., 0], np.stack(expected))
    gray = load_dataset("npy", data_dir=tmp_path / "rgb.npy", channels=1)
    np.testing.assert_array_equal(
        gray.images[..., 0], np.stack([Image.fromarray(x).convert("L") for x in images])
    )
    rgb = load_dataset("npy", data_dir=tmp_path / "rgb.npy", channels=1, limit=2)
    assert len(rgb) == 2


def test_mnist_to_rgb_and_32(tmp_path):
    train = random_images((3, 28, 28), 15)
    write_idx(tmp_path / "train-images-idx3-ubyte", train)
    data = load_dataset("mnist", data_dir=tmp_path, image_size=32, channels=3)
    assert data.images.shape == (3, 32, 32, 3)
    expected = np.asarray(Image.fromarray(train[1]).resize((32, 32), Image.Resampling.LANCZOS))
    for c in range(3):
        np.testing.assert_array_equal(data.images[1, ..., c], expected)


# ---------------------------------------------------------------------------
# Image folders and CelebA


@pytest.fixture
def image_tree(tmp_path):
    """16x16-cropped content in five modes, one corrupt image and one non-image file."""
    root = tmp_path / "images"
    rgb = random_images((16, 16, 3), 20)
    gray_tall = random_images((24, 16), 21)  # w=16, h=24: crop rows 4..20
    rgba_wide = random_images((16, 24, 4), 22)  # w=24: crop columns 4..20
    palette = Image.fromarray(random_images((16, 16), 23), "L").convert("P")
    jpeg = np.full((48, 64, 3), (200, 40, 90), np.uint8)
    save_image(root / "a_rgb.png", rgb)
    save_image(root / "b_gray.png", gray_tall)
    save_image(root / "sub" / "c_rgba.png", rgba_wide)
    palette.save(root / "sub" / "d_palette.png")
    save_image(root / "sub" / "deeper" / "e_photo.JPG", jpeg, quality=95)
    (root / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (root / "notes.txt").write_text("not an image")
    expected = {
        "a_rgb.png": rgb,
        "b_gray.png": np.repeat(gray_tall[4:20, :, None], 3, axis=-1),
        "c_rgba.png": rgba_wide[:, 4:20, :3],
        "d_palette.png": np.asarray(palette.convert("RGB")),
    }
    return root, expected, jpeg


def load_tree(root, cache_dir, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset("folder", data_dir=root, cache_dir=cache_dir, **kwargs)
    return data, [w for w in caught if issubclass(w.category, DataWarning)]


def test_folder_modes_crop_and_one_warning(image_tree, tmp_path):
    root, expected, jpeg = image_tree
    data, caught = load_tree(root, tmp_path / "cache", image_size=16)
    assert data.images.shape == (5, 16, 16, 3) and data.images.dtype == np.uint8
    # Sorted by relative path: a_rgb, b_gray, sub/c_rgba, sub/d_palette, sub/deeper/e_photo.
    for i, name in enumerate(["a_rgb.png", "b_gray.png", "c_rgba.png", "d_palette.png"]):
        np.testing.assert_array_equal(data.images[i], expected[name], err_msg=name)
    assert np.abs(data.images[4].astype(int) - jpeg[0, 0]).max() <= 3  # lossy, flat color
    assert len(caught) == 1
    assert "Skipped 1 of 6 image files" in str(caught[0].message) and "broken.png" in str(
        caught[0].message
    )


def test_folder_reads_webp_and_bmp(tmp_path):
    webp, bmp = random_images((16, 16, 3), 30), random_images((16, 16, 3), 31)
    save_image(tmp_path / "images" / "a.webp", webp, lossless=True)
    save_image(tmp_path / "images" / "b.BMP", bmp)  # extensions in any case
    data, caught = load_tree(tmp_path / "images", tmp_path / "cache", image_size=16)
    assert caught == []
    np.testing.assert_array_equal(data.images, np.stack([webp, bmp]))


def test_folder_grayscale_limit_and_antialiasing(image_tree, tmp_path):
    root, expected, _ = image_tree
    data, _ = load_tree(root, tmp_path / "cache", image_size=16, channels=1, limit=2)
    assert data.images.shape == (2, 16, 16, 1)
    np.testing.assert_array_equal(
        data.images[0, ..., 0], np.asarray(Image.fromarray(expected["a_rgb.png"]).convert("L"))
    )
    checker = ((np.indices((32, 32)).sum(0) % 2) * 255).astype(np.uint8)
    save_image(tmp_path / "checker" / "c.png", checker)
    small, _ = load_tree(tmp_path / "checker", tmp_path / "cache", image_size=8, channels=1)
    # Antialiased: a 1-pixel checkerboard averages to mid-gray (nearest would keep 0/255).
    assert np.abs(small.images[..., 0].astype(int) - 128).max() <= 8


def test_folder_cache_is_reused_and_rebuilt(image_tree, tmp_path, monkeypatch):
    root, _, _ = image_tree
    cache_dir = tmp_path / "cache"
    first, _ = load_tree(root, cache_dir, image_size=16)
    (cache_file,) = cache_dir.glob("*.npy")
    assert cache_file.name.startswith("folder-images-16px-3c-")

    decoded = []
    real_decode = folder_module.decode_image

    def counting_decode(path, *args):
        decoded.append(path)
        return real_decode(path, *args)

    monkeypatch.setattr(folder_module, "decode_image", counting_decode)
    second, caught = load_tree(root, cache_dir, image_size=16)
    assert decoded == []  # served from the cache
    np.testing.assert_array_equal(second.images, first.images)
    assert len(caught) == 1 and "broken.png" in str(caught[0].message)  # still reported

    changed = random_images((16, 16, 3), 99)
    save_image(root / "a_rgb.png", changed)
    os.utime(root / "a_rgb.png", ns=(1, 1))  # a new mtime even on coarse-clock filesystems
    third, _ = load_tree(root, cache_dir, image_size=16)
    assert len(decoded) == 6
    np.testing.assert_array_equal(third.images[0], changed)
    assert [p.name for p in cache_dir.glob("*.npy")] != [cache_file.name]
    assert len(list(cache_dir.glob("*.npy"))) == 1  # the stale entry was removed
    assert not list(cache_dir.glob(".*tmp"))


def test_folder_cache_sees_an_edit_that_keeps_size_and_mtime(tmp_path):
    # exiftool -P, or `touch -r`: same size, same mtime, other pixels; only the ctime tells.
    before, after = random_images((8, 8, 3), 40), random_images((8, 8, 3), 41)
    path = save_image(tmp_path / "images" / "a.bmp", before)
    stat = os.stat(path)
    assert load_tree(tmp_path / "images", tmp_path / "cache", image_size=8)[0].images[0].tolist() == before.tolist()
    time.sleep(0.01)
    save_image(path, after)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(path).st_size == stat.st_size
    np.testing.assert_array_equal(load_tree(tmp_path / "images", tmp_path / "cache", image_size=8)[0].images[0], after)


def test_folder_follows_links_once_and_warns_about_what_it_cannot_open(tmp_path, monkeypatch):
    root, elsewhere = tmp_path / "images", tmp_path / "elsewhere"
    a, b = random_images((8, 8, 3), 42), random_images((8, 8, 3), 43)
    save_image(root / "a.png", a)
    save_image(elsewhere / "cats" / "b.png", b)
    os.symlink(elsewhere / "cats", root / "cats")  # a linked folder: read
    os.symlink(root, elsewhere / "cats" / "loop")  # a loop back to the root: walked once
    os.symlink(tmp_path / "gone.png", root / "dangling.png")
    data, caught = load_tree(root, tmp_path / "cache", image_size=8)
    np.testing.assert_array_equal(data.images, np.stack([a, b]))
    assert len(caught) == 1 and "Could not list or open 1 folder(s) or file(s)" in str(caught[0].message)
    assert "dangling.png (FileNotFoundError" in str(caught[0].message)

    real_scandir = os.scandir

    def unlistable(path="."):
        if os.fspath(path).endswith("cats"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", unlistable)
    data, caught = load_tree(root, tmp_path / "cache", image_size=8)
    np.testing.assert_array_equal(data.images, a[np.newaxis])
    assert "Could not list or open 2" in str(caught[0].message)
    (root / "dangling.png").unlink()
    os.remove(root / "a.png")
    with pytest.raises(DataError, match=r"No image file under .*images could be listed or opened, e\.g\. .*cats"):
        load_tree(root, tmp_path / "cache", image_size=8)


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX file names are bytes there")
def test_folder_cache_takes_file_names_that_are_not_utf8(tmp_path):
    image = random_images((8, 8, 3), 44)
    save_image(tmp_path / "images" / "ok.png", image)
    os.rename(tmp_path / "images" / "ok.png", os.fsdecode(os.fsencode(str(tmp_path / "images")) + b"/caf\xe9.png"))
    np.testing.assert_array_equal(load_tree(tmp_path / "images", tmp_path / "cache", image_size=8)[0].images[0], image)


def test_cache_location_follows_env(image_tree, tmp_path, monkeypatch):
    root, _, _ = image_tree
    monkeypatch.setenv("DCGAN_KERAS_CACHE", str(tmp_path / "from_env"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        load_dataset("folder", data_dir=root, image_size=8)
    assert len(list((tmp_path / "from_env").glob("folder-images-8px-3c-*.npy"))) == 1
    # Without it: $XDG_CACHE_HOME, else ~/.cache, as the README says.
    monkeypatch.delenv("DCGAN_KERAS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "dcgan_keras"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        load_dataset("folder", data_dir=root, image_size=8)
    assert len(list((tmp_path / "home" / ".cache" / "dcgan_keras").glob("folder-images-8px-3c-*.npy"))) == 1


def test_large_jpeg_decoded_at_reduced_scale_keeps_the_crop(tmp_path):
    # 400x300: the JPEG decoder may shrink it 4x for a 32px output; the
    # centered 300x300 crop must still be columns 50..350 of the original.
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[:, :200] = 255  # white left half: 150 of the crop's 300 columns
    save_image(tmp_path / "big" / "p.jpg", photo, quality=95)
    save_image(tmp_path / "lossless" / "p.png", photo)
    fast = load_dataset("folder", data_dir=tmp_path / "big", image_size=32, cache=False).images[0]
    full = load_dataset("folder", data_dir=tmp_path / "lossless", image_size=32, cache=False).images[0]
    assert fast[:, :14].min() >= 235 and fast[:, 18:].max() <= 20
    assert np.abs(fast.astype(int) - full).mean() < 3


def test_exif_orientation_and_16_bit_png(tmp_path):
    upright = np.zeros((32, 32, 3), np.uint8)
    upright[:16] = 255  # white top
    exif = Image.Exif()
    exif[0x0112] = 3  # stored upside down, EXIF says rotate 180
    Image.fromarray(upright[::-1].copy()).save(tmp_path / "turned.jpg", quality=95, exif=exif)
    turned = load_dataset("folder", data_dir=tmp_path, image_size=32, cache=False).images[0]
    assert turned[:12].min() >= 230 and turned[20:].max() <= 25
    deep = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    save_image(tmp_path / "deep" / "d.png", deep)
    data = load_dataset("folder", data_dir=tmp_path / "deep", image_size=8, channels=1, cache=False)
    np.testing.assert_array_equal(data.images[0, ..., 0], deep >> 8)  # high byte, not clipped


def test_a_folder_of_class_sub_folders_is_labelled_by_them_cached_or_not(tmp_path):
    root = tmp_path / "classes"
    images = {f"{name}/{i}.png": random_images((8, 8, 3), 30 + k * 3 + i)
              for k, name in enumerate(("dog", "cat")) for i in range(2)}
    images["dog/deeper/2.png"] = random_images((8, 8, 3), 40)
    for rel, image in images.items():
        save_image(root / rel, image)
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage")
    for attempt in ("decoded", "cached"):
        data, _ = load_tree(root, tmp_path / "cache", image_size=8)
        assert data.class_names == ["cat", "dog"], attempt
        # Sorted by path, the broken image left out with its label.
        np.testing.assert_array_equal(data.labels, [0, 0, 1, 1, 1], err_msg=attempt)
        np.testing.assert_array_equal(data.images[2], images["dog/0.png"], err_msg=attempt)
    save_image(root / "top.png", random_images((8, 8, 3), 41))
    data, _ = load_tree(root, tmp_path / "cache", image_size=8)
    assert data.labels is None and data.class_names is None  # an image at the top: no classes


def test_a_conditional_run_refuses_a_folder_of_one_class_or_an_unlabelled_one(tmp_path):
    from dcgan_keras.config import resolve_config
    from dcgan_keras.gans.conditional import run_classes

    save_image(tmp_path / "only" / "a.png", random_images((8, 8, 3), 50))
    config = resolve_config(overrides={"dataset": "folder", "data_dir": str(tmp_path), "model": "conditional",
                                       "image_size": 32, "channels": 3})
    data = load_dataset("folder", data_dir=tmp_path, image_size=32, cache=False)
    with pytest.raises(ValueError, match="holds one class \\('only'\\).*two or more.*one sub-folder per class"):
        run_classes(config, data)
    with pytest.raises(ValueError, match="has no labels.*model='dcgan'"):
        run_classes(config, load_dataset("synthetic", num=8))


def test_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("x")
    with pytest.raises(
        DataError, match=r"No image files \(.jpg.*under .*empty \(it holds 1 other files\)"
    ):
        load_dataset("folder", data_dir=tmp_path / "empty", cache=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(
        DataError, match=r"None of the 1 image files under .*bad could be read, e\.g\. .*x\.jpg"
    ):
        load_dataset("folder", data_dir=tmp_path / "bad", cache=False)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("folder", data_dir=tmp_path / "missing")
    with pytest.raises(DataError, match="folder has no split 'test'"):
        load_dataset("folder", data_dir=tmp_path, split="test")
    with pytest.raises(DataError, match="workers must be a positive int"):
        load_dataset("folder", data_dir=tmp_path / "bad", workers=0)


def test_celeba_center_crop_108(tmp_path):
    face = np.zeros((218, 178, 3), np.uint8)
    face[55:163, 35:143] = 255  # exactly the centered 108x108 box
    for i in (1, 2):
        save_image(tmp_path / "img_align_celeba" / f"{i:06d}.jpg", face, quality=95)
    data = load_dataset("celeba", data_dir=tmp_path, cache=False)
    assert data.images.shape == (2, 64, 64, 3)
    assert data.images[:, 4:-4, 4:-4].min() >= 240  # all face crop, no border
    small = load_dataset("celeba", data_dir=tmp_path / "img_align_celeba", image_size=32, cache=False)
    assert small.images.shape == (2, 32, 32, 3)
    with pytest.raises(DataError, match="crop_size must be between 1 and"):
        load_dataset("celeba", data_dir=tmp_path, cache=False, crop_size=0)
    (tmp_path / "other").mkdir()
    with pytest.raises(
        DataError, match="No CelebA images under .*other: expected img_align_celeba/000001.jpg"
    ):
        load_dataset("celeba", data_dir=tmp_path / "other")


# ---------------------------------------------------------------------------
# Synthetic


def test_synthetic_is_deterministic_and_varied():
    a = load_dataset("synthetic", num=64, seed=3)
    assert a.images.shape == (64, 28, 28, 1) and a.images.dtype == np.uint8
    np.testing.assert_array_equal(a.images, load_dataset("synthetic", num=64, seed=3).images)
    assert not np.array_equal(a.images, load_dataset("synthetic", num=64, seed=4).images)
    assert not np.array_equal(a.images, load_dataset("synthetic", num=64, seed=3, split="test").images)
    assert a.images.min() < 40 and a.images.max() > 200
    assert len(np.unique(a.images.reshape(64, -1), axis=0)) == 64
    rgb = load_dataset("synthetic", image_size=32, channels=3, num=8)
    assert rgb.images.shape == (8, 32, 32, 3)
    with pytest.raises(DataError, match="num must be an int >= 1"):
        load_dataset("synthetic", num=0)


def test_synthetic_is_fast():
    start = time.perf_counter()
    data = load_dataset("synthetic", image_size=64, num=10_000)
    # About 0.8 s here; generous, as the machine is shared.
    assert time.perf_counter() - start < 6
    assert data.images.shape == (10_000, 64, 64, 1)


# ---------------------------------------------------------------------------
# Batches


def indexed_images(n, shape=(2, 2, 1)):
    """Images whose pixels all equal 10 * index: a batch shows which images it holds."""
    return np.broadcast_to((np.arange(n, dtype=np.uint8) * 10)[:, None, None, None], (n,) + shape).copy()


def test_batches_scale_exactly():
    images = np.arange(256, dtype=np.uint8).reshape(4, 8, 8, 1)
    batches = ImageDataset(images, "x").batches(2, shuffle=False)
    batch = batches[0]
    assert batch.dtype == np.float32 and batch.shape == (2, 8, 8, 1)
    np.testing.assert_array_equal(batch, images[:2].astype(np.float32) / 127.5 - 1)
    assert batch.min() == -1.0 and batches[1].max() == 1.0


def test_batches_order_is_a_function_of_seed_and_epoch():
    images = indexed_images(20)
    a, b = Batches(images, 5, seed=7), Batches(images, 5, seed=7)
    first = np.concatenate([a[i] for i in range(len(a))])
    np.testing.assert_array_equal(first, np.concatenate([b[i] for i in range(len(b))]))
    order = np.random.default_rng([7, 0]).permutation(20)
    np.testing.assert_array_equal(
        first[:, 0, 0, 0], images[order, 0, 0, 0].astype(np.float32) / 127.5 - 1
    )
    b.set_epoch(1)
    assert not np.array_equal(a[0], b[0])
    np.testing.assert_array_equal(b.order(), np.random.default_rng([7, 1]).permutation(20))
    assert not np.array_equal(Batches(images, 5, seed=8).order(), a.order())


def test_batches_drop_remainder():
    images = indexed_images(10)
    assert len(Batches(images, 4)) == 2
    assert all(len(b) == 4 for b in Batches(images, 4))
    kept = Batches(images, 4, drop_remainder=False, shuffle=False)
    assert len(kept) == 3 and len(kept[2]) == 2
    with pytest.raises(IndexError):
        kept[3]
    with pytest.raises(ValueError, match="batch_size 16 is larger than the data set \\(10 images\\)"):
        Batches(images, 16)
    assert len(Batches(images, 16, drop_remainder=False)) == 1


def test_epoch_protocol_matches_keras():
    batches = Batches(indexed_images(8), 4)
    batches.on_epoch_end()  # fit's reset() before training: ignored
    assert batches.epoch == 0
    batches.on_epoch_begin()
    batches.on_epoch_end()
    assert batches.epoch == 1
    batches.on_epoch_end()  # a lone end (a second fit's reset): ignored
    assert batches.epoch == 1
    batches.set_epoch(5)
    batches.on_epoch_begin()
    batches.on_epoch_end()  # shape inference + reset of a resumed fit
    batches.on_epoch_begin()
    batches[0]
    batches.on_epoch_end()
    assert batches.epoch == 6


# ---------------------------------------------------------------------------
# Batches in model.fit, on the active backend


class FirstPixelRecorder(keras.layers.Layer):
    """Writes the first pixel of every training batch into a non-trainable buffer.

    Done with variable updates inside ``call``, so the default train_step
    carries them out of the step on every backend (JAX's stateless one too).
    """

    def __init__(self, steps, **kwargs):
        super().__init__(**kwargs)
        self.seen = self.add_weight(shape=(steps,), initializer="zeros", trainable=False, name="seen")
        self.step = self.add_weight(
            shape=(), initializer="zeros", trainable=False, dtype="int32", name="step"
        )
        self.scale = self.add_weight(shape=(), initializer="zeros", name="scale")

    def call(self, x, training=False):
        if training:
            first = ops.reshape(x, (-1,))[0]
            self.seen.assign(self.seen + ops.one_hot(self.step, self.seen.shape[0]) * first)
            self.step.assign(self.step + 1)
        self.add_loss(ops.square(self.scale) + 0.0 * ops.mean(x))
        return x * self.scale


def fit_and_record(batches, epochs, built, initial_epoch=0, shuffle=False):
    steps = (epochs - initial_epoch) * len(batches)
    recorder = FirstPixelRecorder(steps)
    if built:
        inputs = keras.Input(batches.images.shape[1:])
        model = keras.Model(inputs, recorder(inputs))
    else:
        model = keras.Sequential([recorder])  # built by Keras from a first batch
    model.compile(optimizer="sgd")
    model.fit(batches, epochs=epochs, initial_epoch=initial_epoch, shuffle=shuffle, verbose=0)
    return ops.convert_to_numpy(recorder.seen).reshape(epochs - initial_epoch, len(batches))


def expected_first_pixels(images, batch_size, seed, epochs):
    steps = len(images) // batch_size
    rows = []
    for epoch in epochs:
        order = np.random.default_rng([seed, epoch]).permutation(len(images))
        rows.append(images[order[::batch_size][:steps], 0, 0, 0].astype(np.float32) / 127.5 - 1)
    return np.stack(rows)


@pytest.mark.parametrize("built", [True, False], ids=["built", "unbuilt"])
def test_fit_sees_epochs_0_1_2(built):
    images = indexed_images(12)
    seen = fit_and_record(Batches(images, 4, seed=3), epochs=3, built=built)
    np.testing.assert_allclose(seen, expected_first_pixels(images, 4, 3, [0, 1, 2]), atol=1e-6)


def test_fit_resumed_at_epoch_2_sees_epoch_2():
    images = indexed_images(12)
    batches = Batches(images, 4, seed=3)
    batches.set_epoch(2)
    seen = fit_and_record(batches, epochs=4, built=False, initial_epoch=2)
    np.testing.assert_allclose(seen, expected_first_pixels(images, 4, 3, [2, 3]), atol=1e-6)


def test_fit_with_keras_shuffle_keeps_each_epochs_batches():
    # fit(shuffle=True) permutes the batch order with Python's random; the
    # batches of each epoch are still those of that epoch.
    images = indexed_images(12)
    seen = fit_and_record(Batches(images, 4, seed=1), epochs=2, built=True, shuffle=True)
    expected = expected_first_pixels(images, 4, 1, [0, 1])
    np.testing.assert_allclose(np.sort(seen, axis=1), np.sort(expected, axis=1), atol=1e-6)
