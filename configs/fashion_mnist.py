"""Fashion-MNIST, 28x28x1: MNIST's shape, so MNIST's network and optimizer (the
least squares loss and moving average of G that the mnist preset adds are
measured on digits only).

    python train.py --backend=jax --dataset=fashion_mnist
"""


def get_config():
    return {
        "dataset": "fashion_mnist",
        # Textures and garment outlines take longer to appear than digit
        # strokes; the TensorFlow tutorial trains its MNIST network for 50.
        "epochs": 50,
    }
