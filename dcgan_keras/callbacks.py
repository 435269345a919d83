"""Callbacks that write a training run's directory, watch its losses and report progress.

`dcgan_keras.training.train` puts them in this order, because callbacks share
one `logs` dict and run in list order, and because the checkpoint is the
commit point of an epoch (see rundir.py):

    DivergenceMonitor   stops fit at the first NaN/inf loss
    FIDCallback         (optional) adds logs["fid"]
    EpochTimer          adds logs["seconds"], logs["images_per_sec"]
    SampleGrids         samples/epoch_XXXX.png and progress.gif
    MetricsCSV          metrics.csv
    TensorBoardLogger   tensorboard/ scalars and the sample grid (dcgan_keras.tensorboard_logs)
    Checkpoints         checkpoints/epoch_XXXX.keras, last write: commits the epoch
    ProgbarLogger       Keras's progress bar, finishing its line before...
    EpochSummary        ...one line per epoch

SampleGrids needs a model with `grid_images` (a GAN of the family), InjectNaN one with a
`discriminator`; the others take any Keras model. The ones that must skip
a diverged epoch take the `DivergenceMonitor` as `guard`.
"""

import csv
import io
import math
import os
import threading
import time
import warnings

import keras
import numpy as np

from dcgan_keras import cli, gif
from dcgan_keras import images as image_utils
from dcgan_keras import rundir
from dcgan_keras.models import in_sample_range

# Their home before gif.py and tensorboard_logs.py; importable from here as they were.
from dcgan_keras.gif import build_gif  # noqa: F401
from dcgan_keras.tensorboard_logs import TensorBoardLogger, read_tensorboard, truncate_tensorboard  # noqa: F401

LOSSES = ("d_loss", "g_loss")
_SUMMARY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "d_acc", "fid",
                 # Pix2Pix's L1 terms, CycleGAN's losses.
                 "g_l1_loss", "val_l1", "d_a_loss", "d_b_loss", "g_ab_loss", "g_ba_loss", "cycle_loss")


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; training stopped and the last good checkpoint was kept.

    Example:
        >>> try:  # needs a config and its data set; trains  # doctest: +SKIP
        ...     train(config, "runs/x")
        ... except TrainingDiverged as err:
        ...     print(err)  # which loss, when, and what to try
    """


def is_diverged(guard):
    """Whether `guard` (None, or a `DivergenceMonitor`) has seen this epoch diverge.

    Example:
        >>> is_diverged(None)
        False
    """
    return guard is not None and guard.info is not None


class DivergenceMonitor(keras.callbacks.Callback):
    """Stops `fit` at the end of the first batch whose d_loss or g_loss is NaN or infinite.

    Unlike `keras.callbacks.TerminateOnNaN`, it remembers what happened
    (`info`, `message()`), so the caller can report it and raise, and the
    callbacks given it as `guard` skip the diverged epoch: no checkpoint or
    sample of a NaN model is written.

    Args:
        keys: the logs entries to watch.

    Example:
        >>> monitor = DivergenceMonitor()
        >>> gan.fit(data, callbacks=[monitor, Checkpoints(run, guard=monitor)])  # doctest: +SKIP
        >>> if monitor.info: raise TrainingDiverged(monitor.message())
    """

    # Reading a step's losses waits for the device. Keras runs the batch-end
    # hooks of async-safe callbacks on a thread pool (JAX, torch), so the
    # training loop need not wait for each step; without this flag, fit
    # would sync the GPU after every step. The hooks may then overlap and
    # finish out of order, hence the lock and the earliest bad batch.
    async_safe = True

    def __init__(self, keys=LOSSES):
        super().__init__()
        self.keys = tuple(keys)
        self.info = None
        self._epoch = 0
        self._lock = threading.Lock()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        when = (self._epoch + 1, batch + 1)
        info = self.info
        if not logs or (info is not None and (info["epoch"], info["batch"]) <= when):
            return
        bad = {}
        for key in self.keys:
            if key in logs:
                value = float(logs[key])
                if not math.isfinite(value):
                    bad[key] = value
        if bad:
            with self._lock:
                if self.info is None or when < (self.info["epoch"], self.info["batch"]):
                    self.info = {"epoch": when[0], "batch": when[1], "values": bad}
            self.model.stop_training = True

    def message(self, last_checkpoint=None):
        """What happened, for people: the loss, the epoch and batch, what was kept, what to try."""
        if self.info is None:
            return ""
        values = ", ".join(f"{k} = {v}" for k, v in self.info["values"].items())
        kept = (
            f"The last good checkpoint, {last_checkpoint}, was kept."
            if last_checkpoint
            else "No epoch had completed, so there is no checkpoint."
        )
        return (
            f"Training diverged: {values} at epoch {self.info['epoch']}, batch "
            f"{self.info['batch']}; stopped without saving that epoch. {kept} Try, in a new "
            "run (another --workdir), a lower learning rate (--lr), label smoothing "
            "(--label_smoothing=0.1) or another --seed."
        )


class EpochTimer(keras.callbacks.Callback):
    """Adds `seconds` (the epoch's wall time) and `images_per_sec` (real images a second) to the logs.

    Args:
        batch_size: real images per step.
    """

    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._steps = 0

    def on_train_batch_begin(self, batch, logs=None):
        # Counted as steps begin: a batch-end hook would make fit sync the
        # device after every step (see DivergenceMonitor.async_safe).
        self._steps += 1

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        if logs is not None:
            logs["seconds"] = seconds
            logs["images_per_sec"] = self._steps * self.batch_size / max(seconds, 1e-9)


class EpochSummary(keras.callbacks.Callback):
    """Prints one line per epoch:

        epoch 3/25  d_loss 1.23  g_loss 0.98  d_real 0.61  d_fake 0.38  d_acc 0.71  12.3s  2100 img/s

    Args:
        print_fn: where the line goes (default: print to stdout, flushed).
    """

    def __init__(self, print_fn=None):
        super().__init__()
        self.print_fn = print_fn or (lambda line: print(line, flush=True))

    def on_epoch_end(self, epoch, logs=None):
        self.print_fn(summary_line(epoch + 1, self.params.get("epochs"), logs or {}))


def summary_line(epoch, epochs, logs):
    """The EpochSummary line for 1-based `epoch` of `epochs` (NaN FIDs of off epochs left out).

    Example:
        >>> summary_line(3, 25, {"d_loss": 1.234, "g_loss": 0.98, "seconds": 12.3, "images_per_sec": 2100})
        'epoch 3/25  d_loss 1.23  g_loss 0.98  12.3s  2100 img/s'
    """
    parts = [f"epoch {epoch}/{epochs}"]
    for key in _SUMMARY_KEYS:
        if key in logs:
            value = float(logs[key])
            if key == "fid" and math.isnan(value):
                continue
            parts.append(f"{key} {value:.2f}" if key != "fid" else f"fid {value:.1f}")
    if "seconds" in logs:
        parts.append(f"{float(logs['seconds']):.1f}s")
    if "images_per_sec" in logs:
        parts.append(f"{float(logs['images_per_sec']):.0f} img/s")
    return "  ".join(parts)


class SampleGrids(keras.callbacks.Callback):
    """After each epoch, draws the grid of `model.grid_images(noise)` and animates all grids so far.

    Writes `samples/epoch_XXXX.png` (1-based epochs) and adds it to the GIF.
    The first grid of a `fit` call rebuilds the GIF from the run's grids up
    to its epoch, so a resumed run's GIF holds no frames of a lost epoch;
    later ones are appended (`gif.GrowingGif`), so an epoch's cost does not
    grow with the run. The latest grid is kept in `latest` (uint8 H x W x C)
    for the TensorBoard logger.

    Args:
        noise: the grid's fixed inputs, `model.grid_inputs(...)` (a DCGAN's: z, (num, latent_dim)).
        run: the `rundir.RunDir` to write into.
        cols: grid columns (None: square).
        frame_ms: GIF frame duration.
        guard: a DivergenceMonitor; no grid is drawn for a diverged epoch.
    """

    def __init__(self, noise, run, cols=None, frame_ms=200, guard=None):
        super().__init__()
        self.noise = np.asarray(noise, "float32")
        self.run = run
        self.cols = cols
        self.frame_ms = frame_ms
        self.guard = guard
        self.latest = None
        self._animation = None

    def on_train_begin(self, logs=None):
        self._animation = None  # a fit call's first grid rebuilds: the run may have changed in between

    def on_epoch_end(self, epoch, logs=None):
        if is_diverged(self.guard):
            self.latest = None
            return
        images, cols = self.model.grid_images(self.noise)
        grid = image_utils.make_grid(images, cols=self.cols or cols)
        path = self.run.sample_path(epoch + 1)
        image_utils.save_png(grid, path)
        if self._animation is None or not self._animation.append(path):  # (a deleted or replaced GIF too)
            self._animation = gif.GrowingGif(self.run.gif, self.frame_ms)
            self._animation.rebuild([p for _, p in self.run.samples(up_to=epoch + 1)])
        self.latest = grid


class MetricsCSV(keras.callbacks.Callback):
    """metrics.csv: one row per epoch, `epoch` (1-based, as the checkpoints) then the logs.

    Unlike `keras.callbacks.CSVLogger`, the file is rewritten atomically each
    epoch (a kill never leaves half a row), epochs are numbered as the
    checkpoints are, and an existing file (a resumed run) is continued with
    its own columns. Rows of epochs a resumed run redoes are dropped first by
    `RunDir.truncate_metrics`.

    Args:
        path: the CSV file.
    """

    def __init__(self, path):
        super().__init__()
        self.path = os.fspath(path)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        rows = []
        if os.path.isfile(self.path):
            with open(self.path, newline="") as f:
                rows = [row for row in csv.reader(f) if row]
        header = rows[0] if rows else ["epoch"] + sorted(logs)
        row = [str(epoch + 1)] + [_csv_value(logs.get(key)) for key in header[1:]]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([header] + rows[1:] + [row])
        rundir.write_bytes(self.path, out.getvalue().encode())


class MetricsPlot(keras.callbacks.Callback):
    """metrics.png: the curves of metrics.csv, redrawn after each epoch, atomically (dcgan_keras.plots).

    After `MetricsCSV` in the callbacks: it draws what that wrote. Without
    matplotlib it warns once and draws nothing; the run goes on.

    Args:
        csv_path: the run's metrics.csv.
        png_path: the figure to write.
    """

    def __init__(self, csv_path, png_path):
        super().__init__()
        self.csv_path, self.png_path = os.fspath(csv_path), os.fspath(png_path)
        self._available = True

    def on_epoch_end(self, epoch, logs=None):
        if not self._available or not os.path.isfile(self.csv_path):
            return
        try:
            from dcgan_keras import plots

            plots.plot_metrics(self.csv_path, self.png_path)
        except ImportError as err:
            self._available = False
            warnings.warn(f"metrics.png is not drawn: {err} (pip install matplotlib).", stacklevel=2)


def _csv_value(value):
    if value is None:
        return ""
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return str(value)


def read_metrics(path):
    """metrics.csv as {column: numpy float array}, for tests and notebooks.

    Example:
        >>> read_metrics("runs/x/metrics.csv")["g_loss"][-1]  # a run's log  # doctest: +SKIP
    """
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    header, body = rows[0], rows[1:]
    return {
        key: np.array([float(r[i]) if r[i] != "" else np.nan for r in body])
        for i, key in enumerate(header)
    }


class Checkpoints(keras.callbacks.Callback):
    """Saves the whole model to `checkpoints/epoch_XXXX.keras` after each epoch, atomically.

    The file is written under a temporary name in the same directory and
    renamed into place, so a kill at any moment leaves only complete
    checkpoints (and a temporary that `RunDir.remove_temporaries` deletes).
    Then all but the newest `keep` are deleted.

    Args:
        run: the `rundir.RunDir`.
        keep: how many checkpoints to keep.
        guard: a DivergenceMonitor; a diverged epoch is not saved.
    """

    def __init__(self, run, keep=3, guard=None):
        super().__init__()
        self.run = run
        self.keep = keep
        self.guard = guard

    def on_epoch_end(self, epoch, logs=None):
        if is_diverged(self.guard):
            return
        with rundir.writing(self.run.checkpoint_path(epoch + 1)) as tmp:
            self.model.save(tmp)
        self.run.rotate_checkpoints(self.keep)


class StopOnSignal(keras.callbacks.Callback):
    """Stops `fit` within a step or two of a stop signal (`cli.stopping_on_signals`), even a dropped one.

    A Ctrl-C raised inside a garbage collector callback is printed and
    dropped by Python, and training ran on to the end; this raises it again
    before the next batch. Last in the callbacks, so an epoch's checkpoint is
    written before it stops.

    On JAX, `fit` dispatches steps asynchronously and runs its batch-end
    hooks on a thread pool: its loop ran ~30 steps ahead of the computation,
    and after a Ctrl-C the process finished them all (the progress bar
    printed each) before it could exit. So this lets the loop run at most
    `max_queued_steps` ahead: before batch b it waits until the batch-end
    hook of batch b - 2 has run (the thread pool runs it once that step's
    losses are computed). The step still queued keeps the device busy while
    the next is dispatched, so the wait costs no speed. Where the hooks run
    in the loop itself (TensorFlow, torch), it never waits.

    Example:
        >>> with cli.stopping_on_signals():  # doctest: +SKIP
        ...     gan.fit(batches, callbacks=[StopOnSignal()])
    """

    #: Its batch-end hook only records a number: it may run on fit's thread pool.
    async_safe = True
    #: Steps the loop may dispatch ahead of the computation.
    max_queued_steps = 2
    #: Longest wait for one step (s), after which the loop goes on, as without this callback.
    max_wait = 600.0

    def __init__(self):
        super().__init__()
        self._computed = threading.Condition()
        self._last_computed = -1

    def on_epoch_begin(self, epoch, logs=None):
        with self._computed:
            self._last_computed = -1

    def on_train_batch_end(self, batch, logs=None):
        with self._computed:
            self._last_computed = max(self._last_computed, batch)
            self._computed.notify_all()

    def on_train_batch_begin(self, batch, logs=None):
        cli.raise_if_stopped()
        deadline = time.monotonic() + self.max_wait
        with self._computed:
            # Short waits: a signal's handler runs between them.
            while self._last_computed < batch - self.max_queued_steps and time.monotonic() < deadline:
                self._computed.wait(0.1)
        cli.raise_if_stopped()

    def on_epoch_end(self, epoch, logs=None):
        cli.raise_if_stopped()

    def on_train_end(self, logs=None):
        cli.raise_if_stopped()


class ProgressBar(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, given to `fit` where the run's callbacks need it (before the summary).

    `fit` runs the bar it adds itself on its thread pool (it adds it after
    deciding that); a `ProgbarLogger` given in `callbacks` has a batch-end
    hook that is not marked async-safe, and made `fit` wait for the device
    after every step. Its hooks only print, and `fit` waits for them at each
    epoch's end, so the epoch summary still comes after the bar's line.

    Example:
        >>> gan.fit(batches, callbacks=[ProgressBar(), EpochSummary()])  # doctest: +SKIP
    """

    async_safe = True


class BatchDelay(keras.callbacks.Callback):
    """Sleeps after every batch: slows a tiny run so a test can kill it mid-epoch."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds)


class SlowSteps(BatchDelay):
    """Testing: sleeps in the batch-end hook where `fit` runs it, as a slow device would.

    Async-safe, so on JAX and torch the sleep runs on `fit`'s thread pool and
    the loop may dispatch on ahead of it, as it does ahead of a slow device
    (`BatchDelay` keeps the loop itself waiting).
    """

    async_safe = True


class InjectNaN(keras.callbacks.Callback):
    """Testing: makes the discriminator's first weight NaN when 1-based epoch `epoch` begins.

    A deterministic divergence (a huge learning rate diverges at a different
    step on each backend, or not at all), so the NaN handling can be tested.
    """

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            variable = self.model.discriminator.trainable_variables[0]
            variable.assign(np.full(variable.shape, np.nan, dtype="float32"))
