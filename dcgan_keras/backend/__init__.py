"""The seam between the one GAN and the three backends.

Per backend, only how gradients are taken and applied:

- `minimize(loss_fn, variables, optimizer)`: calls `loss_fn()` (written with
  ordinary stateful Keras calls), takes the gradient of its loss with respect
  to `variables`, applies it with `optimizer`, and returns `(loss, aux)`.
- `minimize_each(loss_fn, targets)`: `loss_fn()` returns `(losses, aux)`,
  one loss per `(variables, optimizer)` target; each loss's gradient with
  respect to its target's variables, all from that one forward pass and
  before any update is applied (the TensorFlow tutorial's simultaneous step).
- `minimize_together(loss_fn, targets)`: `loss_fn()` returns `(loss, aux)`;
  one gradient of that loss, each `(variables, optimizer)` target applying
  its own variables' part: one backward pass instead of `minimize_each`'s
  one per loss. For a loss whose gradient with respect to each target's
  variables is that target's own loss's: a CycleGAN's two generators, whose
  summed loss counts the terms they share (cycle, identity) once and each
  adversarial term once (it reaches one generator only). Optimizers that
  scale the loss (a LossScaleOptimizer, a `loss_scale_factor`) scale it their
  own way: then it runs as `minimize_each` with the loss for each.
- `record(fn, variables)`: runs `fn()` and keeps what backpropagating from its
  outputs to `variables` needs; returns `(outputs, recorded)`.
  `recorded.minimize(loss_fn, optimizer)` later applies the gradient of
  `loss_fn(outputs)` through that same pass. This is how G's update reuses the
  G(z) that D's update saw instead of running G twice.
  (On torch all four apply a plain `keras.optimizers.Adam`'s update through
  `torch_adam`: Keras's arithmetic, bit for bit, without its per-call host work.)
- `train_step(model, *args)`: adapts `DCGAN.gan_step(data)` to what the
  backend's trainer calls: `train_step(data)` on TensorFlow and torch, the
  stateless `train_step(state, data)` on JAX.
- `forward(model, inputs, training)`: `model(inputs, training=training)` for
  the training step (the fast path: a chain network's layers with faster
  kernels, `fast.torch_forward`, `fast.jax_forward`).
- `normal_noise(batch_size, latent_dim, seed_generator)`: z for one update
  (per replica under tf.distribute, a slice of the global batch's noise).
- `computes_on_cpu()`: whether Keras places this process's computation on the
  CPU (no GPU or other accelerator in use).
- `default_jit_compile(model)`: what `compile(jit_compile="auto")` means for
  `model` here.
- `data_parallel_scope(devices)`: the backend's own data-parallel engine.
- `enable_compile_cache(path)`: persist compiled steps where the backend compiles.
- `move_average(averages, values, updates, momentum)`: `average += step *
  (value - average)` for each pair, with `DCGAN`'s step for the average after
  `updates` G updates: 1 - min(momentum, (k - 1) / max(k, 1)).
- `add_to_means(means, values)`: each `keras.metrics.Mean`'s
  `update_state(value)`, then the list of their `result()`s.
- `seed_state_scope()`: where the training step's SeedGenerators are made
  (torch: in host memory, so that a draw's read of the state is no device
  sync; elsewhere Keras's default place).
- `bce_with_logits(labels, logits)`: the mean binary cross-entropy of float32
  logits.

`forward`, `move_average`, `add_to_means`, `bce_with_logits` (and on torch the
noise and the Adam update) are plain Keras here; while the fast path
(`dcgan_keras.backend.fast`: one switch, version-checked) is on, the backend's
faster versions replace them, with the same numbers.

Everything else, the GAN included, is written once with `keras.ops`.
"""

import importlib

import keras
from keras import ops

from dcgan_keras.backend import fast

_BACKEND = keras.backend.backend()
if _BACKEND not in ("tensorflow", "jax", "torch"):
    raise ImportError(
        f"dcgan_keras supports the tensorflow, jax and torch Keras backends. "
        f"Received: KERAS_BACKEND={_BACKEND!r}. Set KERAS_BACKEND to one of those."
    )
_impl = importlib.import_module(f"dcgan_keras.backend.{_BACKEND}")
# The backend's fast versions of the functions below (a module), or None.
_fast_hooks = fast.hooks(_BACKEND)


def _fast(name):
    hook = getattr(_fast_hooks, name, None)
    return hook if hook is not None and fast.enabled() else None


def forward(model, inputs, training):
    hook = _fast("forward")
    if hook is not None:
        return hook(model, inputs, training)
    return model(inputs, training=training)


def move_average(averages, values, updates, momentum):
    hook = _fast("move_average")
    if hook is not None:
        return hook(averages, values, updates, momentum)
    k = ops.cast(updates, "float32")
    step = 1.0 - ops.minimum(momentum, (k - 1.0) / ops.maximum(k, 1.0))
    for average, value in zip(averages, values):
        value = ops.cast(ops.stop_gradient(value), average.dtype)
        average.assign(average + ops.cast(step, average.dtype) * (value - average))


def add_to_means(means, values):
    hook = _fast("add_to_means")
    results = hook(means, values) if hook is not None else None
    if results is not None:
        return results
    for mean, value in zip(means, values):
        mean.update_state(value)
    return [mean.result() for mean in means]


def bce_with_logits(labels, logits):
    hook = _fast("bce_with_logits")
    if hook is not None:
        return hook(labels, logits)
    # max(x, 0) - x * y + log(1 + exp(-|x|)): no exp of a large positive number.
    labels = ops.cast(labels, "float32")
    return ops.mean(ops.relu(logits) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits))))


computes_on_cpu = _impl.computes_on_cpu
data_parallel_scope = _impl.data_parallel_scope
default_jit_compile = _impl.default_jit_compile
enable_compile_cache = _impl.enable_compile_cache
input_gradient = _impl.input_gradient  # d sum(fn(x)) / dx, differentiable again (WGAN-GP)
minimize = _impl.minimize
minimize_each = _impl.minimize_each


def minimize_together(loss_fn, targets):
    if any(isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
           or getattr(optimizer, "loss_scale_factor", None) is not None for _, optimizer in targets):
        def each():
            loss, aux = loss_fn()
            return (loss,) * len(targets), aux

        losses, aux = minimize_each(each, targets)
        return losses[0], aux
    return _impl.minimize_together(loss_fn, targets)


normal_noise = _impl.normal_noise
record = _impl.record
seed_state_scope = _impl.seed_state_scope
train_step = _impl.train_step

__all__ = [
    "add_to_means",
    "bce_with_logits",
    "computes_on_cpu",
    "data_parallel_scope",
    "default_jit_compile",
    "enable_compile_cache",
    "forward",
    "input_gradient",
    "minimize",
    "minimize_each",
    "minimize_together",
    "move_average",
    "normal_noise",
    "record",
    "seed_state_scope",
    "train_step",
]
