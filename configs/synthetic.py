"""Generated shapes and a tiny network: a smoke run in seconds, on any backend, no files.

Used by the tests and for trying the command line:

    python train.py --dataset=synthetic --workdir=/tmp/smoke
"""


def get_config():
    return {
        # Rectangles and discs drawn on the fly (dcgan_keras/data/synthetic.py).
        "dataset": "synthetic",
        # 256 images are 16 steps of 16: enough to see every artifact written.
        "data_options": {"num": 256},
        "image_size": 28,
        "channels": 1,
        # A few hundred weights: a step takes milliseconds, and JAX compiles it fast.
        "latent_dim": 8,
        "g_filters": (16, 8, 4),
        "d_filters": (4, 8),
        "batch_size": 16,
        "epochs": 2,
        # A 4x4 grid is enough to look at.
        "num_samples": 16,
    }
