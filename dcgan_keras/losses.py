"""GAN losses as pure functions of the discriminator's outputs.

Every function takes logits (the discriminator has no sigmoid) and returns a
scalar. `get()` turns what a user passes to `DCGAN.compile(loss_fn=...)` (a
name, None, or a Keras loss such as `keras.losses.BinaryCrossentropy()` as in
the keras.io examples, there on a discriminator that ends in a sigmoid) into a
`GANLoss`.
"""

import dataclasses
import inspect
from typing import Callable

import keras
from keras import ops

from dcgan_keras import backend as seam


def bce_with_logits(labels, logits):
    """Mean binary cross-entropy of `labels` against `logits`, stable for any logit.

    max(x, 0) - x * y + log(1 + exp(-|x|)): no exp of a large positive number.
    """
    return seam.bce_with_logits(labels, ops.cast(logits, "float32"))


def discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """BCE of real images against 1 - label_smoothing and of fakes against 0, summed.

    One-sided label smoothing (Salimans et al., 2016) softens only the real
    targets: smoothing the fake ones would reward the generator for its
    mistakes.

    Args:
        real_logits: D(x) for a batch of real images.
        fake_logits: D(G(z)) for a batch of generated images.
        label_smoothing: in [0, 1); 0.1 makes the real target 0.9.

    Example:
        >>> float(discriminator_loss(ops.ones((4, 1)) * 10, -ops.ones((4, 1)) * 10))  # doctest: +SKIP
        9.07e-05
    """
    real_target = smoothed_ones(ops.shape(real_logits), label_smoothing)
    return bce_with_logits(real_target, real_logits) + bce_with_logits(
        ops.zeros(ops.shape(fake_logits)), fake_logits
    )


def smoothed_ones(shape, label_smoothing):
    """Real targets: 1 - label_smoothing everywhere, in floatx."""
    # Not ops.full: eagerly on torch it makes the fill value a device tensor
    # and reads it back, two device syncs a step on a GPU. ones * (1 - s) is
    # the same float32 number. Not so in float16, where ones * (1 - s)
    # can round twice (JAX: 0.6475 for s = 0.35278, ops.full 0.647).
    if keras.config.floatx() != "float32":
        return ops.full(shape, 1.0 - label_smoothing)
    return ops.ones(shape) * (1.0 - label_smoothing)


def non_saturating_generator_loss(fake_logits):
    """-log D(G(z)): strong gradients while D still rejects the fakes (Goodfellow et al.)."""
    return bce_with_logits(ops.ones(ops.shape(fake_logits)), fake_logits)


def minimax_generator_loss(fake_logits):
    """log(1 - D(G(z))), the original minimax objective; it saturates early in training."""
    # log(1 - sigmoid(x)) = -softplus(x), written stably.
    return -bce_with_logits(ops.zeros(ops.shape(fake_logits)), fake_logits)


@dataclasses.dataclass(frozen=True)
class GANLoss:
    """The two halves of a GAN objective, and how to read D's outputs.

    A model compiled with a `GANLoss` of your own saves its two functions,
    not just `name`, so loading it must find them: register both with
    `keras.saving.register_keras_serializable`, or pass them to `load_model`
    as `custom_objects`.

    Args:
        name: a label for the loss, kept by `get_compile_config` when it
            is a string (anything else is saved as None).
        discriminator: f(real_out, fake_out, label_smoothing) -> scalar;
            `DCGAN` passes all three, so it must accept `label_smoothing`.
        generator: f(fake_out) -> scalar.
        outputs_are_logits: True (the default) when D returns logits; False
            when it ends in a sigmoid (keras.io style), so the metrics read
            its outputs as probabilities.

    Example:
        >>> @keras.saving.register_keras_serializable(package="my_losses")
        ... def hinge_d(real_out, fake_out, label_smoothing=0.0):
        ...     return ops.mean(ops.relu(1.0 - real_out)) + ops.mean(ops.relu(1.0 + fake_out))
        >>> @keras.saving.register_keras_serializable(package="my_losses")
        ... def hinge_g(fake_out):
        ...     return -ops.mean(fake_out)
        >>> gan.compile(loss_fn=GANLoss("hinge", hinge_d, hinge_g))  # doctest: +SKIP
    """

    name: object
    discriminator: Callable
    generator: Callable
    outputs_are_logits: bool = True


LOSSES = {
    "non_saturating": GANLoss("non_saturating", discriminator_loss, non_saturating_generator_loss),
    "minimax": GANLoss("minimax", discriminator_loss, minimax_generator_loss),
}
# What people call the default loss.
LOSSES["bce"] = LOSSES["non_saturating"]


def declared_logits(loss_fn):
    """Whether `loss_fn` says it reads D's outputs as logits: True, False, or None if it does not say.

    A name or None: the built-in losses, on logits. A `GANLoss`: its
    `outputs_are_logits`. A Keras loss or function: its config's
    `from_logits`, else its signature's default (keras.losses.binary_crossentropy:
    False); None for a loss with no such notion (mean squared error).
    """
    if loss_fn is None or isinstance(loss_fn, str):
        return True
    if isinstance(loss_fn, GANLoss):
        return loss_fn.outputs_are_logits
    if hasattr(loss_fn, "get_config"):
        config = loss_fn.get_config()
        if "from_logits" in config:
            return bool(config["from_logits"])
    try:
        parameter = inspect.signature(loss_fn).parameters.get("from_logits")
    except (TypeError, ValueError):  # no signature to read (a builtin)
        parameter = None
    if parameter is not None and isinstance(parameter.default, bool):
        return parameter.default
    return None


def _from_keras_loss(loss_fn):
    """Wraps a y_true/y_pred loss (e.g. keras.losses.BinaryCrossentropy) as a GANLoss."""
    from_logits = declared_logits(loss_fn) is not False

    # The mean: a plain function (keras.losses.binary_crossentropy) or a Loss
    # with reduction=None gives one loss per image, and a gradient needs one.
    def d_loss(real_out, fake_out, label_smoothing=0.0):
        real = smoothed_ones(ops.shape(real_out), label_smoothing)
        return ops.mean(loss_fn(real, real_out)) + ops.mean(loss_fn(ops.zeros(ops.shape(fake_out)), fake_out))

    def g_loss(fake_out):
        return ops.mean(loss_fn(ops.ones(ops.shape(fake_out)), fake_out))

    return GANLoss(loss_fn, d_loss, g_loss, outputs_are_logits=from_logits)


def get(loss_fn):
    """Resolves `compile(loss_fn=...)` into a `GANLoss`.

    Args:
        loss_fn: None (non-saturating BCE on logits), a name in `LOSSES`,
            a `GANLoss`, or a Keras loss / callable `f(y_true, y_pred)` applied
            with real = 1 and fake = 0 targets (keras.io's DCGAN example
            labels fakes 1 and reals 0: the same game, D's output flipped).

    Example:
        >>> get("minimax").name
        'minimax'
    """
    if loss_fn is None:
        return LOSSES["non_saturating"]
    if isinstance(loss_fn, GANLoss):
        return loss_fn
    if isinstance(loss_fn, str):
        if loss_fn not in LOSSES:
            raise ValueError(
                f"Unknown GAN loss {loss_fn!r}. Expected one of {sorted(LOSSES)}, "
                "a keras.losses.Loss, or a callable f(y_true, y_pred)."
            )
        return LOSSES[loss_fn]
    if isinstance(loss_fn, keras.losses.Loss) or callable(loss_fn):
        return _from_keras_loss(loss_fn)
    raise ValueError(
        f"`loss_fn` must be None, a loss name in {sorted(LOSSES)}, a keras.losses.Loss "
        f"or a callable. Received: loss_fn={loss_fn!r}"
    )


# The key a user's own GANLoss is saved under in a compile config.
_GAN_LOSS_KEY = "dcgan_keras.GANLoss"


def serialize(loss_fn):
    """`compile(loss_fn=...)` as a DCGAN's compile config records it: a name, None, or a config.

    Args:
        loss_fn: what `compile` was given (see `get`).

    Example:
        >>> serialize(LOSSES["minimax"])
        'minimax'
    """
    if loss_fn is None or isinstance(loss_fn, str):
        return loss_fn
    if isinstance(loss_fn, GANLoss):
        if isinstance(loss_fn.name, str) and LOSSES.get(loss_fn.name) is loss_fn:
            return loss_fn.name
        # A GANLoss of the user's own: its two functions by Keras's rules
        # (registered with keras.saving.register_keras_serializable, or
        # passed to load_model as custom_objects), not a name that loading
        # would not know or, worse, would silently read as another loss.
        return {
            _GAN_LOSS_KEY: {
                "name": loss_fn.name if isinstance(loss_fn.name, str) else None,
                "discriminator": keras.saving.serialize_keras_object(loss_fn.discriminator),
                "generator": keras.saving.serialize_keras_object(loss_fn.generator),
                "outputs_are_logits": loss_fn.outputs_are_logits,
            }
        }
    return keras.saving.serialize_keras_object(loss_fn)


def deserialize(config):
    """What `serialize` recorded, as `compile(loss_fn=...)` takes it.

    Args:
        config: `serialize`'s result, read back from a saved model.

    Example:
        >>> get(deserialize(serialize(LOSSES["minimax"]))) is LOSSES["minimax"]
        True
    """
    if config is None or isinstance(config, str):
        return config
    if isinstance(config, dict) and _GAN_LOSS_KEY in config:
        parts = config[_GAN_LOSS_KEY]
        return GANLoss(
            parts["name"],
            keras.saving.deserialize_keras_object(parts["discriminator"]),
            keras.saving.deserialize_keras_object(parts["generator"]),
            parts["outputs_are_logits"],
        )
    return keras.saving.deserialize_keras_object(config)
