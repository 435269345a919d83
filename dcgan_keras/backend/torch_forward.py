"""torch: a chain model's forward pass, each layer's `call` run in turn.

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
`reshape`, `flatten`; attempt 15). Any other model, or any layer outside
`_direct_types()`, goes through `model(x, training=...)` as usual.
"""

import functools
import weakref

import keras
import torch
from keras.src.backend.common.variables import AutocastScope, get_autocast_scope
from keras.src.backend.torch.core import convert_to_tensor, to_torch_dtype
from keras.src.dtype_policies.dtype_policy_map import DTypePolicyMap
from keras.src.models.functional import Functional
from keras.src.models.sequential import Sequential

from dcgan_keras.backend import torch_layers

_plans = weakref.WeakKeyDictionary()
_NO_PLAN = object()


def forward(model, inputs, training):
    """`model(inputs, training=training)`, the same numbers, less host work."""
    if torch.compiler.is_compiling():
        # Compiled steps pay no per-call host work, and inductor (torch 2.13)
        # failed on this loop's graph with dynamic shapes, not on Keras's call.
        return model(inputs, training=training)
    plan = _plans.get(model)
    if plan is None or (plan is not _NO_PLAN and not _still_current(model, plan)):
        plan = _chain_plan(model)
        if plan is None:  # a Sequential without its graph yet: the call builds it
            return model(inputs, training=training)
        _plans[model] = plan
    # An enclosing autocast scope (the model called from inside another
    # layer) would change each layer's scope: Keras's own path handles it.
    if plan is _NO_PLAN or get_autocast_scope() is not None:
        return model(inputs, training=training)
    _, _, input_dtype, steps, no_autocast = plan
    # As `Functional` does: onto Keras's device, in the Input's dtype.
    x = convert_to_tensor(inputs, dtype=input_dtype)
    # With no layer in an autocast scope, weights read as stored all through.
    previous = torch_layers.read_stored(no_autocast and torch_layers.values_are_stored())
    try:
        for call, takes_training, cast_to, scope_dtype in steps:
            if cast_to is not None and x.dtype != cast_to and x.is_floating_point():
                x = x.to(cast_to)
            if scope_dtype is None:
                x = call(x, training=training) if takes_training else call(x)
            else:
                with AutocastScope(scope_dtype):
                    x = call(x, training=training) if takes_training else call(x)
    finally:
        torch_layers.read_stored(previous)
    return x


def _still_current(model, plan):
    # A plan holds each layer's dtype policy as it was: `quantize()` or a new
    # policy after the first step swaps the policy object, and with it what
    # `call` must do (a stale plan of an int8-quantized Dense is off by
    # orders of magnitude). `Sequential.add` makes a new graph.
    graph, policies = plan[0], plan[1]
    return getattr(model, "_functional", model) is graph and all(
        layer._dtype_policy is policy for layer, policy in policies
    )


def call_through_keras(model):
    """Makes `forward` call `model(...)` as Keras does: for side-by-side timings."""
    _plans[model] = _NO_PLAN


def _direct_types():
    from dcgan_keras import layers as dcgan_layers  # imports this seam: not at module import

    layers = keras.layers
    return {
        layers.Dense, layers.BatchNormalization, layers.LeakyReLU, layers.ReLU, layers.Activation,
        layers.Reshape, layers.Flatten, layers.Dropout, layers.Conv2D, layers.Conv2DTranspose,
        layers.UpSampling2D, layers.ZeroPadding2D, layers.Cropping2D,
        dcgan_layers.Conv2D, dcgan_layers.Conv2DTranspose, dcgan_layers.BatchNormalization,
        dcgan_layers.Dropout,
    }


def _fast_calls():
    layers = keras.layers
    return {
        layers.Dense: torch_layers.dense, layers.Reshape: torch_layers.reshape, layers.Flatten: torch_layers.flatten,
        layers.LeakyReLU: torch_layers.leaky_relu, layers.Activation: torch_layers.activation,
    }


def _call_fast(fast, layer, x):
    # The fast op answers None where it does not apply (LoRA enabled after the
    # plan was made, torch.compile tracing): the layer's own `call` then.
    outputs = fast(layer, x)
    return layer.call(x) if outputs is None else outputs


def _chain_plan(model):
    """(graph, [(layer, dtype policy)], input dtype, [(call, takes training,
    cast to, autocast dtype)], no autocast dtype at all); _NO_PLAN where `model` is not a chain of
    `_direct_types()` layers; None for a Sequential that has no graph yet."""
    if type(model).call is Sequential.call:
        model = model._functional
        if model is None:  # until the Sequential knows its input shape
            return None
    if type(model).call is not Functional.call or len(model.inputs) != 1 or len(model.outputs) != 1:
        return _NO_PLAN
    direct = _direct_types()
    previous, steps, policies = model.inputs[0], [], []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        nodes = model._nodes_by_depth[depth]
        if len(nodes) != 1:
            return _NO_PLAN
        node, layer = nodes[0], nodes[0].operation
        if node.is_input:
            continue
        arguments = node.arguments
        if (
            type(layer) not in direct
            or _extra_kwargs(arguments.kwargs)
            or len(arguments.args) != 1
            or arguments.args[0] is not previous
            or len(node.outputs) != 1
            or layer.activity_regularizer is not None
            or getattr(layer, "_remat_mode", None)
            or getattr(layer, "quantization_mode", None) is not None
            # A policy map can change in place, out of `_still_current`'s sight.
            or isinstance(layer._dtype_policy, DTypePolicyMap)
        ):
            return _NO_PLAN
        autocast = layer._convert_input_args and layer.autocast
        fast = _fast_calls().get(type(layer))
        steps.append((
            functools.partial(_call_fast, fast, layer) if fast else layer.call,
            layer._call_has_training_arg and not fast,
            to_torch_dtype(layer.input_dtype) if autocast else None,
            layer.compute_dtype if layer.compute_dtype != layer.variable_dtype else None,
        ))
        policies.append((layer, layer._dtype_policy))
        previous = node.outputs[0]
    if previous is not model.outputs[0] or not steps:
        return _NO_PLAN
    return model, tuple(policies), model.inputs[0].dtype, steps, all(step[3] is None for step in steps)


def _extra_kwargs(kwargs):
    # What Keras records at build time and `Functional` passes on: `training`
    # (which the call's own value overrides) and an empty `mask`.
    return {k: v for k, v in kwargs.items() if not (k == "training" or (k == "mask" and v is None))}
