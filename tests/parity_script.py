"""Run by tests/test_cross_backend.py under one backend (KERAS_BACKEND) in a subprocess.

Every model of the family in one process per backend and phase: a start of
Python with Keras and a backend costs seconds, and a process per model and
backend (21 of them) cost the suite minutes. Each model has a folder in
WORKDIR holding its shared inputs (the test writes them).

  step WORKDIR: for each model, load the shared initial weights, take one
      training step on the shared batch with the shared noise, save the losses,
      the weights and the images it makes (<model>/<backend>.npz) and the model
      (<model>/<backend>.keras); for wgan_gp, one critic update whose loss is
      the gradient penalty alone (its weights' change is minus the penalty's
      gradient, a gradient of a gradient).
  load WORKDIR: load every other backend's .keras files, make images from the
      shared inputs and train one more step.
Prints one JSON line: {model: result}.
"""

import json
import os
import sys

import keras
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from helpers import BACKENDS, QUICK_COMPILE, numpy_weights, tiny_gan  # noqa: E402

from dcgan_keras import losses  # noqa: E402


def _weights(gan):
    return {v.path: w for v, w in zip(gan.weights, numpy_weights(gan.weights))}


def _first(history):
    return {name: values[0] for name, values in history.items()}


def _given_noise(gan, z, labels=None):
    # The backends' RNGs differ: for parity every update gets the same given z (and labels).
    gan.sample_noise = lambda batch_size: keras.ops.convert_to_tensor(z)
    if labels is not None:
        gan.sample_labels = lambda batch_size: keras.ops.convert_to_tensor(labels)


def dcgan_step(folder, backend):
    shared = np.load(os.path.join(folder, "shared.npz"))
    gan = tiny_gan(dropout=0.0, d_batch_norm=True, compile=False)
    _given_noise(gan, shared["z"])
    gan.compile()
    gan.load_weights(os.path.join(folder, "initial.weights.h5"))
    logs = gan.fit(shared["real"], batch_size=len(shared["real"]), epochs=1, shuffle=False, verbose=0).history
    np.savez(os.path.join(folder, f"{backend}.npz"), images=gan.generate(z=shared["z"]), **_weights(gan))
    gan.save(os.path.join(folder, f"{backend}.keras"))
    return _first(logs)


def _saved_by_the_others(folder, backend):
    """(other backend, its model loaded here), for each other backend's `<backend>.keras` in `folder`."""
    for other in BACKENDS:
        if other != backend:
            yield other, keras.saving.load_model(os.path.join(folder, f"{other}.keras"))


def dcgan_load(folder, backend):
    shared = np.load(os.path.join(folder, "shared.npz"))
    out = {}
    for other, gan in _saved_by_the_others(folder, backend):
        np.save(os.path.join(folder, f"{other}-on-{backend}.npy"), gan.generate(z=shared["z"]))
        # ... and trains on from it, with its optimizers' state.
        logs = gan.fit(shared["real"], batch_size=len(shared["real"]), epochs=1, verbose=0).history
        out[other] = {"d_loss": logs["d_loss"][0], "optimizer": type(gan.d_optimizer).__module__,
                      "steps": int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations))}
    return out


def conditional_step(folder, backend):
    from test_conditional import CONDITIONINGS, tiny_conditional

    shared = np.load(os.path.join(folder, "shared.npz"))
    out = {}
    for conditioning in CONDITIONINGS:
        gan = tiny_conditional(conditioning, dropout=0.0, compile=False)
        _given_noise(gan, shared["z"], shared["fake_labels"])
        gan.compile()
        gan.load_weights(os.path.join(folder, f"{conditioning}.weights.h5"))
        real, labels = shared["real"], shared["labels"]
        logs = gan.fit((real, labels), batch_size=len(real), epochs=1, shuffle=False, verbose=0).history
        images = gan.generate(z=shared["z"], labels=shared["fake_labels"])
        np.savez(os.path.join(folder, f"{conditioning}-{backend}.npz"), images=images, **_weights(gan))
        out[conditioning] = _first(logs)
    return out


def pix2pix_step(folder, backend):
    from pix2pix_script import tiny_pix2pix

    shared = np.load(os.path.join(folder, "shared.npz"))
    gan = tiny_pix2pix()
    gan.load_weights(os.path.join(folder, "initial.weights.h5"))
    x, y = shared["inputs"], shared["targets"]
    logs = gan.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0).history
    np.savez(os.path.join(folder, f"{backend}.npz"), outputs=gan.translate(x), **_weights(gan))
    gan.save(os.path.join(folder, f"{backend}.keras"))
    return _first(logs)


def pix2pix_load(folder, backend):
    shared = np.load(os.path.join(folder, "shared.npz"))
    for other, gan in _saved_by_the_others(folder, backend):
        np.save(os.path.join(folder, f"{other}-on-{backend}.npy"), gan.translate(shared["inputs"]))
    return {}


def cyclegan_step(folder, backend):
    from test_cyclegan import tiny_cyclegan

    shared = np.load(os.path.join(folder, "shared.npz"))
    gan = tiny_cyclegan(pool_size=0)
    gan.load_weights(os.path.join(folder, "initial.weights.h5"))
    logs = gan.fit((shared["a"], shared["b"]), batch_size=len(shared["a"]), epochs=1, shuffle=False, verbose=0).history
    np.savez(os.path.join(folder, f"{backend}.npz"), **_weights(gan))
    gan.save(os.path.join(folder, f"{backend}.keras"))
    return _first(logs)


def cyclegan_load(folder, backend):
    shared = np.load(os.path.join(folder, "shared.npz"))
    out = {}
    for other, gan in _saved_by_the_others(folder, backend):
        logs = gan.fit((shared["a"], shared["b"]), batch_size=len(shared["a"]), epochs=1, verbose=0).history
        out[other] = {"losses": _first(logs), "iterations": {
            name: int(keras.ops.convert_to_numpy(o.iterations)) for name, o in gan.optimizers.items()}}
    return out


def _penalty_only(real_out, fake_out, label_smoothing=0.0):
    return 0.0 * keras.ops.mean(real_out)


def wgan_gp_step(folder, backend):
    # The interpolation weights eps come from the test too: each backend's own RNG would draw others.
    shared = np.load(os.path.join(folder, "shared.npz"))
    eps = keras.ops.convert_to_tensor(shared["eps"])
    loss = losses.GANLoss(
        "penalty_only", _penalty_only, losses.wasserstein_generator_loss,
        penalty=lambda critic, real, fake, seeds: losses.gradient_penalty(critic, real, fake, seeds, eps=eps),
    )
    gan = tiny_gan(dropout=0.0, compile=False)
    gan.load_weights(os.path.join(folder, "initial.weights.h5"))
    gan.compile(d_optimizer=keras.optimizers.SGD(1.0), g_optimizer=keras.optimizers.SGD(0.0), loss_fn=loss,
                **QUICK_COMPILE)
    _given_noise(gan, shared["z"])
    before = numpy_weights(gan.discriminator.trainable_variables)
    history = gan.fit(shared["real"], batch_size=len(shared["real"]), epochs=1, shuffle=False, verbose=0).history
    after = numpy_weights(gan.discriminator.trainable_variables)
    return {"penalty": history["d_loss"][0], "grads": [(b - a).ravel().tolist() for a, b in zip(after, before)]}


PHASES = {
    "step": {"dcgan": dcgan_step, "conditional": conditional_step, "pix2pix": pix2pix_step,
             "cyclegan": cyclegan_step, "wgan_gp": wgan_gp_step},
    "load": {"dcgan": dcgan_load, "pix2pix": pix2pix_load, "cyclegan": cyclegan_load},
}

if __name__ == "__main__":
    phase, workdir = sys.argv[1], sys.argv[2]
    backend = keras.backend.backend()
    print(json.dumps({model: run(os.path.join(workdir, model), backend) for model, run in PHASES[phase].items()}))
