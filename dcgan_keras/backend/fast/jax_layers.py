"""JAX on CPU: strided convolutions without XLA:CPU's slow dilated convolutions.

A stride-s transposed convolution is, in XLA, a convolution of the input
dilated by s (zeros between its pixels). So is the input gradient of a
stride-s convolution, and the kernel gradient of a transposed one. XLA:CPU
computes such dilated convolutions with a generic loop instead of its fast
convolution kernel (jax 0.10, bench/RESULTS.md, attempt 13): the kernel
gradient of the 28x28 generator's 7->14 layer took 1.0 s at batch 256, 19x its
forward pass, and more than half of a training step went there. XLA's CPU flags
(oneDNN, XNNPACK) did not change that.

Here such a convolution is computed by phases instead: output pixel s*q + r
(r < s) only ever meets the kernel taps a = r0, r0 + s, ..., so each of the
s*s output phases is an ordinary stride-1 convolution of the undilated input
with that slice of the kernel, and the phases interleave into the output.
That is the same sum, in another order; it does no multiplications by the
inserted zeros, and its gradients are stride-1 convolutions too.

On a GPU (cuDNN) XLA's own convolutions are fast: there, and for anything but
plain 2-D channels-last layers, every function returns None and the layer calls
Keras's own op. Each function returns the layer's output (convolution and bias).
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax
from keras import ops

from dcgan_keras.backend.fast.padding import same_padding

_NHWC = ("NHWC", "HWIO", "NHWC")

# The phases are convolutions with as many output channels as the dilated
# convolution has: with an image's 1 to 3 they are slower than XLA's own. So
# the transposed convolution goes by phases from this many filters on, and the
# convolution's input gradient from this many input channels on. Forward and
# both gradients, bench/jax_conv_phases.py: the 28x28 network's G last layer
# 15.7 ms as XLA's, 49.2 by phases, D's first 8.1 against 14.3; every layer
# with 64 to 512 channels 1.1-13x faster by phases.
MIN_PHASE_CHANNELS = 16


def _on_cpu():
    return jax.default_backend() == "cpu"


def _plain_2d(layer):
    return (
        layer.rank == 2
        and layer.data_format == "channels_last"
        and tuple(layer.dilation_rate) == (1, 1)
        and all(k >= s for k, s in zip(layer.kernel_size, layer.strides))
        and any(s > 1 for s in layer.strides)
    )


def _phase_taps(size, out_size, kernel, stride, before):
    """Per output phase r: (first tap, (pad before, pad after)) of its stride-1 convolution.

    The dilated convolution reads input pixel (u - before) / s at dilated
    position u, and output pixel i sums taps a at u = i + a. For i = s*q + r,
    the taps that land on input pixels are a = r0, r0 + s, ... with
    r0 = (before - r) mod s, reading input q + d + t for the t-th of them.
    Every phase computes ceil(out_size / s) outputs; the extra are cropped.
    """
    phases = []
    per_phase = -(-out_size // stride)
    for r in range(stride):
        first = (before - r) % stride
        taps = len(range(first, kernel, stride))
        offset = (r + first - before) // stride
        phases.append((first, (-offset, per_phase - size + offset + taps - 1)))
    return phases


def _dilated_conv_by_phases(x, kernel, strides, before, out_shape):
    """Same as lax.conv_general_dilated(x, kernel, 1, padding, lhs_dilation=strides), for NHWC/HWIO.

    Args:
        x: (batch, height, width, channels_in).
        kernel: (kh, kw, channels_in, channels_out), in correlation form.
        strides: the dilation of x (the transposed convolution's strides).
        before: (top, left) padding of the dilated x.
        out_shape: (height, width) of the result.
    """
    (sh, sw), (oh, ow) = strides, out_shape
    rows = []
    for first_h, pad_h in _phase_taps(x.shape[1], oh, kernel.shape[0], sh, before[0]):
        cols = []
        for first_w, pad_w in _phase_taps(x.shape[2], ow, kernel.shape[1], sw, before[1]):
            part = kernel[first_h::sh, first_w::sw]
            cols.append(lax.conv_general_dilated(x, part, (1, 1), [pad_h, pad_w], dimension_numbers=_NHWC))
        rows.append(jnp.stack(cols, axis=3))  # (batch, q, p, sw, channels)
    out = jnp.stack(rows, axis=2)  # (batch, q, sh, p, sw, channels)
    batch, q, _, p, _, channels = out.shape
    return out.reshape(batch, q * sh, p * sw, channels)[:, :oh, :ow]


def _correlation_kernel(kernel):
    # The transposed convolution's kernel (kh, kw, out, in), or a convolution's
    # (kh, kw, in, out) for its input gradient: flipped, in and out swapped.
    return jnp.swapaxes(jnp.flip(kernel, (0, 1)), 2, 3)


def _same_transpose_before(kernel, stride):
    # "same" padding of the dilated input, as Keras's JAX conv_transpose
    # (compute_conv_transpose_padding_args_for_jax, no output_padding) and
    # lax.conv_transpose(padding="SAME") pad it: the output is size * stride.
    total = stride + kernel - 2
    return min(total // 2 + total % 2, kernel - 1)


def _with_bias(layer, outputs):
    if layer.use_bias:
        outputs = outputs + ops.convert_to_tensor(layer.bias)
    return outputs


def conv_transpose_by_phases(x, kernel, strides):
    """`lax.conv_transpose(x, kernel, strides, "SAME")` (NHWC, HWIO), computed by phases.

    Args:
        x: (batch, height, width, channels_in).
        kernel: (kh, kw, channels_in, channels_out), applied as lax applies it
            (no flip); Keras's transposed kernels go through `_correlation_kernel`.
        strides: (sh, sw), each at most the kernel's size.

    Example:
        >>> y = conv_transpose_by_phases(x, w, (2, 2))  # (b, 2h, 2w, c_out)
    """
    before = [_same_transpose_before(k, s) for k, s in zip(kernel.shape[:2], strides)]
    out_shape = (x.shape[1] * strides[0], x.shape[2] * strides[1])
    return _dilated_conv_by_phases(x, kernel, strides, before, out_shape)


def conv2d_transpose(layer, inputs):
    """keras.layers.Conv2DTranspose's output and bias, by phases (stride > 1, "same", on CPU)."""
    if not (
        _on_cpu() and _plain_2d(layer) and layer.padding == "same" and layer.output_padding is None
        and layer.filters >= MIN_PHASE_CHANNELS
    ):
        return None
    kernel = ops.convert_to_tensor(layer.kernel)  # (kh, kw, out, in); casts under mixed precision
    outputs = conv_transpose_by_phases(inputs, _correlation_kernel(kernel), tuple(layer.strides))
    return _with_bias(layer, outputs)


def _conv(x, kernel, strides, padding):
    return lax.conv_general_dilated(x, kernel, strides, padding, dimension_numbers=_NHWC)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def strided_conv(x, kernel, strides, padding):
    """`lax.conv_general_dilated(x, kernel, strides, padding)` (NHWC, HWIO), its input gradient by phases.

    Args:
        x: (batch, height, width, channels_in).
        kernel: (kh, kw, channels_in, channels_out).
        strides: (sh, sw).
        padding: ((top, bottom), (left, right)), a tuple (it is static).

    Example:
        >>> y = strided_conv(x, w, (2, 2), ((1, 2), (1, 2)))
    """
    return _conv(x, kernel, strides, padding)


def _strided_conv_forward(x, kernel, strides, padding):
    return strided_conv(x, kernel, strides, padding), (x, kernel)


def _strided_conv_backward(strides, padding, saved, grad):
    x, kernel = saved
    # The input gradient is the dilated convolution: by phases. The kernel
    # gradient (a strided window, not a dilated input) is XLA's own.
    before = [kernel.shape[i] - 1 - padding[i][0] for i in range(2)]
    grad_x = _dilated_conv_by_phases(grad, _correlation_kernel(kernel), strides, before, x.shape[1:3])
    _, kernel_vjp = jax.vjp(lambda k: _conv(x, k, strides, padding), kernel)
    (grad_kernel,) = kernel_vjp(grad)
    return grad_x.astype(x.dtype), grad_kernel


strided_conv.defvjp(_strided_conv_forward, _strided_conv_backward)


def conv2d(layer, inputs):
    """keras.layers.Conv2D's output and bias; its input gradient by phases (stride > 1, on CPU).

    Its forward pass and kernel gradient are XLA's own: they are not dilated.
    """
    if not (
        _on_cpu() and _plain_2d(layer) and layer.groups == 1 and layer.padding in ("same", "valid")
        and inputs.shape[-1] >= MIN_PHASE_CHANNELS
    ):
        return None
    kernel = ops.convert_to_tensor(layer.kernel)  # (kh, kw, in, out)
    strides = tuple(layer.strides)
    padding = tuple(
        same_padding(inputs.shape[1 + i], layer.kernel_size[i], strides[i]) if layer.padding == "same" else (0, 0)
        for i in range(2)
    )
    return _with_bias(layer, strided_conv(inputs, kernel, strides, padding))
