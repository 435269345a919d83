"""What train.py and sample.py share about talking to a user on a terminal."""

import contextlib
import os
import signal
import threading
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


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
    collector callback (JAX has one) is printed and dropped: the signal is
    remembered, and `raise_if_stopped` raises it again where the program
    can stop. The previous handlers come back on the way out (a no-op off
    the main thread, where Python allows no handlers).

    Example:
        >>> with stopping_on_signals():  # doctest: +SKIP
        ...     train(config, workdir)
    """

    def handler(signum, frame):
        _stop_signals.append(signal.Signals(signum))
        raise KeyboardInterrupt(signal.Signals(signum).name)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _stop_signals.clear()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
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
