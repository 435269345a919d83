"""torch: Keras's Adam update, the same numbers, without its per-call host work.

`optimizer.apply` on Keras 3.15's torch backend does its update in eight fused
`torch._foreach_*` calls, but around them it reads every variable through
`Variable.value` (three global-state lookups and a device-name check each, 48
reads a step for the tf_tutorial networks), converts Python numbers to device
tensors through `keras.ops`, and walks options the DCGAN does not use
(gradient accumulation, EMA, clipping, weight decay, constraints). On a GPU
that host work is what the kernels wait on, and two of those numbers (the
betas) are copied to the device at every call, each a blocking copy
(bench/RESULTS.md, attempt 16).

`apply` runs Keras's own arithmetic, op for op, for a plain `keras.optimizers.Adam`
(exactly that class) with none of those options; for anything else it answers
False and the caller uses `optimizer.apply`. What it reproduces is Keras 3.15's:
the seam calls it only while the fast path is on, which it is only for the
Keras versions of `fast.TESTED_KERAS`.
"""

import functools
import numbers

import torch
from keras.src.backend.common.variables import Variable as KerasVariable
from keras.src.backend.torch.optimizers.torch_adam import Adam as _KerasTorchAdam

from dcgan_keras.backend.fast import torch_layers


#: Where the update runs one variable at a time (`_update_each`); elsewhere (a GPU),
#: in `foreach` calls, a few kernel launches for all of them.
PER_VARIABLE_DEVICES = ("cpu",)


def apply(optimizer, grads, variables):
    """`optimizer.apply(grads, variables)` for a plain Adam; False where it does not apply.

    Args:
        optimizer: a built Keras optimizer.
        grads: torch tensors, one per variable.
        variables: the `keras.Variable`s to update, all known to `optimizer`.

    Returns:
        True once the update is applied (weights, moments and the iteration
        counter, as Keras's Adam would), or False, with nothing changed.

    Example:
        >>> import keras, torch  # doctest: +SKIP
        >>> w = keras.Variable(torch.ones(2))  # doctest: +SKIP
        >>> opt = keras.optimizers.Adam(0.1); opt.build([w])  # doctest: +SKIP
        >>> apply(opt, [torch.ones(2)], [w])  # doctest: +SKIP
        True
    """
    indices = _plain_adam_indices(optimizer, grads, variables)
    if indices is None:
        return False
    params = [v._value for v in variables]
    dtype = params[0].dtype  # as Keras's: the first variable's dtype for every scalar
    with torch.no_grad():
        # Keras's scalars, op for op (torch_adam.py): the same roundings.
        lr = optimizer._learning_rate._value.to(dtype)
        local_step = (optimizer._iterations._value + 1).to(dtype)
        beta_1_power = torch.pow(_constant(optimizer.beta_1, dtype, lr.device), local_step)
        beta_2_power = torch.pow(_constant(optimizer.beta_2, dtype, lr.device), local_step)
        alpha = lr * torch.sqrt(1 - beta_2_power) / (1 - beta_1_power)

        m_list = [optimizer._momentums[i]._value for i in indices]
        v_list = [optimizer._velocities[i]._value for i in indices]
        if lr.device.type in PER_VARIABLE_DEVICES and all(p.dtype == dtype for p in params):
            _update_each(params, grads, m_list, v_list, alpha, optimizer.beta_1, optimizer.beta_2, optimizer.epsilon)
            optimizer._iterations._value.add_(1)
            return True
        torch._foreach_mul_(m_list, optimizer.beta_1)
        torch._foreach_add_(m_list, grads, alpha=1 - optimizer.beta_1)
        torch._foreach_mul_(v_list, optimizer.beta_2)
        torch._foreach_add_(v_list, torch._foreach_mul(grads, grads), alpha=1 - optimizer.beta_2)
        torch._foreach_add_(
            params,
            torch._foreach_div(
                torch._foreach_mul(m_list, alpha), torch._foreach_add(torch._foreach_sqrt(v_list), optimizer.epsilon)
            ),
            alpha=-1,
        )
        optimizer._iterations._value.add_(1)
    return True


def _update_each(params, grads, m_list, v_list, alpha, beta_1, beta_2, epsilon):
    # The same ops as the `foreach` calls in `apply`, one variable at a time: on a
    # CPU, where `_foreach_*` is a loop over the variables anyway, each variable's
    # update then runs while it is in cache, and its temporaries are two reused
    # buffers rather than four new tensors (large ones are fresh pages from the
    # system each time). A U-Net's 7.3M weights: 10 ms an update against 36 ms,
    # and torch.optim.Adam's 15 ms; the same bits (bench/RESULTS.md).
    first, second = _scratch(params)
    for p, g, m, v in zip(params, grads, m_list, v_list):
        a, b = first[: p.numel()].view(p.shape), second[: p.numel()].view(p.shape)
        m.mul_(beta_1).add_(g, alpha=1 - beta_1)
        v.mul_(beta_2).add_(torch.mul(g, g, out=a), alpha=1 - beta_2)
        p.add_(torch.mul(m, alpha, out=b).div_(torch.sqrt(v, out=a).add_(epsilon)), alpha=-1)


_SCRATCH = {}  # (dtype, device) -> two flat buffers, as large as the largest variable updated so far


def _scratch(params):
    key = (params[0].dtype, params[0].device)
    size = max(p.numel() for p in params)
    if key not in _SCRATCH or _SCRATCH[key][0].numel() < size:
        _SCRATCH[key] = tuple(torch.empty(size, dtype=key[0], device=key[1]) for _ in range(2))
    return _SCRATCH[key]


@functools.lru_cache(maxsize=64)
def _constant(value, dtype, device):
    # Made once: a Python number copied to a GPU is a blocking copy, which
    # Keras's `ops.cast(self.beta_1, dtype)` pays twice per update.
    return torch.tensor(value, dtype=dtype, device=device)


def _plain_adam_indices(optimizer, grads, variables):
    # The optimizer's slot index per variable, where Keras's apply would do
    # nothing beyond the Adam update itself; else None.
    if (
        # Compiled steps pay no per-call host work: Keras's update is traced.
        torch.compiler.is_compiling()
        or type(optimizer) is not _KerasTorchAdam
        or not optimizer.built
        or optimizer.amsgrad
        or optimizer.weight_decay is not None
        or optimizer.clipnorm is not None
        or optimizer.clipvalue is not None
        or optimizer.global_clipnorm is not None
        or optimizer.use_ema
        or optimizer.gradient_accumulation_steps
        or optimizer.loss_scale_factor is not None
        or not isinstance(optimizer._learning_rate, KerasVariable)
        # Keras also takes a tensor or a Variable for the betas (read at each
        # update); `_constant` caches numbers only.
        or not isinstance(optimizer.beta_1, numbers.Real)
        or not isinstance(optimizer.beta_2, numbers.Real)
        or not variables
        or len(grads) != len(variables)
        or not torch_layers.values_are_stored()
    ):
        return None
    known = optimizer._trainable_variables_indices
    indices = []
    for grad, variable in zip(grads, variables):
        index = known.get(id(variable))
        if (
            index is None
            or grad is None
            or variable._value is None
            or variable.constraint is not None
            or getattr(variable, "overwrite_with_gradient", False)
        ):
            return None
        indices.append(index)
    return indices
