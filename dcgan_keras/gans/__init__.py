"""The GAN family: the `GAN` base and the games written on it."""

from dcgan_keras.gans.base import GAN, OptimizerGroup
from dcgan_keras.gans.dcgan import DCGAN, latent_noise

#: The models a run config names (`model`): each class builds itself from one (`from_run_config`).
MODELS = {"dcgan": DCGAN}

__all__ = ["DCGAN", "GAN", "MODELS", "OptimizerGroup", "latent_noise"]
