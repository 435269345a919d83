"""What `python train.py` does, after its flags: picks the backend, trains, maps errors to exit codes.

train.py only defines the flags (`define_flags`) and calls `main`. Exit
codes (`cli.EXIT_CODES`): 0 done, 2 bad flags/config/workdir/data or a full
disk (one `error:` line, nothing overwritten), 3 the loss diverged (the last
good checkpoint is kept), 1 trained but the SavedModel export failed
(checkpoints kept; `sample.py --export` retries it), 130 interrupted by
Ctrl-C, 143 stopped by SIGTERM (both keep the last complete epoch for --resume).

This module imports no Keras: Keras reads KERAS_BACKEND once, when first
imported, and `main` sets it from the flags first.
"""

import errno
import json
import os
import sys
import time

from absl import flags, logging

from dcgan_keras import cli, config

BACKENDS = cli.BACKENDS
MULTI_HOST = ("coordinator_address", "num_processes", "process_id")
FLAGS = flags.FLAGS


# What the file system refused (space, quota, permissions): a user's to fix, not a bug.
_FILE_SYSTEM_REFUSALS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS, errno.EACCES, errno.EPERM}


def training_exit(err, workdir, backend):
    """(exit code, message, mid_line) for an error that ended training in `workdir`; (None, ...) to re-raise.

    The one mapping of errors to train.py's exit codes (cli.EXIT_CODES); what is
    not the user's to fix (a bug) is re-raised, with its traceback.

    Example:
        >>> training_exit(KeyboardInterrupt(), "/no/such/run", "jax")[:2]
        (130, 'interrupted; the run had not started, so there is nothing to resume: run the command again.')
    """
    from dcgan_keras import training
    from dcgan_keras.export import ExportError

    if isinstance(err, KeyboardInterrupt):
        return cli.stopped_exit_code(), f"{cli.stop_reason()}; {cli.what_was_kept(workdir, backend)}", True
    if isinstance(err, training.USER_ERRORS):
        return 2, str(err), False
    if isinstance(err, training.TrainingDiverged):
        return 3, str(err), False
    if isinstance(err, ExportError):
        return 1, f"training finished and its checkpoints are in {workdir}, but the export failed: {err}", False
    if isinstance(err, OSError) and err.errno in _FILE_SYSTEM_REFUSALS:
        return 2, (f"{err.strerror} ({err.filename or workdir}): free space or fix the permissions; "
                   f"{cli.what_was_kept(workdir, backend)}"), True
    if isinstance(err, Exception) and cli.out_of_memory(err):
        kept = f"; the checkpoints so far are in {workdir}" if os.path.isdir(workdir) else ""
        return 2, (f"out of memory ({type(err).__name__}: {cli.first_line(err)[:200]}). Lower --batch_size or "
                   f"--latent_dim, or train a smaller preset{kept}."), True
    return None, None, False


def define_flags(flag_values=FLAGS):
    """Defines train.py's flags: the run's own, then one per `config.FLAG_HELP` field, then multi-host."""
    flags.DEFINE_enum("backend", None, BACKENDS,
                      "Keras backend (default: with --resume the run's, else $KERAS_BACKEND, else tensorflow).",
                      flag_values=flag_values)
    flags.DEFINE_string("dataset", None, "Preset name: configs/NAME.py (mnist, fashion_mnist, cifar10, ...).",
                        flag_values=flag_values)
    flags.DEFINE_string("config", None, "A preset file (defines get_config()), instead of --dataset.",
                        flag_values=flag_values)
    flags.DEFINE_string("workdir", None, "Run directory (default runs/<dataset>-<backend>-<timestamp>). A new run "
                        "refuses one that holds files.", flag_values=flag_values)
    flags.DEFINE_bool("resume", False, "Continue the run in --workdir from its last complete checkpoint.",
                      flag_values=flag_values)
    _define_config_flags(config.flag_specs(), flag_values)
    flags.DEFINE_string("coordinator_address", None, "Multi-host jax: host:port of process 0. With "
                        "--num_processes and --process_id, on every host.", flag_values=flag_values)
    flags.DEFINE_integer("num_processes", None, "Multi-host jax: how many processes take part.", lower_bound=1,
                         flag_values=flag_values)
    flags.DEFINE_integer("process_id", None, "Multi-host jax: this process's index, from 0.", lower_bound=0,
                         flag_values=flag_values)
    cli.define_test_hooks(flag_values)


def _define_config_flags(specs, flag_values=None):
    """One absl flag per `config.FlagSpec` (default None: the preset's value, else Config's, stands).

    Defined in this module, as train.py's other flags, so that `--help`
    lists them (train.py adopts this module's flags; cli.py's test hooks stay
    out).
    """
    fv = flag_values
    for spec in specs:
        if spec.choices is not None:
            flags.DEFINE_enum(spec.name, None, list(spec.choices), spec.help, flag_values=fv)
        elif spec.kind is bool:
            flags.DEFINE_bool(spec.name, None, spec.help, flag_values=fv)
        elif spec.kind is int:
            flags.DEFINE_integer(spec.name, None, spec.help, lower_bound=spec.lower, upper_bound=spec.upper,
                                 flag_values=fv)
        elif spec.kind is float:
            flags.DEFINE_float(spec.name, None, spec.help, lower_bound=spec.lower, upper_bound=spec.upper,
                               flag_values=fv)
        else:
            flags.DEFINE_string(spec.name, None, spec.help, flag_values=fv)


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
        cli.fail(f"--debug_cpu_devices is for the jax and tensorflow backends, not {backend}.")


def check_multi_host(values):
    """The multi-host flags' problem in one sentence, or None; `values` maps MULTI_HOST and distribute.

    Example:
        >>> check_multi_host({"coordinator_address": "h:1", "num_processes": 2, "process_id": 2})
        '--process_id must be below --num_processes=2, got 2.'
    """
    given = [name for name in MULTI_HOST if values.get(name) is not None]
    if not given:
        return None
    missing = [f"--{name}" for name in MULTI_HOST if name not in given]
    if missing:
        return f"--coordinator_address, --num_processes and --process_id go together; missing {', '.join(missing)}."
    host, _, port = values["coordinator_address"].rpartition(":")
    if not host or not port.isdigit():
        return (f"--coordinator_address must be HOST:PORT of process 0 (e.g. 10.0.0.1:1234), "
                f"got {values['coordinator_address']!r}.")
    if values["process_id"] >= values["num_processes"]:
        return f"--process_id must be below --num_processes={values['num_processes']}, got {values['process_id']}."
    if values.get("distribute") == "none":
        return "the multi-host flags train data-parallel across the hosts; leave out --distribute=none."
    return None


def _join_hosts():
    """Joins the multi-host JAX run the flags describe, before anything is built; this process's id or None."""
    from dcgan_keras.distribute import initialize_multi_host

    values = {name: getattr(FLAGS, name) for name in MULTI_HOST + ("distribute",)}
    problem = check_multi_host(values)
    if problem:
        cli.fail(problem)
    if FLAGS.process_id is None:
        return None
    try:
        initialize_multi_host(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
    except ValueError as err:
        cli.fail(str(err))
    return FLAGS.process_id


def run_backend(workdir):
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


def process_workdir(workdir, process_id):
    """WORKDIR for process 0 of a multi-host run, WORKDIR-processN for process N.

    Each process keeps its own run directory (process 0's is the run): the
    weights are replicated, so every process checkpoints and resumes from its
    own copy, on a shared file system or not, and no two write one file.

    Example:
        >>> process_workdir("runs/x/", 2)
        'runs/x-process2'
    """
    return f"{workdir.rstrip(os.sep)}-process{process_id}" if process_id else workdir


def main(argv):
    """train.py's main, for absl's app.run: settles the backend, then imports Keras and trains."""
    cli.quiet_tensorflow_logs()
    if not FLAGS["verbosity"].present:
        # Backends log INFO lines through absl (JAX: "Unable to initialize backend 'tpu'").
        logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        cli.fail(f"unexpected argument(s) {' '.join(argv[1:])}; flags look like --name=value.")
    if FLAGS.resume and not FLAGS.workdir:
        cli.fail("--resume needs the --workdir of the run to continue.")
    if FLAGS["workdir"].present and not FLAGS.workdir:
        cli.fail("--workdir is empty; name the run directory, or leave the flag out for runs/<name>-<time>.")
    previous = run_backend(process_workdir(FLAGS.workdir, FLAGS.process_id)) if FLAGS.resume else None
    backend_source = None
    if FLAGS.backend:
        os.environ["KERAS_BACKEND"] = FLAGS.backend
    elif previous:
        # The run's own, over a shell's default: another backend trains on, but
        # off the run's random streams, so --backend must ask for it.
        os.environ["KERAS_BACKEND"] = previous
        backend_source = (f"the run in {FLAGS.workdir} trained on it (its config.json): install it, or "
                          "pass --backend=NAME to resume on another")
    if FLAGS.debug_cpu_devices:
        _split_cpu_before_import(FLAGS.debug_cpu_devices)

    # Only now, with KERAS_BACKEND settled, may Keras be imported.
    try:
        import keras

        if FLAGS.debug_cpu_devices:
            _split_cpu_after_import(FLAGS.debug_cpu_devices, keras.backend.backend())
        from dcgan_keras import training  # noqa: F401  (fails here, not mid-run, if the backend cannot load)
    except ImportError as err:
        cli.fail(f"cannot load the Keras backend {os.environ.get('KERAS_BACKEND')!r}: {err}"
                 + (f" ({backend_source})" if backend_source else ""))
    except KeyboardInterrupt:
        cli.fail("interrupted while loading Keras; nothing was written.", code=130)
    with cli.stopping_on_signals():
        _train(keras.backend.backend())


def _train(backend):
    from dcgan_keras import callbacks, training

    cli.warnings_as_lines()
    print(f"backend: {backend}", flush=True)
    overrides = {spec.name: getattr(FLAGS, spec.name) for spec in config.flag_specs()}
    process_id = _join_hosts()
    if process_id is not None:
        overrides["distribute"] = "data_parallel"
    workdir = FLAGS.workdir or _default_workdir(backend)
    if process_id:
        workdir = process_workdir(workdir, process_id)
        print(f"this process's run directory: {workdir}", flush=True)
    extra = [callbacks.BatchDelay(FLAGS.debug_batch_sleep)] if FLAGS.debug_batch_sleep else []
    if FLAGS.debug_step_sleep:
        extra.append(callbacks.SlowSteps(FLAGS.debug_step_sleep))
    if FLAGS.debug_nan_at_epoch:
        extra.append(callbacks.InjectNaN(FLAGS.debug_nan_at_epoch))
    extra.append(callbacks.StopOnSignal())  # last: an epoch's checkpoint is written before it stops
    try:
        run_config = training.resolve_run_config(
            workdir, FLAGS.resume, preset=FLAGS.dataset, config_path=FLAGS.config, overrides=overrides
        )
        training.train(run_config, workdir, resume=FLAGS.resume, callbacks=extra)
    except BaseException as err:  # noqa: B036  (KeyboardInterrupt is a stop signal's; see training_exit)
        code, message, mid_line = training_exit(err, workdir, backend)
        if code is None:
            raise
        cli.fail(message, code=code, mid_line=mid_line)
    print(f"done: {workdir}", flush=True)


def parse_and_run(argv=None):
    """Parses the flags (a bad one exits 2, as every usage error), then runs `main` under absl's app.run."""
    from absl import app

    argv = list(sys.argv if argv is None else argv)
    app.define_help_flags()  # --help/--helpfull, which app.run would define only after parsing
    # absl exits 1 on a bad flag; parsing first makes that a usage error (2) like the others.
    try:
        FLAGS(argv)
    except flags.Error as err:
        cli.fail(f"{err}. Run with --help to see the flags.")
    app.run(main, argv=argv)
