"""CIFAR-10, 32x32x3 natural images.

    python train.py --dataset=cifar10
"""


def get_config():
    return {
        "dataset": "cifar10",
        # CIFAR's native size and color: nothing is resized.
        "image_size": 32,
        "channels": 3,
        # The 32x32 networks (models.py) are Radford et al.'s, with BatchNorm
        # in the discriminator; like pytorch/examples/dcgan they need no
        # dropout (the 0.3 default belongs to the 28x28 tutorial network).
        "dropout": 0.0,
        # 50,000 varied images: structure shows after tens of epochs, not a few.
        "epochs": 50,
    }
