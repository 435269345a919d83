"""seam.forward: on torch, a chain network's layers are called directly, and nothing may change but the host time.

Keras's Dense, Reshape, Flatten and activations give Keras's numbers bit for
bit there; its convolutions and BatchNorm run torch_layers' kernels (fewer
copies, one fused BatchNorm), which sum in another order: equal to float32's
rounding (to float16's under mixed precision).
"""

import keras
import numpy as np
import pytest

from dcgan_keras import build_discriminator, build_generator
from dcgan_keras.distribute import precision

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="elsewhere seam.forward is model(x, training=...)"
)


def _networks(preset):
    if preset == "tf_tutorial":
        return (
            build_generator(latent_dim=8, image_size=28, channels=1, filters=(8, 8, 4)),
            build_discriminator(image_size=28, channels=1, filters=(4, 8), seed=3),
        )
    return (
        build_generator(latent_dim=8, image_size=64, channels=3, filters=(8, 8, 4, 4)),
        build_discriminator(image_size=64, channels=3, filters=(4, 4, 8, 8), seed=3),
    )


def _run(model, x, via_seam):
    """Output, the trainable variables' gradients and every variable's value
    after one training-mode call (BatchNorm statistics and seed states move)."""
    import torch

    from dcgan_keras import backend as seam

    out = seam.forward(model, x, training=True) if via_seam else model(x, training=True)
    weights = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
    loss = (out.float() * weights).sum()
    grads = torch.autograd.grad(loss, [v.value for v in model.trainable_variables])
    as_numpy = keras.ops.convert_to_numpy
    return (
        (as_numpy(out.float()), str(out.dtype)),
        [as_numpy(g.float()) for g in grads],
        [as_numpy(v.value.float()) for v in model.variables],
    )


# (rtol, atol relative to each array's scale): the kernels sum in another order. At an atol of
# 1e-5 the dcgan64 cases failed under load (a 4-element gradient, twice) and passed on a rerun.
FLOAT32_TOLERANCE = (1e-4, 1e-4)


def _assert_seam_matches_keras(model, x, tolerance=None):
    """The same call through Keras and through the seam, from the same
    variable values: every number equal (or within `tolerance`, (rtol, atol))."""
    before = [keras.ops.convert_to_numpy(v.value) for v in model.variables]
    (out, dtype), grads, after = _run(model, x, via_seam=False)
    for variable, value in zip(model.variables, before):
        variable.assign(value)
    (seam_out, seam_dtype), seam_grads, seam_after = _run(model, x, via_seam=True)
    assert seam_dtype == dtype
    for a, b in zip([seam_out, *seam_grads, *seam_after], [out, *grads, *after], strict=True):
        if tolerance is None:
            np.testing.assert_array_equal(a, b)
        else:
            # Relative to the array's largest magnitude: sums in another order.
            scale = max(float(np.max(np.abs(b))), 1.0) if b.size else 1.0
            np.testing.assert_allclose(a, b, rtol=tolerance[0], atol=tolerance[1] * scale)


@pytest.mark.parametrize("policy", ["float32", "mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("preset", ["tf_tutorial", "dcgan64"])
def test_direct_layer_calls_give_keras_call_results(preset, policy):
    tolerance = FLOAT32_TOLERANCE if policy == "float32" else None
    with precision(policy):
        generator, discriminator = _networks(preset)
        z = keras.random.normal((4, 8), seed=1)
        images = generator(z, training=False)
        _assert_seam_matches_keras(generator, z, tolerance)
        _assert_seam_matches_keras(discriminator, images, tolerance)


@pytest.mark.parametrize("policy", ["float32", "mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_the_conditional_networks_walked_node_by_node_give_keras_call_results(conditioning, policy):
    # Two inputs: the graph plan, its direct nodes called as in a chain (with the same casts and
    # autocast scopes under mixed precision), the label's layers through their own `__call__`.
    from dcgan_keras.backend.fast.torch_forward import _NO_PLAN, _graph_plan

    tolerance = (1e-4, 1e-4) if policy == "float32" else None
    with precision(policy):
        classes = dict(num_classes=3, conditioning=conditioning)
        # embedding_dim: the learned label embedding's Dense, a node of G's graph besides the one-hot.
        generator = build_generator(
            latent_dim=8, image_size=28, channels=1, filters=(8, 8, 4), embedding_dim=4, **classes)
        discriminator = build_discriminator(image_size=28, channels=1, filters=(4, 8), seed=3, **classes)
        labels = keras.ops.convert_to_tensor([0, 2, 1, 2], "int32")
        z = keras.random.normal((4, 8), seed=1)
        images = generator([z, labels], training=False)
        for model in (generator, discriminator):
            assert _graph_plan(model) is not _NO_PLAN, model.name
        _assert_seam_matches_keras(generator, [z, labels], tolerance)
        _assert_seam_matches_keras(discriminator, [images, labels], tolerance)


def _keras_io_discriminator():
    # keras.io's DCGAN example builds its networks as Sequential models.
    layers = keras.layers
    return keras.Sequential([
        keras.Input((16, 16, 3)),
        layers.Conv2D(4, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(8, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dropout(0.2, seed=0),
        layers.Dense(1, activation="sigmoid"),
    ])


def test_a_sequential_network_takes_the_direct_path_with_the_same_results():
    from dcgan_keras.backend.fast.torch_forward import _NO_PLAN, _chain_plan

    model = _keras_io_discriminator()
    assert _chain_plan(model) not in (None, _NO_PLAN)
    _assert_seam_matches_keras(model, keras.random.uniform((4, 16, 16, 3), -1, 1, seed=0), FLOAT32_TOLERANCE)


@pytest.mark.parametrize("preset", ["tf_tutorial", "dcgan64"])
def test_the_presets_networks_take_the_direct_path(preset):
    from dcgan_keras.backend.fast.torch_forward import _NO_PLAN, _chain_plan

    for model in (build_generator(preset=preset), build_discriminator(preset=preset, seed=0)):
        plan = _chain_plan(model)
        assert plan not in (None, _NO_PLAN), model.name
        assert len(plan[3]) == len(model.layers) - 1  # every layer but the Input


@pytest.mark.parametrize("preset", ["tf_tutorial", "dcgan64"])
def test_keras_own_dense_reshape_and_flatten_run_as_plain_torch_ops_in_the_chain(monkeypatch, preset):
    from dcgan_keras.backend.fast import torch_layers

    taken = []
    for name in ("dense", "reshape", "flatten"):
        fast = getattr(torch_layers, name)
        monkeypatch.setattr(torch_layers, name, lambda layer, x, fast=fast: taken.append(type(layer)) or fast(layer, x))
    generator, discriminator = _networks(preset)
    z = keras.random.normal((4, 8), seed=1)
    _assert_seam_matches_keras(generator, z, FLOAT32_TOLERANCE)
    _assert_seam_matches_keras(discriminator, generator(z), FLOAT32_TOLERANCE)
    kinds = {type(layer) for model in (generator, discriminator) for layer in model.layers}
    expected = kinds & {keras.layers.Dense, keras.layers.Reshape, keras.layers.Flatten}
    assert expected and set(taken) == expected


def test_a_dense_layer_given_lora_after_its_plan_runs_through_its_own_call():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6), keras.layers.LeakyReLU(0.2)])
    x = keras.random.normal((3, 8), seed=0)
    np.testing.assert_array_equal(*_seam_and_keras(model, x))  # planned
    dense = model.layers[0]
    dense.enable_lora(2)
    # LoRA's B starts at zero, which would hide a plan that ignores it.
    dense.lora_kernel_b.assign(keras.random.normal(dense.lora_kernel_b.shape, seed=1))
    seam_out, keras_out = _seam_and_keras(model, x)
    np.testing.assert_array_equal(seam_out, keras_out)
    dense.lora_enabled = False
    assert not np.allclose(_seam_and_keras(model, x)[0], seam_out)


def test_other_networks_walk_their_graph_or_fall_back_to_keras_and_give_its_results(monkeypatch):
    from dcgan_keras import backend as seam
    from dcgan_keras.backend.fast import torch_layers
    from dcgan_keras.backend.fast.torch_forward import _NO_PLAN, _chain_plan, _graph_plan

    inputs, labels = keras.Input((6,)), keras.Input((), dtype="int32")
    hidden = keras.layers.Dense(6)(inputs)
    code = keras.layers.CategoryEncoding(6, output_mode="one_hot")(labels)
    # Two inputs and a branch: the Dense direct, CategoryEncoding and Add through their `__call__`.
    branching = keras.Model([inputs, labels], keras.layers.Add()([keras.layers.Add()([inputs, hidden]), code]))
    # Not a chain of direct layers: walked on its graph (keras.io's pooled D core is such a Sequential).
    noisy = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6), keras.layers.GaussianNoise(0.1, seed=0)])
    unbuilt = keras.Sequential([keras.layers.Dense(6)])  # no input shape yet: no graph to read

    class Doubled(keras.Sequential):  # a `call` of its own: its graph is not what it computes
        def call(self, inputs, training=None, mask=None):
            return 2.0 * super().call(inputs, training=training, mask=mask)

    doubled = Doubled([keras.Input((6,)), keras.layers.Dense(6), keras.layers.GaussianNoise(0.1, seed=0)])
    x = keras.random.normal((3, 6), seed=0)
    dense = torch_layers.dense
    taken = []
    monkeypatch.setattr(torch_layers, "dense", lambda layer, x: taken.append(layer) or dense(layer, x))
    pair = [x, keras.ops.convert_to_tensor([0, 5, 2], "int32")]
    cases = ((branching, pair, "graph"), (noisy, x, "graph"), (doubled, x, _NO_PLAN), (unbuilt, x, None))
    for model, inputs, plan in cases:
        assert _chain_plan(model) is (_NO_PLAN if plan == "graph" else plan), model.name
        if plan is not None:
            assert (_graph_plan(model) is not _NO_PLAN) == (plan == "graph"), model.name
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(seam.forward(model, inputs, training=False)),
            keras.ops.convert_to_numpy(model(inputs, training=False)),
        )
    assert taken == [layer for model in (branching, noisy) for layer in model.layers
                     if isinstance(layer, keras.layers.Dense)]


def _seam_and_keras(model, x):
    from dcgan_keras import backend as seam

    as_numpy = keras.ops.convert_to_numpy
    return as_numpy(seam.forward(model, x, training=False)), as_numpy(model(x, training=False))


@pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize` method")
def test_a_network_changed_after_its_first_call_is_planned_again():
    from dcgan_keras.backend.fast.torch_forward import _plans

    x = keras.random.normal((3, 8), seed=0)
    quantized = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.LeakyReLU(0.2),
                                  keras.layers.Dense(4)])
    first_plan = (_seam_and_keras(quantized, x), _plans[quantized])[1]
    quantized.quantize("int8")  # new dtype policies: each Dense's call now runs int8 kernels
    np.testing.assert_array_equal(*_seam_and_keras(quantized, x))
    assert _plans[quantized] is not first_plan

    grown = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6)])
    _seam_and_keras(grown, x)
    grown.add(keras.layers.Dense(2))  # a new graph
    seam_out, keras_out = _seam_and_keras(grown, x)
    assert seam_out.shape == (3, 2)
    np.testing.assert_array_equal(seam_out, keras_out)


def test_a_sequential_built_by_its_first_call_takes_the_direct_path_from_then_on():
    from dcgan_keras.backend.fast.torch_forward import _NO_PLAN, _plans

    lazy = keras.Sequential([keras.layers.Dense(6), keras.layers.LeakyReLU(0.2)])  # keras.io style: no Input
    x = keras.random.normal((3, 4), seed=0)
    np.testing.assert_array_equal(*_seam_and_keras(lazy, x))  # the first call builds it through Keras
    np.testing.assert_array_equal(*_seam_and_keras(lazy, x))
    assert _plans.get(lazy, _NO_PLAN) is not _NO_PLAN
