"""The Keras layers the DCGAN networks are built from, with faster paths on torch and JAX's CPU.

`Conv2D`, `Conv2DTranspose`, `BatchNormalization` and `Dropout` are the Keras
layers of the same names: same arguments, weights, configs and results. On the
torch backend they compute with fewer copies and fused kernels where their
arguments allow it (dcgan_keras/backend/torch_layers.py says what Keras's
torch ops spend and these do not). On JAX on a CPU, the strided convolutions
go by phases (dcgan_keras/backend/jax_layers.py): XLA:CPU computes the dilated
convolutions that a transposed convolution and the gradients of strided ones
are made of in a generic, much slower loop. Everywhere else they are Keras's
own; on TensorFlow nothing changes.

Their weights load into Keras's layers and back. A model saved with them names
them `dcgan_keras>Conv2D` and so on, so loading one needs `import dcgan_keras`
first, as loading a DCGAN checkpoint already does; `keras_layers_config` gives
the same network built from Keras's own layers.

Example:
    >>> from dcgan_keras import layers
    >>> conv = layers.Conv2D(64, 5, strides=2, padding="same")
"""

import json

import keras

from dcgan_keras import backend as _seam
from dcgan_keras.backend import fast_layers as _fast


def _serializable(cls):
    return keras.saving.register_keras_serializable(package="dcgan_keras")(cls)


class _FastConvolution:
    """Calls the backend's fast op named by `_fast_op`, then the activation; else Keras's own call."""

    _fast_op = None

    def call(self, inputs):
        outputs = getattr(_fast, self._fast_op)(self, inputs) if _fast else None
        if outputs is None:
            return super().call(inputs)
        return self.activation(outputs) if self.activation is not None else outputs


@_serializable
class Conv2D(_FastConvolution, keras.layers.Conv2D):
    """`keras.layers.Conv2D`; on torch, without Keras's two layout copies per call; on JAX's CPU,
    strided, with its input gradient by phases.

    Example:
        >>> conv = Conv2D(64, 5, strides=2, padding="same")
    """

    _fast_op = "conv2d"


@_serializable
class Conv2DTranspose(_FastConvolution, keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose`; on torch, computed at the output's size, not the full one;
    on JAX's CPU, strided, by phases.

    Example:
        >>> upsample = Conv2DTranspose(64, 5, strides=2, padding="same")
    """

    _fast_op = "conv2d_transpose"


@_serializable
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization`; on torch, one fused kernel in training.

    Example:
        >>> norm = BatchNormalization(momentum=0.9)
    """

    def call(self, inputs, training=None, mask=None):
        if _fast and training and self.trainable and mask is None:
            outputs = _fast.batch_norm_training(self, inputs)
            if outputs is not None:
                return keras.ops.cast(outputs, self.compute_dtype)
        return super().call(inputs, training=training, mask=mask)


@_serializable
class Dropout(keras.layers.Dropout):
    """`keras.layers.Dropout`; on torch, a seeded mask without Keras's full-size temporaries,
    and its seed state in host memory (no device sync per draw on a GPU).

    Example:
        >>> dropout = Dropout(0.3, seed=0)
    """

    def __init__(self, *args, **kwargs):
        with _seam.seed_state_scope():
            super().__init__(*args, **kwargs)

    def call(self, inputs, training=False):
        if _fast and training and self.rate > 0:
            outputs = _fast.seeded_dropout(self, inputs)
            if outputs is not None:
                return outputs
        return super().call(inputs, training=training)


def keras_layers_config(config):
    """A functional model's config with Keras's layers in place of these.

    The model it builds loads and runs without this package, and takes the
    original's weights.

    Args:
        config: `model.get_config()` of a functional model.

    Returns:
        The same config, naming `keras.layers` classes.

    Example:
        >>> from dcgan_keras import build_generator
        >>> g = build_generator()
        >>> plain = keras.Model.from_config(keras_layers_config(g.get_config()))
        >>> plain.set_weights(g.get_weights())
    """
    text = json.dumps(config).replace('"module": "dcgan_keras.layers"', '"module": "keras.layers"')
    return json.loads(text.replace('"registered_name": "dcgan_keras>', '"registered_name": "'))
