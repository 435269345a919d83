"""The seam between the one GAN and the three backends.

Per backend, only how gradients are taken and applied:

- `minimize(loss_fn, variables, optimizer)`: calls `loss_fn()` (written with
  ordinary stateful Keras calls), takes the gradient of its loss with respect
  to `variables`, applies it with `optimizer`, and returns `(loss, aux)`.
- `minimize_each(loss_fn, targets)`: `loss_fn()` returns `(losses, aux)`,
  one loss per `(variables, optimizer)` target; each loss's gradient with
  respect to its target's variables, all from that one forward pass and
  before any update is applied (the TensorFlow tutorial's simultaneous step).
- `record(fn, variables)`: runs `fn()` and keeps what backpropagating from its
  outputs to `variables` needs; returns `(outputs, recorded)`.
  `recorded.minimize(loss_fn, optimizer)` later applies the gradient of
  `loss_fn(outputs)` through that same pass. This is how G's update reuses the
  G(z) that D's update saw instead of running G twice.
  (On torch all three apply a plain `keras.optimizers.Adam`'s update through
  `torch_adam`: Keras's arithmetic, bit for bit, without its per-call host work.)
- `train_step(model, *args)`: adapts `DCGAN.gan_step(data)` to what the
  backend's trainer calls: `train_step(data)` on TensorFlow and torch, the
  stateless `train_step(state, data)` on JAX.
- `forward(model, inputs, training)`: `model(inputs, training=training)` for
  the training step; on torch, a chain model's layers are called directly,
  without Keras's per-call host work (`torch_forward`).
- `normal_noise(batch_size, latent_dim, seed_generator)`: z for one update
  (per replica under tf.distribute, a slice of the global batch's noise).
- `computes_on_cpu()`: whether Keras places this process's computation on the
  CPU (no GPU or other accelerator in use).
- `default_jit_compile(model)`: what `compile(jit_compile="auto")` means for
  `model` here.
- `data_parallel_scope(devices)`: the backend's own data-parallel engine.
- `enable_compile_cache(path)`: persist compiled steps where the backend compiles.
- `fast_layers`: None, or a module of faster kernels behind dcgan_keras.layers
  (torch; and JAX, whose strided convolutions go by phases on a CPU; Keras's
  own ops are as fast as it gets on TensorFlow).
- `move_average`: None, or `move_average(averages, values, updates,
  momentum)` doing `average += step * (value - average)` for each pair in
  one fused call, with `DCGAN`'s step for the average after `updates` G
  updates (torch only, for the average of G: eagerly, Keras ops cost ~90
  calls a step and copy Python numbers to the device; TensorFlow and JAX
  fuse them inside the compiled step).
- `add_to_means`: None, or `add_to_means(means, scalars)`: each
  `keras.metrics.Mean`'s `update_state(scalar)` and then its `result()`, in
  fused calls (torch: the training step's five metrics; compiled steps fuse
  Keras's ops anyway).
- `seed_state_scope()`: where the training step's SeedGenerators are made
  (torch: in host memory, so that a draw's read of the state is no device
  sync; elsewhere Keras's default place).
- `bce_with_logits`: None, or the backend's fused `bce_with_logits(labels,
  logits)` on float32 logits (torch: one op where keras.ops takes nine, each
  paid on the host every step; compiled steps fuse them anyway).

Everything else, the GAN included, is written once with `keras.ops`.
"""

import importlib

import keras

_BACKEND = keras.backend.backend()
if _BACKEND not in ("tensorflow", "jax", "torch"):
    raise ImportError(
        f"dcgan_keras supports the tensorflow, jax and torch Keras backends. "
        f"Received: KERAS_BACKEND={_BACKEND!r}. Set KERAS_BACKEND to one of those."
    )
_impl = importlib.import_module(f"dcgan_keras.backend.{_BACKEND}")

computes_on_cpu = _impl.computes_on_cpu
data_parallel_scope = _impl.data_parallel_scope
default_jit_compile = _impl.default_jit_compile
enable_compile_cache = _impl.enable_compile_cache
fast_layers = _impl.fast_layers
forward = _impl.forward
minimize = _impl.minimize
minimize_each = _impl.minimize_each
normal_noise = _impl.normal_noise
record = _impl.record
seed_state_scope = _impl.seed_state_scope
train_step = _impl.train_step


def move_average(averages, values, updates, momentum):
    """`average += step * (value - average)` for each pair, step = 1 - min(m, (k - 1) / k) after k updates."""
    if _impl.move_average is not None:
        return _impl.move_average(averages, values, updates, momentum)
    k = keras.ops.cast(updates, "float32")
    step = 1.0 - keras.ops.minimum(momentum, (k - 1.0) / keras.ops.maximum(k, 1.0))
    for average, value in zip(averages, values):
        value = keras.ops.cast(keras.ops.stop_gradient(value), average.dtype)
        average.assign(average + keras.ops.cast(step, average.dtype) * (value - average))


def add_to_means(means, values):
    """Each `keras.metrics.Mean`'s `update_state(value)`, then its `result()`; returns the results."""
    # Plain Means only on the fused path: a subclass (a user's tracker) may update differently.
    if _impl.add_to_means is not None and all(type(mean) is keras.metrics.Mean for mean in means):
        return _impl.add_to_means(means, values)
    for mean, value in zip(means, values):
        mean.update_state(value)
    return [mean.result() for mean in means]


def bce_with_logits(labels, logits):
    """Mean binary cross-entropy of `labels` against float32 `logits`, stable for any logit."""
    if _impl.bce_with_logits is not None:
        return _impl.bce_with_logits(labels, logits)
    ops = keras.ops
    labels = ops.cast(labels, "float32")
    return ops.mean(ops.relu(logits) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits))))

__all__ = [
    "add_to_means",
    "bce_with_logits",
    "data_parallel_scope",
    "default_jit_compile",
    "enable_compile_cache",
    "fast_layers",
    "forward",
    "minimize",
    "minimize_each",
    "move_average",
    "normal_noise",
    "record",
    "seed_state_scope",
    "train_step",
]
