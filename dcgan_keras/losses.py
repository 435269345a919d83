"""GAN losses as pure functions of the discriminator's outputs.

Every function takes logits (the discriminator has no sigmoid) and returns a
scalar. `get()` turns what a user passes to `DCGAN.compile(loss_fn=...)` (a
name, None, or a Keras loss such as `keras.losses.BinaryCrossentropy()` as in
the keras.io examples, there on a discriminator that ends in a sigmoid) into a
`GANLoss`.
"""

import dataclasses
import functools
import inspect
import numbers
from typing import Callable, Optional, Union

import keras
from keras import ops

from dcgan_keras import backend as seam


# The parts of the built-in losses, saved by name where a GANLoss of the user's
# own is made of them (keras.saving finds only registered functions).
_serializable = keras.saving.register_keras_serializable(package="dcgan_keras")


def bce_with_logits(labels, logits):
    """Mean binary cross-entropy of `labels` against `logits`, stable for any logit.

    max(x, 0) - x * y + log(1 + exp(-|x|)): no exp of a large positive number.
    """
    return seam.bce_with_logits(labels, ops.cast(logits, "float32"))


@_serializable
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


@_serializable
def non_saturating_generator_loss(fake_logits):
    """-log D(G(z)): strong gradients while D still rejects the fakes (Goodfellow et al.)."""
    return bce_with_logits(ops.ones(ops.shape(fake_logits)), fake_logits)


@_serializable
def minimax_generator_loss(fake_logits):
    """log(1 - D(G(z))), the original minimax objective; it saturates early in training."""
    # log(1 - sigmoid(x)) = -softplus(x), written stably.
    return -bce_with_logits(ops.zeros(ops.shape(fake_logits)), fake_logits)


@_serializable
def least_squares_discriminator_loss(real_out, fake_out, label_smoothing=0.0):
    """LSGAN's D loss: 1/2 mean((D(x) - b)^2) + 1/2 mean(D(G(z))^2), b = 1 - label_smoothing.

    Mao et al. (2017), "Least Squares Generative Adversarial Networks", eq. 2
    with the 0-1 coding a = 0, b = c = 1.
    """
    real_target = smoothed_ones(ops.shape(real_out), label_smoothing)
    real_out, fake_out = ops.cast(real_out, "float32"), ops.cast(fake_out, "float32")
    return 0.5 * ops.mean(ops.square(real_out - real_target)) + 0.5 * ops.mean(ops.square(fake_out))


@_serializable
def least_squares_generator_loss(fake_out):
    """LSGAN's G loss: 1/2 mean((D(G(z)) - 1)^2) (Mao et al., 2017, eq. 2, c = 1)."""
    return 0.5 * ops.mean(ops.square(ops.cast(fake_out, "float32") - 1.0))


@_serializable
def hinge_discriminator_loss(real_out, fake_out, label_smoothing=0.0):
    """mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))): the hinge loss of SNGAN and BigGAN.

    Miyato et al. (2018), "Spectral Normalization for GANs", eq. 17; Brock et
    al. (2019), BigGAN. A margin, not a target: `label_smoothing` plays no part.
    """
    del label_smoothing
    real_out, fake_out = ops.cast(real_out, "float32"), ops.cast(fake_out, "float32")
    return ops.mean(ops.relu(1.0 - real_out)) + ops.mean(ops.relu(1.0 + fake_out))


@_serializable
def hinge_generator_loss(fake_out):
    """-mean(D(G(z))): the generator's side of the hinge game (Miyato et al., 2018; BigGAN)."""
    return -ops.mean(ops.cast(fake_out, "float32"))


FOCAL_GAMMA = 2.0


def focal_with_logits(labels, logits, gamma=FOCAL_GAMMA):
    """Mean binary focal cross-entropy on logits: mean((1 - p_t)^gamma * BCE).

    Lin et al. (2017), "Focal Loss for Dense Object Detection", without the
    alpha balancing; what keras.losses.BinaryFocalCrossentropy(from_logits=True,
    gamma=2) computes. p = sigmoid(logit), p_t = y p + (1 - y)(1 - p): images
    D already judges right weigh (1 - p_t)^gamma, little.
    """
    logits = ops.cast(logits, "float32")
    labels = ops.cast(labels, "float32")
    bce = ops.relu(logits) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))
    p = ops.sigmoid(logits)
    p_t = labels * p + (1.0 - labels) * (1.0 - p)
    return ops.mean(ops.power(1.0 - p_t, gamma) * bce)


@_serializable
def focal_discriminator_loss(real_out, fake_out, label_smoothing=0.0):
    """Focal BCE of real images against 1 - label_smoothing and of fakes against 0, summed."""
    real_target = smoothed_ones(ops.shape(real_out), label_smoothing)
    return focal_with_logits(real_target, real_out) + focal_with_logits(ops.zeros(ops.shape(fake_out)), fake_out)


@_serializable
def focal_generator_loss(fake_out):
    """Focal BCE of the fakes against 1: the non-saturating loss, focal."""
    return focal_with_logits(ops.ones(ops.shape(fake_out)), fake_out)


@_serializable
def wasserstein_critic_loss(real_out, fake_out, label_smoothing=0.0):
    """mean(D(G(z))) - mean(D(x)): the critic's Wasserstein loss (Arjovsky et al., 2017; Gulrajani et al., 2017, Alg. 1).

    No targets, so `label_smoothing` plays no part; the gradient penalty
    (`gradient_penalty`) is added by the GAN, which holds the critic and images.
    """
    del label_smoothing
    return ops.mean(ops.cast(fake_out, "float32")) - ops.mean(ops.cast(real_out, "float32"))


@_serializable
def wasserstein_generator_loss(fake_out):
    """-mean(D(G(z))) (Gulrajani et al., 2017, Algorithm 1)."""
    return -ops.mean(ops.cast(fake_out, "float32"))


GP_WEIGHT = 10.0
# Inside the norm's square root: sqrt is not differentiable at 0, and a zero
# input gradient (a dead critic, a ReLU region) gave NaN without it (the fix
# keras.io's WGAN-GP example needed).
GP_EPSILON = 1e-12


@_serializable
def gradient_penalty(critic, real, fake, seed_generator, weight=GP_WEIGHT, eps=None):
    """weight * mean((||grad_x D(x_hat)||_2 - 1)^2) on x_hat = eps real + (1 - eps) fake.

    Gulrajani et al. (2017), "Improved Training of Wasserstein GANs",
    Algorithm 1: one eps ~ U[0, 1] per image (drawn with `seed_generator`),
    lambda = 10. The gradient of D with respect to its input comes from
    `seam.input_gradient`, in a form the critic's update differentiates again
    (with respect to D's weights: a gradient of a gradient).

    Args:
        critic: the discriminator, images -> (batch, 1).
        real: real images (batch, H, W, C).
        fake: generated images, the same shape (no gradient needed into G).
        seed_generator: a `keras.random.SeedGenerator` for eps.
        weight: lambda.
        eps: None (drawn), or the interpolation weights (batch, 1, ..., 1)
            to use instead (tests fix them: each backend draws its own).

    Returns:
        A float32 scalar.
    """
    real = ops.cast(real, "float32")
    fake = ops.cast(fake, "float32")
    rank = len(real.shape)
    if eps is None:
        eps = keras.random.uniform((ops.shape(real)[0],) + (1,) * (rank - 1), seed=seed_generator)
    interpolates = eps * real + (1.0 - eps) * fake
    grads = seam.input_gradient(lambda x: ops.cast(seam.forward(critic, x, training=True), "float32"), interpolates)
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=tuple(range(1, rank))) + GP_EPSILON)
    return weight * ops.mean(ops.square(norms - 1.0))


def _all_layers(model):
    for layer in getattr(model, "layers", ()):
        yield layer
        inner = getattr(layer, "layer", None)  # a wrapper (SpectralNormalization)
        if inner is not None:
            yield inner
        yield from _all_layers(layer)


def check_critic(critic, role="discriminator", loss_fn="wgan_gp"):
    """Refuses a critic that a gradient-penalty loss cannot train: BatchNorm, or a final sigmoid.

    The penalty is on each image's own gradient, and BatchNorm makes every
    image's output depend on the whole batch (Gulrajani et al., 2017, sec.
    4); a sigmoid squashes the critic's unbounded score.

    Args:
        critic: the discriminator, a Keras model.
        role: its name in the GAN, for the message.
        loss_fn: the loss asked for, for the message.
    """
    batch_norms = [layer.name for layer in _all_layers(critic) if isinstance(layer, keras.layers.BatchNormalization)]
    if batch_norms:
        raise ValueError(
            f"loss_fn={loss_fn!r} penalizes the gradient of the {role} for each image on its own, and "
            f"BatchNorm ({', '.join(batch_norms)}) mixes the images of a batch. Use "
            "keras.layers.LayerNormalization or no normalization in the critic "
            "(build_discriminator(batch_norm=False))."
        )
    layers = getattr(critic, "layers", None)
    activation = getattr(layers[-1], "activation", None) if layers else None
    if getattr(activation, "__name__", "") == "sigmoid":
        raise ValueError(
            f"loss_fn={loss_fn!r} needs a critic that returns an unbounded score, but the {role} ends in a "
            f"sigmoid ({layers[-1].name}). Drop the sigmoid (build_discriminator's logit)."
        )


@_serializable
def wgan_gp_optimizer():
    """Adam(1e-4, beta_1=0, beta_2=0.9): Gulrajani et al.'s (2017) Algorithm 1 defaults."""
    return keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.0, beta_2=0.9)


@dataclasses.dataclass(frozen=True)
class GANLoss:
    """The two halves of a GAN objective, and how to read D's outputs.

    A model compiled with a `GANLoss` of your own saves its functions
    (`discriminator`, `generator`, and `penalty` and `optimizer` where given),
    not just `name`, so loading it must find them: register each with
    `keras.saving.register_keras_serializable`, or pass them to `load_model`
    as `custom_objects`. A `functools.partial` or a lambda cannot be saved
    that way: write a named function (the built-in parts are registered).

    Args:
        name: a label for the loss, kept by `get_compile_config` when it
            is a string (anything else is saved as None).
        discriminator: f(real_out, fake_out, label_smoothing) -> scalar;
            `DCGAN` passes all three, so it must accept `label_smoothing`.
        generator: f(fake_out) -> scalar.
        outputs_are_logits: True (the default) when D returns logits; False
            when it ends in a sigmoid (keras.io style), so the metrics read
            its outputs as probabilities.
        penalty: None, or f(critic, real, fake, seed_generator) -> scalar, a
            regulariser of D that needs D itself and the images, not only its
            outputs (WGAN-GP's gradient penalty); the GAN adds it to D's
            loss. Such a loss refuses a critic with BatchNorm or a sigmoid.
        d_steps: D updates per G update that the loss's paper uses; a GAN
            built with `d_steps=None` takes it (WGAN-GP: 5).
        optimizer: None, or a function returning the optimizer the loss's
            paper uses, which `compile` gives every optimizer not passed
            (WGAN-GP: Adam(1e-4, beta_1=0, beta_2=0.9)); None: the GAN's own
            default, Adam(2e-4, beta_1=0.5).
        score_boundary: None (the default) when D's outputs are logits or
            probabilities (`outputs_are_logits`): `fit`'s `d_real` and
            `d_fake` show them as probabilities of "real", and `d_acc`
            splits them at 0.5. A number when the loss makes them scores
            instead, pushed above it for real images and below it for
            fakes (least squares: 0.5, halfway between its targets 0 and 1;
            hinge: 0): the metrics show the scores and split them there.
            "midpoint" for a critic's scores, which have no fixed zero
            (Wasserstein): split halfway between the batch's two means.

    Example:
        >>> @keras.saving.register_keras_serializable(package="my_losses")
        ... def hinge_d(real_out, fake_out, label_smoothing=0.0):
        ...     return ops.mean(ops.relu(1.0 - real_out)) + ops.mean(ops.relu(1.0 + fake_out))
        >>> @keras.saving.register_keras_serializable(package="my_losses")
        ... def hinge_g(fake_out):
        ...     return -ops.mean(fake_out)
        >>> gan.compile(loss_fn=GANLoss("hinge", hinge_d, hinge_g, score_boundary=0.0))  # doctest: +SKIP
    """

    name: object
    discriminator: Callable
    generator: Callable
    outputs_are_logits: bool = True
    penalty: Optional[Callable] = None
    d_steps: int = 1
    optimizer: Optional[Callable] = None
    score_boundary: Union[None, float, str] = None

    def __post_init__(self):
        if not (self.score_boundary is None or self.score_boundary == "midpoint"
                or isinstance(self.score_boundary, numbers.Real) and not isinstance(self.score_boundary, bool)):
            raise ValueError(
                f"GANLoss's score_boundary is None (D returns logits or probabilities), a number or "
                f"'midpoint'; received {self.score_boundary!r}."
            )


def read_outputs(gan_loss, real_out, fake_out):
    """D's outputs on a real and a fake batch as `fit`'s metrics show them.

    Args:
        gan_loss: the `GANLoss` that says how they read (`score_boundary`,
            `outputs_are_logits`).
        real_out, fake_out: D(x) and D(G(z)).

    Returns:
        (mean D(x), mean D(G(z)), D's accuracy over both batches), float32:
        probabilities of "real" split at 0.5, or the loss's scores split at
        its boundary. Least squares once showed its scores' sigmoid, ~0.62
        for both at balance, and called fakes scored 0.3 real.

    Example:
        >>> real, fake, accuracy = read_outputs(LOSSES["least_squares"], ops.array([0.9, 0.4]), ops.array([0.1]))
        >>> round(float(real), 2), round(float(fake), 2), float(accuracy)
        (0.65, 0.1, 0.75)
    """
    real_out, fake_out = ops.cast(real_out, "float32"), ops.cast(fake_out, "float32")
    boundary = gan_loss.score_boundary
    if boundary is None and gan_loss.outputs_are_logits:
        real_out, fake_out = ops.sigmoid(real_out), ops.sigmoid(fake_out)
    real, fake = ops.mean(real_out), ops.mean(fake_out)
    if boundary is None:
        boundary = 0.5
    elif boundary == "midpoint":
        boundary = 0.5 * (real + fake)
    accuracy = 0.5 * (ops.mean(ops.cast(real_out > boundary, "float32"))
                      + ops.mean(ops.cast(fake_out < boundary, "float32")))
    return real, fake, accuracy


LOSSES = {
    "non_saturating": GANLoss("non_saturating", discriminator_loss, non_saturating_generator_loss),
    "minimax": GANLoss("minimax", discriminator_loss, minimax_generator_loss),
    "least_squares": GANLoss(
        "least_squares", least_squares_discriminator_loss, least_squares_generator_loss, score_boundary=0.5
    ),
    "hinge": GANLoss("hinge", hinge_discriminator_loss, hinge_generator_loss, score_boundary=0.0),
    "focal": GANLoss("focal", focal_discriminator_loss, focal_generator_loss),
    "wgan_gp": GANLoss(
        "wgan_gp", wasserstein_critic_loss, wasserstein_generator_loss, penalty=gradient_penalty, d_steps=5,
        optimizer=wgan_gp_optimizer, score_boundary="midpoint",
    ),
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

    return GANLoss(loss_fn, d_loss, g_loss, outputs_are_logits=from_logits,
                   score_boundary=_keras_loss_boundary(loss_fn))


# Keras's own losses that score D's outputs against the 1 (real) and 0 (fake)
# targets rather than read them as logits: least squares the Keras way
# (MeanSquaredError) splits them halfway, Hinge (which maps 0 to -1) at 0.
_KERAS_SCORING_LOSSES = {
    "mean_squared_error": 0.5, "mean_absolute_error": 0.5, "huber": 0.5, "log_cosh": 0.5,
    "hinge": 0.0, "squared_hinge": 0.0,
}


def _keras_loss_boundary(loss_fn):
    """The score boundary of one of Keras's own scoring losses (a Loss or its function), else None."""
    fn = getattr(loss_fn, "fn", loss_fn)
    if not getattr(fn, "__module__", "").startswith("keras."):
        return None
    return _KERAS_SCORING_LOSSES.get(getattr(fn, "__name__", None))


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
        # A GANLoss of the user's own: its functions by Keras's rules
        # (registered with keras.saving.register_keras_serializable, or
        # passed to load_model as custom_objects), not a name that loading
        # would not know or, worse, would silently read as another loss.
        # All its fields: a penalty lost on loading trained on without it.
        return {
            _GAN_LOSS_KEY: {
                "name": loss_fn.name if isinstance(loss_fn.name, str) else None,
                "discriminator": _saved_function(loss_fn, "discriminator"),
                "generator": _saved_function(loss_fn, "generator"),
                "outputs_are_logits": loss_fn.outputs_are_logits,
                "penalty": _saved_function(loss_fn, "penalty"),
                "d_steps": loss_fn.d_steps,
                "optimizer": _saved_function(loss_fn, "optimizer"),
                "score_boundary": loss_fn.score_boundary,
            }
        }
    return keras.saving.serialize_keras_object(loss_fn)


def _saved_function(loss_fn, field):
    """One function of a user's GANLoss as keras.saving records it, or a ValueError saying how to make it savable."""
    function = getattr(loss_fn, field)
    if isinstance(function, functools.partial):  # keras.saving's TypeError names no field
        raise ValueError(
            f"GANLoss {loss_fn.name!r}'s {field} is a functools.partial ({function!r}), which a model file "
            "cannot hold. Write it as a named function that calls the partial's function with its "
            "arguments, and register it with keras.saving.register_keras_serializable."
        )
    return keras.saving.serialize_keras_object(function)


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
        # .get: models saved before the last four fields were recorded.
        return GANLoss(
            parts["name"],
            keras.saving.deserialize_keras_object(parts["discriminator"]),
            keras.saving.deserialize_keras_object(parts["generator"]),
            parts["outputs_are_logits"],
            penalty=keras.saving.deserialize_keras_object(parts.get("penalty")),
            d_steps=parts.get("d_steps", 1),
            optimizer=keras.saving.deserialize_keras_object(parts.get("optimizer")),
            score_boundary=parts.get("score_boundary"),
        )
    return keras.saving.deserialize_keras_object(config)
