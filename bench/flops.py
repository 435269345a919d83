"""Analytic FLOP counts of the DCGAN networks, from the layer shapes of the Keras models.

A multiply-add is 2 FLOPs. Per layer, forward:
  Dense            2 * in * out
  Conv2D           2 * H_out * W_out * k * k * C_in * C_out
  Conv2DTranspose  2 * H_in * W_in * k * k * C_in * C_out   (each input pixel scatters a k x k x C_out patch)
Elementwise layers (BatchNorm, activations, dropout) are left out: they are
well under 1% of the total here.

A training step costs about 3x the forward FLOPs of each part it differentiates
(forward, gradient w.r.t. inputs, gradient w.r.t. weights) and 1x of each part
it only runs forward. Per algorithm, with G and D the forward FLOPs per image:
  simul  (TensorFlow tutorial: one G(z), both losses from one forward):   3G + 6D
  seq1   (pytorch/examples and DCGAN.gan_step: one G(z), D updated, then
          G through the new D):                                            3G + 9D
  seq2   (gan_step before 2026-11-23: D on stop_grad(G(z1)), G on G(z2)):  4G + 9D
(seq1 counts D's weight gradients in G's update, as pytorch/examples'
`backward()` computes them; a step that skips them, as DCGAN's seams do, is
3G + 8D, so seq1's figures are an upper bound for the Keras path.)
"""

import os
import sys

import keras

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ALGORITHM_COST = {
    # (multiple of G forward, multiple of D forward)
    "simul": (3, 6),
    "seq1": (3, 9),
    "seq2": (4, 9),
}


def layer_flops(layer):
    """Forward FLOPs per image of one layer (0 for layers without a matmul/conv)."""
    if isinstance(layer, keras.layers.Dense):
        return 2 * int(layer.input.shape[-1]) * int(layer.units)
    if isinstance(layer, keras.layers.Conv2DTranspose):
        _, h, w, c_in = layer.input.shape
        kh, kw = layer.kernel_size
        return 2 * int(h) * int(w) * kh * kw * int(c_in) * int(layer.filters)
    if isinstance(layer, keras.layers.Conv2D):
        _, h, w, _ = layer.output.shape
        c_in = layer.input.shape[-1]
        kh, kw = layer.kernel_size
        return 2 * int(h) * int(w) * kh * kw * int(c_in) * int(layer.filters)
    return 0


def model_flops(model):
    """Forward FLOPs per image of a functional Keras model."""
    return sum(layer_flops(layer) for layer in model.layers)


def step_flops_per_image(g_flops, d_flops, algorithm):
    """FLOPs per image of one GAN training step (one D and one G update)."""
    g_mult, d_mult = ALGORITHM_COST[algorithm]
    return g_mult * g_flops + d_mult * d_flops


def preset_flops(preset):
    """{'G': forward FLOPs/image, 'D': ..., 'step': {algorithm: FLOPs/image}} for a models.py preset."""
    from dcgan_keras import build_discriminator, build_generator

    g = model_flops(build_generator(preset=preset))
    d = model_flops(build_discriminator(preset=preset))
    return {"G": g, "D": d, "step": {a: step_flops_per_image(g, d, a) for a in ALGORITHM_COST}}


if __name__ == "__main__":
    for name in ("tf_tutorial", "dcgan64"):
        f = preset_flops(name)
        steps = ", ".join(f"{a} {v / 1e6:.0f}" for a, v in f["step"].items())
        print(f"{name}: G {f['G'] / 1e6:.1f} MFLOP, D {f['D'] / 1e6:.1f} MFLOP forward per image; step: {steps} MFLOP/image")
