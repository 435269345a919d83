"""The GAN family: the `GAN` base and the games written on it."""

from dcgan_keras.gans.base import GAN, OptimizerGroup
from dcgan_keras.gans.cyclegan import CycleGAN
from dcgan_keras.gans.dcgan import DCGAN, latent_noise

__all__ = ["CycleGAN", "DCGAN", "GAN", "OptimizerGroup", "latent_noise"]
