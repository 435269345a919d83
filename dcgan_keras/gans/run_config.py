"""What the translation games (Pix2Pix, CycleGAN) share when a train.py config builds them.

Their networks take `config.filters` (None: the papers' 64), and their
optimizers are Adam at the config's rates and betas, each optionally on the
papers' schedule (`config.lr_decay`: constant for the first half of the
epochs, then linearly to 0, `dcgan_keras.schedules.LinearDecay` on the
optimizer's own update count).
"""

import keras

from dcgan_keras.schedules import LinearDecay

#: The papers' first-block filters (pix2pix's C64, CycleGAN's c7s1-64).
PAPER_FILTERS = 64


def run_filters(config):
    """`config.filters`, or the papers' 64."""
    return PAPER_FILTERS if config.filters is None else config.filters


def run_steps_per_epoch(config, data):
    """The updates an epoch of the run makes: full batches of `data`, capped by `config.steps_per_epoch`."""
    steps = len(data) // config.batch_size
    if config.steps_per_epoch is not None:
        steps = min(steps, config.steps_per_epoch)
    if steps < 1:
        raise ValueError(
            f"batch_size={config.batch_size} is larger than the {len(data)} training examples of {data.name}: "
            "an epoch would have no full batch. Lower batch_size."
        )
    return steps


def run_adams(config, names, data=None):
    """{"<name>_optimizer": Adam} for each optimizer name; "d..." ones at the D rate, the others at G's.

    With `config.lr_decay`, each rate follows `LinearDecay` over the run's
    `epochs * steps per epoch` updates (the steps per epoch from `data`),
    fixed when the run starts: a resume with more --epochs keeps the schedule
    the run began with (its rate has reached 0 at the original end).

    Raises:
        ValueError: `lr_decay` without the data to count an epoch's steps.
    """
    total = None
    if config.lr_decay:
        if data is None:
            raise ValueError("lr_decay=True needs the run's data set to count the steps of an epoch.")
        total = config.epochs * run_steps_per_epoch(config, data)
        decay_start = (config.epochs // 2) * (total // config.epochs)

    def adam(rate):
        if total is not None:
            rate = LinearDecay(rate, total, decay_start)
        return keras.optimizers.Adam(
            rate, beta_1=config.beta_1, beta_2=config.beta_2, weight_decay=config.weight_decay or None
        )

    return {
        f"{name}_optimizer": adam(config.d_learning_rate if name.startswith("d") else config.g_learning_rate)
        for name in names
    }
