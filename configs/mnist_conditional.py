"""MNIST digits with their labels: a class-conditional DCGAN (ask for a 7, get a 7).

The mnist preset's network, optimizer and moving average of G, with the
label fed to both networks (`model="conditional"`; the conditioning is
config.py's default, projection in D and the one-hot label joined to z in
G), trained with the least squares loss at batch 64. The sample grid shows
one digit per row, the same noise in each column.
Without --data_dir the images and labels come from keras.datasets.

    python train.py --dataset=mnist_conditional --workdir=runs/digits
    python sample.py --checkpoint=runs/digits --label=7 --num=8 --out=sevens.png
"""


def get_config():
    return {
        "dataset": "mnist",
        "model": "conditional",
        "ema": 0.99,  # as the mnist preset samples
        # Least squares (Mao et al.) at batch 64 (keras.io's): after 5 epochs, with concat, the
        # judge read the asked digit on 0.970 of samples, FID 2.5, where the default loss at
        # batch 128 gave 0.861 and FID 14.3, and least squares at batch 128 0.929 and 5.1
        # (torch; bench/QUALITY.md, "Eleventh check"). With projection, today's default:
        # 0.987, FID 2.5 (medians of 3 seeds, "Twelfth check").
        "loss": "least_squares",
        "batch_size": 64,
        # Ten rows of eight: one row per digit.
        "num_samples": 80,
    }
