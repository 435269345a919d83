"""torch: the seam's fused hooks, the same numbers as the plain Keras calls they replace.

Eagerly, every Keras op costs host time (conversions, dispatch, Python
numbers copied to the device); on a GPU the kernels wait on it. Each function
here does in a few fused torch calls what the seam's default does in many
Keras ops (bench/RESULTS.md, attempts 12-16).
"""

import keras
import torch
from keras.src.backend.common.stateless_scope import in_stateless_scope
from keras.src.backend.torch.core import get_device, to_torch_dtype

from dcgan_keras.backend.fast import torch_layers
from dcgan_keras.backend.fast.torch_forward import forward  # noqa: F401  (the seam's fast `forward`)


def move_average(averages, values, updates, momentum):
    """The seam's `move_average`: one fused in-place lerp, the step a device tensor (no host sync)."""
    # min(momentum, (k - 1) / k) with the Python numbers as kernel arguments:
    # keras.ops.minimum and maximum would copy them to the device, each a
    # blocking copy on a GPU.
    with torch.no_grad():
        k = keras.ops.cast(updates, "float32")
        step = 1.0 - torch.clamp((k - 1.0) / torch.clamp(k, min=1.0), max=momentum)
        torch._foreach_lerp_(torch_layers.values(averages), torch_layers.values(values), [step] * len(averages))


def add_to_means(means, values):
    """The seam's `add_to_means` for plain `keras.metrics.Mean`s: three fused calls; None for others."""
    # total += value, count += 1, total / count: the Keras calls cost ~80 us
    # of host time a metric each step.
    if in_stateless_scope() or not all(type(mean) is keras.metrics.Mean for mean in means):
        return None  # the plain loop (in a stateless scope Keras collects the new values)
    with torch.no_grad():
        totals = torch_layers.values([mean.total for mean in means])
        counts = torch_layers.values([mean.count for mean in means])
        torch._foreach_add_(totals, [value.detach().to(total.dtype) for value, total in zip(values, totals)])
        torch._foreach_add_(counts, 1.0)
        return torch._foreach_div(totals, counts)


def bce_with_logits(labels, logits):
    """torch's fused loss: one op and one backward node, where keras.ops's formula is nine of each."""
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def normal_noise(batch_size, latent_dim, seed_generator):
    """keras.random.normal's draw, with the seed taken without its host work; None where Keras must draw."""
    device = get_device()
    # Symbolic shape inference has no generators, and torch.compile cannot
    # trace one: Keras's draw (the same numbers) handles both.
    if device == "meta" or torch.compiler.is_compiling():
        return None
    return torch.normal(
        0.0, 1.0, size=(batch_size, latent_dim), dtype=to_torch_dtype(keras.config.floatx()), device=device,
        generator=torch_layers.seeded_generator(seed_generator, device),
    )
