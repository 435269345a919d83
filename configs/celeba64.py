"""CelebA faces at 64x64x3: the DCGAN paper's face setup.

    python train.py --dataset=celeba64 --data_dir=data/celeba
"""


def get_config():
    return {
        "dataset": "celeba",
        # The folder holding img_align_celeba/*.jpg (aligned and cropped faces);
        # CelebA has no keras.datasets download.
        "data_dir": "data/celeba",
        # Radford et al.'s 64x64x3 network (models.py's 64 defaults).
        "image_size": 64,
        "channels": 3,
        # That network has BatchNorm and no dropout in the discriminator.
        "dropout": 0.0,
        # 202,599 faces: 5 epochs (~7,900 steps of 128) is where the PyTorch
        # DCGAN tutorial stops, with recognisable faces.
        "epochs": 5,
    }
