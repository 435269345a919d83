"""The training run: config -> run directory -> data -> model -> callbacks -> fit -> artifacts.

`train(config, workdir)` is what `train.py` calls; everything it writes is
described in `dcgan_keras.rundir`. A run can be killed at any moment and
continued with `train(config, workdir, resume=True)`: it starts from the last
complete checkpoint (weights, both optimizers, RNG seed states), with the
run's fixed noise and the data order of the epoch it resumes at, so it
computes what an uninterrupted run would have.

`config.distribute="data_parallel"` runs the build, the checkpoint load, the
compile and `fit` inside `dcgan_keras.distribute.data_parallel()`: the data
loader yields global batches of `batch_size` images and the engine splits
them across the devices. `config.mixed_precision` is the Keras dtype policy
while the model is built and trained (restored afterwards). Both may change
when a run is resumed: checkpoints hold float32 weights and no device layout.

Example:
    >>> from dcgan_keras.config import resolve_config
    >>> from dcgan_keras.training import train
    >>> gan = train(resolve_config("synthetic"), "runs/smoke")  # trains, logs  # doctest: +SKIP
    >>> gan = train(resolve_config("synthetic", overrides={"epochs": 4}), "runs/smoke", resume=True)  # doctest: +SKIP
"""

import contextlib
import functools
import hashlib
import io
import os
import shutil
import warnings

import keras
import numpy as np

from dcgan_keras import backend as seam
from dcgan_keras import callbacks as run_callbacks
from dcgan_keras import gif, rundir, tensorboard_logs
from dcgan_keras.callbacks import TrainingDiverged
from dcgan_keras.cli import first_line
from dcgan_keras.config import (
    RESUMABLE_CHANGES,
    Config,
    ConfigError,
    config_differences,
    make_config,
    recorded_values,
    resolve_config,
)
from dcgan_keras.data import DataError
from dcgan_keras.distribute import data_parallel, precision
from dcgan_keras.rundir import RunDirError
from dcgan_keras.run_model import build_model, build_or_load_model, model_class, plain_generator, plain_generators  # noqa: F401 - build_model's home before

#: The errors a user can fix: the command line prints them without a traceback.
USER_ERRORS = (ConfigError, RunDirError, DataError)

JAX_COMPILE_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "dcgan_keras", "jax")

__all__ = [
    "ConfigError",
    "DataError",
    "RunDirError",
    "TrainingDiverged",
    "USER_ERRORS",
    "resolve_run_config",
    "train",
]


def resolve_run_config(workdir=None, resume=False, preset=None, config_path=None, overrides=None):
    """The config a command line asks for.

    A new run needs a preset (or a preset file). A resumed run without one
    takes the config recorded in its workdir, so `--resume --workdir=W` (and
    `--epochs=N` to train longer) is all it takes; with one, `train` checks
    that it is the run's config.

    Args:
        workdir: the run directory (read only when resuming without a preset).
        resume: whether the run is resumed.
        preset: a preset name (configs/NAME.py), or None.
        config_path: a preset file, or None.
        overrides: {key: value or None} from flags; None means unset.

    Raises:
        ConfigError, RunDirError: naming what is wrong.

    Example:
        >>> resolve_run_config("runs/x", resume=True, overrides={"epochs": 10}).epochs  # a run  # doctest: +SKIP
        10
    """
    if preset is None and config_path is None:
        if not resume:
            raise ConfigError(
                "Pick a data set preset with --dataset=NAME (e.g. --dataset=mnist) or a preset "
                "file with --config=PATH."
            )
        run, record = rundir.check_resumable(workdir)
        return resolve_config(base=recorded_values(record["config"]), overrides=overrides, base_name=run.config_json)
    return resolve_config(preset, config_path, overrides)


def train(config, workdir, resume=False, callbacks=(), verbose="auto", print_fn=None):
    """Trains a DCGAN as `config` says, writing the run directory `workdir`.

    Args:
        config: a `dcgan_keras.config.Config` (e.g. from `resolve_config`).
        workdir: the run directory. A new run refuses one that holds files.
        resume: continue the run in `workdir` from its last complete
            checkpoint. `config` must equal the recorded one except for
            `epochs` (train longer, or stop earlier than planned, but not
            before the epochs already trained), `distribute`,
            `mixed_precision` and `data_dir` (each change is reported by a
            status line).
        callbacks: extra Keras callbacks, run after the run's own.
        verbose: `fit`'s verbosity (the progress bar).
        print_fn: where the status lines and epoch summaries go (default print).

    Returns:
        The trained `DCGAN`.

    Raises:
        ConfigError, RunDirError, DataError: bad config, workdir or data,
            raised before anything in `workdir` changes.
        TrainingDiverged: a loss became NaN/inf; the last good checkpoint is kept.

    Example:
        >>> gan = train(resolve_config("mnist", overrides={"epochs": 5}), "runs/mnist")  # trains  # doctest: +SKIP
    """
    say = print_fn or (lambda line: print(line, flush=True))
    if not isinstance(config, Config):
        config = make_config(dict(config))
    backend = keras.backend.backend()
    seam.enable_compile_cache(JAX_COMPILE_CACHE)

    # Everything that can refuse the run happens before the run dir changes.
    run, record, recorded = _open_run_dir(config, workdir, resume)
    try:
        return _train(config, run, record, recorded, resume, callbacks, verbose, say, backend)
    finally:
        run.release()


def _train(config, run, record, recorded, resume, callbacks, verbose, say, backend):
    """`train` once the run directory is checked: `run` is locked from the first write on."""
    scope = _distribution_scope(config)
    data = _load_data(config)

    with scope:
        # The FID judge computes in float32, whatever the GAN does.
        with precision("float32"):
            fid = _fid_callback(config, data) if config.fid_every else None
        with precision(config.mixed_precision):
            gan, initial_epoch = build_or_load_model(config, run if resume else None, say, data)
            if initial_epoch > config.epochs:
                raise RunDirError(
                    f"The run in {run.path} has {initial_epoch} epochs; epochs={config.epochs} would train "
                    f"none and record fewer. Pass --epochs above {initial_epoch} to train on (or equal to "
                    "it to write the final generator again)."
                )
            devices, processes = _topology(gan, config)
            batches = _batches(data, config, initial_epoch, devices, gan)

            record = _write_run_record(
                run, record, config, backend, resume, initial_epoch, devices, processes, _data_identity(data, gan)
            )
            noise = _fixed_noise(run, config, gan, data)
            say(
                f"dcgan_keras: backend {backend}, {data.name} {len(data)} images {data.image_shape}, "
                f"{len(batches)} steps of {config.batch_size} an epoch, run dir {run.path}"
                + _compute_description(config, devices, processes)
                + (f", resuming after epoch {initial_epoch}" if resume else "")
            )
            for line in _resume_changes(recorded, config):
                say(line)

            if initial_epoch < config.epochs:
                monitor, run_cbs = _callbacks(
                    config, run, noise, fid, say, progress_bar=verbose != 0, game=gan.run_callbacks(data)
                )
                gan.fit(
                    batches,
                    epochs=config.epochs,
                    initial_epoch=initial_epoch,
                    shuffle=False,  # the order is Batches' (seed, epoch) permutation
                    callbacks=run_cbs + list(callbacks),
                    verbose=verbose,
                )
                if monitor.info is not None:
                    _report_divergence(run, monitor)
            else:
                say(f"The run already has {initial_epoch} epochs of {config.epochs}; nothing to train.")

    _write_artifacts(plain_generators(gan, config), run, say)
    return gan


# --------------------------------------------------------------- run directory


def _open_run_dir(config, workdir, resume):
    """Checks the workdir, changing nothing: a new run's is empty, a resumed run's matches.

    Returns (run, record, recorded config); the last two are None for a new run.
    """
    if not resume:
        return rundir.check_new_run(workdir), None, None
    run, record = rundir.check_resumable(workdir)
    try:
        recorded = make_config(recorded_values(record["config"]), where=run.config_json)
    except ConfigError as err:
        raise RunDirError(f"--resume: the config recorded in {run.config_json} is unusable: {err}") from err
    differing = config_differences(recorded, config, ignore=RESUMABLE_CHANGES)
    if differing:
        details = "; ".join(
            f"{k}: run has {getattr(recorded, k)!r}, asked {getattr(config, k)!r}" for k in differing
        )
        raise RunDirError(
            f"--resume: {run.path} was trained with another config; differing key(s): "
            f"{', '.join(differing)} ({details}). Resume with the run's config (only "
            f"{', '.join('--' + key for key in RESUMABLE_CHANGES)} may change; flags can be left out) "
            "or start a new run in another --workdir."
        )
    return run, record, recorded


def _resume_changes(recorded, config):
    """Status lines for the ways a resumed run computes differently from before."""
    if recorded is None:
        return []
    lines = []
    if recorded.distribute != config.distribute:
        lines.append(
            f"Resuming with distribute={config.distribute!r} (the run had {recorded.distribute!r}): "
            "the same steps on another device layout."
        )
    if recorded.mixed_precision != config.mixed_precision:
        lines.append(
            f"Resuming in mixed_precision={config.mixed_precision!r} (the run had "
            f"{recorded.mixed_precision!r}): the float32 weights and optimizer state carry over, "
            "the steps round differently from here on."
        )
    if recorded.data_dir != config.data_dir:
        lines.append(
            f"Resuming with data_dir={config.data_dir!r} (the run had {recorded.data_dir!r}): "
            "the data set is read from there (a warning says if its images differ)."
        )
    return lines


def _data_identity(data, gan=None):
    """What config.json records of the images trained on: their count, shape and a hash of their pixels.

    A model trained on labels also records the class names (index = id), or
    the ids as names where the data set names none, for sample.py and users.
    Hashing is ~1 s per GB, against minutes to decode a folder of that size.
    """
    # Pairs and two domains hash every array, one after the other (`identity_arrays`).
    arrays = data.identity_arrays() if hasattr(data, "identity_arrays") else {"images": data.images}
    digest = hashlib.sha256()
    for array in arrays.values():
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    identity = {
        "images": len(data),
        "shape": list(data.image_shape),
        "sha256": digest.hexdigest(),
    }
    if len(arrays) > 1:
        identity["arrays"] = {name: list(array.shape) for name, array in arrays.items()}
    if getattr(gan, "inputs", None) == "images_labels":
        names = list(data.class_names or [])
        identity["class_names"] = names + [str(i) for i in range(len(names), gan.num_classes)]
    return identity


def _warn_if_other_data(recorded, identity):
    # A moved data_dir is fine (config keys may say so); other pixels are not
    # the run being resumed. Warned, not refused: training on after adding
    # images to a folder is a choice a user can make knowingly.
    if recorded is None or recorded == identity:
        return
    if recorded["images"] != identity["images"] or recorded["shape"] != identity["shape"]:
        what = (f"{identity['images']} images of {tuple(identity['shape'])}; the run had "
                f"{recorded['images']} of {tuple(recorded['shape'])}")
    else:
        what = f"the same number of images ({identity['images']}), but other pixels"
    warnings.warn(
        f"Resuming on other data than the run trained on ({what}): the resumed run will not "
        "match an uninterrupted one. Resume with the run's data to continue it as it was."
    )


def _write_run_record(run, record, config, backend, resume, initial_epoch, devices, processes, data):
    run.create(new=not resume)
    if resume:
        # Leftovers of the killed process, and what the epoch it lost wrote
        # to metrics.csv and TensorBoard before its checkpoint.
        run.remove_temporaries()
        run.truncate_metrics(initial_epoch)
        tensorboard_logs.truncate_tensorboard(run.tensorboard_dir, initial_epoch)
        if run.truncate_samples(initial_epoch):
            # Rebuilt now: a resume that trains no further epoch would keep the lost frame.
            try:
                gif.build_gif([path for _, path in run.samples()], run.gif, config.gif_frame_ms)
            except ValueError:  # no readable grid is left
                if os.path.exists(run.gif):
                    os.remove(run.gif)
        if record.get("backend") != backend:
            warnings.warn(
                f"Resuming a {record.get('backend')} run on {backend}: weights carry over, but "
                "the random streams differ, so it will not match an uninterrupted run."
            )
        _warn_if_other_data(record.get("data"), data)
        record = dict(record)
        record["config"] = config.to_dict()
        record["data"] = data
        record.setdefault("resumes", []).append(
            {"time": rundir.now(), "after_epoch": initial_epoch, "backend": backend,
             "devices": devices, "processes": processes, "versions": rundir.package_versions()}
        )
    else:
        record = {
            "config": config.to_dict(),
            "data": data,
            "backend": backend,
            # What the steps ran on: the same config on other devices computes
            # the same thing up to rounding (and per-replica BatchNorm on TF).
            "devices": devices,
            "processes": processes,
            "versions": rundir.package_versions(),
            "started": rundir.now(),
        }
    run.write_record(record)
    return record


def _fixed_noise(run, config, gan, data=None):
    # Saved once and reread: the grids of a resumed run show the same z.
    fresh = gan.grid_inputs(config.num_samples, config.seed, data)
    if os.path.isfile(run.fixed_noise):
        try:
            noise = np.load(run.fixed_noise)
        except (OSError, ValueError, EOFError) as err:
            # It is a function of the config: drawn again, it is the same z.
            warnings.warn(
                f"{run.fixed_noise} is damaged ({err}); drawing the same noise again from seed {config.seed}."
            )
        else:
            if noise.shape == fresh.shape:
                return noise
    noise = fresh
    buffer = io.BytesIO()
    np.save(buffer, noise)
    rundir.write_bytes(run.fixed_noise, buffer.getvalue())
    return noise


# ------------------------------------------------------------------------ data


def _load_data(config):
    return model_class(config).load_run_data(config)


def _batches(data, config, initial_epoch, devices=1, gan=None):
    """The global batches of `config.batch_size` images (this process's rows of them on multi-host JAX).

    What a batch holds is the model's (`GAN.run_batches`): images, or images and labels
    (None: images).
    """
    if config.batch_size % devices:
        raise ConfigError(
            f"batch_size={config.batch_size} must be a multiple of the {devices} devices of the "
            "data-parallel run: each device takes an equal share of the global batch."
        )
    # max_batches rather than fit(steps_per_epoch=): each short epoch is still
    # a fresh (seed, epoch) permutation, the order a resumed run recomputes.
    batches = (data.batches if gan is None else functools.partial(gan.run_batches, data))(
        batch_size=config.batch_size,
        seed=config.seed,
        shuffle=True,
        drop_remainder=True,
        epoch=initial_epoch,
        max_batches=config.steps_per_epoch,
    )
    distribution = keras.distribution.distribution()
    if distribution is not None and distribution.num_processes > 1:
        # Multi-host JAX: every process computes the same global batch and
        # feeds Keras its own rows (Keras would refuse to shard a PyDataset).
        distribution.auto_shard_dataset = False
        return _ProcessRows(batches, distribution.data_shard_id, distribution.num_processes)
    return batches


class _ProcessRows(keras.utils.PyDataset):
    """Rows [i*B/P, (i+1)*B/P) of each batch of `batches`: process i's share of the global batch."""

    def __init__(self, batches, index, count):
        super().__init__()
        self.batches = batches
        self.rows = slice(index * batches.batch_size // count, (index + 1) * batches.batch_size // count)

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        batch = self.batches[index]
        if isinstance(batch, tuple):  # (images, labels)
            return tuple(part[self.rows] for part in batch)
        return batch[self.rows]

    def on_epoch_begin(self):
        self.batches.on_epoch_begin()

    def on_epoch_end(self):
        self.batches.on_epoch_end()


# ------------------------------------------------------- devices and precision


def _distribution_scope(config):
    """The context the model is built, loaded, compiled and trained in."""
    if config.distribute == "none":
        return contextlib.nullcontext()
    try:
        return data_parallel()
    except ValueError as err:  # torch: no distribution engine to use
        raise ConfigError(f"distribute='data_parallel': {err}") from err


def _topology(gan, config):
    """(devices, processes) the training steps run on: (1, 1) unless data-parallel."""
    if config.distribute == "none":
        return 1, 1
    distribution = keras.distribution.distribution()  # JAX: keras.distribution.DataParallel
    if distribution is not None:
        return int(distribution.device_mesh.devices.size), int(distribution.num_processes)
    strategy = getattr(gan, "distribute_strategy", None)  # TensorFlow: MirroredStrategy
    if strategy is not None:
        return int(strategy.num_replicas_in_sync), 1
    return 1, 1


def _compute_description(config, devices, processes):
    parts = []
    if config.distribute != "none":
        on = f"{devices} devices" + (f" in {processes} processes" if processes > 1 else "")
        parts.append(f", data-parallel on {on}")
    if config.mixed_precision != "float32":
        parts.append(f", {config.mixed_precision}")
    return "".join(parts)


# ------------------------------------------------------------------- callbacks


def _callbacks(config, run, noise, fid, say, progress_bar=True, game=()):
    """The run's callbacks, in the order the module doc of dcgan_keras.callbacks explains.

    `game`: the model's own (`GAN.run_callbacks`), run before metrics.csv is written.
    """
    monitor = run_callbacks.DivergenceMonitor()
    grids = run_callbacks.SampleGrids(
        noise, run, cols=config.grid_cols, frame_ms=config.gif_frame_ms, guard=monitor
    )
    if fid is not None:
        fid.guard = monitor
    return monitor, [
        monitor,
        *([fid] if fid is not None else []),
        run_callbacks.EpochTimer(config.batch_size),
        grids,
        *game,
        run_callbacks.MetricsCSV(run.metrics_csv),
        run_callbacks.MetricsPlot(run.metrics_csv, run.metrics_png),
        tensorboard_logs.TensorBoardLogger(run.tensorboard_dir, grids=grids),
        run_callbacks.Checkpoints(run, keep=config.checkpoints_to_keep, guard=monitor),
        # Given here, fit uses this progress bar instead of appending its own
        # last: the bar finishes its line before the summary is printed.
        *([run_callbacks.ProgressBar()] if progress_bar else []),
        run_callbacks.EpochSummary(say),
    ]


def _fid_callback(config, data):
    from dcgan_keras import metrics

    try:
        if config.fid_extractor == "inception":
            extractor = metrics.inception_extractor()
        else:
            classifier = metrics.load_mnist_classifier(
                config.fid_extractor, image_size=config.image_size, channels=config.channels
            )
            extractor = metrics.classifier_extractor(classifier)
    except Exception as err:  # a missing file, no network for the weights, a wrong model
        raise ConfigError(
            f"fid_extractor={config.fid_extractor!r}: cannot build the FID feature extractor "
            f"({type(err).__name__}: {first_line(err)}). "
            "Use fid_extractor='inception' (downloads ImageNet weights once) or the path of a "
            "classifier saved by train_mnist_classifier, or fid_every=0."
        ) from err
    # A random subset, not the first images: a folder loads sorted by path,
    # so its first images can all be one class (airplane/ before truck/).
    count = min(config.fid_num_samples, len(data.images))
    rows = np.sort(np.random.default_rng(config.seed).choice(len(data.images), count, replace=False))
    return metrics.FIDCallback(
        data.images[rows],
        extractor,
        every=config.fid_every,
        num_samples=config.fid_num_samples,
        seed=config.seed,
    )


def _report_divergence(run, monitor):
    checkpoints = run.checkpoints()
    message = monitor.message(checkpoints[-1][1] if checkpoints else None)
    rundir.write_bytes(run.diverged, (message + "\n").encode())
    raise TrainingDiverged(message)


# ------------------------------------------------------------------- artifacts


def _write_artifacts(generators, run, say):
    """NAME.keras and the NAME/ SavedModel (written aside, checked, then renamed) of each exported generator.

    `generators`: {name: model} (`plain_generators`; one "generator" for most
    models, a CycleGAN's "generator_ab" and "generator_ba"), or one model.
    """
    if not isinstance(generators, dict):
        generators = {"generator": generators}
    for name, generator in generators.items():
        _write_generator(generator, *run.generator_paths(name), say)


def _write_generator(generator, keras_path, saved_model, say):
    from dcgan_keras.export import TensorFlowNotInstalledError, export_saved_model

    with rundir.writing(keras_path) as tmp:
        generator.save(tmp)
    # An earlier export (a resumed run's) no longer matches the .keras file: it
    # goes now, so that a failed or skipped export leaves none rather than a stale one.
    shutil.rmtree(saved_model, ignore_errors=True)
    try:
        export_saved_model(generator, saved_model)
    except TensorFlowNotInstalledError as e:
        # The training is done and the .keras file holds it: skipping the
        # SavedModel loses nothing that cannot be made later.
        say(f"Wrote {keras_path}; no SavedModel: {e} "
            f"(python sample.py --checkpoint={keras_path} --export={saved_model})")
        return
    say(f"Wrote {keras_path} and the SavedModel {saved_model}{os.sep}")
