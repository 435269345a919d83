"""torch: gradients from autograd, applied outside of it."""

import keras
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
