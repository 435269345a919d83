"""JAX on a CPU: a chain network's strided convolutions by phases, inside the training step.

`forward(model, inputs, training)` runs a chain model (functional or
Sequential, `chain.chain_layers`) layer by layer through each layer's own
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


def plan(model):
    """[(layer, fast op or None)] of a chain model; None where it runs as Keras runs it."""
    cached = _plans.get(model)
    if cached is not None and chain.still_current(model, cached[0], cached[1]):
        return cached[2]
    found = chain.chain_layers(model)
    if found is None:
        return None  # a Sequential without its graph yet: not cached, the call builds it
    steps = None
    if found is not chain.NOT_A_CHAIN:
        fast_ops = _fast_ops()
        steps = [(layer, fast_ops.get(chain.keras_class(layer))) for layer in found[1]]
        if not any(op for _, op in steps):
            steps = None
    graph = found[0] if found is not chain.NOT_A_CHAIN else getattr(model, "_functional", model)
    layers = found[1] if found is not chain.NOT_A_CHAIN else []
    _plans[model] = (graph, tuple((layer, layer._dtype_policy) for layer in layers), steps)
    return steps


def forward(model, inputs, training):
    """`model(inputs, training=training)`, the same numbers, strided convolutions by phases on a CPU."""
    steps = plan(model) if jax.default_backend() == "cpu" else None
    if steps is None:
        return model(inputs, training=training)
    x = ops.convert_to_tensor(inputs, dtype=_plans[model][0].inputs[0].dtype)
    for layer, fast_op in steps:
        outputs = None
        # Mixed precision (a compute dtype other than the weights'): Keras's call casts.
        if fast_op is not None and layer.compute_dtype == layer.variable_dtype == x.dtype:
            outputs = fast_op(layer, x)
            if outputs is not None and layer.activation is not None:
                outputs = layer.activation(outputs)
        x = layer(x, training=training) if outputs is None else outputs
    return x
