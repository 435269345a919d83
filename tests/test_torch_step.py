"""torch: the training step's host work. On a GPU the kernels wait for it (bench/RESULTS.md, attempts 12-16).

Its own Adam update (backend/torch_adam.py) must be Keras's Adam, bit for bit,
and a step must not copy Python numbers to the device or read tensors back,
which on a GPU are blocking transfers that stop the host from running ahead.
"""

import collections
import traceback

import keras
import numpy as np
import pytest

from tests.helpers import numpy_weights, random_images, tiny_gan

pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch", reason="the fast Adam update is torch's")

SHAPES = [(3, 4), (4,), (5, 5, 2, 3), (1,), ()]


def _variables(seed):
    rng = np.random.default_rng(seed)
    return [keras.Variable(rng.normal(size=shape).astype("float32")) for shape in SHAPES]


def _grads(rng):
    import torch

    return [torch.as_tensor(rng.normal(size=shape).astype("float32")) for shape in SHAPES]


def _state(optimizer, variables):
    return [np.array(v) for v in [*variables, *optimizer.variables]]


@pytest.mark.parametrize("per_variable", [True, False], ids=["per_variable", "foreach"])
def test_the_fast_update_is_keras_adam_bit_for_bit_step_after_step(per_variable, monkeypatch):
    import torch

    from dcgan_keras.backend.fast import torch_adam

    # Each way of running the update (a CPU's, a GPU's), here on this device.
    monkeypatch.setattr(torch_adam, "PER_VARIABLE_DEVICES", ("cpu", "cuda", "mps") if per_variable else ())

    ours, theirs = _variables(0), _variables(0)
    opt_ours = keras.optimizers.Adam(3e-3, beta_1=0.5, beta_2=0.99, epsilon=1e-6)
    opt_theirs = keras.optimizers.Adam(3e-3, beta_1=0.5, beta_2=0.99, epsilon=1e-6)
    opt_ours.build(ours)
    opt_theirs.build(theirs)
    rng = np.random.default_rng(1)
    for step in range(6):
        if step == 3:  # a learning rate changed between steps (as callbacks do) is read each step
            opt_ours.learning_rate = opt_theirs.learning_rate = 1e-3
        grads = _grads(rng)
        assert torch_adam.apply(opt_ours, grads, ours)
        with torch.no_grad():
            opt_theirs.apply(grads, theirs)
        for a, b in zip(_state(opt_ours, ours), _state(opt_theirs, theirs), strict=True):
            np.testing.assert_array_equal(a, b)
    assert int(opt_ours.iterations) == 6


# Each makes Keras's apply do more than the Adam update (or another update).
ADAM_OPTIONS = {
    "amsgrad": {"amsgrad": True},
    "weight_decay": {"weight_decay": 0.5},
    "clipnorm": {"clipnorm": 0.5},
    "clipvalue": {"clipvalue": 0.5},
    "global_clipnorm": {"global_clipnorm": 0.5},
    "use_ema": {"use_ema": True},
    "gradient_accumulation_steps": {"gradient_accumulation_steps": 2},
    "loss_scale_factor": {"loss_scale_factor": 2.0},
}


def _optimizer_with(option):
    if option in ADAM_OPTIONS:
        return keras.optimizers.Adam(**ADAM_OPTIONS[option])
    if option == "schedule":
        return keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5))
    if option == "subclass":  # it may override the update
        return type("MyAdam", (keras.optimizers.Adam,), {})()
    if option == "loss_scale":
        return keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam())
    if option == "sgd":
        return keras.optimizers.SGD()
    if option == "tensor_beta":  # Keras reads it at each update: it may change in place
        import torch

        return keras.optimizers.Adam(beta_1=torch.tensor(0.9))
    if option == "variable_beta":
        return keras.optimizers.Adam(beta_2=keras.Variable(0.99))
    return keras.optimizers.Adam()


@pytest.mark.parametrize(
    "option",
    [
        *ADAM_OPTIONS, "schedule", "subclass", "loss_scale", "sgd", "tensor_beta", "variable_beta", "constraint",
        "unknown", "stateless",
    ],
)
def test_anything_but_a_plain_adam_is_left_to_keras_untouched(option):
    from dcgan_keras.backend.fast import torch_adam

    variables = _variables(0)
    optimizer = _optimizer_with(option)
    optimizer.build(variables)
    if option == "constraint":
        variables[0].constraint = keras.constraints.NonNeg()
    if option == "unknown":
        variables = variables[:-1] + [keras.Variable(np.ones(SHAPES[-1], "float32"))]
    before = _state(optimizer, variables)
    grads = _grads(np.random.default_rng(1))
    if option == "stateless":
        with keras.StatelessScope():
            assert torch_adam.apply(optimizer, grads, variables) is False
    else:
        assert torch_adam.apply(optimizer, grads, variables) is False
    for a, b in zip(before, _state(optimizer, variables), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_gan_trains_to_the_same_weights_with_the_fast_update_or_kerass(monkeypatch):
    from dcgan_keras.backend.fast import torch_adam

    x = random_images(16)
    fast = tiny_gan()
    fast.fit(x, batch_size=8, epochs=2, verbose=0, shuffle=False)

    taken = []
    monkeypatch.setattr(torch_adam, "apply", lambda *args: taken.append(1) and False)
    keras_path = tiny_gan()
    keras_path.fit(x, batch_size=8, epochs=2, verbose=0, shuffle=False)

    assert len(taken) == 8  # the step called it, one D and one G update per step
    for a, b in zip(numpy_weights(fast.weights), numpy_weights(keras_path.weights), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(
        numpy_weights(fast.d_optimizer.variables + fast.g_optimizer.variables),
        numpy_weights(keras_path.d_optimizer.variables + keras_path.g_optimizer.variables),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


# torch functions that, with Python data or on a GPU tensor, move data between
# host and device and wait for it.
TRANSFERS = {
    "tensor", "as_tensor", "scalar_tensor", "item", "tolist", "__bool__", "__int__", "__float__", "numpy", "cpu",
}


def _transfers_in(fn):
    from torch.overrides import TorchFunctionMode

    seen = collections.Counter()

    class Record(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in TRANSFERS:
                frames = [f for f in traceback.extract_stack()[:-1] if "/torch/" not in f.filename]
                seen[(name, frames[-1].name)] += 1
            return func(*args, **(kwargs or {}))

    with Record():
        fn()
    return seen


@pytest.mark.parametrize("label_smoothing, ema_momentum", [(0.0, None), (0.1, 0.99)])  # the mnist preset's: 0.1, 0.99
def test_a_training_step_moves_no_data_between_host_and_device(label_smoothing, ema_momentum):
    gan = tiny_gan(ema_momentum=ema_momentum)
    gan.label_smoothing = label_smoothing
    x = keras.ops.convert_to_tensor(random_images(8))  # on the device, as fit hands batches over
    gan.train_step(x)  # builds
    seen = _transfers_in(lambda: gan.train_step(x))
    # The seed states' reads: host memory by design (seam.seed_state_scope,
    # tested in test_layers), one for the noise and one per dropout call.
    seeds = seen.pop(("tolist", "seeded_generator"), 0)
    assert seeds == 1 + 2 * 3  # the noise; 2 dropout layers in each of D's 3 passes
    assert not seen, f"host-device transfers in a step: {dict(seen)}"
