"""torch: a functional or Sequential model's forward pass, each direct layer's `call` run in turn.

Keras's torch backend runs eagerly, so everything `Layer.__call__` does
around a layer's `call` (argument conversion, the call-spec and input-spec
checks, the call context, masks, name scopes, torch's module hooks) and
`Functional`'s walk of its graph are paid on every call of every layer, on
the host. On a GPU the kernels wait for that host work: it was 8-11 of the
22-25 ms of host time of a tf_tutorial-shaped training step
(bench/torch_host_overhead.py; bench/RESULTS.md, attempt 12).

For a functional or Sequential model that is a plain chain of layers whose
`__call__` adds nothing else (the DCGAN generators and discriminators, and
the keras.io example's Sequential ones), `forward` runs each layer's `call`
in order, keeping the two parts of `__call__` that change
results: inputs cast to the layer's compute dtype, and the autocast scope of
mixed precision. Keras's own Dense, Reshape and Flatten go one step further:
their torch ops run without `keras.ops` around them (`torch_layers.dense`,
`reshape`, `flatten`; attempt 15). A functional model that is not a chain
(several inputs, skip connections, branches) is walked node by node as
`Functional.call` walks it, each node of a plain `_direct_types()` layer
called as in a chain, a model nested in it (keras.io's Sequential cores
inside functional wrappers) by its own plan in turn, any other through its
layer's `__call__`; so is a Sequential with a layer outside
`_direct_types()`, on its graph. Any other model (a subclassed one, a
Sequential subclass with a `call` of its own, a graph with no direct layer)
goes through `model(x, training=...)` as usual.

Keras's Conv2D, Conv2DTranspose, BatchNormalization (in training) and seeded
Dropout (in training) run torch_layers' kernels (fewer copies, fused
BatchNorm, a cheaper mask draw; attempts 7 and 8), whoever built the network:
a user's own Sequential of `keras.layers` gets them as the presets do.
"""

import functools
import weakref

import keras
import torch
from keras.src.backend.common.variables import AutocastScope, get_autocast_scope
from keras.src.backend.torch.core import convert_to_tensor, to_torch_dtype

from dcgan_keras.backend.fast import chain, torch_layers

_plans = weakref.WeakKeyDictionary()
_NO_PLAN = object()


def forward(model, inputs, training):
    """`model(inputs, training=training)`, the same numbers, less host work."""
    if torch.compiler.is_compiling():
        # Compiled steps pay no per-call host work, and inductor (torch 2.13)
        # failed on this loop's graph with dynamic shapes, not on Keras's call.
        return model(inputs, training=training)
    plan = _plan(model)
    if plan is None:  # a Sequential without its graph yet: the call builds it
        return model(inputs, training=training)
    # An enclosing autocast scope (the model called from inside another
    # layer) would change each layer's scope: Keras's own path handles it.
    if plan is _NO_PLAN or get_autocast_scope() is not None:
        return model(inputs, training=training)
    _, _, input_dtype, steps, no_autocast = plan[:5]
    # With no layer in an autocast scope, weights read as stored all through.
    previous = torch_layers.read_stored(no_autocast and torch_layers.values_are_stored())
    try:
        if len(plan) == 6:  # walked on the graph: a Sequential's is its `_functional`
            return chain.run_graph(plan[0](), plan[5], steps, _run_step, inputs, training)
        # As `Functional` does: onto Keras's device, in the Input's dtype.
        x = convert_to_tensor(inputs, dtype=input_dtype)
        for step in steps:
            x = _run_step(step, x, training)
    finally:
        torch_layers.read_stored(previous)
    return x


def _plan(model):
    """The model's plan (made once, remade when its layers change), _NO_PLAN, or None (no graph yet)."""
    plan = _plans.get(model)
    if plan is None or (plan is not _NO_PLAN and not _still_current(model, plan)):
        plan = _chain_plan(model)
        if plan is _NO_PLAN:
            plan = _graph_plan(model)
        if plan is not None:
            _plans[model] = plan
    return plan


def _nested(model, x, training=None):
    """A model inside a model (keras.io's Sequential core in a functional wrapper), run by its own plan."""
    return forward(model, x, training)


def _run_step(step, x, training):
    call, takes_training, cast_to, scope_dtype = step
    if cast_to is not None and x.dtype != cast_to and x.is_floating_point():
        x = x.to(cast_to)
    if scope_dtype is None:
        return call(x, training=training) if takes_training else call(x)
    with AutocastScope(scope_dtype):
        return call(x, training=training) if takes_training else call(x)


def _still_current(model, plan):
    return chain.still_current(model, plan[0], plan[1])


def call_through_keras(model):
    """Makes `forward` call `model(...)` as Keras does: for side-by-side timings."""
    _plans[model] = _NO_PLAN


def _direct_types():
    layers = keras.layers
    return {
        layers.Dense, layers.BatchNormalization, layers.LeakyReLU, layers.ReLU, layers.Activation,
        layers.Reshape, layers.Flatten, layers.Dropout, layers.Conv2D, layers.Conv2DTranspose,
        layers.UpSampling2D, layers.ZeroPadding2D, layers.Cropping2D,
    }


# The layers whose fast calls are kernels of their own, not Keras's torch ops run directly.
_KERNEL_LAYERS = (
    keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.BatchNormalization, keras.layers.Dropout,
)


def _fast_calls():
    """{Keras layer class: fast(layer, x, training) -> output or None (then the layer's `call`)}."""
    layers = keras.layers
    return {
        layers.Dense: _plain(torch_layers.dense), layers.Reshape: _plain(torch_layers.reshape),
        layers.Flatten: _plain(torch_layers.flatten), layers.LeakyReLU: _plain(torch_layers.leaky_relu),
        layers.Activation: _plain(torch_layers.activation),
        layers.Conv2D: _convolution(torch_layers.conv2d),
        layers.Conv2DTranspose: _convolution(torch_layers.conv2d_transpose),
        layers.BatchNormalization: _batch_norm, layers.Dropout: _dropout,
    }


def _plain(fast_op):
    return lambda layer, x, training: fast_op(layer, x)


def _convolution(fast_op):
    def call(layer, x, training):
        outputs = fast_op(layer, x)
        if outputs is None or layer.activation is None:
            return outputs
        return layer.activation(outputs)

    return call


def _batch_norm(layer, x, training):
    if not (training and layer.trainable):
        return None
    outputs = torch_layers.batch_norm_training(layer, x)
    return None if outputs is None else outputs.to(to_torch_dtype(layer.compute_dtype))


def _dropout(layer, x, training):
    if not (training and layer.rate > 0):
        return None
    return torch_layers.seeded_dropout(layer, x)


def _call_fast(fast, layer, takes_training, x, training=None):
    # The fast op answers None where it does not apply (LoRA enabled after the
    # plan was made, torch.compile tracing, inference): the layer's own `call` then.
    outputs = fast(layer, x, training)
    if outputs is not None:
        return outputs
    return layer.call(x, training=training) if takes_training else layer.call(x)


def _chain_plan(model):
    """(graph, [(layer, dtype policy)], input dtype, [(call, takes training,
    cast to, autocast dtype)], no autocast dtype at all); _NO_PLAN where `model` is not a chain of
    `_direct_types()` layers; None for a Sequential that has no graph yet."""
    found = chain.chain_layers(model)
    if found is None or found is chain.NOT_A_CHAIN:
        return found if found is None else _NO_PLAN
    model, layers = found
    direct, fast_calls = _direct_types(), _fast_calls()
    steps = [_step(layer, direct, fast_calls) for layer in layers]
    if None in steps:
        return _NO_PLAN
    policies = tuple((layer, layer._dtype_policy) for layer in layers)
    return chain.graph_of(model), policies, model.inputs[0].dtype, steps, all(step[3] is None for step in steps)


def _graph_plan(model):
    """A functional model that is not a chain (several inputs, skip connections, branches:
    the conditional networks, the U-Net, the ResNet generator; or a chain with a layer outside
    `_direct_types()`): the chain plan's first five entries, the steps one per node (None: the
    layer's own `__call__`), then the nodes. _NO_PLAN where no node can be called directly.
    A Sequential is walked on its graph: keras.io's discriminator core, whose
    GlobalMaxPooling2D is not a direct layer, ran through Keras's call."""
    nodes = chain.graph_nodes(chain.walked_graph(model))
    if not nodes:
        return _NO_PLAN
    direct, fast_calls = _direct_types(), _fast_calls()
    steps = [_step(node.operation, direct, fast_calls) if chain.plain_node(node) else None for node in nodes]
    if not any(steps):
        return _NO_PLAN
    policies = tuple((node.operation, node.operation._dtype_policy) for node, step in zip(nodes, steps) if step)
    no_autocast = all(step[3] is None for step in steps if step)
    return chain.graph_of(model), policies, None, steps, no_autocast, nodes


def _step(layer, direct, fast_calls):
    """(call, takes training, cast to, autocast dtype) of one layer; None outside `direct`.

    A model with a plan of its own is a step too: `forward` casts its inputs
    and keeps its layers' autocast scopes itself. Keras's call of a nested
    Sequential ran each of its layers' whole `__call__`.
    """
    cls = chain.keras_class(layer)
    if isinstance(layer, keras.Model) and _plan(layer) not in (None, _NO_PLAN):
        return functools.partial(_nested, layer), True, None, None
    if cls not in direct:
        return None
    autocast = layer._convert_input_args and layer.autocast
    fast = fast_calls.get(cls)
    if cls in _KERNEL_LAYERS and layer.compute_dtype != layer.variable_dtype:
        # Under mixed precision the kernels round differently from Keras's
        # ops (float16 sums in another order, amplified by BatchNorm):
        # there the layer's own call, and Keras's numbers bit for bit.
        fast = None
    takes_training = layer._call_has_training_arg
    return (
        functools.partial(_call_fast, fast, layer, takes_training) if fast else layer.call,
        takes_training or bool(fast),
        to_torch_dtype(layer.input_dtype) if autocast else None,
        layer.compute_dtype if layer.compute_dtype != layer.variable_dtype else None,
    )
