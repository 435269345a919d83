"""Every `>>>` example in the package's docstrings runs and shows what the code returns, so none can rot.

Each module's examples run with doctest (ELLIPSIS, NORMALIZE_WHITESPACE) from
a fresh directory, since some write files. Examples that need what a test
cannot have are marked `# doctest: +SKIP`, most with a comment saying why: a
data set on disk, a download (InceptionV3 weights, keras.datasets), a trained
classifier or GAN, an existing run directory, a training run, or a path that
depends on the machine. The seam modules (dcgan_keras.backend.*) are left
out: each imports its own backend's framework.
"""

import contextlib
import doctest
import importlib
import io
import pkgutil

import pytest

import dcgan_keras

MODULES = ["dcgan_keras"] + [
    info.name
    for info in pkgutil.walk_packages(dcgan_keras.__path__, "dcgan_keras.")
    if not info.name.startswith("dcgan_keras.backend.")
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        result = doctest.testmod(
            module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True
        )
    assert result.failed == 0, report.getvalue()
    if result.attempted == 0:  # a pass here would claim examples that do not exist or never run
        pytest.skip(f"{name} has no example that runs (none, or all # doctest: +SKIP)")
