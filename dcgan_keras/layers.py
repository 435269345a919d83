"""`dcgan_keras>Conv2D` and its kin: Keras's own layers under the names older files saved them by.

The networks were once built from these subclasses, whose `call` ran faster
kernels; a `.keras` file from then names them (`dcgan_keras>Conv2D`, ...), so
they stay registered, as thin subclasses with nothing of their own, for such
files to load (`import dcgan_keras` first). New networks are built from
`keras.layers` (dcgan_keras.models): the faster kernels are applied where the
training step runs a network (`dcgan_keras.backend.forward`, the fast path),
which treats these as their Keras base classes.

`keras_layers_config` gives the same network built from Keras's own layers.

Example:
    >>> from dcgan_keras import layers
    >>> conv = layers.Conv2D(64, 5, strides=2, padding="same")  # a keras.layers.Conv2D
"""

import json

import keras


def _serializable(cls):
    return keras.saving.register_keras_serializable(package="dcgan_keras")(cls)


@_serializable
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D`, registered as `dcgan_keras>Conv2D` for older files."""


@_serializable
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose`, registered as `dcgan_keras>Conv2DTranspose` for older files."""


@_serializable
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization`, registered as `dcgan_keras>BatchNormalization` for older files."""


@_serializable
class Dropout(keras.layers.Dropout):
    """`keras.layers.Dropout`, registered as `dcgan_keras>Dropout` for older files."""


def keras_layers_config(config):
    """A functional model's config with Keras's layers in place of these.

    The model it builds loads and runs without this package, and takes the
    original's weights.

    Args:
        config: `model.get_config()` of a functional model.

    Returns:
        The same config, naming `keras.layers` classes.

    Example:
        >>> plain = keras.Model.from_config(keras_layers_config(old.get_config()))  # doctest: +SKIP
        >>> plain.set_weights(old.get_weights())  # doctest: +SKIP
    """
    text = json.dumps(config).replace('"module": "dcgan_keras.layers"', '"module": "keras.layers"')
    return json.loads(text.replace('"registered_name": "dcgan_keras>', '"registered_name": "'))
