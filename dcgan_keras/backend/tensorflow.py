"""TensorFlow: gradients from a GradientTape."""

import contextlib
import os

import keras
import tensorflow as tf


def minimize(loss_fn, variables, optimizer):
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
        scaled_loss = _replica_share(optimizer.scale_loss(loss))
    optimizer.apply(tape.gradient(scaled_loss, variables), variables)
    return loss, aux


def minimize_each(loss_fn, targets):
    with tf.GradientTape(persistent=True) as tape:
        losses, aux = loss_fn()
        scaled = [_replica_share(opt.scale_loss(loss)) for loss, (_, opt) in zip(losses, targets)]
    # Every gradient is taken before any update is applied: each loss sees
    # the weights the forward pass used.
    grads = [tape.gradient(loss, variables) for loss, (variables, _) in zip(scaled, targets)]
    for g, (variables, opt) in zip(grads, targets):
        opt.apply(g, variables)
    return losses, aux


def minimize_together(loss_fn, targets):
    variables = [v for target_variables, _ in targets for v in target_variables]
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
        scaled_loss = _replica_share(loss)
    _apply_split(tape.gradient(scaled_loss, variables), targets)
    return loss, aux


def _apply_split(grads, targets):
    start = 0
    for variables, optimizer in targets:
        optimizer.apply(grads[start:start + len(variables)], variables)
        start += len(variables)


def record(fn, variables):
    # The tape stops recording when `fn` returns and resumes in `minimize`:
    # what runs in between (D's update) stays off it.
    tape = tf.GradientTape()
    with tape:
        outputs = fn()
    return outputs, _RecordedPass(tape, outputs, variables)


class _RecordedPass:
    def __init__(self, tape, outputs, variables):
        self.tape, self.outputs, self.variables = tape, outputs, variables

    def minimize(self, loss_fn, optimizer):
        with self.tape:
            loss, aux = loss_fn(self.outputs)
            scaled_loss = _replica_share(optimizer.scale_loss(loss))
        optimizer.apply(self.tape.gradient(scaled_loss, self.variables), self.variables)
        return loss, aux


def _replica_share(loss):
    # Replicas' gradients are summed: each replica's mean loss counts 1/N for
    # the sum to be the gradient of the global batch's mean.
    return loss / tf.distribute.get_strategy().num_replicas_in_sync


def normal_noise(batch_size, latent_dim, seed_generator):
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    context = tf.distribute.get_replica_context()
    if replicas == 1 or context is None:
        return keras.random.normal((batch_size, latent_dim), seed=seed_generator)
    # Every replica holds the same seed: each draws the global batch's noise
    # and keeps its own slice, so N replicas see what one device would.
    z = keras.random.normal((batch_size * replicas, latent_dim), seed=seed_generator)
    start = context.replica_id_in_sync_group * batch_size
    return z[start : start + batch_size]


def train_step(model, data):
    return model.gan_step(data)


def default_jit_compile(model):
    # XLA on a GPU; on a CPU-only machine graph mode, as Keras's own "auto"
    # does. Side by side on 2 cores (bench/RESULTS.md, attempts 9 and 14) the
    # faster mode depended on the machine: on one XLA was on par at 28x28 and
    # 1.27x at 64x64; on another graph mode (oneDNN's kernels) was 1.6x on
    # both presets, for this step and the hand-written one alike. Graph mode
    # loses less where it loses, and XLA refuses a MirroredStrategy's
    # variables over several CPU devices anyway.
    del model
    return bool(tf.config.list_physical_devices("GPU"))


def computes_on_cpu():
    return not tf.config.list_physical_devices("GPU")


def data_parallel_scope(devices=None):
    if os.environ.get("TF_CONFIG"):
        # Refused before MultiWorkerMirroredStrategy waits for the other
        # workers: Keras 3's TensorFlow trainer fails in fit under it (its
        # symbolic build and metric reduction break on PerReplica values,
        # keras-team/keras#20585), for our model and plain ones alike.
        raise ValueError(
            "TF_CONFIG is set, which asks for tf.distribute.MultiWorkerMirroredStrategy, whose fit "
            "Keras 3 does not support (keras-team/keras#20585). Unset TF_CONFIG to train on this "
            "host's devices, or use the jax backend with --coordinator_address, --num_processes and "
            "--process_id for several hosts."
        )
    return tf.distribute.MirroredStrategy(devices).scope()


def enable_compile_cache(path):
    # Not persisted: TF reads TF_XLA_FLAGS (where its persistent XLA cache is
    # set) once, at its first op, which comes before a run could set it here.
    del path


# No fast path here: Keras's layers compile into one graph (dcgan_keras.backend.fast).
seed_state_scope = contextlib.nullcontext


def input_gradient(fn, x):
    # A tape inside the caller's: the outer tape (minimize's) records this
    # gradient's computation too, so it can differentiate it again.
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fn(x)
    return tape.gradient(out, x)
