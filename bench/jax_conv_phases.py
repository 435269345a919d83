"""JAX: each strided layer of the presets, lax's convolution against dcgan_keras's phases.

For every stride-2 layer of the tf_tutorial (batch 256) and dcgan64 (batch 64)
networks, times the forward pass, the input gradient and the kernel gradient
(each its own jitted function, best of --reps calls) two ways:

- lax: what Keras's JAX backend and bench/refs_jax.py run, `lax.conv_transpose`
  and `lax.conv_general_dilated` (XLA differentiates them into dilated
  convolutions);
- phases: dcgan_keras/backend/jax_layers.py, `conv_transpose_by_phases` and
  `strided_conv` (stride-1 convolutions per output phase).

It also checks that both give the same numbers (max relative difference).
Meant for XLA:CPU, where the dilated convolutions are slow (bench/RESULTS.md,
attempt 13); on a GPU dcgan_keras keeps lax's.

    python bench/jax_conv_phases.py
    python bench/jax_conv_phases.py --reps=3 --presets=tf_tutorial
"""

import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from dcgan_keras.backend.fast import jax_layers  # noqa: E402
from dcgan_keras.backend.fast.padding import same_padding  # noqa: E402

DN = ("NHWC", "HWIO", "NHWC")

# (name, batch, input size, channels in, channels out, kernel): every stride-2 layer.
LAYERS = {
    "tf_tutorial": [
        ("G 7->14", "transpose", 256, 7, 128, 64, 5),
        ("G 14->28", "transpose", 256, 14, 64, 1, 5),
        ("D 28->14", "conv", 256, 28, 1, 64, 5),
        ("D 14->7", "conv", 256, 14, 64, 128, 5),
    ],
    "dcgan64": [
        ("G 4->8", "transpose", 64, 4, 512, 256, 4),
        ("G 8->16", "transpose", 64, 8, 256, 128, 4),
        ("G 16->32", "transpose", 64, 16, 128, 64, 4),
        ("G 32->64", "transpose", 64, 32, 64, 3, 4),
        ("D 64->32", "conv", 64, 64, 3, 64, 4),
        ("D 32->16", "conv", 64, 32, 64, 128, 4),
        ("D 16->8", "conv", 64, 16, 128, 256, 4),
        ("D 8->4", "conv", 64, 8, 256, 512, 4),
    ],
}


def _ops(kind, size, kernel):
    if kind == "transpose":
        lax_op = lambda x, w: jax.lax.conv_transpose(x, w, (2, 2), "SAME", dimension_numbers=DN)
        return lax_op, lambda x, w: jax_layers.conv_transpose_by_phases(x, w, (2, 2))
    padding = (same_padding(size, kernel, 2),) * 2
    lax_op = lambda x, w: jax.lax.conv_general_dilated(x, w, (2, 2), "SAME", dimension_numbers=DN)
    return lax_op, lambda x, w: jax_layers.strided_conv(x, w, (2, 2), padding)


def _best_ms(fn, args, reps):
    fn = jax.jit(fn)
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def _timings(op, x, w, reps):
    loss = lambda x, w: jnp.sum(op(x, w) ** 2)
    return [
        _best_ms(op, (x, w), reps),
        _best_ms(jax.grad(loss, argnums=0), (x, w), reps),
        _best_ms(jax.grad(loss, argnums=1), (x, w), reps),
    ]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--presets", default="tf_tutorial,dcgan64")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)
    print(f"device: {jax.devices()[0].device_kind}, jax {jax.__version__}; ms, best of {args.reps}")
    print(f"{'preset':12} {'layer':10} {'batch':>5}  {'lax fwd / dx / dw':>24}  {'phases fwd / dx / dw':>24}"
          f"  {'lax/phases, all three':>22}  max rel diff")
    for preset in args.presets.split(","):
        for name, kind, batch, size, c_in, c_out, k in LAYERS[preset]:
            keys = jax.random.split(jax.random.PRNGKey(0))
            x = jax.random.normal(keys[0], (batch, size, size, c_in))
            w = 0.02 * jax.random.normal(keys[1], (k, k, c_in, c_out))
            lax_op, phase_op = _ops(kind, size, k)
            diff = float(jnp.max(jnp.abs(lax_op(x, w) - phase_op(x, w))) / jnp.max(jnp.abs(lax_op(x, w))))
            ref, ours = _timings(lax_op, x, w, args.reps), _timings(phase_op, x, w, args.reps)
            fmt = lambda t: " / ".join(f"{v:6.1f}" for v in t)
            print(f"{preset:12} {name:10} {batch:5}  {fmt(ref):>24}  {fmt(ours):>24}"
                  f"  {sum(ref) / sum(ours):22.2f}  {diff:.1e}", flush=True)


if __name__ == "__main__":
    main()
