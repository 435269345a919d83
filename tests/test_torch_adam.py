"""torch: the training step's own Adam update (backend/torch_adam.py) must be Keras's Adam, bit for bit."""

import keras
import numpy as np
import pytest

from tests.helpers import numpy_weights, random_images, tiny_gan

pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch", reason="the fast Adam update is torch's")

SHAPES = [(3, 4), (4,), (5, 5, 2, 3), (1,)]


def _variables(seed):
    rng = np.random.default_rng(seed)
    return [keras.Variable(rng.normal(size=shape).astype("float32")) for shape in SHAPES]


def _grads(rng):
    import torch

    return [torch.as_tensor(rng.normal(size=shape).astype("float32")) for shape in SHAPES]


def _state(optimizer, variables):
    return [np.array(v) for v in [*variables, *optimizer.variables]]


def test_the_fast_update_is_keras_adam_bit_for_bit_step_after_step():
    import torch

    from dcgan_keras.backend import torch_adam

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
    return keras.optimizers.Adam()


@pytest.mark.parametrize(
    "option", [*ADAM_OPTIONS, "schedule", "subclass", "loss_scale", "sgd", "constraint", "unknown", "stateless"]
)
def test_anything_but_a_plain_adam_is_left_to_keras_untouched(option):
    from dcgan_keras.backend import torch_adam

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
    from dcgan_keras.backend import torch_adam

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
