"""Training on several devices and hosts, with each backend's own engine.

JAX uses `keras.distribution.DataParallel`, on one host or several
(`initialize_multi_host`); TensorFlow `tf.distribute`'s MirroredStrategy on
one host (Keras 3's fit fails under MultiWorkerMirroredStrategy,
keras-team/keras#20585, so a TF_CONFIG is refused). The global batch is split across devices and the metrics are global.
BatchNorm statistics are global on JAX (one SPMD program over the whole
batch) and per replica on TensorFlow (Keras's default; `synchronized=True`
exists only on TensorFlow and would tie checkpoints to it). Keras's torch
backend has no distribution support, so torch refuses clearly.
"""

import contextlib
import warnings

import keras

from dcgan_keras import backend as seam
from dcgan_keras.config import DISTRIBUTE_MODES as MODES  # noqa: F401  (each list of choices is defined once, there)
from dcgan_keras.config import PRECISIONS


def data_parallel(devices=None):
    """A context manager: build, compile and fit inside it to train data-parallel.

    Args:
        devices: device names to use; default all visible ones.

    Example:
        >>> with data_parallel():  # doctest: +SKIP
        ...     gan = DCGAN(discriminator=build_discriminator(), generator=build_generator())
        ...     gan.compile()
        ...     gan.fit(data.batches(256), epochs=5, shuffle=False)
    """
    return seam.data_parallel_scope(devices)


def initialize_multi_host(coordinator_address, num_processes, process_id):
    """Joins this process to a multi-host JAX run (call before building anything).

    JAX only: Keras 3's TensorFlow trainer does not run under
    MultiWorkerMirroredStrategy, and torch has no distribution support.

    Args:
        coordinator_address: "host:port" of process 0.
        num_processes: how many processes take part.
        process_id: this process's index, 0 to num_processes - 1.

    Example:
        >>> initialize_multi_host("10.0.0.1:1234", num_processes=2, process_id=0)  # doctest: +SKIP
    """
    if keras.backend.backend() != "jax":
        raise ValueError(
            "Multi-host training runs on the jax backend only (Keras 3's TensorFlow trainer fails "
            "under MultiWorkerMirroredStrategy, keras-team/keras#20585; torch has no distribution "
            f"support). Received backend: {keras.backend.backend()!r}."
        )
    keras.distribution.initialize(
        job_addresses=coordinator_address, num_processes=num_processes, process_id=process_id
    )


def set_precision(policy):
    """Sets the Keras dtype policy for models built afterwards.

    Under "mixed_float16" DCGAN.compile wraps both optimizers in loss scaling;
    BatchNorm statistics, the discriminator's logits, the generator's tanh and
    the losses stay float32, and weights are stored as float32 either way.
    Mixed precision is for GPUs: "mixed_float16" warns when the backend
    computes on a CPU, where it is slower than float32 (8-45x on TensorFlow
    and torch, 1.1-1.3x on JAX: bench/RESULTS.md).

    Args:
        policy: "float32", "mixed_float16" or "mixed_bfloat16".

    Example:
        >>> set_precision("mixed_bfloat16")  # doctest: +SKIP
    """
    if policy not in PRECISIONS:
        raise ValueError(f"Unknown precision {policy!r}. Expected one of {list(PRECISIONS)}.")
    if policy == "mixed_float16" and seam.computes_on_cpu():
        # Half precision pays on GPUs; CPUs have no fast float16 kernels, and a
        # user asking for speed would get a run many times slower, unannounced.
        warnings.warn(
            "mixed_float16 on a CPU computes slower than float32, not faster: CPUs have no fast "
            "float16 kernels (a DCGAN step took 8x as long on TensorFlow and 24-45x on torch in "
            "bench/RESULTS.md). On a CPU use mixed_bfloat16 (0.6-1.06x float32's step time there) "
            "or float32.",
            stacklevel=2,
        )
    keras.mixed_precision.set_global_policy(policy)


@contextlib.contextmanager
def precision(policy):
    """`set_precision(policy)` inside the block; the previous global policy after it.

    Models keep the policy they were built under, so build them inside the
    block and train or save them anywhere.

    Args:
        policy: "float32", "mixed_float16" or "mixed_bfloat16".

    Example:
        >>> from dcgan_keras import build_generator
        >>> with precision("mixed_bfloat16"):
        ...     generator = build_generator(preset="tf_tutorial")
        >>> sorted({layer.dtype_policy.name for layer in generator.layers})  # tanh's output stays float32
        ['float32', 'mixed_bfloat16']
        >>> keras.mixed_precision.global_policy().name
        'float32'
    """
    previous = keras.mixed_precision.global_policy().name
    set_precision(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
