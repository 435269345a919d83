"""A model as the forward plans (torch_forward, jax_forward) see it: a plain chain of layers, or a graph of nodes."""

import contextlib
import weakref

import keras
from keras.src.dtype_policies.dtype_policy_map import DTypePolicyMap
from keras.src.models import functional
from keras.src.models.functional import Functional
from keras.src.models.sequential import Sequential

NOT_A_CHAIN = object()


def keras_class(layer):
    """The Keras layer class `layer` computes as: its own type, or the Keras base of
    dcgan_keras.layers' registered subclasses (thin, kept for files saved with them)."""
    cls = type(layer)
    if cls.__module__ == "dcgan_keras.layers":
        return cls.__mro__[1]
    return cls


def chain_layers(model):
    """(graph, [layer, ...]) of a single-input, single-output chain whose nodes pass only the
    previous output on; NOT_A_CHAIN otherwise; None for a Sequential without its graph yet."""
    if type(model).call is Sequential.call:
        model = model._functional
        if model is None:  # until the Sequential knows its input shape
            return None
    if type(model).call is not Functional.call or len(model.inputs) != 1 or len(model.outputs) != 1:
        return NOT_A_CHAIN
    previous, layers = model.inputs[0], []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        nodes = model._nodes_by_depth[depth]
        if len(nodes) != 1:
            return NOT_A_CHAIN
        node, layer = nodes[0], nodes[0].operation
        if node.is_input:
            continue
        if not plain_node(node) or node.arguments.args[0] is not previous:
            return NOT_A_CHAIN
        layers.append(layer)
        previous = node.outputs[0]
    if previous is not model.outputs[0] or not layers:
        return NOT_A_CHAIN
    return model, layers


def plain_node(node):
    """Whether a graph node is a Keras layer called on one tensor, whose `__call__` adds nothing
    to its `call` but what the forward plans keep (the input cast, the autocast scope)."""
    layer, arguments = node.operation, node.arguments
    return not (
        # A keras.ops call in a functional model is an Operation, not a Layer.
        not isinstance(layer, keras.layers.Layer)
        or _extra_kwargs(arguments.kwargs)
        or len(arguments.args) != 1
        or not isinstance(arguments.args[0], keras.KerasTensor)
        or len(node.outputs) != 1
        or layer.activity_regularizer is not None
        or getattr(layer, "_remat_mode", None)
        or getattr(layer, "quantization_mode", None) is not None
        # A policy map can change in place, out of a plan's sight.
        or isinstance(layer._dtype_policy, DTypePolicyMap)
    )


def graph_nodes(model):
    """The nodes of a functional model, in the order `Functional` runs them (input nodes left
    out), for the plans of models that are not a chain they can take; None for any other model."""
    if model is None or type(model).call is not Functional.call:
        return None
    return [
        node
        for depth in sorted(model._nodes_by_depth, reverse=True)
        for node in model._nodes_by_depth[depth]
        if node.operation is not None and not node.is_input
    ]


def walked_graph(model):
    """The functional graph a plan walks for `model`: a Sequential's own (its `_functional`,
    None until it is built), else the model itself. A Sequential subclass with a `call` of its
    own is itself, which `graph_nodes` turns down: its graph is not what it computes."""
    return model._functional if type(model).call is Sequential.call else model


def graph_of(model):
    """A weak reference to the graph a plan is made of (a functional model is its own): a plan
    cached under the model (in a WeakKeyDictionary) must not keep it alive."""
    return weakref.ref(getattr(model, "_functional", model))


def still_current(model, graph, policies):
    """Whether a plan made of `graph` (`graph_of`) and [(layer, dtype policy)] still describes `model`.

    `quantize()` or a new policy after the first step swaps the policy object,
    and with it what `call` must do; `Sequential.add` makes a new graph.
    """
    return getattr(model, "_functional", model) is graph() and all(
        layer._dtype_policy is policy for layer, policy in policies
    )


def run_graph(model, nodes, steps, run_step, inputs, training):
    """`Functional.call`'s walk of `model`'s graph: node i by `run_step(steps[i], x, training)` on
    its one input where `steps[i]` is not None, any other node through its layer's `__call__`.
    Returns what `model(inputs, training=training)` returns."""
    tensors = {id(x): y for x, y in zip(model.inputs, model._standardize_inputs(inputs))}
    with _call_context(model, training):
        for node, step in zip(nodes, steps):
            if any(id(x) not in tensors for x in node.input_tensors):
                continue  # not computable from these inputs, as `Functional` skips it
            args, kwargs = node.arguments.fill_in(tensors)
            if step is None:
                outputs = functional.operation_fn(node.operation, training=training)(*args, **kwargs)
            else:
                outputs = run_step(step, args[0], training)
            for x, y in zip(node.outputs, keras.tree.flatten(outputs)):
                tensors[id(x)] = y
    outputs = keras.tree.pack_sequence_as(model._outputs_struct, [tensors[id(x)] for x in model.outputs])
    return functional.unpack_singleton(outputs)


@contextlib.contextmanager
def _call_context(model, training):
    """The call context `model.__call__` would open around a walk of its graph: one for the
    whole call, so that the layers called through their own `__call__` inherit `training` and
    a layer called twice keeps the losses of both calls (each `__call__` at the top would clear
    them)."""
    context = model._get_call_context()
    if training is None:
        training = context.get_value("training")
    context.set_value("training", training)
    try:
        yield
    finally:
        model._maybe_reset_call_context()


def _extra_kwargs(kwargs):
    # What Keras records at build time and `Functional` passes on: `training`
    # (which the call's own value overrides) and an empty `mask`.
    return {k: v for k, v in kwargs.items() if not (k == "training" or (k == "mask" and v is None))}
