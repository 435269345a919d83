import os

# Keep TensorFlow's C++ logging out of test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# pytest-xdist runs N test processes (all_backends.sh: -n 2), and each
# backend would start a thread per core in each of them, in the subprocesses
# too: on CI's 2 cores, 2 workers of 2 threads spent a third of the torch
# pass spinning against each other (quick tier 156 s, 103 s at one thread a
# worker). Each worker gets its share of the cores. Set before any backend loads.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
if _WORKERS:
    _THREADS = str(max(1, (os.cpu_count() or 1) // _WORKERS))
    for _name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(_name, _THREADS)
    if _THREADS == "1" and "multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        # XLA's CPU runtime (JAX, and TensorFlow's jit_compile): its ops on one thread. (Not JAX's FAQ's
        # bare `intra_op_parallelism_threads=1`: XLA stops reading XLA_FLAGS at a word without --.)
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()

# XLA's CPU compiler takes seconds per train step, and the tests build the
# same tiny models again and again, in this process and in the subprocesses
# it starts (which inherit the environment): a persistent cache compiles each
# once.
_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".pytest_cache", "jax-compile")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
# And XLA's LLVM optimizations halve those compiles (a tiny GAN's build and
# first fit on JAX: 14 s and 7.5 s cold, 6-7 s and 3 s without them), for
# code whose speed no test measures; the float semantics are the same (XLA's
# CPU fast math stays off). JAX and TensorFlow's XLA both read XLA_FLAGS.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()
# XLA's CPU fusion emitters (on by default in jaxlib 0.10) took a tiny GAN's
# train_step 1.2-1.7 s to compile, the older emitters 0.5-0.9 s: test_gan.py
# on a cold cache, as on CI, 95 s -> 55 s. Most of the JAX pass is such
# compiles (docs/testing.md has its times). jax and tensorflow-cpu are pinned:
# an XLA without this flag would refuse to start, naming it; drop it here then.
if "xla_cpu_use_fusion_emitters" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_use_fusion_emitters=false").strip()

# On a GPU, JAX takes 75% of its memory at start-up, and TensorFlow all of it:
# the second of several test workers (pytest-xdist) then runs out. Allocate
# as needed instead.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")


# pytest-xdist's loadfile hands each worker whole files in the order given
# (all_backends.sh passes --no-loadscope-reorder; by default the files with the
# most tests go first, and the few-but-slow ones came last, for one worker to
# run alone). Longest first, by each backend's measured seconds a file
# (file_seconds.json), balances the two workers: a pass ends when its longer
# worker does. Files not measured yet go first: a slow one must not come last.
# `RECORD_FILE_SECONDS=1 bash tests/all_backends.sh` measures them again.
FILE_SECONDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "file_seconds.json")
_seconds = {}  # {file name: seconds} of this session's reports


def _table():
    """file_seconds.json: {backend: {file name: seconds}}, or {} where it is missing or unreadable."""
    import json

    try:
        with open(FILE_SECONDS) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def pytest_runtest_logreport(report):
    name = os.path.basename(report.nodeid.split("::")[0])
    _seconds[name] = _seconds.get(name, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    # In the xdist controller (or a run without xdist), which sees every worker's reports; only
    # a whole passing run of the full suite: a -k, a tier or a failure would record parts of files.
    option = session.config.option
    if (not os.environ.get("RECORD_FILE_SECONDS") or hasattr(session.config, "workerinput") or not _seconds
            or exitstatus != 0 or option.keyword or option.markexpr != "not slow"):
        return
    import json

    import keras

    table = _table()
    table.setdefault(keras.backend.backend(), {}).update({name: round(t, 1) for name, t in _seconds.items()})
    with open(FILE_SECONDS + ".tmp", "w") as f:
        json.dump({b: dict(sorted(files.items())) for b, files in sorted(table.items())}, f, indent=1)
        f.write("\n")
    os.replace(FILE_SECONDS + ".tmp", FILE_SECONDS)


# The quick tier (`bash tests/all_backends.sh --quick`, i.e. `-m "not slow and
# not full"`) leaves out these files, whose tests start train.py, sample.py or
# other backends in subprocesses (each pays Keras's imports and a compile),
# and the tests marked `full` one by one: the edit-test loop's minutes.
FULL_TIER_FILES = (
    "test_readme.py",
    "test_cross_backend.py",
    "test_train_cli.py",
    "test_train_distribute.py",
    "test_distribute.py",
    "test_export.py",
    "test_translate_runs.py",
)


# Tests marked `one_backend` check what does not depend on the backend of the
# process running them (they start all three in subprocesses, check flags
# before any backend loads, or check what sample.py asks of a checkpoint):
# they run in this backend's pass only.
ONE_BACKEND_PASS = "torch"


def pytest_collection_modifyitems(config, items):
    import keras
    import pytest

    backend = keras.backend.backend()
    skip = pytest.mark.skip(reason=f"backend-neutral: runs once, in the {ONE_BACKEND_PASS} pass")
    for item in items:
        if item.path.name in FULL_TIER_FILES:
            item.add_marker(pytest.mark.full)
        if backend != ONE_BACKEND_PASS and item.get_closest_marker("one_backend"):
            item.add_marker(skip)
    seconds = _table().get(backend, {})
    items.sort(key=lambda item: -seconds.get(item.path.name, float("inf")))
