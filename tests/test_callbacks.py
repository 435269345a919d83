"""The run's callbacks, each alone: divergence, summaries, grids and GIF, CSV, TensorBoard, checkpoints."""

import io
import math
import os

import keras
import numpy as np
import pytest
from PIL import Image

from dcgan_keras import callbacks, gif, tensorboard_logs
from dcgan_keras.rundir import RunDir
from helpers import random_images, tiny_gan


class FakeModel:
    stop_training = False


def attached(callback, model=None, epochs=3):
    callback.set_model(model or FakeModel())
    callback.set_params({"epochs": epochs})
    return callback


def test_divergence_monitor_stops_at_the_first_bad_batch_and_says_what_to_do():
    monitor = attached(callbacks.DivergenceMonitor())
    monitor.on_epoch_begin(1)
    monitor.on_train_batch_end(0, {"d_loss": 1.2, "g_loss": 0.7})
    assert monitor.info is None and not monitor.model.stop_training
    monitor.on_train_batch_end(1, {"d_loss": 1.2, "g_loss": math.inf})
    monitor.on_train_batch_end(2, {"d_loss": math.nan, "g_loss": math.nan})
    assert monitor.model.stop_training
    assert monitor.info == {"epoch": 2, "batch": 2, "values": {"g_loss": math.inf}}
    message = monitor.message("ckpt/epoch_0001.keras")
    assert "g_loss = inf at epoch 2, batch 2" in message
    assert "ckpt/epoch_0001.keras, was kept" in message and "--lr" in message


def test_divergence_monitor_keeps_the_earliest_bad_batch_when_hooks_finish_out_of_order():
    # Keras may run the batch-end hooks of async-safe callbacks on a thread pool.
    monitor = attached(callbacks.DivergenceMonitor())
    monitor.on_epoch_begin(0)
    monitor.on_train_batch_end(5, {"d_loss": math.nan})
    monitor.on_train_batch_end(3, {"g_loss": math.inf})
    monitor.on_train_batch_end(4, {"d_loss": math.nan})
    assert monitor.info == {"epoch": 1, "batch": 4, "values": {"g_loss": math.inf}}
    monitor.on_epoch_begin(1)  # a later epoch's earlier batch is not earlier
    monitor.on_train_batch_end(0, {"d_loss": math.nan})
    assert monitor.info["epoch"] == 1 and monitor.info["batch"] == 4


@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="Keras never dispatches TF callbacks async")
def test_the_runs_per_step_callbacks_do_not_make_fit_sync_every_step(tmp_path):
    # A callback with a batch-end hook that is not async-safe makes Keras pull
    # every step's logs to the host: on a GPU, a device sync per step. These
    # are train.py's, progress bar and stop-signal check included.
    from dcgan_keras import training
    from dcgan_keras.config import resolve_config

    config = resolve_config("synthetic")
    noise = np.zeros((config.num_samples, config.latent_dim), "float32")
    _, run_callbacks = training._callbacks(config, RunDir(tmp_path), noise, None, print, progress_bar=True)
    cbs = keras.callbacks.CallbackList(run_callbacks + [callbacks.StopOnSignal()])
    assert cbs._async_train


def test_summary_line():
    logs = {"d_loss": 1.234, "g_loss": 0.98, "d_real": 0.61, "d_fake": 0.38, "d_acc": 0.71,
            "fid": math.nan, "seconds": 12.34, "images_per_sec": 2100.4}
    assert callbacks.summary_line(3, 25, logs) == (
        "epoch 3/25  d_loss 1.23  g_loss 0.98  d_real 0.61  d_fake 0.38  d_acc 0.71  12.3s  2100 img/s"
    )
    assert "fid 41.5" in callbacks.summary_line(3, 25, dict(logs, fid=41.46))


def test_epoch_summary_prints_one_line_per_epoch():
    lines = []
    summary = attached(callbacks.EpochSummary(lines.append), epochs=5)
    summary.on_epoch_end(0, {"d_loss": 1.0})
    assert lines == ["epoch 1/5  d_loss 1.00"]


def test_epoch_timer_adds_time_and_throughput():
    timer = attached(callbacks.EpochTimer(batch_size=16))
    logs = {}
    timer.on_epoch_begin(0)
    for step in range(4):
        timer.on_train_batch_begin(step)
    timer.on_epoch_end(0, logs)
    assert logs["seconds"] > 0
    assert logs["images_per_sec"] == pytest.approx(64 / logs["seconds"])


def test_build_gif_animates_grayscale_and_color_frames(tmp_path):
    paths = []
    for i, channels in enumerate((1, 3, 3)):
        image = np.full((10, 12, channels), 40 * i, "uint8")
        Image.fromarray(image[..., 0] if channels == 1 else image).save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.png"))
    gif.build_gif(paths, tmp_path / "a.gif", frame_ms=100)
    animation = Image.open(tmp_path / "a.gif")
    assert animation.n_frames == 3 and animation.size == (12, 10) and animation.info["loop"] == 0
    assert animation.info["duration"] == 100
    assert sorted(os.listdir(tmp_path)) == ["0.png", "1.png", "2.png", "a.gif"]
    with pytest.raises(ValueError, match="at least one frame"):
        gif.build_gif([], tmp_path / "b.gif")
    # A damaged grid of an earlier epoch is left out, with a warning; the run goes on.
    (tmp_path / "1.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match=r"Leaving .*1.png out of the GIF"):
        gif.build_gif(paths, tmp_path / "a.gif", frame_ms=100)
    assert Image.open(tmp_path / "a.gif").n_frames == 2


def gif_frames(path):
    """[(RGB pixels, duration ms)] of each frame of a GIF, and its loop count."""
    with Image.open(path) as image:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append((np.asarray(image.convert("RGB")), image.info["duration"]))
        return frames, image.info.get("loop")


@pytest.mark.parametrize("channels", [1, 3])
def test_a_gif_grown_a_frame_at_a_time_is_the_one_built_whole(tmp_path, channels):
    rng = np.random.default_rng(channels)
    paths = []
    for i in range(4):
        image = rng.integers(0, 256, (10, 14, channels), dtype=np.uint8)
        Image.fromarray(image[..., 0] if channels == 1 else image).save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.png"))
    grown = gif.GrowingGif(tmp_path / "grown.gif", frame_ms=100)
    grown.rebuild(paths[:2])
    for path in paths[2:]:
        grown.append(path)
    gif.build_gif(paths, tmp_path / "whole.gif", frame_ms=100)
    (frames, loop), (expected, expected_loop) = gif_frames(tmp_path / "grown.gif"), gif_frames(tmp_path / "whole.gif")
    assert [d for _, d in frames] == [100, 100, 100, 500] and loop == expected_loop == 0
    assert len(frames) == len(expected) and all(np.array_equal(a, b) for (a, _), (b, _) in zip(frames, expected))
    # A damaged grid is left out, as build_gif leaves it out; a frame of another size is refused.
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match=r"Leaving .*bad.png out of the GIF"):
        grown.append(str(tmp_path / "bad.png"))
    with pytest.raises(ValueError, match="A 3x3 frame cannot join a 14x10 GIF"):
        grown.append(Image.new("RGB", (3, 3)))
    assert len(gif_frames(tmp_path / "grown.gif")[0]) == 4
    assert sorted(os.listdir(tmp_path)) == sorted(["bad.png", "grown.gif", "whole.gif"] + [f"{i}.png" for i in range(4)])
    # A GIF it did not write last (deleted, replaced) is not appended to: the caller rebuilds it.
    os.remove(tmp_path / "grown.gif")
    assert grown.append(paths[0]) is False and not (tmp_path / "grown.gif").exists()
    assert gif.GrowingGif(tmp_path / "whole.gif").append(paths[0]) is False


def test_sample_grids_encode_each_grid_once_so_an_epoch_costs_the_same_late_in_a_run(tmp_path, monkeypatch):
    # Rebuilding the GIF from every grid each epoch made a 200-epoch run spend most of its time there.
    encoded = []
    real_paletted = gif._paletted
    monkeypatch.setattr(gif, "_paletted", lambda image: encoded.append(image.size) or real_paletted(image))
    # A high learning rate: each epoch's grid differs (Pillow merges identical frames when it builds a GIF).
    gan = tiny_gan(d_optimizer=keras.optimizers.Adam(0.05), g_optimizer=keras.optimizers.Adam(0.05))
    run = RunDir(str(tmp_path))
    os.makedirs(run.samples_dir)
    grids = callbacks.SampleGrids(np.random.default_rng(0).standard_normal((4, gan.latent_dim), "float32"), run)
    images = random_images(16)
    gan.fit(images, batch_size=8, epochs=5, steps_per_epoch=1, callbacks=[grids], verbose=0)
    assert len(encoded) == 5 and len(gif_frames(run.gif)[0]) == 5
    encoded.clear()
    gan.fit(images, batch_size=8, epochs=7, initial_epoch=5, steps_per_epoch=1, callbacks=[grids], verbose=0)
    assert len(encoded) == 5 + 1 + 1  # a fit call's first grid rebuilds the animation: 6 grids; then one more
    assert len(gif_frames(run.gif)[0]) == 7
    os.remove(run.gif)  # a user tidying up mid-run: the next grid rebuilds it
    gan.fit(images, batch_size=8, epochs=8, initial_epoch=7, steps_per_epoch=1, callbacks=[grids], verbose=0)
    assert len(gif_frames(run.gif)[0]) == 8


def test_metrics_csv_keeps_its_columns_and_continues_after_a_resume(tmp_path):
    path = tmp_path / "metrics.csv"
    csv_logger = attached(callbacks.MetricsCSV(path))
    csv_logger.on_epoch_end(0, {"g_loss": 0.5, "d_loss": 1.25, "fid": math.nan})
    csv_logger.on_epoch_end(1, {"g_loss": 0.25, "d_loss": 1.5})
    # A resumed run redoing epoch 2: the row of the lost attempt goes first.
    RunDir(tmp_path).truncate_metrics(1)
    resumed = attached(callbacks.MetricsCSV(path))
    resumed.on_epoch_end(1, {"g_loss": 0.75, "d_loss": 1.0, "extra": 3.0})
    assert path.read_text().splitlines() == ["epoch,d_loss,fid,g_loss", "1,1.25,nan,0.5", "2,1.0,,0.75"]
    metrics = callbacks.read_metrics(path)
    np.testing.assert_array_equal(metrics["g_loss"], [0.5, 0.75])
    assert np.isnan(metrics["fid"]).all()


def test_sample_grids_write_png_and_gif_and_skip_a_diverged_epoch(tmp_path):
    run = RunDir(tmp_path)
    run.create()
    gan = tiny_gan()
    noise = np.random.default_rng(0).standard_normal((6, gan.latent_dim)).astype("float32")
    guard = callbacks.DivergenceMonitor()
    grids = attached(callbacks.SampleGrids(noise, run, cols=3, guard=guard), gan)
    grids.on_epoch_end(0)
    # Training moves the weights between epochs (equal frames would merge in the
    # GIF). The untrained output is ~1e-5, so the change must be large enough to
    # survive 8-bit rounding on every device: a new output kernel of scale 0.5.
    kernel = gan.generator.trainable_variables[-1]
    kernel.assign(np.random.default_rng(1).normal(0.0, 0.5, kernel.shape).astype("float32"))
    grids.on_epoch_end(1)
    assert [e for e, _ in run.samples()] == [1, 2]
    # 2 rows x 3 cols of 28x28 tiles, 2 pixels of padding.
    assert grids.latest.shape == (62, 92, 1)
    np.testing.assert_array_equal(np.asarray(Image.open(run.sample_path(2)))[..., None], grids.latest)
    assert Image.open(run.gif).n_frames == 2
    guard.info = {"epoch": 3, "batch": 1, "values": {"d_loss": math.nan}}
    grids.on_epoch_end(2)
    assert [e for e, _ in run.samples()] == [1, 2] and grids.latest is None


def test_checkpoints_rotate_skip_a_diverged_epoch_and_load(tmp_path):
    run = RunDir(tmp_path)
    run.create()
    gan = tiny_gan()
    guard = callbacks.DivergenceMonitor()
    saver = attached(callbacks.Checkpoints(run, keep=2, guard=guard), gan)
    for epoch in range(3):
        saver.on_epoch_end(epoch)
    assert [e for e, _ in run.checkpoints()] == [2, 3]
    assert run.temporaries() == []
    guard.info = {"epoch": 4, "batch": 1, "values": {"d_loss": math.nan}}
    saver.on_epoch_end(3)
    assert [e for e, _ in run.checkpoints()] == [2, 3]
    loaded = keras.saving.load_model(run.checkpoint_path(3))
    np.testing.assert_allclose(loaded.generate(2, seed=0), gan.generate(2, seed=0), atol=1e-6)


def test_tensorboard_logger_writes_scalars_and_the_grid_on_any_backend(tmp_path):
    grid = np.random.default_rng(0).integers(0, 256, (10, 12, 1), dtype="uint8")  # not constant: a blank image must not pass
    grids = type("Grids", (), {"latest": grid})()
    logger = attached(tensorboard_logs.TensorBoardLogger(tmp_path / "tb", grids=grids))
    logger.on_train_begin()
    logger.on_epoch_end(0, {"d_loss": 1.5, "fid": math.nan})
    logger.on_epoch_end(1, {"d_loss": 1.25})
    logger.on_train_end()
    events = tensorboard_logs.read_tensorboard(tmp_path / "tb")
    assert events["d_loss"] == [(1, 1.5), (2, 1.25)]
    assert "fid" not in events  # NaN (epochs without FID) is not logged
    step, png = events["samples"][0]
    assert step == 1 and png.startswith(b"\x89PNG")
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png)))[..., None], grid)


def test_inject_nan_poisons_the_discriminator_in_its_epoch():
    gan = tiny_gan()
    poison = attached(callbacks.InjectNaN(2), gan)
    poison.on_epoch_begin(0)
    assert np.isfinite(keras.ops.convert_to_numpy(gan.discriminator.trainable_variables[0])).all()
    poison.on_epoch_begin(1)
    assert np.isnan(keras.ops.convert_to_numpy(gan.discriminator.trainable_variables[0])).all()


def test_read_tensorboard_of_a_missing_folder_says_so(tmp_path):
    # It returned {} (no events), which reads like a run that logged nothing.
    with pytest.raises(FileNotFoundError, match="No TensorBoard folder at"):
        tensorboard_logs.read_tensorboard(str(tmp_path / "tensorbaord"))


def test_a_ctrl_c_python_drops_still_stops_fit_before_its_next_batch(monkeypatch):
    import gc
    import signal
    import sys

    from dcgan_keras import cli
    from helpers import random_images

    def interrupted_collection(phase, info):
        # JAX's garbage collector callback is where a Ctrl-C went missing:
        # Python prints an exception raised in one and goes on.
        gc.callbacks.remove(interrupted_collection)
        os.kill(os.getpid(), signal.SIGINT)

    def failed_collection(phase, info):
        gc.callbacks.remove(failed_collection)
        raise ValueError("a bug in a callback")

    gan = tiny_gan(seed=0)
    handler = signal.getsignal(signal.SIGINT)
    batches, printed = [], []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: printed.append(info.exc_type))
    count = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    with cli.stopping_on_signals():
        gc.callbacks.append(interrupted_collection)
        gc.collect()  # Python drops the KeyboardInterrupt, and (CI saw it) printed its traceback
        assert cli.stop_signal() == signal.SIGINT
        assert printed == []  # the user reads one line, "error: interrupted; ...", not a traceback above it
        gc.callbacks.append(failed_collection)
        gc.collect()
        assert printed == [ValueError]  # anything else is printed as before
        with pytest.raises(KeyboardInterrupt):
            gan.fit(random_images(32), batch_size=8, epochs=2, verbose=0,
                    callbacks=[count, callbacks.StopOnSignal()])
    assert batches == []  # it came before fit: no batch ran
    assert signal.getsignal(signal.SIGINT) is handler  # given back on the way out
    assert sys.unraisablehook.__name__ == "<lambda>"  # so is the hook
