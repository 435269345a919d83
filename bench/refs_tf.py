"""Hand-written TensorFlow GAN steps, as in the TensorFlow DCGAN tutorial.

https://www.tensorflow.org/tutorials/generative/dcgan: the generator and the
discriminator are Keras models (here the very ones `DCGAN` trains, built by
dcgan_keras.models), the step is a `tf.function` with GradientTapes and
`optimizer.apply_gradients`. Two algorithms:

- "simul" (the tutorial's): one G(z), D(real), D(G(z)) under two tapes, both
  losses from that one forward pass, both networks updated at once.
- "seq1" (pytorch/examples', and DCGAN.gan_step's): G(z) once under an outer
  tape, D updated on stop_gradient of it, then G through the updated D,
  backpropagating through that same G(z).
- "seq2" (DCGAN.gan_step before it computed G(z) once): update D on real vs
  stop_gradient(G(z1)), then update G on D(G(z2)) with fresh noise.
- "wgan" (keras.io's WGAN-GP example, https://keras.io/examples/generative/wgan_gp/,
  its `train_step` written out): `d_steps` critic updates, each on a fresh
  G(z) under the critic's tape, mean(D(fake)) - mean(D(real)) plus 10 times
  the gradient penalty (an inner tape for the critic's gradient at the
  interpolates); then G on D(G(z)) with fresh noise, loss -mean(D(G(z))).
  Adam(1e-4, beta_1=0, beta_2=0.9) as dcgan_keras's wgan_gp default (keras.io:
  2e-4, 0.5, 0.9; the same work).
"""

import keras
import tensorflow as tf


def _bce(labels_value, logits):
    logits = tf.cast(logits, tf.float32)
    return tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), labels_value), logits=logits)
    )


class TFReference:
    """One hand-written step function; `run(batches)` does len(batches) steps and waits for them."""

    def __init__(self, generator, discriminator, algorithm="simul", jit_compile=False, mixed_precision=False, seed=0,
                 d_steps=5):
        self.gen, self.disc = generator, discriminator
        self.latent_dim = generator.input_shape[-1]
        self.d_steps = d_steps
        adam = dict(learning_rate=1e-4, beta_1=0.0, beta_2=0.9) if algorithm == "wgan" else dict(
            learning_rate=2e-4, beta_1=0.5)
        self.g_opt = keras.optimizers.Adam(**adam)
        self.d_opt = keras.optimizers.Adam(**adam)
        if mixed_precision == "float16" or mixed_precision is True:
            self.g_opt = keras.optimizers.LossScaleOptimizer(self.g_opt)
            self.d_opt = keras.optimizers.LossScaleOptimizer(self.d_opt)
        self.g_opt.build(self.gen.trainable_variables)
        self.d_opt.build(self.disc.trainable_variables)
        self.rng = tf.random.Generator.from_seed(seed)
        body = {"simul": self._simul, "seq1": self._seq1, "seq2": self._seq2, "wgan": self._wgan}[algorithm]
        self.step = tf.function(body, jit_compile=jit_compile)

    def _simul(self, images):
        batch = tf.shape(images)[0]
        noise = self.rng.normal([batch, self.latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.gen(noise, training=True)
            real_out = self.disc(images, training=True)
            fake_out = self.disc(fake, training=True)
            g_loss = _bce(1.0, fake_out)
            d_loss = _bce(1.0, real_out) + _bce(0.0, fake_out)
            g_scaled = self.g_opt.scale_loss(g_loss)
            d_scaled = self.d_opt.scale_loss(d_loss)
        g_vars, d_vars = self.gen.trainable_variables, self.disc.trainable_variables
        self.g_opt.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        self.d_opt.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        return d_loss, g_loss

    def _seq1(self, images):
        batch = tf.shape(images)[0]
        g_vars, d_vars = self.gen.trainable_variables, self.disc.trainable_variables
        noise = self.rng.normal([batch, self.latent_dim])
        with tf.GradientTape() as g_tape:
            fake = self.gen(noise, training=True)
        with tf.GradientTape() as d_tape:
            d_loss = _bce(1.0, self.disc(images, training=True)) + _bce(
                0.0, self.disc(tf.stop_gradient(fake), training=True))
            d_scaled = self.d_opt.scale_loss(d_loss)
        self.d_opt.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        with g_tape:
            g_loss = _bce(1.0, self.disc(fake, training=True))
            g_scaled = self.g_opt.scale_loss(g_loss)
        self.g_opt.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        return d_loss, g_loss

    def _seq2(self, images):
        batch = tf.shape(images)[0]
        g_vars, d_vars = self.gen.trainable_variables, self.disc.trainable_variables
        fake = tf.stop_gradient(self.gen(self.rng.normal([batch, self.latent_dim]), training=True))
        with tf.GradientTape() as d_tape:
            d_loss = _bce(1.0, self.disc(images, training=True)) + _bce(0.0, self.disc(fake, training=True))
            d_scaled = self.d_opt.scale_loss(d_loss)
        self.d_opt.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        noise = self.rng.normal([batch, self.latent_dim])
        with tf.GradientTape() as g_tape:
            g_loss = _bce(1.0, self.disc(self.gen(noise, training=True), training=True))
            g_scaled = self.g_opt.scale_loss(g_loss)
        self.g_opt.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        return d_loss, g_loss

    def _gradient_penalty(self, batch, real, fake):
        alpha = self.rng.uniform([batch, 1, 1, 1], 0.0, 1.0)
        interpolated = real + alpha * (fake - real)
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(interpolated)
            pred = self.disc(interpolated, training=True)
        grads = gp_tape.gradient(pred, [interpolated])[0]
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
        return tf.reduce_mean((norm - 1.0) ** 2)

    def _wgan(self, images):
        batch = tf.shape(images)[0]
        g_vars, d_vars = self.gen.trainable_variables, self.disc.trainable_variables
        for _ in range(self.d_steps):
            noise = self.rng.normal([batch, self.latent_dim])
            with tf.GradientTape() as tape:
                fake = self.gen(noise, training=True)
                fake_logits = self.disc(fake, training=True)
                real_logits = self.disc(images, training=True)
                d_cost = tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)
                d_loss = d_cost + 10.0 * self._gradient_penalty(batch, images, fake)
            self.d_opt.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        noise = self.rng.normal([batch, self.latent_dim])
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(self.disc(self.gen(noise, training=True), training=True))
        self.g_opt.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss

    def prepare(self, batches):
        return [tf.convert_to_tensor(b) for b in batches]

    def run(self, batches):
        for images in batches:
            out = self.step(images)
        return float(out[0].numpy())
