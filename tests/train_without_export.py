"""`python train.py ARGS` with the SavedModel export replaced by an empty directory.

For command-line tests whose subject is not the export: on JAX and torch the
export costs a TensorFlow subprocess. tests/test_train_cli.py runs the real one.
"""

import os
import runpy
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

sys.path.insert(0, REPO)
from dcgan_keras.train_command import run_backend  # noqa: E402  (imports no Keras)

# Keras picks its backend at import: the one train.py is about to pick, from
# --backend or, for a --resume without it, from the run's config.json.
flags = dict(arg[2:].split("=", 1) for arg in sys.argv[1:] if arg.startswith("--") and "=" in arg)
backend = flags.get("backend") or ("--resume" in sys.argv and run_backend(flags.get("workdir", "")))
if backend:
    os.environ["KERAS_BACKEND"] = backend
from dcgan_keras import export  # noqa: E402  (imports Keras, starts no device)


def _no_export(generator, export_dir, overwrite=False, timeout=None):
    os.makedirs(export_dir, exist_ok=True)
    return export_dir


export.export_saved_model = _no_export
sys.argv[0] = os.path.join(REPO, "train.py")
runpy.run_path(sys.argv[0], run_name="__main__")
