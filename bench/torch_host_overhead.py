"""Host time of a torch training step: Keras path against pytorch/examples' loop.

On a GPU, Keras's torch backend is host-bound (bench/RESULTS.md: 46.6 ms of host
time per step against 7.6 ms of kernels, the reference 10.2 ms). This script
measures that host time, with or without a GPU: both sides train the tf_tutorial
network's exact layer structure (Dense, BatchNorm, 3 transposed convolutions;
2 convolutions with dropout, Dense) with every width cut to --width channels,
a latent of 8 and a batch of 2, so that the kernels cost next to nothing and a
step's time is the Python and dispatch work around them: what the GPU waits on.
Both run on Keras's default device (a GPU where torch sees one, synced after
each turn).

Timed, in interleaved turns (median of --turns, each --steps steps):
- keras: `DCGAN.train_step` on a ready tensor (what `fit` calls per step);
- keras_calls: the same, with G and D run through Keras's `Model.__call__`
  (as before bench/RESULTS.md's attempt 12) instead of `seam.forward`'s
  direct layer calls;
- keras_nested: the same, each network the one node of a functional wrapper,
  as keras.io's Conditional GAN nests its Sequential cores (the plans run a
  nested model by its own plan, since the thirtieth session; before, through
  its `__call__`);
- keras_fit: `DCGAN.fit` on the same batch, steps_per_epoch=--steps, so `fit`'s
  own per-step work (data adapter, callbacks, logs) is in;
- torch_seq1_nograd: bench/refs_torch.py's step.
With --profile, cProfile of keras's steps: where its host time goes,
by cumulative time. With --sync_debug (a GPU only), the synchronizing CUDA
calls in a few steps of each variant, counted by torch's sync debug mode,
with where they come from: each one stops the host from running ahead of
the kernels (tests/test_torch_step.py checks the step's own on a CPU).

    python bench/torch_host_overhead.py --turns=7 --steps=50 [--profile]
    python bench/torch_host_overhead.py --sync_debug --steps=5
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

os.environ["KERAS_BACKEND"] = "torch"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import refs_torch  # noqa: E402
from dcgan_keras import DCGAN, build_discriminator, build_generator  # noqa: E402

LATENT, BATCH = 8, 2


def keras_gan(width, direct=True, nested=False):
    from dcgan_keras.backend.fast import torch_forward

    discriminator = build_discriminator(image_size=28, channels=1, filters=(width, width), seed=0)
    generator = build_generator(latent_dim=LATENT, image_size=28, channels=1, filters=(width, width, width))
    if nested:
        discriminator, generator = (
            keras.Model(core.inputs[0], core(core.inputs[0]), name=f"wrapped_{core.name}")
            for core in (discriminator, generator)
        )
    gan = DCGAN(discriminator, generator, latent_dim=LATENT, seed=0)
    gan.compile()
    if not direct:
        for model in (gan.generator, gan.discriminator):
            torch_forward.call_through_keras(model)
    return gan


def reference(width):
    ref = refs_torch.TorchReference("tf_tutorial", "seq1_nograd")
    torch.manual_seed(0)
    g = refs_torch.Generator(LATENT, 7, (width, width, width), 5, "leaky_relu", 1, strides=(1, 2, 2))
    d = refs_torch.Discriminator(28, 1, (width, width), 5, batch_norm=False)
    g, d = g.to(ref.device), d.to(ref.device)
    ref.netG, ref.netD, ref.G, ref.D, ref.latent_dim = g, d, g, d, LATENT
    ref.optG = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    ref.optD = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    return ref


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--width", type=int, default=2)
    p.add_argument("--turns", type=int, default=7)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: host work only)")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--sync_debug", action="store_true", help="count synchronizing CUDA calls (GPU only)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.sync_debug and not torch.cuda.is_available():
        sys.exit("--sync_debug counts CUDA synchronizations: it needs a GPU")

    x = np.random.default_rng(0).uniform(-1, 1, (BATCH, 28, 28, 1)).astype("float32")
    gan = keras_gan(args.width)
    gan_call = keras_gan(args.width, direct=False)
    gan_nested = keras_gan(args.width, nested=True)
    ready = keras.ops.convert_to_tensor(x)  # on Keras's device
    ref = reference(args.width)
    (real,) = ref.prepare([x])

    def fit_steps():
        gan.fit(np.repeat(x, args.steps, axis=0), batch_size=BATCH, epochs=1, verbose=0, shuffle=False)

    steps = {
        "keras": lambda: [gan.train_step(ready) for _ in range(args.steps)],
        "keras_calls": lambda: [gan_call.train_step(ready) for _ in range(args.steps)],
        "keras_nested": lambda: [gan_nested.train_step(ready) for _ in range(args.steps)],
        "keras_fit": fit_steps,
        "torch_seq1_nograd": lambda: [ref.step(real) for _ in range(args.steps)],
    }
    for run in steps.values():
        run()  # builds, warms up
    if args.sync_debug:
        count_syncs(steps, args.steps)
        return
    ms = {name: [] for name in steps}
    names = list(steps)
    for i in range(args.turns):
        for name in names[i % len(names):] + names[:i % len(names)]:
            start = time.perf_counter()
            steps[name]()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            ms[name].append((time.perf_counter() - start) * 1e3 / args.steps)
    ref_ms = statistics.median(ms["torch_seq1_nograd"])
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    print(f"host time per step, width {args.width}, batch {BATCH}, {args.threads} thread(s), {device}, "
          f"torch {torch.__version__}: median (min-max) over {args.turns} turns of {args.steps} steps")
    for name in names:
        m = statistics.median(ms[name])
        print(f"  {name:18s} {m:7.2f} ms ({min(ms[name]):.2f}-{max(ms[name]):.2f})  x{m / ref_ms:.2f} of the reference")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        steps["keras"]()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


def count_syncs(steps, n):
    """Prints, per variant, the synchronizing CUDA calls in `n` steps and their top call sites."""
    import collections
    import warnings

    for name, run in steps.items():
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                run()
                torch.cuda.synchronize()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        syncs = [w for w in caught if "synchroniz" in str(w.message)]
        sites = collections.Counter(f"{os.path.relpath(w.filename)}:{w.lineno}" for w in syncs)
        print(f"  {name:18s} {len(syncs) / n:6.1f} synchronizing calls a step")
        for site, count in sites.most_common(8):
            print(f"      {count / n:6.1f}  {site}")


if __name__ == "__main__":
    main()
