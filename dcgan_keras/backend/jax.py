"""JAX: a stateless train step, with gradients from `jax.grad`.

Keras's JAX trainer jits `train_step(state, data)` and threads through it
only the values in `state`: the model's trainable and non-trainable variables
(BatchNorm statistics and RNG seeds among them), `model.optimizer.variables`
(DCGAN makes that both optimizers' variables) and the metrics' variables.
Any variable read otherwise would be baked into the compiled step as a
constant. So the whole GAN step runs inside a `StatelessScope` mapping every
variable to its value in `state`: the GAN code stays stateful-looking, reads
come from the scope, and writes (optimizer updates, BatchNorm statistics,
seeds, metrics) are collected from it into the new state.
"""

import contextlib

import jax
import jax.numpy as jnp
import keras
from keras import StatelessScope
from keras.src.backend.common.stateless_scope import get_stateless_scope

from dcgan_keras.backend import fast


class _NestedScope(StatelessScope):
    """A scope for the function `jax.grad` traces: it maps the differentiated
    variables to the traced values and reads everything else from the
    enclosing train-step scope, recording which variables were written."""

    def __init__(self, parent, state_mapping):
        super().__init__(state_mapping=state_mapping)
        self.parent = parent
        self.written = {}

    def get_current_value(self, variable):
        value = super().get_current_value(variable)
        return self.parent.get_current_value(variable) if value is None else value

    def add_update(self, update):
        super().add_update(update)
        self.written[id(update[0])] = update[0]


def minimize(loss_fn, variables, optimizer):
    parent = _train_step_scope()
    loss_of, written = _traced(parent, lambda: _scaled(loss_fn(), optimizer), variables)
    grads, ((loss, aux), new_values) = jax.grad(loss_of, has_aux=True)([v.value for v in variables])
    _assign(written, new_values)
    _apply(optimizer, grads, variables)
    return loss, aux


def minimize_each(loss_fn, targets):
    parent = _train_step_scope()
    variables = [v for target_variables, _ in targets for v in target_variables]

    def scaled_losses():
        losses, aux = loss_fn()
        return tuple(opt.scale_loss(loss) for loss, (_, opt) in zip(losses, targets)), (losses, aux)

    forward, written = _traced(parent, scaled_losses, variables)
    scaled, pullback, ((losses, aux), new_values) = jax.vjp(
        forward, [v.value for v in variables], has_aux=True
    )
    _assign(written, new_values)
    start = 0
    for i, (target_variables, opt) in enumerate(targets):
        # One pullback per loss, keeping only its own variables' gradients:
        # under jit, XLA drops the rest of each backward pass.
        cotangent = tuple(jnp.ones_like(s) if j == i else jnp.zeros_like(s) for j, s in enumerate(scaled))
        (grads,) = pullback(cotangent)
        end = start + len(target_variables)
        _apply(opt, grads[start:end], target_variables)
        start = end
    return losses, aux


def minimize_together(loss_fn, targets):
    parent = _train_step_scope()
    variables = [v for target_variables, _ in targets for v in target_variables]

    def loss_and_outputs():
        loss, aux = loss_fn()
        return loss, (loss, aux)

    loss_of, written = _traced(parent, loss_and_outputs, variables)
    grads, ((loss, aux), new_values) = jax.grad(loss_of, has_aux=True)([v.value for v in variables])
    _assign(written, new_values)
    start = 0
    for target_variables, opt in targets:
        _apply(opt, grads[start:start + len(target_variables)], target_variables)
        start += len(target_variables)
    return loss, aux


def record(fn, variables):
    parent = _train_step_scope()
    forward, written = _traced(parent, lambda: (fn(), None), variables)
    outputs, pullback, (_, new_values) = jax.vjp(forward, [v.value for v in variables], has_aux=True)
    _assign(written, new_values)
    return outputs, _RecordedPass(parent, outputs, pullback, variables)


class _RecordedPass:
    """G's forward pass kept as a `jax.vjp` pullback: its update costs one
    backward pass through D and one through G, and no second G(z)."""

    def __init__(self, parent, outputs, pullback, variables):
        self.parent, self.outputs, self.pullback, self.variables = parent, outputs, pullback, variables

    def minimize(self, loss_fn, optimizer):
        loss_of, written = _traced(self.parent, lambda outputs: _scaled(loss_fn(outputs), optimizer), [])
        output_grads, ((loss, aux), new_values) = jax.grad(
            lambda outputs: loss_of([], outputs), has_aux=True
        )(self.outputs)
        _assign(written, new_values)
        (grads,) = self.pullback(output_grads)
        _apply(optimizer, grads, self.variables)
        return loss, aux


def _train_step_scope():
    scope = get_stateless_scope()
    if scope is None:
        raise RuntimeError("dcgan_keras.backend.jax must run inside DCGAN.train_step on JAX.")
    return scope


def _scaled(loss_and_aux, optimizer):
    loss, aux = loss_and_aux
    return optimizer.scale_loss(loss), (loss, aux)


def _traced(parent, fn, variables):
    """`fn` as a pure function of `variables`' values (and of `fn`'s own
    arguments), for JAX to differentiate: returns it, `(out, (aux,
    new_values))`, and the list it fills with the other variables written
    while it ran (BatchNorm statistics, seeds), whose new values those are."""
    differentiated = {id(v) for v in variables}
    written = []

    def pure(values, *args):
        with _NestedScope(parent, list(zip(variables, values))) as scope:
            out, aux = fn(*args)
        written[:] = [v for k, v in scope.written.items() if k not in differentiated]
        return out, (aux, [scope.state_mapping[id(v)] for v in written])

    return pure, written


def _assign(variables, values):
    for variable, value in zip(variables, values):
        variable.assign(value)


def _apply(optimizer, grads, variables):
    # stateless_apply, not apply: LossScaleOptimizer's apply assigns inside
    # lax.cond branches, which would leak tracers out of them.
    new_weights, new_slots = optimizer.stateless_apply(
        [v.value for v in optimizer.variables], grads, [v.value for v in variables]
    )
    for variable, value in zip(list(variables) + list(optimizer.variables), new_weights + new_slots):
        variable.assign(value)


def normal_noise(batch_size, latent_dim, seed_generator):
    return keras.random.normal((batch_size, latent_dim), seed=seed_generator)


def train_step(model, state, data):
    groups = (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )
    mapping = [pair for variables, values in zip(groups, state) for pair in zip(variables, values)]
    fast.compiled_with_switch(model)  # traced with the switch as it is now
    with StatelessScope(state_mapping=mapping) as scope:
        logs = model.gan_step(data)
    new_state = tuple(
        [scope.get_current_value(v) for v in variables] for variables in groups
    )
    return logs, new_state


def default_jit_compile(model):
    del model
    # Unjitted JAX dispatches op by op: orders of magnitude slower.
    return True


_STATE_GROUPS = ("trainable_variables", "non_trainable_variables", "optimizer_variables", "metrics_variables")


def state_for_step(model, get_state, purge_model_variables=False, **groups):
    """`model._get_jax_state`, keeping the values it hands a step as those to put back.

    Keras's JAX trainer empties a model's variables while their values go
    through its stateless steps, and when `fit` ends, normally or by an error,
    puts back the last step's result from `model._jax_state`. Before a first
    step has returned there is no such result (Keras 3.15): an error raised
    while that step is traced (images of the wrong shape) or a Ctrl-C during
    its compilation left every variable empty, and the model failed from then
    on with "'NoneType' object is not callable", its weights lost. Recording
    the values handed out as the state to put back leaves the weights as they
    were after a failed step; a step that returns replaces them, as before.

    Args:
        model: the model whose `_get_jax_state` this stands for.
        get_state: Keras's own `_get_jax_state`, bound to `model`.
        purge_model_variables, **groups: its arguments.
    """
    state = get_state(**groups)
    if purge_model_variables:
        model._jax_state = dict(zip([g for g in _STATE_GROUPS if groups.get(g)], state))
        model._purge_model_variables(**groups)
    return state


def computes_on_cpu():
    return jax.default_backend() == "cpu"


def data_parallel_scope(devices=None):
    return keras.distribution.DataParallel(devices=devices or keras.distribution.list_devices()).scope()


def enable_compile_cache(path):
    # XLA's compile of a train step takes seconds to minutes on a CPU: a
    # resumed run, or sample.py, reuses the compiled program. A cache dir
    # already chosen (JAX_COMPILATION_CACHE_DIR) wins.
    if jax.config.jax_compilation_cache_dir:
        return
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


seed_state_scope = contextlib.nullcontext


def input_gradient(fn, x):
    # jax.grad inside the function the caller traces: the weights `fn` reads
    # are that caller's traced values (its scope), closed over here, so the
    # caller's jax.grad differentiates this gradient again. Variables `fn`
    # writes (a Dropout's seed) come out as aux, not as leaked inner tracers.
    # Outside a train step (eagerly), unmapped reads fall back to the stored values.
    parent = get_stateless_scope() or StatelessScope()
    traced, written = _traced(parent, lambda inputs: (jnp.sum(fn(inputs)), None), [])
    grad, (_, new_values) = jax.grad(lambda inputs: traced([], inputs), has_aux=True)(x)
    _assign(written, new_values)
    return grad
