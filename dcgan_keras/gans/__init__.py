"""The GAN family: the `GAN` base and the games written on it."""

# Registers dcgan_keras>Conv2D & co., which .keras files written before the
# networks were built from keras.layers name.
from dcgan_keras import layers as _legacy_layers  # noqa: F401
# Registers LinearDecay, which the optimizers of a run with lr_decay save.
from dcgan_keras import schedules as _schedules  # noqa: F401
from dcgan_keras.gans.base import GAN, OptimizerGroup
from dcgan_keras.gans.conditional import ConditionalDCGAN
from dcgan_keras.gans.cyclegan import CycleGAN
from dcgan_keras.gans.dcgan import DCGAN, latent_noise
from dcgan_keras.gans.pix2pix import Pix2Pix

#: The models a run config names (`model`): each class builds itself from one (`from_run_config`).
MODELS = {"dcgan": DCGAN, "conditional": ConditionalDCGAN, "pix2pix": Pix2Pix, "cyclegan": CycleGAN}

__all__ = ["ConditionalDCGAN", "CycleGAN", "DCGAN", "GAN", "MODELS", "OptimizerGroup", "Pix2Pix", "latent_noise"]
