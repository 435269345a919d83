"""Sampling: one generator, four artifacts (a DCGAN .keras, a bare generator, a run
directory, a SavedModel), the same images from each; writers; sample.py end to end."""

import os
import shutil
import sys
import time
import zipfile

import keras
import numpy as np
import pytest
from PIL import Image

import sample_artifacts
from dcgan_keras import sampling
from dcgan_keras.distribute import precision
from dcgan_keras.gan import latent_noise
from dcgan_keras.images import make_grid, to_uint8
from dcgan_keras.sampling import (
    CheckpointError,
    KerasGenerator,
    OutputPathError,
    SavedModelGenerator,
    check_output,
    float32_generator,
    interpolate,
    interpolation_noise,
    load_generator,
    resolve_checkpoint,
    sample_batches,
    sample_images,
    write_output,
)
from helpers import LATENT, TF_LOG_LINE, assert_same_pixels, sigterm_while_writing
from sample_artifacts import run_sample, sample_in_process

BACKEND = keras.backend.backend()


@pytest.fixture
def artifacts(tmp_path_factory):
    yield from sample_artifacts.checked(tmp_path_factory)


def sources(a):
    return {"dcgan": a.gan_file, "generator": a.generator_file, "run_dir": a.run_dir, "saved_model": a.saved_model}


def read_png(path):
    image = np.asarray(Image.open(path))
    return image[..., None] if image.ndim == 2 else image


# ------------------------------------------------------------------ loading


def test_every_source_gives_the_same_images_for_a_seed(artifacts):
    expected = artifacts.gan.generate(6, seed=3)
    assert expected.std() > 0.2, "the test generator should make varied images"
    for name, path in sources(artifacts).items():
        gen = load_generator(path)
        assert isinstance(gen, SavedModelGenerator if name == "saved_model" else KerasGenerator), name
        assert (gen.latent_dim, gen.image_shape) == (LATENT, (28, 28, 1)), name
        images = sample_images(gen, 6, seed=3)
        assert images.dtype == np.float32 and images.min() >= -1 and images.max() <= 1, name
        np.testing.assert_allclose(images, expected, atol=1e-5, err_msg=name)
    # The run directory's newest checkpoint (epoch_0002) is the one sampled, not epoch_0001.
    older = artifacts.older_gan.generate(6, seed=3)
    assert np.abs(older - expected).max() > 0.1
    assert sample_images(artifacts.gan, 6, seed=4).tolist() != expected.tolist()


def test_run_directory_resolution(tmp_path):
    run = tmp_path / "run"
    (run / "generator").mkdir(parents=True)
    (run / "generator" / "saved_model.pb").write_bytes(b"")
    assert resolve_checkpoint(run) == ("saved_model", str(run / "generator"))
    (run / "generator.keras").write_bytes(b"")
    assert resolve_checkpoint(run) == ("keras", str(run / "generator.keras"))
    (run / "checkpoints").mkdir()
    assert resolve_checkpoint(run) == ("keras", str(run / "generator.keras"))
    for name in ("epoch_9.keras", "epoch_10.keras", "epoch_11.keras.tmp-123"):
        (run / "checkpoints" / name).write_bytes(b"")
    assert resolve_checkpoint(run) == ("keras", str(run / "checkpoints" / "epoch_10.keras"))
    # The checkpoints/ folder itself, as a user may well pass it.
    assert resolve_checkpoint(run / "checkpoints") == ("keras", str(run / "checkpoints" / "epoch_10.keras"))


def test_bad_checkpoints_are_refused_with_the_reason(artifacts, tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        load_generator(tmp_path / "missing.keras")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        load_generator(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="is not a checkpoint"):
        load_generator(tmp_path / "notes.txt")

    data = open(artifacts.gan_file, "rb").read()
    # A run whose newest checkpoint is damaged: the message names the one before it.
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "epoch_0001.keras").write_bytes(data)
    (run / "checkpoints" / "epoch_0002.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"epoch_0002.keras .*The one before it may load: "
                                              r"--checkpoint=.*epoch_0001.keras"):
        load_generator(run)
    (tmp_path / "truncated.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_generator(tmp_path / "truncated.keras")

    artifacts.gan.discriminator.save(tmp_path / "discriminator.keras")
    with pytest.raises(CheckpointError, match="does not hold a DCGAN or a generator"):
        load_generator(tmp_path / "discriminator.keras")

    # A config that no longer fits its weights (another architecture under the same name).
    with zipfile.ZipFile(artifacts.generator_file) as src, zipfile.ZipFile(tmp_path / "other.keras", "w") as dst:
        for item in src.namelist():
            content = src.read(item)
            if item == "config.json":
                content = content.replace(b'"filters": 8', b'"filters": 6')
            dst.writestr(item, content)
    with pytest.raises(CheckpointError, match="Could not load"):
        load_generator(tmp_path / "other.keras")


# ---------------------------------------------------------------- latent paths


def test_interpolation_paths():
    z0, z1 = np.array([3.0, 0.0, 0.0]), np.array([0.0, 3.0, 0.0])
    line = interpolate(z0, z1, 5, method="linear")
    arc = interpolate(z0, z1, 5, method="slerp")
    assert line.shape == arc.shape == (5, 3) and arc.dtype == np.float32
    for path in (line, arc):
        np.testing.assert_array_equal(path[0], z0)
        np.testing.assert_array_equal(path[-1], z1)
    np.testing.assert_allclose(line[2], [1.5, 1.5, 0.0])
    # The arc keeps the norm that both ends share; the line cuts inside it.
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 3.0, rtol=1e-6)
    assert np.linalg.norm(line[2]) < 2.2
    # Parallel ends have no unique arc: the line is used.
    np.testing.assert_allclose(interpolate(z0, 2 * z0, 3)[1], [4.5, 0.0, 0.0])

    path = interpolation_noise(8, 4, seed=5)
    np.testing.assert_allclose(path[0], latent_noise(1, 8, 5)[0])
    np.testing.assert_allclose(path[-1], latent_noise(1, 8, 6)[0])
    for bad, match in (
        (dict(steps=1), "steps"),
        (dict(steps=3, method="cubic"), "method"),
    ):
        with pytest.raises(ValueError, match=match):
            interpolate(z0, z1, **bad)
    with pytest.raises(ValueError, match="same size"):
        interpolate(z0, np.zeros(4), 3)


# ------------------------------------------------------------------ writing


def test_writers_by_output_path(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (5, 28, 28, 1)).astype("float32")
    assert write_output(images, tmp_path / "grid.png", grid_cols=2) == "png"
    np.testing.assert_array_equal(read_png(tmp_path / "grid.png"), make_grid(images, cols=2))

    assert write_output(images, tmp_path / "s.npz") == "npz"
    with np.load(tmp_path / "s.npz") as f:
        assert list(f.keys()) == ["images"] and f["images"].dtype == np.uint8
        np.testing.assert_array_equal(f["images"], to_uint8(images))

    assert write_output(images, tmp_path / "pngs") == "dir"
    assert sorted(os.listdir(tmp_path / "pngs")) == [f"{i:06d}.png" for i in range(5)]
    np.testing.assert_array_equal(read_png(tmp_path / "pngs" / "000004.png"), to_uint8(images[4]))
    (tmp_path / "empty").mkdir()
    write_output(images[:1], tmp_path / "empty")
    assert os.listdir(tmp_path / "empty") == ["000000.png"]
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n]


def test_sampled_batches_are_the_seeds_images_and_each_output_takes_them(artifacts, tmp_path):
    gen = load_generator(artifacts.gan_file)
    expected = sample_images(gen, 7, seed=5)
    batches = list(sample_batches(gen, 7, seed=5, batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    np.testing.assert_allclose(np.concatenate(batches), expected, atol=1e-5)
    np.testing.assert_array_equal(np.concatenate(list(sample_batches(gen, 7, seed=5))), expected)
    for out in ("s.npz", "grid.png", "pngs"):
        write_output(sample_batches(gen, 7, seed=5, batch_size=3), tmp_path / out, grid_cols=3)
    with np.load(tmp_path / "s.npz") as f:
        assert_same_pixels(f["images"], to_uint8(expected))
    assert_same_pixels(read_png(tmp_path / "grid.png"), make_grid(expected, cols=3))
    pngs = tmp_path / "pngs"
    assert sorted(os.listdir(pngs)) == [f"{i:06d}.png" for i in range(7)]
    assert_same_pixels(read_png(pngs / "000006.png"), to_uint8(expected[6]))


def test_a_list_of_images_is_one_batch_and_no_batches_is_refused(tmp_path):
    images = [np.zeros((4, 4, 1), "float32"), np.ones((4, 4, 1), "float32")]
    write_output(images, tmp_path / "list.npz")
    with np.load(tmp_path / "list.npz") as f:
        assert f["images"].shape == (2, 4, 4, 1)
    with pytest.raises(OutputPathError, match="No images"):
        write_output(iter([]), tmp_path / "none.npz")
    assert sorted(os.listdir(tmp_path)) == ["list.npz"]


def test_a_directory_is_written_batch_by_batch_and_a_nan_batch_leaves_nothing(tmp_path):
    written = []

    def batches(last):
        for i in range(3):
            yield np.zeros((2, 4, 4, 1), "float32") if i < 2 else last
            # Back here only once the batch is on disk: one batch in memory at a time.
            written.append(len([p for n in os.listdir(tmp_path) if ".tmp-" in n for p in os.listdir(tmp_path / n)]))

    write_output(batches(np.zeros((2, 4, 4, 1), "float32")), tmp_path / "pngs")
    assert written == [2, 4, 6] and len(os.listdir(tmp_path / "pngs")) == 6
    with pytest.raises(OutputPathError, match="NaN or infinite values"):
        write_output(batches(np.full((2, 4, 4, 1), np.nan, "float32")), tmp_path / "nan")
    assert sorted(os.listdir(tmp_path)) == ["pngs"]


def test_outputs_that_must_not_be_written_are_refused_before_any_work(tmp_path, monkeypatch):
    (tmp_path / "pngs").mkdir()
    (tmp_path / "pngs" / "keep.png").write_bytes(b"mine")
    (tmp_path / "a_file").write_bytes(b"mine")
    refused = {
        tmp_path / "pngs": "exists and is not empty",
        tmp_path / "missing" / "s.png": "does not exist",
        tmp_path / "a_file" / "s.png": "is not a directory",
        tmp_path / "a_file": "exists and is not a directory",
        tmp_path / "dir.png": "a directory of that name exists",
        tmp_path / "samples.jpg": "end it in .png",
    }
    (tmp_path / "dir.png").mkdir()
    for out, match in refused.items():
        with pytest.raises(OutputPathError, match=match):
            check_output(out)
    assert (tmp_path / "pngs" / "keep.png").read_bytes() == b"mine"
    assert (tmp_path / "a_file").read_bytes() == b"mine"
    assert check_output(tmp_path / "a_file.png") == "png"
    # Root may write anywhere, so the file system is made to say no.
    with monkeypatch.context() as patch:
        patch.setattr(os, "access", lambda path, mode: os.path.abspath(path) != str(tmp_path))
        with pytest.raises(OutputPathError, match="the folder .* is not writable"):
            check_output(tmp_path / "s.png")
    with monkeypatch.context() as patch:
        patch.setattr(os, "access", lambda path, mode: os.path.abspath(path) != str(tmp_path / "a_file.npz"))
        (tmp_path / "a_file.npz").write_bytes(b"mine")
        with pytest.raises(OutputPathError, match="the file exists and is not writable"):
            check_output(tmp_path / "a_file.npz", overwrite=True)
    # An existing file is replaced only when asked (it was a user's data set, or a run's grid).
    with pytest.raises(OutputPathError, match=r"a_file.npz exists. Choose another path, or replace it with overwrite=True"):
        check_output(tmp_path / "a_file.npz")
    (tmp_path / "run" / "samples").mkdir(parents=True)
    (tmp_path / "run" / "config.json").write_text("{}")
    with pytest.raises(OutputPathError, match="holds the training run's own grids"):
        check_output(tmp_path / "run" / "samples" / "mine.png", overwrite=True)


def test_an_output_that_fails_while_written_is_named_as_asked(tmp_path, monkeypatch):
    from dcgan_keras import outputs

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / ".tmp-1-s.png"))

    monkeypatch.setattr(outputs, "write_grid", full_disk)
    with pytest.raises(OutputPathError, match=r"Could not write .*s\.png: No space left on device\.$"):
        write_output(np.zeros((4, 8, 8, 1), "float32"), tmp_path / "s.png")


# ---------------------------------------------------------------- sample.py

# Each start of sample.py imports Keras and a backend (5-10 s), so each kind
# of artifact is read once: the bare generator file by the shared export
# (sample_artifacts.py), the others here. The in-process tests above run the
# same library calls on every source and writer.
CLI_CASES = {
    # name: (source, extra flags, output name)
    "grid_from_dcgan_file": ("dcgan", ["--num=6", "--grid_cols=3"], "grid.png"),
    "png_dir_from_run_dir": ("run_dir", ["--num=6"], "pngs"),
    "interpolation_from_saved_model": ("saved_model", ["--interpolate=5", "--interp_method=linear"], "strip.png"),
}


@pytest.mark.full  # starts sample.py: not in the quick tier
@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_sample_py_writes_the_library_images(case, artifacts, tmp_path):
    source, flags, out_name = CLI_CASES[case]
    out = tmp_path / out_name
    # --backend wins over the environment's KERAS_BACKEND.
    other = "jax" if BACKEND != "jax" else "torch"
    proc = run_sample(f"--checkpoint={sources(artifacts)[source]}", "--seed=3", f"--out={out}",
                      f"--backend={BACKEND}", *flags, backend=other)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert f"Keras backend: {BACKEND}" in proc.stdout
    assert not TF_LOG_LINE.findall(proc.stdout + proc.stderr), proc.stderr[-3000:]  # quiet by default

    if case.startswith("interpolation"):
        z = interpolation_noise(artifacts.gan.latent_dim, 5, seed=3, method="linear")
        expected = to_uint8(artifacts.gan.generate(z=z))
        assert_same_pixels(read_png(out), make_grid(expected, cols=5))  # one row
        return
    expected = to_uint8(artifacts.gan.generate(6, seed=3))
    if out_name.endswith(".png"):
        assert_same_pixels(read_png(out), make_grid(expected, cols=3))
    else:
        assert_same_pixels(np.stack([read_png(out / f"{i:06d}.png") for i in range(6)]), expected)


BAD_INPUT = {
    # name: (flags, expected message); the checkpoint is the DCGAN file unless given.
    "missing_checkpoint": (["--checkpoint={tmp}/nothing.keras"], "No checkpoint at"),
    "other_architecture": (["--checkpoint={tmp}/discriminator.keras"], "does not hold a DCGAN or a generator"),
    # Checked before the checkpoint loads (a non-empty directory is checked in-process above).
    "missing_output_folder": (["--out={tmp}/missing/samples.npz"], "does not exist"),
    "num_zero": (["--num=0"], "--num=0"),
    "unknown_backend": (["--backend=theano"], "--backend=theano"),
    "export_and_sample": (["--export={tmp}/exported", "--num=4"], "samples nothing; leave out --num, --out"),
    "format_without_export": (["--export_format=onnx"], "give --export=PATH too"),
    "existing_output": ([], "samples.png exists. Choose another path"),
    # Flags that would change nothing.
    "num_with_interpolate": (["--interpolate=3", "--num=8"], "leave out --num"),
    "method_without_interpolate": (["--interp_method=linear"], "give --interpolate=K too"),
    "grid_cols_for_npz": (["--grid_cols=4", "--out={tmp}/s.npz"], "is not one; leave it out"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_sample_py_bad_input_exits_2_with_one_message(case, artifacts, tmp_path, capfd, monkeypatch):
    # sample.py's main in this process; test_a_missing_checkpoint_is_told_before_a_backend_loads
    # starts it as a process, refused.
    flags, message = BAD_INPUT[case]
    flags = [f.format(tmp=tmp_path) for f in flags]
    (tmp_path / "samples.png").write_bytes(b"mine")
    if case == "other_architecture":
        artifacts.gan.discriminator.save(tmp_path / "discriminator.keras")
    # --overwrite: the existing output is refused on its own, in its own case.
    overwrite = [] if case == "existing_output" else ["--overwrite"]
    args = [f"--checkpoint={artifacts.gan_file}", f"--out={tmp_path}/samples.png"] + overwrite + flags
    proc = sample_in_process(*args, capfd=capfd, monkeypatch=monkeypatch)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-4000:])
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert (tmp_path / "samples.png").read_bytes() == b"mine"  # the existing output
    assert sorted(os.listdir(tmp_path)) == sorted(["samples.png"] + (
        ["discriminator.keras"] if case == "other_architecture" else []))


@pytest.mark.full  # starts sample.py: not in the quick tier
def test_a_missing_checkpoint_is_told_before_a_backend_loads(tmp_path):
    start = time.monotonic()
    proc = run_sample(f"--checkpoint={tmp_path}/nothing.keras", f"--out={tmp_path}/s.png")
    seconds = time.monotonic() - start
    assert proc.returncode == 2 and "error: No checkpoint at" in proc.stderr, proc.stderr
    assert seconds < 3, f"{seconds:.1f} s: sample.py loaded a backend before checking --checkpoint"


def test_a_mixed_precision_checkpoint_samples_what_its_float32_exports_do(tmp_path):
    # generator.keras and the SavedModel compute in float32; so does sampling a
    # mixed-precision checkpoint, or the same seed would give other pixels.
    with precision("mixed_bfloat16"):
        gan = sample_artifacts.vivid_gan(seed=2)
    gan.save(tmp_path / "gan.keras")
    z = latent_noise(3, gan.latent_dim, seed=5)
    half = keras.ops.convert_to_numpy(gan.generator(z, training=False))
    float32 = keras.ops.convert_to_numpy(float32_generator(gan.generator)(z, training=False))
    assert np.max(np.abs(half - float32)) > 1e-3  # bfloat16 does show
    np.testing.assert_allclose(load_generator(tmp_path / "gan.keras")(z), float32, rtol=0, atol=1e-6)
    # The Python API too: sample_images(gan, ...) gave bfloat16 pixels.
    np.testing.assert_allclose(sampling.as_generator(gan)(z), float32, rtol=0, atol=1e-6)


def test_a_run_writing_its_first_checkpoint_has_none_to_sample_yet(artifacts, tmp_path):
    # A training process's temporary, complete or not, is no checkpoint.
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    shutil.copy(artifacts.gan_file, tmp_path / "run" / "checkpoints" / ".tmp-4242-epoch_0001.keras")
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        resolve_checkpoint(tmp_path / "run")
    shutil.copy(artifacts.gan_file, tmp_path / "run" / "checkpoints" / "epoch_0001.keras")
    assert resolve_checkpoint(tmp_path / "run")[1].endswith("epoch_0001.keras")


def test_a_sigmoid_generators_images_are_served_in_minus_one_to_one():
    inputs = keras.Input((LATENT,))
    x = keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(2 * 2)(inputs))
    model = keras.Model(inputs, keras.layers.Activation("sigmoid")(x))  # keras.io's GAN ends so
    z = latent_noise(3, LATENT, seed=0)
    raw = keras.ops.convert_to_numpy(model(z))
    np.testing.assert_allclose(KerasGenerator(model)(z), raw * 2 - 1, atol=1e-6)


def test_nan_images_are_not_written_and_savedmodels_without_tensorflow_say_so(tmp_path, monkeypatch):
    with pytest.raises(OutputPathError, match="NaN or infinite values .*diverged"):
        write_output(np.full((2, 4, 4, 1), np.nan, "float32"), tmp_path / "s.png")
    assert not os.listdir(tmp_path)
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow fails
    with pytest.raises(CheckpointError, match="needs TensorFlow, which is not installed: pip install tensorflow"):
        SavedModelGenerator(str(tmp_path))


@pytest.mark.full  # starts sample.py: not in the quick tier
def test_sigterm_during_sampling_leaves_nothing_half_written(artifacts, tmp_path):
    env = dict(os.environ, PYTHONPATH=sample_artifacts.REPO, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND=BACKEND)
    code, stderr = sigterm_while_writing(
        [sys.executable, os.path.join(sample_artifacts.REPO, "sample.py"), f"--checkpoint={artifacts.gan_file}",
         "--num=1000000", f"--out={tmp_path / 'many'}/"], env, tmp_path, tmp_path)
    assert code == 143, stderr
    assert "Traceback" not in stderr and "error: stopped by SIGTERM; nothing was written." in stderr, stderr
    assert os.listdir(tmp_path) == []
