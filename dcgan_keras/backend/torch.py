"""torch: gradients from autograd, applied outside of it."""

import keras
import torch


def minimize(loss_fn, variables, optimizer):
    loss, aux = loss_fn()
    _apply(optimizer, optimizer.scale_loss(loss), variables)
    return loss, aux


def minimize_each(loss_fn, targets):
    losses, aux = loss_fn()
    last = len(targets) - 1
    grads = [
        torch.autograd.grad(opt.scale_loss(loss), [v.value for v in variables], retain_graph=i < last)
        for i, (loss, (variables, opt)) in enumerate(zip(losses, targets))
    ]
    # Applied only now: the later gradients needed the weights as the forward pass saw them.
    with torch.no_grad():
        for g, (variables, opt) in zip(grads, targets):
            opt.apply(list(g), variables)
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
        _apply(optimizer, optimizer.scale_loss(loss), self.variables)
        return loss, aux


def _apply(optimizer, loss, variables):
    # autograd.grad, not backward(): it computes only these variables'
    # gradients, so G's update skips D's weight gradients (and nothing
    # accumulates in `.grad` between updates).
    grads = torch.autograd.grad(loss, [v.value for v in variables])
    with torch.no_grad():
        optimizer.apply(list(grads), variables)


def normal_noise(batch_size, latent_dim, seed_generator):
    return keras.random.normal((batch_size, latent_dim), seed=seed_generator)


def train_step(model, data):
    return model.gan_step(data)


def default_jit_compile():
    # Keras's torch backend runs eagerly; torch.compile is opt-in.
    return False


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
