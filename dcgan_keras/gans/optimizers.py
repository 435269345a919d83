"""The optimizers of a GAN: Keras's trainers see them as one (`OptimizerGroup`), and they save portably.

A GAN compiles any number of named optimizers; Keras's trainers know one
`model.optimizer`. `OptimizerGroup` stands in for it, `portable` makes a
serialized optimizer load as its own class on every backend, and
`loss_scaled` wraps one for mixed_float16.
"""

import keras
from keras import ops


class OptimizerGroup:
    """What Keras's trainers see as `model.optimizer`: every named optimizer at once.

    The JAX trainer threads `model.optimizer.variables` through its jitted
    step, and nothing else: handing it every optimizer's variables here is
    what keeps their slots from being baked in as constants. Callbacks that
    read `model.optimizer.iterations` (TensorBoard) see GAN steps: the
    iterations of the GAN's `step_optimizer`.

    Args:
        gan: the compiled `GAN`.
    """

    def __init__(self, gan):
        self.named = {name: getattr(gan, f"{name}_optimizer") for name in gan.optimizer_names}
        self._targets = {name: gan.trainable_variables_of(name) for name in gan.optimizer_names}
        self._step = self.named[gan.step_optimizer or gan.optimizer_names[-1]]
        self._ratios = None  # each rate over the first's, for learning-rate callbacks

    def __getattr__(self, name):
        # `gan.optimizer.d` for the optimizer named "d", as before the base.
        named = self.__dict__.get("named", {})
        if name in named:
            return named[name]
        raise AttributeError(name)

    @property
    def built(self):
        return all(o.built for o in self.named.values())

    def build(self, _unused_variables=None):
        for name, optimizer in self.named.items():
            if not optimizer.built:
                optimizer.build(self._targets[name])

    @property
    def variables(self):
        return [v for optimizer in self.named.values() for v in optimizer.variables]

    @property
    def iterations(self):
        return self._step.iterations

    @property
    def learning_rate(self):
        """The first optimizer's rate; setting it scales every rate by the same factor.

        What LearningRateScheduler and ReduceLROnPlateau read and write: the
        group keeps the ratios of its rates (equal by default).
        """
        return next(iter(self.named.values())).learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if self._ratios is None:
            # Taken once, from the rates as compiled: a schedule through 0
            # would lose them if they were taken afresh at every change.
            rates = [float(ops.convert_to_numpy(o.learning_rate)) for o in self.named.values()]
            self._ratios = [r / rates[0] if rates[0] else 1.0 for r in rates]
        value = float(ops.convert_to_numpy(value))
        for optimizer, ratio in zip(self.named.values(), self._ratios):
            optimizer.learning_rate = value * ratio

    def scale_loss(self, loss):
        return loss


def portable(optimizer_config):
    """A serialized optimizer that every backend loads as its own.

    Keras's torch optimizers serialize under their backend's module
    (`keras.src.backend.torch.optimizers.torch_adam`), so a checkpoint saved on
    torch would load torch's Adam on TensorFlow or JAX, which then fails in
    the first step. The public class of that name is what each backend builds.
    Files saved before this fix are mended on load the same way.
    """
    if isinstance(optimizer_config, list):
        return [portable(item) for item in optimizer_config]
    if not isinstance(optimizer_config, dict):
        return optimizer_config
    config = {key: portable(value) for key, value in optimizer_config.items()}
    module, name = config.get("module"), config.get("class_name")
    if (isinstance(module, str) and module.startswith("keras.src.backend.") and isinstance(name, str)
            and isinstance(getattr(keras.optimizers, name, None), type)):
        config.update(module="keras.optimizers", registered_name=None)
    return config


def loss_scaled(optimizer, prefix):
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{prefix}_loss_scale_optimizer")
