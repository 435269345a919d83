"""Pix2Pix (gans/pix2pix.py), its networks (networks/unet.py, patchgan.py) and paired data (data/paired.py).

Tiny models: 32x32, one channel in and out, 4-8 filters. The 256x256 networks
are built (the paper's shapes), never trained here.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops
from PIL import Image

from dcgan_keras import Pix2Pix
from dcgan_keras.data import DataError
from dcgan_keras.data.paired import URL, PairedDataset, load_paired_dataset
from dcgan_keras.networks import build_patch_discriminator, build_unet_generator
from dcgan_keras.networks.patchgan import patch_receptive_field
from dcgan_keras.networks.unet import unet_filters
from tests.helpers import REPO, changed, numpy_weights
from tests.pix2pix_script import tiny_pix2pix

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pix2pix_script.py")


def _iterations(gan):
    return {name: int(ops.convert_to_numpy(o.iterations)) for name, o in gan.optimizers.items()}


def _pairs(n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 32, 32, 1)).astype("float32")
    return x, np.tanh(2 * x[:, ::-1]).astype("float32")


def shapes(n, seed, size=32):
    """The known answer: a disc or rectangle's 1-pixel outline (input) -> the filled shape (target), uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    filled = np.zeros((n, size, size), bool)
    for i in range(n):
        cy, cx = rng.integers(10, size - 10, 2)
        if rng.random() < 0.5:
            r = rng.integers(4, 9)
            filled[i] = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        else:
            h, w = rng.integers(4, 9, 2)
            filled[i] = (abs(yy - cy) <= h) & (abs(xx - cx) <= w)
    inner = np.zeros_like(filled)
    inner[:, 1:-1, 1:-1] = (filled[:, 1:-1, 1:-1] & filled[:, :-2, 1:-1] & filled[:, 2:, 1:-1]
                            & filled[:, 1:-1, :-2] & filled[:, 1:-1, 2:])
    as_uint8 = lambda mask: (mask.astype(np.uint8) * 255)[..., None]  # noqa: E731
    return as_uint8(filled & ~inner), as_uint8(filled)


# ------------------------------------------------------------------ networks


def test_the_networks_have_the_papers_shapes_at_256():
    generator = build_unet_generator(256)
    discriminator = build_patch_discriminator(256)
    assert generator.input_shape == (None, 256, 256, 3) and generator.output_shape == (None, 256, 256, 3)
    # Encoder C64-C128-C256-C512-C512-C512-C512-C512 down to 1x1; decoder CD512 x3, C512-C256-C128-C64.
    down = [layer.output.shape[1:] for layer in generator.layers if layer.name.startswith("down") and
            layer.name.endswith("conv")]
    assert down == [(128, 128, 64), (64, 64, 128), (32, 32, 256), (16, 16, 512), (8, 8, 512), (4, 4, 512),
                    (2, 2, 512), (1, 1, 512)]
    up = [layer.output.shape[1:] for layer in generator.layers if layer.name.startswith("up") and
          layer.name.endswith("conv")]
    assert up == [(2, 2, 512), (4, 4, 512), (8, 8, 512), (16, 16, 512), (32, 32, 256), (64, 64, 128),
                  (128, 128, 64)]
    dropouts = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dropout)]
    assert [d.name for d in dropouts] == ["up0_dropout", "up1_dropout", "up2_dropout"]
    assert all(d.rate == 0.5 for d in dropouts)
    norms = [layer.name for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert "down0_norm" not in norms and "down7_norm" not in norms and len(norms) == 6 + 7
    assert generator.layers[-1].name == "images" and generator.get_layer("images").activation.__name__ == "tanh"
    # 54.4M weights, as the authors' unet_256.
    assert 54.3e6 < generator.count_params() < 54.5e6
    assert [t.name for t in discriminator.inputs] == ["image", "target"]
    assert discriminator.output_shape == (None, 30, 30, 1)
    assert patch_receptive_field(3) == 70
    convs = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 128, 256, 512, 1]
    assert [c.strides for c in convs] == [(2, 2)] * 3 + [(1, 1)] * 2


@pytest.mark.parametrize("size, patches", [(32, 2), (64, 6), (128, 14)])
def test_the_networks_work_at_smaller_sizes(size, patches):
    generator = build_unet_generator(size, 1, 3, filters=4, norm="instance", seed=0)
    discriminator = build_patch_discriminator(size, 1, 3, filters=4, norm="instance", seed=0)
    assert len(unet_filters(size)) == int(np.log2(size))
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 1)).astype("float32")
    out = ops.convert_to_numpy(generator(x))
    assert out.shape == (2, size, size, 3) and np.abs(out).max() <= 1
    logits = ops.convert_to_numpy(discriminator({"image": x, "target": out}))
    assert logits.shape == (2, patches, patches, 1) and np.all(np.isfinite(logits))
    assert any(isinstance(layer, keras.layers.GroupNormalization) for layer in generator.layers)


def test_builders_refuse_bad_arguments():
    with pytest.raises(ValueError, match="power of two from 32 to 256"):
        build_unet_generator(48)
    with pytest.raises(ValueError, match="`norm` must be one of"):
        build_patch_discriminator(32, norm="layer")
    with pytest.raises(ValueError, match="dropout"):
        build_unet_generator(32, dropout=1.0)


# ---------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def briefly_trained():
    """A tiny Pix2Pix (dropout 0.5, BatchNorm) before and after two fit steps."""
    gan = tiny_pix2pix(dropout=0.5)
    before = {name: numpy_weights(net.trainable_variables) for name, net in gan.networks.items()}
    statistics = numpy_weights(gan.generator.non_trainable_variables)
    x, y = _pairs()
    history = gan.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    return gan, before, statistics, history


def test_a_few_fit_steps_move_both_networks_and_both_optimizers(briefly_trained):
    gan, before, statistics, history = briefly_trained
    assert _iterations(gan) == {"d": 2, "g": 2}
    for name, network in gan.networks.items():
        assert changed(before[name], numpy_weights(network.trainable_variables)), name
    assert changed(statistics, numpy_weights(gan.generator.non_trainable_variables)), "BatchNorm statistics"
    assert sorted(history.history) == sorted(Pix2Pix.metric_names)
    logs = {name: values[-1] for name, values in history.history.items()}
    assert all(np.isfinite(v) for v in logs.values())
    assert 0 < logs["d_real"] < 1 and 0 < logs["d_fake"] < 1 and logs["g_l1_loss"] > 0


def test_keras_round_trip_gives_identical_next_step_losses(briefly_trained, tmp_path):
    gan = briefly_trained[0]
    path = str(tmp_path / "pix2pix.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Pix2Pix) and loaded.l1_weight == 100.0
    assert _iterations(loaded) == _iterations(gan)
    x, y = _pairs(seed=1)
    np.testing.assert_array_equal(loaded.translate(x), gan.translate(x))
    logs = [m.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False).history for m in (gan, loaded)]
    for name in Pix2Pix.metric_names:
        np.testing.assert_array_equal(logs[0][name], logs[1][name], err_msg=name)
    for original, copy in zip(gan.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(original), ops.convert_to_numpy(copy))


def test_translating_never_changes_batchnorm_statistics(briefly_trained):
    gan = briefly_trained[0]
    generator = gan.generator
    moving = [v for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)
              for v in (layer.moving_mean, layer.moving_variance)]
    statistics = numpy_weights(moving)
    trainable = len(generator.trainable_variables)
    x, _ = _pairs(seed=2)
    plain = gan.translate(x)
    np.testing.assert_array_equal(plain, gan.translate(x))  # deterministic by default
    np.testing.assert_allclose(plain, ops.convert_to_numpy(gan(x)), atol=1e-6)
    noisy = [gan.translate(x, dropout=True) for _ in range(2)]
    assert not np.array_equal(noisy[0], noisy[1]) and not np.array_equal(noisy[0], plain)  # fresh masks
    batch = gan.translate(x, batch_statistics=True)
    assert not np.allclose(batch, plain, atol=1e-4)
    assert not np.array_equal(gan.translate(x[:4], batch_statistics=True), batch[:4])  # depends on the batch
    gan.translate(x, dropout=True, batch_statistics=True)
    for before, after in zip(statistics, numpy_weights(moving), strict=True):
        np.testing.assert_array_equal(before, after)
    # Everything the translation modes touch is put back.
    assert len(generator.trainable_variables) == trainable
    assert [d.rate for d in generator.layers if isinstance(d, keras.layers.Dropout)] == [0.5, 0.5, 0.5]
    np.testing.assert_array_equal(plain, gan.translate(x))


def test_sample_grid_shows_input_target_output_and_the_export_is_the_generator(briefly_trained):
    gan = briefly_trained[0]
    inputs, targets = shapes(6, seed=3)
    data = PairedDataset(inputs, targets, "shapes")
    fixed = gan.grid_inputs(4, seed=0, data=data)
    assert fixed.shape == (4, 32, 32, 2)
    np.testing.assert_array_equal(fixed, gan.grid_inputs(4, seed=0, data=(inputs, targets)))
    images, columns = gan.grid_images(fixed)
    assert columns == 3 and images.shape == (12, 32, 32, 1)
    np.testing.assert_array_equal(images[0::3], fixed[..., :1])
    np.testing.assert_array_equal(images[1::3], fixed[..., 1:])
    np.testing.assert_allclose(images[2::3], gan.translate(fixed[..., :1]), atol=1e-6)
    exported = gan.exported_generators()
    assert list(exported) == ["generator"] and exported["generator"].inputs[0].name == "image"


def test_pix2pix_refuses_what_would_not_train():
    gan = tiny_pix2pix(compile=False)
    with pytest.raises(ValueError, match="two image inputs"):
        Pix2Pix(generator=gan.generator, discriminator=keras.Sequential([keras.Input((32, 32, 1)),
                                                                           keras.layers.Flatten(),
                                                                           keras.layers.Dense(1)]))
    other = build_unet_generator(32, 1, 3, filters=4)
    with pytest.raises(ValueError, match=r"translates \(32, 32, 1\) into \(32, 32, 3\)"):
        Pix2Pix(generator=other, discriminator=gan.discriminator)
    with pytest.raises(ValueError, match="l1_weight"):
        Pix2Pix(generator=gan.generator, discriminator=gan.discriminator, l1_weight=-1)
    with pytest.raises(ValueError, match="shape"):
        gan.translate(np.zeros((2, 32, 32, 3), "float32"))
    with pytest.raises(ValueError, match="needs `data`"):
        gan.grid_inputs(2, 0)
    config = gan.get_config()
    assert config["l1_weight"] == 100.0 and "ema_momentum" not in config


def test_fit_refuses_images_that_are_not_pairs():
    gan = tiny_pix2pix()
    x, y = _pairs()
    with pytest.raises(ValueError, match=r"real images range over \[\d+, \d+\], but the generator"):
        gan.fit(x, np.round((y + 1) * 127).astype("float32"), batch_size=4, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\(input, target\) image pairs"):
        gan.fit(x, batch_size=4, epochs=1, verbose=0)


# ------------------------------------------------------------------ learning


@pytest.mark.full  # trains for seconds to learn a known answer: the full tier's
def test_it_learns_to_fill_outlines(tmp_path):
    # Outline of a disc or rectangle -> the filled shape, at 32x32. The
    # untrained network's validation L1 is about 1 (its outputs near 0,
    # the targets +-1); drawing the background everywhere scores 0.31; 256
    # steps of batch 8 bring it under 0.15 (0.06 measured on torch).
    # In a subprocess at XLA's optimization level 1, not conftest's 0: XLA's
    # unoptimized CPU code (quick to compile, for the many tests that build a
    # model) ran this JAX step at 1 s instead of 0.02 s; the default level's
    # compile took 40 s of the run's 45 s, level 1's 26 s in all (cold cache).
    (train_x, train_y), (val_x, val_y) = shapes(256, seed=0), shapes(64, seed=1)
    np.savez(tmp_path / "shapes.npz", inputs=train_x, targets=train_y, val_inputs=val_x, val_targets=val_y)
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if "optimization_level" not in f]
    env = dict(os.environ, XLA_FLAGS=" ".join(flags + ["--xla_backend_optimization_level=1"]), PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, SCRIPT, "learn", str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["iterations"] == [256, 256]
    assert result["untrained"] > 0.8 and 0.25 < result["background"] < 0.4, result
    assert result["trained"] < 0.15, result


# ---------------------------------------------------------------------- data


def _side_by_side(folder, names, size=40, height=None):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        a = np.full((size, size, 3), (10 * i, 0, 0), np.uint8)
        b = np.full((size, size, 3), (0, 200, 5 * i), np.uint8)
        image = np.concatenate([a, b], axis=1)
        if height is not None:
            image = image[:height]
        Image.fromarray(image).save(folder / name)


def test_side_by_side_pairs_load_by_split_and_direction(tmp_path):
    _side_by_side(tmp_path / "train", ["0.jpg", "1.jpg", "2.png"])
    _side_by_side(tmp_path / "val", ["9.png"])
    data = load_paired_dataset("paired_folder", tmp_path, image_size=32)
    assert len(data) == 3 and data.input_shape == data.image_shape == (32, 32, 3) and data.direction == "AtoB"
    np.testing.assert_allclose(data.inputs[:, 16, 16, 0], [0, 10, 20], atol=3)  # the left halves
    np.testing.assert_allclose(data.targets[:, 16, 16, 1], [200, 200, 200], atol=3)
    flipped = load_paired_dataset("paired_folder", tmp_path, image_size=32, direction="BtoA", in_channels=1)
    assert flipped.input_shape == (32, 32, 1) and flipped.image_shape == (32, 32, 3)
    np.testing.assert_allclose(flipped.targets[:, 16, 16, 0], [0, 10, 20], atol=3)
    val = load_paired_dataset("facades", tmp_path, image_size=32, split="val")
    assert len(val) == 1 and val.direction == "BtoA"  # facades: label map (right) -> photo
    with pytest.raises(DataError, match="No test/ folder"):
        load_paired_dataset("paired_folder", tmp_path, image_size=32, split="test")
    assert URL.format(name="facades") == "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"


def test_a_and_b_folders_pair_by_name(tmp_path):
    for side, value in (("A", 30), ("B", 220)):
        (tmp_path / side).mkdir()
        for name in ("x1", "x2"):
            Image.fromarray(np.full((48, 48), value, np.uint8)).save(tmp_path / side / f"{name}.png")
    data = load_paired_dataset("paired_folder", tmp_path, image_size=32, in_channels=1, out_channels=1)
    assert len(data) == 2 and data.inputs.shape == (2, 32, 32, 1)
    assert (data.inputs == 30).all() and (data.targets == 220).all()
    data = load_paired_dataset("paired_folder", tmp_path, image_size=32, direction="BtoA", in_channels=1,
                               out_channels=1)
    assert (data.inputs == 220).all()


def test_paired_data_refusals_name_the_fault(tmp_path):
    _side_by_side(tmp_path / "odd" / "train", ["odd.png"])
    Image.fromarray(np.zeros((20, 41, 3), np.uint8)).save(tmp_path / "odd" / "train" / "odd.png")
    with pytest.raises(DataError, match=r"odd.png is 41x20: a side-by-side pair is two square halves"):
        load_paired_dataset("paired_folder", tmp_path / "odd", image_size=32)
    _side_by_side(tmp_path / "wide" / "train", ["w.png"], height=30)
    with pytest.raises(DataError, match=r"w.png is 80x30.*twice as wide as high"):
        load_paired_dataset("paired_folder", tmp_path / "wide", image_size=32)
    for side, names in (("A", ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "both"]), ("B", ["both", "b9"])):
        (tmp_path / "ab" / side).mkdir(parents=True)
        for name in names:
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "ab" / side / f"{name}.png")
    with pytest.raises(DataError, match=r"7 only in .*A: a0, a1, a2, a3, a4 \(and 2 more\); 1 only in .*B: b9"):
        load_paired_dataset("paired_folder", tmp_path / "ab", image_size=32)
    for side, size in (("A", 8), ("B", 16)):
        (tmp_path / "sizes" / side).mkdir(parents=True)
        Image.fromarray(np.zeros((size, size), np.uint8)).save(tmp_path / "sizes" / side / "p.png")
    with pytest.raises(DataError, match=r"The pair 'p' has images of different sizes: .*8x8.*16x16"):
        load_paired_dataset("paired_folder", tmp_path / "sizes", image_size=32)
    with pytest.raises(DataError, match="direction must be 'AtoB' or 'BtoA'. Received: direction='AB'"):
        load_paired_dataset("paired_folder", tmp_path / "sizes", image_size=32, direction="AB")
    with pytest.raises(DataError, match="Unknown paired data set 'facade'"):
        load_paired_dataset("facade", tmp_path)
    with pytest.raises(DataError, match="paired_folder needs data_dir"):
        load_paired_dataset("paired_folder")
    with pytest.raises(DataError, match="maps has no split 'test'"):
        load_paired_dataset("maps", tmp_path / "odd", image_size=32, split="test")


def test_jitter_is_the_same_on_both_images_and_resumes_in_order():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    data = PairedDataset(images, images.copy(), "same")
    batches = data.batches(2, seed=1, jitter=True)
    plain = data.batches(2, seed=1)
    first = [batches[i] for i in range(len(batches))]
    for x, y in first:
        assert x.shape == (2, 32, 32, 3) and x.dtype == np.float32 and -1 <= x.min() and x.max() <= 1
        np.testing.assert_array_equal(x, y)  # one crop and mirror for both images of a pair
    assert any(not np.array_equal(x, plain[i][0]) for i, (x, _) in enumerate(first))
    again = data.batches(2, seed=1, jitter=True)
    for i, (x, _) in enumerate(first):
        np.testing.assert_array_equal(again[i][0], x)  # a pure function of (seed, epoch, batch)
    later = data.batches(2, seed=1, jitter=True, epoch=1)
    assert any(not np.array_equal(later[i][0], x) for i, (x, _) in enumerate(first))
    x, y = plain[0]
    order = plain.order()[:2]
    np.testing.assert_array_equal(x, images[order] / np.float32(127.5) - 1)
