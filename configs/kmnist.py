"""Kuzushiji-MNIST, 28x28x1: MNIST's shape, so MNIST's network and optimizer.

config.py's defaults, without the mnist preset's least squares loss and moving
average of G (both measured on digits only).

KMNIST has no keras.datasets loader: point --data_dir at a folder holding its
four IDX files (train-images-idx3-ubyte.gz ...), as published by its authors.

    python train.py --dataset=kmnist --data_dir=~/data/kmnist
"""


def get_config():
    return {
        "dataset": "kmnist",
        # The cursive strokes vary more than digits: as long as fashion_mnist's run.
        "epochs": 50,
    }
