"""Generator export: a SavedModel that plain TensorFlow serves, from a model on this run's backend.

The suite runs once per backend, so the three runs together show that a
generator made on TensorFlow, JAX and torch all export to the same images.
"""

import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import pytest

import sample_artifacts
from dcgan_keras import build_generator, export
from dcgan_keras.distribute import precision
from dcgan_keras.gan import latent_noise
from dcgan_keras.sampling import float32_generator
from helpers import site_packages_without

BACKEND = keras.backend.backend()

# What a serving job without this package runs: `python -S` on a copy of
# site-packages (symlinks) with keras left out, and dcgan_keras off the path.
# (With keras installed, `import tensorflow` imports it by itself.)
TF_ONLY_LOADER = r"""
import json, sys
sys.path.append(sys.argv[1])
import numpy as np
import tensorflow as tf

saved_model, z_path, out_path = sys.argv[2:5]
serve = tf.saved_model.load(saved_model).signatures["serving_default"]
outputs = serve(z=tf.constant(np.load(z_path)))
np.save(out_path, outputs["images"].numpy())
inputs = serve.structured_input_signature[1]
print(json.dumps({
    "inputs": {k: [v.dtype.name, v.shape.as_list()] for k, v in inputs.items()},
    "outputs": sorted(outputs),
    "imported": sorted({m.split(".")[0] for m in sys.modules} & {"keras", "tf_keras", "dcgan_keras"}),
}))
"""


def training_mode_images(generator, z):
    """What a generator exported in training mode (BatchNorm's batch statistics) would make.

    stateless_call: a training-mode call would update the shared generator's
    moving statistics, and it would no longer match the files written from it.
    """
    images, _ = generator.stateless_call(
        [v.value for v in generator.trainable_variables], [v.value for v in generator.non_trainable_variables],
        z, training=True,
    )
    return keras.ops.convert_to_numpy(images)


@pytest.fixture
def artifacts(tmp_path_factory):
    yield from sample_artifacts.checked(tmp_path_factory)


def test_saved_model_serves_the_keras_images_without_keras(artifacts, tmp_path):
    gan = artifacts.gan
    z = latent_noise(5, gan.latent_dim, seed=7)
    np.save(tmp_path / "z.npy", z)
    (tmp_path / "loader.py").write_text(TF_ONLY_LOADER)
    no_keras = site_packages_without(tmp_path / "site", "keras", "tf_keras", "dcgan_keras")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND")}
    proc = subprocess.run(
        [sys.executable, "-S", str(tmp_path / "loader.py"), str(no_keras), artifacts.saved_model,
         str(tmp_path / "z.npy"), str(tmp_path / "images.npy")],
        env=dict(env, TF_CPP_MIN_LOG_LEVEL="3"), cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info == {"inputs": {"z": ["float32", [None, gan.latent_dim]]}, "outputs": ["images"], "imported": []}

    served = np.load(tmp_path / "images.npy")
    expected = keras.ops.convert_to_numpy(gan.generator(z, training=False))
    assert served.shape == expected.shape == (5, 28, 28, 1)
    assert np.max(np.abs(served - expected)) < 1e-5
    # Inference mode (BatchNorm's moving statistics) is what was exported.
    assert np.max(np.abs(served - training_mode_images(gan.generator, z))) > 1e-2


def test_export_over_a_stale_directory_with_overwrite_replaces_it_cleanly(artifacts):
    # The shared SavedModel was exported with --overwrite over an earlier export holding stale.txt.
    assert f"Keras backend: {BACKEND}" in artifacts.export_proc.stdout
    files = os.listdir(artifacts.saved_model)
    assert "saved_model.pb" in files and "stale.txt" not in files
    parent = os.path.dirname(artifacts.saved_model)
    assert not [n for n in os.listdir(parent) if ".tmp-" in n or ".old-" in n]


def test_export_refuses_paths_it_must_not_write(artifacts, tmp_path):
    generator = artifacts.gan.generator
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        export.export_saved_model(generator, occupied)
    # overwrite replaces an earlier export, never a directory of other files
    # (sample.py --export=RUN_DIR --overwrite once deleted the run).
    with pytest.raises(FileExistsError, match="no saved_model.pb: it is not an earlier export"):
        export.export_saved_model(generator, occupied, overwrite=True)
    assert os.listdir(occupied) == ["keep.txt"] and (occupied / "keep.txt").read_text() == "mine"

    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    with pytest.raises(FileExistsError, match="not a directory"):
        export.export_saved_model(generator, a_file)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export.export_saved_model(generator, tmp_path / "missing" / "export")
    with pytest.raises(FileNotFoundError, match="a_file is a file, not a folder"):
        export.export_saved_model(generator, a_file / "export")
    with pytest.raises(ValueError, match="maps \\(None, 28, 28, 1\\) to \\(None, 1\\)"):
        export.export_saved_model(artifacts.gan.discriminator, tmp_path / "d")
    assert sorted(os.listdir(tmp_path)) == ["a_file", "occupied"]


@pytest.mark.skipif(BACKEND == "tensorflow", reason="TensorFlow exports in-process, without a subprocess")
def test_failed_tensorflow_subprocess_is_reported_by_its_error_line(artifacts, tmp_path, monkeypatch):
    # A stand-in interpreter that fails at once: the real failure modes (a
    # layer TensorFlow cannot rebuild) cost a TensorFlow start to show.
    fake = tmp_path / "fake_python"
    fake.write_text("#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
                    "echo 'ValueError: Unknown layer: MyLayer' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(sys, "executable", str(fake))
    with pytest.raises(export.ExportError, match="exit code 3\\): ValueError: Unknown layer: MyLayer") as error:
        export.export_saved_model(artifacts.gan, tmp_path / "out")
    assert "Traceback" not in str(error.value) and "\n" not in str(error.value)  # one line for the CLI
    assert sorted(os.listdir(tmp_path)) == ["fake_python"]


def test_an_export_removes_what_killed_exports_left_and_nothing_else(artifacts, tmp_path, monkeypatch):
    # SIGKILL runs no cleanup: an exporter killed outright leaves its PID-named temporaries.
    gone = subprocess.Popen(["true"])
    gone.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        temp = tmp_path / "temp"
        monkeypatch.setattr(tempfile, "tempdir", str(temp))
        out = tmp_path / "generator"
        leftovers = {  # name: kept
            f"generator.export.tmp-{gone.pid}": False,
            f"temp/dcgan_export_{gone.pid}-x1y2": False,
            f"generator.export.tmp-{running.pid}": True,  # a live export's
            f"temp/dcgan_export_{running.pid}-x1y2": True,
            f"generator.tmp-{gone.pid}": True,  # a name like it, not an export's
            "generator.export.tmp-notes": True,
            f"generator.onnx.export.tmp-{gone.pid}": True,  # another target's
        }
        an_hour_ago = time.time() - 3700
        for name in leftovers:
            os.makedirs(tmp_path / name)
            (tmp_path / name / "saved_model.pb").write_bytes(b"partial")
            os.utime(tmp_path / name, (an_hour_ago, an_hour_ago))
        # Too recent to tell from a live export in another PID namespace (a container sharing the volume).
        recent = f"temp/dcgan_export_{gone.pid}-z9"
        leftovers[recent] = True
        os.makedirs(tmp_path / recent)
        export.export_saved_model(artifacts.gan, out)
        assert {name: (tmp_path / name).exists() for name in leftovers} == leftovers
        ours = sorted(name for name in os.listdir(temp) if name.startswith("dcgan_export_"))
        assert ours == sorted([f"dcgan_export_{running.pid}-x1y2", f"dcgan_export_{gone.pid}-z9"])  # this export's own went
    finally:
        running.kill()
        running.wait()


def test_saved_model_export_without_tensorflow_names_the_package(artifacts, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "tensorflow_installed", lambda: False)
    with pytest.raises(export.TensorFlowNotInstalledError, match="pip install tensorflow"):
        export.export_saved_model(artifacts.gan, tmp_path / "generator")
    assert os.listdir(tmp_path) == []


needs_onnx_converter = pytest.mark.skipif(
    not export.onnx_converter_installed(),
    reason=f"{export.ONNX_CONVERTERS[BACKEND][1]} is not installed (requirements.txt leaves out jax2onnx)",
)


@needs_onnx_converter
def test_onnx_file_serves_the_keras_images_under_the_saved_models_names(artifacts, tmp_path):
    import onnxruntime

    gan = artifacts.gan
    path = export.export_onnx(artifacts.gan, tmp_path / "generator.onnx")
    assert os.listdir(tmp_path) == ["generator.onnx"]
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    # Each converter names the output its own way; the export renames it.
    assert [(i.name, i.type, i.shape[1]) for i in session.get_inputs()] == [("z", "tensor(float)", gan.latent_dim)]
    assert [o.name for o in session.get_outputs()] == ["images"]
    # Declared as the SavedModel's signature is, whichever converter wrote it.
    declared = [(i.name, i.shape) for i in session.get_inputs() + session.get_outputs()]
    assert declared == [("z", ["batch", gan.latent_dim]), ("images", ["batch", 28, 28, 1])]
    z = latent_noise(5, gan.latent_dim, seed=7)  # not the export check's batch of 4: the batch is dynamic
    (served,) = session.run(["images"], {"z": z})
    expected = keras.ops.convert_to_numpy(gan.generator(z, training=False))
    assert served.shape == expected.shape == (5, 28, 28, 1)
    assert np.max(np.abs(served - expected)) < 1e-5
    assert np.max(np.abs(served - training_mode_images(gan.generator, z))) > 1e-2


def test_a_sigmoid_generator_is_exported_serving_minus_one_to_one(artifacts, tmp_path):
    # Exports promise [-1, 1] and sample.py reads them so; a keras.io-style generator ends in sigmoid.
    inputs = keras.Input((4,))
    x = keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4)(inputs))
    sigmoid = keras.Model(inputs, keras.layers.Activation("sigmoid")(x))
    z = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    served = export._served_model(sigmoid)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(served(z)), keras.ops.convert_to_numpy(sigmoid(z)) * 2 - 1, atol=1e-6
    )
    assert export._served_model(artifacts.gan.generator).output_shape == artifacts.gan.generator.output_shape
    if export.onnx_converter_installed():
        import onnxruntime

        path = export.export_onnx(sigmoid, tmp_path / "sigmoid.onnx")
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        (images,) = session.run(["images"], {"z": z})
        assert images.min() < 0  # [-1, 1], not [0, 1]


@needs_onnx_converter
def test_a_file_that_appears_during_an_onnx_export_is_not_replaced(artifacts, tmp_path, monkeypatch):
    # The path was checked before the (slow) conversion; a user's file written meanwhile survived only by luck.
    path = tmp_path / "generator.onnx"
    check = export._check_reproduces

    def user_writes_meanwhile(*args):
        path.write_bytes(b"mine")
        return check(*args)

    monkeypatch.setattr(export, "_check_reproduces", user_writes_meanwhile)
    with pytest.raises(FileExistsError, match="exists"):
        export.export_onnx(artifacts.gan, path)
    assert path.read_bytes() == b"mine" and os.listdir(tmp_path) == ["generator.onnx"]


@needs_onnx_converter
def test_onnx_export_refuses_paths_it_must_not_write(artifacts, tmp_path, monkeypatch):
    generator = artifacts.gan.generator
    checkpoint = tmp_path / "gan.keras"
    checkpoint.write_bytes(open(artifacts.gan_file, "rb").read())
    (tmp_path / "folder").mkdir()
    with pytest.raises(FileExistsError, match="exists. Choose another path"):
        export.export_onnx(generator, checkpoint)
    # overwrite replaces an earlier export, never, say, the checkpoint being exported.
    with pytest.raises(FileExistsError, match="is not an ONNX model"):
        export.export_onnx(generator, checkpoint, overwrite=True)
    with pytest.raises(FileExistsError, match="names a folder"):
        export.export_onnx(generator, f"{tmp_path}/generator.onnx/")
    with pytest.raises(FileExistsError, match="it is a directory"):
        export.export_onnx(generator, tmp_path / "folder", overwrite=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export.export_onnx(generator, tmp_path / "missing" / "generator.onnx")
    with monkeypatch.context() as patch:  # root may write anywhere, so the folder is made to say no
        patch.setattr(export.os, "access", lambda path, mode: False)
        with pytest.raises(PermissionError, match="is not writable"):
            export.export_onnx(generator, tmp_path / "generator.onnx")
    assert sorted(os.listdir(tmp_path)) == ["folder", "gan.keras"]
    assert checkpoint.read_bytes() == open(artifacts.gan_file, "rb").read()

    export.export_onnx(generator, tmp_path / "generator.onnx")
    export.export_onnx(artifacts.older_gan, tmp_path / "generator.onnx", overwrite=True)  # an earlier export
    assert sorted(os.listdir(tmp_path)) == ["folder", "gan.keras", "generator.onnx"]


# Per format: the function that runs the written export, the export itself, what it writes.
REPRODUCTION_CHECKS = {
    "saved_model": ("_run_saved_model", export.export_saved_model, "out"),
    "onnx": ("_run_onnx", export.export_onnx, "generator.onnx"),
}


@pytest.mark.parametrize("fmt", sorted(REPRODUCTION_CHECKS))
def test_export_that_does_not_reproduce_the_generator_is_refused(fmt, artifacts, tmp_path, monkeypatch):
    if fmt == "saved_model" and BACKEND != "tensorflow":
        pytest.skip("checked once, in-process; the check is backend-free")
    if fmt == "onnx" and not export.onnx_converter_installed():
        pytest.skip(f"{export.ONNX_CONVERTERS[BACKEND][1]} is not installed")
    # An export whose images are off by twice the allowed difference (and the
    # real VERIFY_ATOL): a check that compared the wrong arrays would pass it.
    runner, write, name = REPRODUCTION_CHECKS[fmt]
    run = getattr(export, runner)
    monkeypatch.setattr(export, runner, lambda path, z: run(path, z) + 2 * export.VERIFY_ATOL)
    with pytest.raises(export.ExportError, match="does not reproduce the generator"):
        write(artifacts.gan, tmp_path / name)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_a_mixed_precision_generator_is_exported_computing_in_float32(policy, tmp_path):
    # A checkpoint of a mixed-precision run holds a generator that computes in
    # half precision: its bfloat16 ONNX graph did not even load in ONNX Runtime.
    vivid = sample_artifacts.vivid_gan(seed=2).generator  # float32, images that tell weights apart
    with precision(policy):
        mixed = build_generator(latent_dim=vivid.input_shape[-1], image_size=28, channels=1, filters=(16, 8, 4))
    mixed.set_weights(vivid.get_weights())
    z = latent_noise(3, vivid.input_shape[-1], seed=4)
    expected = keras.ops.convert_to_numpy(vivid(z, training=False))
    half = keras.ops.convert_to_numpy(mixed(z, training=False))
    assert 0 < np.max(np.abs(half - expected)) < 0.1  # it does compute in half precision

    plain = float32_generator(mixed)
    assert {layer.dtype_policy.name for layer in plain.layers} == {"float32"}
    assert np.max(np.abs(keras.ops.convert_to_numpy(plain(z, training=False)) - expected)) < 1e-6
    assert float32_generator(vivid) is vivid
    if export.onnx_converter_installed():
        import onnxruntime

        path = export.export_onnx(mixed, tmp_path / "generator.onnx")
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        assert np.max(np.abs(session.run(["images"], {"z": z})[0] - expected)) < 1e-5
    if BACKEND == "tensorflow":  # in-process there; the other backends export the same float32 copy
        export.export_saved_model(mixed, tmp_path / "saved_model")
        assert np.max(np.abs(export._run_saved_model(str(tmp_path / "saved_model"), z) - expected)) < 1e-5


def test_onnx_export_names_the_missing_converter(artifacts, tmp_path, monkeypatch):
    module, package = export.ONNX_CONVERTERS[BACKEND]
    monkeypatch.setattr(export, "onnx_converter_installed", lambda backend=None: False)
    path = tmp_path / "generator.onnx"
    with pytest.raises(export.ConverterNotInstalledError, match=f"pip install {package}"):
        export.export_onnx(artifacts.gan, path)
    assert os.listdir(tmp_path) == []


def test_sample_py_exports_onnx_and_keeps_an_existing_file(artifacts, tmp_path):
    out = tmp_path / "generator.onnx"
    args = (f"--checkpoint={artifacts.run_dir}", f"--export={out}")  # the .onnx name picks the format
    proc = sample_artifacts.run_sample(*args)
    if not export.onnx_converter_installed():
        assert proc.returncode == 2, proc.stderr[-4000:]
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and f"pip install {export.ONNX_CONVERTERS[BACKEND][1]}" in errors[0], proc.stderr
        assert os.listdir(tmp_path) == []
        return
    import onnxruntime

    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not re.search(r"\w+Warning: ", proc.stderr), proc.stderr  # the converters' warnings are filtered
    if BACKEND != "tensorflow":
        # A float32 generator is exported without get_config(), which imports
        # TensorFlow, whose C++ start-up logs cannot be silenced.
        assert "absl" not in proc.stderr, proc.stderr
    z = latent_noise(3, artifacts.gan.latent_dim, seed=1)
    (served,) = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(["images"], {"z": z})
    # The run directory's newest checkpoint is artifacts.gan.
    expected = keras.ops.convert_to_numpy(artifacts.gan.generator(z, training=False))
    assert np.max(np.abs(served - expected)) < 1e-5

    written = out.read_bytes()
    proc = sample_artifacts.run_sample(*args)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr, proc.stderr[-4000:]
    assert out.read_bytes() == written and os.listdir(tmp_path) == ["generator.onnx"]

    # Any name, with the format given.
    proc = sample_artifacts.run_sample(args[0], f"--export={tmp_path / 'plain'}", "--export_format=onnx")
    assert proc.returncode == 0, proc.stderr[-4000:]
    session = onnxruntime.InferenceSession(str(tmp_path / "plain"), providers=["CPUExecutionProvider"])
    assert np.max(np.abs(session.run(["images"], {"z": z})[0] - expected)) < 1e-5


def test_the_export_subprocess_ends_when_its_exporter_is_killed(tmp_path):
    # Its exporter killed outright (kill -9), a subprocess would export on for
    # nobody. Here one process watches the test (its parent, alive) and one a
    # process that is gone: only the first may run on.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    script = "import sys, time; from dcgan_keras import export; export._exit_with(int(sys.argv[1]), 0.05); time.sleep(60)"
    env = dict(os.environ, PYTHONPATH=sample_artifacts.REPO)
    watchers = {pid: subprocess.Popen([sys.executable, "-c", script, str(pid)], env=env)
                for pid in (os.getpid(), gone.pid)}
    try:
        assert watchers[gone.pid].wait(timeout=120) == 1
        assert watchers[os.getpid()].poll() is None
    finally:
        for proc in watchers.values():
            proc.kill()
            proc.wait()
