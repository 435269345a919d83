"""Where a torch training step's time goes: DCGAN's Keras path against pytorch/examples' loop.

torch.profiler over --steps steps of each, after a warm-up, on the same preset
and batch; prints the ops with the most self CPU time for both, side by side.

    KERAS_BACKEND=torch python bench/profile_torch.py --preset=tf_tutorial --batch=256
"""

import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402


def keras_step(preset, batch):
    from dcgan_keras import DCGAN, build_discriminator, build_generator

    gan = DCGAN(build_discriminator(preset=preset, seed=0), build_generator(preset=preset), seed=0)
    gan.compile()
    x = np.random.default_rng(0).uniform(-1, 1, (batch,) + gan.image_shape).astype("float32")
    return lambda: gan.train_on_batch(x)


def ref_step(preset, batch):
    from refs_torch import TorchReference

    ref = TorchReference(preset, "seq1_nograd")
    shape = {"tf_tutorial": (28, 28, 1), "dcgan64": (64, 64, 3)}[preset]
    (real,) = ref.prepare([np.random.default_rng(0).uniform(-1, 1, (batch,) + shape).astype("float32")])
    return lambda: ref.run([real])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="tf_tutorial")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--top", type=int, default=18)
    args = p.parse_args()
    for name, make in (("keras", keras_step), ("torch_seq1_nograd", ref_step)):
        step = make(args.preset, args.batch)
        step()
        step()
        cuda = torch.cuda.is_available()
        t = time.perf_counter()
        for _ in range(args.steps):
            step()
        if cuda:
            torch.cuda.synchronize()
        wall = (time.perf_counter() - t) * 1e3 / args.steps
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as prof:
            for _ in range(args.steps):
                step()
        total = sum(e.self_cpu_time_total for e in prof.key_averages()) / 1e3 / args.steps
        print(f"\n== {name}: {wall:.1f} ms per step unprofiled; {total:.1f} ms of self CPU time per step "
              f"profiled (ops summed; threads overlap)")
        if cuda:
            device = sum(e.self_device_time_total for e in prof.key_averages()) / 1e3 / args.steps
            print(f"   {device:.1f} ms of GPU kernel time per step")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top, max_name_column_width=40))


if __name__ == "__main__":
    main()
