"""torch: faster kernels behind the DCGAN's layers (dcgan_keras.layers), same math as Keras's.

Keras 3.15's torch backend pays, per layer call, for work the DCGAN does not
need (measured in bench/RESULTS.md, "Attempts" 7 and 8):

- every convolution copies its NHWC input to contiguous NCHW and then again to
  channels-last memory order, and the backward pass copies the gradients back;
- every transposed convolution computes the full, uncropped output (11x11 for
  a 7x7 "same" output with a 5x5 kernel) and slices it;
- BatchNormalization is a dozen elementwise ops where torch has one fused
  kernel, and the fused kernel is fast on a (pixels, channels) matrix;
- seeded dropout fills a full-size probability tensor and a zero tensor and
  selects with `where` around a Bernoulli draw, which is itself slow on CPU;
- a seed draw copies the SeedGenerator's state and converts a NumPy array.

Each function returns the layer's output, or None where its fast path does not
apply (the layer then calls Keras's own op). Inputs are channels-last. These are
eager-mode costs: under torch.compile (`jit_compile=True`) Keras's ops are
traced and fused anyway, so there the layers call Keras's ops.
"""

import functools
import math
import threading

import keras
import torch
import torch.nn.functional as F
from keras.src.backend.common.stateless_scope import in_stateless_scope
from keras.src.backend.common.variables import get_autocast_scope
from keras.src.backend.torch.core import get_device

from dcgan_keras.backend.fast.padding import same_padding


def _eager_only(fast_op):
    # Besides: inductor (torch 2.13, dynamic shapes) fails to compile the
    # cropped transposed convolution and the (pixels, channels) BatchNorm view.
    # Keras's symbolic shape inference runs layers on "meta" tensors, which
    # have no data (nor random generators): Keras's ops handle those.
    @functools.wraps(fast_op)
    def op(layer, inputs):
        if torch.compiler.is_compiling() or inputs.device.type == "meta":
            return None
        return fast_op(layer, inputs)

    return op


# ------------------------------------------------------------ reading weights
# `Variable.value` costs ~1.4 us of host time a read (three global-state
# lookups and a device-name check), ~120 reads a training step. Where none of
# what it checks for is active, the stored tensor is what it returns.

_reads = threading.local()


def values_are_stored():
    """True where `Variable.value` is the stored tensor itself.

    Not so in a stateless scope (values come from the scope), an autocast
    scope (they are cast) or on Keras's symbolic "meta" device (stubs).
    """
    return not in_stateless_scope() and get_autocast_scope() is None and str(get_device()) != "meta"


def values(variables):
    """`[v.value for v in variables]`, with one check for all of them."""
    if values_are_stored():
        return [v.value if v._value is None else v._value for v in variables]
    return [v.value for v in variables]


def read_stored(direct):
    """Makes `read` return stored tensors in this thread (True) or not; returns the previous setting.

    For `torch_forward.forward`, which checks `values_are_stored()` once per
    pass instead of once per weight.
    """
    previous = getattr(_reads, "stored", False)
    _reads.stored = direct
    return previous


def read(variable):
    """`variable.value`, the stored tensor directly inside a `read_stored(True)` pass."""
    value = variable._value
    if value is None or not getattr(_reads, "stored", False):
        return variable.value
    return value


# ---------------------------------------------------------------- convolutions


def _torch_kernel(kernel):
    # Keras's (kh, kw, in, out) is torch's (out, in, kh, kw) reversed (for a
    # transposed convolution: (kh, kw, out, in) and (in, out, kh, kw)).
    return kernel.permute(3, 2, 0, 1)


def _plain_2d(layer):
    return layer.rank == 2 and layer.data_format == "channels_last" and tuple(layer.dilation_rate) == (1, 1)


@_eager_only
def conv2d(layer, inputs):
    """keras.layers.Conv2D's convolution and bias, on a channels-last view (no copies)."""
    if not (_plain_2d(layer) and layer.groups == 1 and layer.padding in ("same", "valid")):
        return None
    kernel = read(layer.kernel)  # (kh, kw, in, out); cast to the compute dtype under mixed precision
    bias = read(layer.bias) if layer.use_bias else None
    padding = 0
    if layer.padding == "same":
        (top, bottom), (left, right) = (
            same_padding(inputs.shape[1 + i], layer.kernel_size[i], layer.strides[i]) for i in range(2)
        )
        padding = (top, left)
        if bottom > top or right > left:
            # Torch pads symmetrically: only the odd pixel after is padded
            # here, on the NHWC tensor (a contiguous copy, and the permuted
            # view stays channels-last). A 17x17 copy of a 14x14 map, padded
            # whole, cost 30% more in the backward pass.
            inputs = F.pad(inputs, (0, 0, 0, right - left, 0, bottom - top))
    outputs = F.conv2d(
        inputs.permute(0, 3, 1, 2), _torch_kernel(kernel), bias, stride=tuple(layer.strides), padding=padding
    )
    return outputs.permute(0, 2, 3, 1)


@_eager_only
def conv2d_transpose(layer, inputs):
    """keras.layers.Conv2DTranspose's output and bias, computed at (nearly) the output's size."""
    if not (_plain_2d(layer) and layer.output_padding is None and layer.padding in ("same", "valid")):
        return None
    crops = []
    for k, s in zip(layer.kernel_size, layer.strides):
        if k < s:  # Keras's output is then wider than the full one (zero-padded)
            return None
        # The full output is (size - 1) * s + k wide; "same" keeps size * s
        # of it, cropping the odd pixel after, as Keras (and JAX) do.
        total = k - s if layer.padding == "same" else 0
        crops.append((total // 2, total - total // 2))
    kernel = read(layer.kernel)  # (kh, kw, out, in)
    bias = read(layer.bias) if layer.use_bias else None
    outputs = F.conv_transpose2d(
        inputs.permute(0, 3, 1, 2),
        _torch_kernel(kernel),
        bias,
        stride=tuple(layer.strides),
        padding=tuple(before for before, _ in crops),
    )
    # Torch crops symmetrically: what is left of the crop after is one slice.
    extra = [after - before for before, after in crops]
    if any(extra):
        outputs = outputs[:, :, : outputs.shape[2] - extra[0], : outputs.shape[3] - extra[1]]
    return outputs.permute(0, 2, 3, 1)


# ------------------------------------------------------------- normalization


@_eager_only
def batch_norm_training(layer, inputs):
    """keras.layers.BatchNormalization in training mode, with one fused kernel.

    Returns the normalized inputs (in float32), and assigns the layer's moving
    statistics exactly as Keras does (the biased batch variance).
    """
    if not (layer.axis in (-1, inputs.ndim - 1) and layer.center and layer.scale and not layer.renorm):
        return None
    x = inputs.float()
    channels = x.shape[-1]
    # A (pixels, channels) matrix is contiguous for NHWC data and is torch's
    # fastest layout for this kernel on CPU (the channels-last 4-D view's
    # backward pass was 10x slower in the profile).
    outputs, mean, invstd = torch.native_batch_norm(
        x.reshape(-1, channels),
        read(layer.gamma).float(),
        read(layer.beta).float(),
        None,
        None,
        True,
        0.0,
        layer.epsilon,
    )
    momentum = layer.momentum
    with torch.no_grad():
        updates = ((layer.moving_mean, mean), (layer.moving_variance, invstd.pow(-2) - layer.epsilon))
        if in_stateless_scope():  # `stateless_call` collects assignments instead
            for moving, batch in updates:
                moving.assign(moving * momentum + batch * (1.0 - momentum))
        else:
            # In place, as Keras's assign would copy in the same numbers,
            # without its conversions (a third of this layer's host time).
            for moving, batch in updates:
                read(moving).mul_(momentum).add_(batch * (1.0 - momentum))
    return outputs.reshape(x.shape)


# ------------------------------------------------------------ random draws


def seeded_generator(seed_generator, device):
    """A torch.Generator seeded as Keras's torch backend seeds one from `seed_generator`.

    The same seed, and the state moved on by the same [0, 1], as
    `keras.random` ops on torch (`torch_seed_generator`), without the tensor
    copies and NumPy conversions of `SeedGenerator.next()`: that took 30 us of
    a 40 us dropout call. Eager only (generators are not traceable): under
    torch.compile its callers draw with `keras.random` instead.
    """
    if in_stateless_scope():  # `stateless_call` collects the new state instead
        first, second = seed_generator.next()
        seed = int(first + second)
    else:
        state = read(seed_generator.state)
        first, second = state.tolist()
        seed = first + second  # wraps as the int32 sum would, once masked
        with torch.no_grad():
            state.add_(_increment(state.device, state.dtype))
    generator = torch.Generator(device=device)
    generator.manual_seed(seed & 0xFFFFFFFF)
    return generator


@functools.lru_cache(maxsize=None)
def _increment(device, dtype):
    return torch.tensor([0, 1], dtype=dtype, device=device)


# ------------------------------------------------------------------- dropout


@_eager_only
def seeded_dropout(layer, inputs):
    """keras.layers.Dropout with a seed: the mask drawn from the layer's SeedGenerator.

    Unseeded dropout is left to Keras (it calls torch's own `F.dropout`).
    """
    if layer.seed is None or layer.noise_shape is not None:
        return None
    keep = 1.0 - layer.rate
    # As Keras's torch backend seeds its generators, so the mask stream lives
    # in the SeedGenerator's state, which checkpoints save and restore.
    generator = seeded_generator(layer.seed_generator, inputs.device)
    # Uniform draws compared in place: half the time of `bernoulli_` (which
    # Keras and torch's own dropout use) on CPU, where the Bernoulli draw was a
    # third of the 64x64 preset's step (bench/RESULTS.md, attempt 8).
    mask = torch.rand(inputs.shape, generator=generator, device=inputs.device).lt_(keep).div_(keep)
    return inputs * mask.to(inputs.dtype)


# ------------------------------------- Keras's own layers, in a direct chain
# torch_forward runs these in place of the layers' `call` in a training step's
# chain: the same torch ops, without the conversions and shape bookkeeping of
# `keras.ops` (a Reshape's `call` took 20 us for one 1-us view).


@_eager_only
def dense(layer, inputs):
    """keras.layers.Dense: matmul, bias and activation, as its `call` computes them."""
    if layer.lora_enabled:
        return None
    kernel = read(layer.kernel)
    # Keras multiplies float16 in float32 on a CPU (torch's matmul lacks it there).
    if inputs.dtype != kernel.dtype or (kernel.dtype == torch.float16 and kernel.device.type == "cpu"):
        return None
    outputs = torch.matmul(inputs, kernel)
    if layer.bias is not None:
        outputs = torch.add(outputs, read(layer.bias))
    return layer.activation(outputs) if layer.activation is not None else outputs


@_eager_only
def leaky_relu(layer, inputs):
    """keras.layers.LeakyReLU: torch's op, as `ops.leaky_relu` calls it."""
    return F.leaky_relu(inputs, negative_slope=layer.negative_slope)


@_eager_only
def activation(layer, inputs):
    """keras.layers.Activation with tanh (the generators' last layer); None for any other function."""
    if layer.activation is not keras.activations.tanh:
        return None
    return torch.tanh(inputs)


@_eager_only
def reshape(layer, inputs):
    """keras.layers.Reshape (a view where torch can make one, as Keras's)."""
    return torch.reshape(inputs, (inputs.shape[0], *(-1 if d is None else d for d in layer.target_shape)))


@_eager_only
def flatten(layer, inputs):
    """keras.layers.Flatten of channels-last inputs."""
    if layer.data_format == "channels_first" and inputs.ndim > 2:
        return None
    return torch.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))
