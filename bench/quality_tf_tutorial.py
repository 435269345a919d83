"""The TensorFlow DCGAN tutorial's recipe, as written there, for bench/quality.py.

https://www.tensorflow.org/tutorials/generative/dcgan: Sequential models with
Keras's default initializers, BatchNormalization(momentum 0.99), LeakyReLU with
its default slope (0.3), dropout 0.3; BinaryCrossentropy(from_logits=True);
Adam(1e-4) (beta_1 0.9) for both networks; batches of 256 from
`Dataset.shuffle(60000).batch(256)` (the last, short batch kept); one
`tf.function` step that updates both networks from one forward pass under two
GradientTapes, with `tf.random.normal([256, 100])` noise.

bench/refs_tf.py has the same step ("simul"), but it trains our networks
(dcgan_keras.models: N(0, 0.02) init, LeakyReLU(0.2), BatchNorm momentum 0.9)
with Adam(2e-4, beta_1=0.5), which is right for a throughput comparison on
identical networks and wrong for a quality comparison against the tutorial's
recipe; hence this file.
"""

import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers


def make_generator_model(noise_dim=100):
    return keras.Sequential([
        keras.Input((noise_dim,)),
        layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                               activation="tanh"),
    ], name="tutorial_generator")


def make_discriminator_model():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(1),
    ], name="tutorial_discriminator")


class TutorialDCGAN:
    """The tutorial's models, optimizers and `train_step`; `train(x_uint8, epochs)`."""

    RECIPE = {
        "batch_size": 256, "lr": 1e-4, "beta_1": 0.9, "label_smoothing": 0.0,
        "leaky_relu_slope": 0.3, "dropout": 0.3, "bn_momentum": 0.99,
        "init": "keras defaults (glorot_uniform)", "algorithm": "simul (one forward, two tapes)",
    }
    BATCH_SIZE = 256
    BUFFER_SIZE = 60000
    NOISE_DIM = 100

    def __init__(self, seed=0):
        self.seed = seed
        self.generator = make_generator_model(self.NOISE_DIM)
        self.discriminator = make_discriminator_model()
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.generator_optimizer = keras.optimizers.Adam(1e-4)
        self.discriminator_optimizer = keras.optimizers.Adam(1e-4)
        self.train_step = tf.function(self._train_step)

    def discriminator_loss(self, real_output, fake_output):
        real_loss = self.cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = self.cross_entropy(tf.zeros_like(fake_output), fake_output)
        return real_loss + fake_loss

    def generator_loss(self, fake_output):
        return self.cross_entropy(tf.ones_like(fake_output), fake_output)

    def _train_step(self, images):
        noise = tf.random.normal([self.BATCH_SIZE, self.NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = self.generator(noise, training=True)
            real_output = self.discriminator(images, training=True)
            fake_output = self.discriminator(generated_images, training=True)
            gen_loss = self.generator_loss(fake_output)
            disc_loss = self.discriminator_loss(real_output, fake_output)
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        self.generator_optimizer.apply_gradients(zip(gen_tape.gradient(gen_loss, g_vars), g_vars))
        self.discriminator_optimizer.apply_gradients(zip(disc_tape.gradient(disc_loss, d_vars), d_vars))
        return gen_loss, disc_loss

    def train(self, images_uint8, epochs, print_fn=print):
        """The tutorial's `train`: returns the wall seconds of each epoch."""
        x = (images_uint8.reshape(-1, 28, 28, 1).astype("float32") - 127.5) / 127.5
        dataset = (tf.data.Dataset.from_tensor_slices(x)
                   .shuffle(self.BUFFER_SIZE, seed=self.seed).batch(self.BATCH_SIZE))
        seconds = []
        for epoch in range(epochs):
            start = time.perf_counter()
            for image_batch in dataset:
                gen_loss, disc_loss = self.train_step(image_batch)
            seconds.append(time.perf_counter() - start)
            print_fn(f"tf_tutorial epoch {epoch + 1}/{epochs}  g_loss {float(gen_loss):.3f}  "
                     f"d_loss {float(disc_loss):.3f}  {seconds[-1]:.1f}s  {len(x) / seconds[-1]:.0f} img/s")
        return seconds

    def generate(self, z, batch_size=500):
        """Images in [-1, 1] from latent vectors, in inference mode (as the tutorial's plots)."""
        z = np.asarray(z, "float32")
        return np.concatenate([
            self.generator(z[i:i + batch_size], training=False).numpy()
            for i in range(0, len(z), batch_size)
        ])
