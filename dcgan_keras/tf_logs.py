"""TF_CPP_MIN_LOG_LEVEL for TensorFlow's start-up lines too.

TensorFlow's C++ logs through absl, and absl writes what comes before its
`InitializeLog` straight to stderr, whatever TF_CPP_MIN_LOG_LEVEL says: on a
CPU with AVX512_BF16 or AVX_VNNI (where TensorFlow turns oneDNN on by
default) `import tensorflow` prints "WARNING: All log messages before
absl::InitializeLog() ..." and "I0000 ... port.cc:153] oneDNN custom
operations are on ..." twice, even at level 3. `filter_import` wraps the first
import of TensorFlow so that those lines, and any other C++ log line below the
level, are dropped; everything else written to stderr meanwhile (a Python
warning, a real error) passes through as it comes.
"""

import importlib.util
import os
import re
import sys
import threading

# absl's prefix: severity letter, MMDD, time, thread id, file:line].
_LOG_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:[\d.]+ +\d+ [^\]\s]+:\d+\] ")
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}
# absl's own notice about the lines above: a warning, shown from level 0 and 1 only.
_BEFORE_INIT = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# The second line of cpu_feature_guard's message, which has no prefix of its own.
_CONTINUED = b"To enable the following instructions:"


def min_log_level(environ=None):
    """The level TensorFlow reads from TF_CPP_MIN_LOG_LEVEL: 0 shows all, 3 fatal errors only.

    Args:
        environ: the environment to read; os.environ by default.

    Example:
        >>> min_log_level({"TF_CPP_MIN_LOG_LEVEL": "3"})
        3
        >>> min_log_level({})
        0
    """
    try:
        return int((os.environ if environ is None else environ).get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def keeps(line, level):
    """Whether `line` (bytes) of stderr is shown at TF_CPP_MIN_LOG_LEVEL `level`.

    Example:
        >>> keeps(b"I0000 00:00:1796597403.847641    6334 port.cc:153] oneDNN custom operations are on.", 3)
        False
        >>> keeps(b"Traceback (most recent call last):", 3)
        True
    """
    if level <= 0:
        return True
    if line.startswith(_BEFORE_INIT):
        return level < 2
    match = _LOG_LINE.match(line)
    return match is None or _SEVERITY[match.group(1)] >= level


class _Forwarder:
    """Points fd 2 at a pipe while it runs, and copies to the real stderr the lines `keeps` keeps."""

    def __init__(self, level):
        self.level = level

    def __enter__(self):
        sys.stderr.flush()
        self.stderr = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self.thread = threading.Thread(target=self._copy, args=(read,), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.stderr, 2)  # closes the pipe's last write end: _copy reads its end and returns
        self.thread.join()
        os.close(self.stderr)
        return False

    def _copy(self, read):
        pending, dropped = b"", False
        with os.fdopen(read, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    dropped = self._forward(line, dropped)
        if pending:
            self._forward(pending, dropped, end=b"")

    def _forward(self, line, dropped, end=b"\n"):
        if (dropped and line.startswith(_CONTINUED)) or not keeps(line, self.level):
            return True
        try:
            os.write(self.stderr, line + end)
        except OSError:  # stderr closed: go on reading, or the importing thread would block on a full pipe
            pass
        return False


class _Loader:
    """The real loader of `tensorflow`, its module run under a _Forwarder."""

    def __init__(self, loader, level):
        self.loader, self.level = loader, level

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        try:
            with _Forwarder(self.level):
                self.loader.exec_module(module)
        finally:
            module.__loader__ = module.__spec__.loader = self.loader
            _uninstall()


class _Finder:
    """Finds `module` with the finders after it, and wraps its loader in _Loader."""

    def __init__(self, level, module):
        self.level, self.module, self.searching = level, module, False

    def find_spec(self, name, path=None, target=None):
        if name != self.module or self.searching:
            return None
        # Not removed from sys.meta_path here: the import system is iterating over it.
        self.searching = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.searching = False
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader, self.level)
        return spec


def _uninstall():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def filter_import(environ=None, module="tensorflow"):
    """Drops TensorFlow's C++ log lines below TF_CPP_MIN_LOG_LEVEL while it is first imported.

    Call it before anything imports TensorFlow; it does nothing where that has
    happened, where the level shows every line, or where it was called before.
    The first `import tensorflow` (by Keras, tf.data or ours) then runs with
    stderr read through a pipe; nothing is imported here.

    Args:
        environ: where to read TF_CPP_MIN_LOG_LEVEL; os.environ by default.
        module: the top-level module whose first import is filtered (the tests give their own).

    Example (not run here: it would change how the tests' process imports TensorFlow):
        >>> os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # doctest: +SKIP
        >>> filter_import()  # doctest: +SKIP
        >>> import tensorflow  # no oneDNN lines  # doctest: +SKIP
    """
    level = min_log_level(environ)
    if level <= 0 or module in sys.modules or any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder(level, module))
