"""CycleGAN on horse2zebra: horses to zebras and back, from unpaired photos (Zhu et al., 2017).

The paper's recipe: 256x256, batch 1, 200 epochs with the rate constant for
100 then linearly to 0, the least-squares adversarial loss, cycle weight 10,
identity weight 0.5, an image pool of 50, the ResNet generator (9 blocks at
256 px) and the 70x70 PatchGAN, the random jitter. The 1067 horses and 1334
zebras download from the CycleGAN authors' server (keras.utils.get_file)
unless --data_dir names where they were unpacked (the folder holding trainA/).

    python train.py --dataset=horse2zebra
    python sample.py --checkpoint=runs/horse2zebra-... --input=horse.jpg --direction=AtoB --out=zebra.png
"""


def get_config():
    return {
        "dataset": "horse2zebra",
        "model": "cyclegan",
        "image_size": 256,
        "channels": 3,
        "loss": "least_squares",
        "batch_size": 1,
        "epochs": 200,
        "lr_decay": True,
        "jitter": True,
        # Four test images of each domain: real, translated, reconstructed.
        "num_samples": 4,
    }
