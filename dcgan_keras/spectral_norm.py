"""Spectral normalization of a Conv2D or Dense layer that leaves its kernel alone.

`keras.layers.SpectralNormalization` (Keras 3.15) writes W / sigma(W) back
into the wrapped layer's kernel on every training call. A discriminator runs
twice in one loss (real, then fake): on torch the second write changes, in
place, a kernel autograd saved from the first call, and the backward pass
fails ("modified by an inplace operation"); on JAX the write to a
differentiated variable is dropped, on TensorFlow it is kept, so the three
would not train alike. This wrapper keeps Keras's power iteration and saved
`vector_u` but is the parametrization of Miyato et al. (2018, "Spectral
Normalization for Generative Adversarial Networks"): the kernel is the
trained parameter and each call convolves with W / sigma(W), so gradients go
through the normalization on every backend.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dcgan_keras")
class SpectralNormalization(keras.layers.SpectralNormalization):
    """`keras.layers.SpectralNormalization` for Conv2D and Dense, the kernel never overwritten.

    Args:
        layer: a `keras.layers.Conv2D` or `keras.layers.Dense` (or subclass).
        power_iterations: power iterations per training call (1, as in the paper).
        **kwargs: passed to the Keras wrapper, e.g. `name`.

    Example:
        >>> sn = SpectralNormalization(keras.layers.Dense(4))
        >>> tuple(sn(ops.ones((2, 3))).shape)
        (2, 4)
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) or getattr(layer, "groups", 1) != 1:
            raise ValueError(
                "dcgan_keras's SpectralNormalization wraps a Conv2D (groups=1) or a Dense layer. "
                f"Received: {type(layer).__name__}"
            )
        super().__init__(layer, power_iterations=power_iterations, **kwargs)

    def call(self, inputs, training=False):
        # u is advanced (and saved) in training only; W / sigma is used either way.
        new_vector_u, kernel = self.normalized_weights()
        if training:
            self.vector_u.assign(new_vector_u)
        layer = self.layer
        if isinstance(layer, keras.layers.Conv2D):
            outputs = ops.conv(
                inputs, kernel, strides=layer.strides, padding=layer.padding, data_format=layer.data_format,
                dilation_rate=layer.dilation_rate,
            )
            bias_shape = (1, -1, 1, 1) if layer.data_format == "channels_first" else (-1,)
        else:
            outputs = ops.matmul(inputs, kernel)
            bias_shape = (-1,)
        if layer.use_bias:
            outputs = ops.add(outputs, ops.reshape(layer.bias, bias_shape))
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return ops.cast(outputs, self.compute_dtype)
