"""dcgan-keras: a DCGAN written once in Keras 3, trained on TensorFlow, JAX or PyTorch.

The names below load on first use (PEP 562), so that `dcgan_keras.config`
and `dcgan_keras.cli`, which import no Keras, serve train.py and sample.py
before they pick the Keras backend (Keras reads KERAS_BACKEND once).

Example:
    >>> from dcgan_keras import DCGAN, build_generator, build_discriminator
    >>> gan = DCGAN(discriminator=build_discriminator(), generator=build_generator(), latent_dim=100)
    >>> gan.compile()
"""

import importlib

_EXPORTS = {
    "DCGAN": "dcgan_keras.gans",
    "GAN": "dcgan_keras.gans",
    "GANLoss": "dcgan_keras.losses",
    "build_discriminator": "dcgan_keras.models",
    "build_generator": "dcgan_keras.models",
    "latent_noise": "dcgan_keras.gans",
    "load_dataset": "dcgan_keras.data",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dcgan_keras' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
