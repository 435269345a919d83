"""Network builders for the GAN family, each a functional model of Keras's own layers."""

from dcgan_keras.networks.resnet import build_resnet_generator

__all__ = ["build_resnet_generator"]
