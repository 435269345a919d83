"""MNIST with the Wasserstein loss and gradient penalty (Gulrajani et al., 2017).

The paper's recipe: 5 critic updates per generator update and
Adam(1e-4, beta_1=0, beta_2=0.9); its critic has no BatchNorm, which would
make the per-image gradient penalty depend on the rest of the batch (the
28x28 discriminator has none).

    python train.py --dataset=mnist_wgan_gp
"""


def get_config():
    return {
        "dataset": "mnist",
        "loss": "wgan_gp",
        "d_steps": 5,
        "lr": 1e-4,
        "beta_1": 0.0,
        "beta_2": 0.9,
        "d_batch_norm": False,
    }
