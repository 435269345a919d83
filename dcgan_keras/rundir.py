"""The run directory: its layout, the refusal rules, and crash-safe writes.

    WORKDIR/
      config.json              resolved config, backend, package versions, start time, resumes
      fixed_noise.npy          the z of the sample grids, fixed for the whole run
      checkpoints/epoch_0003.keras   full DCGAN (optimizers and RNG state), last few kept
      samples/epoch_0003.png   grid from fixed_noise after each epoch
      progress.gif             those grids, animated
      metrics.csv              one row per epoch (1-based, as the checkpoint names)
      tensorboard/             scalars and the sample grid
      diverged.txt             only if a loss became NaN/inf: what happened
      generator.keras          at the end: the generator alone
      generator/               at the end: the generator as a TensorFlow SavedModel
                               (a CycleGAN's two: generator_ab.keras, generator_ab/,
                               generator_ba.keras, generator_ba/; see GENERATOR_NAMES)
      .lock                    flock()ed by the process training here (its pid)

Every file is written to a temporary name in its own directory and renamed
into place (`os.replace` is atomic), so a process killed at any moment leaves
either the old file or the new one. The checkpoint is written last in each
epoch: it is the commit point a resumed run starts from, and anything written
for a later epoch (a metrics row, a sample) is dropped or rewritten on resume.

No Keras here: the command line checks a directory before loading a backend.
"""

import contextlib
import csv
import datetime
import importlib.metadata
import io
import json
import os
import re
import shutil

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

#: The names a finished run writes its generators under (`GAN.exported_generators`' keys):
#: NAME.keras and the SavedModel NAME/ each. One generator is "generator"; a
#: CycleGAN's are "generator_ab" (A -> B) and "generator_ba" (B -> A).
GENERATOR_NAMES = ("generator", "generator_ab", "generator_ba")
_CHECKPOINT = re.compile(r"^epoch_(\d{4,})\.keras$")
_SAMPLE = re.compile(r"^epoch_(\d{4,})\.png$")
# Our temporaries: ".tmp-<pid>-<name>" (keeps the extension Keras insists
# on) and images.save_png's "<name>.tmp-<pid>"; "*.tmp" for good measure.
_TEMPORARY = re.compile(r"(^\.tmp-)|(\.tmp(-\d+)?$)")


def is_temporary(name):
    """Whether a file name is one of our atomic writes' temporaries (`.tmp-PID-x`, `x.tmp-PID`)."""
    return bool(_TEMPORARY.search(name))

_VERSIONED = ("keras", "numpy", "jax", "jaxlib", "torch", "pillow", "absl-py", "scipy")
_TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tf-nightly")


class RunDirError(ValueError):
    """A run directory that cannot be used as asked; the message says what to do instead.

    Example:
        >>> check_new_run("runs/mnist-jax-20250101-120000")  # already holds a run  # doctest: +SKIP
        Traceback (most recent call last):
        dcgan_keras.rundir.RunDirError: runs/... already holds files ... pass --resume ... or choose another --workdir.
    """


def temporary_path(path):
    """Where to write `path` before renaming it into place: same directory, same extension."""
    directory, name = os.path.split(os.fspath(path))
    return os.path.join(directory, f".tmp-{os.getpid()}-{name}")


def replace_atomically(tmp, path):
    """Flushes `tmp` to disk and renames it to `path`."""
    if os.path.isfile(tmp):
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def writing(path):
    """Yields the temporary path to write `path` at; renames it into place when the block ends.

    If the block fails (a full disk, an interrupt), the old `path` stays as
    it was and no half-written temporary is left beside it to fill the disk.

    Example:
        >>> with writing("runs/x/checkpoints/epoch_0001.keras") as tmp:  # doctest: +SKIP
        ...     gan.save(tmp)
    """
    tmp = temporary_path(path)
    try:
        yield tmp
        replace_atomically(tmp, path)
    except BaseException:
        remove(tmp)
        raise


def remove(path):
    """Removes the file or folder at `path` if it can; nothing if none is there.

    Example:
        >>> remove("runs/x/.tmp-123-epoch_0001.keras")  # a failed write's temporary
    """
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.remove(path)


def write_bytes(path, data):
    """Writes `data` to `path` atomically (see `writing`).

    Example:
        >>> os.makedirs("runs/x", exist_ok=True)
        >>> write_bytes("runs/x/config.json", b"{}")
        'runs/x/config.json'
    """
    with writing(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path


def write_json(path, value):
    """Writes `value` as indented JSON to `path` atomically."""
    return write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def package_versions():
    """{distribution: version} of what a run depends on, without importing any of it."""
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    for name in _TENSORFLOW_DISTRIBUTIONS:
        try:
            versions["tensorflow"] = importlib.metadata.version(name)
            break
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def now():
    """The local time, ISO 8601 with offset, to the second."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


class RunDir:
    """Paths and file operations of one run directory.

    Args:
        path: the directory (need not exist yet).

    Example:
        >>> run = RunDir("runs/demo")
        >>> run.checkpoint_path(3)
        'runs/demo/checkpoints/epoch_0003.keras'
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        join = lambda *parts: os.path.join(self.path, *parts)  # noqa: E731
        self.config_json = join("config.json")
        self.fixed_noise = join("fixed_noise.npy")
        self.checkpoints_dir = join("checkpoints")
        self.samples_dir = join("samples")
        self.gif = join("progress.gif")
        self.metrics_csv = join("metrics.csv")
        self.metrics_png = join("metrics.png")
        self.tensorboard_dir = join("tensorboard")
        self.diverged = join("diverged.txt")
        self.generator_keras = join("generator.keras")
        self.generator_saved_model = join("generator")
        self.lock_file = join(".lock")

    def generator_paths(self, name="generator"):
        """(NAME.keras, the SavedModel folder NAME/) of the exported generator `name` (one of GENERATOR_NAMES)."""
        if name not in GENERATOR_NAMES:
            raise ValueError(f"A run exports generators named {', '.join(GENERATOR_NAMES)}; got {name!r}.")
        return os.path.join(self.path, f"{name}.keras"), os.path.join(self.path, name)

    # ------------------------------------------------------------ layout

    def create(self, new=False):
        """Makes the directory and its sub-directories, and takes its lock until `release`.

        One process trains in a run directory at a time: two would interleave
        their metrics rows and delete each other's checkpoint temporaries.
        The lock is `flock` on `.lock` (POSIX; the operating system lets it go
        when the process ends, however it ends).

        Args:
            new: a new run starts here, so the directory must still hold
                nothing: checked again under the lock, as another run may
                have started in it since `check_new_run`.

        Raises:
            RunDirError: the directory cannot be created, another process
                trains in it, or (`new`) it holds files now.
        """
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as err:
            raise RunDirError(f"Cannot create the run directory {self.path}: {err}") from err
        if getattr(self, "_lock", None) is None:  # not twice: a second flock would wait on our own
            self._lock = _lock(self.lock_file)
        if new and not _holds_nothing(self.path):
            self.release()
            raise RunDirError(_holds_a_run_message(self.path))
        try:
            for directory in (self.checkpoints_dir, self.samples_dir):
                os.makedirs(directory, exist_ok=True)
        except OSError as err:
            self.release()
            raise RunDirError(f"Cannot create the run directory {self.path}: {err}") from err

    def release(self):
        """Lets go of the lock `create` took (a no-op without one)."""
        lock, self._lock = getattr(self, "_lock", None), None
        if lock is not None:
            lock.close()

    def checkpoint_path(self, epoch):
        return os.path.join(self.checkpoints_dir, f"epoch_{epoch:04d}.keras")

    def sample_path(self, epoch):
        return os.path.join(self.samples_dir, f"epoch_{epoch:04d}.png")

    def _numbered(self, directory, pattern):
        if not os.path.isdir(directory):
            return []
        found = []
        for name in os.listdir(directory):
            match = pattern.match(name)
            if match:
                found.append((int(match.group(1)), os.path.join(directory, name)))
        return sorted(found)

    def checkpoints(self):
        """[(epoch, path)] of the complete checkpoints, oldest first (temporaries ignored)."""
        return self._numbered(self.checkpoints_dir, _CHECKPOINT)

    def samples(self, up_to=None):
        """[(epoch, path)] of the sample grids, oldest first, up to epoch `up_to`."""
        return [(e, p) for e, p in self._numbered(self.samples_dir, _SAMPLE) if up_to is None or e <= up_to]

    def truncate_samples(self, last_epoch):
        """Deletes the sample grids after epoch `last_epoch` (a lost epoch's); returns how many."""
        lost = [path for epoch, path in self.samples() if epoch > last_epoch]
        for path in lost:
            os.remove(path)
        return len(lost)

    def temporaries(self):
        """Leftovers of writes a killed process did not finish."""
        found = []
        for directory in (self.path, self.checkpoints_dir, self.samples_dir, self.tensorboard_dir):
            if os.path.isdir(directory):
                found += [os.path.join(directory, n) for n in os.listdir(directory) if _TEMPORARY.search(n)]
        return sorted(found)

    def remove_temporaries(self):
        for path in self.temporaries():
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)

    def rotate_checkpoints(self, keep):
        """Deletes all but the newest `keep` checkpoints."""
        for _, path in self.checkpoints()[:-keep]:
            os.remove(path)

    # ----------------------------------------------------------- record

    def read_record(self):
        """The parsed config.json; RunDirError if it is missing or unreadable."""
        try:
            with open(self.config_json) as f:
                record = json.load(f)
        except FileNotFoundError:
            raise RunDirError(
                f"{self.path} is not a run directory (it has no config.json), so there is "
                "nothing to resume: start a new run without --resume, or pass the --workdir "
                "of an earlier run."
            ) from None
        except (OSError, ValueError) as err:
            raise RunDirError(f"Cannot read {self.config_json}: {err}") from err
        if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
            raise RunDirError(f"{self.config_json} is not a dcgan_keras run record (no 'config').")
        return record

    def write_record(self, record):
        write_json(self.config_json, record)

    # ---------------------------------------------------------- metrics

    def truncate_metrics(self, last_epoch):
        """Drops metrics.csv rows after epoch `last_epoch`: they belong to a lost epoch.

        A process killed between writing an epoch's row and its checkpoint
        leaves a row that the resumed run will write again.
        """
        if not os.path.isfile(self.metrics_csv):
            return
        with open(self.metrics_csv, newline="") as f:
            rows = list(csv.reader(f))
        if not rows:
            return
        header, body = rows[0], rows[1:]
        kept = [row for row in body if row and _row_epoch(row) is not None and _row_epoch(row) <= last_epoch]
        if len(kept) == len(body):
            return
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(kept)
        write_bytes(self.metrics_csv, out.getvalue().encode())


def _row_epoch(row):
    try:
        return int(row[0])
    except ValueError:
        return None


def _lock(path, check_only=False):
    """An open `path`, exclusively `flock`ed, holding our pid; RunDirError naming the holder if taken.

    `check_only`: only whether it is free (the file is opened to read, and closed).
    """
    if fcntl is None:  # Windows: no advisory locks to take
        return None
    try:
        f = open(path, "r" if check_only else "a+")
    except OSError as err:
        raise RunDirError(f"Cannot open {path} ({err.strerror or err}): fix the run directory's permissions.") from err
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if not isinstance(err, BlockingIOError):
            # A file system without locks (some network ones): train unguarded, as before.
            if check_only:
                f.close()
                return None
            return f
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        raise RunDirError(
            f"Another process (pid {holder}) is training in {os.path.dirname(path)}: wait for it to "
            "end (or stop it), or choose another --workdir."
        ) from None
    if check_only:
        f.close()
        return None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def _check_unlocked(run):
    # Before the slow loading, so that a busy run is refused at once (create takes the lock for real).
    if os.path.exists(run.lock_file):
        _lock(run.lock_file, check_only=True)


def _holds_nothing(path):
    """Whether `path` holds nothing, or only the lock and the empty folders `RunDir.create` makes."""
    run = RunDir(path)
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if full == run.lock_file:
            continue
        if full in (run.checkpoints_dir, run.samples_dir) and os.path.isdir(full) and not os.listdir(full):
            continue
        return False
    return True


def check_new_run(path):
    """Refuses a workdir that already holds anything: a new run never overwrites files.

    An empty (or missing) directory is fine, and so is what `RunDir.create`
    makes before a run's first file (a run stopped right then left nothing).

    Raises:
        RunDirError: suggesting --resume or another --workdir.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunDirError(f"--workdir {path} is a file, not a directory: choose another --workdir.")
    try:
        empty = not os.path.isdir(path) or _holds_nothing(path)
    except OSError as err:
        raise RunDirError(f"Cannot read {path} ({err.strerror or err}): fix its permissions, or choose "
                          "another --workdir.") from err
    if not empty:
        _check_unlocked(RunDir(path))  # a run in progress there, not one to --resume
        raise RunDirError(_holds_a_run_message(path))
    return RunDir(path)


def _holds_a_run_message(path):
    what = "an earlier run" if os.path.isfile(os.path.join(path, "config.json")) else "files"
    return (
        f"{path} already holds {what}; a new run never overwrites it. Pass --resume to "
        "continue that run, or choose another --workdir."
    )


def check_resumable(path):
    """The RunDir of an existing run and its record; RunDirError if there is none to resume.

    A run killed before its first checkpoint is resumable: it starts again
    from epoch 0 with its recorded config and fixed noise.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise RunDirError(
            f"--resume: {path} does not exist, so there is no run to resume. Check --workdir, "
            "or start a new run without --resume."
        )
    run = RunDir(path)
    _check_unlocked(run)
    return run, run.read_record()
