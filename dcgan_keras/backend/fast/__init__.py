"""The speed work, fenced: faster kernels where the training step runs a network, behind one switch.

Everything here is entered through the seam (`dcgan_keras.backend`) only. The
seam exports plain-Keras functions (`forward`, `move_average`, `add_to_means`,
`bce_with_logits`, the latent noise and, on torch, the Adam update) and calls
the backend's fast version in their place while `enabled()`:

- torch (`torch_forward`, `torch_layers`, `torch_adam`, `torch_hooks`): a chain
  network's layers called directly (in any other functional network, the same
  layers among its nodes), Keras's Conv2D, Conv2DTranspose,
  BatchNormalization, Dropout, Dense, Reshape, Flatten, LeakyReLU and tanh as
  torch ops without `keras.ops` around them; fused metric, average and
  cross-entropy updates; Keras's Adam arithmetic without its host work;
- JAX on a CPU (`jax_forward`, `jax_layers`): a functional or Sequential
  network's strided convolutions by phases, where XLA:CPU's dilated
  convolutions are slow;
- TensorFlow: nothing (Keras's ops compile into one graph).

The fast path reaches into `keras.src` internals, so it is tested against one
range of Keras versions, `TESTED_KERAS`; outside it, it turns itself off with
one warning. `DCGAN_KERAS_FAST_PATH=0` in the environment, or
`set_enabled(False)`, turns it off by hand: every seam function is then
Keras's own, and gives the same numbers (tests/test_fast_path.py).

Example:
    >>> from dcgan_keras.backend import fast
    >>> fast.set_enabled(False)  # the next training step runs plain Keras
"""

import os
import warnings
import weakref

import keras

#: The Keras versions the fast path was tested with: (lowest allowed, first excluded).
TESTED_KERAS = (">=3.15", "<3.16")

_user_enabled = os.environ.get("DCGAN_KERAS_FAST_PATH", "1").strip().lower() not in ("0", "false", "off", "no")
_warned = False
# Models whose step was compiled with the switch as it was (JAX): a change drops their compiled step.
_compiled = weakref.WeakSet()


def _version_tuple(text):
    return tuple(int(part) for part in text.split("+")[0].split(".")[:2] if part.isdigit())


def keras_in_tested_range(version=None):
    """Whether `version` (default: the installed Keras) lies within `TESTED_KERAS`."""
    version = _version_tuple(version or keras.version())
    low, high = (_version_tuple(bound.lstrip("<>=")) for bound in TESTED_KERAS)
    return low <= version < high


def enabled():
    """Whether the fast path is on: not switched off, and Keras within `TESTED_KERAS`.

    Warns once per process where the Keras version turns it off.
    """
    global _warned
    if not _user_enabled:
        return False
    if keras_in_tested_range():
        return True
    if not _warned:
        _warned = True
        warnings.warn(
            f"dcgan_keras's fast path was tested with Keras {', '.join(TESTED_KERAS)}; this is Keras "
            f"{keras.version()}. It is off: training runs Keras's own ops (same results, slower on torch and "
            "on JAX's CPU). Set DCGAN_KERAS_FAST_PATH=0 to silence this warning.",
            stacklevel=2,
        )
    return False


def set_enabled(flag):
    """Turns the fast path on (True) or off (False) for every model's next step.

    On JAX a compiled step is traced again by the model's next `fit` call.
    """
    global _user_enabled
    if bool(flag) != _user_enabled:
        _user_enabled = bool(flag)
        for model in list(_compiled):
            model.train_function = None


def compiled_with_switch(model):
    """Notes that `model`'s compiled step read the switch (JAX), for `set_enabled` to drop it."""
    _compiled.add(model)


def hooks(backend):
    """The module of `backend`'s fast seam functions (`forward`, ...), or None where it has none."""
    if backend == "torch":
        from dcgan_keras.backend.fast import torch_hooks

        return torch_hooks
    if backend == "jax":
        from dcgan_keras.backend.fast import jax_forward

        return jax_forward
    return None
