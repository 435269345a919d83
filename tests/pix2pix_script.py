"""Run by tests/test_pix2pix.py under one backend (KERAS_BACKEND) in a subprocess.

  step WORKDIR: load the shared initial weights into a tiny Pix2Pix (dropout
      off), take one training step on the shared pair batch, save the
      weights (<backend>.npz) and the model (<backend>.keras).
  load WORKDIR: load every other backend's .keras and translate the shared inputs.
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

BACKENDS = ("tensorflow", "jax", "torch")


def tiny_pix2pix(dropout=0.0, filters=4, norm="batch", seed=0, compile=True):
    """A 32x32 Pix2Pix, 1 channel in, 1 out, a few thousand weights."""
    keras.utils.set_random_seed(seed)
    generator = build_unet_generator(32, 1, 1, filters=filters, norm=norm, dropout=dropout, seed=seed)
    discriminator = build_patch_discriminator(32, 1, 1, filters=filters, norm=norm, seed=seed + 1)
    gan = Pix2Pix(generator=generator, discriminator=discriminator, seed=seed)
    if compile:
        gan.compile(**({"jit_compile": False} if keras.backend.backend() == "tensorflow" else {}))
    return gan


def step(workdir, backend):
    shared = np.load(os.path.join(workdir, "shared.npz"))
    gan = tiny_pix2pix()
    gan.load_weights(os.path.join(workdir, "initial.weights.h5"))
    x, y = shared["inputs"], shared["targets"]
    logs = gan.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0).history
    weights = {v.path: keras.ops.convert_to_numpy(v) for v in gan.weights}
    np.savez(os.path.join(workdir, f"{backend}.npz"), outputs=gan.translate(x), **weights)
    gan.save(os.path.join(workdir, f"{backend}.keras"))
    return {name: values[0] for name, values in logs.items()}


def load(workdir, backend):
    shared = np.load(os.path.join(workdir, "shared.npz"))
    for other in BACKENDS:
        if other != backend:
            gan = keras.saving.load_model(os.path.join(workdir, f"{other}.keras"))
            np.save(os.path.join(workdir, f"{other}-on-{backend}.npy"), gan.translate(shared["inputs"]))
    return {}


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
    print(json.dumps({"step": step, "load": load, "learn": learn}[mode](workdir, keras.backend.backend())))
