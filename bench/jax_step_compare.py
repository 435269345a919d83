"""The compiled Keras JAX train step against the hand-written one, program to program.

bench/throughput.py times `DCGAN.fit` against bench/refs_jax.py's jitted step.
This script takes `fit` out of it: it compiles `DCGAN.train_step` exactly as
Keras's JAX trainer jits it (state donated) and the reference's seq1 step, and
compares

- what XLA compiled: its cost analysis (FLOPs, bytes accessed), the
  multiset of convolutions (shapes, windows, layouts), which is where the time
  goes, and the top-level ops by opcode (on a GPU, about one kernel launch
  each; --xla_convolutions compiles the GPU's convolutions on a CPU);
- how long each compiled program takes, called in interleaved turns on the
  same batch, with the turn-by-turn (paired) ratio;
- with --profile, each program's ten slowest XLA ops from a jax.profiler trace;
- with --fit, a third contender: `DCGAN.fit` itself on the same batch (the
  steps timed inside the call, as bench/throughput.py times them), so that
  keras_fit against keras is the cost of fit's own loop around the same program
  (its data adapter, callbacks and state handling), and keras against jax_seq1
  the compiled step's.

Usage:
    KERAS_BACKEND=jax python bench/jax_step_compare.py --preset=tf_tutorial --batch=256
    python bench/jax_step_compare.py --preset=dcgan64 --batch=64 --turns=6 --steps=2 \
        --xla_option=xla_cpu_enable_concurrency_optimized_scheduler=false
    python bench/jax_step_compare.py --xla_convolutions --turns=2 --steps=1
    python bench/jax_step_compare.py --fit --steps=200   # on a GPU: is the gap in fit's loop?
    python bench/jax_step_compare.py --fit --width=4 --batch=2 --steps=200   # that loop on a CPU
    python bench/jax_step_compare.py --mixed_precision=bfloat16 --profile   # the mixed-precision gap
"""

import argparse
import collections
import glob
import os
import re
import statistics
import sys
import tempfile
import time

os.environ["KERAS_BACKEND"] = "jax"
sys.path[:0] = [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.path.dirname(os.path.abspath(__file__))]

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import keras  # noqa: E402

import refs_jax  # noqa: E402
from dcgan_keras import DCGAN, build_discriminator, build_generator  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tf_tutorial", choices=["tf_tutorial", "dcgan64"])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--turns", type=int, default=8)
    p.add_argument("--steps", type=int, default=3, help="steps per turn")
    p.add_argument("--profile", action="store_true", help="print each program's slowest XLA ops")
    p.add_argument("--xla_convolutions", action="store_true",
                   help="the GPU's program: XLA's own strided convolutions, not dcgan_keras's phases (CPU only)")
    p.add_argument("--fit", action="store_true", help="add keras_fit: DCGAN.fit's own loop around the program")
    p.add_argument("--mixed_precision", default="", choices=["", "bfloat16"],
                   help="both programs in mixed bfloat16 (Keras's mixed_bfloat16 policy; the reference's casts)")
    p.add_argument("--width", type=int, default=0,
                   help="cut every layer's channels to this, so that host work shows (as torch_host_overhead.py)")
    p.add_argument("--xla_option", action="append", default=[],
                   help="NAME=VALUE, an XLA compiler option for both programs (repeatable)")
    return p.parse_args(argv)


def _option_value(text):
    return {"true": True, "false": False}.get(text.lower(), text)


def narrow(preset, width):
    """Every layer's channels cut to `width`, in both programs (0: as the preset has them)."""
    if not width:
        return {}, {}
    spec = refs_jax._spec(preset)
    g, d = (width,) * len(spec["g_filters"]), (width,) * len(spec["d_filters"])
    original = refs_jax._spec
    refs_jax._spec = lambda p: dict(original(p), g_filters=g, d_filters=d)
    return {"filters": g}, {"filters": d}


def keras_program(preset, batch, options, g_kwargs=None, d_kwargs=None):
    gan = DCGAN(build_discriminator(preset=preset, seed=0, **(d_kwargs or {})),
                build_generator(preset=preset, **(g_kwargs or {})), seed=0)
    gan.compile()
    x = np.random.default_rng(0).uniform(-1, 1, (batch,) + gan.image_shape).astype("float32")
    gan.fit(x, batch_size=batch, epochs=1, verbose=0)  # builds both optimizers and the metrics
    # The state tuple Keras's JAX trainer threads through its jitted train_step,
    # copied: the program donates it, and --fit goes on training gan's own.
    state = tuple(
        [jnp.array(v.value, copy=True) for v in variables]
        for variables in (gan.trainable_variables, gan.non_trainable_variables,
                          gan.optimizer.variables, gan.metrics_variables)
    )
    data = jnp.asarray(x)
    compiled = jax.jit(gan.train_step, donate_argnums=0).lower(state, data).compile(compiler_options=options)
    return gan, compiled, state, data, lambda state: compiled(state, data)[1]


def fit_rate(gan, data, steps):
    """img/s of `steps` steps of gan.fit on the batch `data`, timed inside the call."""
    from throughput import _fit_timer

    timer = _fit_timer()
    x = np.concatenate([np.asarray(data)] * steps)
    gan.fit(x, batch_size=len(data), epochs=1, shuffle=False, verbose=0, callbacks=[timer])
    return len(data) * steps / timer.elapsed


def reference_program(preset, data, options, mixed_precision=""):
    ref = refs_jax.JaxReference(preset, "seq1", mixed_precision=mixed_precision)
    compiled = ref.step.lower(ref.state, data).compile(compiler_options=options)
    return compiled, ref.state, lambda state: compiled(state, data)[0]


def describe(compiled):
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    convolutions = collections.Counter(
        re.sub(r"%[\w.-]+", "%", m) for m in re.findall(r"convolution\((.*?)(?:, metadata=|, backend_config=|$)",
                                                          compiled.as_text(), re.M)
    )
    return cost.get("flops", 0.0), cost.get("bytes accessed", 0.0), convolutions


def top_level_ops(compiled):
    """The optimized program's top-level instructions by opcode: what the executor runs one by
    one (on a GPU, about one kernel launch each), leaving out the free ones."""
    entry = re.search(r"^ENTRY .*?\{\n(.*?)^\}", compiled.as_text(), re.S | re.M).group(1)
    free = {"parameter", "tuple", "get-tuple-element", "constant", "bitcast"}
    ops = collections.Counter(
        m.group(1) for m in (re.search(r"=\s*\S+\s+([\w-]+)\(", line) for line in entry.splitlines()) if m
    )
    return collections.Counter({op: n for op, n in ops.items() if op not in free})


def slowest_ops(run, n=10):
    with tempfile.TemporaryDirectory() as folder:
        with jax.profiler.trace(folder):
            run()
        path = sorted(glob.glob(os.path.join(folder, "**", "*.xplane.pb"), recursive=True))[-1]
        data = jax.profiler.ProfileData.from_file(path)
        totals = collections.Counter()
        for plane in data.planes:
            for line in plane.lines:
                for event in line.events:
                    # XLA:CPU's worker threads; the executor's own spans are not ops.
                    if "Eigen" in line.name and not event.name.startswith(("ThunkExecutor", "Slinky")):
                        totals[event.name] += event.duration_ns / 1e6
    return totals.most_common(n)


def main(argv=None):
    args = parse_args(argv)
    options = {k: _option_value(v) for k, v in (o.split("=", 1) for o in args.xla_option)} or None
    if args.xla_convolutions:
        from dcgan_keras.backend.fast import jax_layers

        jax_layers._on_cpu = lambda: False
    g_kwargs, d_kwargs = narrow(args.preset, args.width)
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy(f"mixed_{args.mixed_precision}")
    gan, k_compiled, k_state, data, k_step = keras_program(args.preset, args.batch, options, g_kwargs, d_kwargs)
    r_compiled, r_state, r_step = reference_program(args.preset, data, options, args.mixed_precision)
    programs = {"keras": [k_step, k_state], "jax_seq1": [r_step, r_state]}

    (kf, kb, kc), (rf, rb, rc) = describe(k_compiled), describe(r_compiled)
    print(f"{args.preset}{f' cut to {args.width} channels' if args.width else ''}, batch {args.batch}, "
          f"{'mixed ' + args.mixed_precision if args.mixed_precision else 'float32'}, jax {jax.__version__} on {jax.devices()[0].device_kind}, "
          f"XLA options {options or 'default'}")
    print(f"XLA cost analysis: keras {kf / 1e9:.2f} GFLOP, {kb / 1e9:.2f} GB; "
          f"jax_seq1 {rf / 1e9:.2f} GFLOP, {rb / 1e9:.2f} GB")
    ko, ro = top_level_ops(k_compiled), top_level_ops(r_compiled)
    print(f"top-level ops: keras {sum(ko.values())} {dict(ko.most_common())}; "
          f"jax_seq1 {sum(ro.values())} {dict(ro.most_common())}")
    print(f"convolutions: keras {sum(kc.values())}, jax_seq1 {sum(rc.values())}, "
          f"{'the same shapes, windows and layouts' if kc == rc else 'DIFFERENT: ' + str(kc - rc) + ' / ' + str(rc - kc)}")

    def turn(name, steps, record=None):
        if name == "keras_fit":
            rate = fit_rate(gan, data, steps)
            if record is not None:
                record.append(rate)
            return
        step, state = programs[name]
        start = time.perf_counter()
        for _ in range(steps):
            state = step(state)
        jax.block_until_ready(state)
        programs[name][1] = state  # the old buffers were donated
        if record is not None:
            record.append(args.batch * steps / (time.perf_counter() - start))

    names = list(programs) + (["keras_fit"] if args.fit else [])
    for name in names:
        turn(name, 1)  # the first call allocates
    rates = {name: [] for name in names}
    for i in range(args.turns):
        for name in names[i % len(names):] + names[:i % len(names)]:  # rotate who goes first
            turn(name, args.steps, rates[name])
    for name in names:
        r = rates[name]
        print(f"{name:9s} {statistics.median(r):8.1f} img/s (min-max {min(r):.1f}-{max(r):.1f})")
    paired = [k / r for k, r in zip(rates["keras"], rates["jax_seq1"])]
    print(f"keras / jax_seq1: median {statistics.median(rates['keras']) / statistics.median(rates['jax_seq1']):.3f}, "
          f"paired median {statistics.median(paired):.3f} (per turn {min(paired):.2f}-{max(paired):.2f})")
    if args.fit:
        paired = [f / k for f, k in zip(rates["keras_fit"], rates["keras"])]
        print(f"keras_fit / keras (fit's own loop): paired median {statistics.median(paired):.3f} "
              f"(per turn {min(paired):.2f}-{max(paired):.2f})")

    if args.profile:
        for name in programs:
            print(f"{name}: slowest XLA ops over {args.steps} steps, ms summed over threads")
            for op, ms in slowest_ops(lambda: turn(name, args.steps)):
                print(f"  {ms:9.1f}  {op}")


if __name__ == "__main__":
    main()
