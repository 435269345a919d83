"""DCGAN.fit's step time on this machine under each dtype policy, side by side.

Mixed precision is a GPU feature: on a CPU, float16 has no fast kernels on
TensorFlow or torch, while bfloat16 may have (oneDNN). This measures what a
user who passes `--mixed_precision` on a CPU gets: one process per backend,
one DCGAN per policy (float32, mixed_float16, mixed_bfloat16), warmed up, then
the policies take turns, each turn a `fit` over `--steps` batches; the figure
is the median step time over `--reps` turns, and its ratio to float32's.
`set_precision` warns about mixed_float16 on a CPU because of these numbers.

    python bench/precision_cpu.py [--backends=tensorflow,jax,torch] [--preset=tf_tutorial] [--batch=64]
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def worker(args):
    import keras
    import numpy as np

    from dcgan_keras import DCGAN, build_discriminator, build_generator
    from dcgan_keras.distribute import precision

    gans = {}
    for policy in POLICIES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the mixed_float16-on-CPU warning is what is measured
            with precision(policy):
                gans[policy] = DCGAN(build_discriminator(preset=args.preset, seed=0),
                                     build_generator(preset=args.preset), seed=0)
                gans[policy].compile()
    shape = (args.batch * args.steps,) + gans["float32"].image_shape
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype("float32")
    for gan in gans.values():  # warm-up: builds, traces or compiles
        gan.fit(x[: 2 * args.batch], batch_size=args.batch, epochs=1, verbose=0)
    times = {policy: [] for policy in POLICIES}
    for _ in range(args.reps):
        for policy, gan in gans.items():
            start = time.perf_counter()
            gan.fit(x, batch_size=args.batch, epochs=1, verbose=0)
            times[policy].append((time.perf_counter() - start) / args.steps)
    median = {policy: float(np.median(t)) for policy, t in times.items()}
    print(json.dumps({"backend": keras.backend.backend(), "median_s": median,
                      "min_s": {p: min(t) for p, t in times.items()},
                      "max_s": {p: max(t) for p, t in times.items()}}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="tensorflow,jax,torch")
    p.add_argument("--preset", default="tf_tutorial")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=3, help="steps per timed turn (one fit call)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(f"{args.preset}, batch {args.batch}: median s/step (min-max), ratio to float32")
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="2")
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", *sys.argv[1:]],
                              env=env, capture_output=True, text=True)
        if proc.returncode:
            print(f"{backend}: failed\n{proc.stderr[-2000:]}")
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        med, lo, hi = result["median_s"], result["min_s"], result["max_s"]
        cells = [f"{p} {med[p]:.3f} ({lo[p]:.3f}-{hi[p]:.3f}) {med[p] / med['float32']:.2f}x" for p in POLICIES]
        print(f"{backend}: " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
