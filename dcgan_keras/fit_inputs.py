"""What `DCGAN.fit` checks in what it is given, before any step runs.

A GAN fed images outside its generator's range, or batches of one image
through BatchNorm, trains without an error and learns nothing; these checks
refuse or warn about that up front, each naming the fix. Datasets are read
ahead by one batch where that consumes nothing.
"""

import inspect
import sys
import types
import warnings

import numpy as np
import keras
from keras import ops

from dcgan_keras.data.batches import Batches
from dcgan_keras.data.dataset import ImageDataset
from dcgan_keras.models import output_range


def check(gan, x, fit_args, fit_kwargs):
    """Refuses or warns about what `gan.fit(x, *fit_args, **fit_kwargs)` would train wrongly on.

    See `GAN.fit` for the checks. Which parts of a batch are images, and
    whose output range they must share, the GAN declares (`inputs`,
    `range_of`).

    Args:
        gan: the `GAN` about to be fitted.
        x, fit_args, fit_kwargs: `fit`'s arguments.

    Returns:
        The data to give `keras.Model.fit` in place of `x` (a Python
        generator whose first batch was read yields it again first).

    Example:
        >>> x = check(gan, images, (), {"batch_size": 64})  # doctest: +SKIP
    """
    owner = type(gan).__name__
    arguments = _fit_arguments(fit_args, fit_kwargs)
    given = [name for name in ("validation_data", "validation_split") if _asks_for(arguments, name)]
    if given:
        raise ValueError(
            f"{owner}.fit takes no {' or '.join(given)}: a GAN has no validation loss to report "
            "(D's and G's losses measure each other). Measure samples instead, e.g. FID with "
            "dcgan_keras.metrics (train.py --fid_every)."
        )
    weights = [name for name in ("sample_weight", "class_weight") if arguments.get(name) is not None]
    if weights:
        raise ValueError(
            f"{owner}.fit takes no {' or '.join(weights)}: each step's losses are means over real and "
            "generated images, with no per-image loss to weight"
            + (" (Keras would ignore sample_weight)" if "sample_weight" in weights else "")
            + ". To favour some images, draw them more often in the data."
        )
    _check_callbacks(arguments.get("callbacks") or (), owner, len(gan.optimizer_names))
    # Here, not at construction: a frozen GAN may still be saved, loaded and sampled.
    _check_trainable(owner, gan.networks)
    maker = getattr(gan, gan.range_of) if gan.range_of else None
    if isinstance(x, ImageDataset):
        raise ValueError(
            "fit takes batches: pass dataset.batches(batch_size) (shuffled, scaled to [-1, 1]), "
            "not the dataset itself."
        )
    images = _array_images(x, gan.inputs)
    y = arguments.get("y")
    if images is not None and gan.inputs in ("pairs", "unpaired") and y is not None:
        images = images + (_array_images(y) or [])  # fit(inputs, targets)
    if images is not None:
        for part in images:
            _check_real_range(part, maker)
        images = images[0]
        batch_size = arguments.get("batch_size") or 32  # Keras's default
        count = int(images.shape[0])
        if batch_size == 1 or count == 1 or count % batch_size == 1:
            _warn_of_batches_of_one(gan, f"{count} images in batches of {batch_size} give batches of one image")
        return x
    first, x = _first_batch_images(x, gan.inputs)
    if first is not None:
        for part in first:
            _check_real_range(part, maker)
        if int(first[0].shape[0]) == 1:  # (a last batch of one cannot be seen ahead)
            _warn_of_batches_of_one(gan, "The data's first batch holds one image")
    return x


def _check_callbacks(callbacks, owner="DCGAN", optimizers=2):
    if isinstance(callbacks, keras.callbacks.CallbackList):  # fit takes one; it is not iterable
        callbacks = callbacks.callbacks
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.TerminateOnNaN):
            raise ValueError(
                f"keras.callbacks.TerminateOnNaN watches logs['loss'], which a {owner} does not log (it "
                "logs each network's loss): it would never stop. Use "
                "dcgan_keras.callbacks.DivergenceMonitor(), which stops at the first NaN or infinite loss."
            )
        if isinstance(callback, keras.callbacks.ModelCheckpoint) and not callback.save_weights_only:
            check_save_path(callback.filepath, owner, optimizers)


def check_save_path(filepath, owner="DCGAN", optimizers=2):
    """Refuses a legacy HDF5 path for a whole GAN: that format holds one optimizer.

    Args:
        filepath: where `save` (or a `ModelCheckpoint`) would write.
        owner: the GAN's class name, for the message.
        optimizers: how many optimizers it has.

    Example:
        >>> check_save_path("gan.keras")
    """
    if str(filepath).endswith((".h5", ".hdf5")):
        raise ValueError(
            f"Cannot save a {owner} to {str(filepath)!r}: the legacy HDF5 format holds one optimizer, and a "
            f"{owner} has {_COUNTS.get(optimizers, optimizers)}. Save to a .keras file (every network and "
            "optimizer, the RNG state), or "
            "the weights alone with save_weights('NAME.weights.h5') (ModelCheckpoint: save_weights_only=True)."
        )


_COUNTS = {2: "two", 3: "three", 4: "four"}

# keras.Model.fit's parameters after x: what GAN.fit(x, *args) passes positionally.
_FIT_PARAMETERS = tuple(inspect.signature(keras.Model.fit).parameters)[2:]


def _fit_arguments(fit_args, fit_kwargs):
    """{name: value} of the arguments a `fit(x, *fit_args, **fit_kwargs)` call gives after x."""
    return {**dict(zip(_FIT_PARAMETERS, fit_args)), **fit_kwargs}


def _asks_for(arguments, name):
    # validation_split=0.0 is Keras's default, validation_data=None too.
    value = arguments.get(name)
    return bool(value) if name == "validation_split" else value is not None


def _array_images(x, inputs="images"):
    """The image arrays of `fit`'s data when they are arrays or tensors (batch, H, W, C), else None.

    Only those are checked ahead: reading a dataset ahead would consume it.
    Of (images, labels), the images; of image pairs or two domains, both.
    """
    parts = list(x[:2]) if inputs in ("pairs", "unpaired") and isinstance(x, (tuple, list)) else [x]
    if isinstance(parts[0], (tuple, list)) and parts[0]:
        parts = [parts[0][0]]
    found = [p for p in parts if (isinstance(p, np.ndarray) or ops.is_tensor(p)) and len(p.shape) == 4 and p.shape[0]]
    return found if found and len(found) == len(parts) else None


_NO_BATCH = object()  # none read: none to read, or not to be read ahead


def _first_batch_images(x, inputs="images"):
    """The images of the first batch of a dataset or generator `fit` was given, and what to give `fit`.

    A `tf.data.Dataset`, a `keras.utils.PyDataset` and a torch `DataLoader`
    over a map-style dataset start again when `fit` iterates them, so reading
    their first batch consumes nothing (a DataLoader's random state is put
    back, so it shuffles as it would have; a shuffled tf.data pipeline's
    cannot be, so its epochs start one shuffle later, as reproducibly). A
    Python generator would lose that batch, so `fit` gets one that yields it
    again first (Keras reads a generator's first batches so too). Not read:
    `Batches`, which scales its images itself; a tf.data `.cache()`, which a
    partial read would make TensorFlow warn about; a PyDataset with
    `use_multiprocessing`, whose worker processes would inherit what reading
    it here opened. Images None when the data is none of these, or its first
    batch cannot be read or is not (batch, H, W, C) images: `fit` reports that.

    Returns:
        (images or None, the data to give `keras.Model.fit`).
    """
    if isinstance(x, Batches):
        return None, x
    if isinstance(x, types.GeneratorType):
        # Its own error, if it raises one, is the one fit would report: not caught.
        batch = next(x, _NO_BATCH)
        if batch is _NO_BATCH:
            return None, x  # empty: Keras says so
        x = _yielding_first(batch, x)
    else:
        try:
            batch = _peek(x)
        except Exception:  # noqa: BLE001 - fit reads the data again and reports its own error
            return None, x
        if batch is _NO_BATCH:
            return None, x
    # A tf.Tensor, or a torch one, off its own backend, as NumPy.
    def own(part):
        return np.asarray(part) if hasattr(part, "numpy") and not ops.is_tensor(part) else part

    if isinstance(batch, (tuple, list)) and batch:
        # (images, labels): the images; (input, target) or (a, b): both.
        batch = [own(p) for p in batch[:2]] if inputs in ("pairs", "unpaired") else own(batch[0])
    else:
        batch = own(batch)
    return _array_images(batch, inputs), x


def _peek(x):
    """The first batch of a dataset that starts again when iterated, or _NO_BATCH (see _first_batch_images)."""
    tf, torch = sys.modules.get("tensorflow"), sys.modules.get("torch")
    if tf is not None and isinstance(x, tf.data.Dataset):
        return _NO_BATCH if _reads_a_cache(x) else next(iter(x.take(1)), _NO_BATCH)
    if isinstance(x, keras.utils.PyDataset):
        return _NO_BATCH if x.use_multiprocessing else x[0]
    if (torch is not None and isinstance(x, torch.utils.data.DataLoader)
            and not isinstance(x.dataset, torch.utils.data.IterableDataset)):
        generators = {id(g): g for g in (
            x.generator, getattr(x.sampler, "generator", None),
            getattr(getattr(x.batch_sampler, "sampler", None), "generator", None),
        ) if g is not None}
        # The sampler's shuffle and the workers' seeds come from these: put back after the read.
        global_state = torch.get_rng_state()
        states = {key: g.get_state() for key, g in generators.items()}
        try:
            return next(iter(x), _NO_BATCH)
        finally:
            torch.set_rng_state(global_state)
            for key, state in states.items():
                generators[key].set_state(state)
    return _NO_BATCH


def _reads_a_cache(dataset):
    pending = [dataset]
    while pending:
        dataset = pending.pop()
        if "Cache" in type(dataset).__name__:
            return True
        pending.extend(dataset._inputs())  # tf.data's own walk of a pipeline
    return False


def _yielding_first(first, rest):
    yield first
    yield from rest


def _warn_of_batches_of_one(gan, what):
    # BatchNorm in training mode maps a batch of one image to its offset: G's
    # images stop depending on z, and D sees no image at all.
    if any(isinstance(layer, keras.layers.BatchNormalization)
           for network in gan.networks.values() for layer in network.layers):
        warnings.warn(
            f"{what}, and the networks' BatchNormalization normalizes a single image to its offset in "
            "training: the generator's images stop depending on z in those steps. Use a batch size of 2 "
            "or more that leaves no single image over (or drop the last image).",
            stacklevel=4,  # the caller of DCGAN.fit
        )


def _check_trainable(owner, networks):
    for name, network in networks.items():
        if not network.trainable_weights:
            raise ValueError(
                f"The {name} has no trainable weights ({network.name}.trainable is "
                f"{network.trainable}): {owner} updates each network with its own optimizer, so "
                f"{'both' if len(networks) == 2 else 'all'} stay trainable. "
                "(Keras 2 GANs froze D inside a combined model; there is none here.)"
            )


def _check_real_range(x, generator):
    # A strided sample, so that sorted data shows its whole range.
    bounds = None if generator is None else output_range(generator)
    if bounds is None or not keras.backend.standardize_dtype(x.dtype).startswith(("float", "bfloat")):
        return  # an integer dtype is refused by the step itself, naming the scaling
    sample = ops.convert_to_numpy(x[:: max(1, int(x.shape[0]) // 1000)]).astype("float64")
    low, high = float(np.nanmin(sample)), float(np.nanmax(sample))
    (lo, hi), slack = bounds, 1e-3
    scale = "x / 127.5 - 1" if lo < 0 else "x / 255"
    if low < lo - slack or high > hi + slack:
        raise ValueError(
            f"The real images range over [{low:.4g}, {high:.4g}], but the generator's images lie in "
            f"[{lo:g}, {hi:g}] ({generator.layers[-1].name}): the discriminator would tell them apart by "
            f"range alone. Scale the images into [{lo:g}, {hi:g}]; 0-255 pixels: {scale}."
        )
    if lo < 0 and low >= 0 and high > low:
        warnings.warn(
            f"The real images lie in [0, 1] (sampled: [{low:.4g}, {high:.4g}]) but the generator's in "
            "[-1, 1] (tanh): its negative half would go unused. Scale [0, 1] images with x * 2 - 1.",
            stacklevel=4,  # the caller of DCGAN.fit
        )
