"""Training configuration: the defaults, presets that change a few of them, and checks.

A run is described by one flat `Config`. The defaults below are the DCGAN
paper's recipe on 28x28 grayscale images; a preset (`configs/NAME.py`)
defines `get_config()` returning only the keys it changes, each with its
reason, and command-line flags override single keys on top:

    defaults  <-  configs/NAME.py  <-  flags  =  the resolved config (config.json)

This module itself imports neither Keras nor a backend (the package's
`__init__`, which importing it runs first, does).

Example:
    >>> config = resolve_config("mnist", overrides={"epochs": 5})
    >>> config.lr, config.epochs
    (0.0002, 5)
"""

import dataclasses
import difflib
import importlib.util
import math
import numbers
import os
import typing

#: Where the presets live: `configs/` beside the package.
PRESETS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")

_IMAGE_SIZES = (28, 32, 64, 128, 256)
#: The noise models' networks (models.py) stop at 128; the translators' (U-Net, PatchGAN) run from 32 to 256.
_NOISE_IMAGE_SIZES = (28, 32, 64, 128)
_TRANSLATION_IMAGE_SIZES = (32, 64, 128, 256)
#: The GAN losses by name (dcgan_keras.losses.LOSSES holds their functions;
#: tests/test_losses.py checks the two name the same ones).
LOSSES = ("non_saturating", "minimax", "least_squares", "hinge", "focal", "wgan_gp")
G_ARCHITECTURES = ("transposed", "upsample")
D_ARCHITECTURES = ("strided", "blocks3x3")
LATENT_DISTRIBUTIONS = ("normal", "uniform")
#: The GANs a run trains (`model`): dcgan_keras.gans.MODELS holds their classes
#: (tests/test_config_family.py checks the two name the same ones).
MODEL_NAMES = ("dcgan", "conditional", "pix2pix", "cyclegan")
#: The models that translate images rather than generate them from noise.
TRANSLATION_MODELS = ("pix2pix", "cyclegan")
#: How a conditional model feeds the label (dcgan_keras.networks.CONDITIONINGS).
CONDITIONINGS = ("concat", "projection")
#: Which side of a pair a Pix2Pix run translates from (dcgan_keras.data.paired.DIRECTIONS).
DIRECTIONS = ("AtoB", "BtoA")
#: The adversarial losses a CycleGAN run takes (non_saturating is its "bce").
CYCLEGAN_LOSSES = ("least_squares", "non_saturating", "focal")
# The lists of choices live here, in a module that imports no Keras, so that
# train.py's flags (made from FLAG_HELP below) can use them before the
# backend is picked; dcgan_keras.distribute imports them. dcgan_keras.gan has
# its own UPDATES (tests/test_train_cli.py checks they are equal).
UPDATES = ("sequential", "simultaneous")
DISTRIBUTE_MODES = ("none", "data_parallel")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
#: The keys a resumed run may change: how long it trains, how it is
#: computed (a checkpoint moves between device counts and precisions), and
#: where the data set's files are (moved since, or named from another folder).
RESUMABLE_CHANGES = ("epochs", "distribute", "mixed_precision", "data_dir")


class ConfigError(ValueError):
    """A preset, key or value the training run cannot use; the message names it and the fix.

    Example:
        >>> resolve_config("mnist", overrides={"batchsize": 64})
        Traceback (most recent call last):
        dcgan_keras.config.ConfigError: Unknown config key(s) in the overrides: batchsize (did you mean batch_size?). ...
    """


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything that decides what a training run computes.

    Two runs with equal configs (and the same backend and device count)
    compute the same thing; `--resume` refuses a config that differs from
    the run's in any key but those of `RESUMABLE_CHANGES`.

    Make one with `make_config` or `resolve_config`: they check every value
    and name the bad ones, where `Config(...)` itself checks nothing.

    Args:
        dataset ... mixed_precision: one keyword argument per field (`FIELDS`
            lists them), in groups: data, model, optimization, outputs, and
            devices and precision. A field left out keeps its default; the
            comments beside the fields say why the defaults are what they are.
            `make_config` takes `image_size` and `channels`, where left out,
            from the data set (cifar10: 32 and 3; `Config`'s 28 and 1 are
            MNIST's).

    Example:
        >>> config = make_config({"lr": 1e-3, "g_lr": 5e-4})
        >>> config.d_learning_rate, config.g_learning_rate
        (0.001, 0.0005)
    """

    # Data: what `dcgan_keras.data.load_dataset` is asked for.
    dataset: str = "mnist"
    data_dir: typing.Optional[str] = None
    data_options: dict = dataclasses.field(default_factory=dict)
    image_size: int = 28
    channels: int = 1
    limit: typing.Optional[int] = None

    # Model: which GAN (`model`), then `build_generator` / `build_discriminator`
    # arguments; None picks the architecture models.py chose for the image size.
    model: str = "dcgan"
    # A conditional model's classes: None takes the data set's (its labels).
    num_classes: typing.Optional[int] = None
    # Chosen by measurement: on MNIST (mnist_conditional, torch, 3 seeds) the judge read the
    # asked digit on 0.987 of samples with projection's D against concat's 0.970, FID 2.5
    # for both (bench/QUALITY.md, "Twelfth check"); TensorFlow and JAX 0.988 and 0.985
    # ("Thirteenth check").
    conditioning: str = "projection"
    latent_dim: int = 100
    g_filters: typing.Optional[tuple] = None
    d_filters: typing.Optional[tuple] = None
    kernel_size: typing.Optional[int] = None
    # The TensorFlow tutorial's discriminator dropout: keeps D from outrunning G early.
    dropout: float = 0.3
    d_batch_norm: typing.Optional[bool] = None
    # Not Keras's 0.99: the moving statistics, which generate() and the export use,
    # must follow a generator that changes every step (bench/QUALITY.md, "Reading and conclusion").
    bn_momentum: float = 0.9
    # build_generator(architecture=) and build_discriminator(architecture=,
    # spectral_norm=): the DCGAN's strided networks unless a preset says otherwise.
    g_architecture: str = "transposed"
    d_architecture: str = "strided"
    spectral_norm: bool = False
    # z ~ N(0, I), or uniform in [-1, 1] as one of the write-ups draws it.
    latent_distribution: str = "normal"

    # Translation models (model="pix2pix" or "cyclegan"): the U-Net / ResNet
    # generators' and PatchGANs' first-block filters (None: the papers' 64),
    # and the papers' random jitter (resize by 286/256, random crop, mirror).
    filters: typing.Optional[int] = None
    jitter: bool = False
    # The pix2pix/CycleGAN code's linear decay: constant for the first half of
    # the epochs, then linearly to 0 (dcgan_keras.schedules.LinearDecay).
    lr_decay: bool = False
    # Pix2Pix: the L1 term's weight (the paper's 100); which side of a pair is
    # the input (None: the named set's own, facades BtoA; else AtoB); the
    # input images' channels (None: `channels`, the targets').
    l1_weight: float = 100.0
    direction: typing.Optional[str] = None
    in_channels: typing.Optional[int] = None
    # CycleGAN: the paper's cycle weight, identity weight (relative to the
    # cycle's) and image pool.
    cycle_weight: float = 10.0
    identity_weight: float = 0.5
    pool_size: int = 50
    residual_blocks: typing.Optional[int] = None  # None: the paper's (6 up to 128 px, 9 above)

    # Optimization: Adam(lr, beta_1=0.5) for both networks and batch 128, as in
    # the DCGAN paper (beta_1=0.9 oscillates there); on MNIST this recipe beats
    # the TensorFlow tutorial's by far (bench/QUALITY.md, "Results: 5 epoch(s)").
    # Label smoothing stays off: it did not lift class coverage reliably
    # ("Sixth check"); the mnist preset samples from a moving average of G instead.
    loss: str = "non_saturating"
    lr: float = 2e-4
    d_lr: typing.Optional[float] = None
    g_lr: typing.Optional[float] = None
    beta_1: float = 0.5
    # Adam's beta_2 (Keras's default); wgan_gp's paper recipe takes 0.9.
    beta_2: float = 0.999
    # Decoupled weight decay of both Adams (AdamW-style, Keras's `weight_decay`); 0: off.
    weight_decay: float = 0.0
    batch_size: int = 128
    epochs: int = 25
    steps_per_epoch: typing.Optional[int] = None
    d_steps: int = 1
    # "sequential": D, then G through the updated D (pytorch/examples);
    # "simultaneous": both from one forward pass (the TensorFlow tutorial).
    update: str = "sequential"
    label_smoothing: float = 0.0
    # Instance noise: the std of Gaussian noise added to every image D sees,
    # annealed linearly to 0 over instance_noise_steps GAN steps; 0: off.
    instance_noise: float = 0.0
    instance_noise_steps: typing.Optional[int] = None
    # Momentum of an exponential moving average of G's weights, which then
    # makes the samples and the exported generator (DCGAN(ema_momentum=)); 0: off.
    ema: float = 0.0
    seed: int = 0
    jit_compile: typing.Union[str, bool] = "auto"

    # Outputs.
    num_samples: int = 64
    grid_cols: typing.Optional[int] = None
    gif_frame_ms: int = 200
    checkpoints_to_keep: int = 3
    fid_every: int = 0
    fid_num_samples: int = 1000
    fid_extractor: str = "inception"

    # Devices and precision: how the steps are computed, not what they
    # compute (up to rounding). "data_parallel" splits each global batch of
    # `batch_size` images across all visible devices (dcgan_keras.distribute);
    # the mixed policies keep weights, BatchNorm statistics, logits and
    # losses in float32.
    distribute: str = "none"
    mixed_precision: str = "float32"

    def to_dict(self):
        """A JSON-ready dict (tuples become lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @property
    def d_learning_rate(self):
        return self.lr if self.d_lr is None else self.d_lr

    @property
    def g_learning_rate(self):
        return self.lr if self.g_lr is None else self.g_lr


FIELDS = tuple(f.name for f in dataclasses.fields(Config))
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config) if f.default is not dataclasses.MISSING}


# ---------------------------------------------------------------- checking


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _int(minimum, optional=False, maximum=None):
    def check(value):
        if value is None and optional:
            return None
        if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
            return f"an int {bounds}{' or None' if optional else ''}"
        return None

    check.kind, check.bounds = int, (minimum, maximum)
    return check


def _float(low, high, low_open=False, high_open=False, optional=False):
    def check(value):
        if value is None and optional:
            return None
        ok = _is_number(value) and math.isfinite(value)
        ok = ok and (value > low if low_open else value >= low)
        ok = ok and (value < high if high_open else value <= high)
        if not ok:
            interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
            return f"a number in {interval}{' or None' if optional else ''}"
        return None

    check.kind, check.bounds = float, (low, high)
    return check


def _choice(choices, optional=False):
    def check(value):
        if value is None and optional:
            return None
        if value not in choices:
            return f"one of {', '.join(map(repr, choices))}{' or None' if optional else ''}"
        return None

    check.choices = choices
    return check


def _int_choice(choices, optional=False):
    # As _choice, but a command-line flag of its own is an int (absl's enums are strings).
    def check(value):
        if value is None and optional:
            return None
        if not _is_int(value) or value not in choices:
            return f"one of {', '.join(map(repr, choices))}{' or None' if optional else ''}"
        return None

    check.kind, check.bounds = int, (min(choices), max(choices))
    return check


def _filters(value):
    if value is None:
        return None
    if (
        not isinstance(value, (tuple, list))
        or not value
        or not all(_is_int(v) and v >= 1 for v in value)
    ):
        return "None or a non-empty sequence of ints >= 1, e.g. (64, 128)"
    return None


def _string(optional=False):
    def check(value):
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            return f"a non-empty string{' or None' if optional else ''}"
        return None

    check.kind = str
    return check


def _dict(value):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return "a dict with string keys"
    return None


def _bool(optional=False):
    def check(value):
        if value is None and optional:
            return None
        if not isinstance(value, bool):
            return f"True or False{' or None' if optional else ''}"
        return None

    check.kind = bool  # a --flag / --noflag on the command line
    return check


_INF = math.inf
_CHECKS = {
    "dataset": _string(),
    "data_dir": _string(optional=True),
    "data_options": _dict,
    "image_size": _int_choice(_IMAGE_SIZES),
    "channels": _int_choice((1, 3)),
    "limit": _int(1, optional=True),
    "model": _choice(MODEL_NAMES),
    "num_classes": _int(2, optional=True),
    "conditioning": _choice(CONDITIONINGS),
    "latent_dim": _int(1),
    "g_filters": _filters,
    "d_filters": _filters,
    "kernel_size": _int(1, optional=True),
    "dropout": _float(0.0, 1.0, high_open=True),
    "d_batch_norm": _bool(optional=True),
    "bn_momentum": _float(0.0, 1.0, high_open=True),
    "g_architecture": _choice(G_ARCHITECTURES),
    "d_architecture": _choice(D_ARCHITECTURES),
    "spectral_norm": _bool(),
    "latent_distribution": _choice(LATENT_DISTRIBUTIONS),
    "filters": _int(1, optional=True),
    "jitter": _bool(),
    "lr_decay": _bool(),
    "l1_weight": _float(0.0, _INF, high_open=True),
    "direction": _choice(DIRECTIONS, optional=True),
    "in_channels": _int_choice((1, 3), optional=True),
    "cycle_weight": _float(0.0, _INF, high_open=True),
    "identity_weight": _float(0.0, _INF, high_open=True),
    "pool_size": _int(0),
    "residual_blocks": _int(0, optional=True),
    "loss": _choice(LOSSES),
    "beta_2": _float(0.0, 1.0, high_open=True),
    "weight_decay": _float(0.0, _INF, high_open=True),
    "instance_noise": _float(0.0, _INF, high_open=True),
    "instance_noise_steps": _int(1, optional=True),
    "lr": _float(0.0, _INF, low_open=True, high_open=True),
    "d_lr": _float(0.0, _INF, low_open=True, high_open=True, optional=True),
    "g_lr": _float(0.0, _INF, low_open=True, high_open=True, optional=True),
    "beta_1": _float(0.0, 1.0, high_open=True),
    "batch_size": _int(1),
    "epochs": _int(1),
    "steps_per_epoch": _int(1, optional=True),
    "d_steps": _int(1),
    "update": _choice(UPDATES),
    "label_smoothing": _float(0.0, 1.0, high_open=True),  # 0.1: real target 0.9; DCGAN warns from 0.5
    "ema": _float(0.0, 1.0, high_open=True),
    "seed": _int(0, maximum=2**32 - 1),  # Keras's seeds are uint32
    "jit_compile": _choice(("auto", True, False)),
    "num_samples": _int(1),
    "grid_cols": _int(1, optional=True),
    "gif_frame_ms": _int(1),
    "checkpoints_to_keep": _int(1),
    "fid_every": _int(0),
    "fid_num_samples": _int(2),
    "fid_extractor": _string(),
    "distribute": _choice(DISTRIBUTE_MODES),
    "mixed_precision": _choice(PRECISIONS),
}
assert set(_CHECKS) == set(FIELDS), "every Config field needs a check"


# ---------------------------------------------------------------- flags

#: The Config fields train.py offers as flags, with their help. Names, types,
#: choices and bounds come from the fields and their checks (`flag_specs`),
#: so each is written once; the default shown is Config's.
FLAG_HELP = {
    "data_dir": "Where the data set's files are (overrides the preset).",
    "epochs": "Epochs in all (with --resume: train on to this many).",
    "batch_size": "Real images per step.",
    "image_size": "Side of the (square) images trained on: 28, 32, 64 or 128 (dcgan, conditional); 32 to 256 "
                  "(pix2pix, cyclegan).",
    "channels": "Channels of the images: 1 (grayscale) or 3 (RGB); a pix2pix run's targets.",
    "num_samples": "Images of each epoch's sample grid (pix2pix: held-out pairs, one a row; cyclegan: images of "
                   "each domain).",
    "model": "The GAN: dcgan (unconditional), conditional (class-conditional DCGAN: trains on a labelled "
             "data set's images and labels, samples a class on request), pix2pix (paired image-to-image "
             "translation) or cyclegan (unpaired translation between two domains).",
    "filters": "pix2pix and cyclegan: the generator's and discriminator's first-block filters (the papers' 64).",
    "jitter": "pix2pix and cyclegan: the papers' random jitter (resize by 286/256, random crop back, mirror).",
    "lr_decay": "pix2pix and cyclegan: learning rate constant for the first half of --epochs, then linearly to 0 "
                "(the papers' schedule; fixed when the run starts).",
    "l1_weight": "pix2pix: weight of the L1 term in G's loss (the paper's 100).",
    "direction": "pix2pix: AtoB (the left / A/ image is the input) or BtoA (default: the data set's own, facades "
                 "BtoA, else AtoB).",
    "in_channels": "pix2pix: channels of the input images, 1 or 3 (default --channels, the targets').",
    "cycle_weight": "cyclegan: weight of the cycle-consistency loss (the paper's 10; 0: off).",
    "identity_weight": "cyclegan: weight of the identity loss, relative to --cycle_weight (the paper's 0.5; 0: off).",
    "pool_size": "cyclegan: past fakes each discriminator's image pool keeps (the paper's 50; 0: no pool).",
    "residual_blocks": "cyclegan: residual blocks of each ResNet generator (default: the paper's 6 up to 128 px, "
                       "9 above; pytorch-CycleGAN-and-pix2pix's resnet_6blocks / resnet_9blocks).",
    "num_classes": "A conditional model's number of classes (default: the data set's).",
    "conditioning": "How a conditional model's D reads the label: projection (a label embedding dotted with "
                    "D's features, Miyato and Koyama; the default, measured) or concat (one-hot maps stacked on "
                    "D's input, keras.io). G joins the one-hot label to z for both.",
    "latent_dim": "Size of the noise vector z.",
    "lr": "Adam learning rate of both networks.",
    "d_steps": "Discriminator updates per generator update.",
    "update": "sequential: D, then G through the updated D, as pytorch/examples. simultaneous: both from one "
              "forward pass, as the TensorFlow tutorial (faster per step; needs --d_steps=1).",
    "label_smoothing": "One-sided smoothing of the real labels: 0.1 makes the real target 0.9.",
    "loss": "The GAN loss: non_saturating (BCE), minimax, least_squares (Mao et al.), hinge (SNGAN), focal, "
            "wgan_gp (Gulrajani et al.: use with --d_steps=5, --lr=1e-4, --beta_1=0, --beta_2=0.9 and a critic "
            "without BatchNorm, as the mnist_wgan_gp preset does).",
    "d_lr": "The discriminator's learning rate (default --lr).",
    "g_lr": "The generator's learning rate (default --lr).",
    "beta_2": "Adam's beta_2 for both networks.",
    "weight_decay": "Decoupled weight decay of both optimizers (0: off).",
    "g_architecture": "transposed: strided transposed convolutions (DCGAN). upsample: bilinear upsampling then "
                      "3x3 convolutions, against checkerboard artifacts.",
    "d_architecture": "strided: strided convolutions (DCGAN). blocks3x3: two stride-1 and one stride-2 3x3 "
                      "convolution per block.",
    "spectral_norm": "Spectral normalization of the discriminator's layers (Miyato et al.).",
    "latent_distribution": "The distribution of z: normal N(0, I), or uniform in [-1, 1].",
    "instance_noise": "Std of Gaussian noise added to every image D sees, annealed to 0 (0: off).",
    "instance_noise_steps": "GAN steps over which --instance_noise anneals to 0.",
    "ema": "Momentum of a moving average of G's weights that makes the samples and the exported generator, "
           "e.g. 0.99 (the mnist preset's); 0: off.",
    "seed": "Seed of the weights, noise, dropout and data order (Keras's seeds are uint32).",
    "steps_per_epoch": "Cap on the steps of an epoch, for quick runs.",
    "fid_every": "Compute FID every this many epochs (0: never).",
    "fid_extractor": "FID's features: 'inception' (InceptionV3, downloads ImageNet weights once), or a classifier "
                     "saved by dcgan_keras.metrics.train_mnist_classifier (.weights.h5 or .keras): cheaper and "
                     "more telling on MNIST-like data.",
    "fid_num_samples": "Generated images per FID evaluation, and real images (a seeded random subset) they are "
                       "compared with.",
    "distribute": "data_parallel: split each global batch of --batch_size images across all visible devices "
                  "(jax and tensorflow; several hosts: jax with the multi-host flags).",
    "mixed_precision": "Compute precision; weights, BatchNorm statistics, logits and losses stay float32 "
                       "(mixed_float16 adds loss scaling). mixed_float16 is for GPUs: on a CPU it is slower than "
                       "float32 (up to 45x; a warning says so); mixed_bfloat16 is not.",
}


@dataclasses.dataclass(frozen=True)
class FlagSpec:
    """One command-line flag made from a Config field (see `flag_specs`)."""

    name: str
    kind: type  # str, int, float; with `choices`, an enum of them
    help: str
    choices: typing.Optional[tuple] = None
    lower: typing.Optional[float] = None  # inclusive; an open end is refused by the config's check
    upper: typing.Optional[float] = None


def flag_specs(names=None):
    """The FlagSpec of each field in `names` (default: FLAG_HELP's), from the field's check and default.

    Example:
        >>> spec = flag_specs(["update"])[0]
        >>> spec.kind.__name__, spec.choices
        ('str', ('sequential', 'simultaneous'))
    """
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}
    specs = []
    for name in FLAG_HELP if names is None else names:
        check = _CHECKS[name]
        default = defaults[name]
        shown = "unset" if default is None else default
        help_text = f"{FLAG_HELP[name]} Default: the preset's, else {shown}."
        if getattr(check, "choices", None) is not None:
            specs.append(FlagSpec(name, str, help_text, choices=tuple(check.choices)))
            continue
        kind = getattr(check, "kind", str)
        lower, upper = getattr(check, "bounds", (None, None))
        lower = None if lower is not None and math.isinf(lower) else lower
        upper = None if upper is not None and math.isinf(upper) else upper
        specs.append(FlagSpec(name, kind, help_text, lower=lower, upper=upper))
    return specs


def check_keys(values, where):
    """Raises ConfigError naming the keys of `values` that Config does not have.

    Each unknown key comes with the closest known one, since most are typos.

    Args:
        values: a dict (or any iterable) of config keys.
        where: names their source in the message, e.g. "configs/mnist.py".

    Example:
        >>> check_keys({"lr": 1e-3}, "the flags")  # all known: returns None
        >>> check_keys({"batchsize": 64}, "the flags")
        Traceback (most recent call last):
        dcgan_keras.config.ConfigError: Unknown config key(s) in the flags: batchsize (did you mean batch_size?). ...
    """
    unknown = sorted(set(values) - set(FIELDS))
    if not unknown:
        return
    described = []
    for key in unknown:
        close = difflib.get_close_matches(key, FIELDS, n=1)
        described.append(f"{key} (did you mean {close[0]}?)" if close else key)
    raise ConfigError(
        f"Unknown config key(s) in {where}: {', '.join(described)}. "
        f"Known keys: {', '.join(FIELDS)}."
    )


def make_config(values, where="the config"):
    """A checked `Config` from a dict of (some) keys; the rest keep their defaults.

    Args:
        values: {key: value}; lists are accepted where tuples are (JSON).
        where: names the source in error messages, e.g. "configs/mnist.py".

    Raises:
        ConfigError: naming every unknown key and every bad value.

    Example:
        >>> make_config({"dataset": "cifar10", "image_size": 32, "channels": 3}).channels
        3
    """
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a dict of config keys, got {type(values).__name__}.")
    check_keys(values, where)
    values = dict(values)
    # Paths are recorded absolute: a resume from another working directory finds the same files.
    if isinstance(values.get("data_dir"), str) and values["data_dir"]:
        values["data_dir"] = os.path.abspath(os.path.expanduser(values["data_dir"]))
    if isinstance(values.get("fid_extractor"), str) and values["fid_extractor"] not in ("", "inception"):
        values["fid_extractor"] = os.path.abspath(os.path.expanduser(values["fid_extractor"]))
    for key in ("g_filters", "d_filters"):
        if isinstance(values.get(key), list):
            values[key] = tuple(values[key])
    problems = []
    for key, value in values.items():
        expected = _CHECKS[key](value)
        if expected:
            problems.append(f"{key} must be {expected}, got {value!r}")
    if values.get("update") == "simultaneous" and values.get("d_steps", 1) != 1:
        problems.append(
            f"update='simultaneous' takes one D update per step, so d_steps must be 1, got "
            f"{values['d_steps']!r} (use update='sequential' for several)"
        )
    if values.get("instance_noise") and not values.get("instance_noise_steps"):
        problems.append(
            f"instance_noise={values['instance_noise']!r} anneals to 0 over instance_noise_steps GAN steps, "
            "so instance_noise_steps must be set too (e.g. epochs x steps per epoch)"
        )
    problems += _model_key_problems(values)
    if values.get("dataset") == "synthetic" and values.get("data_dir"):
        # Accepted, it would be recorded in config.json as if it were read.
        problems.append(f"dataset 'synthetic' draws its images and reads no files, so data_dir must be "
                        f"unset, got {values['data_dir']!r}")
    if problems:
        raise ConfigError(f"Bad value(s) in {where}: " + "; ".join(problems) + ".")
    # Ints where floats are expected: 1 and 1.0 are the same config, and
    # config.json comparisons must agree.
    for key in ("dropout", "bn_momentum", "lr", "d_lr", "g_lr", "beta_1", "beta_2", "weight_decay", "label_smoothing",
                "instance_noise", "l1_weight", "cycle_weight", "identity_weight"):
        if values.get(key) is not None:
            values[key] = float(values[key])
    for key, value in values.items():
        if _is_int(value):
            values[key] = int(value)
    values.setdefault("data_options", {})
    values["data_options"] = dict(values["data_options"])
    _default_shape_from_dataset(values)
    return Config(**values)


#: The keys only some models read, by the models that read them: any other
#: model refuses them set, since it would ignore them.
_MODEL_KEYS = {
    **{key: TRANSLATION_MODELS for key in ("filters", "jitter", "lr_decay")},
    **{key: ("pix2pix",) for key in ("l1_weight", "direction", "in_channels")},
    **{key: ("cyclegan",) for key in ("cycle_weight", "identity_weight", "pool_size", "residual_blocks")},
    **{key: ("conditional",) for key in ("num_classes", "conditioning")},
    # The noise models' networks and game, which the translators' U-Net,
    # ResNet and PatchGAN (the papers' own, sized by `filters`) do not take.
    **{key: ("dcgan", "conditional") for key in (
        "latent_dim", "g_filters", "d_filters", "kernel_size", "dropout", "d_batch_norm", "bn_momentum",
        "d_steps", "label_smoothing", "ema", "fid_every")},
    # The DCGAN's options that the conditional step and networks do not take (yet).
    **{key: ("dcgan",) for key in (
        "g_architecture", "d_architecture", "spectral_norm", "latent_distribution", "update", "instance_noise",
        "instance_noise_steps")},
}


def recorded_values(values):
    """A run's recorded config (its config.json's "config") without the keys its model does not read.

    A run records every key, the ones its model ignores at the defaults of
    their day. Dropped, they take today's, so a default changed since (the
    conditioning became "projection") neither makes an older run's record
    invalid nor counts as a change on --resume.

    Args:
        values: {key: value} as recorded, with its "model" (default "dcgan").

    Returns:
        A new dict: `values` less the keys only other models read.

    Example:
        >>> recorded_values({"model": "dcgan", "lr": 1e-3, "conditioning": "concat"})
        {'model': 'dcgan', 'lr': 0.001}
    """
    model = values.get("model", "dcgan")
    return {key: value for key, value in values.items() if key not in _MODEL_KEYS or model in _MODEL_KEYS[key]}


def _model_key_problems(values):
    """What `values` sets that its model does not read, and the image sizes and losses it cannot train."""
    model = values.get("model", "dcgan")
    if model not in MODEL_NAMES:
        return []  # its own check names it
    problems = []
    for key, models in _MODEL_KEYS.items():
        if model not in models and key in values and values[key] != _DEFAULTS[key]:
            problems.append(f"{key} is read by model {' and '.join(map(repr, models))} only, but model is "
                            f"{model!r} (leave {key} out)")
    size = values.get("image_size")
    if model in TRANSLATION_MODELS and size is None:
        problems.append(f"model {model!r} needs image_size ({', '.join(map(str, _TRANSLATION_IMAGE_SIZES))}; the "
                        "papers' 256)")
    sizes = _TRANSLATION_IMAGE_SIZES if model in TRANSLATION_MODELS else _NOISE_IMAGE_SIZES
    if size in _IMAGE_SIZES and size not in sizes:
        problems.append(f"model {model!r} trains at image_size {', '.join(map(str, sizes))}, got {size!r}")
    loss = values.get("loss", _DEFAULTS["loss"])
    if model == "cyclegan" and loss in LOSSES and loss not in CYCLEGAN_LOSSES:
        problems.append(f"model 'cyclegan' takes loss {', '.join(map(repr, CYCLEGAN_LOSSES))} (least_squares is "
                        f"the paper's), got {loss!r}")
    if model == "conditional" and loss == "wgan_gp":
        problems.append("loss='wgan_gp' is the DCGAN's: the conditional model's critic has no gradient penalty "
                        "on labelled interpolates yet (pick least_squares or hinge, or train model='dcgan')")
    if model == "pix2pix" and loss == "wgan_gp":
        problems.append("model 'pix2pix' takes no gradient penalty: loss='wgan_gp' would train without it; use "
                        "non_saturating (the paper's) or least_squares")
    return problems


def _default_shape_from_dataset(values):
    # Config's 28x28x1 is MNIST's: a preset {"dataset": "cifar100"} that leaves
    # the shape out means CIFAR's 32x32 RGB, not CIFAR shrunk to gray digits.
    if "dataset" not in values or ("image_size" in values and "channels" in values):
        return
    from dcgan_keras.data import DataError
    from dcgan_keras.data.registry import default_shape  # only now: it imports every loader

    try:
        shape = default_shape(values["dataset"])
    except DataError:
        return  # an unknown name: the data loader names it, with the known ones
    if shape is None:
        raise ConfigError(
            f"dataset {values['dataset']!r} holds images of any shape: set image_size and channels "
            "(e.g. 64 and 3) to say what to train at."
        )
    values.setdefault("image_size", shape[0])
    values.setdefault("channels", shape[1])


# ------------------------------------------------------------------ presets


def list_presets():
    """The preset names `resolve_config` accepts: the files in configs/.

    Example:
        >>> "mnist" in list_presets()
        True
    """
    if not os.path.isdir(PRESETS_DIR):
        return []
    return sorted(
        name[:-3]
        for name in os.listdir(PRESETS_DIR)
        if name.endswith(".py") and not name.startswith("_")
    )


def preset_path(name):
    """The file of preset `name` ("mnist" -> configs/mnist.py); ConfigError if there is none.

    Args:
        name: a preset name: a file name in configs/, without ".py".

    Returns:
        The preset file's absolute path.

    Raises:
        ConfigError: `name` is not a plain name, or has no file; the message
            says when it is a data set that no preset trains, or suggests
            the closest preset.

    Example:
        >>> os.path.basename(preset_path("mnist"))
        'mnist.py'
    """
    if not isinstance(name, str) or not name or os.sep in name or "/" in name:
        raise ConfigError(f"A preset name is a file name in configs/, got {name!r}.")
    path = os.path.join(PRESETS_DIR, f"{name}.py")
    if not os.path.isfile(path):
        from dcgan_keras.data.registry import list_datasets  # only now: it imports every loader

        if name in list_datasets():
            raise ConfigError(
                f"No preset {name!r}: {name} is a data set that no preset in {PRESETS_DIR} trains. "
                f"Write a preset file whose get_config() returns {{'dataset': {name!r}, 'image_size': ..., "
                f"'channels': ...}} (configs/mnist.py is one) and pass --config=PATH."
            )
        close = difflib.get_close_matches(name, list_presets(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"No preset {name!r}: known presets are {', '.join(list_presets())} "
            f"(files in {PRESETS_DIR}); pass --config=PATH for another file.{hint}"
        )
    return path


def load_preset(path):
    """The overrides a preset file returns from its `get_config()`.

    The file is imported as a module of its own (no exec into our globals),
    so a preset is plain Python: comments, imports and helpers work.

    Args:
        path: a `.py` file defining `get_config()` -> dict.

    Raises:
        ConfigError: the file is missing, fails to import, has no
            `get_config`, or returns unknown keys or bad values.

    Example:
        >>> load_preset("configs/cifar10.py")["image_size"]  # from the repository root  # doctest: +SKIP
        32
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"Config file {path} does not exist.")
    name = "dcgan_keras_preset_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"Config file {path} is not a Python file (expected NAME.py).")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # a user's file: any error is theirs to fix
        raise ConfigError(f"Config file {path} failed to import: {type(err).__name__}: {err}") from err
    get_config = getattr(module, "get_config", None)
    if not callable(get_config):
        raise ConfigError(f"Config file {path} must define get_config() returning a dict.")
    try:
        values = get_config()
    except Exception as err:  # the user's code, as an import error is
        raise ConfigError(f"get_config() in {path} failed: {type(err).__name__}: {err}") from err
    if not isinstance(values, dict):
        raise ConfigError(
            f"get_config() in {path} must return a dict, got {type(values).__name__}."
        )
    check_keys(values, path)
    return dict(values)


def resolve_config(preset=None, config_path=None, overrides=None, base=None, base_name="the config"):
    """Defaults (or `base`) <- a preset <- overrides, checked, as a `Config`.

    Args:
        preset: a preset name (configs/NAME.py), or None.
        config_path: a preset file anywhere, instead of `preset`.
        overrides: {key: value} applied last (the command-line flags); None
            values are ignored, so unset flags change nothing.
        base: a dict of values to start from instead of the defaults (a run's
            recorded config, when resuming).
        base_name: what error messages call `base` (e.g. its config.json).

    Raises:
        ConfigError: naming the preset, keys or values at fault.

    Example:
        >>> resolve_config("synthetic", overrides={"epochs": 2, "seed": None}).epochs
        2
    """
    if preset is not None and config_path is not None:
        raise ConfigError("Pass a preset name or a config file, not both.")
    values = dict(base or {})
    where = base_name
    if preset is not None or config_path is not None:
        path = preset_path(preset) if config_path is None else os.fspath(config_path)
        values.update(load_preset(path))
        where = path
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    check_keys(overrides, "the overrides")
    values.update(overrides)
    return make_config(values, where=where if not overrides else f"{where} with overrides")


def config_differences(a, b, ignore=("epochs",)):
    """The keys whose values differ between two configs (Config or dict), sorted.

    Args:
        a, b: `Config`s, or dicts of (some) keys, checked by `make_config`
            with the rest at their defaults.
        ignore: keys not compared; the default leaves out `epochs`, and
            `--resume` passes `RESUMABLE_CHANGES`.

    Raises:
        ConfigError: a dict with unknown keys or bad values.

    Example:
        >>> config_differences(Config(lr=1e-3), Config(lr=2e-4, epochs=3))
        ['lr']
    """
    a = a.to_dict() if isinstance(a, Config) else make_config(a).to_dict()
    b = b.to_dict() if isinstance(b, Config) else make_config(b).to_dict()
    return sorted(k for k in FIELDS if k not in ignore and a[k] != b[k])
