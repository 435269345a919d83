"""The tests' tiny Pix2Pix, and its learning run in a subprocess of tests/test_pix2pix.py.

  learn WORKDIR: train on WORKDIR/shapes.npz (train and val pairs, uint8) and
      report the validation L1 before and after (test_it_learns_to_fill_outlines).
Prints one JSON line.
"""

import json
import os
import sys

import keras
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dcgan_keras import Pix2Pix  # noqa: E402
from dcgan_keras.data.paired import PairedDataset  # noqa: E402
from dcgan_keras.networks import build_patch_discriminator, build_unet_generator  # noqa: E402


def tiny_pix2pix(dropout=0.0, filters=4, norm="batch", seed=0, compile=True):
    """A 32x32 Pix2Pix, 1 channel in, 1 out, a few thousand weights."""
    keras.utils.set_random_seed(seed)
    generator = build_unet_generator(32, 1, 1, filters=filters, norm=norm, dropout=dropout, seed=seed)
    discriminator = build_patch_discriminator(32, 1, 1, filters=filters, norm=norm, seed=seed + 1)
    gan = Pix2Pix(generator=generator, discriminator=discriminator, seed=seed)
    if compile:
        gan.compile(**({"jit_compile": False} if keras.backend.backend() == "tensorflow" else {}))
    return gan


def learn(workdir, backend):
    shapes = np.load(os.path.join(workdir, "shapes.npz"))
    val_x, val_y = (shapes[k].astype("float32") / 127.5 - 1 for k in ("val_inputs", "val_targets"))
    gan = tiny_pix2pix(dropout=0.5, filters=8, compile=False)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
                **({"jit_compile": False} if backend == "tensorflow" else {}))
    untrained = float(np.mean(np.abs(gan.translate(val_x) - val_y)))
    data = PairedDataset(shapes["inputs"], shapes["targets"], "shapes")
    gan.fit(data.batches(8, seed=0), epochs=8, verbose=0, shuffle=False)
    return {
        "untrained": untrained, "trained": float(np.mean(np.abs(gan.translate(val_x) - val_y))),
        "background": float(np.mean(np.abs(-1 - val_y))),
        "iterations": [int(keras.ops.convert_to_numpy(o.iterations)) for o in (gan.d_optimizer, gan.g_optimizer)],
    }


if __name__ == "__main__":
    mode, workdir = sys.argv[1], sys.argv[2]
    print(json.dumps({"learn": learn}[mode](workdir, keras.backend.backend())))
