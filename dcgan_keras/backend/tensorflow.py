"""TensorFlow: gradients from a GradientTape."""

import tensorflow as tf


def minimize(loss_fn, variables, optimizer):
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
        scaled_loss = optimizer.scale_loss(loss)
    grads = tape.gradient(scaled_loss, variables)
    optimizer.apply(grads, variables)
    return loss, aux


def train_step(model, data):
    return model.gan_step(data)


def default_jit_compile():
    # Measured on a 2-core CPU: TF graph mode beats XLA for this network;
    # on GPUs XLA usually wins.
    return bool(tf.config.list_physical_devices("GPU"))
