"""Network builders of the GAN family beyond the DCGAN's own (dcgan_keras.models), in plain `keras.layers`."""

from dcgan_keras.networks.conditional import (
    CONDITIONINGS,
    build_conditional_discriminator,
    build_conditional_generator,
)
from dcgan_keras.networks.patchgan import build_image_patch_discriminator, build_patch_discriminator
from dcgan_keras.networks.resnet import build_resnet_generator
from dcgan_keras.networks.unet import build_unet_generator

__all__ = [
    "CONDITIONINGS", "build_conditional_discriminator", "build_conditional_generator", "build_image_patch_discriminator",
    "build_patch_discriminator",
    "build_resnet_generator", "build_unet_generator",
]
