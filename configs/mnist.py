"""MNIST digits, 28x28x1: the recommended recipe, least squares, sampled from a moving average of G.

The defaults (config.py) are the TensorFlow DCGAN tutorial's 28x28 network
with the DCGAN paper's Adam(2e-4, beta_1=0.5); this preset trains it with the
least squares loss and adds a moving average of the generator's weights for
sampling.
Without --data_dir the images come from keras.datasets (downloaded once).

    python train.py --dataset=mnist
"""


def get_config():
    return {
        "dataset": "mnist",
        # Samples and the export come from a moving average of G's weights
        # (half-life 69 updates, ~9k images, StyleGAN's ~10k): it steadies a G
        # that still drifts from step to step at 5 epochs, and lifted class
        # coverage over 0.98 where the raw G missed it; a longer average (0.999)
        # was worse. Measurements: bench/QUALITY.md, "Sixth check".
        "ema": 0.99,
        # Least squares (Mao et al., 2017) scored below every run of the
        # non-saturating loss on each backend (FID 23.1, 26.5, 24.2 against
        # 26.4-32.9), and no other loss beat it where both ran: bench/QUALITY.md,
        # "Fourteenth check". config.py's default stays the DCGAN paper's.
        "loss": "least_squares",
    }
