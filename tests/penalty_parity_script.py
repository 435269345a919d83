"""One wgan_gp critic update under the backend KERAS_BACKEND names: its gradient, printed as JSON.

Run by test_losses.py under each backend. The critic starts from the weights
in `workdir`, the interpolation weights eps and the images come from there
too (each backend's own RNG would draw other eps), and D's loss is the
gradient penalty alone, applied by SGD(1): the weights' change is minus the
penalty's gradient with respect to them, a gradient of a gradient.
"""

import json
import os
import sys

import keras
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dcgan_keras import losses  # noqa: E402
from helpers import numpy_weights, tiny_gan  # noqa: E402


def penalty_only(real_out, fake_out, label_smoothing=0.0):
    return 0.0 * keras.ops.mean(real_out)


def main(workdir):
    shared = np.load(os.path.join(workdir, "shared.npz"))
    eps = keras.ops.convert_to_tensor(shared["eps"])
    loss = losses.GANLoss(
        "penalty_only", penalty_only, losses.wasserstein_generator_loss,
        penalty=lambda critic, real, fake, seeds: losses.gradient_penalty(critic, real, fake, seeds, eps=eps),
    )
    gan = tiny_gan(dropout=0.0, compile=False)
    gan.load_weights(os.path.join(workdir, "initial.weights.h5"))
    gan.compile(d_optimizer=keras.optimizers.SGD(1.0), g_optimizer=keras.optimizers.SGD(0.0), loss_fn=loss,
                **({"jit_compile": False} if keras.backend.backend() == "tensorflow" else {}))
    z = keras.ops.convert_to_tensor(shared["z"])
    gan.sample_noise = lambda batch_size: z
    before = numpy_weights(gan.discriminator.trainable_variables)
    history = gan.fit(shared["real"], batch_size=len(shared["real"]), epochs=1, shuffle=False, verbose=0).history
    after = numpy_weights(gan.discriminator.trainable_variables)
    grads = [(b - a).ravel().tolist() for a, b in zip(after, before)]
    print(json.dumps({"penalty": history["d_loss"][0], "grads": grads}))


if __name__ == "__main__":
    main(sys.argv[1])
