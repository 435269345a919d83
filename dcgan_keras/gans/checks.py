"""Checks and small helpers every GAN of the family shares: networks, batches, warnings' stack levels.

Example:
    >>> unwrap(((1, 2),))
    (1, 2)
"""

import os
import sys

import keras


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_stacklevel():
    """The `stacklevel` that makes a warning raised here point at the user's call, outside the package."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def unwrap(data):
    """A batch as `fit` hands it over, without Keras's one-element tuples.

    `fit(x)` gives a step `x`'s batch, `fit(x, y)` the pair `(x, y)`, and a
    dataset of tuples its tuples (lists from a torch DataLoader); a tuple
    given as `x` may come wrapped once more. This strips those wrappers.
    """
    while isinstance(data, (tuple, list)) and len(data) == 1:
        data = data[0]
    return data


def check_network(role, network, owner="The GAN"):
    """Refuses a network whose input and output shapes cannot be read (the GANs check them).

    Args:
        role: its name in the GAN ("generator").
        network: what was passed.
        owner: the GAN's class name, for the message.
    """
    if not isinstance(network, keras.Model):
        raise ValueError(f"The {role} must be a keras.Model. Received: {type(network).__name__}")
    try:
        network.input_shape, network.output_shape
    except (AttributeError, ValueError) as err:
        raise ValueError(
            f"The {role} {network.name!r} has no input and output shapes to check ({err}). {owner} takes "
            "functional or Sequential models that start with keras.Input(shape); a subclassed model can "
            "be wrapped as keras.Sequential([keras.Input(shape), model])."
        ) from err


def ends_in_sigmoid(model):
    """Whether `model`'s last layer is a sigmoid (Dense(1, activation="sigmoid") as keras.io ends D)."""
    layers = getattr(model, "layers", None)
    activation = getattr(layers[-1], "activation", None) if layers else None
    return getattr(activation, "__name__", "") == "sigmoid"  # keras.activations.sigmoid, or a user's


def _frozen_copy(network):
    # The same layers and starting weights; never trained, only assigned to,
    # so its variables are the model's non-trainable state (JAX threads them
    # through the jitted step) and are saved with it.
    copy_ = keras.models.clone_model(network)
    if [w.shape for w in copy_.weights] != [w.shape for w in network.weights]:
        raise ValueError(
            f"ema_momentum: the network {network.name!r} does not clone into the same weights "
            "(a layer that does not rebuild from its config?); train without ema_momentum."
        )
    copy_.set_weights(network.get_weights())
    copy_.trainable = False
    return copy_
