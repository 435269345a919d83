"""Run by tests/test_cyclegan.py under one backend (KERAS_BACKEND) in a subprocess.

  WORKDIR: load the shared initial weights into the tiny CycleGAN (pool off),
      take one training step on the shared batch, save <backend>.npz (losses
      and weights) and <backend>.keras; then load the other backends' .keras
      files found there and report their next-step losses.
Prints one JSON line.
"""

import json
import os
import sys

import keras
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.test_cyclegan import tiny_cyclegan  # noqa: E402

if __name__ == "__main__":
    workdir, backend = sys.argv[1], keras.backend.backend()
    shared = np.load(os.path.join(workdir, "shared.npz"))
    gan = tiny_cyclegan(pool_size=0)
    gan.load_weights(os.path.join(workdir, "initial.weights.h5"))
    logs = gan.fit((shared["a"], shared["b"]), batch_size=len(shared["a"]), epochs=1, shuffle=False, verbose=0).history
    weights = {v.path: keras.ops.convert_to_numpy(v) for v in gan.weights}
    losses = {name: values[0] for name, values in logs.items()}
    np.savez(os.path.join(workdir, f"{backend}.npz"), **weights)
    gan.save(os.path.join(workdir, f"{backend}.keras"))
    print(json.dumps({"losses": losses}))
