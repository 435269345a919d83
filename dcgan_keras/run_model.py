"""A run's GAN: built from its config, or loaded from its newest good checkpoint.

The config names the model (`model`, "dcgan" by default); each `GAN` subclass
builds itself from a config (`from_run_config`) and says what a checkpoint
found in the run must match (`run_identity`).

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
from dcgan_keras.gans import MODELS
from dcgan_keras.generators import float32_config
from dcgan_keras.rundir import GENERATOR_NAMES, RunDirError


def build_model(config, data=None):
    """The compiled GAN a config describes, seeded by `config.seed`.

    Seeds Keras's global RNGs with `config.seed` first, so the same config
    builds the same initial weights. Builds under whatever dtype policy and
    distribution scope are current; `train` sets both from the config.

    Args:
        config: a checked `Config`, e.g. from `resolve_config`.
        data: the run's data set, for what the config leaves to it (a
            conditional model's classes), or None.

    Returns:
        The compiled `GAN` of `config.model` (a `DCGAN` by default), with
        Adam optimizers at the config's learning rates and betas.

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
        return model_class(config).from_run_config(config, data)
    except ValueError as err:
        raise ConfigError(f"The model config is invalid: {err}") from err


def model_class(config):
    """The `GAN` subclass a config trains (`config.model`; "dcgan" when it names none).

    Example:
        >>> from dcgan_keras.config import resolve_config
        >>> model_class(resolve_config("synthetic")).__name__
        'DCGAN'
    """
    name = getattr(config, "model", "dcgan")
    if name not in MODELS:
        raise ConfigError(f"Unknown model {name!r}. Expected one of {sorted(MODELS)}.")
    return MODELS[name]


def build_or_load_model(config, run, say, data=None):
    """A new model (epoch 0), or the newest checkpoint of `run` that loads, and its epoch.

    Damaged checkpoints are warned about and skipped for an older one; a
    checkpoint of another run (latent size, image shape) is refused.

    Args:
        config: the run's checked `Config`.
        run: the resumed run's `RunDir`, or None for a new model.
        say: prints a status line.
        data: the run's data set (see `build_model`).

    Returns:
        (a compiled `GAN`, the number of epochs it has trained).

    Raises:
        RunDirError: no checkpoint loads, or one is not this run's.

    Example:
        >>> gan, epoch = build_or_load_model(config, RunDir(workdir), print)  # doctest: +SKIP
    """
    if run is None:
        return build_model(config, data), 0
    checkpoints = run.checkpoints()
    if not checkpoints:
        say(f"{run.path} has no complete checkpoint yet: starting again from epoch 0.")
        return build_model(config, data), 0
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
        expected = model_class(config)
        if not isinstance(gan, expected):
            raise RunDirError(
                f"{path} holds a {type(gan).__name__}, not a {expected.__name__} checkpoint as this run's "
                "config trains. Move it out of the run's checkpoints/ folder, or resume the run it came from."
            )
        _check_checkpoint_fits(gan, path, config, run, data)
        if _model_precision(gan) != config.mixed_precision:
            gan = _with_precision(gan, config, data)
        return gan, epoch
    raise RunDirError(f"None of the checkpoints in {run.checkpoints_dir} could be loaded (see warnings).")


def _check_checkpoint_fits(gan, path, config, run, data=None):
    # config.json matched, but a checkpoint file of another run can still sit
    # in checkpoints/: training on would fail epochs later, after writing.
    try:
        expected = gan.run_identity(config, data)
    except ValueError as err:
        raise ConfigError(f"The model config is invalid: {err}") from err
    found = gan.run_identity()
    differing = [
        f"{key} {found[key]} (the run's config: {expected[key]})" for key in expected if found[key] != expected[key]
    ]
    if differing:
        raise RunDirError(
            f"{path} is not a checkpoint of this run: its {', '.join(differing)}. Move it out of "
            f"{run.checkpoints_dir} to resume from the checkpoint before it."
        )


def _model_precision(gan):
    """The mixed policy a built GAN's layers compute in, or "float32".

    Only the output layers pin float32 (images, logits), so any other
    policy found is the one the model was built under.
    """
    mixed = gan._policies() - {"float32"}
    return mixed.pop() if len(mixed) == 1 else "float32"


def _with_precision(loaded, config, data=None):
    """`loaded`'s state in a DCGAN built under the current global policy.

    A checkpoint restores the dtype policies it was saved with, so a resume
    that changes precision builds the model anew and copies the weights,
    RNG states and both optimizers' slots over (all float32). Loss scaling
    starts afresh when the new precision is mixed_float16.
    """
    gan = build_model(config, data)
    groups = [(loaded.variables, gan.variables)] + [
        (_inner_optimizer(getattr(loaded, name)).variables, _inner_optimizer(getattr(gan, name)).variables)
        for name in (f"{name}_optimizer" for name in gan.optimizer_names)
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

    For a model that exports one generator; `plain_generators` gives each of several.

    Args:
        gan: the trained `GAN`.
        config: the run's `Config` (its precision and distribution).

    Example:
        >>> generator = plain_generator(gan, config)  # doctest: +SKIP
    """
    exported = plain_generators(gan, config)
    if len(exported) != 1:
        raise ValueError(
            f"{type(gan).__name__} exports {len(exported)} generators ({', '.join(exported)}): use plain_generators."
        )
    return next(iter(exported.values()))


def plain_generators(gan, config):
    """{name: the trained generator as a float32 model on one device}, for each generator the model exports.

    Mixed precision and a data-parallel layout serve training; an exported
    generator computes in float32 on whatever device loads it, with the same
    (float32) weights. The generators are the ones the model exports
    (`GAN.exported_generators`: a DCGAN's "generator", its moving average
    where kept; a CycleGAN's "generator_ab" and "generator_ba"), each rebuilt
    from its own config outside any distribution scope.

    Args:
        gan: the trained `GAN`.
        config: the run's `Config` (its precision and distribution).

    Example:
        >>> sorted(plain_generators(cyclegan, config))  # doctest: +SKIP
        ['generator_ab', 'generator_ba']
    """
    exported = gan.exported_generators()
    unknown = sorted(set(exported) - set(GENERATOR_NAMES))
    if unknown:
        raise ValueError(f"{type(gan).__name__} exports {', '.join(unknown)}; a run writes {', '.join(GENERATOR_NAMES)}.")
    if config.distribute == "none" and config.mixed_precision == "float32":
        return dict(exported)
    return {name: _float32_copy(trained) for name, trained in exported.items()}


def _float32_copy(trained):
    with precision("float32"):
        generator = trained.__class__.from_config(float32_config(trained.get_config()))
    for source, target in zip(trained.variables, generator.variables):
        target.assign(keras.ops.convert_to_numpy(source))
    return generator
