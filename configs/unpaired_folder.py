"""CycleGAN between two folders of your own images, in the CycleGAN layout.

    DIR/trainA/ DIR/trainB/       one domain each (any number of images, any names)
    DIR/testA/  DIR/testB/        optional: the sample grid's images

The paper's recipe at 256x256 RGB (configs/horse2zebra.py); --image_size=128
trains smaller (6 residual blocks), --identity_weight=0 drops the identity loss.

    python train.py --dataset=unpaired_folder --data_dir=DIR
"""


def get_config():
    return {
        "dataset": "unpaired_folder",
        "model": "cyclegan",
        # Where the domains are: pass --data_dir=DIR.
        "image_size": 256,
        "channels": 3,
        "loss": "least_squares",
        "batch_size": 1,
        "epochs": 200,
        "lr_decay": True,
        "jitter": True,
        "num_samples": 4,
    }
