"""GAN: what every adversarial model of the family needs, whatever its game.

A subclass states its game: the networks it trains (`network_names`), the
optimizers and which networks each updates (`optimizer_targets`), its metrics
(`metric_names`), what a batch holds (`inputs`), and `train_batch`, the body
of one step written with the seam (`seam.minimize`, `seam.minimize_each`,
`seam.minimize_together`, `seam.record`). The base owns the rest: optimizers compiled by name and
threaded through JAX's stateless step, metric trackers, the RNG seed state,
an exponential moving average of one network, `.keras` save/load (every
optimizer and seed), `get_config`/`from_config`, and `fit`'s checks.

Example:
    >>> class MyGAN(GAN):  # doctest: +SKIP
    ...     network_names = ("discriminator", "generator")
    ...     optimizer_targets = {"d": ("discriminator",), "g": ("generator",)}
    ...     metric_names = ("d_loss", "g_loss")
    ...     def train_batch(self, images): ...
"""

import copy
import warnings

import keras

from dcgan_keras import backend as seam
from dcgan_keras import fit_inputs, losses
# Re-exported: the games and older imports (dcgan_keras.gan) take them from here.
from dcgan_keras.gans.checks import (  # noqa: F401
    _frozen_copy,
    check_network,
    ends_in_sigmoid,
    unwrap,
    user_stacklevel,
)
from dcgan_keras.gans.optimizers import OptimizerGroup, loss_scaled, portable  # noqa: F401

#: What a batch may hold, for `fit`'s checks: images; images and class labels;
#: (input, target) image pairs; two unpaired domains' images.
INPUT_KINDS = ("images", "images_labels", "pairs", "unpaired")


class GAN(keras.Model):
    """The base of every GAN of the family; a subclass states its own game.

    Class attributes a subclass sets:
        network_names: the attributes holding its networks, e.g.
            `("discriminator", "generator")`, in the order they are saved.
        optimizer_targets: {optimizer name: names of the networks it
            updates}, e.g. `{"d": ("discriminator",), "g": ("generator",)}`;
            the optimizers are compiled by these names and kept as
            `<name>_optimizer`.
        step_optimizer: the optimizer whose `iterations` counts GAN steps
            (default: the last one).
        adversaries: the networks whose outputs the adversarial loss reads.
        metric_names: the metrics `fit` reports.
        inputs: what a batch holds, one of `INPUT_KINDS` (for `fit`'s checks).
        range_of: None, or the network whose output range (tanh, sigmoid)
            the real images must share: `fit` refuses 0-255 floats.
        ema_of: None, or the network whose weights `ema_momentum` averages
            (kept as `ema_<name>`).

    Args:
        networks: {name: keras.Model} for every name in `network_names`.
        seed: seed of the training noise; the same seed gives the same run.
        ema_momentum: None, or in (0, 1): keep an exponential moving average
            of `ema_of`'s weights, updated after each step (see `DCGAN`).
        **kwargs: passed to `keras.Model`, e.g. `name`.

    Example:
        >>> gan = MyGAN(networks={"discriminator": d, "generator": g})  # doctest: +SKIP
        >>> gan.compile(optimizers={"d": keras.optimizers.Adam(2e-4), "g": "adam"})  # doctest: +SKIP
    """

    network_names = ()
    optimizer_targets = {}
    step_optimizer = None
    adversaries = ()
    metric_names = ()
    inputs = "images"
    range_of = None
    ema_of = None

    def __init__(self, networks, seed=None, ema_momentum=None, **kwargs):
        super().__init__(**kwargs)
        if set(networks) != set(self.network_names):
            raise ValueError(
                f"{type(self).__name__} trains the networks {list(self.network_names)}. "
                f"Received: {sorted(networks)}"
            )
        for role in self.network_names:
            check_network(role, networks[role], type(self).__name__)
        if ema_momentum is not None and (self.ema_of is None or not 0.0 < ema_momentum < 1.0):
            raise ValueError(
                "`ema_momentum` must be in (0, 1), or None for no average of the generator's "
                f"weights. Received: ema_momentum={ema_momentum!r}"
                if self.ema_of else f"{type(self).__name__} keeps no moving average: pass ema_momentum=None."
            )
        for role in self.network_names:
            setattr(self, role, networks[role])
        self.ema_momentum = None if ema_momentum is None else float(ema_momentum)
        if self.ema_of is not None:
            average = None if ema_momentum is None else _frozen_copy(networks[self.ema_of])
            setattr(self, f"ema_{self.ema_of}", average)
        self.seed = seed
        with seam.seed_state_scope():
            self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        # The sub-models are built; building here keeps `fit` from tracing
        # `call` with data to build a model that has nothing left to build.
        self.built = True

    # ----------------------------------------------------------- declared parts

    @property
    def networks(self):
        """{name: network} of the networks the GAN trains, in `network_names` order."""
        return {role: getattr(self, role) for role in self.network_names}

    @property
    def optimizer_names(self):
        return tuple(self.optimizer_targets)

    @property
    def optimizers(self):
        """{name: optimizer}, once compiled."""
        return {name: getattr(self, f"{name}_optimizer") for name in self.optimizer_names}

    def trainable_variables_of(self, optimizer_name):
        """The trainable variables the optimizer `optimizer_name` updates."""
        return [v for role in self.optimizer_targets[optimizer_name] for v in getattr(self, role).trainable_variables]

    @property
    def metrics(self):
        return list(self.trackers.values())

    def averaged_network(self):
        """The moving average of `ema_of`'s weights, or None where none is kept.

        A method, not a property: Keras's saving walks a model's properties,
        and would save the average a second time under this name.
        """
        return getattr(self, f"ema_{self.ema_of}", None) if self.ema_of else None

    def default_optimizer(self, name):
        """The optimizer `name` gets when compile is given none.

        The loss's own, where its paper prescribes one (`GANLoss.optimizer`:
        WGAN-GP's Adam(1e-4, beta_1=0, beta_2=0.9)); else Adam(2e-4,
        beta_1=0.5), as in DCGAN.
        """
        del name
        recommended = getattr(getattr(self, "gan_loss", None), "optimizer", None)
        if recommended is not None:
            return recommended()
        return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)

    def train_batch(self, batch):
        """One training step on a batch: the subclass's game; returns {metric name: scalar}."""
        raise NotImplementedError(f"{type(self).__name__} must define train_batch(batch).")

    def unpack_batch(self, data):
        """What `fit` hands a step, as `train_batch` takes it (checked); the subclass's."""
        return data

    def grid_inputs(self, num, seed, data=None):
        """The fixed inputs of a run's per-epoch sample grid, as one NumPy array.

        Drawn once per run and saved with it, so every epoch's grid (and a
        resumed run's) shows the same inputs. The subclass's.

        Args:
            num: how many samples the grid shows (`num_samples`).
            seed: the run's seed.
            data: the run's data set, for games that translate held-out images.
        """
        raise NotImplementedError(f"{type(self).__name__} draws no sample grid: define grid_inputs.")

    def grid_images(self, inputs):
        """The grid's images from `grid_inputs`' array: (images in [-1, 1], columns or None for square)."""
        raise NotImplementedError(f"{type(self).__name__} draws no sample grid: define grid_images.")

    def exported_generators(self):
        """{name: keras.Model} that a finished run writes and exports: each a plain network whose
        inputs the exported serving signature takes (DCGAN: {"generator": z -> images})."""
        raise NotImplementedError(f"{type(self).__name__} exports nothing: define exported_generators.")

    @classmethod
    def from_run_config(cls, config, data=None):
        """The compiled model a train.py config describes: the subclass's, for `run_model.build_model`.

        Args:
            config: a checked `dcgan_keras.config.Config`.
            data: the run's data set (`ImageDataset`), for what the config
                leaves to it (a conditional model's classes), or None.
        """
        raise NotImplementedError(f"{cls.__name__} cannot be built from a run config: define from_run_config.")

    @classmethod
    def load_run_data(cls, config):
        """The data set a run of this model trains on, as the config names it (`split="train"`).

        The base loads images (and their labels, where the data set has
        them) with `dcgan_keras.data.load_dataset`; a game on other data
        (image pairs, two domains) loads its own.

        Args:
            config: a checked `dcgan_keras.config.Config`.
        """
        from dcgan_keras.data import load_dataset

        return load_dataset(
            config.dataset, data_dir=config.data_dir, image_size=config.image_size, channels=config.channels,
            split="train", limit=config.limit, **config.data_options,
        )

    def run_identity(self, config=None, data=None):
        """{name: value} that must match between a run's config and a checkpoint found in its folder.

        Args:
            config: None for this model's values, or a run config for what it asks.
            data: the run's data set, with `config`.
        """
        del config, data
        return {}

    def run_batches(self, data, **kwargs):
        """The `Batches` a run trains on: `data.batches(**kwargs)`, with what this game's batch holds.

        Args:
            data: the run's data set.
            **kwargs: `Batches`' arguments (batch_size, seed, epoch, ...).
        """
        if self.inputs != "images":
            raise NotImplementedError(f"{type(self).__name__} trains on {self.inputs}: define run_batches.")
        return data.batches(**kwargs)

    def run_callbacks(self, data):
        """Callbacks of this game that a run adds before its metrics are written (e.g. a validation metric).

        Each may add its values to the epoch's logs, which metrics.csv then
        records. The base adds none.

        Args:
            data: the run's data set (`load_run_data`'s).
        """
        del data
        return []

    def extra_config(self):
        """The subclass's constructor arguments besides its networks, seed and ema_momentum."""
        return {}

    # ------------------------------------------------------------------ compile

    def compile(self, optimizers=None, loss_fn=None, jit_compile="auto", **kwargs):
        """Sets the named optimizers and the adversarial loss.

        Args:
            optimizers: {name: optimizer} for some or all of the names in
                `optimizer_targets` (a name, config or `keras.optimizers`
                instance each); the others get `default_optimizer(name)`.
                Each may also be passed as `<name>_optimizer=` (keras.io's
                `d_optimizer=`, `g_optimizer=`).
            loss_fn: the adversarial loss: None (the default), a name in
                `dcgan_keras.losses.LOSSES`, a `GANLoss`, or a Keras loss.
            jit_compile: "auto" picks per backend and device (XLA on JAX,
                and on TensorFlow with a GPU; graph mode on TensorFlow on
                CPUs; eager torch); True/False force it.
            **kwargs: `<name>_optimizer`, and `run_eagerly`,
                `steps_per_execution`, passed to Keras.

        Example:
            >>> gan.compile(d_optimizer=keras.optimizers.Adam(1e-4), loss_fn="minimax")  # doctest: +SKIP
        """
        cls = type(self).__name__
        for unsupported in ("optimizer", "loss", "metrics"):
            if unsupported in kwargs:
                known = ", ".join(f"{name}_optimizer=" for name in self.optimizer_names)
                raise ValueError(
                    f"{cls}.compile takes optimizers= (or {known}) and loss_fn=, not {unsupported}=. "
                    f"Received: {unsupported}={kwargs[unsupported]!r}"
                )
        optimizers = dict(optimizers or {})
        for key in [k for k in kwargs if k.endswith("_optimizer")]:
            name = key[: -len("_optimizer")]
            if name not in self.optimizer_names:
                raise ValueError(
                    f"{cls} has the optimizers {list(self.optimizer_names)}: {key}= names none of them."
                )
            if name in optimizers:
                raise ValueError(f"The optimizer {name!r} was given twice: as optimizers[{name!r}] and {key}=.")
            optimizers[name] = kwargs.pop(key)
        unknown = sorted(set(optimizers) - set(self.optimizer_names))
        if unknown:
            raise ValueError(f"{cls} has the optimizers {list(self.optimizer_names)}. Received: {unknown}")
        # The loss first: it may recommend the optimizers (`default_optimizer`).
        self.gan_loss = losses.get(loss_fn)
        resolved = {
            name: keras.optimizers.get(optimizers[name]) if optimizers.get(name) else self.default_optimizer(name)
            for name in self.optimizer_names
        }
        if len({id(o) for o in resolved.values()}) < len(resolved):
            raise ValueError(
                f"{cls}'s optimizers ({', '.join(self.optimizer_names)}) must be distinct objects: each "
                "keeps the slots of its own networks."
            )
        mixed = "mixed_float16" in self._policies()
        for name, optimizer in resolved.items():
            if mixed:
                # float16 gradients underflow without loss scaling; Keras's own
                # compile wraps its one optimizer the same way. The networks'
                # policies decide: they may be built under it and the GAN not.
                optimizer = loss_scaled(optimizer, name)
            setattr(self, f"{name}_optimizer", optimizer)
        self.loss_fn = loss_fn
        self._check_loss(loss_fn)
        # Saved as asked: "auto" resolves afresh where the model is loaded
        # (another backend, or another device count, may want another answer).
        self._jit_compile_asked = jit_compile
        if jit_compile == "auto":
            jit_compile = seam.default_jit_compile(self)
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        self.optimizer = OptimizerGroup(self)
        # Built now, so that loading a checkpoint finds slots to fill (an
        # unbuilt optimizer silently skips its saved state).
        self.optimizer.build()

    def _check_loss(self, loss_fn):
        for role in self.adversaries:
            network = getattr(self, role)
            if self.gan_loss.penalty is not None:
                losses.check_critic(network, role, loss_fn)
            if not self.gan_loss.outputs_are_logits and not ends_in_sigmoid(network):
                warnings.warn(
                    f"loss_fn={loss_fn!r} reads the {role}'s outputs as probabilities (from_logits=False), "
                    f"but its last layer ({network.layers[-1].name}) has no sigmoid: the builders "
                    "return logits. Pass keras.losses.BinaryCrossentropy(from_logits=True), or end the "
                    f"{role} in a sigmoid as keras.io's example does.",
                    stacklevel=user_stacklevel(),
                )
            if losses.declared_logits(loss_fn) and ends_in_sigmoid(network):
                warnings.warn(
                    f"The {role} ends in a sigmoid ({network.layers[-1].name}), but "
                    f"loss_fn={loss_fn!r} reads its outputs as logits: D(x) would be squashed twice and the "
                    "metrics would stay near 0.5 whatever D does. Pass keras.losses.BinaryCrossentropy() "
                    "(from_logits=False), as keras.io's example does, or drop the sigmoid.",
                    stacklevel=user_stacklevel(),
                )

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or not hasattr(self, "gan_loss"):
            return {}
        config = {
            f"{name}_optimizer": portable(keras.saving.serialize_keras_object(optimizer))
            for name, optimizer in self.optimizers.items()
        }
        config.update(loss_fn=losses.serialize(self.loss_fn), jit_compile=self._jit_compile_asked)
        return config

    def compile_from_config(self, config):
        self.compile(
            optimizers={
                name: keras.saving.deserialize_keras_object(portable(config[f"{name}_optimizer"]))
                for name in self.optimizer_names
                if f"{name}_optimizer" in config
            },
            loss_fn=losses.deserialize(config.get("loss_fn")),
            jit_compile=config.get("jit_compile", "auto"),
        )

    # --------------------------------------------------------------- training

    def train_step(self, *args):
        # (data) on TensorFlow and torch, (state, data) on JAX: the seam adapts.
        return seam.train_step(self, *args)

    def gan_step(self, data):
        """One training step on what `fit` hands over; returns the metrics' running means.

        What `train_step` runs on every backend: `unpack_batch`, the
        subclass's `train_batch`, the moving average, the trackers. It needs
        a compiled model; on TensorFlow and torch it also runs when called
        directly, on JAX only inside `train_step`, which supplies the state.

        Args:
            data: a batch as `fit` hands it over.

        Returns:
            {name: scalar} for every name in `metric_names`.
        """
        values = self.train_batch(self.unpack_batch(data))
        if self.averaged_network() is not None:
            self._update_average()
        means = [self.trackers[name] for name in values]
        results = dict(zip(values, seam.add_to_means(means, list(values.values()))))
        return {name: results[name] if name in results else t.result() for name, t in self.trackers.items()}

    def _update_average(self):
        # After the k-th update of the step optimizer the momentum is
        # min(m, (k - 1) / k): an even mean of the weights so far until
        # k = 1 / (1 - m), then the exponential average. A copy of the initial
        # weights would otherwise keep m^k of its weight (a tenth, 2340
        # updates at m = 0.999).
        seam.move_average(
            self.averaged_network().weights, getattr(self, self.ema_of).weights, self.optimizer.iterations,
            self.ema_momentum,
        )

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit`, refusing what would train wrongly before it starts.

        Real images are checked first against the range of the network that
        makes fakes (tanh: [-1, 1]; sigmoid: [0, 1]); 0-255 floats are
        refused and [0, 1] images for a tanh network warned about; see
        `dcgan_keras.fit_inputs`. A GAN has no validation loss:
        `validation_data`, `validation_split`, `sample_weight` and
        `class_weight` are refused, and so is `TerminateOnNaN` (use
        `dcgan_keras.callbacks.DivergenceMonitor`).

        Args:
            x: the batches, as `inputs` says, or anything `keras.Model.fit` takes.
            *args, **kwargs: as `keras.Model.fit`.

        Returns:
            The `History` of `keras.Model.fit`.

        Example:
            >>> history = gan.fit(images, batch_size=128, epochs=5)  # doctest: +SKIP
        """
        x = fit_inputs.check(self, x, args, kwargs)
        return super().fit(x, *args, **kwargs)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """`keras.Model.save`, to a `.keras` file: every network, every optimizer, the RNG state.

        The legacy HDF5 format (`.h5`) holds one optimizer, so it is refused
        (`save_weights("x.weights.h5")` writes the weights alone).

        Args:
            filepath: the `.keras` file to write.
            overwrite, zipped, **kwargs: as `keras.Model.save`.

        Example:
            >>> gan.save("gan.keras")  # doctest: +SKIP
        """
        fit_inputs.check_save_path(filepath, type(self).__name__, len(self.optimizer_names))
        return super().save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict` through `call`.

        Args:
            x: what `call` takes.
            *args, **kwargs: as `keras.Model.predict`.

        Example:
            >>> images = gan.predict(z, batch_size=64, verbose=0)  # doctest: +SKIP
        """
        try:
            return super().predict(x, *args, **kwargs)
        finally:
            # JAX: Keras's predict puts the weights back only when it succeeds (a no-op otherwise).
            if hasattr(self, "jax_state_sync"):
                self.jax_state_sync()

    def _get_jax_state(self, **kwargs):
        # Called by Keras's JAX trainer only, before each stateless step.
        from dcgan_keras.backend import jax as jax_seam

        return jax_seam.state_for_step(self, super()._get_jax_state, **kwargs)

    def evaluate(self, *args, **kwargs):
        """Refused: a GAN has no loss to evaluate on held-out data; use dcgan_keras.metrics (FID)."""
        raise NotImplementedError(
            f"{type(self).__name__}.evaluate has nothing to compute: a GAN has no validation loss (its "
            "networks' losses measure each other). Score samples instead, e.g. FID with dcgan_keras.metrics."
        )

    def _policies(self):
        """Every dtype policy the networks (and the GAN itself) compute in."""
        layers = [layer for network in self.networks.values() for layer in network.layers]
        return {layer.dtype_policy.name for layer in layers} | {self.dtype_policy.name}

    # ------------------------------------------------------------ serializing

    def _rng_state_variables(self):
        # Seed states (the model's and the Dropout layers') are not weights:
        # Keras leaves them out of `.keras` files. Saved here, a resumed run
        # draws the noise an uninterrupted one would have.
        weights = {id(w) for w in self.weights}
        return [v for v in self.non_trainable_variables if id(v) not in weights]

    def save_own_variables(self, store):
        for i, v in enumerate(self._rng_state_variables()):
            store[f"rng_{i}"] = v

    def load_own_variables(self, store):
        variables = self._rng_state_variables()
        saved = [k for k in store.keys() if k.startswith("rng_")]
        if len(saved) != len(variables):
            # A file from before seed states were saved: keep fresh seeds.
            return
        for i, v in enumerate(variables):
            v.assign(store[f"rng_{i}"])

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        config.update(
            {role: keras.saving.serialize_keras_object(network) for role, network in self.networks.items()}
        )
        config.update(self.extra_config())
        config.update(seed=self.seed, ema_momentum=self.ema_momentum)
        if self.ema_of is None:
            del config["ema_momentum"]
        return config

    @classmethod
    def from_config(cls, config):
        # Keras's deserialization empties the networks' nested configs as it
        # reads them: a deep copy leaves the caller's config whole.
        config = copy.deepcopy(config)
        for key in cls.network_names:
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
