"""The GAN family: the `GAN` base and the games written on it."""

from dcgan_keras.gans.base import GAN, OptimizerGroup
from dcgan_keras.gans.conditional import ConditionalDCGAN
from dcgan_keras.gans.dcgan import DCGAN, latent_noise

__all__ = ["ConditionalDCGAN", "DCGAN", "GAN", "OptimizerGroup", "latent_noise"]
