"""TensorBoard logs of a run on any backend: written, read back, and cut back on resume.

Only the tensorflow package is needed (not the tensorboard one), and only
here: a JAX- or torch-only install trains without logs.
"""

import math
import os
import re
import warnings

import keras

from dcgan_keras import rundir


class TensorBoardLogger(keras.callbacks.Callback):
    """TensorBoard event files with every epoch metric and the sample grid, on any backend.

    `keras.callbacks.TensorBoard` needs the tensorboard package, which
    requirements.txt leaves out. This writes with TensorFlow's core
    `tf.summary.write` and the metadata TensorBoard's scalar and image
    plugins read, so it works whichever backend trains and without
    tensorboard installed (only the tensorflow package, imported here and
    nowhere else in the training code; without it, it warns and does
    nothing). Steps are 1-based epochs, as in metrics.csv.

    Args:
        log_dir: the event files' directory.
        grids: a SampleGrids whose `latest` grid is logged as "samples".

    Example:
        >>> gan.fit(data, callbacks=[grids, TensorBoardLogger("runs/x/tensorboard", grids)])  # doctest: +SKIP
    """

    def __init__(self, log_dir, grids=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.grids = grids
        self._writer = None
        self._tf = None

    def on_train_begin(self, logs=None):
        try:
            import tensorflow as tf
            from tensorflow.core.framework import summary_pb2
        except ImportError:
            warnings.warn("tensorflow is not installed: no TensorBoard logs are written.")
            return
        self._tf = tf
        # What tensorboard's own scalar and image summaries attach (their
        # plugin data protos at version 0 serialize to empty bytes).
        self._scalar_metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
            data_class=summary_pb2.DATA_CLASS_SCALAR,
        )
        self._image_metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images"),
            data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
        )
        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:
            return
        tf = self._tf
        with self._writer.as_default(step=epoch + 1):
            for key, value in (logs or {}).items():
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    continue
                if math.isfinite(value):
                    tf.summary.write(key, tf.constant(value, tf.float32), metadata=self._scalar_metadata)
            grid = None if self.grids is None else self.grids.latest
            if grid is not None:
                # The images plugin's layout: [width, height, PNG bytes...].
                height, width = grid.shape[:2]
                blob = tf.constant([str(width), str(height), tf.io.encode_png(grid).numpy()])
                tf.summary.write("samples", blob, metadata=self._image_metadata)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_tensorboard(log_dir):
    """{tag: [(step, value)]} of the event files in `log_dir` (images: their PNG bytes).

    Needs only tensorflow; for tests and quick looks without TensorBoard.

    Args:
        log_dir: a run's tensorboard/ folder.

    Raises:
        FileNotFoundError: `log_dir` is no folder (a misspelled path read as "no events").

    Example:
        >>> read_tensorboard("runs/x/tensorboard")["g_loss"][:2]  # doctest: +SKIP
        [(1, 0.93), (2, 1.04)]
    """
    import tensorflow as tf

    if not os.path.isdir(log_dir):
        raise FileNotFoundError(f"No TensorBoard folder at {log_dir}: pass a run's tensorboard/ folder.")
    found = {}
    for path in _event_files(log_dir):
        for event, _ in _read_events(path):
            for value in event.summary.value:
                array = tf.make_ndarray(value.tensor)
                item = array[2] if value.metadata.plugin_data.plugin_name == "images" else float(array)
                found.setdefault(value.tag, []).append((event.step, item))
    return found


def truncate_tensorboard(log_dir, last_epoch):
    """Drops the events of epochs after `last_epoch` from `log_dir`: a lost epoch's.

    TensorBoardLogger writes an epoch's events before its checkpoint, so a
    process killed in between leaves points that the resumed run writes
    again, and TensorBoard would draw both. Each file is rewritten
    atomically. Without tensorflow there are no logs, and nothing to do.

    Example:
        >>> truncate_tensorboard("runs/x/tensorboard", last_epoch=4)
    """
    try:
        import tensorflow as tf
    except ImportError:
        return
    for path in _event_files(log_dir):
        events = _read_events(path)
        kept = [raw for event, raw in events if not (event.HasField("summary") and event.step > last_epoch)]
        if len(kept) == len(events):
            continue
        with rundir.writing(path) as tmp, tf.io.TFRecordWriter(tmp) as writer:
            for raw in kept:
                writer.write(raw)


def _event_files(log_dir):
    if not os.path.isdir(log_dir):
        return []
    # Not a temporary of truncate_tensorboard's (".tmp-...tfevents..."). In the order they were
    # written: by their numbers (events.out.tfevents.<second>.<host>.<pid>.<count>), not as text,
    # where a resume in the same second as the run's start sorted count 11 before count 9.
    names = sorted((n for n in os.listdir(log_dir) if "tfevents" in n and not n.startswith(".")), key=_natural_key)
    return [os.path.join(log_dir, n) for n in names]


def _natural_key(name):
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def _read_events(path):
    """[(Event proto, its record's bytes)] of one event file, up to its first
    damaged record: a process killed mid-write leaves a torn last record, and
    what precedes it is still good."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    events = []
    try:
        for record in tf.data.TFRecordDataset(path):
            data = record.numpy()
            event = event_pb2.Event.FromString(data)
            events.append((event, data))
    except tf.errors.DataLossError:
        pass
    return events
