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

import json
import os
import re
import zipfile

import keras
import numpy as np

from dcgan_keras import rundir
from dcgan_keras.cli import first_line, missing_checkpoint
from dcgan_keras.gans import GAN
from dcgan_keras.models import in_sample_range


#: The SavedModel signature of a conditional generator fed label weights (a class
#: interpolation); its input of that name is (batch, num_classes) float32.
LABEL_WEIGHTS_SIGNATURE = "label_weights"


class CheckpointError(ValueError):
    """A path that does not hold a generator this package can load."""


def keras_generator(model):
    """The Keras generator model inside a GAN, a `KerasGenerator` or a bare model.

    Of a DCGAN, the one that makes its samples: the moving average of the
    generator's weights where it keeps one (`ema_momentum`), else the generator.

    Args:
        model: a `DCGAN` or `ConditionalDCGAN`, a `KerasGenerator`, or a Keras
            model z -> images ([z, labels] -> images for a conditional one).

    Returns:
        The `keras.Model` mapping z (batch, latent_dim), and int labels
        (batch,) where conditional, to images (batch, H, W, C).

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
        in_shapes = [tuple(tensor.shape) for tensor in model.inputs]
        out_shape = tuple(model.output_shape)
    except (AttributeError, TypeError, ValueError) as e:
        raise ValueError(f"Model {model.name!r} has no input and output shapes: {e}") from e
    z_ok = len(in_shapes[0]) == 2 and in_shapes[0][-1] is not None
    labels_ok = len(in_shapes) == 1 or (len(in_shapes) == 2 and _is_label_input(model.inputs[1]))
    if not (z_ok and labels_ok) or len(out_shape) != 4:
        raise ValueError(
            "A generator maps z (batch, latent_dim), and class ids (batch,) where conditional, to images "
            f"(batch, height, width, channels). Model {model.name!r} maps "
            f"{in_shapes[0] if len(in_shapes) == 1 else in_shapes} to {out_shape}."
        )
    return model


def _is_label_input(tensor):
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    return "int" in dtype and len(tensor.shape) in (1, 2) and tuple(tensor.shape[1:]) in ((), (1,))


def label_classes(model):
    """The number of classes a conditional generator takes (its label layers'), or None.

    None for an unconditional generator, and for a conditional one whose
    label layers (one-hot encodings, embeddings) cannot be read.

    Example:
        >>> from dcgan_keras.networks import build_conditional_generator
        >>> label_classes(build_conditional_generator(latent_dim=8, num_classes=3))
        3
    """
    if len(model.inputs) < 2:
        return None
    counts = set()
    for layer in model.layers:
        if isinstance(layer, keras.layers.CategoryEncoding):
            counts.add(int(layer.num_tokens))
        elif isinstance(layer, keras.layers.Embedding):
            counts.add(int(layer.input_dim))
    return counts.pop() if len(counts) == 1 else None


def label_weights_model(model):
    """(copy of `model`, [z, label weights (batch, num_classes)] -> images on the copy's weights), or None.

    A conditional generator that one-hot encodes its labels
    (`keras.layers.CategoryEncoding`, as the project's builders do) reads a
    mix of classes the same way: a class interpolation (keras.io's) walks
    from one class's one-hot vector to another's. Both models run on one
    copy of `model` (its weights copied): a model cut from inside `model`
    itself would leave it unable to save. None where the generator has no
    such layer.
    """
    if len(model.inputs) != 2 or sum(isinstance(l, keras.layers.CategoryEncoding) for l in model.layers) != 1:
        return None
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    (encoding,) = [layer for layer in copy.layers if isinstance(layer, keras.layers.CategoryEncoding)]
    soft = keras.Model([copy.inputs[0], encoding.output], copy.outputs[0], name=f"{model.name}_label_weights")
    return copy, soft


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


def _checked_labels(labels, num, num_classes):
    """int32 class ids (num,), or float32 label weights (num, num_classes), from what a caller gave."""
    if labels is None:
        raise ValueError(
            f"This generator is conditional ({num_classes or 'some'} classes): give each image's class id, "
            "e.g. labels=[7] * num."
        )
    array = np.asarray(labels)
    if array.ndim == 2 and np.issubdtype(array.dtype, np.floating):
        if num_classes is not None and array.shape[1] != num_classes:
            raise ValueError(f"Label weights must have shape ({num}, {num_classes}). Received shape {array.shape}.")
        if len(array) != num:
            raise ValueError(f"{len(array)} label weights for {num} latent vectors.")
        return array.astype("float32")
    if array.ndim == 0:
        array = np.full((num,), array)
    if array.ndim != 1 or len(array) != num:
        raise ValueError(f"`labels` must be one class id or one per image ({num}). Received shape {array.shape}.")
    if array.size and (not np.issubdtype(array.dtype, np.integer) or array.min() < 0
                       or (num_classes is not None and array.max() >= num_classes)):
        known = f"0 to {num_classes - 1}" if num_classes is not None else "ids >= 0"
        raise ValueError(f"Class ids must be integers from {known}. Received: {sorted(set(array.tolist()))[:10]}")
    return array.astype("int32")


class KerasGenerator:
    """A Keras generator behind the sampling interface.

    Args:
        model: a `DCGAN` or `ConditionalDCGAN`, or a Keras model z -> images
            ([z, labels] -> images).
        source: where it was loaded from, for messages.
        latent_distribution: the noise it was trained on, where `model`
            does not say (a GAN does): "normal", "uniform" or None (unknown).

    Attributes:
        latent_dim, image_shape, source: as they say.
        latent_distribution: the noise the generator was trained on
            ("normal" or "uniform"), where known (a DCGAN, a run's files);
            None where not (a bare generator file): sampling draws N(0, I).
        num_classes: a conditional generator's classes; None for an
            unconditional one (or where its label layers cannot be read).
        conditional: whether it takes labels.

    Example:
        >>> images = KerasGenerator(gan)(latent_noise(4, gan.latent_dim, seed=0))  # doctest: +SKIP
        >>> sevens = KerasGenerator(conditional_gan)(latent_noise(4, 100, seed=0), labels=7)  # doctest: +SKIP
    """

    def __init__(self, model, source=None, latent_distribution=None):
        if latent_distribution is None:
            latent_distribution = getattr(model, "latent_distribution", None)  # a DCGAN knows its own
        self.latent_distribution = latent_distribution
        self.model = keras_generator(model)
        self.latent_dim = int(self.model.inputs[0].shape[-1])
        self.image_shape = tuple(self.model.output_shape[1:])
        self.source = source or self.model.name
        self.conditional = len(self.model.inputs) == 2
        self.num_classes = label_classes(self.model)
        self._soft = None

    @property
    def interpolates_classes(self):
        """Whether the generator reads label weights (`__call__(z, labels=(num, num_classes) floats)`)."""
        return self.conditional and sum(isinstance(l, keras.layers.CategoryEncoding) for l in self.model.layers) == 1

    def __call__(self, z, labels=None, batch_size=256):
        """Images (num, H, W, C) in [-1, 1] for z (num, latent_dim), and labels where conditional.

        Args:
            z: latent vectors.
            labels: a conditional generator's class ids (one, or one per
                image), or label weights (num, num_classes) floats (a class
                interpolation); None for an unconditional generator.
            batch_size: images per generator call.
        """
        z = _check_z(z, self.latent_dim)
        model, inputs = self.model, [z]
        if self.conditional:
            labels = _checked_labels(labels, len(z), self.num_classes)
            if labels.ndim == 2:
                if not self.interpolates_classes:
                    raise ValueError(f"{self.source}'s generator takes class ids only: it cannot mix classes.")
                if self._soft is None:
                    self._soft = label_weights_model(self.model)[1]
                model = self._soft
            inputs.append(labels)
        elif labels is not None:
            raise ValueError(f"{self.source}'s generator is unconditional: it takes no labels.")
        batches = [
            keras.ops.convert_to_numpy(model(
                [keras.ops.convert_to_tensor(x[i : i + batch_size]) for x in inputs] if len(inputs) > 1
                else z[i : i + batch_size],
                training=False,
            ))
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
        conditional = set(inputs) == {"z", "labels"}
        if (not (len(inputs) == 1 or conditional) or z_spec is None or z_spec.shape.rank != 2
                or len(outputs) != 1):
            raise CheckpointError(
                f"The SavedModel at {path} is not a generator export: its serving_default "
                f"signature takes {inputs} and returns {outputs}; expected an input `z` "
                "(batch, latent_dim), and `labels` (batch,) where conditional, and one output (the images)."
            )
        (self._output_key, image_spec), = outputs.items()
        self._loaded = loaded  # the signature only holds a weak reference to its variables
        self._signature = signature
        self.latent_dim = int(z_spec.shape[1])
        self.image_shape = tuple(int(d) for d in image_spec.shape[1:])
        self.conditional = conditional
        self.latent_distribution = _run_latent_distribution(path)  # a run's generator/ sits beside config.json
        # The export's second signature, [z, label weights] -> images, says the class count.
        self._soft = getattr(loaded, "signatures", {}).get(LABEL_WEIGHTS_SIGNATURE) if conditional else None
        self.num_classes = (
            int(self._soft.structured_input_signature[1][LABEL_WEIGHTS_SIGNATURE].shape[1])
            if self._soft is not None else None
        )

    @property
    def interpolates_classes(self):
        return self._soft is not None

    def __call__(self, z, labels=None, batch_size=256):
        z = _check_z(z, self.latent_dim)
        tf = self._tf
        if self.conditional:
            labels = _checked_labels(labels, len(z), self.num_classes)
            if labels.ndim == 2 and self._soft is None:
                raise ValueError(f"The SavedModel at {self.source} takes class ids only: it cannot mix classes.")
        elif labels is not None:
            raise ValueError(f"The SavedModel at {self.source} is unconditional: it takes no labels.")

        def run(i):
            rows = slice(i, i + batch_size)
            if not self.conditional:
                return self._signature(z=tf.constant(z[rows]))[self._output_key]
            if labels.ndim == 2:
                kwargs = {"z": tf.constant(z[rows]), LABEL_WEIGHTS_SIGNATURE: tf.constant(labels[rows])}
                return next(iter(self._soft(**kwargs).values()))
            return self._signature(z=tf.constant(z[rows]), labels=tf.constant(labels[rows]))[self._output_key]

        batches = [run(i).numpy() for i in range(0, len(z), batch_size)]
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
        distribution = getattr(model, "latent_distribution", None) or _run_latent_distribution(path)
        return KerasGenerator(float32_generator(keras_generator(model)), source=path,
                              latent_distribution=distribution)
    except ValueError as e:
        raise CheckpointError(f"{path} does not hold a DCGAN or a generator: {e}") from e


def _run_latent_distribution(path):
    """The `latent_distribution` of the run whose directory holds `path` (its config.json), or None."""
    record = os.path.join(os.path.dirname(os.path.abspath(path)), "config.json")
    try:
        with open(record) as f:
            return json.load(f)["config"].get("latent_distribution", "normal")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # not in a run directory, or a record that says nothing usable


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
        if isinstance(gen, KerasGenerator):
            return gen
        return KerasGenerator(float32_generator(keras_generator(gen)),
                              latent_distribution=getattr(gen, "latent_distribution", None))
    if not (hasattr(gen, "latent_dim") and callable(gen)):
        raise ValueError(f"Expected a generator, a DCGAN or a Keras model. Received: {type(gen).__name__}")
    return gen
