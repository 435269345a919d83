"""Images/s of full GAN training steps: DCGAN.fit against hand-written loops, per backend.

One step = one discriminator update and one generator update (d_steps=1).
For each backend, in its own subprocess (KERAS_BACKEND is fixed per process):

  all         keras (DCGAN's default, sequential update = seq1) and keras_simul
              (DCGAN(update="simultaneous") = simul), with compile's defaults; keras_off
              (keras with the fast path off, dcgan_keras.backend.fast); at tf_tutorial
              keras_user / keras_user_off: the TF tutorial's own Sequential pair of plain
              keras.layers (a keras.io-style user's networks), fast path on / off
  tensorflow  keras (compile default: graph mode on CPUs, XLA on a GPU), keras_graph
              (graph mode), keras_xla (XLA),
              tf_simul (the TensorFlow tutorial: tf.function + two GradientTapes over one
              forward pass), tf_simul_xla (jit_compile=True),
              tf_seq1 / tf_seq1_xla (tf.function, DCGAN.gan_step's algorithm)
  jax         keras (jit), jax_simul, jax_seq1 (plain jax, one jitted step, Adam by hand);
              on CPU also jax_seq1_phases (jax_seq1 with the Keras path's convolutions,
              dcgan_keras/backend/jax_layers.py)
  torch       keras (eager), torch_seq1 (pytorch/examples' dcgan loop), torch_seq1_nograd
              (D frozen during G's update);
              with --torch_compile also torch_seq1_compile (torch.compile'd modules) and
              keras_compile (compile(jit_compile=True), i.e. torch.compile of the train step)

--presets=wgan_gp (issue 29): the tf_tutorial networks trained with loss_fn="wgan_gp"
(5 critic updates with the gradient penalty, then one G update): keras and keras_off
against keras.io's WGAN-GP train_step written by hand, tf_kerasio / tf_kerasio_xla
(TensorFlow) and torch_kerasio (torch); algorithm "wgan" (no FLOP count).

--presets=conditional,conditional_concat (issue 26): the mnist_conditional preset's
step (the tf_tutorial networks given 10 classes by projection, the preset's default, or
by concatenation), keras
(the fast path walking the two-input networks' graph) against keras_off (plain Keras); no
hand-written reference.

The algorithms (see bench/flops.py): simul computes G(z) once and updates both
nets from one forward pass (the TF tutorial); seq1 computes G(z) once, updates
D, then G through the updated D (pytorch/examples, and DCGAN.gan_step); seq2
(--seq2) is what gan_step did before: D update on G(z1), then G update on a
fresh G(z2). All variants of a preset
share the network (layers, init, BatchNorm momentum, dropout), the batch size
and Adam(2e-4, beta_1=0.5).

Timing: every variant is built and warmed up (compilation excluded), then the
variants run in turns, A B C A B C ..., each turn a fixed number of steps
(chosen so that a turn of the slowest variant lasts about --turn_seconds),
ending with a device sync; the result is the median over --reps turns, so a
load change on the shared machine hits all variants alike. The Keras path is
timed as whole `fit(x, batch_size, epochs=1)` calls on an in-memory float32
array, from the first batch's start to the last batch's end as a callback
sees them (synced): fit's per-call setup and teardown, which a training run
pays once, are recorded apart as fit_call_overhead_s (they were seen to
swing by seconds on this shared machine). The references get pre-made
device batches.

Usage:
  python bench/throughput.py                         # all backends, both presets, CPU or GPU
  python bench/throughput.py --quick                 # smoke run: batch 8, 2 steps, 1 rep
  python bench/throughput.py --backends=torch --presets=dcgan64 --reps=7 --out=r.json
  python bench/throughput.py --mixed_precision       # Keras mixed_float16; references autocast
                                                     # (fp16 + loss scaling on GPU, bf16 on CPU)
  python bench/throughput.py --mixed_precision=bfloat16   # mixed_bfloat16, no loss scaling
  python bench/throughput.py --data_parallel         # adds keras_dp: fit over all visible devices
  python bench/throughput.py --torch_compile --compile_timeout=300
  python bench/throughput.py --presets=wgan_gp --backends=tensorflow,torch   # issue 29's WGAN-GP step
  python bench/throughput.py --presets=conditional --backends=jax,torch   # the conditional step, fast path on/off

On a GPU, each backend takes the first GPU (TensorFlow, JAX and torch all
see it); the device is printed with the results, and the GFLOP/s column can
be read against the GPU's peak (H100 SXM: ~67 TFLOP/s fp32 without tensor
cores, ~990 dense fp16/bf16 with them).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

PRESETS = {
    "tf_tutorial": dict(batch=256, shape=(28, 28, 1)),
    "dcgan64": dict(batch=64, shape=(64, 64, 3)),
    # Not run by default: the tf_tutorial networks trained with loss_fn="wgan_gp" (5 critic steps).
    "wgan_gp": dict(batch=64, shape=(28, 28, 1), networks="tf_tutorial", loss="wgan_gp"),
    # Not run by default: the mnist_conditional preset's step (the tf_tutorial networks, 10 classes),
    # with the fast path on and off; the networks take two inputs, so the plan walks their graph.
    "conditional": dict(batch=256, shape=(28, 28, 1), networks="tf_tutorial", conditioning="projection"),
    "conditional_concat": dict(batch=256, shape=(28, 28, 1), networks="tf_tutorial", conditioning="concat"),
}
DEFAULT_PRESETS = ("tf_tutorial", "dcgan64")
BACKENDS = ("tensorflow", "jax", "torch")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--presets", default=",".join(DEFAULT_PRESETS), help=f"of {', '.join(PRESETS)}")
    p.add_argument("--batch", type=int, default=None, help="override the preset's batch size")
    p.add_argument("--reps", type=int, default=5, help="timed turns per variant")
    p.add_argument("--turn_seconds", type=float, default=3.0, help="target length of one turn")
    p.add_argument("--min_steps", type=int, default=3, help="floor on steps per turn (amortizes fit's per-call cost)")
    p.add_argument("--max_steps", type=int, default=20, help="cap on steps per turn")
    p.add_argument("--variants", default="", help="comma list to keep (default: all of the backend)")
    p.add_argument("--steps_per_execution", type=int, default=1, help="for the Keras variants")
    p.add_argument("--mixed_precision", nargs="?", const="float16", default="", choices=["float16", "bfloat16"],
                   help="Keras mixed_float16 with loss scaling (the default) or mixed_bfloat16; "
                        "the references the same dtype by autocast")
    p.add_argument("--torch_compile", action="store_true", help="add the torch.compile variants")
    p.add_argument("--run_callbacks", action="store_true",
                   help="add keras_runcbs (keras with train.py's per-step callbacks) and keras_runcbs_sync "
                        "(the same, made to sync every step as they did before)")
    p.add_argument("--data_parallel", action="store_true",
                   help="add keras_dp: the keras variant data-parallel over all visible devices (not torch)")
    p.add_argument("--stock_layers", action="store_true",
                   help="add keras_stock: the networks built from Keras's layers, not dcgan_keras.layers")
    p.add_argument("--keras_calls", action="store_true",
                   help="add keras_calls (torch): G and D run through Keras's Model.__call__, not the seam's "
                        "direct layer calls (before RESULTS.md's attempt 12)")
    p.add_argument("--seq2", action="store_true", help="add the references running G twice per step")
    p.add_argument("--compile_timeout", type=int, default=300, help="seconds; a variant compiling longer is dropped")
    p.add_argument("--quick", action="store_true", help="smoke run: batch 8, 1 rep of 2 steps")
    p.add_argument("--out", default="", help="write the results as JSON here")
    p.add_argument("--worker", default="", help=argparse.SUPPRESS)  # backend, inside the subprocess
    p.add_argument("--worker_out", default="", help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ------------------------------------------------------------------ variants

class KerasVariant:
    """DCGAN.fit on an in-memory float32 array, one fit call per turn."""

    def __init__(self, preset, batch, jit_compile="auto", mixed_precision="", steps_per_execution=1,
                 update="sequential", data_parallel=False, run_callbacks=None, stock_layers=False,
                 keras_calls=False, fast_path=True, user_networks=False, loss=None, conditioning=None):
        import contextlib

        import keras

        from dcgan_keras import DCGAN, build_discriminator, build_generator
        from dcgan_keras.distribute import data_parallel as data_parallel_scope

        self.batch, self.spe, self.fast_path = batch, steps_per_execution, fast_path
        self.run_callbacks = run_callbacks or (lambda: [])
        self.algorithm = "wgan" if loss == "wgan_gp" else "simul" if update == "simultaneous" else "seq1"
        # Over all visible devices, as train.py --distribute=data_parallel runs it.
        self._scope = data_parallel_scope if data_parallel else contextlib.nullcontext
        with self._scope():
            # With a conditioning: ConditionalDCGAN of the preset's networks, 10 classes.
            classes = {"num_classes": 10, "conditioning": conditioning} if conditioning else {}
            d, g = build_discriminator(preset=preset, seed=0, **classes), build_generator(preset=preset, **classes)
            if user_networks:
                g, d = _tutorial_user_networks()
            if stock_layers:
                d, g = _with_keras_layers(d), _with_keras_layers(g)
            if keras_calls:
                from dcgan_keras.backend.fast import torch_forward

                for model in (d, g):
                    torch_forward.call_through_keras(model)
            if conditioning:
                from dcgan_keras import ConditionalDCGAN

                gan = ConditionalDCGAN(d, g, seed=0)
            else:
                gan = DCGAN(d, g, seed=0, update=update)
            opts = {}
            if mixed_precision == "float16":
                opts = {k: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(2e-4, beta_1=0.5))
                        for k in ("d_optimizer", "g_optimizer")}
            gan.compile(jit_compile=jit_compile, steps_per_execution=steps_per_execution, loss_fn=loss, **opts)
        self.gan, self.conditioning = gan, conditioning
        self.jit_compile = gan.jit_compile
        self._arrays = {}

    def prepare(self, batches):
        import numpy as np

        self.pool = np.concatenate(batches)
        return batches

    def run(self, steps):
        import numpy as np

        steps = max(self.spe, steps - steps % self.spe)
        if steps not in self._arrays:
            reps = -(-steps * self.batch // len(self.pool))
            self._arrays[steps] = np.concatenate([self.pool] * reps)[: steps * self.batch]
        timer = _fit_timer()
        from dcgan_keras.backend import fast

        # The switch as this variant wants it, for this fit call only (not set_enabled: on JAX
        # that would drop every variant's compiled step; the step keeps the switch it was traced with).
        switched, fast._user_enabled = fast._user_enabled, self.fast_path
        t = time.perf_counter()
        images = self._arrays[steps]
        labels = (np.arange(len(images)) % 10).astype("int32") if self.conditioning else None
        with self._scope():
            self.gan.fit(images, labels, batch_size=self.batch, epochs=1, shuffle=False, verbose=0,
                         callbacks=[timer] + self.run_callbacks())
        self.last_call_s = time.perf_counter() - t
        fast._user_enabled = switched
        self.last_steps_s = timer.elapsed
        return steps


def _tutorial_user_networks():
    """The TensorFlow tutorial's 28x28 pair as its page writes them: Sequential, plain keras.layers."""
    import keras

    layers = keras.layers
    g = keras.Sequential([
        keras.Input((100,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
    ])
    d = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1),
    ])
    return g, d


def _with_keras_layers(model):
    """The same network and weights, built from Keras's layers instead of dcgan_keras.layers."""
    import keras

    from dcgan_keras.layers import keras_layers_config

    stock = keras.Model.from_config(keras_layers_config(model.get_config()))
    assert not any(type(layer).__module__.startswith("dcgan_keras") for layer in stock.layers)
    stock.set_weights(model.get_weights())
    return stock


def _fit_timer(metric="d_loss"):
    import keras

    class FitTimer(keras.callbacks.Callback):
        """From the first batch's start to the last batch's end, synced: the
        steps of a fit call without its setup and teardown."""

        # Keras pulls every step's logs to the host (a device sync) unless all
        # callbacks are async-safe; a plain run of fit does not, so neither may
        # the timer. It waits for the device at the last step only.
        async_safe = True

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if batch == self.params["steps"] - 1:
                keras.ops.convert_to_numpy(logs[metric])  # waits for the device
                self.elapsed = time.perf_counter() - self.start

    return FitTimer()


def _run_callbacks(batch, async_safe):
    """train.py's per-step callbacks; async_safe=False: as they were before they were made async-safe."""
    import keras

    from dcgan_keras import callbacks

    def make():
        monitor = callbacks.DivergenceMonitor()
        monitor.async_safe = async_safe
        timer = callbacks.EpochTimer(batch)
        if not async_safe:  # the old timer counted steps in a batch-end hook
            timer.on_train_batch_end = lambda batch, logs=None: None
        # train.py's progress bar (silent at verbose=0, but its hooks run): a plain
        # ProgbarLogger before the sixteenth session.
        bar = callbacks.ProgressBar() if async_safe else keras.callbacks.ProgbarLogger()
        return [monitor, timer, bar, callbacks.StopOnSignal()]

    return make


class RefVariant:
    """A hand-written reference: .prepare(batches) -> device batches, .run(list) runs them."""

    def __init__(self, ref, algorithm):
        self.ref, self.algorithm = ref, algorithm

    def prepare(self, batches):
        self.pool = self.ref.prepare(batches)
        return batches

    def run(self, steps):
        self.ref.run([self.pool[i % len(self.pool)] for i in range(steps)])
        return steps


def make_variants(backend, preset, batch, args):
    """{name: zero-argument constructor} for this backend."""
    mp = args.mixed_precision
    out = {}
    if PRESETS[preset].get("loss") == "wgan_gp":
        return _kept(wgan_gp_variants(backend, batch), args)
    conditioning = PRESETS[preset].get("conditioning")
    if conditioning:  # no hand-written reference: the fast path against plain Keras
        networks = PRESETS[preset]["networks"]
        return _kept({
            "keras": lambda: KerasVariant(networks, batch, "auto", conditioning=conditioning),
            "keras_off": lambda: KerasVariant(networks, batch, "auto", conditioning=conditioning, fast_path=False),
        }, args)
    keras_kw = dict(mixed_precision=mp, steps_per_execution=args.steps_per_execution)
    out["keras"] = lambda: KerasVariant(preset, batch, "auto", **keras_kw)
    out["keras_simul"] = lambda: KerasVariant(preset, batch, "auto", update="simultaneous", **keras_kw)
    if args.run_callbacks:
        for name, async_safe in (("keras_runcbs", True), ("keras_runcbs_sync", False)):
            out[name] = (lambda cbs: lambda: KerasVariant(preset, batch, "auto", run_callbacks=cbs, **keras_kw))(
                _run_callbacks(batch, async_safe))
    out["keras_off"] = lambda: KerasVariant(preset, batch, "auto", fast_path=False, **keras_kw)
    if preset == "tf_tutorial":
        # keras.io-style user networks (the TF tutorial's Sequential pair, plain keras.layers).
        out["keras_user"] = lambda: KerasVariant(preset, batch, "auto", user_networks=True, **keras_kw)
        out["keras_user_off"] = lambda: KerasVariant(
            preset, batch, "auto", user_networks=True, fast_path=False, **keras_kw)
    if args.stock_layers:
        out["keras_stock"] = lambda: KerasVariant(preset, batch, "auto", stock_layers=True, **keras_kw)
    if args.keras_calls and backend == "torch":
        out["keras_calls"] = lambda: KerasVariant(preset, batch, "auto", keras_calls=True, **keras_kw)
    if args.data_parallel and backend != "torch":
        out["keras_dp"] = lambda: KerasVariant(preset, batch, "auto", data_parallel=True, **keras_kw)
    if backend == "tensorflow":
        from dcgan_keras import build_discriminator, build_generator
        from refs_tf import TFReference

        # The default ("auto") is graph mode on CPUs and XLA on a GPU.
        out["keras_graph"] = lambda: KerasVariant(preset, batch, False, **keras_kw)
        out["keras_xla"] = lambda: KerasVariant(preset, batch, True, **keras_kw)

        def tf_ref(algorithm, xla):
            g, d = build_generator(preset=preset), build_discriminator(preset=preset, seed=0)
            return RefVariant(TFReference(g, d, algorithm, jit_compile=xla, mixed_precision=mp), algorithm)

        out["tf_simul"] = lambda: tf_ref("simul", False)
        out["tf_simul_xla"] = lambda: tf_ref("simul", True)
        out["tf_seq1"] = lambda: tf_ref("seq1", False)
        out["tf_seq1_xla"] = lambda: tf_ref("seq1", True)
        if args.seq2:
            out["tf_seq2"] = lambda: tf_ref("seq2", False)
    elif backend == "jax":
        import jax
        from refs_jax import JaxReference

        for algorithm in ("simul", "seq1") + (("seq2",) if args.seq2 else ()):
            out[f"jax_{algorithm}"] = (lambda a: lambda: RefVariant(JaxReference(preset, a, mp), a))(algorithm)
        if jax.default_backend() == "cpu":
            # The Keras path's convolutions (jax_layers) in the reference.
            out["jax_seq1_phases"] = lambda: RefVariant(JaxReference(preset, "seq1", mp, phases=True), "seq1")
    elif backend == "torch":
        from refs_torch import TorchReference

        for algorithm in ("seq1", "seq1_nograd") + (("seq2",) if args.seq2 else ()):
            alg = "seq2" if algorithm == "seq2" else "seq1"
            out[f"torch_{algorithm}"] = (
                lambda a, alg: lambda: RefVariant(TorchReference(preset, a, mixed_precision=mp), alg)
            )(algorithm, alg)
        if args.torch_compile:
            out["torch_seq1_compile"] = lambda: RefVariant(
                TorchReference(preset, "seq1_nograd", compile_modules=True, mixed_precision=mp), "seq1")
            out["keras_compile"] = lambda: KerasVariant(preset, batch, True, **keras_kw)
    return _kept(out, args)


def _kept(variants, args):
    """The variants that --variants names (all where it is empty)."""
    if not args.variants:
        return variants
    keep = set(args.variants.split(","))
    return {k: v for k, v in variants.items() if k in keep}


def wgan_gp_variants(backend, batch):
    """Issue 29's WGAN-GP step: ours (DCGAN, loss_fn="wgan_gp", its 5 critic steps and optimizers) against
    keras.io's train_step written by hand in TensorFlow (bench/refs_tf.py, "wgan") and in torch
    (bench/refs_torch.py, TorchWGANReference). keras.io computes G(z) once more per step than ours, which
    reuses the last critic step's G(z) for G's update (as every sequential step of ours does)."""
    networks = PRESETS["wgan_gp"]["networks"]
    out = {"keras": lambda: KerasVariant(networks, batch, "auto", loss="wgan_gp"),
           "keras_off": lambda: KerasVariant(networks, batch, "auto", loss="wgan_gp", fast_path=False)}
    if backend == "tensorflow":
        from dcgan_keras import build_discriminator, build_generator
        from refs_tf import TFReference

        def tf_ref(xla):
            g, d = build_generator(preset=networks), build_discriminator(preset=networks, seed=0)
            return RefVariant(TFReference(g, d, "wgan", jit_compile=xla), "wgan")

        out["tf_kerasio"] = lambda: tf_ref(False)
        out["tf_kerasio_xla"] = lambda: tf_ref(True)
    elif backend == "torch":
        from refs_torch import TorchWGANReference

        out["torch_kerasio"] = lambda: RefVariant(TorchWGANReference(networks), "wgan")
    return out


class _Timeout(Exception):
    pass


def _with_timeout(seconds, fn):
    def handler(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        return fn()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ------------------------------------------------------------------ worker

def device_description(backend):
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return f"{len(gpus)} x GPU: " + tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    elif backend == "jax":
        import jax

        d = jax.devices()[0]
        if d.platform != "cpu":
            return f"{len(jax.devices())} x {d.platform.upper()}: {getattr(d, 'device_kind', d)}"
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            return f"{torch.cuda.device_count()} x GPU: " + torch.cuda.get_device_name(0)
    return f"CPU ({os.cpu_count()} cores visible)"


def framework_version(backend):
    import keras

    mod = __import__(backend)
    return {"keras": keras.__version__, backend: mod.__version__}


def run_worker(args):
    import keras
    import numpy as np

    from flops import preset_flops

    backend = keras.backend.backend()
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy(f"mixed_{args.mixed_precision}")
    result = {"backend": backend, "device": device_description(backend), "versions": framework_version(backend),
              "presets": {}}
    for preset in args.presets.split(","):
        batch = args.batch or PRESETS[preset]["batch"]
        shape = PRESETS[preset]["shape"]
        rng = np.random.default_rng(0)
        batches = [rng.uniform(-1, 1, (batch,) + shape).astype("float32") for _ in range(4)]
        flops = preset_flops(PRESETS[preset].get("networks", preset))
        variants, info = {}, {}
        for name, make in make_variants(backend, preset, batch, args).items():
            t0 = time.perf_counter()
            try:
                v = make()
                v.prepare(batches)
                # Warm-up: the first call compiles; the second runs what will be timed.
                _with_timeout(args.compile_timeout, lambda: v.run(1 if args.quick else 2))
                compile_s = time.perf_counter() - t0
                t1 = time.perf_counter()
                n = v.run(1 if args.quick else 2)
                step_s = (time.perf_counter() - t1) / n
            except _Timeout:
                info[name] = {"error": f"warm-up took over {args.compile_timeout} s; dropped"}
                print(f"[{backend} {preset}] {name}: dropped (compile > {args.compile_timeout} s)", flush=True)
                continue
            variants[name] = v
            info[name] = {"algorithm": v.algorithm, "warmup_s": round(compile_s, 1), "samples": []}
            print(f"[{backend} {preset}] {name}: warm-up {compile_s:.1f} s, ~{step_s:.3f} s/step", flush=True)
        if not variants:
            continue
        # Steps per turn: the same for every variant, so a turn of the slowest lasts ~turn_seconds.
        probe = {}
        for name, v in variants.items():
            t = time.perf_counter()
            n = v.run(1)
            probe[name] = (time.perf_counter() - t) / n
        steps = 2 if args.quick else max(args.min_steps, min(args.max_steps, round(args.turn_seconds / max(probe.values()))))
        reps = 1 if args.quick else args.reps
        for _ in range(reps):
            for name, v in variants.items():
                t = time.perf_counter()
                n = v.run(steps)
                elapsed = time.perf_counter() - t
                if isinstance(v, KerasVariant):
                    # Steady-state steps; fit's per-call setup and teardown are
                    # kept apart (a run calls fit once for all its epochs).
                    info[name].setdefault("fit_call_overhead_s", []).append(round(v.last_call_s - v.last_steps_s, 3))
                    elapsed = v.last_steps_s
                info[name]["samples"].append(n * batch / elapsed)
        for name in variants:
            samples = info[name]["samples"]
            med = statistics.median(samples)
            step_flops = flops["step"].get(info[name]["algorithm"])  # none counted for wgan
            info[name].update(images_per_s=med, spread=[min(samples), max(samples)],
                              gflops_per_s=med * step_flops / 1e9 if step_flops else None, steps_per_turn=steps)
            if isinstance(variants[name], KerasVariant):
                info[name]["jit_compile"] = variants[name].jit_compile
        result["presets"][preset] = {"batch": batch, "flops": flops, "variants": info,
                                     "loadavg_after": os.getloadavg()}
        print_table([{"backend": backend, "device": result["device"], "versions": result["versions"],
                      "presets": {preset: result["presets"][preset]}}])
    with open(args.worker_out, "w") as f:
        json.dump(result, f, indent=1)


# ------------------------------------------------------------------ driver

def best_reference(variants, algorithm=None):
    refs = {k: v for k, v in variants.items() if not k.startswith("keras") and "images_per_s" in v
            and (algorithm is None or v["algorithm"] == algorithm)}
    if not refs:
        return None
    return max(refs, key=lambda k: refs[k]["images_per_s"])


def print_table(results):
    print()
    print(f"{'backend':<11}{'preset':<20}{'variant':<20}{'alg':<6}{'img/s':>8}{'min-max':>16}{'GFLOP/s':>9}"
          f"{'vs best ref':>12}  {'vs best same-alg ref'}")
    for r in results:
        for preset, p in r["presets"].items():
            variants = p["variants"]
            best = best_reference(variants)
            best_ips = variants[best]["images_per_s"] if best else None
            for name, v in variants.items():
                if "images_per_s" not in v:
                    print(f"{r['backend']:<11}{preset:<20}{name:<20}{v.get('error', '')}")
                    continue
                same = best_reference(variants, v["algorithm"])
                ratio = f"{v['images_per_s'] / best_ips:.2f}" if best_ips else "-"
                same_ratio = f"{v['images_per_s'] / variants[same]['images_per_s']:.2f} ({same})" if same else "-"
                lo, hi = v["spread"]
                gflops = "-" if v["gflops_per_s"] is None else f"{v['gflops_per_s']:.1f}"
                print(f"{r['backend']:<11}{preset:<20}{name:<20}{v['algorithm']:<6}{v['images_per_s']:>8.1f}"
                      f"{f'{lo:.0f}-{hi:.0f}':>16}{gflops:>9}{ratio:>12}  {same_ratio}")
        print(f"  device: {r['device']}; versions: {r['versions']}")


def main():
    args = parse_args()
    if args.worker:
        return run_worker(args)
    if args.quick:
        args.batch = args.batch or 8
    results = []
    load_before = os.getloadavg()
    for backend in args.backends.split(","):
        out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"dcgan_throughput_{os.getpid()}_{backend}.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", backend, "--worker_out", out]
        cmd += [a for a in sys.argv[1:] if not a.startswith("--out")]
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        print(f"== {backend}", flush=True)
        proc = subprocess.run(cmd, env=env)
        if proc.returncode != 0 or not os.path.exists(out):
            print(f"!! {backend} worker failed (exit {proc.returncode})", flush=True)
            continue
        with open(out) as f:
            results.append(json.load(f))
        os.remove(out)
    print_table(results)
    summary = {"date": time.strftime("%Y-%m-%d %H:%M"), "loadavg_before": load_before,
               "loadavg_after": os.getloadavg(), "mixed_precision": args.mixed_precision, "results": results}
    print(f"load average before {load_before}, after {summary['loadavg_after']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=1)
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
