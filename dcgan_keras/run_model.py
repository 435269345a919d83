"""A run's DCGAN: built from its config, or loaded from its newest good checkpoint.

`train` builds or loads the model here, under the run's dtype policy and
distribution scope, and takes from here the plain float32 generator it writes
at the end. A checkpoint restores the precision it was saved in, so a resume
that changes `mixed_precision` rebuilds the model and copies the state over.

Example:
    >>> from dcgan_keras.config import resolve_config
    >>> gan = build_model(resolve_config("synthetic"))
    >>> gan.image_shape
    (28, 28, 1)
"""

import warnings
import zipfile

import keras

from dcgan_keras.config import ConfigError
from dcgan_keras.distribute import precision
from dcgan_keras.gan import DCGAN
from dcgan_keras.models import build_discriminator, build_generator
from dcgan_keras.rundir import RunDirError


def build_model(config):
    """The compiled DCGAN a config describes, seeded by `config.seed`.

    Seeds Keras's global RNGs with `config.seed` first, so the same config
    builds the same initial weights. Builds under whatever dtype policy and
    distribution scope are current; `train` sets both from the config.

    Args:
        config: a checked `Config`, e.g. from `resolve_config`.

    Returns:
        A compiled `DCGAN` with Adam optimizers at the config's learning
        rates and `beta_1`.

    Raises:
        ConfigError: the model arguments do not fit together (the message
            has Keras's reason).

    Example:
        >>> from dcgan_keras.config import resolve_config
        >>> gan = build_model(resolve_config("synthetic"))
        >>> gan.image_shape, gan.latent_dim
        ((28, 28, 1), 8)
    """
    keras.utils.set_random_seed(config.seed)
    try:
        generator = build_config_generator(config)
        discriminator = build_discriminator(
            image_size=config.image_size,
            channels=config.channels,
            filters=config.d_filters,
            kernel_size=config.kernel_size,
            dropout=config.dropout,
            batch_norm=config.d_batch_norm,
            bn_momentum=config.bn_momentum,
            # Seeded dropout: torch's global RNG would not be in the checkpoint.
            seed=config.seed,
        )
        gan = DCGAN(
            discriminator=discriminator,
            generator=generator,
            latent_dim=config.latent_dim,
            d_steps=config.d_steps,
            label_smoothing=config.label_smoothing,
            seed=config.seed,
            update=config.update,
            ema_momentum=config.ema or None,
        )
    except ValueError as err:
        raise ConfigError(f"The model config is invalid: {err}") from err
    gan.compile(
        d_optimizer=keras.optimizers.Adam(config.d_learning_rate, beta_1=config.beta_1),
        g_optimizer=keras.optimizers.Adam(config.g_learning_rate, beta_1=config.beta_1),
        loss_fn=config.loss,
        jit_compile=config.jit_compile,
    )
    return gan


def build_config_generator(config):
    """The generator a config describes, unseeded: `build_model`'s, or the exported one's shape.

    Args:
        config: a checked `Config`.

    Example:
        >>> from dcgan_keras.config import resolve_config
        >>> build_config_generator(resolve_config("synthetic")).output_shape
        (None, 28, 28, 1)
    """
    return build_generator(
        latent_dim=config.latent_dim,
        image_size=config.image_size,
        channels=config.channels,
        filters=config.g_filters,
        kernel_size=config.kernel_size,
        bn_momentum=config.bn_momentum,
    )


def build_or_load_model(config, run, say):
    """A new model (epoch 0), or the newest checkpoint of `run` that loads, and its epoch.

    Damaged checkpoints are warned about and skipped for an older one; a
    checkpoint of another run (latent size, image shape) is refused.

    Args:
        config: the run's checked `Config`.
        run: the resumed run's `RunDir`, or None for a new model.
        say: prints a status line.

    Returns:
        (a compiled `DCGAN`, the number of epochs it has trained).

    Raises:
        RunDirError: no checkpoint loads, or one is not this run's.

    Example:
        >>> gan, epoch = build_or_load_model(config, RunDir(workdir), print)  # doctest: +SKIP
    """
    if run is None:
        return build_model(config), 0
    checkpoints = run.checkpoints()
    if not checkpoints:
        say(f"{run.path} has no complete checkpoint yet: starting again from epoch 0.")
        return build_model(config), 0
    # The seeds of anything not in the checkpoint (there should be nothing).
    keras.utils.set_random_seed(config.seed)
    for epoch, path in reversed(checkpoints):
        if not zipfile.is_zipfile(path):  # Keras would call it "File not found"
            warnings.warn(f"Cannot load checkpoint {path}: not a .keras archive (truncated?); trying an older one.")
            continue
        try:
            # Under float32, the checkpoint's own policies and optimizers come
            # back as saved (a mixed_float16 default would wrap a saved plain
            # Adam in loss scaling and skip its state).
            with precision("float32"):
                gan = keras.saving.load_model(path)
        except Exception as err:  # a damaged file: an older one may still load
            warnings.warn(f"Cannot load checkpoint {path} ({type(err).__name__}: {err}); trying an older one.")
            continue
        if not isinstance(gan, DCGAN):
            raise RunDirError(f"{path} holds a {type(gan).__name__}, not a DCGAN checkpoint.")
        _check_checkpoint_fits(gan, path, config, run)
        if _model_precision(gan) != config.mixed_precision:
            gan = _with_precision(gan, config)
        return gan, epoch
    raise RunDirError(f"None of the checkpoints in {run.checkpoints_dir} could be loaded (see warnings).")


def _check_checkpoint_fits(gan, path, config, run):
    # config.json matched, but a checkpoint file of another run can still sit
    # in checkpoints/: training on would fail epochs later, after writing.
    expected = {
        "latent_dim": config.latent_dim, "image shape": (config.image_size, config.image_size, config.channels),
    }
    found = {"latent_dim": gan.latent_dim, "image shape": tuple(gan.image_shape)}
    differing = [
        f"{key} {found[key]} (the run's config: {expected[key]})" for key in expected if found[key] != expected[key]
    ]
    if differing:
        raise RunDirError(
            f"{path} is not a checkpoint of this run: its {', '.join(differing)}. Move it out of "
            f"{run.checkpoints_dir} to resume from the checkpoint before it."
        )


def _model_precision(gan):
    """The mixed policy a built DCGAN's layers compute in, or "float32".

    Only the output layers pin float32 (images, logits), so any other
    policy found is the one the model was built under.
    """
    layers = gan.generator.layers + gan.discriminator.layers
    mixed = {layer.dtype_policy.name for layer in layers} - {"float32"}
    return mixed.pop() if len(mixed) == 1 else "float32"


def _with_precision(loaded, config):
    """`loaded`'s state in a DCGAN built under the current global policy.

    A checkpoint restores the dtype policies it was saved with, so a resume
    that changes precision builds the model anew and copies the weights,
    RNG states and both optimizers' slots over (all float32). Loss scaling
    starts afresh when the new precision is mixed_float16.
    """
    gan = build_model(config)
    groups = [(loaded.variables, gan.variables)] + [
        (_inner_optimizer(getattr(loaded, name)).variables, _inner_optimizer(getattr(gan, name)).variables)
        for name in ("d_optimizer", "g_optimizer")
    ]
    for old, new in groups:
        if len(old) != len(new) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(old, new)):
            raise RunDirError(
                "The checkpoint's model does not match the config's, so its precision cannot be "
                f"changed; resume with the run's mixed_precision={_model_precision(loaded)!r}."
            )
    for old, new in groups:
        for source, target in zip(old, new):
            target.assign(keras.ops.convert_to_numpy(source))
    return gan


def _inner_optimizer(optimizer):
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.inner_optimizer
    return optimizer


def plain_generator(gan, config):
    """The trained generator (its moving average, where kept), as a float32 model on one device.

    Args:
        gan: the trained `DCGAN`.
        config: the run's `Config` (its precision and distribution).

    Example:
        >>> generator = plain_generator(gan, config)  # doctest: +SKIP

    Mixed precision and a data-parallel layout serve training; the exported
    generator computes in float32 on whatever device loads it, with the same
    (float32) weights.
    """
    trained = gan.sampling_generator
    if config.distribute == "none" and config.mixed_precision == "float32":
        return trained
    with precision("float32"):
        generator = build_config_generator(config)
    for source, target in zip(trained.variables, generator.variables):
        target.assign(keras.ops.convert_to_numpy(source))
    return generator
