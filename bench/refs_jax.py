"""Hand-written JAX GAN steps: the networks as pure functions, one jitted step.

Plain jax (no flax, no optax): parameters are dicts of arrays, layers are
`jax.lax.conv_general_dilated` / `jax.lax.conv_transpose` (NHWC, HWIO, padding
"SAME", the primitives Keras's JAX backend calls too), BatchNorm keeps moving
statistics (momentum 0.9, eps 1e-3), dropout 0.3 in D, and Adam is written out
as Keras computes it (lr 2e-4, beta_1 0.5, beta_2 0.999, eps 1e-7, bias
correction folded into the learning rate). The whole state is donated to the
jitted step, as Keras's JAX trainer does. Algorithms:

- "simul" (the TensorFlow tutorial's): one forward G(z), D(real), D(G(z));
  gradients of both losses from it (one `jax.vjp` through G); both updated.
- "seq1" (pytorch/examples'): G(z) once (`jax.vjp`), D update on it, then the
  G update through the *updated* D, reusing G's forward.
- "seq2" (DCGAN.gan_step's): D update on G(z1), then G update on fresh z2.

`phases=True` swaps in the convolutions dcgan_keras's layers use on JAX's CPU
(dcgan_keras/backend/jax_layers.py: strided convolutions without XLA:CPU's slow
dilated ones), under the same rule (from 16 channels): the same
kernels as the Keras path, so Keras's own cost shows apart from theirs.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

LR, B1, B2, EPS = 2e-4, 0.5, 0.999, 1e-7
DN = ("NHWC", "HWIO", "NHWC")


# ---------------------------------------------------------------- networks

def _spec(preset):
    if preset == "tf_tutorial":
        return dict(start=7, g_filters=(256, 128, 64), g_strides=(1, 2, 2), k=5, act="leaky_relu",
                    channels=1, size=28, d_filters=(64, 128), d_bn=False)
    if preset == "dcgan64":
        return dict(start=4, g_filters=(512, 256, 128, 64), g_strides=(2, 2, 2, 2), k=4, act="relu",
                    channels=3, size=64, d_filters=(64, 128, 256, 512), d_bn=True)
    raise ValueError(f"unknown preset {preset!r}")


def init(preset, key, latent_dim=100):
    """(g_params, d_params, g_bn_state, d_bn_state)."""
    s = _spec(preset)
    keys = iter(jax.random.split(key, 64))
    normal = lambda shape, mean=0.0: mean + 0.02 * jax.random.normal(next(keys), shape, jnp.float32)
    g, g_bn = {}, {}
    c0 = s["g_filters"][0]
    g["dense"] = normal((latent_dim, s["start"] ** 2 * c0))
    g["bn0"] = dict(gamma=normal((s["start"] ** 2 * c0,), 1.0), beta=jnp.zeros(s["start"] ** 2 * c0))
    g_bn["bn0"] = dict(mean=jnp.zeros(s["start"] ** 2 * c0), var=jnp.ones(s["start"] ** 2 * c0))
    outs = list(s["g_filters"][1:]) + [s["channels"]]
    c_in = c0
    for i, c_out in enumerate(outs):
        g[f"convt{i}"] = normal((s["k"], s["k"], c_in, c_out))
        if i < len(outs) - 1:
            g[f"bn{i + 1}"] = dict(gamma=normal((c_out,), 1.0), beta=jnp.zeros(c_out))
            g_bn[f"bn{i + 1}"] = dict(mean=jnp.zeros(c_out), var=jnp.ones(c_out))
        c_in = c_out
    d, d_bn = {}, {}
    c_in, size = s["channels"], s["size"]
    for i, f in enumerate(s["d_filters"]):
        d[f"conv{i}"] = dict(w=normal((s["k"], s["k"], c_in, f)), b=jnp.zeros(f))
        if s["d_bn"] and i > 0:
            d[f"bn{i}"] = dict(gamma=normal((f,), 1.0), beta=jnp.zeros(f))
            d_bn[f"bn{i}"] = dict(mean=jnp.zeros(f), var=jnp.ones(f))
        c_in, size = f, (size + 1) // 2
    d["dense"] = dict(w=normal((size * size * c_in, 1)), b=jnp.zeros(1))
    return g, d, g_bn, d_bn


def _bn(x, p, state, axes):
    mean = jnp.mean(x.astype(jnp.float32), axes)
    var = jnp.var(x.astype(jnp.float32), axes)
    y = (x - mean.astype(x.dtype)) * jax.lax.rsqrt(var + 1e-3).astype(x.dtype) * p["gamma"].astype(x.dtype)
    y = y + p["beta"].astype(x.dtype)
    new_state = dict(mean=0.9 * state["mean"] + 0.1 * mean, var=0.9 * state["var"] + 0.1 * var)
    return y, new_state


def _act(x, name):
    return jnp.where(x >= 0, x, 0.2 * x) if name == "leaky_relu" else jax.nn.relu(x)


def _phases(s):
    return s.get("phases") and jax.default_backend() == "cpu"


def _conv_transpose(s, x, w, stride):
    from dcgan_keras.backend.fast import jax_layers

    if _phases(s) and stride > 1 and w.shape[-1] >= jax_layers.MIN_PHASE_CHANNELS:
        return jax_layers.conv_transpose_by_phases(x, w, (stride, stride))
    return jax.lax.conv_transpose(x, w, (stride, stride), "SAME", dimension_numbers=DN)


def _conv(s, x, w):
    from dcgan_keras.backend.fast import jax_layers
    from dcgan_keras.backend.fast.padding import same_padding

    if _phases(s) and x.shape[-1] >= jax_layers.MIN_PHASE_CHANNELS:
        padding = tuple(same_padding(x.shape[1 + i], w.shape[i], 2) for i in range(2))
        return jax_layers.strided_conv(x, w, (2, 2), padding)
    return jax.lax.conv_general_dilated(x, w, (2, 2), "SAME", dimension_numbers=DN)


def generator(s, params, bn_state, z, dtype):
    new_bn = {}
    x = z.astype(dtype) @ params["dense"].astype(dtype)
    x, new_bn["bn0"] = _bn(x, params["bn0"], bn_state["bn0"], (0,))
    x = _act(x, s["act"])
    c0 = s["g_filters"][0]
    x = x.reshape(-1, s["start"], s["start"], c0)
    n = len(s["g_strides"])
    for i, stride in enumerate(s["g_strides"]):
        x = _conv_transpose(s, x, params[f"convt{i}"].astype(dtype), stride)
        if i < n - 1:
            x, new_bn[f"bn{i + 1}"] = _bn(x, params[f"bn{i + 1}"], bn_state[f"bn{i + 1}"], (0, 1, 2))
            x = _act(x, s["act"])
    return jnp.tanh(x.astype(jnp.float32)), new_bn


def discriminator(s, params, bn_state, x, key, dtype):
    new_bn = {}
    x = x.astype(dtype)
    keys = jax.random.split(key, len(s["d_filters"]))
    for i, _ in enumerate(s["d_filters"]):
        p = params[f"conv{i}"]
        x = _conv(s, x, p["w"].astype(dtype))
        x = x + p["b"].astype(dtype)
        if f"bn{i}" in params:
            x, new_bn[f"bn{i}"] = _bn(x, params[f"bn{i}"], bn_state[f"bn{i}"], (0, 1, 2))
        x = _act(x, "leaky_relu")
        keep = jax.random.bernoulli(keys[i], 0.7, x.shape)
        x = jnp.where(keep, x / 0.7, 0).astype(dtype)
    x = x.reshape(x.shape[0], -1)
    logits = x @ params["dense"]["w"].astype(dtype) + params["dense"]["b"].astype(dtype)
    return logits.astype(jnp.float32), new_bn


def _bce(label, logits):
    return jnp.mean(jax.nn.relu(logits) - logits * label + jnp.log1p(jnp.exp(-jnp.abs(logits))))


# ---------------------------------------------------------------- Adam

def adam_init(params):
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return dict(m=zeros, v=jax.tree_util.tree_map(jnp.zeros_like, params), t=jnp.zeros((), jnp.int32))


def adam_update(params, grads, opt):
    t = opt["t"] + 1
    tf_ = t.astype(jnp.float32)
    lr = LR * jnp.sqrt(1 - B2 ** tf_) / (1 - B1 ** tf_)
    m = jax.tree_util.tree_map(lambda m, g: m + (g - m) * (1 - B1), opt["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: v + (g * g - v) * (1 - B2), opt["v"], grads)
    params = jax.tree_util.tree_map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + EPS), params, m, v)
    return params, dict(m=m, v=v, t=t)


# ---------------------------------------------------------------- steps

def make_step(preset, algorithm, mixed_precision=False, latent_dim=100, phases=False):
    s = dict(_spec(preset), phases=phases)
    on_gpu = jax.devices()[0].platform == "gpu"
    # mixed_precision: True or "float16" (bfloat16 on CPU), or "bfloat16". No
    # loss scaling: float16 here trusts the gradients to stay in range.
    fp16 = on_gpu and mixed_precision != "bfloat16"
    dtype = (jnp.float16 if fp16 else jnp.bfloat16) if mixed_precision else jnp.float32
    G = functools.partial(generator, s)
    D = functools.partial(discriminator, s)

    def d_loss_fn(d_params, d_bn, real, fake, key):
        k1, k2 = jax.random.split(key)
        real_out, d_bn1 = D(d_params, d_bn, real, k1, dtype)
        fake_out, d_bn2 = D(d_params, d_bn1, fake, k2, dtype)
        return _bce(1.0, real_out) + _bce(0.0, fake_out), (d_bn2, fake_out)

    def step(state, real):
        g_params, d_params, g_bn, d_bn, g_opt, d_opt, key = state
        key, kz1, kz2, kd1, kd2 = jax.random.split(key, 5)
        b = real.shape[0]
        z = jax.random.normal(kz1, (b, latent_dim))
        if algorithm == "seq2":
            fake, g_bn = G(g_params, g_bn, z, dtype)
            (d_loss, (d_bn, _)), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(
                d_params, d_bn, real, jax.lax.stop_gradient(fake), kd1)
            d_params, d_opt = adam_update(d_params, d_grads, d_opt)
            z2 = jax.random.normal(kz2, (b, latent_dim))

            def g_loss_fn(g_params, g_bn, d_bn):
                fake, g_bn = G(g_params, g_bn, z2, dtype)
                out, d_bn = D(d_params, d_bn, fake, kd2, dtype)
                return _bce(1.0, out), (g_bn, d_bn)

            (g_loss, (g_bn, d_bn)), g_grads = jax.value_and_grad(g_loss_fn, has_aux=True)(g_params, g_bn, d_bn)
            g_params, g_opt = adam_update(g_params, g_grads, g_opt)
        else:
            fake, g_vjp, g_bn = jax.vjp(lambda p: G(p, g_bn, z, dtype), g_params, has_aux=True)
            if algorithm == "simul":
                # One forward through D, two "tapes": D's loss w.r.t. D's weights,
                # G's loss w.r.t. the fake images (through the old D).
                def d_outputs(d_params, fake):
                    k1, k2 = jax.random.split(kd1)
                    real_out, bn1 = D(d_params, d_bn, real, k1, dtype)
                    fake_out, bn2 = D(d_params, bn1, fake, k2, dtype)
                    return (real_out, fake_out), bn2

                (real_out, fake_out), d_vjp, d_bn = jax.vjp(d_outputs, d_params, fake, has_aux=True)
                d_loss_of = lambda r, f: _bce(1.0, r) + _bce(0.0, f)
                d_loss, (dr, df) = jax.value_and_grad(d_loss_of, argnums=(0, 1))(real_out, fake_out)
                g_loss, dg = jax.value_and_grad(lambda f: _bce(1.0, f))(fake_out)
                d_grads, _ = d_vjp((dr, df))
                _, d_fake = d_vjp((jnp.zeros_like(real_out), dg))
                d_params, d_opt = adam_update(d_params, d_grads, d_opt)
            else:  # seq1
                (d_loss, (d_bn, _)), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(
                    d_params, d_bn, real, jax.lax.stop_gradient(fake), kd1)
                d_params, d_opt = adam_update(d_params, d_grads, d_opt)

                def g_loss_of_fake(f, d_bn):
                    out, d_bn = D(d_params, d_bn, f, kd2, dtype)
                    return _bce(1.0, out), d_bn

                (g_loss, d_bn), d_fake = jax.value_and_grad(g_loss_of_fake, has_aux=True)(fake, d_bn)
            (g_grads,) = g_vjp(d_fake)
            g_params, g_opt = adam_update(g_params, g_grads, g_opt)
        return (g_params, d_params, g_bn, d_bn, g_opt, d_opt, key), (d_loss, g_loss)

    return jax.jit(step, donate_argnums=0)


class JaxReference:
    def __init__(self, preset, algorithm="simul", mixed_precision=False, seed=0, phases=False):
        key = jax.random.PRNGKey(seed)
        k_init, k_run = jax.random.split(key)
        g, d, g_bn, d_bn = init(preset, k_init)
        self.state = (g, d, g_bn, d_bn, adam_init(g), adam_init(d), k_run)
        self.step = make_step(preset, algorithm, mixed_precision, phases=phases)

    def prepare(self, batches):
        return [jax.device_put(np.asarray(b)) for b in batches]

    def run(self, batches):
        for real in batches:
            self.state, (d_loss, _) = self.step(self.state, real)
        return float(d_loss)
