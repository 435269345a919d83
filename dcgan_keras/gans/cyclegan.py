"""CycleGAN: unpaired translation between two domains (Zhu et al., 2017).

Two generators, G: A -> B (`generator_ab`) and F: B -> A (`generator_ba`),
and two discriminators, D_A and D_B, each with its own optimizer. One step,
in pytorch-CycleGAN-and-pix2pix's order:

1. Both generators, from one forward pass: G's loss is its adversarial loss
   against D_B, plus the cycle loss cycle_weight * (|F(G(a)) - a| + |G(F(b)) - b|),
   plus the identity loss identity_weight * cycle_weight * (|G(b) - b| + |F(a) - a|);
   F's the same against D_A. (Each generator's gradient is that of the sum
   of everything: the other's adversarial term does not depend on it. So one
   backward pass of the sum serves both, `seam.minimize_together`: a
   backward pass per generator ran at 0.88-0.98 of a hand-written loop's
   speed, one at 0.94-1.04: bench/RESULTS.md, "Translators".)
2. Each discriminator on real images of its domain against the newest fakes
   mixed with earlier ones from its image pool (`pool_size` > 0), its loss
   halved as in the paper.
"""

import numpy as np
import keras
from keras import ops

from dcgan_keras import backend as seam
from dcgan_keras import losses
from dcgan_keras.gans.base import GAN, unwrap
from dcgan_keras.gans.dcgan import checked_images
from dcgan_keras.gans.image_pool import ImagePool

METRIC_NAMES = ("d_a_loss", "d_b_loss", "g_ab_loss", "g_ba_loss", "cycle_loss", "identity_loss")
DIRECTIONS = ("AtoB", "BtoA")


# The least-squares and focal adversarial losses live here until dcgan_keras.losses
# has them (a parallel change adds them there); `adversarial_losses` prefers those.

def _least_squares_discriminator(real_out, fake_out, label_smoothing=0.0):
    """(D(x) - 1)^2 + D(G(a))^2, averaged (LSGAN, Mao et al.; CycleGAN's default)."""
    real_out, fake_out = ops.cast(real_out, "float32"), ops.cast(fake_out, "float32")
    return ops.mean(ops.square(real_out - (1.0 - label_smoothing))) + ops.mean(ops.square(fake_out))


def _least_squares_generator(fake_out):
    """(D(G(a)) - 1)^2, averaged."""
    return ops.mean(ops.square(ops.cast(fake_out, "float32") - 1.0))


def _focal(labels, logits):
    # Binary focal cross-entropy (Lin et al., 2017; gamma 2, no class balancing) on logits.
    logits = ops.cast(logits, "float32")
    return ops.mean(keras.losses.binary_focal_crossentropy(labels, logits, gamma=2.0, from_logits=True))


def _focal_discriminator(real_out, fake_out, label_smoothing=0.0):
    """Binary focal cross-entropy of D(x) against 1 and of D(fake) against 0, summed."""
    return _focal(ops.ones_like(real_out) * (1.0 - label_smoothing), real_out) + _focal(ops.zeros_like(fake_out), fake_out)


def _focal_generator(fake_out):
    """Binary focal cross-entropy of D(fake) against 1."""
    return _focal(ops.ones_like(fake_out), fake_out)


def adversarial_losses():
    """{name: GANLoss} CycleGAN's `compile(loss_fn=...)` accepts by name.

    "least_squares" (the paper's, the default), "bce" (the TensorFlow
    tutorial's, on logits) and "focal" (binary focal cross-entropy on logits).
    """
    known = {
        "least_squares": losses.GANLoss("least_squares", _least_squares_discriminator, _least_squares_generator),
        "bce": losses.LOSSES["bce"],
        "focal": losses.GANLoss("focal", _focal_discriminator, _focal_generator),
    }
    # The paper's scaling, not dcgan_keras.losses' (whose least squares halves
    # both terms, as Mao et al. write it): CycleGAN halves D's loss itself.
    return known


def _check_weight(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not np.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number >= 0. Received: {name}={value!r}")
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0 (0 turns its loss off). Received: {name}={value!r}")
    return float(value)


def _check_pool_size(pool_size):
    if isinstance(pool_size, bool) or not isinstance(pool_size, (int, np.integer)):
        raise ValueError(f"`pool_size` must be an int >= 0 (0: no pool). Received: pool_size={pool_size!r}")
    if pool_size < 0:
        raise ValueError(f"`pool_size` must be >= 0 (0 turns the pool off). Received: pool_size={pool_size!r}")
    return int(pool_size)


def _check_networks(generator_ab, generator_ba, discriminator_a, discriminator_b):
    shape = lambda s: tuple(s[1:])  # noqa: E731
    a, b = shape(generator_ab.input_shape), shape(generator_ba.input_shape)
    problems = []
    if shape(generator_ab.output_shape) != b:
        problems.append(f"generator_ab makes {shape(generator_ab.output_shape)} from {a}, but generator_ba takes {b}")
    if shape(generator_ba.output_shape) != a:
        problems.append(f"generator_ba makes {shape(generator_ba.output_shape)} from {b}, but generator_ab takes {a}")
    if shape(discriminator_a.input_shape) != a:
        problems.append(f"discriminator_a takes {shape(discriminator_a.input_shape)}, but domain A's images are {a}")
    if shape(discriminator_b.input_shape) != b:
        problems.append(f"discriminator_b takes {shape(discriminator_b.input_shape)}, but domain B's images are {b}")
    if problems:
        raise ValueError(
            "CycleGAN's networks do not fit together: " + "; ".join(problems) + ". Build generator_ab A -> B, "
            "generator_ba B -> A, discriminator_a on A's images and discriminator_b on B's."
        )


@keras.saving.register_keras_serializable(package="dcgan_keras")
class CycleGAN(GAN):
    """Unpaired image-to-image translation: two generators, two discriminators, four optimizers.

    Trained by `fit` on `(images_a, images_b)` batches drawn independently
    from the two domains, in [-1, 1]. Compile with `compile(loss_fn=...)`
    ("least_squares", the default; "bce"; "focal") and, optionally, any of
    the four optimizers (`g_ab_optimizer=`, `g_ba_optimizer=`,
    `d_a_optimizer=`, `d_b_optimizer=`; each defaults to Adam(2e-4,
    beta_1=0.5), as in the paper). `fit` reports `d_a_loss`, `d_b_loss`,
    `g_ab_loss` and `g_ba_loss` (the generators' adversarial terms),
    `cycle_loss` and `identity_loss` (weighted, as they enter the loss).

    Args:
        generator_ab: G, a Keras model, images of A -> images of B (any
            network: `build_resnet_generator`, a U-Net, your own).
        generator_ba: F, images of B -> images of A.
        discriminator_a: D_A, images of A -> a score per image or per patch.
        discriminator_b: D_B, images of B -> scores.
        cycle_weight: lambda of the cycle loss (the paper's 10); 0 turns it off.
        identity_weight: the identity loss's weight, relative to
            `cycle_weight` (the paper's 0.5); 0 turns it off.
        pool_size: past fakes each discriminator's pool keeps (the paper's
            50); 0 turns the pools off.
        seed: seed of the pool's random choices.
        **kwargs: passed to `keras.Model`, e.g. `name`.

    Example:
        >>> from dcgan_keras.networks import build_resnet_generator
        >>> gan = CycleGAN(generator_ab=build_resnet_generator(256, 3), generator_ba=build_resnet_generator(256, 3),
        ...                discriminator_a=d_a, discriminator_b=d_b)  # doctest: +SKIP
        >>> gan.compile()  # doctest: +SKIP
        >>> gan.fit(data.batches(1, seed=0), epochs=200, shuffle=False)  # doctest: +SKIP
    """

    network_names = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")
    optimizer_targets = {
        "g_ab": ("generator_ab",), "g_ba": ("generator_ba",),
        "d_a": ("discriminator_a",), "d_b": ("discriminator_b",),
    }
    step_optimizer = "g_ab"
    adversaries = ("discriminator_a", "discriminator_b")
    metric_names = METRIC_NAMES
    inputs = "unpaired"
    range_of = "generator_ab"

    def __init__(self, generator_ab, generator_ba, discriminator_a, discriminator_b, cycle_weight=10.0,
                 identity_weight=0.5, pool_size=50, seed=None, **kwargs):
        networks = {"generator_ab": generator_ab, "generator_ba": generator_ba,
                    "discriminator_a": discriminator_a, "discriminator_b": discriminator_b}
        self_cycle_weight = _check_weight("cycle_weight", cycle_weight)
        self_identity_weight = _check_weight("identity_weight", identity_weight)
        pool_size = _check_pool_size(pool_size)
        super().__init__(networks, seed=seed, **kwargs)
        _check_networks(generator_ab, generator_ba, discriminator_a, discriminator_b)
        self.cycle_weight, self.identity_weight, self.pool_size = self_cycle_weight, self_identity_weight, pool_size
        self.pool_a = ImagePool(pool_size, self.shape_a, name="pool_a") if pool_size else None
        self.pool_b = ImagePool(pool_size, self.shape_b, name="pool_b") if pool_size else None

    def extra_config(self):
        return {"cycle_weight": self.cycle_weight, "identity_weight": self.identity_weight,
                "pool_size": self.pool_size}

    @property
    def shape_a(self):
        """(H, W, C) of domain A's images."""
        return tuple(self.generator_ab.input_shape[1:])

    @property
    def shape_b(self):
        """(H, W, C) of domain B's images."""
        return tuple(self.generator_ba.input_shape[1:])

    def compile(self, optimizers=None, loss_fn="least_squares", jit_compile="auto", **kwargs):
        """Sets the four optimizers and the adversarial loss.

        Args:
            optimizers: {name: optimizer} for any of "g_ab", "g_ba", "d_a",
                "d_b" (or `<name>_optimizer=`); the others get Adam(2e-4,
                beta_1=0.5). A learning-rate schedule such as
                `dcgan_keras.schedules.LinearDecay` gives the paper's decay.
            loss_fn: "least_squares" (the default), "bce", "focal", None
                (the default), or a `GANLoss`.
            jit_compile, **kwargs: as `GAN.compile`.

        Example:
            >>> gan.compile(loss_fn="focal", d_a_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))  # doctest: +SKIP
        """
        if loss_fn is None:
            loss_fn = "least_squares"
        known = adversarial_losses()
        if isinstance(loss_fn, str):
            if loss_fn not in known:
                raise ValueError(
                    f"Unknown CycleGAN loss {loss_fn!r}. Expected one of {sorted(known)}, or a GANLoss."
                )
            resolved = known[loss_fn]
        elif isinstance(loss_fn, losses.GANLoss):
            resolved = loss_fn
        else:
            raise ValueError(
                f"CycleGAN's `loss_fn` is a name in {sorted(known)} or a GANLoss. Received: loss_fn={loss_fn!r}"
            )
        super().compile(optimizers=optimizers, loss_fn=resolved, jit_compile=jit_compile, **kwargs)
        # Saved by name, so that loading resolves it here again.
        self.loss_fn = loss_fn

    # --------------------------------------------------------------- the game

    def unpack_batch(self, data):
        data = unwrap(data)
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError(
                "CycleGAN.fit takes (images_a, images_b) batches: one batch of each domain. Received "
                f"{type(data).__name__}" + (f" of {len(data)} parts." if isinstance(data, (tuple, list)) else ".")
            )
        return (checked_images(data[0], self.shape_a, "CycleGAN (domain A)"),
                checked_images(data[1], self.shape_b, "CycleGAN (domain B)"))

    def train_batch(self, batch):
        """One step on (real_a, real_b): both generators, then D_A and D_B; returns the six metrics."""
        real_a, real_b = batch
        _, (fake_a, fake_b, adv_ab, adv_ba, cycle, identity) = seam.minimize_together(
            lambda: self._generator_loss(real_a, real_b),
            [(self.generator_ab.trainable_variables, self.g_ab_optimizer),
             (self.generator_ba.trainable_variables, self.g_ba_optimizer)],
        )
        shown_a = self.pool_a.query(fake_a, self.seed_generator) if self.pool_a is not None else fake_a
        shown_b = self.pool_b.query(fake_b, self.seed_generator) if self.pool_b is not None else fake_b
        d_a_loss, _ = seam.minimize(
            self._discriminator_loss(self.discriminator_a, real_a, shown_a),
            self.discriminator_a.trainable_variables, self.d_a_optimizer,
        )
        d_b_loss, _ = seam.minimize(
            self._discriminator_loss(self.discriminator_b, real_b, shown_b),
            self.discriminator_b.trainable_variables, self.d_b_optimizer,
        )
        return {"d_a_loss": d_a_loss, "d_b_loss": d_b_loss, "g_ab_loss": adv_ab, "g_ba_loss": adv_ba,
                "cycle_loss": cycle, "identity_loss": identity}

    def _generator_loss(self, real_a, real_b):
        fake_b = seam.forward(self.generator_ab, real_a, training=True)
        fake_a = seam.forward(self.generator_ba, real_b, training=True)
        adv_ab = self.gan_loss.generator(seam.forward(self.discriminator_b, fake_b, training=True))
        adv_ba = self.gan_loss.generator(seam.forward(self.discriminator_a, fake_a, training=True))
        cycle = identity = ops.zeros(())
        if self.cycle_weight:
            back_a = seam.forward(self.generator_ba, fake_b, training=True)
            back_b = seam.forward(self.generator_ab, fake_a, training=True)
            cycle = self.cycle_weight * (_l1(back_a, real_a) + _l1(back_b, real_b))
        if self.cycle_weight and self.identity_weight:
            same_b = seam.forward(self.generator_ab, real_b, training=True)
            same_a = seam.forward(self.generator_ba, real_a, training=True)
            identity = self.identity_weight * self.cycle_weight * (_l1(same_b, real_b) + _l1(same_a, real_a))
        fakes = (ops.stop_gradient(fake_a), ops.stop_gradient(fake_b))
        return adv_ab + adv_ba + cycle + identity, fakes + (adv_ab, adv_ba, cycle, identity)

    def _discriminator_loss(self, discriminator, real, fake):
        def loss():
            real_out = seam.forward(discriminator, real, training=True)
            fake_out = seam.forward(discriminator, fake, training=True)
            # Halved, as in the paper: D then learns at half G's rate.
            return 0.5 * self.gan_loss.discriminator(real_out, fake_out, 0.0), ()
        return loss

    # ------------------------------------------------------------ translating

    def translate(self, images, direction="AtoB", batch_size=32):
        """Translates images of one domain into the other, as a NumPy array in [-1, 1].

        Args:
            images: (N, H, W, C) in [-1, 1] (or one image (H, W, C)).
            direction: "AtoB" (generator_ab) or "BtoA" (generator_ba).
            batch_size: images per generator call.

        Example:
            >>> zebras = gan.translate(horses, direction="AtoB")  # doctest: +SKIP
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"`direction` must be one of {list(DIRECTIONS)}. Received: direction={direction!r}")
        generator, shape = ((self.generator_ab, self.shape_a) if direction == "AtoB"
                            else (self.generator_ba, self.shape_b))
        images = np.asarray(images, dtype="float32")
        single = images.ndim == len(shape)
        if single:
            images = images[None]
        if tuple(images.shape[1:]) != shape:
            raise ValueError(
                f"{direction} translates images of shape {shape}. Received images of shape {tuple(images.shape[1:])}."
            )
        out = [ops.convert_to_numpy(generator(images[i : i + batch_size], training=False))
               for i in range(0, len(images), batch_size)]
        out = np.concatenate(out) if out else np.zeros((0,) + tuple(generator.output_shape[1:]), "float32")
        return out[0] if single else out

    def call(self, images, training=False):
        """G(a): `gan(images)` translates A to B."""
        return self.generator_ab(images, training=training)

    # ------------------------------------------------------- run directories

    def grid_inputs(self, num, seed, data=None):
        """`num` fixed images of each domain, (2, num, H, W, C) in [-1, 1] (C the larger of the two).

        From `data`'s held-out images where it has them (`data.grid_images(num, seed)`,
        an `UnpairedDataset`), else its training images; a domain with fewer
        channels fills the first ones.
        """
        if data is None or not hasattr(data, "grid_images"):
            raise ValueError("CycleGAN's sample grid shows held-out images of each domain: pass the run's data set.")
        a, b = data.grid_images(num, seed)
        channels = max(a.shape[-1], b.shape[-1])
        out = np.zeros((2, num) + a.shape[1:3] + (channels,), "float32")
        out[0, ..., : a.shape[-1]], out[1, ..., : b.shape[-1]] = a, b
        return out

    def grid_images(self, inputs):
        """Rows of real a, G(a), F(G(a)), real b, F(b), G(F(b)); 6 columns."""
        a = inputs[0, ..., : self.shape_a[-1]]
        b = inputs[1, ..., : self.shape_b[-1]]
        fake_b, fake_a = self.translate(a, "AtoB"), self.translate(b, "BtoA")
        columns = [a, fake_b, self.translate(fake_b, "BtoA"), b, fake_a, self.translate(fake_a, "AtoB")]
        channels = max(c.shape[-1] for c in columns)
        columns = [np.repeat(c, channels, axis=-1) if c.shape[-1] < channels else c for c in columns]
        return np.stack(columns, axis=1).reshape((-1,) + columns[0].shape[1:]), len(columns)

    def exported_generators(self):
        return {"generator_ab": self.generator_ab, "generator_ba": self.generator_ba}

    # ----------------------------------------------------------- train.py runs

    @classmethod
    def from_run_config(cls, config, data=None):
        """The compiled CycleGAN a train.py config describes (`model="cyclegan"`).

        The paper's networks: two `build_resnet_generator`s (6 residual blocks
        up to 128 px, 9 above, or `config.residual_blocks`) and two 70x70 PatchGANs with instance
        normalization (`build_image_patch_discriminator`), with
        `config.filters` (None: 64); four Adams at the config's rates
        (`lr_decay`: the paper's schedule); `config.loss` least_squares (the
        paper's), non_saturating (the TensorFlow tutorial's BCE) or focal.

        Args:
            config: a checked `dcgan_keras.config.Config`.
            data: the run's `UnpairedDataset` (needed with `lr_decay`).

        Example:
            >>> from dcgan_keras.config import make_config
            >>> config = make_config({"model": "cyclegan", "image_size": 32, "channels": 3, "filters": 4})
            >>> CycleGAN.from_run_config(config).shape_a
            (32, 32, 3)
        """
        from dcgan_keras.gans.run_config import run_adams, run_filters
        from dcgan_keras.networks import build_image_patch_discriminator, build_resnet_generator

        size, channels, filters = config.image_size, config.channels, run_filters(config)
        generators = [build_resnet_generator(size, channels, residual_blocks=config.residual_blocks, filters=filters,
                                             name=f"generator_{d}")
                      for d in ("ab", "ba")]
        discriminators = [
            build_image_patch_discriminator(size, channels, filters=filters, norm="instance",
                                            seed=config.seed + 100 * k, name=f"discriminator_{d}")
            for k, d in enumerate("ab")
        ]
        gan = cls(*generators, *discriminators, cycle_weight=config.cycle_weight,
                  identity_weight=config.identity_weight, pool_size=config.pool_size, seed=config.seed)
        gan.compile(**run_adams(config, gan.optimizer_names, data), loss_fn=RUN_LOSSES[config.loss],
                    jit_compile=config.jit_compile)
        return gan

    @classmethod
    def load_run_data(cls, config):
        """The run's two domains (`dcgan_keras.data.load_unpaired`), test images included where present.

        `config.dataset` is "unpaired_folder" (`data_dir` in the CycleGAN
        layout: trainA/, trainB/, and optionally testA/, testB/, whose images
        the sample grid shows) or a named set (horse2zebra, ...: downloaded
        with `keras.utils.get_file` when `data_dir` is None).

        Raises:
            DataError: a missing or empty domain folder, an unknown name, a bad option.
        """
        from dcgan_keras.data import DataError, load_unpaired

        if config.dataset == "unpaired_folder":
            if config.data_dir is None:
                raise DataError("unpaired_folder needs data_dir=<a folder holding trainA/ and trainB/ (and testA/, "
                                "testB/)>: pass --data_dir.")
            name = None
        else:
            name = config.dataset
        data = load_unpaired(name=name, data_dir=config.data_dir, image_size=config.image_size,
                             channels=config.channels, limit=config.limit, **config.data_options)
        data.run_options = {"jitter": config.jitter}
        return data

    def run_identity(self, config=None, data=None):
        del data
        if config is not None:
            return {"image shape": (config.image_size, config.image_size, config.channels)}
        return {"image shape": self.shape_a}

    def run_batches(self, data, drop_remainder=True, **kwargs):
        """(images_a, images_b) batches (always full ones), jittered as the run's config says."""
        del drop_remainder  # every step takes a full batch of each domain
        return data.batches(**kwargs, **getattr(data, "run_options", {}))


#: A run config's `loss` -> CycleGAN's own loss names (non_saturating is binary cross-entropy).
RUN_LOSSES = {"least_squares": "least_squares", "non_saturating": "bce", "focal": "focal"}


def _l1(x, y):
    return ops.mean(ops.abs(ops.cast(x, "float32") - ops.cast(y, "float32")))
