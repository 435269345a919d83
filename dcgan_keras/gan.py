"""The DCGAN's home before the GAN base (dcgan_keras/gans/): its names import from here as they did."""

from dcgan_keras.gans.base import GAN, OptimizerGroup, ends_in_sigmoid as _ends_in_sigmoid  # noqa: F401
from dcgan_keras.gans.base import portable as _portable  # noqa: F401
from dcgan_keras.gans.dcgan import DCGAN, METRIC_NAMES, UPDATES, latent_noise  # noqa: F401
from dcgan_keras.gans.dcgan import image_count as _image_count  # noqa: F401
from dcgan_keras.models import in_sample_range, output_range  # noqa: F401
