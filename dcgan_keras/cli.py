"""What train.py and sample.py share about talking to a user on a terminal."""

import contextlib
import os
import shlex
import signal
import sys
import threading
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
#: The Keras backends train.py and sample.py offer.
BACKENDS = ("tensorflow", "jax", "torch")
#: sample.py's choices, here because sample.py reads them before a backend loads
#: (dcgan_keras.sampling uses the first; dcgan_keras.export writes both formats).
INTERPOLATION_METHODS = ("slerp", "linear")
EXPORT_FORMATS = ("saved_model", "onnx")


#: What train.py's exit codes mean (dcgan_keras.train_command); 130 and 143 are 128 + the signal.
EXIT_CODES = {
    0: "done",
    1: "trained, but the SavedModel export failed (the checkpoints are kept; sample.py --export retries it)",
    2: "bad flags, config, run directory or data, a full disk or an unwritable run directory, out of memory",
    3: "the loss diverged (the last good checkpoint is kept; diverged.txt says what to try)",
    130: "interrupted by Ctrl-C (the last complete epoch is kept)",
    143: "stopped by SIGTERM (the last complete epoch is kept)",
}
def fail(message, code=2, mid_line=False):
    """Prints one `error: ...` line on stderr and exits with `code`.

    Args:
        mid_line: a progress bar may be mid-line on stdout: end its line first.
    """
    if mid_line:
        print(flush=True)
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def define_test_hooks(flag_values=None):
    """Defines train.py's `--debug_*` flags, which only the tests use.

    Defined here rather than in train.py, so absl's `--help` (the main
    module's flags) leaves them out; `--helpfull` lists them.
    """
    from absl import flags

    fv = flags.FLAGS if flag_values is None else flag_values
    flags.DEFINE_integer(
        "debug_cpu_devices", None,
        "Testing: split the CPU into this many devices (jax host devices, tensorflow logical CPUs).",
        lower_bound=1, flag_values=fv,
    )
    flags.DEFINE_float("debug_batch_sleep", 0.0, "Testing: seconds to sleep after each batch.", lower_bound=0.0,
                       flag_values=fv)
    flags.DEFINE_float("debug_step_sleep", 0.0, "Testing: seconds each step's batch-end hook sleeps on fit's "
                       "thread pool, as a slow device would.", lower_bound=0.0, flag_values=fv)
    flags.DEFINE_integer("debug_nan_at_epoch", None, "Testing: make the loss NaN in this (1-based) epoch.",
                         lower_bound=1, flag_values=fv)


def quiet_tensorflow_logs(environ=None):
    """Turns TensorFlow's C++ logging off, unless the user set TF_CPP_MIN_LOG_LEVEL (theirs wins).

    TensorFlow loads on every backend (the data pipeline, the SavedModel
    export) and logs start-up lines a user can do nothing about (oneDNN,
    `cpu_feature_guard`, `generator_dataset_op`) and, on the tensorflow
    backend, an `E0000 ... remapper failed` line that is harmless
    (bench/RESULTS.md, "remapper failed") but reads as a crash: hence level 3,
    errors included. Real failures still raise Python exceptions. Call it
    before TensorFlow is imported; docs/troubleshooting.md says how to see
    the lines again. In this process (no `environ` given) the level also
    holds for the lines TensorFlow prints while it is imported, which
    TensorFlow itself does not filter (dcgan_keras.tf_logs).

    Example:
        >>> env = {}
        >>> quiet_tensorflow_logs(env); env
        {'TF_CPP_MIN_LOG_LEVEL': '3'}
        >>> env = {"TF_CPP_MIN_LOG_LEVEL": "0"}
        >>> quiet_tensorflow_logs(env); env
        {'TF_CPP_MIN_LOG_LEVEL': '0'}
    """
    (os.environ if environ is None else environ).setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if environ is None:
        from dcgan_keras import tf_logs

        tf_logs.filter_import()


def missing_checkpoint(path):
    """The message for a `--checkpoint` that does not exist, or None if something is there.

    Needs no Keras, so sample.py answers a wrong path before it loads a backend.

    Example:
        >>> missing_checkpoint("/no/such/gan.keras")
        'No checkpoint at /no/such/gan.keras: expected a run directory, a .keras file or a SavedModel directory.'
    """
    if os.path.exists(path):
        return None
    return f"No checkpoint at {path}: expected a run directory, a .keras file or a SavedModel directory."


def warnings_as_lines():
    """Shows this package's warnings as one `warning: ...` line, as errors show `error: ...`.

    Python's default names the file and line that warned and repeats it,
    which tells a user of the command line nothing; other packages'
    warnings keep that form, where the location helps whoever reports them.

    Example:
        >>> warnings_as_lines()  # doctest: +SKIP
    """
    default = warnings.formatwarning

    def format_warning(message, category, filename, lineno, line=None):
        if os.path.abspath(filename).startswith(_PACKAGE + os.sep):
            return f"warning: {message}\n"
        return default(message, category, filename, lineno, line)

    warnings.formatwarning = format_warning


def out_of_memory(err):
    """Whether `err` is running out of memory, as any backend says it.

    MemoryError (NumPy), torch's OutOfMemoryError or CPU allocator message,
    XLA's RESOURCE_EXHAUSTED.

    Example:
        >>> out_of_memory(MemoryError())
        True
    """
    text = str(err)
    return (
        isinstance(err, MemoryError)
        or type(err).__name__ in ("OutOfMemoryError", "ResourceExhaustedError")
        or "RESOURCE_EXHAUSTED" in text
        or "can't allocate memory" in text
    )


def export_format(path, asked=None):
    """sample.py's --export format: `asked` (--export_format), else "onnx" for a path ending in .onnx, else "saved_model".

    A path named .onnx that became a SavedModel directory would surprise anyone.

    Example:
        >>> export_format("generator.onnx"), export_format("generator"), export_format("g.onnx", "saved_model")
        ('onnx', 'saved_model', 'saved_model')
    """
    return asked or ("onnx" if path.lower().endswith(".onnx") else "saved_model")


def refuse_export_format_alone(flag_values, fail):
    """sample.py's refusal of --export_format without --export (the DCGAN's and the translators' alike)."""
    if flag_values["export_format"].present and not flag_values.export:
        fail("--export_format says how --export writes the generator; give --export=PATH too.")


def first_line(error):
    """An error's message in one line: its first (Keras and TensorFlow append whole arrays), or its type.

    Example:
        >>> first_line(ValueError("shape mismatch\\nvalue=[[0.1, ...]]"))
        'shape mismatch'
    """
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


_stop_signals = []


@contextlib.contextmanager
def stopping_on_signals():
    """Inside it, SIGTERM stops the program as Ctrl-C does, and neither is lost.

    Schedulers, `timeout` and `docker stop` send SIGTERM, whose default ends
    the process at once: no message, temporaries left, an export's
    subprocess running on. As a KeyboardInterrupt it runs the same clean-up
    as Ctrl-C. And a KeyboardInterrupt raised while Python runs a garbage
    collector callback (JAX has one) is dropped by Python: the signal is
    remembered, and `raise_if_stopped` raises it again where the program
    can stop. Python would also print it, a traceback above the one-line
    message the user gets; inside, `sys.unraisablehook` leaves that one
    out and passes on anything else. The previous handlers and hook come
    back on the way out (a no-op off the main thread, where Python allows
    no handlers).

    Example:
        >>> with stopping_on_signals():  # doctest: +SKIP
        ...     train(config, workdir)
    """

    def handler(signum, frame):
        _stop_signals.append(signal.Signals(signum))
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def unraisable(info):
        if not (isinstance(info.exc_value, KeyboardInterrupt) and _stop_signals):
            previous_hook(info)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _stop_signals.clear()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for sig, old in previous.items():
            signal.signal(sig, old)
        _stop_signals.clear()  # a later StopOnSignal outside it must not stop on this one


def stop_signal():
    """The first signal received inside `stopping_on_signals` (e.g. `signal.SIGTERM`), or None."""
    return _stop_signals[0] if _stop_signals else None


def raise_if_stopped():
    """Raises KeyboardInterrupt if a stop signal came inside `stopping_on_signals`, even a dropped one."""
    if _stop_signals:
        raise KeyboardInterrupt(_stop_signals[0].name)


def stop_reason():
    """How to tell the user why the program stopped: "interrupted" (Ctrl-C) or "stopped by SIGTERM"."""
    received = stop_signal()
    return "interrupted" if received in (None, signal.SIGINT) else f"stopped by {received.name}"


def stopped_exit_code():
    """The shell's code for a process a signal stopped: 128 + its number (130 Ctrl-C, 143 SIGTERM)."""
    return 128 + int(stop_signal() or signal.SIGINT)


def what_was_kept(workdir, backend):
    """After a stop: which epoch the run in `workdir` keeps, and the command that continues it.

    Example:
        >>> what_was_kept("/no/such/run", "jax")
        'the run had not started, so there is nothing to resume: run the command again.'
    """
    from dcgan_keras.rundir import RunDir  # no Keras there either

    run = RunDir(workdir)
    # --resume only where there is a run to resume: a run stopped before its
    # config.json was written has none, and --resume would refuse it.
    if not os.path.isfile(run.config_json):
        return "the run had not started, so there is nothing to resume: run the command again."
    command = f"python train.py --resume --workdir={shlex.quote(workdir)} --backend={backend}"
    checkpoints = run.checkpoints()
    if not checkpoints:
        return f"no epoch had completed, so none is kept; start it again with: {command}"
    epoch, path = checkpoints[-1]
    return f"epoch {epoch} is kept ({os.path.relpath(path, workdir)}); continue with: {command}"
