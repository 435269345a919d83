"""torch: gradients from autograd, applied outside of it (the fast path: dcgan_keras.backend.fast)."""

import keras
import torch
from keras.src.backend.torch.core import get_device

from dcgan_keras.backend import fast
from dcgan_keras.backend.fast import torch_adam, torch_hooks


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


def minimize_together(loss_fn, targets):
    loss, aux = loss_fn()
    grads = _gradients(loss, [v for variables, _ in targets for v in variables])
    start = 0
    for variables, opt in targets:
        _apply(opt, grads[start:start + len(variables)], variables)
        start += len(variables)
    return loss, aux


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
    return list(torch.autograd.grad(loss, [v.value for v in variables], retain_graph=retain_graph))


def _apply(optimizer, grads, variables):
    # The fast path: a plain Adam without Keras's per-call host work; anything else as Keras applies it.
    if fast.enabled() and torch_adam.apply(optimizer, grads, variables):
        return
    with torch.no_grad():
        optimizer.apply(grads, variables)


def seed_state_scope():
    # SeedGenerator states made in here live in host memory: each draw reads
    # its state back (a torch.Generator takes its seed as a Python int), and
    # from a GPU tensor every such read would be a device sync (7 a step).
    return keras.device("cpu")


def normal_noise(batch_size, latent_dim, seed_generator):
    z = torch_hooks.normal_noise(batch_size, latent_dim, seed_generator) if fast.enabled() else None
    return keras.random.normal((batch_size, latent_dim), seed=seed_generator) if z is None else z


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
