"""Network builders of the family beyond the DCGAN's own (dcgan_keras.models)."""

from dcgan_keras.networks.conditional import (
    CONDITIONINGS,
    build_conditional_discriminator,
    build_conditional_generator,
)

__all__ = ["CONDITIONINGS", "build_conditional_discriminator", "build_conditional_generator"]
