"""MNIST digits, 28x28x1: the defaults are this data set's recipe.

The defaults (config.py) are the TensorFlow DCGAN tutorial's 28x28 network
with the DCGAN paper's Adam(2e-4, beta_1=0.5), so only the data set is named.
Without --data_dir the images come from keras.datasets (downloaded once).

    python train.py --dataset=mnist
"""


def get_config():
    return {
        "dataset": "mnist",
    }
