"""dcgan-keras: a DCGAN written once in Keras 3, trained on TensorFlow, JAX or PyTorch.

Example:
    >>> from dcgan_keras import DCGAN, build_generator, build_discriminator
    >>> gan = DCGAN(discriminator=build_discriminator(), generator=build_generator(), latent_dim=100)
    >>> gan.compile()
"""

from dcgan_keras.data import load_dataset
from dcgan_keras.gans import CycleGAN, DCGAN, GAN, latent_noise
from dcgan_keras.losses import GANLoss
from dcgan_keras.models import build_discriminator, build_generator

__all__ = ["CycleGAN", "DCGAN", "GAN", "GANLoss", "build_discriminator", "build_generator", "latent_noise", "load_dataset"]
