"""train.py and sample.py for the translators: Pix2Pix and CycleGAN runs from the command line (issues 27, 28).

One tiny run per layout (32x32, 4 filters, two epochs of 3 steps), shared by
the tests that read its run directory, translate with it, serve its
SavedModels with plain TensorFlow, or kill a run of the same flags and resume
it to the same result. sample.py runs as a process once per translator; its
other artifacts and the refusals go through `translation.run`, the function it
calls, in this process.
"""

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from dcgan_keras.callbacks import read_metrics
from dcgan_keras.rundir import RunDir
from helpers import REPO, assert_same_pixels, sigterm_while_writing
from sample_artifacts import sample_in_process
from test_train_cli import WITHOUT_EXPORT, assert_ok, assert_refused, signal_in_epoch_2, train_in_process

BACKEND = keras.backend.backend()
TRAIN = os.path.join(REPO, "train.py")
SAMPLE = os.path.join(REPO, "sample.py")
EPOCHS = 2  # two: a run killed in the second resumes from the first's checkpoint
TINY = ["--image_size=32", "--filters=4", "--batch_size=2", f"--epochs={EPOCHS}", "--steps_per_epoch=3",
        "--num_samples=2"]
COLUMNS = {
    "side_by_side": ["d_loss", "g_gan_loss", "g_l1_loss", "d_real", "d_fake", "val_l1"],
    "cyclegan": ["d_a_loss", "d_b_loss", "g_ab_loss", "g_ba_loss", "cycle_loss", "identity_loss"],
}


def cli_env():
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3")
    env.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(REPO, ".pytest_cache", "jax-compile"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
    return env


def run_cli(script, *args, cwd, timeout=400):
    return subprocess.run([sys.executable, script, f"--backend={BACKEND}", *args], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def save_image(path, pixels):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(pixels).save(path)


# ------------------------------------------------------------------ the data


def make_side_by_side(root, counts=(("train", 6), ("val", 2)), size=40):
    rng = np.random.default_rng(1)
    for split, n in counts:
        for i in range(n):
            save_image(os.path.join(root, split, f"{i:03d}.png"), rng.integers(0, 255, (size, 2 * size, 3), np.uint8))
    return root


def make_ab(root, n=6, size=40):
    """A/ grayscale, B/ RGB, paired by name (no splits: the folder is the training set)."""
    rng = np.random.default_rng(2)
    for i in range(n):
        save_image(os.path.join(root, "A", f"p{i}.png"), rng.integers(0, 255, (size, size), np.uint8))
        save_image(os.path.join(root, "B", f"p{i}.jpg"), rng.integers(0, 255, (size, size, 3), np.uint8))
    return root


def make_unpaired(root, counts=(("trainA", 6), ("trainB", 4), ("testA", 2), ("testB", 2))):
    rng = np.random.default_rng(3)
    for sub, n in counts:
        for i in range(n):
            save_image(os.path.join(root, sub, f"{i}.png"), rng.integers(0, 255, (36, 40, 3), np.uint8))
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{name: (RunDir, cwd)}, trained on first use and shared by the module's tests."""
    cwd = tmp_path_factory.mktemp("translate")
    made = {}

    def get(name):
        if name not in made:
            flags = get.flags[name] = layout_flags(name, cwd)
            # The A/B run's test reads no SavedModel: on JAX and torch it would cost a TensorFlow subprocess.
            script = WITHOUT_EXPORT if name == "ab" else TRAIN
            proc = run_cli(script, *flags, f"--workdir={name}", cwd=cwd)
            assert_ok(proc)
            made[name] = (RunDir(str(cwd / name)), cwd)
        return made[name]

    get.flags = {}  # {name: the run's flags but --workdir}, for a run of the same to be killed
    return get


def layout_flags(name, cwd):
    """The flags of the run `name`, its data made under `cwd`."""
    if name == "side_by_side":
        data, args = make_side_by_side(str(cwd / "data_sbs")), ["--dataset=paired_folder"]
    elif name == "ab":
        data, args = make_ab(str(cwd / "data_ab")), ["--dataset=paired_folder", "--in_channels=1", "--jitter"]
    else:
        # One residual block, not six: TensorFlow traced the six-block step for 70 s.
        data, args = make_unpaired(str(cwd / "data_unpaired")), [
            "--dataset=unpaired_folder", "--pool_size=2", "--lr_decay", "--residual_blocks=1"]
    return [*args, f"--data_dir={data}", *TINY]


def assert_run_directory(run, generators, columns, exported=True):
    """Every artifact of a two-epoch run, each readable."""
    record = json.load(open(run.config_json))
    assert record["backend"] == BACKEND and record["data"]["sha256"] and len(record["data"]["arrays"]) == 2
    assert [e for e, _ in run.checkpoints()] == [1, 2]
    assert [e for e, _ in run.samples()] == [1, 2]
    assert Image.open(run.gif).n_frames == 2
    assert os.path.isfile(run.fixed_noise) and os.path.isfile(run.metrics_png)
    assert os.listdir(run.tensorboard_dir)
    metrics = read_metrics(run.metrics_csv)
    for column in columns:
        assert np.isfinite(metrics[column]).all(), column
    for name in generators:
        keras_file, saved_model = run.generator_paths(name)
        assert os.path.isfile(keras_file), keras_file
        assert os.path.isdir(saved_model), saved_model
        if exported:
            assert os.path.isfile(os.path.join(saved_model, "saved_model.pb")), saved_model
    assert run.temporaries() == []
    return record


def test_a_pix2pix_run_on_side_by_side_pairs_writes_the_whole_run_directory(runs):
    run, _ = runs("side_by_side")
    record = assert_run_directory(run, ["generator"], COLUMNS["side_by_side"])
    assert record["config"]["model"] == "pix2pix" and record["data"]["arrays"]["inputs"] == [6, 32, 32, 3]
    # The grid: two validation pairs, input | target | output a row.
    assert Image.open(run.sample_path(1)).size == (3 * 34 + 2, 2 * 34 + 2)
    gan = keras.saving.load_model(run.checkpoint_path(EPOCHS))
    generator = keras.saving.load_model(run.generator_keras)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(generator(images)), gan.translate(images), atol=1e-5)


def test_a_pix2pix_run_on_a_and_b_folders_writes_the_whole_run_directory(runs):
    run, _ = runs("ab")
    record = assert_run_directory(run, ["generator"], ["d_loss", "g_l1_loss"], exported=False)
    assert record["data"]["arrays"] == {"inputs": [6, 32, 32, 1], "targets": [6, 32, 32, 3]}
    assert "val_l1" not in read_metrics(run.metrics_csv)  # no val/ split: no held-out pairs to score
    assert keras.saving.load_model(run.generator_keras).input_shape == (None, 32, 32, 1)


def test_a_cyclegan_run_writes_the_whole_run_directory_with_both_generators(runs):
    run, _ = runs("cyclegan")
    record = assert_run_directory(run, ["generator_ab", "generator_ba"], COLUMNS["cyclegan"])
    assert record["config"]["model"] == "cyclegan" and record["data"]["arrays"]["train_b"] == [4, 32, 32, 3]
    assert record["config"]["residual_blocks"] == 1
    assert not os.path.exists(run.generator_keras)  # two generators, each under its own name
    # The grid: two test images of each domain, a, G(a), F(G(a)), b, F(b), G(F(b)) a row.
    assert Image.open(run.sample_path(1)).size == (6 * 34 + 2, 2 * 34 + 2)
    gan = keras.saving.load_model(run.checkpoint_path(EPOCHS))
    assert gan.pool_a.pool_size == 2 and int(keras.ops.convert_to_numpy(gan.pool_a.count)) > 0  # the pool was saved
    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    for name, direction in (("generator_ab", "AtoB"), ("generator_ba", "BtoA")):
        exported = keras.saving.load_model(run.generator_paths(name)[0])
        np.testing.assert_allclose(keras.ops.convert_to_numpy(exported(images)), gan.translate(images, direction),
                                   atol=1e-5)


@pytest.mark.parametrize("name", ["side_by_side", "cyclegan"], ids=["pix2pix", "cyclegan"])
def test_a_killed_translator_run_resumes_to_the_uninterrupted_result(runs, name, tmp_path):
    reference, cwd = runs(name)
    run = RunDir(tmp_path / "killed")
    killed = signal_in_epoch_2(run, cwd, signal.SIGKILL, args=runs.flags[name])
    assert killed.returncode == -signal.SIGKILL and [e for e, _ in run.checkpoints()] == [1]
    resumed = subprocess.run([sys.executable, WITHOUT_EXPORT, "--resume", f"--workdir={run.path}"], cwd=cwd,
                             env=cli_env(), capture_output=True, text=True, timeout=400)
    assert_ok(resumed)
    assert [r["after_epoch"] for r in json.load(open(run.config_json))["resumes"]] == [1]
    expected, got = read_metrics(reference.metrics_csv), read_metrics(run.metrics_csv)
    np.testing.assert_array_equal(got["epoch"], [1, 2])
    for column in COLUMNS[name]:
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-5, atol=1e-7, err_msg=column)
    want, have = (keras.saving.load_model(r.checkpoint_path(EPOCHS)) for r in (reference, run))
    images = np.random.default_rng(6).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    if name == "side_by_side":
        np.testing.assert_allclose(have.translate(images), want.translate(images), atol=1e-5)
    else:
        for direction in ("AtoB", "BtoA"):
            np.testing.assert_allclose(have.translate(images, direction=direction),
                                       want.translate(images, direction=direction), atol=1e-5, err_msg=direction)
    if name == "cyclegan":  # the pools went through the kill: the same fakes in the same slots
        for pool in ("pool_a", "pool_b"):
            for variable in ("images", "count"):
                np.testing.assert_allclose(*(keras.ops.convert_to_numpy(getattr(getattr(gan, pool), variable))
                                             for gan in (have, want)), atol=1e-6, err_msg=f"{pool}.{variable}")


# What a serving job runs: TensorFlow alone, dcgan_keras not on the path (PYTHONPATH unset,
# run from a folder of the test's own).
PLAIN_TF = """
import json, sys
import numpy as np
import tensorflow as tf

images = np.load(sys.argv[1])
out = {}
for path in sys.argv[2:]:
    serve = tf.saved_model.load(path).signatures["serving_default"]
    out[path] = serve(image=tf.constant(images))["images"].numpy()
np.savez(sys.argv[1] + ".out.npz", *out.values())
"""


def test_plain_tensorflow_serves_each_translators_saved_model(runs, tmp_path):
    pix2pix, _ = runs("side_by_side")
    cyclegan, _ = runs("cyclegan")
    exports = [pix2pix.generator_paths("generator"), cyclegan.generator_paths("generator_ab"),
               cyclegan.generator_paths("generator_ba")]
    images = np.random.default_rng(7).uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND")}
    subprocess.run([sys.executable, "-c", PLAIN_TF, str(tmp_path / "images.npy"), *(s for _, s in exports)],
                   env=dict(env, TF_CPP_MIN_LOG_LEVEL="3"), cwd=tmp_path, check=True, timeout=300)
    served = np.load(tmp_path / "images.npy.out.npz")
    for i, (keras_file, saved_model) in enumerate(exports):
        generator = keras.saving.load_model(keras_file)
        np.testing.assert_allclose(served[f"arr_{i}"], keras.ops.convert_to_numpy(generator(images)), atol=1e-5,
                                   err_msg=saved_model)


# ---------------------------------------------------------------- refusals


def test_data_that_cannot_train_is_refused_before_anything_is_written(tmp_path, capfd):
    def refused(args, *phrases):
        workdir = tmp_path / "run"
        proc = train_in_process(*args, *TINY, f"--workdir={workdir}", capfd=capfd)
        assert_refused(proc, *phrases)
        assert not workdir.exists()

    odd = tmp_path / "odd"
    save_image(str(odd / "train" / "0.png"), np.zeros((40, 70, 3), np.uint8))
    refused(["--dataset=paired_folder", f"--data_dir={odd}"], "two square halves", "0.png is 70x40")
    ab = make_ab(str(tmp_path / "ab"), n=2)
    os.rename(os.path.join(ab, "B", "p1.jpg"), os.path.join(ab, "B", "q1.jpg"))
    refused(["--dataset=paired_folder", f"--data_dir={ab}"], "must pair by name", "p1", "q1")
    empty = make_unpaired(str(tmp_path / "empty"), counts=(("trainB", 2),))
    os.makedirs(os.path.join(empty, "trainA"))
    refused(["--dataset=unpaired_folder", f"--data_dir={empty}"], "No image files", "trainA")
    refused(["--dataset=paired_folder"], "paired_folder needs data_dir")
    refused(["--dataset=unpaired_folder", f"--data_dir={empty}", "--l1_weight=10"],
            "l1_weight is read by model 'pix2pix' only")


# ----------------------------------------------------------------- sample.py


def read_png(path):
    image = np.asarray(Image.open(path))
    return image[..., None] if image.ndim == 2 else image


def test_sample_py_translates_with_a_pix2pix_from_each_artifact(runs, tmp_path):
    from dcgan_keras.images import make_grid, to_uint8
    from dcgan_keras.translation import load_inputs

    run, cwd = runs("side_by_side")
    rng = np.random.default_rng(4)
    for name in ("a", "b", "c"):
        save_image(str(tmp_path / "inputs" / f"{name}.png"), rng.integers(0, 255, (40, 40, 3), np.uint8))
    names, images = load_inputs(tmp_path / "inputs", (32, 32, 3))  # resized to the model's 32x32
    expected = to_uint8(keras.saving.load_model(run.checkpoint_path(EPOCHS)).translate(images))
    np.savez(tmp_path / "inputs.npz", images=to_uint8(images))

    # sample.py itself once (a run directory in, a folder of PNGs out); the other artifacts
    # through the function it calls, which spares a process start each.
    assert_ok(run_cli(SAMPLE, f"--checkpoint={run.path}", f"--input={tmp_path / 'inputs'}",
                      f"--out={tmp_path / 'from_run'}", cwd=cwd))
    for checkpoint, given, out in ((run.generator_keras, "inputs.npz", "from_keras.npz"),
                                   (run.generator_saved_model, "inputs/b.png", "from_saved_model.png")):
        translate(checkpoint=checkpoint, input=str(tmp_path / given), out=str(tmp_path / out))
    assert_same_pixels(np.stack([read_png(tmp_path / "from_run" / f"{n}.png") for n in names]), expected)
    with np.load(tmp_path / "from_keras.npz") as written:
        assert_same_pixels(written["images"], expected)  # the npz's uint8 pixels read back: the same floats
    pair = make_grid(np.stack([to_uint8(images[1:2]), expected[1:2]], axis=1).reshape(2, 32, 32, 3), cols=2)
    assert_same_pixels(read_png(tmp_path / "from_saved_model.png"), pair)  # input | output


def test_sample_py_translates_both_ways_with_a_cyclegan(runs, tmp_path, capfd, monkeypatch):
    from dcgan_keras.images import to_uint8

    run, cwd = runs("cyclegan")
    images = np.random.default_rng(5).integers(0, 255, (3, 32, 32, 3), np.uint8)
    np.savez(tmp_path / "inputs.npz", images=images)
    gan = keras.saving.load_model(run.checkpoint_path(EPOCHS))
    floats = images.astype("float32") / 127.5 - 1
    inputs = str(tmp_path / "inputs.npz")
    assert_ok(run_cli(SAMPLE, f"--checkpoint={run.path}", f"--input={inputs}", f"--out={tmp_path / 'BtoA.npz'}",
                      "--direction=BtoA", cwd=cwd))
    # Each generator's own files translate the one way they go: no --direction.
    translate(checkpoint=run.generator_paths("generator_ab")[1], input=inputs, out=str(tmp_path / "AtoB.npz"))
    translate(checkpoint=run.generator_paths("generator_ba")[0], input=inputs, out=str(tmp_path / "BtoA_keras.npz"))
    for out, direction in (("BtoA", "BtoA"), ("AtoB", "AtoB"), ("BtoA_keras", "BtoA")):
        with np.load(tmp_path / f"{out}.npz") as written:
            assert_same_pixels(written["images"], to_uint8(gan.translate(floats, direction)))
    # sample.py's own routing: a translator's run without --input or --direction is still a translator's.
    refused = sample_in_process(f"--checkpoint={run.path}", "--num=4", capfd=capfd, monkeypatch=monkeypatch)
    assert_refused(refused, "is a cyclegan run, which translates images", "--num is for models that sample from noise")


@pytest.mark.one_backend  # sample.py's signal handling around translation.run, whatever the backend
def test_sigterm_while_translating_leaves_nothing_half_written(runs, tmp_path):
    run, _ = runs("side_by_side")
    np.savez(tmp_path / "many.npz", images=np.random.default_rng(9).integers(0, 255, (4000, 32, 32, 3), np.uint8))
    code, stderr = sigterm_while_writing(
        [sys.executable, SAMPLE, f"--backend={BACKEND}", f"--checkpoint={run.generator_keras}",
         f"--input={tmp_path / 'many.npz'}", f"--out={tmp_path / 'out'}"], cli_env(), tmp_path, tmp_path)
    assert code == 143, stderr
    assert "Traceback" not in stderr and "error: stopped by SIGTERM; nothing was written." in stderr, stderr
    assert sorted(os.listdir(tmp_path)) == ["many.npz"]


class Flags:
    """What translation.run reads of sample.py's flags: values, and which were given."""

    def __init__(self, **given):
        defaults = {"checkpoint": None, "input": None, "direction": None, "out": "out.png", "overwrite": False,
                    "export": None, "export_format": None, "num": 64, "seed": 0, "interpolate": None,
                    "interp_method": "slerp", "grid_cols": None}
        self.__dict__.update(defaults, **given)
        self._given = set(given)

    def __getitem__(self, name):
        import types

        return types.SimpleNamespace(present=name in self._given)


class Refused(Exception):
    pass


def refusal(**given):
    from dcgan_keras import translation

    def fail(message):
        raise Refused(message)

    with pytest.raises(Refused) as err:
        translation.run(Flags(**given), fail)
    return str(err.value)


def translate(**given):
    """sample.py's translation with these flags, in this process; fails the test on a refusal."""
    from dcgan_keras import translation

    translation.run(Flags(**given), pytest.fail)


def test_sample_py_refuses_what_a_translator_cannot_do(runs, tmp_path):
    from dcgan_keras.config import resolve_config
    from dcgan_keras.run_model import build_model

    run, _ = runs("side_by_side")
    gray = tmp_path / "gray.png"
    save_image(str(gray), np.zeros((32, 32), np.uint8))
    out = str(tmp_path / "out.png")
    assert "translates one way" in refusal(checkpoint=run.path, input=str(gray), direction="BtoA", out=out)
    assert "is grayscale (1 channel), and the translator takes colour (3 channels)" in refusal(
        checkpoint=run.path, input=str(gray), out=out)
    assert "--num is for models that sample from noise" in refusal(checkpoint=run.path, input=str(gray), num=4)
    assert "give --input=PATH" in refusal(checkpoint=run.path)
    assert "give --input=PATH" in refusal(checkpoint=run.checkpoints_dir)  # a run's checkpoints/ is the run's
    dcgan = str(tmp_path / "dcgan.keras")
    build_model(resolve_config("synthetic")).save(dcgan)
    assert "holds a DCGAN that generates images from noise: leave out --input" in refusal(
        checkpoint=dcgan, input=str(gray), out=out)
    patches = str(tmp_path / "discriminator.keras")
    keras.saving.load_model(run.checkpoint_path(EPOCHS)).discriminator.save(patches)
    assert "is no translator" in refusal(checkpoint=patches, input=str(gray), out=out)
    assert "give --export=PATH too" in refusal(checkpoint=run.path, export_format="onnx")
    assert "leave out --out" in refusal(checkpoint=run.path, export=str(tmp_path / "g.onnx"), out=out)
    damaged = tmp_path / "damaged.keras"
    damaged.write_bytes(b"not a zip")
    assert "does not load as a Keras model" in refusal(checkpoint=str(damaged), export=str(tmp_path / "g"))
    assert not os.path.exists(out) and not os.path.exists(tmp_path / "g.onnx") and not os.path.exists(tmp_path / "g")


def test_each_translator_exports_an_onnx_file_that_onnx_runtime_serves(runs, tmp_path):
    from dcgan_keras import export

    pix2pix, _ = runs("side_by_side")
    cyclegan, _ = runs("cyclegan")
    if not export.onnx_converter_installed():  # JAX's: requirements.txt leaves out jax2onnx
        package = export.ONNX_CONVERTERS[BACKEND][1]
        assert f"pip install {package}" in refusal(checkpoint=pix2pix.path, export=str(tmp_path / "p.onnx"))
        assert not os.listdir(tmp_path)
        return
    import onnxruntime

    images = np.random.default_rng(8).uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    # As sample.py's flags: a path ending in .onnx, or --export_format=onnx.
    cases = [(pix2pix.path, None, "pix2pix.onnx", None, pix2pix.generator_keras),
             (cyclegan.path, "BtoA", "cyclegan_ba", "onnx", cyclegan.generator_paths("generator_ba")[0])]
    for checkpoint, direction, out, fmt, keras_file in cases:
        given = {"checkpoint": checkpoint, "export": str(tmp_path / out), **({"direction": direction} if direction else {}),
                 **({"export_format": fmt} if fmt else {})}
        translate(**given)
        session = onnxruntime.InferenceSession(str(tmp_path / out), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["image"] and [o.name for o in session.get_outputs()] == ["images"]
        served = session.run(["images"], {"image": images})[0]
        expected = keras.ops.convert_to_numpy(keras.saving.load_model(keras_file)(images))
        np.testing.assert_allclose(served, expected, atol=1e-5, err_msg=out)
    assert sorted(os.listdir(tmp_path)) == ["cyclegan_ba", "pix2pix.onnx"]  # no temporaries left


def test_a_translator_export_that_fails_is_one_message_leaving_nothing(runs, tmp_path, monkeypatch):
    from dcgan_keras import export

    run, _ = runs("side_by_side")
    # An ONNX file that does not reproduce the generator (where ONNX can be written here), else
    # a SavedModel that does not: each export runs the file it wrote before it takes its name.
    if export.onnx_converter_installed():
        monkeypatch.setattr(export, "_run_onnx", lambda path, inputs: np.zeros((4, 32, 32, 3), "float32"))
        out = tmp_path / "p.onnx"
    else:
        def differs(model, probe, served, what):
            raise export.ExportError(f"The exported {what} does not reproduce the generator")

        monkeypatch.setattr(export, "_check_reproduces", differs)
        out = tmp_path / "p"
    assert "does not reproduce the generator" in refusal(checkpoint=run.path, export=str(out))
    assert os.listdir(tmp_path) == []


def test_each_list_of_directions_is_the_same():
    from absl import flags

    from dcgan_keras import config, sample_command, translation
    from dcgan_keras.data import paired
    from dcgan_keras.gans import cyclegan

    fv = flags.FlagValues()
    sample_command.define_flags(fv)
    assert fv["direction"].parser.enum_values == list(translation.DIRECTIONS)
    assert translation.DIRECTIONS == config.DIRECTIONS == paired.DIRECTIONS == cyclegan.DIRECTIONS
