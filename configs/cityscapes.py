"""Pix2Pix on Cityscapes: street photos to semantic label maps (Isola et al., 2017, the TensorFlow tutorial).

The paper's recipe (see configs/facades.py): 256x256, batch 1, 200 epochs,
the random jitter, L1 weight 100, the rate constant for 100 epochs then
linearly to 0. The pairs hold the photo on the left and the labels on the
right; AtoB, the data set's own direction, translates photos into labels.
The 2975 training pairs download from the pix2pix authors' server unless
--data_dir names where they were unpacked (the folder holding train/, val/).

    python train.py --dataset=cityscapes
"""


def get_config():
    return {
        "dataset": "cityscapes",
        "model": "pix2pix",
        "image_size": 256,
        "channels": 3,
        "batch_size": 1,
        "epochs": 200,
        "jitter": True,
        "lr_decay": True,
        "num_samples": 8,
    }
