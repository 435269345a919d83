"""torch: gradients from autograd, applied outside of it."""

import torch


def minimize(loss_fn, variables, optimizer):
    # Gradients accumulate in `.grad`: the generator's update also fills the
    # discriminator's, which must not leak into the next discriminator update.
    for v in variables:
        v.value.grad = None
    loss, aux = loss_fn()
    optimizer.scale_loss(loss).backward()
    grads = [v.value.grad for v in variables]
    with torch.no_grad():
        optimizer.apply(grads, variables)
    return loss, aux


def train_step(model, data):
    return model.gan_step(data)


def default_jit_compile():
    # Keras's torch backend runs eagerly; torch.compile is opt-in.
    return False
