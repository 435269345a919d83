"""The GAN family: the `GAN` base and the games written on it."""

from dcgan_keras.gans.base import GAN, OptimizerGroup
from dcgan_keras.gans.dcgan import DCGAN, latent_noise
from dcgan_keras.gans.pix2pix import Pix2Pix

__all__ = ["DCGAN", "GAN", "OptimizerGroup", "Pix2Pix", "latent_noise"]
