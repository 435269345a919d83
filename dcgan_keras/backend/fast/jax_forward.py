"""JAX on a CPU: a network's strided convolutions by phases, inside the training step.

`forward(model, inputs, training)` runs a chain model (functional or
Sequential, `chain.chain_layers`), or any other functional model node by node
(`chain.graph_nodes`: the conditional networks, the U-Net, the ResNet
generator), a model nested in it by its own plan in turn (keras.io's
Sequential cores inside functional wrappers), layer by layer through each layer's own
`__call__` (so BatchNorm's statistics, seeds and everything else go through
Keras, into the train step's StatelessScope), except Keras's strided Conv2D and
Conv2DTranspose where `jax_layers` computes them by phases: XLA:CPU's dilated
convolutions (a transposed convolution, a strided one's input gradient) run a
generic loop many times slower (bench/RESULTS.md, attempt 13). The weights are
read with `ops.convert_to_tensor`, which inside a StatelessScope is the scope's
value. Anything else, or any device but a CPU, is `model(inputs, training=...)`.
"""

import weakref

import jax
from keras import ops

from dcgan_keras.backend.fast import chain, jax_layers

_plans = weakref.WeakKeyDictionary()


def _fast_ops():
    import keras

    return {keras.layers.Conv2D: jax_layers.conv2d, keras.layers.Conv2DTranspose: jax_layers.conv2d_transpose}


def _nested(model, x, training):
    """A model inside a model (keras.io's Sequential core in a functional wrapper), run by its own plan."""
    return forward(model, x, training)


def _step_op(layer, fast_ops):
    """The fast op of one layer of a plan: its kernel, `_nested` for a model with strided
    convolutions of its own to plan, or None (the layer's own call)."""
    import keras

    op = fast_ops.get(chain.keras_class(layer))
    if op is None and isinstance(layer, keras.Model) and plan(layer):
        op = _nested
    return op


def plan(model):
    """[(layer, fast op or None)] of a chain model, or of a functional model's nodes in the
    order `Functional` runs them (several inputs, skip connections, branches); None where
    the model runs as Keras runs it."""
    cached = _plans.get(model)
    if cached is not None and chain.still_current(model, cached[0], cached[1]):
        return cached[2]
    found = chain.chain_layers(model)
    if found is None:
        return None  # a Sequential without its graph yet: not cached, the call builds it
    fast_ops, nodes = _fast_ops(), None
    if found is not chain.NOT_A_CHAIN:
        graph, layers = found
        steps = [(layer, _step_op(layer, fast_ops)) for layer in layers]
    else:
        graph, nodes = getattr(model, "_functional", model), chain.graph_nodes(model) or []
        steps = [
            (node.operation, _step_op(node.operation, fast_ops) if chain.plain_node(node) else None)
            for node in nodes
        ]
    if not any(op for _, op in steps):
        steps = nodes = None
    # A chain's every layer (a quantized one ends the chain), a graph's planned convolutions.
    policies = tuple((layer, layer._dtype_policy) for layer, op in steps or () if op or nodes is None)
    # A graph's steps as `chain.run_graph` takes them (None: through the layer's `__call__`),
    # made once here rather than on every call.
    walked = None if nodes is None else [step if step[1] else None for step in steps]
    _plans[model] = (weakref.ref(graph), policies, steps, nodes, walked)
    return steps


def forward(model, inputs, training):
    """`model(inputs, training=training)`, the same numbers, strided convolutions by phases on a CPU."""
    steps = plan(model) if jax.default_backend() == "cpu" else None
    if steps is None:
        return model(inputs, training=training)
    graph, _, _, nodes, walked = _plans[model]
    if nodes is not None:
        return chain.run_graph(model, nodes, walked, lambda step, x, t: _call(*step, x, t), inputs, training)
    x = ops.convert_to_tensor(inputs, dtype=graph().inputs[0].dtype)
    for layer, fast_op in steps:
        x = _call(layer, fast_op, x, training)
    return x


def _call(layer, fast_op, x, training):
    if fast_op is _nested:
        return _nested(layer, x, training)
    outputs = None
    # Mixed precision (a compute dtype other than the weights'): Keras's call casts.
    if fast_op is not None and layer.compute_dtype == layer.variable_dtype == x.dtype:
        outputs = fast_op(layer, x)
        if outputs is not None and layer.activation is not None:
            outputs = layer.activation(outputs)
    return layer(x, training=training) if outputs is None else outputs
