"""The seam between the one GAN and the three backends.

Per backend, only how gradients are taken and applied:

- `minimize(loss_fn, variables, optimizer)`: calls `loss_fn()` (written with
  ordinary stateful Keras calls), takes the gradient of its loss with respect
  to `variables`, applies it with `optimizer`, and returns `(loss, aux)`.
- `train_step(model, *args)`: adapts `DCGAN.gan_step(data)` to what the
  backend's trainer calls: `train_step(data)` on TensorFlow and torch, the
  stateless `train_step(state, data)` on JAX.
- `default_jit_compile()`: what `compile(jit_compile="auto")` means here.

Everything else, the GAN included, is written once with `keras.ops`.
"""

import keras

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
    from dcgan_keras.backend.tensorflow import default_jit_compile, minimize, train_step
elif _BACKEND == "jax":
    from dcgan_keras.backend.jax import default_jit_compile, minimize, train_step
elif _BACKEND == "torch":
    from dcgan_keras.backend.torch import default_jit_compile, minimize, train_step
else:
    raise ImportError(
        f"dcgan_keras supports the tensorflow, jax and torch Keras backends. "
        f"Received: KERAS_BACKEND={_BACKEND!r}. Set KERAS_BACKEND to one of those."
    )

__all__ = ["default_jit_compile", "minimize", "train_step"]
