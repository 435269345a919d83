"""Any folder of images (JPEG/PNG/WebP/BMP, nested or not), square-cropped to 64x64x3.

    python train.py --dataset=folder --data_dir=path/to/images
"""


def get_config():
    return {
        "dataset": "folder",
        # Where the images are: pass --data_dir=PATH for yours.
        "data_dir": "data/images",
        # The 64x64 DCGAN of Radford et al.: the size most image folders
        # (faces, objects, art) are trained at. Decoded images are cached.
        "image_size": 64,
        "channels": 3,
        # That network has BatchNorm and no dropout in the discriminator.
        "dropout": 0.0,
        # A custom folder is often small (thousands of images): more passes.
        "epochs": 50,
    }
