"""Export of the generator for inference without this package: SavedModel and ONNX.

The SavedModel's `serving_default` signature takes `z`, float32
(batch, latent_dim) (a conditional generator's also `labels`; a translator's
`image`, float32 (batch, H, W, C) in [-1, 1], instead), and returns
{"images": float32 (batch, H, W, C) in [-1, 1]}; plain `tf.saved_model.load`
serves it, no Keras needed. An ONNX file has the same input and output
names, on every backend.

Only TensorFlow writes SavedModels. On the TensorFlow backend the generator
is exported in-process. On JAX and torch it is saved to a temporary `.keras`
file (weights are portable across backends) and rebuilt and exported by a
TensorFlow-backend subprocess, `python -m dcgan_keras.export` (Keras picks
its backend once per process): no jax2tf, no torch_xla. Every export is
checked: the written SavedModel must reproduce the Keras generator's images.

This module is export code, so it may use TensorFlow directly (GUIDE.md).

Example:
    >>> from dcgan_keras.export import export_saved_model
    >>> export_saved_model(gan.generator, "export/generator")  # doctest: +SKIP
    >>> import tensorflow as tf  # doctest: +SKIP
    >>> serve = tf.saved_model.load("export/generator").signatures["serving_default"]  # doctest: +SKIP
    >>> images = serve(z=tf.random.normal((16, gan.latent_dim)))["images"]  # doctest: +SKIP
"""

import argparse
import glob
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import keras
import numpy as np

from dcgan_keras import rundir
from dcgan_keras.gan import latent_noise
from dcgan_keras.models import output_range
from dcgan_keras.generators import LABEL_WEIGHTS_SIGNATURE, float32_generator, keras_generator, label_weights_model

SIGNATURE = "serving_default"
INPUT_NAME = "z"
#: A translator's (Pix2Pix, CycleGAN) one input: images (batch, H, W, C) in [-1, 1].
IMAGE_INPUT_NAME = "image"
OUTPUT_NAME = "images"
# The check after export: the SavedModel against the Keras generator. Same
# weights, same float32 ops; what differs is the backends' kernels.
VERIFY_ATOL = 1e-4
# An export's temporaries: `<target>.export.tmp-PID` beside its target, and
# the subprocess's working folder `dcgan_export_PID-*` in the temporary
# directory. PID-named, so a later export can tell one whose process was
# killed (see _remove_what_killed_exports_left).
_TMP_MARK = ".export.tmp-"
_WORKDIR_PREFIX = "dcgan_export_"
_LEFTOVER_AGE_S = 3600
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Per backend: (module that must be importable, pip package that provides it).
# torch's exporter for a dynamic batch size is the TorchScript one, which
# needs only `onnx`; Keras's tf2onnx and jax2onnx paths bring their own.
ONNX_CONVERTERS = {
    "tensorflow": ("tf2onnx", "tf2onnx"),
    "jax": ("jax2onnx", "jax2onnx"),
    "torch": ("onnx", "onnx"),
}


class ExportError(RuntimeError):
    """An export that could not be written or did not reproduce the generator."""


class TensorFlowNotInstalledError(ExportError):
    """A SavedModel needs TensorFlow, which is not installed in this environment."""


class ConverterNotInstalledError(ExportError):
    """The ONNX converter for the current backend is not installed."""


# ----------------------------------------------------------------- paths


def tensorflow_installed():
    """Whether TensorFlow, which writes and serves SavedModels, can be imported here."""
    return importlib.util.find_spec("tensorflow") is not None


def check_export_path(export_dir, overwrite=False):
    """Refuses an export directory that cannot or must not be written, before any work.

    Args:
        export_dir: the SavedModel directory to write.
        overwrite: allow replacing an earlier export (a directory holding
            `saved_model.pb`).

    Raises:
        FileNotFoundError: its parent folder does not exist.
        FileExistsError: it exists and is not empty (and not `overwrite`),
            holds files but is no SavedModel (even with `overwrite`), or
            exists and is not a directory.

    Example:
        >>> check_export_path("export/generator")  # doctest: +SKIP
    """
    export_dir = os.fspath(export_dir)
    parent = os.path.dirname(os.path.abspath(export_dir))
    if not os.path.isdir(parent):
        what = "is a file, not a folder" if os.path.exists(parent) else "does not exist"
        raise FileNotFoundError(f"Cannot export to {export_dir}: its folder {parent} {what}.")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"Cannot export to {export_dir}: the folder {parent} is not writable.")
    if os.path.exists(export_dir):
        if not os.path.isdir(export_dir):
            raise FileExistsError(f"Cannot export to {export_dir}: it exists and is not a directory.")
        if os.listdir(export_dir) and not overwrite:
            raise FileExistsError(
                f"The export directory {export_dir} exists and is not empty. Choose another, "
                "or pass overwrite=True (sample.py: --overwrite) to replace it."
            )
        if os.listdir(export_dir) and not os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
            # Replacing deletes the directory: only ever an earlier export,
            # never, say, the run directory the generator is read from.
            raise FileExistsError(
                f"The export directory {export_dir} holds files but no saved_model.pb: it is not an earlier "
                "export, and overwrite replaces only those. Choose a new or empty directory."
            )


def check_onnx_path(path, overwrite=False):
    """Refuses an ONNX export that cannot be done or written, before any work.

    Args:
        path: the `.onnx` file to write.
        overwrite: allow replacing an earlier ONNX export (never another
            file, such as the checkpoint being exported).

    Raises:
        ConverterNotInstalledError: the current backend's converter is
            missing; the message names the pip package.
        FileNotFoundError: the folder of `path` does not exist.
        PermissionError: that folder is not writable.
        FileExistsError: `path` exists (and not `overwrite`), is no ONNX
            file (even with `overwrite`), is a directory or names one.

    Example:
        >>> check_onnx_path("generator.onnx")  # doctest: +SKIP
    """
    backend = keras.backend.backend()
    if backend not in ONNX_CONVERTERS:
        raise ExportError(f"ONNX export supports the {sorted(ONNX_CONVERTERS)} backends, not {backend}.")
    module, package = ONNX_CONVERTERS[backend]
    if not onnx_converter_installed(backend):
        raise ConverterNotInstalledError(
            f"ONNX export on the {backend} backend needs the `{module}` module, which is not "
            f"installed: pip install {package}. (A SavedModel export needs nothing more.)"
        )
    path = os.fspath(path)
    if path.endswith(("/", os.sep)):
        raise FileExistsError(f"Cannot export to {path}: it names a folder, and an ONNX export is one file.")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"Cannot export to {path}: its folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"Cannot export to {path}: the folder {parent} is not writable.")
    if os.path.isdir(path):
        raise FileExistsError(f"Cannot export to {path}: it is a directory.")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"{path} exists. Choose another path, or pass overwrite=True (sample.py: --overwrite)."
        )
    if os.path.exists(path) and not _is_onnx_model(path):
        # overwrite replaces an earlier export, never, say, the checkpoint being exported.
        raise FileExistsError(
            f"{path} exists and is not an ONNX model, and overwrite replaces only those. Choose another path."
        )


def _is_onnx_model(path):
    import onnx  # every converter depends on it

    try:
        model = onnx.load(path, load_external_data=False)
    except Exception:  # protobuf's decode errors, or not readable at all
        return False
    return model.ir_version > 0 and len(model.graph.node) > 0


def _remove_what_killed_exports_left(path):
    """Removes what exports killed outright left beside `path` and in the temporary directory.

    SIGKILL (or the machine's OOM killer) runs no cleanup; each later export
    sweeps `path.export.tmp-PID` and `dcgan_export_PID-*` temporaries, but
    only this user's, only an hour after their last change (a process in
    another PID namespace, a container sharing the volume, may still be
    writing one), and only where no process PID runs here. Nothing else
    matches those names.
    """
    workdirs = os.path.join(glob.escape(tempfile.gettempdir()), _WORKDIR_PREFIX + "*")
    for pattern, form in (
        (glob.escape(path) + _TMP_MARK + "*", re.escape(_TMP_MARK) + r"(\d+)"),
        (workdirs, re.escape(_WORKDIR_PREFIX) + r"(\d+)-\w+"),
    ):
        for leftover in glob.glob(pattern):
            match = re.fullmatch(".*" + form, os.path.basename(leftover))
            if match and _abandoned(leftover, int(match.group(1))):
                rundir.remove(leftover)


def _abandoned(leftover, pid):
    try:
        info = os.lstat(leftover)
    except OSError:
        return False
    return (
        not stat.S_ISLNK(info.st_mode)
        and info.st_uid == os.getuid()
        and time.time() - info.st_mtime > _LEFTOVER_AGE_S
        and not _process_exists(pid)
    )


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process, or no PID at all: not ours
        return True
    return True


def _move_into_place(tmp, export_dir):
    # Only a complete export ever has the final name; a non-empty directory
    # there (overwrite=True, checked) is swapped out, then removed.
    old = None
    if os.path.isdir(export_dir):
        if os.listdir(export_dir):
            old = f"{export_dir}.old-{os.getpid()}"
            os.replace(export_dir, old)
        else:
            os.rmdir(export_dir)
    os.replace(tmp, export_dir)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _served_model(generator):
    """What an export serves: the generator computing in float32, its images in [-1, 1].

    A keras.io-style sigmoid generator's [0, 1] is rescaled to [-1, 1], the
    range every export promises and `sample.py` reads.
    """
    model = float32_generator(exported_network(generator))
    if output_range(model) != (0.0, 1.0):
        return model
    images = keras.layers.Rescaling(2.0, offset=-1.0, dtype="float32", name="to_minus_one_one")(model.output)
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs  # a lone input: Keras warns on a list of one
    return keras.Model(inputs, images, name=model.name)


def exported_network(model):
    """The network an export serves: a translator's generator (images -> images) as it is, else `keras_generator`'s.

    Args:
        model: a GAN, a `KerasGenerator`, or a Keras model z -> images or images -> images.
    """
    if isinstance(model, keras.Model) and takes_images(model):
        return model
    return keras_generator(model)


def takes_images(model):
    """Whether `model` maps one batch of images (batch, H, W, C) to images of the same size: a translator's generator.

    Not a GAN, and not a discriminator (its scores are not images of the input's size).
    """
    from dcgan_keras.gans import GAN

    if isinstance(model, GAN) or len(getattr(model, "inputs", None) or ()) != 1 or len(model.outputs) != 1:
        return False
    in_shape, out_shape = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    return len(in_shape) == len(out_shape) == 4 and in_shape[1:3] == out_shape[1:3]


def _input_specs(model):
    """[(name, shape without the batch axis, dtype)] of the model's inputs: the serving signature's.

    A DCGAN generator's is [("z", (latent_dim,), "float32")]; a conditional
    one's adds ("labels", (), "int32"); a translator's is [("image", (H, W, C), "float32")].
    """
    if len(model.inputs) == 1:
        tensor = model.inputs[0]
        name = IMAGE_INPUT_NAME if len(tensor.shape) == 4 else INPUT_NAME
        return [(name, tuple(int(d) for d in tensor.shape[1:]), "float32")]
    return [
        (tensor.name, tuple(int(d) for d in tensor.shape[1:]), keras.backend.standardize_dtype(tensor.dtype))
        for tensor in model.inputs
    ]


def _probe(model):
    """Fixed inputs the export is checked on: {input name: 4 rows}; float inputs N(0, 1), int inputs 0, 1, 0, 1."""
    probe = {}
    for i, (name, shape, dtype) in enumerate(_input_specs(model)):
        if dtype.startswith("float") and len(shape) == 3:  # images, in [-1, 1]
            probe[name] = np.random.default_rng(i).uniform(-1.0, 1.0, (4,) + shape).astype("float32")
        elif dtype.startswith("float"):
            noise = np.random.default_rng(i).standard_normal((4,) + shape) if i else latent_noise(4, shape[0], seed=0)
            probe[name] = noise.astype("float32")
        else:
            probe[name] = (np.arange(4 * int(np.prod(shape, dtype=int))) % 2).reshape((4,) + shape).astype(dtype)
    return probe


def _call(model, inputs):
    """`model(inputs)` with `inputs` an array (the one input) or {input name: array}."""
    if not isinstance(inputs, dict):
        return model(inputs, training=False)
    names = [name for name, _, _ in _input_specs(model)]
    values = [keras.ops.convert_to_tensor(inputs[name]) for name in names]
    return model(values[0] if len(values) == 1 else values, training=False)


def _check_reproduces(model, probe, served, what):
    expected = keras.ops.convert_to_numpy(_call(model, probe))
    if not np.isfinite(expected).all():
        raise ExportError(
            "The generator outputs NaN or infinite values (a checkpoint of a diverged run?); "
            "export a checkpoint from before the divergence."
        )
    diff = float(np.max(np.abs(served - expected)))
    if not diff <= VERIFY_ATOL:
        raise ExportError(
            f"The exported {what} does not reproduce the generator: max abs difference "
            f"{diff:.3g} on fixed inputs (allowed {VERIFY_ATOL})."
        )


# ------------------------------------------------------------ SavedModel


def _write_saved_model(model, path):
    """Exports `model` in this process; the backend must be TensorFlow."""
    import tensorflow as tf

    specs = _input_specs(model)
    views = label_weights_model(model)
    if views is not None:
        model, soft = views  # one copy of the weights behind both signatures
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        SIGNATURE,
        # A dict names the output: {"images": ...}, not "output_0".
        lambda *inputs: {OUTPUT_NAME: model(inputs[0] if len(inputs) == 1 else list(inputs), training=False)},
        # The model's own inputs, by name: z (and labels, for a conditional generator).
        input_signature=[tf.TensorSpec([None, *shape], dtype, name=name) for name, shape, dtype in specs],
    )
    if views is not None:
        # A second signature, [z, label weights] -> images: a class interpolation
        # (sample.py --interpolate_classes) from the SavedModel alone, and the class count.
        classes = int(soft.inputs[1].shape[-1])
        archive.add_endpoint(
            LABEL_WEIGHTS_SIGNATURE,
            lambda z, weights: {OUTPUT_NAME: soft([z, weights], training=False)},
            input_signature=[
                tf.TensorSpec([None, *specs[0][1]], "float32", name=specs[0][0]),
                tf.TensorSpec([None, classes], "float32", name=LABEL_WEIGHTS_SIGNATURE),
            ],
        )
    archive.write_out(path, verbose=False)


def _run_saved_model(path, inputs):
    """The SavedModel's images for `inputs`: z, or {input name: array}."""
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures[SIGNATURE]
    inputs = inputs if isinstance(inputs, dict) else {INPUT_NAME: inputs}
    return serve(**{name: tf.constant(value) for name, value in inputs.items()})[OUTPUT_NAME].numpy()


def _export_in_subprocess(model, path, probe, timeout):
    """Saves `model` as `.keras`; a TensorFlow-backend process rebuilds and exports it."""
    with tempfile.TemporaryDirectory(prefix=f"{_WORKDIR_PREFIX}{os.getpid()}-") as work:
        keras_file = os.path.join(work, "generator.keras")
        probe_in = os.path.join(work, "probe.npz")
        probe_out = os.path.join(work, "images.npy")
        model.save(keras_file)
        np.savez(probe_in, **probe)
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        cmd = [
            sys.executable, "-m", "dcgan_keras.export",
            "--generator", keras_file, "--out", path, "--probe", probe_in, "--probe_out", probe_out,
            "--parent_pid", str(os.getpid()),
        ]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise ExportError(f"Exporting under the TensorFlow backend took over {timeout} s.") from e
        if proc.returncode != 0:
            # The exception's own line, not the traceback above it: the
            # command line's contract is one `error:` line.
            lines = [line.strip() for line in proc.stderr.strip().splitlines() if line.strip()]
            reason = lines[-1] if lines else "no output"
            raise ExportError(
                f"Exporting under the TensorFlow backend failed (exit code {proc.returncode}): {reason}"
            )
        return np.load(probe_out)


def export_saved_model(generator, export_dir, overwrite=False, timeout=600):
    """Writes the generator as a TensorFlow SavedModel, from a model on any backend.

    The `serving_default` signature takes `z` (float32, (batch, latent_dim)),
    or a multi-input generator's own named inputs (a conditional one's `z`
    and `labels`, int32 (batch,)), and returns {"images": float32 (batch, H, W, C) in [-1, 1]}, computed
    with `training=False` (BatchNorm's moving statistics). The directory
    appears complete or not at all: it is written as `export_dir.export.tmp-PID`
    and renamed. Before the rename, the SavedModel is run on fixed noise and
    must match the Keras generator within `VERIFY_ATOL`. What an export
    killed outright left (`export_dir.export.tmp-PID`, its temporary
    folder) is removed first, an hour on, once its process is gone.

    Args:
        generator: a Keras generator model, a `DCGAN` or a loaded
            `dcgan_keras.generators.KerasGenerator`.
        export_dir: the directory to create (its parent must exist).
        overwrite: replace `export_dir` if it exists and is not empty.
        timeout: seconds allowed to the TensorFlow subprocess (JAX, torch).

    Returns:
        `export_dir`.

    Raises:
        ValueError: `generator` is not a generator.
        FileExistsError / FileNotFoundError: see `check_export_path`.
        TensorFlowNotInstalledError: TensorFlow is not installed.
        ExportError: the export failed (with the subprocess's error line),
            or its output differs from the Keras generator's.

    Example:
        >>> export_saved_model(gan, "export/generator")  # doctest: +SKIP
        'export/generator'
    """
    if not tensorflow_installed():
        # JAX and torch users may train without TensorFlow; only this format needs it.
        raise TensorFlowNotInstalledError(
            "A SavedModel export needs TensorFlow, which is not installed: pip install tensorflow "
            "(the CPU build is enough), then export with sample.py --export."
        )
    model = _served_model(generator)
    export_dir = os.fspath(export_dir).rstrip("/" + os.sep) or os.fspath(export_dir)
    check_export_path(export_dir, overwrite)
    probe = _probe(model)
    _remove_what_killed_exports_left(export_dir)
    tmp = f"{export_dir}{_TMP_MARK}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if keras.backend.backend() == "tensorflow":
            _write_saved_model(model, tmp)
            served = _run_saved_model(tmp, probe)
        else:
            served = _export_in_subprocess(model, tmp, probe, timeout)
        _check_reproduces(model, probe, served, "SavedModel")
        # Again: something may have appeared there during the (slow) export.
        check_export_path(export_dir, overwrite)
        _move_into_place(tmp, export_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return export_dir


# ------------------------------------------------------------------ ONNX


def onnx_converter_installed(backend=None):
    """Whether the ONNX converter for `backend` (default: the current one) is importable.

    None of the converters is a dependency of this package, so
    `check_onnx_path` asks this before any export work.

    Args:
        backend: "tensorflow", "jax" or "torch"; None (the default) means
            the current Keras backend.

    Example:
        >>> if not onnx_converter_installed("torch"):  # doctest: +SKIP
        ...     print("pip install", ONNX_CONVERTERS["torch"][1])
        pip install onnx
    """
    module, _ = ONNX_CONVERTERS[backend or keras.backend.backend()]
    return importlib.util.find_spec(module) is not None


def _name_onnx_output(path, image_shape):
    """Names the graph's output `images` and declares what the SavedModel's signature does.

    Each converter names the output its own way ("Identity:0" on TensorFlow,
    "jnp_tanh_out_0" on JAX, a node number on torch), and declares its shape
    its own way (torch: every dimension symbolic; TensorFlow: the batch as
    "unk__N"): without this an ONNX Runtime caller would need to know which
    backend trained the model. Both ends get the batch as "batch", the
    images their (H, W, C).
    """
    import onnx  # every converter depends on it

    model = onnx.load(path)
    graph = model.graph
    if len(graph.output) != 1:
        raise ExportError(f"The converter wrote {len(graph.output)} outputs; a generator has one.")
    old = graph.output[0].name
    if old != OUTPUT_NAME:
        for node in graph.node:
            for names in (node.input, node.output):
                for i, name in enumerate(names):
                    if name == old:
                        names[i] = OUTPUT_NAME
        for info in graph.value_info:
            if info.name == old:
                info.name = OUTPUT_NAME
        graph.output[0].name = OUTPUT_NAME
    for value_info in graph.input:  # z, and a conditional generator's labels
        rank = len(value_info.type.tensor_type.shape.dim)
        _declare_shape(value_info, ("batch",) + (None,) * (rank - 1))
    _declare_shape(graph.output[0], ("batch",) + tuple(image_shape))
    onnx.checker.check_model(model)  # a clash with an existing name fails here, not in a user's runtime
    onnx.save(model, path)


def _declare_shape(value_info, dims):
    """Sets `value_info`'s declared dimensions: a name for a dynamic one, an int for a fixed one, None to keep."""
    declared = value_info.type.tensor_type.shape.dim
    if len(declared) != len(dims):
        raise ExportError(f"The converter declared {value_info.name!r} with {len(declared)} dimensions, not {len(dims)}.")
    for dim, value in zip(declared, dims):
        if isinstance(value, str):
            dim.dim_param = value
        elif value is not None:
            dim.dim_value = int(value)


def _run_onnx(path, inputs):
    """The ONNX file's images for `inputs`: z, or {input name: array}."""
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], inputs if isinstance(inputs, dict) else {INPUT_NAME: inputs})[0]


def export_onnx(generator, path, overwrite=False):
    """Writes the generator as an ONNX file with the current backend's converter.

    tf2onnx on TensorFlow, jax2onnx on JAX, torch.onnx (which needs `onnx`)
    on torch, through `keras.Model.export(format="onnx")`. requirements.txt
    installs the TensorFlow and torch ones; jax2onnx is left to the user (it
    brings flax, optax and orbax). The input is named `z` (a conditional
    generator's also `labels`, int32 (batch,); a translator's `image`,
    float32 (batch, H, W, C) in [-1, 1]), with a dynamic batch, and the
    output `images`, as in the SavedModel. Where ONNX Runtime
    is installed (requirements.txt has it), the file is run on fixed inputs
    before it takes its name and must match the Keras generator within
    `VERIFY_ATOL`.

    Args:
        generator: a Keras generator model, a `DCGAN` or a `KerasGenerator`,
            or a translator's generator (images -> images).
        path: the `.onnx` file to write (written as `path.export.tmp-PID`, renamed).
        overwrite: replace `path` if it exists.

    Raises:
        ConverterNotInstalledError: the converter is missing; the message
            names the pip package.
        FileExistsError / FileNotFoundError: `path` exists, or its folder does not.
        ExportError: the converter failed, or the file does not reproduce
            the generator.

    Example:
        >>> export_onnx(gan.generator, "generator.onnx")  # doctest: +SKIP
    """
    model = _served_model(generator)
    path = os.fspath(path)
    check_onnx_path(path, overwrite)
    backend = keras.backend.backend()
    _remove_what_killed_exports_left(path)
    tmp = f"{path}{_TMP_MARK}{os.getpid()}"
    # The model's own inputs by name: z, and a conditional generator's int32 labels.
    specs = [keras.InputSpec(shape=(None, *shape), dtype=dtype, name=name) for name, shape, dtype in _input_specs(model)]
    try:
        try:
            with warnings.catch_warnings():
                # Noise for a user, and checked below: torch's tracer warns that
                # Keras's static shape checks become constants (the batch stays
                # dynamic: tests run a batch the check did not), and Keras's
                # tf2onnx shim probes the removed `np.object`.
                warnings.filterwarnings("ignore", message="Converting a tensor to a Python")
                warnings.filterwarnings("ignore", message="torch.as_tensor results are registered as constants")
                warnings.filterwarnings("ignore", message="In the future `np.object`")
                model.export(tmp, format="onnx", input_signature=[specs if len(specs) > 1 else specs[0]],
                             verbose=False)
        except Exception as e:  # converters raise anything; the cause stays chained
            raise ExportError(f"ONNX export on the {backend} backend failed: {e}") from e
        probe = _probe(model)
        served = None
        try:
            _name_onnx_output(tmp, model.output_shape[1:])
            if importlib.util.find_spec("onnxruntime") is not None:
                served = _run_onnx(tmp, probe)
        except Exception as e:  # onnx's checker and ONNX Runtime raise their own types
            raise ExportError(f"The ONNX file the {backend} backend's converter wrote does not load: {e}") from e
        if served is not None:
            _check_reproduces(model, probe, served, "ONNX file")
        # Again: something may have appeared there during the conversion.
        check_onnx_path(path, overwrite)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


# ------------------------------------------- the TensorFlow-side subprocess


def _main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m dcgan_keras.export",
        description="Rebuilds a generator .keras file under TensorFlow and writes it as a SavedModel "
        "(what export_saved_model runs for JAX and torch models).",
    )
    parser.add_argument("--generator", required=True, help="a .keras file holding the generator")
    parser.add_argument("--out", required=True, help="the SavedModel directory to write")
    parser.add_argument("--probe", help="a .npz of the inputs (z, ...) to run through the written SavedModel")
    parser.add_argument("--probe_out", help="where to write the SavedModel's images for --probe")
    parser.add_argument("--parent_pid", type=int, help="exit when this process (the exporter) ends")
    args = parser.parse_args(argv)
    if args.parent_pid:
        _exit_with(args.parent_pid)
    if keras.backend.backend() != "tensorflow":
        parser.error(f"needs KERAS_BACKEND=tensorflow (Keras is running on {keras.backend.backend()})")
    # Importing this module imported dcgan_keras, which registers DCGAN for load_model.
    model = exported_network(keras.saving.load_model(args.generator, compile=False))
    _write_saved_model(model, args.out)
    if args.probe:
        with np.load(args.probe) as probe:
            np.save(args.probe_out, _run_saved_model(args.out, dict(probe)))


def _exit_with(parent_pid, poll_s=1.0):
    # An exporter killed outright (kill -9) cannot stop this process, whose
    # work would then go nowhere: it stops itself once it is someone else's child.
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    _main()
