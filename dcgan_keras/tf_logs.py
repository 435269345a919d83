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


def copy_kept_lines(source, sink, level):
    """Copies each line of the binary stream `source` that `keeps` keeps to `sink`, as it comes.

    Args:
        source, sink: binary file objects; `sink` is flushed after each line.
        level: the TF_CPP_MIN_LOG_LEVEL to filter by.
    """
    dropped = False
    for line in source:
        body = line.rstrip(b"\n")
        # cpu_feature_guard's second line has no prefix of its own: it goes with the first.
        dropped = (dropped and body.startswith(_CONTINUED)) or not keeps(body, level)
        if not dropped:
            try:
                sink.write(line)
                sink.flush()
            except OSError:  # stderr gone: go on reading, or the writer would block on a full pipe
                pass


class _Filter:
    """Points fd 2 at a pipe while it runs; a child process copies to the real stderr what `keeps` keeps.

    A process, not a thread: TensorFlow's import may abort (a CPU without the
    instructions it was built for logs a fatal line first) or write while it
    holds the GIL, and a thread of this process would then lose the lines or
    never drain the pipe. The child reads on to the end and exits; `__exit__`
    waits for it briefly, so that later lines come after these.
    """

    def __init__(self, level):
        self.level, self.child, self.stderr = level, None, None

    def __enter__(self):
        import subprocess

        try:
            if sys.stderr is not None:
                sys.stderr.flush()
            self.stderr = os.dup(2)
            read, write = os.pipe()
            try:
                # This file as a script, isolated (-I -S): the standard library only, a fast start.
                self.child = subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__), str(self.level)],
                                              stdin=read, stdout=self.stderr, stderr=subprocess.DEVNULL)
                os.dup2(write, 2)
            finally:
                os.close(read)
                os.close(write)
        except (OSError, ValueError):  # no stderr to read (closed), no process to start: not filtered
            self._restore()
        return self

    def __exit__(self, *exc):
        if sys.stderr is not None:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
        self._restore()
        return False

    def _restore(self):
        if self.stderr is not None:
            os.dup2(self.stderr, 2)  # the pipe's last write end here: the child reads to its end
            os.close(self.stderr)
            self.stderr = None
        if self.child is not None:
            try:
                self.child.wait(timeout=5)
            except Exception:  # a process started meanwhile holds the pipe open: let the child finish alone
                pass
            self.child = None


class _Loader:
    """The real loader of `tensorflow`, its module run under a _Filter."""

    def __init__(self, loader, level):
        self.loader, self.level = loader, level

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        try:
            with _Filter(self.level):
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
    stderr read through a pipe by a small child process (about 20 ms to
    start); nothing is imported here. Where TensorFlow is not installed the
    finder stays in `sys.meta_path`, answering None.

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


if __name__ == "__main__":  # the child of _Filter: stdin is the pipe, stdout the real stderr
    copy_kept_lines(sys.stdin.buffer, sys.stdout.buffer, int(sys.argv[1]))
