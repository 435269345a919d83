"""Pix2Pix on your own pairs: a folder of side-by-side images, or A/ and B/ folders paired by file name.

Either layout, with train/ (and val/, whose pairs the sample grid shows and
metrics.csv's val_l1 scores) or the images directly in the folder:

    DIR/train/0001.jpg ...        each image: A on the left, B on the right, two squares
    DIR/A/0001.png, DIR/B/0001.png ...   (or DIR/A/train/, DIR/B/train/, DIR/A/val/, ...)

The paper's recipe at 256x256 RGB (configs/facades.py); --direction=BtoA
translates B into A, --in_channels=1 reads the inputs as grayscale (edges,
label maps), --image_size=64 trains small.

    python train.py --dataset=paired_folder --data_dir=DIR
"""


def get_config():
    return {
        "dataset": "paired_folder",
        "model": "pix2pix",
        # Where the pairs are: pass --data_dir=DIR.
        "image_size": 256,
        "channels": 3,
        "batch_size": 1,
        "epochs": 200,
        "jitter": True,
        "lr_decay": True,
        "num_samples": 8,
    }
