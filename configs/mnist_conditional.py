"""MNIST digits with their labels: a class-conditional DCGAN (ask for a 7, get a 7).

The mnist preset's network, optimizer and moving average of G, with the
label fed to both networks (`model="conditional"`; the conditioning is
config.py's default, keras.io's concatenation). The sample grid shows one
digit per row, the same noise in each column.
Without --data_dir the images and labels come from keras.datasets.

    python train.py --dataset=mnist_conditional --workdir=runs/digits
    python sample.py --checkpoint=runs/digits --label=7 --num=8 --out=sevens.png
"""


def get_config():
    return {
        "dataset": "mnist",
        "model": "conditional",
        "ema": 0.99,  # as the mnist preset samples
        # Ten rows of eight: one row per digit.
        "num_samples": 80,
    }
