"""Run by tests/test_cross_backend.py under one backend (KERAS_BACKEND) in a subprocess.

  step WORKDIR: load the shared initial weights, take one training step on the
      shared batch with the shared noise, save the result (<backend>.npz,
      <backend>.keras) and the images it makes from the shared z.
  load WORKDIR: load every other backend's .keras, generate from the shared z,
      and train one more step.
  conditional WORKDIR: for each conditioning, the tiny ConditionalDCGAN of
      tests/test_conditional.py from <conditioning>.weights.h5, one step on the
      shared batch and labels with the shared z and drawn labels; saves
      <conditioning>-<backend>.npz (losses, weights, images).
Prints one JSON line.
"""

import json
import os
import sys

import keras
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import BACKENDS, numpy_weights, tiny_gan  # noqa: E402


def build(z):
    gan = tiny_gan(dropout=0.0, d_batch_norm=True, compile=False)
    # The backends' RNGs differ: for parity every update gets the same given z.
    gan.sample_noise = lambda batch_size: keras.ops.convert_to_tensor(z)
    gan.compile()
    return gan


def step(workdir, backend):
    shared = np.load(os.path.join(workdir, "shared.npz"))
    gan = build(shared["z"])
    gan.load_weights(os.path.join(workdir, "initial.weights.h5"))
    logs = gan.fit(shared["real"], batch_size=len(shared["real"]), epochs=1, shuffle=False, verbose=0).history
    weights = {v.path: w for v, w in zip(gan.weights, numpy_weights(gan.weights))}
    np.savez(os.path.join(workdir, f"{backend}.npz"), images=gan.generate(z=shared["z"]), **weights)
    gan.save(os.path.join(workdir, f"{backend}.keras"))
    return {"d_loss": logs["d_loss"][0], "g_loss": logs["g_loss"][0]}


def load(workdir, backend):
    shared = np.load(os.path.join(workdir, "shared.npz"))
    z, real = shared["z"], shared["real"]
    out = {}
    for other in BACKENDS:
        if other != backend:
            gan = keras.saving.load_model(os.path.join(workdir, f"{other}.keras"))
            np.save(os.path.join(workdir, f"{other}-on-{backend}.npy"), gan.generate(z=z))
            # ... and trains on from it, with its optimizers' state.
            logs = gan.fit(real, batch_size=len(real), epochs=1, verbose=0).history
            out[other] = {"d_loss": logs["d_loss"][0], "optimizer": type(gan.d_optimizer).__module__,
                          "steps": int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations))}
    return out


def conditional(workdir, backend):
    from test_conditional import CONDITIONINGS, tiny_conditional

    shared = np.load(os.path.join(workdir, "conditional.npz"))
    out = {}
    for conditioning in CONDITIONINGS:
        gan = tiny_conditional(conditioning, dropout=0.0, compile=False)
        gan.sample_noise = lambda batch_size: keras.ops.convert_to_tensor(shared["z"])
        gan.sample_labels = lambda batch_size: keras.ops.convert_to_tensor(shared["fake_labels"])
        gan.compile()
        gan.load_weights(os.path.join(workdir, f"{conditioning}.weights.h5"))
        real, labels = shared["real"], shared["labels"]
        logs = gan.fit((real, labels), batch_size=len(real), epochs=1, shuffle=False, verbose=0).history
        weights = {v.path: w for v, w in zip(gan.weights, numpy_weights(gan.weights))}
        images = gan.generate(z=shared["z"], labels=shared["fake_labels"])
        np.savez(os.path.join(workdir, f"{conditioning}-{backend}.npz"), images=images, **weights)
        out[conditioning] = {"d_loss": logs["d_loss"][0], "g_loss": logs["g_loss"][0]}
    return out


if __name__ == "__main__":
    mode, workdir = sys.argv[1], sys.argv[2]
    backend = keras.backend.backend()
    print(json.dumps({"step": step, "load": load, "conditional": conditional}[mode](workdir, backend)))
