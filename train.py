"""Trains a DCGAN and writes a run directory (see dcgan_keras/rundir.py).

    python train.py --backend=jax --dataset=fashion_mnist
    python train.py --dataset=cifar10 --epochs=50 --workdir=runs/cifar
    python train.py --resume --workdir=runs/cifar --epochs=80     # continue, or train longer
    python train.py --config=my_preset.py --data_dir=data/faces
    python train.py --backend=jax --dataset=celeba64 --distribute=data_parallel --mixed_precision=mixed_bfloat16
    # Several hosts (jax): the same command on every host, each with its own --process_id.
    python train.py --backend=jax --dataset=celeba64 --workdir=runs/celeba --coordinator_address=10.0.0.1:1234 --num_processes=2 --process_id=0

Flags only: `--backend` picks the Keras backend before Keras is imported,
then everything happens in `dcgan_keras.training.train`. Exit codes: 0 done,
2 bad flags/config/workdir/data (one `error:` line, nothing overwritten),
3 the loss diverged (the last good checkpoint is kept), 1 trained but the SavedModel
export failed (checkpoints kept; `sample.py --export` retries it), 130 interrupted by
Ctrl-C, 143 stopped by SIGTERM (both keep the last complete epoch for --resume); a full
disk or an unwritable run directory is a 2 as well.
"""

import errno
import json
import os
import sys
import time

from absl import app, flags, logging

from dcgan_keras import cli  # imports no Keras: the backend is not picked yet

BACKENDS = ("tensorflow", "jax", "torch")

flags.DEFINE_enum(
    "backend", None, BACKENDS,
    "Keras backend (default: with --resume the run's, else $KERAS_BACKEND, else tensorflow).",
)
flags.DEFINE_string("dataset", None, "Preset name: configs/NAME.py (mnist, fashion_mnist, cifar10, ...).")
flags.DEFINE_string("config", None, "A preset file (defines get_config()), instead of --dataset.")
flags.DEFINE_string("data_dir", None, "Where the data set's files are (overrides the preset).")
flags.DEFINE_string(
    "workdir", None,
    "Run directory (default runs/<dataset>-<backend>-<timestamp>). A new run refuses one that holds files.",
)
flags.DEFINE_bool("resume", False, "Continue the run in --workdir from its last complete checkpoint.")
flags.DEFINE_integer("epochs", None, "Epochs in all (with --resume: train on to this many).", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Real images per step.", lower_bound=1)
flags.DEFINE_integer("latent_dim", None, "Size of the noise vector z.", lower_bound=1)
flags.DEFINE_float("lr", None, "Adam learning rate of both networks.", lower_bound=0.0)
flags.DEFINE_integer("d_steps", None, "Discriminator updates per generator update.", lower_bound=1)
flags.DEFINE_enum(
    "update", None, ["sequential", "simultaneous"],
    "sequential (default): D, then G through the updated D, as pytorch/examples. simultaneous: both "
    "from one forward pass, as the TensorFlow tutorial (faster per step; needs --d_steps=1).",
)
flags.DEFINE_float("label_smoothing", None, "One-sided smoothing of the real labels, in [0, 1): "
                   "0.1 makes the real target 0.9.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("ema", None, "Momentum of a moving average of G's weights that makes the samples and the "
                   "exported generator, e.g. 0.99 (the mnist preset's); 0: off.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("seed", None, "Seed of the weights, noise, dropout and data order.", lower_bound=0,
                     upper_bound=2**32 - 1)  # Keras's seeds are uint32
flags.DEFINE_integer("steps_per_epoch", None, "Cap on the steps of an epoch, for quick runs.", lower_bound=1)
flags.DEFINE_integer("fid_every", None, "Compute FID every this many epochs (0: never).", lower_bound=0)
flags.DEFINE_string("fid_extractor", None, "FID's features: 'inception' (InceptionV3, downloads ImageNet weights "
                    "once), or a classifier saved by dcgan_keras.metrics.train_mnist_classifier (.weights.h5 or "
                    ".keras): cheaper and more telling on MNIST-like data.")
flags.DEFINE_integer("fid_num_samples", None, "Generated images per FID evaluation, and real images (a seeded "
                     "random subset) they are compared with.", lower_bound=2)
# Keep in step with dcgan_keras.config.DISTRIBUTE_MODES and PRECISIONS (not
# imported here: the package imports Keras, which must wait for --backend).
flags.DEFINE_enum(
    "distribute", None, ["none", "data_parallel"],
    "data_parallel: split each global batch of --batch_size images across all visible devices "
    "(jax and tensorflow; several hosts: jax with the multi-host flags). Default none.",
)
flags.DEFINE_enum(
    "mixed_precision", None, ["float32", "mixed_float16", "mixed_bfloat16"],
    "Compute precision; weights, BatchNorm statistics, logits and losses stay float32 "
    "(mixed_float16 adds loss scaling). Default float32. mixed_float16 is for GPUs: on a CPU "
    "it is slower than float32 (up to 45x; a warning says so); mixed_bfloat16 is not.",
)
flags.DEFINE_string(
    "coordinator_address", None,
    "Multi-host jax: host:port of process 0. With --num_processes and --process_id, on every host.",
)
flags.DEFINE_integer("num_processes", None, "Multi-host jax: how many processes take part.", lower_bound=1)
flags.DEFINE_integer("process_id", None, "Multi-host jax: this process's index, from 0.", lower_bound=0)
cli.define_test_hooks()  # --debug_*: defined in the package, so --help leaves them out (--helpfull shows them)

FLAGS = flags.FLAGS
_OVERRIDES = ("data_dir", "epochs", "batch_size", "latent_dim", "lr", "d_steps", "update", "label_smoothing",
              "ema", "seed", "steps_per_epoch", "fid_every", "fid_extractor", "fid_num_samples", "distribute",
              "mixed_precision")
_MULTI_HOST = ("coordinator_address", "num_processes", "process_id")
# What the file system refused (space, quota, permissions): a user's to fix, not a bug.
_FILE_SYSTEM_REFUSALS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS, errno.EACCES, errno.EPERM}


def _fail(message, code=2, mid_line=False):
    if mid_line:
        print(flush=True)  # off the progress bar's line (stdout), so the error starts its own
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def _default_workdir(backend):
    name = FLAGS.dataset or os.path.splitext(os.path.basename(FLAGS.config or "run"))[0]
    return os.path.join("runs", f"{name}-{backend}-{time.strftime('%Y%m%d-%H%M%S')}")


def _split_cpu_before_import(count):
    """--debug_cpu_devices: JAX reads XLA_FLAGS when it starts its backend."""
    if os.environ.get("KERAS_BACKEND") == "jax":
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={count}"
        ).strip()


def _split_cpu_after_import(count, backend):
    """--debug_cpu_devices: TensorFlow's logical CPUs, set before it initializes its devices."""
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    elif backend != "jax":
        _fail(f"--debug_cpu_devices is for the jax and tensorflow backends, not {backend}.")


def _join_hosts():
    """--coordinator_address/--num_processes/--process_id: joins the multi-host JAX run.

    Called before anything is built. Returns this process's id (None without the flags).
    """
    from dcgan_keras.distribute import initialize_multi_host

    given = [name for name in _MULTI_HOST if getattr(FLAGS, name) is not None]
    if not given:
        return None
    missing = [f"--{name}" for name in _MULTI_HOST if name not in given]
    if missing:
        _fail(f"--coordinator_address, --num_processes and --process_id go together; missing {', '.join(missing)}.")
    host, _, port = FLAGS.coordinator_address.rpartition(":")
    if not host or not port.isdigit():
        _fail(f"--coordinator_address must be HOST:PORT of process 0 (e.g. 10.0.0.1:1234), "
              f"got {FLAGS.coordinator_address!r}.")
    if FLAGS.process_id >= FLAGS.num_processes:
        _fail(f"--process_id must be below --num_processes={FLAGS.num_processes}, got {FLAGS.process_id}.")
    if FLAGS.distribute == "none":
        _fail("the multi-host flags train data-parallel across the hosts; leave out --distribute=none.")
    try:
        initialize_multi_host(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
    except ValueError as err:
        _fail(str(err))
    return FLAGS.process_id


def _run_backend(workdir):
    """The backend the run in `workdir` last trained on, from its config.json; None if unreadable.

    Read before Keras is imported (it picks its backend once). A missing or
    damaged config.json is reported by the resume itself, in its own words.
    """
    try:
        with open(os.path.join(workdir, "config.json")) as f:
            record = json.load(f)
        resumes = record.get("resumes") or [{}]
        backend = resumes[-1].get("backend") or record.get("backend")
    except (OSError, ValueError, LookupError, AttributeError, TypeError):
        return None
    return backend if backend in BACKENDS else None


def _process_workdir(workdir, process_id):
    """WORKDIR for process 0 of a multi-host run, WORKDIR-processN for process N.

    Each process keeps its own run directory (process 0's is the run): the
    weights are replicated, so every process checkpoints and resumes from its
    own copy, on a shared file system or not, and no two write one file.
    """
    return f"{workdir.rstrip(os.sep)}-process{process_id}" if process_id else workdir


def main(argv):
    cli.quiet_tensorflow_logs()
    if not FLAGS["verbosity"].present:
        # Backends log INFO lines through absl (JAX: "Unable to initialize backend 'tpu'").
        logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        _fail(f"unexpected argument(s) {' '.join(argv[1:])}; flags look like --name=value.")
    if FLAGS.resume and not FLAGS.workdir:
        _fail("--resume needs the --workdir of the run to continue.")
    if FLAGS["workdir"].present and not FLAGS.workdir:
        _fail("--workdir is empty; name the run directory, or leave the flag out for runs/<name>-<time>.")
    run_backend = _run_backend(_process_workdir(FLAGS.workdir, FLAGS.process_id)) if FLAGS.resume else None
    backend_source = None
    if FLAGS.backend:
        os.environ["KERAS_BACKEND"] = FLAGS.backend
    elif run_backend:
        # The run's own, over a shell's default: another backend trains on, but
        # off the run's random streams, so --backend must ask for it.
        os.environ["KERAS_BACKEND"] = run_backend
        backend_source = (f"the run in {FLAGS.workdir} trained on it (its config.json): install it, or "
                          "pass --backend=NAME to resume on another")
    if FLAGS.debug_cpu_devices:
        _split_cpu_before_import(FLAGS.debug_cpu_devices)

    # Only now, with KERAS_BACKEND settled, may Keras be imported.
    try:
        import keras

        if FLAGS.debug_cpu_devices:
            _split_cpu_after_import(FLAGS.debug_cpu_devices, keras.backend.backend())
        from dcgan_keras import callbacks, training
        from dcgan_keras.export import ExportError
    except ImportError as err:
        _fail(f"cannot load the Keras backend {os.environ.get('KERAS_BACKEND')!r}: {err}"
              + (f" ({backend_source})" if backend_source else ""))
    except KeyboardInterrupt:
        _fail("interrupted while loading Keras; nothing was written.", code=130)
    with cli.stopping_on_signals():
        _train(keras, callbacks, cli, training, ExportError)


def _train(keras, callbacks, cli, training, ExportError):
    # The modules come from main, which imports them once KERAS_BACKEND is settled.
    cli.warnings_as_lines()
    backend = keras.backend.backend()
    print(f"backend: {backend}", flush=True)

    overrides = {name: getattr(FLAGS, name) for name in _OVERRIDES}
    process_id = _join_hosts()
    if process_id is not None:
        overrides["distribute"] = "data_parallel"
    workdir = FLAGS.workdir or _default_workdir(backend)
    if process_id:
        workdir = _process_workdir(workdir, process_id)
        print(f"this process's run directory: {workdir}", flush=True)
    extra = [callbacks.BatchDelay(FLAGS.debug_batch_sleep)] if FLAGS.debug_batch_sleep else []
    if FLAGS.debug_step_sleep:
        extra.append(callbacks.SlowSteps(FLAGS.debug_step_sleep))
    if FLAGS.debug_nan_at_epoch:
        extra.append(callbacks.InjectNaN(FLAGS.debug_nan_at_epoch))
    extra.append(callbacks.StopOnSignal())  # last: an epoch's checkpoint is written before it stops
    try:
        config = training.resolve_run_config(
            workdir, FLAGS.resume, preset=FLAGS.dataset, config_path=FLAGS.config, overrides=overrides
        )
        training.train(config, workdir, resume=FLAGS.resume, callbacks=extra)
    except training.USER_ERRORS as err:
        _fail(str(err))
    except training.TrainingDiverged as err:
        _fail(str(err), code=3)
    except ExportError as err:
        _fail(f"training finished and its checkpoints are in {workdir}, but the export failed: {err}", code=1)
    except KeyboardInterrupt:
        _fail(f"{cli.stop_reason()}; {_what_next(workdir, backend)}", code=cli.stopped_exit_code(), mid_line=True)
    except OSError as err:
        if err.errno not in _FILE_SYSTEM_REFUSALS:
            raise
        _fail(f"{err.strerror} ({err.filename or workdir}): free space or fix the permissions; "
              f"{_what_next(workdir, backend)}", mid_line=True)
    except Exception as err:
        if not cli.out_of_memory(err):
            raise
        kept = f"; the checkpoints so far are in {workdir}" if os.path.isdir(workdir) else ""
        _fail(f"out of memory ({type(err).__name__}: {cli.first_line(err)[:200]}). Lower "
              f"--batch_size or --latent_dim, or train a smaller preset{kept}.", mid_line=True)
    print(f"done: {workdir}", flush=True)


def _what_next(workdir, backend):
    return cli.what_was_kept(workdir, backend)


def run(argv=None):
    argv = list(sys.argv if argv is None else argv)
    app.define_help_flags()  # --help/--helpfull, which app.run would define only after parsing
    # absl exits 1 on a bad flag; parsing first makes that a usage error (2) like the others.
    try:
        FLAGS(argv)
    except flags.Error as err:
        _fail(f"{err}. Run with --help to see the flags.")
    app.run(main, argv=argv)


if __name__ == "__main__":
    run()
