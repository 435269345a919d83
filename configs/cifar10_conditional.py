"""CIFAR-10 with its labels: a class-conditional DCGAN at 32x32x3 (a horse on request).

The cifar10 preset's recipe with the label fed to both networks; the
sample grid shows one class per row (airplane ... truck).

    python train.py --dataset=cifar10_conditional
"""


def get_config():
    return {
        "dataset": "cifar10",
        "model": "conditional",
        "image_size": 32,
        "channels": 3,
        "dropout": 0.0,
        "epochs": 50,
        "num_samples": 80,  # ten rows of eight, one per class
    }
