"""Translating images with a trained Pix2Pix or CycleGAN: what `sample.py --input` does.

A translator loads from a run directory (its newest checkpoint, else its
exported generator(s)), a `.keras` file (a Pix2Pix, a CycleGAN, or one
generator images -> images) or an exported SavedModel (`serving_default`
taking `image`), and translates float32 images in [-1, 1]. A Pix2Pix and a
single generator translate one way; a CycleGAN both (`direction` "AtoB", the
default, or "BtoA").

Inputs are one image file, a folder of them (not recursive), or an `.npz` of
images (uint8, or floats in [-1, 1]); outputs a folder of PNGs (the inputs'
names), an `.npz` (uint8 `images`, and the inputs' `names`), or a `.png` of
input | output pairs, one a row.

Example:
    >>> translator = load_translator("runs/facades-...")  # doctest: +SKIP
    >>> names, images = load_inputs("labels/", translator.input_shape)  # doctest: +SKIP
    >>> write_translations(images, translator(images), names, "photos/")  # doctest: +SKIP
"""

import json
import os
import shutil
import zipfile

import keras
import numpy as np
from PIL import Image, ImageOps

from dcgan_keras import rundir
from dcgan_keras.cli import export_format, first_line, refuse_export_format_alone
from dcgan_keras.data.folder import IMAGE_EXTENSIONS
from dcgan_keras.export import ExportError, takes_images
from dcgan_keras.generators import float32_generator
from dcgan_keras.images import make_grid, save_png, to_uint8
from dcgan_keras.models import in_sample_range
from dcgan_keras.outputs import check_output

DIRECTIONS = ("AtoB", "BtoA")
#: The exported generator of each direction, in a CycleGAN's run directory.
_DIRECTION_FILES = {"AtoB": "generator_ab", "BtoA": "generator_ba"}
_TRANSLATORS = ("Pix2Pix", "CycleGAN")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


class TranslationError(ValueError):
    """A translator, direction, input or output that cannot be used; the message names it and the fix."""


class Translator:
    """One trained generator images -> images behind one interface.

    Attributes:
        input_shape: (H, W, C_in) of the images it takes.
        image_shape: (H, W, C_out) of the images it makes.
        source: what it was loaded from (and which way), for messages.
    """

    def __init__(self, call, input_shape, image_shape, source):
        self._call = call
        self.input_shape, self.image_shape, self.source = tuple(input_shape), tuple(image_shape), source

    def __call__(self, images, batch_size=32):
        """float32 (N, H, W, C_out) in [-1, 1] for float32 (N, H, W, C_in) in [-1, 1]."""
        images = np.asarray(images, "float32")
        out = [self._call(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else np.zeros((0,) + self.image_shape, "float32")


def check_direction(direction):
    """Refuses a direction other than None, "AtoB" or "BtoA"."""
    if direction is not None and direction not in DIRECTIONS:
        raise TranslationError(f"--direction must be AtoB or BtoA, got {direction!r}.")
    return direction


# ------------------------------------------------------------------ loading


def load_translator(path, direction=None):
    """The `Translator` at `path`: a run directory, a `.keras` file or a SavedModel directory.

    Args:
        path: what to load (see the module doc).
        direction: None, "AtoB" or "BtoA": which of a CycleGAN's generators
            (None: AtoB). Refused for a model that translates one way, unless
            it names that model's own way (a CycleGAN's exported generator_ab: AtoB).

    Raises:
        TranslationError: nothing translates at `path` (a model that
            generates from noise, a damaged file), or `direction` does not fit it.
    """
    check_direction(direction)
    path = _file_of(path, direction)
    if os.path.isdir(path):
        return _saved_model_translator(path, direction)
    if not path.endswith(".keras"):
        raise TranslationError(f"{path} is not a translator: expected a run directory, a .keras file or a SavedModel.")
    return _keras_translator(path, direction)


def _run_of_checkpoints_folder(path):
    """`path` without a trailing slash; a run's checkpoints/ folder stands for its run directory."""
    path = os.fspath(path).rstrip("/" + os.sep) or os.fspath(path)
    if os.path.basename(path) == "checkpoints" and os.path.isdir(path):
        path = os.path.dirname(path) or "."
    return path


def _file_of(path, direction):
    """What `path` names to load: itself, or a run directory's (or its checkpoints/ folder's) file or SavedModel."""
    path = _run_of_checkpoints_folder(path)
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "saved_model.pb")):
        path = _in_run_directory(path, direction)
    return path


def _in_run_directory(path, direction):
    """The file or SavedModel of a run directory to load: its newest checkpoint, else its exported generator."""
    checkpoints = rundir.RunDir(path).checkpoints()
    if checkpoints:
        return checkpoints[-1][1]
    names = ["generator", _DIRECTION_FILES[direction or "AtoB"]]
    for name in names:
        keras_file, saved_model = rundir.RunDir(path).generator_paths(name)
        if os.path.isfile(keras_file):
            return keras_file
        if os.path.isfile(os.path.join(saved_model, "saved_model.pb")):
            return saved_model
    raise TranslationError(
        f"{path} holds no checkpoints/*.keras and no exported generator ({', '.join(n + '.keras' for n in names)}): "
        "is it a run directory of a pix2pix or cyclegan run?"
    )


def _one_way(source, direction, own=None):
    # A model of one direction: --direction may only name that one (a CycleGAN's exported half).
    if direction is not None and direction != own:
        what = f"translates {own} only" if own else "translates one way (a Pix2Pix, or one generator)"
        raise TranslationError(
            f"--direction={direction}: {source} {what}; leave out --direction"
            + (f" (or use its generator_{'ba' if own == 'AtoB' else 'ab'} for {direction})." if own else
               " (a Pix2Pix run's direction is fixed by its training config).")
        )


def _own_direction(path):
    name = os.path.splitext(os.path.basename(path))[0]
    return {v: k for k, v in _DIRECTION_FILES.items()}.get(name)


def _keras_translator(path, direction):
    if not zipfile.is_zipfile(path):
        raise TranslationError(f"{path} is not a .keras archive (not a zip file): is it truncated or corrupt?")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for bad files
        raise TranslationError(f"Could not load {path}: {first_line(err)}") from err
    name = type(model).__name__
    if name == "CycleGAN":
        direction = direction or "AtoB"
        generator = model.generator_ab if direction == "AtoB" else model.generator_ba
        source = f"{path} ({direction})"
    elif name == "Pix2Pix":
        _one_way(path, direction)
        generator, source = model.generator, path
    elif isinstance(model, keras.Model) and takes_images(model):
        _one_way(path, direction, _own_direction(path))
        generator, source = model, path
    elif _from_noise(model):
        raise TranslationError(
            f"--input translates images, and {path} holds a {name} that generates images from noise: leave out "
            "--input and --direction to sample it, or give --checkpoint a pix2pix or cyclegan run."
        )
    else:
        raise TranslationError(
            f"{path} holds a {name} that is no translator (it does not map images to images of their size): give "
            "--checkpoint a pix2pix or cyclegan run, its .keras files or its SavedModels."
        )
    generator = float32_generator(generator)

    def call(images):
        return in_sample_range(keras.ops.convert_to_numpy(generator(images, training=False)), generator)

    return Translator(call, generator.input_shape[1:], generator.output_shape[1:], source)


def _from_noise(model):
    from dcgan_keras.gans import GAN

    if isinstance(model, GAN):
        return True
    inputs = getattr(model, "inputs", None) or ()
    return isinstance(model, keras.Model) and len(inputs) >= 1 and len(inputs[0].shape) == 2  # z (batch, latent_dim)


def _saved_model_translator(path, direction):
    try:
        import tensorflow as tf  # only SavedModels need it
    except ImportError as err:
        raise TranslationError(
            f"{path} is a TensorFlow SavedModel, and reading one needs TensorFlow, which is not installed: pip "
            "install tensorflow, or translate with the run's .keras file or a checkpoint."
        ) from err
    try:
        loaded = tf.saved_model.load(path)
    except Exception as err:  # TF raises many types for unreadable SavedModels
        raise TranslationError(f"Could not load the SavedModel at {path}: {first_line(err)}") from err
    signature = getattr(loaded, "signatures", {}).get("serving_default")
    inputs = signature.structured_input_signature[1] if signature is not None else {}
    spec = inputs.get("image")
    if spec is None or spec.shape.rank != 4 or len(inputs) != 1:
        raise TranslationError(
            f"--input translates images, and the SavedModel at {path} does not take one `image` input (its "
            f"serving_default takes {sorted(inputs)}): a model that generates from noise is sampled without --input."
        )
    _one_way(path, direction, _own_direction(path))
    (key, out_spec), = signature.structured_outputs.items()

    def call(images):
        # The signature holds a weak reference to its variables: `loaded` is kept alive by this closure.
        return loaded.signatures["serving_default"](image=tf.constant(images))[key].numpy().astype("float32")

    return Translator(call, [int(d) for d in spec.shape[1:]], [int(d) for d in out_spec.shape[1:]], path)


# ------------------------------------------------------------------- inputs


def load_inputs(path, shape):
    """(names, float32 images in [-1, 1]) from an image file, a folder of images or an `.npz`.

    Args:
        path: the input.
        shape: (H, W, C) the translator takes: image files are resized to it
            when square; their channels (1: grayscale, 3: colour) must match.

    Raises:
        TranslationError: nothing to read, or images of the wrong channel
            count, shape or range.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise TranslationError(f"--input={path} does not exist.")
    if path.lower().endswith(".npz"):
        return _npz_inputs(path, shape)
    if os.path.isdir(path):
        files = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_EXTENSIONS) and not n.startswith("."))
        if not files:
            raise TranslationError(f"--input={path} holds no image files ({', '.join(IMAGE_EXTENSIONS)}).")
        paths = [os.path.join(path, n) for n in files]
    else:
        paths = [path]
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    return names, np.stack([_image_input(p, shape) for p in paths])


def _channels_message(what, found, expected):
    kinds = {1: "grayscale (1 channel)", 3: "colour (3 channels)"}
    return (f"{what} is {kinds.get(found, f'{found} channels')}, and the translator takes {kinds[expected]} "
            f"images: convert {'it' if found in kinds else 'them'} to {'grayscale' if expected == 1 else 'RGB'} first.")


def _image_input(path, shape):
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image.load()
    except Exception as err:  # PIL raises OSError, ValueError, SyntaxError... on bad files
        raise TranslationError(f"Cannot read the image {path} ({type(err).__name__}: {err}).") from err
    size, channels = shape[0], shape[-1]
    found = 1 if image.mode in _GRAY_MODES else 3
    if found != channels:
        raise TranslationError(_channels_message(path, found, channels))
    if image.size[0] != image.size[1]:
        raise TranslationError(
            f"{path} is {image.size[0]}x{image.size[1]}, and the translator takes square {size}x{size} images: crop "
            "it to a square first (of a side-by-side pair, its left or right half)."
        )
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    pixels = np.asarray(image, np.uint8).reshape(size, size, channels)
    return pixels.astype("float32") / np.float32(127.5) - np.float32(1.0)


def _npz_inputs(path, shape):
    try:
        with np.load(path) as archive:
            keys = list(archive.keys())
            key = "images" if "images" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise TranslationError(f"--input={path} holds {keys}: name the images array `images`.")
            images = archive[key]
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise TranslationError(f"Cannot read --input={path}: {err}") from err
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != shape[-1]:
        if images.ndim == 4:
            raise TranslationError(_channels_message(f"--input={path}'s `{key}`", images.shape[-1], shape[-1]))
        raise TranslationError(f"--input={path}'s `{key}` has shape {images.shape}; expected (N, *{tuple(shape)}).")
    if tuple(images.shape[1:]) != tuple(shape):
        raise TranslationError(f"--input={path}'s images are {images.shape[1:]}; the translator takes {tuple(shape)}.")
    if images.dtype == np.uint8:
        floats = images.astype("float32") / np.float32(127.5) - np.float32(1.0)
    else:
        floats = images.astype("float32")
        if not (np.isfinite(floats).all() and floats.min(initial=0) >= -1.0 and floats.max(initial=0) <= 1.0):
            raise TranslationError(f"--input={path}'s images must be uint8, or floats in [-1, 1].")
    return [f"{i:06d}" for i in range(len(floats))], floats


# ------------------------------------------------------------------ outputs


def write_translations(inputs, outputs, names, out, overwrite=False):
    """Writes the translations where `out` says; returns the kind written ("png", "npz" or "dir").

    Args:
        inputs, outputs: float32 images in [-1, 1], one output per input.
        names: the inputs' names (a directory's PNGs take them).
        out: `x.png` (input | output pairs, one a row), `x.npz` (uint8
            `images`, and `names`), or a new or empty directory.
        overwrite: allow replacing an existing `.png` or `.npz`.
    """
    kind = check_output(out, overwrite)
    outputs = to_uint8(outputs)
    if kind == "png":
        inputs = to_uint8(inputs)
        channels = max(inputs.shape[-1], outputs.shape[-1])
        pairs = [np.repeat(x, channels, axis=-1) if x.shape[-1] < channels else x for x in (inputs, outputs)]
        save_png(make_grid(np.stack(pairs, axis=1).reshape((-1,) + pairs[1].shape[1:]), cols=2), out)
    elif kind == "npz":
        with rundir.writing(out) as tmp, open(tmp, "wb") as f:
            np.savez(f, images=outputs, names=np.asarray(names))
    else:
        _write_named_pngs(outputs, names, out)
    return kind


def _write_named_pngs(images, names, out_dir):
    # As outputs.write_png_dir: into a sibling temporary folder, renamed into place.
    out_dir = os.fspath(out_dir).rstrip("/" + os.sep) or os.fspath(out_dir)
    tmp = f"{out_dir}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        for image, name in zip(images, names):
            save_png(image, os.path.join(tmp, f"{name}.png"))
        if os.path.isdir(out_dir):
            os.rmdir(out_dir)  # empty (checked)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def describe(path):
    """"pix2pix", "cyclegan" or None: what a run directory or `.keras` file holds, read without loading it.

    For sample.py to tell a translator given no --input from a noise model.
    """
    path = os.fspath(path)
    try:
        if os.path.isdir(path):
            path = _run_of_checkpoints_folder(path)
            with open(os.path.join(path, "config.json")) as f:
                model = json.load(f)["config"].get("model")
            return model if model in ("pix2pix", "cyclegan") else None
        if path.endswith(".keras") and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                name = json.loads(archive.read("config.json")).get("class_name")
            return {"Pix2Pix": "pix2pix", "CycleGAN": "cyclegan"}.get(name)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


# --------------------------------------------------------------- sample.py


#: sample.py's flags that only sampling from noise reads.
NOISE_FLAGS = ("num", "seed", "interpolate", "interp_method", "grid_cols")


def run(flag_values, fail):
    """sample.py with --input or --direction, or with a translator's --checkpoint: translate, or export.

    Args:
        flag_values: sample.py's parsed flags.
        fail: prints `error: message` and exits 2 (`cli.fail`).
    """
    fv = flag_values
    kind = describe(fv.checkpoint)
    noise_flags = [f"--{name}" for name in NOISE_FLAGS if fv[name].present]
    if noise_flags:
        what = f"{fv.checkpoint} is a {kind} run, which translates images" if kind else "--input translates images"
        fail(f"{what}: {', '.join(noise_flags)} {'is' if len(noise_flags) == 1 else 'are'} for models that sample "
             f"from noise; leave {'it' if len(noise_flags) == 1 else 'them'} out.")
    refuse_export_format_alone(fv, fail)
    if fv.input is None and not fv.export:
        fail(f"{fv.checkpoint} holds a {kind or 'translator'}, which translates images: give --input=PATH (an "
             "image, a folder of images or an .npz) and --out.")
    if fv.input is not None and fv.export:
        fail("--export writes the generator and translates nothing; leave out --input (translate in a second command).")
    if fv.export and fv["out"].present:
        fail("--export writes the generator and translates nothing; leave out --out (translate in a second command).")
    try:
        if fv.export:
            return _export(fv)
        check_output(fv.out, fv.overwrite)
        translator = load_translator(fv.checkpoint, fv.direction)
        names, images = load_inputs(fv.input, translator.input_shape)
        outputs = translator(images)
        if not np.isfinite(outputs).all():
            raise TranslationError(f"{translator.source} outputs NaN or infinite values: is it a checkpoint of a "
                                   "diverged run? Translate with an earlier one.")
        write_translations(images, outputs, names, fv.out, fv.overwrite)
    except (TranslationError, ExportError, ValueError, OSError) as err:
        fail(str(err))
    print(f"Translated {len(images)} image(s) with {translator.source} into {fv.out}.")


def _export(fv):
    from dcgan_keras import export

    fmt = export_format(fv.export, fv.export_format)
    if fmt == "onnx":
        export.check_onnx_path(fv.export, fv.overwrite)
    else:
        export.check_export_path(fv.export, fv.overwrite)
    path = _file_of(fv.checkpoint, fv.direction)
    if not path.endswith(".keras"):
        raise TranslationError(f"{path} is already a SavedModel, and --export writes one from a .keras file.")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for bad files
        raise TranslationError(f"{path} does not load as a Keras model ({first_line(err)}): is the file "
                               "damaged? Export from another checkpoint.") from err
    name = type(model).__name__
    if name == "CycleGAN":
        generator = model.generator_ab if (fv.direction or "AtoB") == "AtoB" else model.generator_ba
    elif name == "Pix2Pix":
        _one_way(path, fv.direction)
        generator = model.generator
    else:
        _one_way(path, fv.direction, _own_direction(path))
        generator = model
    write = export.export_onnx if fmt == "onnx" else export.export_saved_model
    written = write(generator, fv.export, overwrite=fv.overwrite)
    print(f"Exported the generator of {path}{' (' + fv.direction + ')' if fv.direction else ''} to {written} "
          f"({fmt}).")
