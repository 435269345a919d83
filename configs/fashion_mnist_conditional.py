"""Fashion-MNIST with its labels: a class-conditional DCGAN (a sneaker on request).

The fashion_mnist preset's recipe with the label fed to both networks; the
sample grid shows one class per row (T-shirt/top ... Ankle boot).

    python train.py --dataset=fashion_mnist_conditional
"""


def get_config():
    return {
        "dataset": "fashion_mnist",
        "model": "conditional",
        "epochs": 50,
        "num_samples": 80,  # ten rows of eight, one per class
    }
