"""`python train.py ARGS` with the SavedModel export replaced by an empty directory.

For command-line tests whose subject is not the export: on JAX and torch the
export costs a TensorFlow subprocess. tests/test_train_cli.py runs the real one.
"""

import os
import runpy
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

sys.path.insert(0, REPO)
from dcgan_keras import train_command  # noqa: E402  (imports no Keras)


def _no_export(generator, export_dir, overwrite=False, timeout=None):
    os.makedirs(export_dir, exist_ok=True)
    return export_dir


_train = train_command._train


def _train_without_export(backend):
    # train.py has picked the backend (--backend, a resumed run's, $KERAS_BACKEND) and imported Keras.
    from dcgan_keras import export

    export.export_saved_model = _no_export
    return _train(backend)


train_command._train = _train_without_export
sys.argv[0] = os.path.join(REPO, "train.py")
runpy.run_path(sys.argv[0], run_name="__main__")
