"""torch: gradients from autograd, applied outside of it."""

import keras
import torch
from keras.src.backend.common.stateless_scope import in_stateless_scope
from keras.src.backend.torch.core import get_device, to_torch_dtype

from dcgan_keras.backend import torch_adam
from dcgan_keras.backend import torch_layers as fast_layers  # also the seam's `fast_layers`
from dcgan_keras.backend.torch_forward import forward  # noqa: F401  (the seam's `forward`)


def move_average(averages, values, updates, momentum):
    # DCGAN._update_average's momentum, min(momentum, (k - 1) / k) after k
    # updates, with the Python numbers as kernel arguments: keras.ops.minimum
    # and maximum would copy them to the device, each a blocking copy on a GPU.
    # Then one fused in-place kernel per dtype group, as Keras's torch
    # optimizers update their slots; `step` stays a device tensor (no host sync).
    with torch.no_grad():
        k = keras.ops.cast(updates, "float32")
        step = 1.0 - torch.clamp((k - 1.0) / torch.clamp(k, min=1.0), max=momentum)
        torch._foreach_lerp_(fast_layers.values(averages), fast_layers.values(values), [step] * len(averages))


def add_to_means(means, values):
    # What `Mean.update_state` of one scalar each and then `result()` compute
    # (total += value, count += 1, total / count), as three fused calls: the
    # Keras calls cost ~80 us of host time a metric each step.
    if in_stateless_scope():  # there Keras collects the new values instead
        for mean, value in zip(means, values):
            mean.update_state(value)
        return [mean.result() for mean in means]
    with torch.no_grad():
        totals = fast_layers.values([mean.total for mean in means])
        counts = fast_layers.values([mean.count for mean in means])
        torch._foreach_add_(totals, [value.detach().to(total.dtype) for value, total in zip(values, totals)])
        torch._foreach_add_(counts, 1.0)
        return torch._foreach_div(totals, counts)


def bce_with_logits(labels, logits):
    # torch's fused loss: one op and one backward node, where the formula in
    # keras.ops is nine of each (eager Keras ops cost host time per call).
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def minimize(loss_fn, variables, optimizer):
    loss, aux = loss_fn()
    _apply(optimizer, _gradients(optimizer.scale_loss(loss), variables), variables)
    return loss, aux


def minimize_each(loss_fn, targets):
    losses, aux = loss_fn()
    last = len(targets) - 1
    grads = [
        _gradients(opt.scale_loss(loss), variables, retain_graph=i < last)
        for i, (loss, (variables, opt)) in enumerate(zip(losses, targets))
    ]
    # Applied only now: the later gradients needed the weights as the forward pass saw them.
    for g, (variables, opt) in zip(grads, targets):
        _apply(opt, g, variables)
    return losses, aux


def record(fn, variables):
    # Autograd keeps the graph of `fn` alive until `minimize` backpropagates
    # through it; updates applied in between (D's) do not touch its tensors.
    outputs = fn()
    return outputs, _RecordedPass(outputs, variables)


class _RecordedPass:
    def __init__(self, outputs, variables):
        self.outputs, self.variables = outputs, variables

    def minimize(self, loss_fn, optimizer):
        loss, aux = loss_fn(self.outputs)
        _apply(optimizer, _gradients(optimizer.scale_loss(loss), self.variables), self.variables)
        return loss, aux


def _gradients(loss, variables, retain_graph=False):
    # autograd.grad, not backward(): it computes only these variables'
    # gradients, so G's update skips D's weight gradients (and nothing
    # accumulates in `.grad` between updates).
    return list(torch.autograd.grad(loss, fast_layers.values(variables), retain_graph=retain_graph))


def _apply(optimizer, grads, variables):
    # A plain Adam without Keras's per-call host work; anything else as Keras applies it.
    if torch_adam.apply(optimizer, grads, variables):
        return
    with torch.no_grad():
        optimizer.apply(grads, variables)


def seed_state_scope():
    # SeedGenerator states made in here live in host memory: each draw reads
    # its state back (a torch.Generator takes its seed as a Python int), and
    # from a GPU tensor every such read would be a device sync (7 a step).
    return keras.device("cpu")


def normal_noise(batch_size, latent_dim, seed_generator):
    # keras.random.normal's draw, with the seed taken without its host work.
    device = get_device()
    # Symbolic shape inference has no generators, and torch.compile cannot
    # trace one: Keras's draw (the same numbers) handles both.
    if device == "meta" or torch.compiler.is_compiling():
        return keras.random.normal((batch_size, latent_dim), seed=seed_generator)
    return torch.normal(
        0.0, 1.0, size=(batch_size, latent_dim), dtype=to_torch_dtype(keras.config.floatx()), device=device,
        generator=fast_layers.seeded_generator(seed_generator, device),
    )


def train_step(model, data):
    return model.gan_step(data)


def default_jit_compile(model):
    del model
    # Keras's torch backend runs eagerly; torch.compile is opt-in.
    return False


def computes_on_cpu():
    return str(get_device()) == "cpu"


def data_parallel_scope(devices=None):
    raise ValueError(
        "Data-parallel training is supported on the jax backend (keras.distribution) and "
        "the tensorflow backend (tf.distribute). Keras's torch backend has no distribution "
        "support that DistributedDataParallel could plug into cleanly. Use --backend=jax "
        "or --backend=tensorflow for several devices."
    )


def enable_compile_cache(path):
    # Nothing to persist: no ahead-of-time compile on this backend here.
    del path


def input_gradient(fn, x):
    # create_graph: the gradient is itself a graph that the caller's
    # autograd.grad differentiates again (WGAN-GP's penalty, w.r.t. D's weights).
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    out = fn(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad
