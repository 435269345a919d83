"""dcgan_keras.backend.fast: the speed work behind one switch gives plain Keras's numbers.

With the fast path on and off, one training step gives the same losses and
weights; a Keras outside the tested range turns it off with one warning; a
user's own plain-Keras networks take the fast kernels; a generator saved
from the package's networks loads in a process that never imports it.
"""

import functools
import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

from dcgan_keras import DCGAN, ConditionalDCGAN, CycleGAN, Pix2Pix, build_discriminator, build_generator
from dcgan_keras.networks.patchgan import build_image_patch_discriminator, build_patch_discriminator
from dcgan_keras.networks.resnet import build_resnet_generator
from dcgan_keras.networks.unet import build_unet_generator
from dcgan_keras import backend as seam
from dcgan_keras.backend import fast

BACKEND = keras.backend.backend()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fast_path_here():
    if BACKEND == "torch":
        return True
    if BACKEND == "jax":
        import jax

        return jax.default_backend() == "cpu"  # the phases are for XLA:CPU only
    return False


needs_fast_path = pytest.mark.skipif(
    not _fast_path_here(),
    reason=f"no fast path on {BACKEND} here (Keras's ops compile into one program): on and off are the same code",
)

# Tiny versions of the presets' networks; 16 channels, where JAX's phases start.
PRESET_NETWORKS = {
    "tf_tutorial": (dict(filters=(16, 16, 16)), dict(filters=(16, 16)), (28, 28, 1)),
    "dcgan64": (dict(filters=(16, 16, 16, 16)), dict(filters=(16, 16, 16, 16)), (64, 64, 3)),
}


def _preset_networks(preset):
    g_kwargs, d_kwargs, _ = PRESET_NETWORKS[preset]
    generator = build_generator(preset=preset, latent_dim=8, **g_kwargs)
    return generator, build_discriminator(preset=preset, seed=0, **d_kwargs)


def _tutorial_networks(width=16, pool=False):
    """The TensorFlow tutorial's (and keras.io's) 28x28 pair as a user writes it: Sequential, keras.layers.

    pool: D pools its features (GlobalMaxPooling2D) where the tutorial flattens them, as
    keras.io's Conditional GAN does: a layer torch's plans call through Keras's `__call__`.
    """
    layers = keras.layers
    generator = keras.Sequential([
        keras.Input((8,)),
        layers.Dense(7 * 7 * width, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((7, 7, width)),
        layers.Conv2DTranspose(width, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(width, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
    ])
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(width, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3, seed=1),
        layers.Conv2D(width, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3, seed=2),
        layers.GlobalMaxPooling2D() if pool else layers.Flatten(),
        layers.Dense(1),
    ])
    return generator, discriminator


# The presets' optimizer: Adam(2e-4, beta_1=0.5) with Keras's epsilon 1e-7.
ADAM = dict(learning_rate=2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-7)
# Adam's epsilon as its first update sees it: Keras adds it to sqrt(v), before the bias correction.
FIRST_STEP_EPSILON = ADAM["epsilon"] / np.sqrt(1 - ADAM["beta_2"])


def _one_step(make_networks, shape, enabled, update="sequential"):
    """One `fit` step of a DCGAN; returns (history, [(weight, (start, gradient) or None) per gan.weights], gan)."""

    def make_gan():
        generator, discriminator = make_networks()
        gan = DCGAN(discriminator, generator, latent_dim=8, seed=0, ema_momentum=0.9, update=update)
        gan.compile(**{f"{n}_optimizer": keras.optimizers.Adam(**ADAM) for n in "dg"}, **NO_XLA)
        return gan

    x = np.random.default_rng(0).uniform(-1, 1, (8,) + shape).astype("float32")
    return _one_fit(make_gan, (x,), enabled)


NO_XLA = {"jit_compile": False} if BACKEND == "tensorflow" else {}


def _one_fit(make_gan, data, enabled):
    """One `fit` step of `make_gan()` on `data` (batch 8), as `_one_step` returns it."""
    previous = fast._user_enabled
    fast.set_enabled(enabled)
    try:
        keras.utils.set_random_seed(0)
        gan = make_gan()
        start = {id(v): keras.ops.convert_to_numpy(v) for v in gan.trainable_variables}
        history = gan.fit(*data, batch_size=8, epochs=1, verbose=0, shuffle=False).history
        # Each trained weight's own gradient, read back from Adam's first moment: after one
        # update from zero it holds (1 - beta_1) * g exactly (a product with 0.5).
        trained = {}
        for optimizer in gan.optimizers.values():
            assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 1
            for v in optimizer._trainable_variables:
                m = optimizer._momentums[optimizer._get_variable_index(v)]
                trained[id(v)] = (start[id(v)], keras.ops.convert_to_numpy(m) / (1 - optimizer.beta_1))
        # After one step the moving average is the trained weight itself (its momentum warms
        # up from 0), steep ones included (1.1e-5 apart on an AVX-512 CPU): checked as they are.
        averaged = gan.averaged_network()
        if averaged is not None:
            for copy, v in zip(averaged.weights, getattr(gan, gan.ema_of).weights):
                if id(v) in trained:
                    trained[id(copy)] = trained[id(v)]
        weights = [(keras.ops.convert_to_numpy(w), trained.get(id(w))) for w in gan.weights]
        return history, weights, gan
    finally:
        fast.set_enabled(previous)


def _adam_first_update(start, gradient):
    """Keras's Adam at step 1, in float64: m = (1-b1) g, v = (1-b2) g^2, lr_t = lr sqrt(1-b2) / (1-b1)."""
    g = gradient.astype("float64")
    return start - ADAM["learning_rate"] * g / (np.abs(g) + FIRST_STEP_EPSILON)


def _adam_gain(gradient):
    """|d(new weight) / d(gradient)| of that first update: lr e / (|g| + e)^2, e = epsilon / sqrt(1-b2)."""
    e = FIRST_STEP_EPSILON
    return ADAM["learning_rate"] * e / (np.abs(gradient.astype("float64")) + e) ** 2


def _assert_same_step(on, off):
    """The same losses, gradients and weights (to 1e-5), with and without the fast path.

    A weight whose gradient is next to zero (a Dense before BatchNorm: its
    terms cancel) is where Adam's first update, lr g / (|g| + e), turns the
    two paths' float32 rounding of g (1e-7) into up to 1e-5 of weight (seen on
    JAX: 4.8e-5 against 4.2e-5, g about 1e-6). So every trained weight's
    gradient is compared, and each path's weights are checked to be Adam's
    update of its own gradient; the weights themselves are compared directly
    wherever the update gains at most 1 per unit of gradient.
    """
    (h_on, w_on, _), (h_off, w_off, _) = on, off
    for name in h_off:
        np.testing.assert_allclose(h_on[name], h_off[name], rtol=1e-5, atol=1e-5, err_msg=name)
    assert len(w_on) == len(w_off)
    steep = total = 0
    for i, ((a, t_on), (b, t_off)) in enumerate(zip(w_on, w_off)):
        assert (t_on is None) == (t_off is None), f"weight {i}: trained on one path only"
        if t_on is None:  # BatchNorm statistics, Adam's moments, the moving average, seeds
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"weight {i}")
            continue
        (start, g_on), (start_off, g_off) = t_on, t_off
        np.testing.assert_array_equal(start, start_off, err_msg=f"weight {i}: different starts")
        # To 1e-5 as the losses: a gradient is a float32 sum over the batch and every pixel, and
        # two summation orders differed by 1.4e-6 here (dcgan64 on torch, a bias's gradient).
        np.testing.assert_allclose(g_on, g_off, rtol=1e-5, atol=1e-5, err_msg=f"weight {i}: gradient")
        for path, weight, g in (("on", a, g_on), ("off", b, g_off)):
            np.testing.assert_allclose(
                weight, _adam_first_update(start, g), rtol=1e-6, atol=1e-8,
                err_msg=f"weight {i}, fast path {path}: not Adam's update of its own gradient")
        gentle = (_adam_gain(g_on) <= 1) & (_adam_gain(g_off) <= 1)
        np.testing.assert_allclose(a[gentle], b[gentle], rtol=1e-5, atol=1e-5, err_msg=f"weight {i}")
        steep += int((~gentle).sum())
        total += a.size
    # Small networks on noise have many small gradients (10% steep in the tutorial's pair); the
    # direct comparison must still cover most weights, or the test would say little.
    assert total and steep < total / 2, f"{steep} of {total} trained weights have gradients next to zero"


@needs_fast_path
@pytest.mark.parametrize(
    "preset,update", [("tf_tutorial", "sequential"), ("tf_tutorial", "simultaneous"), ("dcgan64", "sequential")]
)
def test_a_step_of_the_presets_networks_is_the_same_with_the_fast_path_on_and_off(preset, update):
    shape = PRESET_NETWORKS[preset][2]
    on = _one_step(lambda: _preset_networks(preset), shape, True, update)
    off = _one_step(lambda: _preset_networks(preset), shape, False, update)
    _assert_same_step(on, off)


def _fast_kernels_in_plan(model):
    """{layer name: whether the training step's forward plan computes it with a fast kernel}."""
    if BACKEND == "torch":
        from dcgan_keras.backend.fast import torch_forward

        plan = torch_forward._chain_plan(model)
        if plan is torch_forward._NO_PLAN:
            plan = torch_forward._graph_plan(model)
        assert plan is not torch_forward._NO_PLAN and plan is not None
        # A chain's plan lists its layers; a graph's, its nodes after the steps.
        layers = [node.operation for node in plan[5]] if len(plan) == 6 else [layer for layer, _ in plan[1]]
        return {
            layer.name: step is not None and getattr(step[0], "func", None) is torch_forward._call_fast
            for layer, step in zip(layers, plan[3])
        }
    from dcgan_keras.backend.fast import jax_forward

    steps = jax_forward.plan(model)
    assert steps is not None
    return {layer.name: op is not None for layer, op in steps}


def _convolutions(*models):
    return {
        layer.name for model in models for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))
    }


@needs_fast_path
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_the_conditional_networks_take_the_fast_kernels_and_a_step_gives_the_same_numbers(conditioning):
    # Two inputs (z or images, and labels) and, with projection, a branch: not a chain, so the
    # plan walks the graph, each convolution a fast kernel, the label's layers Keras's own calls.
    def make_gan():
        generator = build_generator(
            latent_dim=8, num_classes=3, conditioning=conditioning, filters=(16, 16, 16))
        discriminator = build_discriminator(num_classes=3, conditioning=conditioning, filters=(16, 16), seed=0)
        gan = ConditionalDCGAN(discriminator, generator, seed=0, ema_momentum=0.9)
        gan.compile(**{f"{n}_optimizer": keras.optimizers.Adam(**ADAM) for n in "dg"}, **NO_XLA)
        return gan

    rng = np.random.default_rng(0)
    data = (rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32"), np.arange(8, dtype="int32") % 3)
    kernels = _assert_planned_and_the_same_step(make_gan, data, convolutions=5)
    assert not kernels["label_one_hot"]


def _forward_module():
    from dcgan_keras.backend.fast import jax_forward, torch_forward

    return torch_forward if BACKEND == "torch" else jax_forward


def _assert_planned_and_the_same_step(make_gan, data, convolutions=None):
    """Every convolution of `make_gan()`'s networks is a fast kernel in the plan, the "on" step
    walks the graph of every network that is not a chain, and one step on `data` gives the same numbers on and off;
    returns {layer name: planned as a kernel}."""
    networks = make_gan().networks.values()
    kernels = {}
    for network in networks:
        kernels.update(_fast_kernels_in_plan(network))
    names = _convolutions(*networks)
    assert names and all(kernels[name] for name in names), kernels
    assert convolutions is None or len(names) == convolutions, names
    from dcgan_keras.backend.fast import chain

    walked, run_graph = [], chain.run_graph
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chain, "run_graph", lambda model, *a: walked.append(model.name) or run_graph(model, *a))
        on = _one_fit(make_gan, data, True)
    # Every network that is not a chain (a chain may be walked too: torch's, with a layer it
    # cannot call directly, such as GroupNormalization).
    graphs = {network.name for network in on[2].networks.values() if chain.chain_layers(network) is chain.NOT_A_CHAIN}
    assert graphs and graphs <= set(walked), walked
    _assert_same_step(on, _one_fit(make_gan, data, False))
    return kernels


def _two_image_batches():
    """Pix2Pix's (inputs, targets) or CycleGAN's (a, b): two batches of 8 32x32x1 images."""
    rng = np.random.default_rng(0)
    return tuple(rng.uniform(-1, 1, (8, 32, 32, 1)).astype("float32") for _ in range(2))


@needs_fast_path
def test_pix2pixs_unet_and_pair_patchgan_take_the_fast_kernels_and_a_step_gives_the_same_numbers():
    # The U-Net's skip connections (Concatenate) and the PatchGAN's two inputs, with BatchNorm
    # and seeded dropout: a graph whose convolutions, BatchNorm and dropout are fast kernels.
    def make_gan():
        generator = build_unet_generator(32, 1, 1, filters=16, dropout=0.5, dropout_blocks=1, seed=0)
        discriminator = build_patch_discriminator(32, 1, 1, filters=16, downsamples=1, seed=0)
        gan = Pix2Pix(generator, discriminator, seed=0)
        gan.compile(**{f"{n}_optimizer": keras.optimizers.Adam(**ADAM) for n in "dg"}, **NO_XLA)
        return gan

    _assert_planned_and_the_same_step(make_gan, _two_image_batches())


@needs_fast_path
def test_cyclegans_resnet_generators_and_patchgans_take_the_fast_kernels_and_a_step_gives_the_same_numbers():
    # Residual blocks (an Add of two branches), reflection padding and instance normalization:
    # a graph whose convolutions are fast kernels and whose other layers are Keras's own calls.
    def make_gan():
        networks = [build_resnet_generator(32, 1, residual_blocks=1, filters=16, name=n) for n in ("g_ab", "g_ba")]
        networks += [
            build_image_patch_discriminator(32, 1, filters=16, downsamples=1, seed=0, name=n) for n in ("d_a", "d_b")
        ]
        gan = CycleGAN(*networks, pool_size=0, seed=0)
        gan.compile(optimizers={name: keras.optimizers.Adam(**ADAM) for name in gan.optimizer_names}, **NO_XLA)
        return gan

    _assert_planned_and_the_same_step(make_gan, _two_image_batches())


@needs_fast_path
def test_a_walked_graph_returns_what_keras_returns_keeps_a_shared_layers_losses_and_is_not_kept_alive():
    import gc
    import weakref

    images, labels = keras.Input((8, 8, 16)), keras.Input((), dtype="int32")
    convolution = keras.layers.Conv2D(16, 3, strides=2, padding="same")  # JAX plans strided convolutions
    shared = keras.layers.Dense(4, activity_regularizer="l2")  # called twice: two losses
    code = keras.layers.CategoryEncoding(4, output_mode="one_hot")(labels)
    features = keras.layers.Flatten()(convolution(images))
    scores = keras.layers.Add()([shared(features), shared(keras.layers.Dense(256)(code) + features)])
    model = keras.Model([images, labels], [scores])  # a one-item list: Keras returns the tensor
    inputs = [keras.random.normal((2, 8, 8, 16), seed=0), keras.ops.convert_to_tensor([1, 3], "int32")]
    walked = seam.forward(model, inputs, training=True)
    walked_losses = [keras.ops.convert_to_numpy(loss) for loss in model.losses]
    assert _forward_module()._plans[model][-1] is not None  # the graph plan, not the Keras call
    expected = model(inputs, training=True)
    assert keras.ops.is_tensor(walked) and keras.ops.is_tensor(expected)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(walked), keras.ops.convert_to_numpy(expected), atol=1e-5)
    assert len(walked_losses) == len(model.losses) == 2
    np.testing.assert_allclose(walked_losses, [keras.ops.convert_to_numpy(loss) for loss in model.losses], rtol=1e-5)
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None, "the cached plan keeps the model alive"


@needs_fast_path
def test_a_users_plain_keras_sequential_networks_take_the_fast_kernels_and_give_the_same_numbers():
    generator, discriminator = _tutorial_networks()
    generator(np.zeros((2, 8), "float32"))
    kernels = {**_fast_kernels_in_plan(generator), **_fast_kernels_in_plan(discriminator)}
    convolutions = _convolutions(generator, discriminator)
    if BACKEND == "torch":
        # Every layer of both networks, the convolutions, BatchNorm and Dropout included.
        assert all(kernels.values()), kernels
    else:
        # JAX: the convolutions (jax_layers then takes the strided ones with
        # 16 or more channels, where phases pay), every other layer its own call.
        for name, planned in kernels.items():
            assert planned == (name in convolutions), name
    on = _one_step(_tutorial_networks, (28, 28, 1), True)
    off = _one_step(_tutorial_networks, (28, 28, 1), False)
    _assert_same_step(on, off)


def _nested_tutorial_networks():
    """The tutorial's pair, each Sequential the only node of a functional wrapper (a chain)."""
    cores = _tutorial_networks()
    inputs = [keras.Input((8,)), keras.Input((28, 28, 1))]
    return tuple(keras.Model(x, core(x), name=f"wrapped_{core.name}") for x, core in zip(inputs, cores))


def _nested_conditional_gan():
    """keras.io's Conditional GAN layout: the Sequential cores inside wrappers that take labels (a graph)."""
    g_core, d_core = _tutorial_networks(pool=True)  # G's core takes 8 values: z (5) and a one-hot label (3)
    z, g_labels = keras.Input((5,)), keras.Input((), dtype="int32")
    code = keras.layers.CategoryEncoding(3, output_mode="one_hot")(g_labels)
    generator = keras.Model([z, g_labels], g_core(keras.layers.Concatenate()([z, code])), name="wrapped_g")
    images, d_labels = keras.Input((28, 28, 1)), keras.Input((), dtype="int32")
    label_score = keras.layers.Dense(1)(keras.layers.CategoryEncoding(3, output_mode="one_hot")(d_labels))
    discriminator = keras.Model([images, d_labels], keras.layers.Add()([d_core(images), label_score]), name="wrapped_d")
    gan = ConditionalDCGAN(discriminator, generator, latent_dim=5, num_classes=3, seed=0, ema_momentum=0.9)
    gan.compile(**{f"{n}_optimizer": keras.optimizers.Adam(**ADAM) for n in "dg"}, **NO_XLA)
    return gan


@needs_fast_path
@pytest.mark.parametrize("layout", ["chain", "graph"])
def test_a_network_nested_in_a_users_model_takes_the_fast_kernels_and_gives_the_same_numbers(layout, monkeypatch):
    # A model inside a model: the plans run the inner model by its own plan, its convolutions
    # as kernels. Without that, XLA:CPU's dilated convolutions ran keras.io's generator 15x
    # slower on JAX, and torch ran every inner layer's whole `__call__` (bench/RESULTS.md).
    if layout == "chain":
        step = functools.partial(_one_step, _nested_tutorial_networks, (28, 28, 1))
        networks = _nested_tutorial_networks()
    else:
        rng = np.random.default_rng(0)
        data = (rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32"), np.arange(8, dtype="int32") % 3)
        step = functools.partial(_one_fit, _nested_conditional_gan, data)
        networks = tuple(_nested_conditional_gan().networks.values())
    for network in networks:
        nested = _nested_in_plan(network)
        assert len(nested) == 1 and any(_fast_kernels_in_plan(nested[0]).values()), (network.name, nested)
    names, taken = _record_kernel_calls(monkeypatch)
    on = step(True)
    assert set(taken) == set(names), taken  # every kernel (on JAX, the convolutions'), run in the step
    _assert_same_step(on, step(False))


def _nested_in_plan(network):
    """The models nested in `network` that its forward plan runs by their own plans."""
    if BACKEND == "torch":
        from dcgan_keras.backend.fast import torch_forward

        plan = torch_forward._plan(network)
        assert plan not in (None, torch_forward._NO_PLAN), f"{network.name}: no plan"
        return [step[0].args[0] for step in plan[3] if step and getattr(step[0], "func", None) is torch_forward._nested]
    from dcgan_keras.backend.fast import jax_forward

    steps = jax_forward.plan(network)
    assert steps, f"{network.name}: no plan, so Keras's call runs the nested model's convolutions"
    return [layer for layer, op in steps if op is jax_forward._nested]


def _record_kernel_calls(monkeypatch):
    """Patches this backend's fast kernels to note their names as a step calls them; returns (names, notes)."""
    if BACKEND == "torch":
        from dcgan_keras.backend.fast import torch_layers as kernels

        names = ("conv2d", "conv2d_transpose", "batch_norm_training", "seeded_dropout")
    else:
        from dcgan_keras.backend.fast import jax_layers as kernels

        names = ("conv2d", "conv2d_transpose")
    taken = []
    for name in names:
        original = getattr(kernels, name)
        monkeypatch.setattr(
            kernels, name, lambda layer, x, _o=original, _n=name: taken.append(_n) or _o(layer, x)
        )
    if BACKEND == "jax":
        from dcgan_keras.backend.fast import jax_forward

        monkeypatch.setattr(jax_forward, "_fast_ops", lambda: {
            keras.layers.Conv2D: kernels.conv2d, keras.layers.Conv2DTranspose: kernels.conv2d_transpose})
    return names, taken


@needs_fast_path
@pytest.mark.parametrize("nested", [False, True], ids=["alone", "nested"])
def test_a_sequential_under_mixed_precision_gets_its_inputs_cast_as_keras_casts_them(nested):
    # Where a Sequential's compute dtype (bfloat16) and its Input's (float32, its first layer's)
    # differ, Sequential.__call__ casts float inputs to the Input's (Sequential.input_dtype), as
    # the plans do; were it the compute dtype's first (as any other layer's `__call__`), Keras's
    # numbers would carry bfloat16's rounding and the plans' would not.
    from dcgan_keras.distribute import precision

    with precision("mixed_bfloat16"):
        model = core = keras.Sequential([
            keras.Input((8, 8, 16)),
            keras.layers.Conv2D(16, 3, strides=2, padding="same", dtype="float32"),
            keras.layers.Flatten(dtype="float32"),
        ])
        if nested:
            inputs = keras.Input((8, 8, 16))
            model = keras.Model(inputs, core(inputs))
        assert core.compute_dtype == "bfloat16" and core.inputs[0].dtype == "float32"
        x = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
        expected = keras.ops.convert_to_numpy(model(x, training=False))
        got = keras.ops.convert_to_numpy(seam.forward(model, x, training=False))
    assert any(_fast_kernels_in_plan(core).values()) and (not nested or _nested_in_plan(model) == [core])
    # The kernels sum in another order (1e-6); bfloat16's rounding of the inputs would move the
    # outputs by about 1e-3 of their scale.
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@needs_fast_path
def test_the_kernels_run_in_the_training_step(monkeypatch):
    # Not only planned: the step calls them (JAX: while tracing the step).
    names, taken = _record_kernel_calls(monkeypatch)
    _one_step(_tutorial_networks, (28, 28, 1), True)
    assert set(taken) == set(names), taken


def test_a_keras_outside_the_tested_range_warns_once_and_falls_back(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("the fast path ran on an untested Keras")

    class Refuse:
        def __getattr__(self, name):
            return refused

    monkeypatch.setattr(keras, "version", lambda: "3.99.0")
    monkeypatch.setattr(fast, "_warned", False)
    monkeypatch.setattr(fast, "_user_enabled", True)
    monkeypatch.setattr(seam, "_fast_hooks", Refuse())
    if BACKEND == "torch":
        from dcgan_keras.backend.fast import torch_adam, torch_hooks

        monkeypatch.setattr(torch_adam, "apply", refused)
        monkeypatch.setattr(torch_hooks, "normal_noise", refused)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history, _, _ = _one_step(lambda: _preset_networks("tf_tutorial"), (28, 28, 1), True)
        assert not fast.enabled()
    ours = [w for w in caught if "fast path" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    assert "3.99.0" in str(ours[0].message) and ">=3.15" in str(ours[0].message)
    assert np.isfinite(history["d_loss"][0])
    assert fast.keras_in_tested_range("3.15.1") and not fast.keras_in_tested_range("3.16.0")
    assert not fast.keras_in_tested_range("3.14.9")


@pytest.mark.full  # fresh processes: not in the quick tier
def test_the_environment_switch_turns_it_off():
    code = "from dcgan_keras.backend import fast; print(fast.enabled())"
    env = dict(os.environ, KERAS_BACKEND=BACKEND, PYTHONPATH=REPO)
    outputs = [
        subprocess.run([sys.executable, "-c", code], env=dict(env, DCGAN_KERAS_FAST_PATH=value), cwd=REPO,
                       capture_output=True, text=True, check=True).stdout.split()[-1]
        for value in ("0", "1")
    ]
    assert outputs == ["False", "True"]


@pytest.mark.full  # fresh processes: not in the quick tier
def test_a_new_generator_keras_file_loads_where_dcgan_keras_was_never_imported(tmp_path):
    generator = build_generator(latent_dim=8, image_size=28, channels=1, filters=(8, 8, 4))
    assert not any(type(layer).__module__.startswith("dcgan_keras") for layer in generator.layers)
    path, z_path = str(tmp_path / "generator.keras"), str(tmp_path / "z.npy")
    generator.save(path)
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    np.save(z_path, z)
    code = (
        "import sys, keras, numpy as np\n"
        f"g = keras.saving.load_model({path!r})\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, keras.ops.convert_to_numpy(g(np.load({z_path!r}))))\n"
        "assert not any(m.startswith('dcgan_keras') for m in sys.modules), 'dcgan_keras was imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", code], env=dict(env, KERAS_BACKEND=BACKEND), cwd=str(tmp_path), check=True)
    np.testing.assert_allclose(
        np.load(str(tmp_path / "out.npy")), keras.ops.convert_to_numpy(generator(z)), rtol=1e-5, atol=1e-5
    )
