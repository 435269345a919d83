"""EMNIST, 28x28x1: MNIST's shape, so MNIST's network and optimizer.

config.py's defaults, without the mnist preset's least squares loss and moving
average of G (both measured on digits only).

EMNIST has no keras.datasets loader: point --data_dir at the folder holding
emnist-{split}-{train,test}-images-idx3-ubyte[.gz]; the split is a data option
("balanced" here: 47 classes of letters and digits, equally many each).

    python train.py --dataset=emnist --data_dir=~/data/emnist
"""


def get_config():
    return {
        "dataset": "emnist",
        "data_options": {"emnist_split": "balanced"},
        "epochs": 50,
    }
