"""Images/s of Pix2Pix and CycleGAN training steps: our `fit` against hand-written loops, per backend.

Issues 27 and 28 ask that the translators' `fit` cost no more than a training
loop written by hand for the backend, the way keras.io's "writing a training
loop from scratch" guides write one: within 5% (a ratio of 0.95 or more).
Both sides train the same Keras networks (built from the same seed by
dcgan_keras.networks) with Adam(2e-4, beta_1=0.5), and the same algorithm:

  pix2pix   G(x) once; D on (x, y) and (x, stop_gradient(G(x))), halved BCE on
            logits; then G through the updated D: BCE + 100 * L1, backpropagated
            through the same G(x) pass.
  cyclegan  both generators from one loss pass (adversarial least squares +
            cycle + identity), then D_A and D_B on the new fakes (no image pool:
            `pool_size=0` on our side too, since the references keep none).
            One backward pass of the sum of the two generators' losses (shared
            terms once): each generator's gradient of the sum is its own loss's
            (the other's adversarial term does not reach it), as a hand-written
            loop takes it and as ours does (`seam.minimize_together`).

The loops, one per backend:
  tensorflow  tf.function over GradientTapes (XLA where compile() would use it:
              jit_compile as our model resolved it);
  jax         one jax.jit step of stateless_call and the optimizers' stateless_apply
              (G's pass kept by jax.vjp, as our seam keeps it);
  torch       eager autograd with torch.optim.Adam (epsilon 1e-7 as Keras's Adam,
              which adds it after the bias correction: the same work).

Timing as bench/throughput.py: each variant is built and warmed up (compile
excluded), then the variants run in turns (A B A B ...), each turn the same
number of steps; the result is the median over --reps turns. Our side is timed
from the first batch's start to the last batch's end of a fit call (its
per-call setup apart); the loops get pre-made device batches. The first step's
losses of both sides, from the same weights and batch, are printed as a check
that they compute the same thing.

For CycleGAN a third variant, ours_each, is our step as it was before
`seam.minimize_together`: a backward pass per generator.

Usage:
  python bench/translator_throughput.py                          # all backends, both models
  python bench/translator_throughput.py --backends=torch --models=pix2pix --size=128 --reps=7
  python bench/translator_throughput.py --quick                  # smoke run
Results: bench/RESULTS.md ("Translators: fit against hand-written loops").
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

BACKENDS = ("tensorflow", "jax", "torch")
MODELS = ("pix2pix", "cyclegan")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--size", type=int, default=64, help="image height and width")
    p.add_argument("--filters", type=int, default=32, help="first-block filters (the papers' 64)")
    p.add_argument("--residual_blocks", type=int, default=6, help="CycleGAN's ResNet generator")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--reps", type=int, default=5, help="timed turns per variant")
    p.add_argument("--steps", type=int, default=0, help="steps per turn (default: ~--turn_seconds of the slowest)")
    p.add_argument("--turn_seconds", type=float, default=4.0)
    p.add_argument("--quick", action="store_true", help="smoke run: size 32, 8 filters, 1 block, 1 turn of 2 steps")
    p.add_argument("--out", default="", help="write the results as JSON here")
    p.add_argument("--worker", default="", help=argparse.SUPPRESS)
    p.add_argument("--worker_out", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.filters, args.residual_blocks, args.reps, args.steps = 32, 8, 1, 1, 2
    return args


# ------------------------------------------------------------ the networks


def build_networks(model, args):
    """{name: Keras model}, the same weights on every call (seeded)."""
    import keras

    from dcgan_keras.networks import (build_image_patch_discriminator, build_patch_discriminator,
                                      build_resnet_generator, build_unet_generator)

    keras.utils.set_random_seed(0)
    if model == "pix2pix":
        return {"g": build_unet_generator(args.size, 3, 3, filters=args.filters, dropout=0.0, seed=0),
                "d": build_patch_discriminator(args.size, 3, 3, filters=args.filters, seed=1)}
    nets = {}
    for name in ("g_ab", "g_ba"):
        nets[name] = build_resnet_generator(args.size, 3, residual_blocks=args.residual_blocks, filters=args.filters,
                                            name=name)
    for i, name in enumerate(("d_a", "d_b")):
        nets[name] = build_image_patch_discriminator(args.size, 3, filters=args.filters, seed=2 + i, name=name)
    return nets


def adam():
    import keras

    return keras.optimizers.Adam(2e-4, beta_1=0.5)


# ------------------------------------------------------------------ ours


def per_generator(loss_fn, targets):
    """CycleGAN's step before `seam.minimize_together`: one backward pass per generator's own loss.

    A stand-in for `seam.minimize_together` (tests/test_cyclegan.py compares the two).
    """
    from dcgan_keras import backend as seam

    def losses():
        _, aux = loss_fn()
        adv_ab, adv_ba, cycle, identity = aux[2:]
        return (adv_ab + cycle + identity, adv_ba + cycle + identity), aux

    (loss_ab, loss_ba), aux = seam.minimize_each(losses, targets)
    return loss_ab + loss_ba - aux[4] - aux[5], aux


class Ours:
    """Our Pix2Pix or CycleGAN, `fit` on in-memory arrays, one call per turn.

    `per_generator`: a CycleGAN's generators take a backward pass each, as
    before `seam.minimize_together` (the variant `ours_each`).
    """

    def __init__(self, model, args, batches, per_generator=False):
        from dcgan_keras import CycleGAN, Pix2Pix
        from throughput import _fit_timer

        nets = build_networks(model, args)
        if model == "pix2pix":
            self.gan = Pix2Pix(generator=nets["g"], discriminator=nets["d"], seed=0)
            self.gan.compile(d_optimizer=adam(), g_optimizer=adam())
        else:
            self.gan = CycleGAN(nets["g_ab"], nets["g_ba"], nets["d_a"], nets["d_b"], pool_size=0, seed=0)
            self.gan.compile()
        self.model, self.batch, self.batches = model, args.batch, batches
        self._timer = lambda: _fit_timer("d_loss" if model == "pix2pix" else "d_b_loss")
        self._arrays = {}
        self.per_generator = per_generator

    def run(self, steps):
        import contextlib
        from unittest import mock

        from dcgan_keras import backend as seam

        patch = mock.patch.object(seam, "minimize_together", per_generator) if self.per_generator else (
            contextlib.nullcontext())
        with patch:  # on TF and JAX the step keeps what it was traced with; on torch each call reads it
            return self._run(steps)

    def _run(self, steps):
        import numpy as np

        if steps not in self._arrays:
            a = np.concatenate([b[0] for b in self.batches] * steps)[: steps * self.batch]
            b = np.concatenate([b[1] for b in self.batches] * steps)[: steps * self.batch]
            self._arrays[steps] = (a, b)
        a, b = self._arrays[steps]
        timer = self._timer()
        if self.model == "pix2pix":
            history = self.gan.fit(a, b, batch_size=self.batch, epochs=1, shuffle=False, verbose=0, callbacks=[timer])
        else:
            history = self.gan.fit((a, b), batch_size=self.batch, epochs=1, shuffle=False, verbose=0,
                                   callbacks=[timer])
        self.last_losses = {k: float(v[-1]) for k, v in history.history.items()}
        return timer.elapsed


# ------------------------------------------------------------------ the loops


def _tf_loop(model, args, jit_compile):
    import tensorflow as tf

    nets = build_networks(model, args)
    opts = {name: adam() for name in nets}
    for name, net in nets.items():
        opts[name].build(net.trainable_variables)

    def bce(label, logits):
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), label), logits))

    def apply(name, tape, loss):
        net = nets[name]
        opts[name].apply(tape.gradient(loss, net.trainable_variables), net.trainable_variables)

    if model == "pix2pix":
        g, d = nets["g"], nets["d"]

        @tf.function(jit_compile=jit_compile)
        def step(x, y):
            with tf.GradientTape() as g_tape:
                fake = g(x, training=True)
                with tf.GradientTape() as d_tape:
                    real_out = d({"image": x, "target": y}, training=True)
                    fake_out = d({"image": x, "target": tf.stop_gradient(fake)}, training=True)
                    d_loss = 0.5 * (bce(1.0, real_out) + bce(0.0, fake_out))
                with g_tape.stop_recording():
                    apply("d", d_tape, d_loss)
                g_gan = bce(1.0, d({"image": x, "target": fake}, training=True))
                g_l1 = tf.reduce_mean(tf.abs(y - fake))
                g_loss = g_gan + 100.0 * g_l1
            apply("g", g_tape, g_loss)
            return {"d_loss": d_loss, "g_gan_loss": g_gan, "g_l1_loss": g_l1}
    else:
        g_ab, g_ba, d_a, d_b = (nets[k] for k in ("g_ab", "g_ba", "d_a", "d_b"))

        def l1(a, b):
            return tf.reduce_mean(tf.abs(a - b))

        g_variables = g_ab.trainable_variables + g_ba.trainable_variables
        split = len(g_ab.trainable_variables)

        @tf.function(jit_compile=jit_compile)
        def step(a, b):
            with tf.GradientTape() as tape:
                fake_b, fake_a = g_ab(a, training=True), g_ba(b, training=True)
                adv_ab = tf.reduce_mean(tf.square(d_b(fake_b, training=True) - 1.0))
                adv_ba = tf.reduce_mean(tf.square(d_a(fake_a, training=True) - 1.0))
                cycle = 10.0 * (l1(g_ba(fake_b, training=True), a) + l1(g_ab(fake_a, training=True), b))
                identity = 5.0 * (l1(g_ab(b, training=True), b) + l1(g_ba(a, training=True), a))
                total = adv_ab + adv_ba + cycle + identity
            grads = tape.gradient(total, g_variables)
            opts["g_ab"].apply(grads[:split], g_variables[:split])
            opts["g_ba"].apply(grads[split:], g_variables[split:])
            losses = {"g_ab_loss": adv_ab, "g_ba_loss": adv_ba, "cycle_loss": cycle, "identity_loss": identity}
            for name, net, real, fake in (("d_a", d_a, a, fake_a), ("d_b", d_b, b, fake_b)):
                with tf.GradientTape() as tape:
                    real_out = net(real, training=True)
                    fake_out = net(tf.stop_gradient(fake), training=True)
                    loss = 0.5 * (tf.reduce_mean(tf.square(real_out - 1.0)) + tf.reduce_mean(tf.square(fake_out)))
                apply(name, tape, loss)
                losses[f"{name}_loss"] = loss
            return losses

    return step, lambda losses: {k: float(v.numpy()) for k, v in losses.items()}


def _jax_loop(model, args):
    import jax
    import jax.numpy as jnp

    nets = build_networks(model, args)
    opts = {name: adam() for name in nets}
    for name, net in nets.items():
        opts[name].build(net.trainable_variables)
    state = {name: ([v.value for v in net.trainable_variables], [v.value for v in net.non_trainable_variables],
                    [v.value for v in opts[name].variables]) for name, net in nets.items()}

    def call(name, params, x):
        tv, ntv = params
        out, ntv = nets[name].stateless_call(tv, ntv, x, training=True)
        return out, ntv

    def update(name, s, grads, ntv):
        tv, _, ov = s
        tv, ov = opts[name].stateless_apply(ov, grads, tv)
        return tv, ntv, ov

    def bce(label, logits):
        return jnp.mean(jnp.maximum(logits, 0) - logits * label + jnp.log1p(jnp.exp(-jnp.abs(logits))))

    if model == "pix2pix":
        def step(state, x, y):
            g_s, d_s = state["g"], state["d"]
            fake, g_pullback, g_ntv = jax.vjp(lambda tv: call("g", (tv, g_s[1]), x), g_s[0], has_aux=True)

            def d_loss_fn(tv):
                real_out, ntv = call("d", (tv, d_s[1]), {"image": x, "target": y})
                fake_out, ntv = call("d", (tv, ntv), {"image": x, "target": jax.lax.stop_gradient(fake)})
                return 0.5 * (bce(1.0, real_out) + bce(0.0, fake_out)), ntv

            (d_loss, d_ntv), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(d_s[0])
            d_s = update("d", d_s, d_grads, d_ntv)

            def g_loss_fn(fake):
                out, ntv = call("d", (d_s[0], d_s[1]), {"image": x, "target": fake})
                gan, l1 = bce(1.0, out), jnp.mean(jnp.abs(y - fake))
                return gan + 100.0 * l1, (gan, l1, ntv)

            (_, (gan, l1, d_ntv)), fake_grad = jax.value_and_grad(g_loss_fn, has_aux=True)(fake)
            (g_grads,) = g_pullback(fake_grad)
            g_s = update("g", g_s, g_grads, g_ntv)
            d_s = (d_s[0], d_ntv, d_s[2])
            return {"g": g_s, "d": d_s}, {"d_loss": d_loss, "g_gan_loss": gan, "g_l1_loss": l1}
    else:
        def l1(a, b):
            return jnp.mean(jnp.abs(a - b))

        def step(state, a, b):
            def g_losses(tvs):
                (ab_tv, ba_tv) = tvs
                ab, ba = (ab_tv, state["g_ab"][1]), (ba_tv, state["g_ba"][1])
                fake_b, ab_ntv = call("g_ab", ab, a)
                fake_a, ba_ntv = call("g_ba", ba, b)
                out_b, _ = call("d_b", state["d_b"][:2], fake_b)
                out_a, _ = call("d_a", state["d_a"][:2], fake_a)
                adv_ab, adv_ba = jnp.mean(jnp.square(out_b - 1.0)), jnp.mean(jnp.square(out_a - 1.0))
                back_a, ba_ntv = call("g_ba", (ba_tv, ba_ntv), fake_b)
                back_b, ab_ntv = call("g_ab", (ab_tv, ab_ntv), fake_a)
                cycle = 10.0 * (l1(back_a, a) + l1(back_b, b))
                same_b, ab_ntv = call("g_ab", (ab_tv, ab_ntv), b)
                same_a, ba_ntv = call("g_ba", (ba_tv, ba_ntv), a)
                identity = 5.0 * (l1(same_b, b) + l1(same_a, a))
                return (adv_ab + cycle + identity, adv_ba + cycle + identity), (
                    fake_a, fake_b, adv_ab, adv_ba, cycle, identity, ab_ntv, ba_ntv)

            def total(tvs):
                (loss_ab, loss_ba), aux = g_losses(tvs)
                return loss_ab + loss_ba - aux[4] - aux[5], aux  # the shared terms once

            tvs = (state["g_ab"][0], state["g_ba"][0])
            (grads_ab, grads_ba), aux = jax.grad(total, has_aux=True)(tvs)
            fake_a, fake_b, adv_ab, adv_ba, cycle, identity, ab_ntv, ba_ntv = aux
            new = {"g_ab": update("g_ab", state["g_ab"], grads_ab, ab_ntv),
                   "g_ba": update("g_ba", state["g_ba"], grads_ba, ba_ntv)}
            losses = {"g_ab_loss": adv_ab, "g_ba_loss": adv_ba, "cycle_loss": cycle, "identity_loss": identity}
            for name, real, fake in (("d_a", a, fake_a), ("d_b", b, fake_b)):
                s = state[name]

                def d_loss_fn(tv, s=s, name=name, real=real, fake=fake):
                    real_out, ntv = call(name, (tv, s[1]), real)
                    fake_out, ntv = call(name, (tv, ntv), fake)
                    return 0.5 * (jnp.mean(jnp.square(real_out - 1.0)) + jnp.mean(jnp.square(fake_out))), ntv

                (loss, ntv), grads = jax.value_and_grad(d_loss_fn, has_aux=True)(s[0])
                new[name] = update(name, s, grads, ntv)
                losses[f"{name}_loss"] = loss
            return new, losses

    # Donated, as Keras's trainer donates its state: copies, so the networks keep their own buffers.
    jitted = jax.jit(step, donate_argnums=0)
    holder = {"state": jax.tree.map(jnp.copy, state)}

    def run(x, y):
        holder["state"], losses = jitted(holder["state"], x, y)
        return losses

    return run, lambda losses: {k: float(v) for k, v in jax.device_get(losses).items()}


def _torch_loop(model, args):
    import torch
    import torch.nn.functional as F

    nets = build_networks(model, args)
    # The trainable weights' torch Parameters (BatchNorm's moving statistics are parameters too, without grad).
    params = {name: [v.value for v in net.trainable_variables] for name, net in nets.items()}
    # torch adds eps to sqrt(v / (1 - beta_2^t)), Keras to sqrt(v): the first step's losses differ in the
    # fourth decimal (Pix2Pix g_gan_loss 0.8007 against ours 0.8005; bench/RESULTS.md, twenty-eighth session).
    opts = {name: torch.optim.Adam(params[name], lr=2e-4, betas=(0.5, 0.999), eps=1e-7) for name in nets}

    def bce(label, logits):
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))

    def minimize(name, loss):
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        opts[name].step()

    if model == "pix2pix":
        g, d = nets["g"], nets["d"]

        def step(x, y):
            fake = g(x, training=True)
            real_out = d({"image": x, "target": y}, training=True)
            fake_out = d({"image": x, "target": fake.detach()}, training=True)
            d_loss = 0.5 * (bce(1.0, real_out) + bce(0.0, fake_out))
            minimize("d", d_loss)
            g_gan = bce(1.0, d({"image": x, "target": fake}, training=True))
            g_l1 = torch.mean(torch.abs(y - fake))
            # G's weights only: a backward() would compute D's gradients of G's loss too, for nothing.
            g_params = params["g"]
            for p, grad in zip(g_params, torch.autograd.grad(g_gan + 100.0 * g_l1, g_params)):
                p.grad = grad
            opts["g"].step()
            return {"d_loss": d_loss.detach(), "g_gan_loss": g_gan.detach(), "g_l1_loss": g_l1.detach()}
    else:
        g_ab, g_ba, d_a, d_b = (nets[k] for k in ("g_ab", "g_ba", "d_a", "d_b"))

        def l1(a, b):
            return torch.mean(torch.abs(a - b))

        def step(a, b):
            fake_b, fake_a = g_ab(a, training=True), g_ba(b, training=True)
            adv_ab = torch.mean(torch.square(d_b(fake_b, training=True) - 1.0))
            adv_ba = torch.mean(torch.square(d_a(fake_a, training=True) - 1.0))
            cycle = 10.0 * (l1(g_ba(fake_b, training=True), a) + l1(g_ab(fake_a, training=True), b))
            identity = 5.0 * (l1(g_ab(b, training=True), b) + l1(g_ba(a, training=True), a))
            # One backward pass of the sum: each generator's gradient of it is its own loss's.
            g_params = params["g_ab"] + params["g_ba"]
            grads = torch.autograd.grad(adv_ab + adv_ba + cycle + identity, g_params)
            for p, grad in zip(g_params, grads):
                p.grad = grad
            opts["g_ab"].step()
            opts["g_ba"].step()
            losses = {"g_ab_loss": adv_ab.detach(), "g_ba_loss": adv_ba.detach(), "cycle_loss": cycle.detach(),
                      "identity_loss": identity.detach()}
            for name, net, real, fake in (("d_a", d_a, a, fake_a), ("d_b", d_b, b, fake_b)):
                real_out, fake_out = net(real, training=True), net(fake.detach(), training=True)
                loss = 0.5 * (torch.mean(torch.square(real_out - 1.0)) + torch.mean(torch.square(fake_out)))
                minimize(name, loss)
                losses[f"{name}_loss"] = loss.detach()
            return losses

    def synced(losses):
        return {k: float(v.cpu()) for k, v in losses.items()}

    return step, synced


class Loop:
    """A hand-written training loop of the backend, on pre-made device batches."""

    def __init__(self, model, args, batches, jit_compile):
        import keras

        backend = keras.backend.backend()
        if backend == "tensorflow":
            self.step, self.fetch = _tf_loop(model, args, jit_compile)
        elif backend == "jax":
            self.step, self.fetch = _jax_loop(model, args)
        else:
            self.step, self.fetch = _torch_loop(model, args)
        self.batches = [tuple(keras.ops.convert_to_tensor(x) for x in pair) for pair in batches]

    def run(self, steps):
        t = time.perf_counter()
        for i in range(steps):
            losses = self.step(*self.batches[i % len(self.batches)])
        self.last_losses = self.fetch(losses)  # waits for the device
        return time.perf_counter() - t


# ------------------------------------------------------------------ worker


def run_worker(args):
    import keras
    import numpy as np

    from throughput import device_description, framework_version

    backend = keras.backend.backend()
    result = {"backend": backend, "device": device_description(backend), "versions": framework_version(backend),
              "config": {k: getattr(args, k) for k in ("size", "filters", "residual_blocks", "batch")}, "models": {}}
    rng = np.random.default_rng(0)
    batches = [tuple(rng.uniform(-1, 1, (args.batch, args.size, args.size, 3)).astype("float32") for _ in range(2))
               for _ in range(4)]
    for model in args.models.split(","):
        ours = Ours(model, args, batches)
        loop = Loop(model, args, batches, jit_compile=ours.gan.jit_compile)
        variants = {"ours": ours, "loop": loop}
        if model == "cyclegan":
            variants["ours_each"] = Ours(model, args, batches, per_generator=True)
        first = {}
        for name, v in variants.items():
            t = time.perf_counter()
            v.run(1)  # compiles; from the same weights and batch: the first step's losses
            first[name] = v.last_losses
            v.run(2)
            print(f"[{backend} {model}] {name}: warm-up {time.perf_counter() - t:.1f} s", flush=True)
        per_step = max(v.run(1) for v in variants.values())
        steps = args.steps or max(2, min(50, round(args.turn_seconds / per_step)))
        samples = {name: [] for name in variants}
        for _ in range(args.reps):
            for name, v in variants.items():
                samples[name].append(steps * args.batch / v.run(steps))
        info = {name: {"images_per_s": statistics.median(s), "spread": [min(s), max(s)], "first_step": first[name]}
                for name, s in samples.items()}
        ratio = info["ours"]["images_per_s"] / info["loop"]["images_per_s"]
        result["models"][model] = {"variants": info, "ratio": ratio, "steps_per_turn": steps,
                                   "jit_compile": ours.gan.jit_compile}
        print(f"[{backend} {model}] ours {info['ours']['images_per_s']:.3g} img/s, loop "
              f"{info['loop']['images_per_s']:.3g} img/s: ratio {ratio:.3f} ({steps} steps a turn, "
              f"{args.reps} turns)", flush=True)
        if "ours_each" in info:
            each = info["ours_each"]["images_per_s"] / info["loop"]["images_per_s"]
            result["models"][model]["ratio_each"] = each
            print(f"[{backend} {model}] ours_each (a backward pass per generator) "
                  f"{info['ours_each']['images_per_s']:.3g} img/s: ratio {each:.3f}", flush=True)
        print(f"[{backend} {model}] first step, ours: {_rounded(first['ours'])}", flush=True)
        print(f"[{backend} {model}] first step, loop: {_rounded(first['loop'])}", flush=True)
    with open(args.worker_out, "w") as f:
        json.dump(result, f, indent=1)


def _rounded(losses):
    return {k: round(v, 4) for k, v in sorted(losses.items())}


# ------------------------------------------------------------------ driver


def main():
    args = parse_args()
    if args.worker:
        return run_worker(args)
    results = []
    for backend in args.backends.split(","):
        out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"translator_throughput_{backend}_{os.getpid()}.json")
        cmd = [sys.executable, os.path.abspath(__file__), f"--worker={backend}", f"--worker_out={out}",
               f"--models={args.models}", f"--size={args.size}", f"--filters={args.filters}",
               f"--residual_blocks={args.residual_blocks}", f"--batch={args.batch}", f"--reps={args.reps}",
               f"--steps={args.steps}", f"--turn_seconds={args.turn_seconds}"]
        proc = subprocess.run(cmd, env=dict(os.environ, KERAS_BACKEND=backend))
        if proc.returncode != 0 or not os.path.exists(out):
            print(f"{backend}: the worker failed (exit {proc.returncode})", file=sys.stderr)
            continue
        with open(out) as f:
            results.append(json.load(f))
        os.remove(out)
    print("\nbackend     model     ours img/s  loop img/s  ratio  ratio of ours_each  device")
    for r in results:
        for model, m in r["models"].items():
            each = f"{m['ratio_each']:.3f}" if "ratio_each" in m else "-"
            print(f"{r['backend']:<11} {model:<9} {m['variants']['ours']['images_per_s']:>10.3g}  "
                  f"{m['variants']['loop']['images_per_s']:>10.3g}  {m['ratio']:.3f}  {each:>18}  {r['device']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
