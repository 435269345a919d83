"""metrics.png (dcgan_keras.plots): its curves are metrics.csv's, and it is replaced atomically."""

import os

import numpy as np
import pytest
from PIL import Image

from dcgan_keras import plots
from dcgan_keras.callbacks import read_metrics

CSV = """epoch,d_acc,d_fake,d_loss,d_real,fid,g_loss,images_per_sec,seconds
1,0.5,0.45,1.3,0.55,,0.8,100.0,10.0
2,0.6,0.40,1.2,0.60,120.5,0.9,100.0,10.0
3,0.7,0.35,1.1,0.65,,1.0,100.0,10.0
"""


def test_the_figure_draws_each_column_of_metrics_csv_and_fid_where_computed(tmp_path):
    (tmp_path / "metrics.csv").write_text(CSV)
    path = plots.plot_metrics(tmp_path / "metrics.csv", tmp_path / "metrics.png")
    assert os.fspath(path) == os.fspath(tmp_path / "metrics.png")
    metrics, curves = read_metrics(tmp_path / "metrics.csv"), plots.read_curves(path)
    assert sorted(curves) == ["d_fake", "d_loss", "d_real", "fid", "g_loss"]
    for column in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(curves[column], np.stack([metrics["epoch"], metrics[column]], 1))
    assert curves["fid"] == [[2.0, 120.5]]  # only the epochs that computed it
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 3 * image.size[1]  # three panels side by side
    assert sorted(os.listdir(tmp_path)) == ["metrics.csv", "metrics.png"]  # no temporary left


def test_a_failed_redraw_keeps_the_last_figure_and_leaves_no_temporary(tmp_path, monkeypatch):
    (tmp_path / "metrics.csv").write_text(CSV)
    plots.plot_metrics(tmp_path / "metrics.csv", tmp_path / "metrics.png")
    before = (tmp_path / "metrics.png").read_bytes()
    (tmp_path / "metrics.csv").write_text(CSV + "4,0.7,0.3,1.0,0.7,,1.1,100.0,10.0\n")

    def interrupted(self, fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(b"\x89PNG half")
        raise KeyboardInterrupt

    from matplotlib.figure import Figure

    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plots.plot_metrics(tmp_path / "metrics.csv", tmp_path / "metrics.png")
    assert (tmp_path / "metrics.png").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["metrics.csv", "metrics.png"]


def test_nothing_is_drawn_before_the_first_epoch(tmp_path):
    (tmp_path / "metrics.csv").write_text("epoch,d_loss\n")
    assert plots.plot_metrics(tmp_path / "metrics.csv", tmp_path / "metrics.png") is None
    assert not (tmp_path / "metrics.png").exists()
