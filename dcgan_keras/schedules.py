"""Learning-rate schedules of the GAN family.

`LinearDecay` is CycleGAN's (Zhu et al., 2017): the rate stays constant for
the first half of training, then falls linearly to 0. A Keras
`LearningRateSchedule` reads the optimizer's own `iterations`, a variable, so
the rate moves inside JAX's compiled step and resumes with the checkpoint.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dcgan_keras")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`initial_learning_rate` until `decay_start` updates, then linearly to 0 at `total_steps`.

    Per update (the paper decays per epoch; per update is the same line,
    without its steps).

    Args:
        initial_learning_rate: the constant rate (the paper's 2e-4).
        total_steps: updates of the whole training run (epochs * steps per epoch).
        decay_start: the update at which the decay starts; None for half of
            `total_steps`, the paper's 100 of 200 epochs.

    Example:
        >>> schedule = LinearDecay(2e-4, total_steps=200 * 1000)
        >>> round(float(schedule(150 * 1000)), 8)
        0.0001
        >>> gan.compile(g_ab_optimizer=keras.optimizers.Adam(schedule, beta_1=0.5))  # doctest: +SKIP
    """

    def __init__(self, initial_learning_rate, total_steps, decay_start=None):
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"`total_steps` must be an int >= 1. Received: total_steps={total_steps!r}")
        decay_start = total_steps // 2 if decay_start is None else decay_start
        if isinstance(decay_start, bool) or not isinstance(decay_start, int) or not 0 <= decay_start < total_steps:
            raise ValueError(
                f"`decay_start` must be an int in [0, total_steps={total_steps}). Received: decay_start={decay_start!r}"
            )
        if not initial_learning_rate > 0:
            raise ValueError(f"`initial_learning_rate` must be > 0. Received: {initial_learning_rate!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = total_steps
        self.decay_start = decay_start

    def __call__(self, step):
        step = ops.cast(step, "float32")
        fraction = (self.total_steps - step) / float(self.total_steps - self.decay_start)
        return self.initial_learning_rate * ops.clip(fraction, 0.0, 1.0)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "total_steps": self.total_steps,
                "decay_start": self.decay_start}


def paper_schedule(epochs, steps_per_epoch, learning_rate=2e-4):
    """CycleGAN's schedule for a run of `epochs` epochs: constant for the first half, then linearly to 0.

    Example:
        >>> schedule = paper_schedule(epochs=200, steps_per_epoch=1067)
        >>> schedule.decay_start
        106700
    """
    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be an int >= 1. Received: {name}={value!r}")
    return LinearDecay(learning_rate, epochs * steps_per_epoch, (epochs // 2) * steps_per_epoch)
