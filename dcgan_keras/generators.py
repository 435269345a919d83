"""Loading a trained generator, whatever artifact holds it.

One interface over three kinds of artifact: a run directory, a `.keras` file
(a DCGAN or a bare generator) and an exported SavedModel. Each loads as an
object with `latent_dim`, `image_shape` and `__call__(z) -> images`
(`KerasGenerator`, `SavedModelGenerator`); `dcgan_keras.sampling` draws
images from any of them.

Example:
    >>> gen = load_generator("runs/mnist-jax-20250101-120000")  # doctest: +SKIP
    >>> gen.latent_dim, gen.image_shape  # doctest: +SKIP
    (100, (28, 28, 1))
"""

import os
import re
import zipfile

import keras
import numpy as np

from dcgan_keras import rundir
from dcgan_keras.cli import first_line, missing_checkpoint
from dcgan_keras.gans import GAN
from dcgan_keras.models import in_sample_range


class CheckpointError(ValueError):
    """A path that does not hold a generator this package can load."""


def keras_generator(model):
    """The Keras generator model inside a DCGAN, a `KerasGenerator` or a bare model.

    Of a DCGAN, the one that makes its samples: the moving average of the
    generator's weights where it keeps one (`ema_momentum`), else the generator.

    Args:
        model: a `DCGAN`, a `KerasGenerator`, or a Keras model z -> images.

    Returns:
        The `keras.Model` mapping z (batch, latent_dim) to images (batch, H, W, C).

    Raises:
        ValueError: `model` is none of these, or its shapes are not a generator's.

    Example:
        >>> keras_generator(gan) is gan.sampling_generator  # doctest: +SKIP
        True
    """
    if isinstance(model, KerasGenerator):
        return model.model
    if isinstance(model, GAN):
        exported = model.exported_generators()
        if len(exported) != 1:
            raise ValueError(
                f"A {type(model).__name__} holds {len(exported)} generators ({', '.join(exported)}): "
                "name the one to use."
            )
        model = next(iter(exported.values()))
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"Expected a DCGAN or a Keras generator model. Received: {type(model).__name__}"
        )
    try:
        in_shape, out_shape = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError) as e:
        raise ValueError(f"Model {model.name!r} has no single input and output shape: {e}") from e
    if len(in_shape) != 2 or in_shape[-1] is None or len(out_shape) != 4:
        raise ValueError(
            "A generator maps z (batch, latent_dim) to images (batch, height, width, channels). "
            f"Model {model.name!r} maps {in_shape} to {out_shape}."
        )
    return model


def _check_z(z, latent_dim):
    z = np.asarray(z, dtype="float32")
    if z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"`z` must have shape (num, {latent_dim}). Received shape {z.shape}.")
    return z


def float32_config(config):
    """A model's config with every dtype policy float32 (the layers' own float32 outputs stay)."""
    return _with_float32_policies(config)


def _with_float32_policies(config):
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and config["config"]["name"] != "float32":
            return "float32"
        return {key: _with_float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_with_float32_policies(value) for value in config]
    return config


def _computes_in_float32(model):
    return all(
        _computes_in_float32(layer) if hasattr(layer, "layers") else layer.dtype_policy.name == "float32"
        for layer in model.layers
    )


def float32_generator(model):
    """`model` computing in float32, with its (float32) weights: what an export serves.

    Mixed precision serves training, as train.py's generator.keras says; a
    checkpoint trained under it holds a mixed-precision generator. Sampled as
    it is, its images would differ in the last bits from generator.keras's
    and the SavedModel's for the same seed; exported as it is, its bfloat16
    graph is not even valid ONNX (ONNX Runtime refuses a bfloat16
    ConvTranspose), and a SavedModel would run in half precision wherever it
    is served. `load_generator` and every export go through this.

    Args:
        model: a Keras generator model; returned as it is when every layer
            computes in float32 already.

    Example:
        >>> float32_generator(gan.generator).dtype_policy.name  # doctest: +SKIP
        'float32'
    """
    if _computes_in_float32(model):
        return model  # and no get_config(), which imports TensorFlow to serialize
    config = model.get_config()
    copy = model.__class__.from_config(_with_float32_policies(config))
    copy.set_weights(model.get_weights())
    return copy


class KerasGenerator:
    """A Keras generator behind the sampling interface.

    Args:
        model: a `DCGAN`, or a Keras model z -> images.
        source: where it was loaded from, for messages.

    Example:
        >>> images = KerasGenerator(gan)(latent_noise(4, gan.latent_dim, seed=0))  # doctest: +SKIP
    """

    def __init__(self, model, source=None):
        self.model = keras_generator(model)
        self.latent_dim = int(self.model.input_shape[-1])
        self.image_shape = tuple(self.model.output_shape[1:])
        self.source = source or self.model.name

    def __call__(self, z, batch_size=256):
        z = _check_z(z, self.latent_dim)
        batches = [
            keras.ops.convert_to_numpy(self.model(z[i : i + batch_size], training=False))
            for i in range(0, len(z), batch_size)
        ]
        if not batches:
            return np.zeros((0,) + self.image_shape, "float32")
        # A sigmoid generator's [0, 1], read as [-1, 1], came out squeezed into gray and white.
        return in_sample_range(np.concatenate(batches).astype("float32", copy=False), self.model)


class SavedModelGenerator:
    """A generator exported by `dcgan_keras.export.export_saved_model`.

    Runs the `serving_default` signature of the SavedModel with TensorFlow,
    whatever the Keras backend (importing it beside JAX or torch is harmless);
    without TensorFlow installed it raises `CheckpointError`.

    Args:
        path: the SavedModel directory (holding saved_model.pb).

    Example:
        >>> gen = SavedModelGenerator("runs/mnist-jax-20250101-120000/generator")  # doctest: +SKIP
        >>> gen.latent_dim, gen.image_shape  # doctest: +SKIP
        (100, (28, 28, 1))
    """

    def __init__(self, path):
        try:
            import tensorflow as tf  # only SavedModels need it
        except ImportError as e:
            raise CheckpointError(
                f"{path} is a TensorFlow SavedModel, and reading one needs TensorFlow, which is not "
                "installed: pip install tensorflow, or sample from the run's generator.keras or a checkpoint."
            ) from e

        self._tf = tf
        self.source = path
        try:
            loaded = tf.saved_model.load(path)
        except Exception as e:  # TF raises many types for unreadable SavedModels
            raise CheckpointError(f"Could not load the SavedModel at {path}: {first_line(e)}") from e
        signature = getattr(loaded, "signatures", {}).get("serving_default")
        if signature is None:
            raise CheckpointError(f"The SavedModel at {path} has no serving_default signature.")
        inputs = signature.structured_input_signature[1]
        outputs = signature.structured_outputs
        z_spec = inputs.get("z")
        if len(inputs) != 1 or z_spec is None or z_spec.shape.rank != 2 or len(outputs) != 1:
            raise CheckpointError(
                f"The SavedModel at {path} is not a generator export: its serving_default "
                f"signature takes {inputs} and returns {outputs}; expected one input `z` "
                "(batch, latent_dim) and one output (the images)."
            )
        (self._output_key, image_spec), = outputs.items()
        self._loaded = loaded  # the signature only holds a weak reference to its variables
        self._signature = signature
        self.latent_dim = int(z_spec.shape[1])
        self.image_shape = tuple(int(d) for d in image_spec.shape[1:])

    def __call__(self, z, batch_size=256):
        z = _check_z(z, self.latent_dim)
        batches = [
            self._signature(z=self._tf.constant(z[i : i + batch_size]))[self._output_key].numpy()
            for i in range(0, len(z), batch_size)
        ]
        if not batches:
            return np.zeros((0,) + self.image_shape, "float32")
        return np.concatenate(batches).astype("float32", copy=False)


def _keras_files(folder):
    """The `.keras` file names in `folder`, oldest epoch first."""
    # Not a training process's temporary (.tmp-PID-epoch_0001.keras): it may be half written.
    return sorted(
        (n for n in os.listdir(folder) if n.endswith(".keras") and not rundir.is_temporary(n)), key=_natural_key
    )


def _natural_key(name):
    # epoch_10 after epoch_9, even without zero padding.
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _is_saved_model(path):
    return os.path.isfile(os.path.join(path, "saved_model.pb"))


def resolve_checkpoint(path):
    """Which artifact `path` names: ("keras", file) or ("saved_model", directory).

    A run directory resolves to its newest `checkpoints/*.keras` (by name),
    else its `generator.keras`, else its `generator/` SavedModel; a folder of
    `.keras` files (such as `checkpoints/` itself) to its newest.

    Args:
        path: a run directory, a folder of checkpoints, a `.keras` file or a
            SavedModel directory.

    Raises:
        FileNotFoundError: nothing exists at `path`.
        CheckpointError: `path` exists but holds no checkpoint.

    Example:
        >>> resolve_checkpoint("runs/mnist")  # doctest: +SKIP
        ('keras', 'runs/mnist/checkpoints/epoch_0005.keras')
    """
    path = os.fspath(path)
    missing = missing_checkpoint(path)
    if missing:
        raise FileNotFoundError(missing)
    if os.path.isdir(path):
        if _is_saved_model(path):
            return "saved_model", path
        ckpt_dir = os.path.join(path, "checkpoints")
        run_parts = ("checkpoints", "generator.keras", "generator")
        if not any(os.path.exists(os.path.join(path, name)) for name in run_parts):
            ckpt_dir = path  # no run directory: a folder of checkpoints, such as a run's checkpoints/
        if os.path.isdir(ckpt_dir):
            names = _keras_files(ckpt_dir)
            if names:
                return "keras", os.path.join(ckpt_dir, names[-1])
        if os.path.isfile(os.path.join(path, "generator.keras")):
            return "keras", os.path.join(path, "generator.keras")
        if _is_saved_model(os.path.join(path, "generator")):
            return "saved_model", os.path.join(path, "generator")
        raise CheckpointError(
            f"{path} is a directory but holds no checkpoint: expected saved_model.pb (a SavedModel), "
            "or checkpoints/*.keras or generator.keras (a run directory)."
        )
    if not path.endswith(".keras"):
        raise CheckpointError(
            f"{path} is not a checkpoint: expected a .keras file, a run directory or a SavedModel directory."
        )
    return "keras", path


def _load_keras_file(path):
    try:
        open(path, "rb").close()  # is_zipfile below takes an unreadable file for a damaged one
    except OSError as e:
        raise CheckpointError(f"Cannot read {path} ({e.strerror or e}): fix its permissions.") from e
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not a .keras archive (not a zip file): is it truncated or corrupt?")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as e:  # Keras raises ValueError, TypeError, KeyError, OSError... for bad files
        raise CheckpointError(f"Could not load {path}: {first_line(e)}") from e
    try:
        return KerasGenerator(float32_generator(keras_generator(model)), source=path)
    except ValueError as e:
        raise CheckpointError(f"{path} does not hold a DCGAN or a generator: {e}") from e


def load_generator(path):
    """Loads a generator from a run directory, a `.keras` file or a SavedModel.

    Args:
        path: a run directory (its newest `checkpoints/*.keras`, else
            `generator.keras`, else `generator/`), a `.keras` file holding a
            DCGAN or a bare generator, or a SavedModel directory written by
            `dcgan_keras.export.export_saved_model`.

    Returns:
        A `KerasGenerator` or `SavedModelGenerator`: `latent_dim`,
        `image_shape`, `source`, and `__call__(z)` returning float32 NumPy
        images in [-1, 1], channels last, computed in float32 even from a
        mixed-precision checkpoint (`float32_generator`).

    Raises:
        FileNotFoundError: nothing exists at `path`.
        CheckpointError: `path` holds no loadable generator (wrong kind of
            file, corrupt, or another architecture).

    Example:
        >>> gen = load_generator("runs/mnist/checkpoints/epoch_0005.keras")  # doctest: +SKIP
        >>> gen(latent_noise(4, gen.latent_dim, seed=0)).shape  # doctest: +SKIP
        (4, 28, 28, 1)
    """
    kind, resolved = resolve_checkpoint(path)
    if kind == "saved_model":
        return SavedModelGenerator(resolved)
    try:
        return _load_keras_file(resolved)
    except CheckpointError as err:
        older = _older_checkpoints(resolved) if os.path.isdir(os.fspath(path)) else []
        if older:
            # Not loaded behind the user's back: which epoch is sampled matters.
            raise CheckpointError(f"{err} The one before it may load: --checkpoint={older[-1]}") from err
        raise


def _older_checkpoints(path):
    """The `.keras` files beside `path` that sort before it (older epochs), oldest first."""
    folder, name = os.path.split(path)
    names = _keras_files(folder)
    return [os.path.join(folder, n) for n in names[: names.index(name)]] if name in names else []


def as_generator(gen):
    """`gen` behind the sampling interface: DCGANs and Keras models are wrapped.

    Args:
        gen: a `DCGAN`, a Keras model z -> images, or anything already
            loaded (a `KerasGenerator`, a `SavedModelGenerator`, or any
            callable with a `latent_dim`), which is returned as it is.

    Returns:
        An object with `latent_dim` and `__call__(z)` -> NumPy images.

    Raises:
        ValueError: `gen` is none of these.

    Example:
        >>> from dcgan_keras import build_generator
        >>> gen = as_generator(build_generator())
        >>> gen.latent_dim, gen.image_shape
        (100, (28, 28, 1))
    """
    if isinstance(gen, (keras.Model, KerasGenerator)):
        # float32_generator: the pixels sample.py gives from the same checkpoint,
        # even for a GAN trained under mixed precision.
        return gen if isinstance(gen, KerasGenerator) else KerasGenerator(float32_generator(keras_generator(gen)))
    if not (hasattr(gen, "latent_dim") and callable(gen)):
        raise ValueError(f"Expected a generator, a DCGAN or a Keras model. Received: {type(gen).__name__}")
    return gen
