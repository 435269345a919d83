"""SVHN house numbers, 32x32x3 (the cropped-digits train_32x32.mat).

    python train.py --dataset=svhn --data_dir=data/svhn
"""


def get_config():
    return {
        "dataset": "svhn",
        # There is no keras.datasets download for SVHN: put train_32x32.mat
        # (http://ufldl.stanford.edu/housenumbers/) here, or pass --data_dir.
        "data_dir": "data/svhn",
        # SVHN's native size and color.
        "image_size": 32,
        "channels": 3,
        # Radford et al.'s 32x32 discriminator has BatchNorm and no dropout.
        "dropout": 0.0,
        # 73,257 images: about 570 steps an epoch at batch 128.
        "epochs": 20,
    }
