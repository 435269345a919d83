"""MNIST with the upsample+conv generator and the 3x3-block critic of the PyTorch lab write-up.

Bilinear upsampling then 3x3 convolutions leaves no checkerboard of uneven
transposed-convolution overlap (Odena et al., 2016); the critic stacks two
stride-1 3x3 convolutions and a stride-2 one per block (32, 64, 96 channels).

    python train.py --dataset=mnist_upsample
"""


def get_config():
    return {
        "dataset": "mnist",
        "g_architecture": "upsample",
        "d_architecture": "blocks3x3",
        "ema": 0.99,  # as the mnist preset samples
    }
