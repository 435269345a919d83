"""torch: one Adam update of a U-Net's weights, ms, by each way of running it; and that ours is Keras's bit for bit.

  keras          Keras's `optimizer.apply` (torch backend)
  ours           dcgan_keras.backend.fast.torch_adam.apply as the device takes it
                 (a CPU: one variable at a time, two reused buffers)
  ours_foreach   the same arithmetic in `torch._foreach_*` calls (a GPU's way)
  torch_single   torch.optim.Adam(foreach=False), torch's CPU default (other
                 ops: lerp_, addcmul_, addcdiv_; not Keras's bits)

The weights are the Pix2Pix U-Net at --size with --filters (bench/translator_throughput.py's
defaults: 64, 32: 7.3M weights in 33 variables); the result is the median over --reps turns
of --steps updates, the variants taking turns.

    python bench/torch_adam_update.py --threads=2
Results: bench/RESULTS.md ("torch's Adam update on a CPU").
"""

import argparse
import os
import statistics
import sys
import time

os.environ["KERAS_BACKEND"] = "torch"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import torch  # noqa: E402

from dcgan_keras.backend.fast import torch_adam  # noqa: E402
from dcgan_keras.networks import build_unet_generator  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--filters", type=int, default=32)
    p.add_argument("--threads", type=int, default=0, help="torch's CPU threads (0: torch's default)")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    variables = build_unet_generator(args.size, 3, 3, filters=args.filters, seed=0).trainable_variables
    print(f"{len(variables)} variables, {sum(int(v.numpy().size) for v in variables)} weights, "
          f"{torch.get_num_threads()} threads")
    grads = [[torch.randn_like(v.value) * 1e-2 for v in variables] for _ in range(3)]
    initial = [v.value.detach().clone() for v in variables]

    def adam():
        opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        opt.build(variables)
        return opt

    def foreach(opt, g, vs):
        devices, torch_adam.PER_VARIABLE_DEVICES = torch_adam.PER_VARIABLE_DEVICES, ()
        try:
            assert torch_adam.apply(opt, g, vs)
        finally:
            torch_adam.PER_VARIABLE_DEVICES = devices

    def ours(opt, g, vs):
        assert torch_adam.apply(opt, g, vs)

    def keras_apply(opt, g, vs):
        with torch.no_grad():
            opt.apply(g, vs)

    # Bit for bit: five updates from the same weights.
    after = {}
    for name, fn in (("keras", keras_apply), ("ours", ours), ("ours_foreach", foreach)):
        for v, w in zip(variables, initial):
            v.value.data.copy_(w)
        opt = adam()
        for i in range(5):
            fn(opt, grads[i % 3], variables)
        after[name] = [v.value.detach().clone() for v in variables]
    for name in ("ours", "ours_foreach"):
        same = all(torch.equal(a, b) for a, b in zip(after["keras"], after[name]))
        print(f"{name} == keras after 5 updates, bit for bit: {same}")

    params = [v.value for v in variables]
    torch_opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), eps=1e-7, foreach=False)

    def torch_single(_, g, vs):
        for p_, g_ in zip(params, g):
            p_.grad = g_
        torch_opt.step()

    variants = {"keras": (keras_apply, adam()), "ours": (ours, adam()), "ours_foreach": (foreach, adam()),
                "torch_single": (torch_single, None)}
    times = {name: [] for name in variants}
    for _ in range(args.reps):
        for name, (fn, opt) in variants.items():
            start = time.perf_counter()
            for i in range(args.steps):
                fn(opt, grads[i % 3], variables)
            times[name].append((time.perf_counter() - start) / args.steps * 1e3)
    for name, ts in times.items():
        print(f"{name:14s} {statistics.median(ts):7.2f} ms an update ({min(ts):.2f}-{max(ts):.2f})")


if __name__ == "__main__":
    main()
