import os

# Keep TensorFlow's C++ logging out of test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if os.environ.get("KERAS_BACKEND") == "jax":
    import jax

    # XLA's CPU compiler takes seconds per train step, and the tests build the
    # same tiny models again and again: a persistent cache compiles each once.
    cache = os.path.join(os.path.dirname(os.path.dirname(__file__)), ".pytest_cache", "jax-compile")
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
