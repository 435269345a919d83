"""Network builders of the GAN family, in plain `keras.layers` (functional models)."""

from dcgan_keras.networks.patchgan import build_patch_discriminator
from dcgan_keras.networks.unet import build_unet_generator

__all__ = ["build_patch_discriminator", "build_unet_generator"]
