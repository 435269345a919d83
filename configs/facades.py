"""Pix2Pix on CMP Facades: label maps to building facades (Isola et al., 2017, the TensorFlow tutorial).

The paper's recipe: 256x256, batch 1, 200 epochs, the random jitter, Adam
2e-4 (beta_1 0.5), L1 weight 100, and (as the authors' code) the rate kept
for 100 epochs then taken linearly to 0. Facades' images hold the photo on
the left and the label map on the right: the data set's own direction, BtoA,
translates the labels into the photo. The 400 training pairs download from
the pix2pix authors' server (keras.utils.get_file) unless --data_dir names
where they were unpacked (the folder holding train/, val/, test/).

    python train.py --dataset=facades
    python sample.py --checkpoint=runs/facades-... --input=labels.png --out=photo.png
"""


def get_config():
    return {
        "dataset": "facades",
        "model": "pix2pix",
        "image_size": 256,
        "channels": 3,
        # The paper's batch of one (BatchNorm on one image is instance normalization).
        "batch_size": 1,
        "epochs": 200,
        "jitter": True,
        "lr_decay": True,
        # Eight validation pairs, input | target | output, one a row.
        "num_samples": 8,
    }
