"""metrics.png: a run's curves per epoch, drawn from its metrics.csv with matplotlib.

The figure is redrawn from the whole CSV after each epoch (so a resumed run
shows its full history) and written atomically, as every file of the run
directory (rundir.writing): a kill at any moment leaves the last complete
figure. Each curve's points are also stored in the PNG's text metadata
(`CURVES_KEY`, JSON), taken from the drawn lines themselves, so a test or a
script can check the picture against metrics.csv without reading pixels.

Panels: the two losses; D(x) and D(G(z)) (`d_real`, `d_fake`: the
discriminator's mean probability of "real" on real and on generated
images, or its mean score under a loss that scores them, such as least
squares; `losses.read_outputs`); FID, where the run computed it
(`--fid_every`).

Example:
    >>> plot_metrics("runs/x/metrics.csv", "runs/x/metrics.png")  # doctest: +SKIP
    >>> read_curves("runs/x/metrics.png")["g_loss"]  # [[epoch, value], ...]  # doctest: +SKIP
"""

import csv
import json
import math

from dcgan_keras import rundir

CURVES_KEY = "dcgan_keras:curves"
#: (panel title, [(column, label)]); a panel with no values in the CSV is left out.
PANELS = (
    ("losses", [("d_loss", "D loss"), ("g_loss", "G loss")]),
    ("discriminator outputs", [("d_real", "D(x)"), ("d_fake", "D(G(z))")]),
    ("FID (lower is better)", [("fid", "FID")]),
    # Pix2Pix: its L1 term on the training batches, and on the held-out pairs.
    ("L1 |target - G(input)|", [("g_l1_loss", "train"), ("val_l1", "validation")]),
    # CycleGAN: its four adversarial terms and the two that hold the translation together.
    ("CycleGAN losses", [("d_a_loss", "D_A"), ("d_b_loss", "D_B"), ("g_ab_loss", "G (A to B)"),
                         ("g_ba_loss", "F (B to A)"), ("cycle_loss", "cycle"), ("identity_loss", "identity")]),
)


def read_columns(path):
    """metrics.csv as {column: [float or nan]} (standard library only)."""
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    return {key: [_float(row[i]) if i < len(row) else math.nan for row in body] for i, key in enumerate(header)}


def _float(text):
    try:
        return float(text)
    except ValueError:
        return math.nan


def metrics_figure(columns):
    """A matplotlib Figure (Agg, no pyplot state) of the curves in `columns`; None if there are none."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = columns.get("epoch", [])
    panels = []
    for title, curves in PANELS:
        drawn = [(key, label) for key, label in curves if any(not math.isnan(v) for v in columns.get(key, []))]
        if drawn:
            panels.append((title, drawn))
    if not epochs or not panels:
        return None
    fig = Figure(figsize=(4.2 * len(panels), 3.2), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    for i, (title, drawn) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for key, label in drawn:
            points = [(e, v) for e, v in zip(epochs, columns[key]) if not math.isnan(v)]
            ax.plot([e for e, _ in points], [v for _, v in points], marker="o", markersize=3, label=label, gid=key)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def figure_curves(fig):
    """{column: [[epoch, value], ...]} of the lines drawn in `fig` (each line's gid is its column)."""
    return {
        line.get_gid(): [[float(x), float(y)] for x, y in line.get_xydata()]
        for ax in fig.axes
        for line in ax.lines
        if line.get_gid()
    }


def plot_metrics(csv_path, png_path):
    """Draws metrics.csv at `csv_path` into `png_path`, atomically; returns the path, or None if nothing to draw."""
    fig = metrics_figure(read_columns(csv_path))
    if fig is None:
        return None
    with rundir.writing(png_path) as tmp:
        fig.savefig(tmp, format="png", metadata={CURVES_KEY: json.dumps(figure_curves(fig))})
    return png_path


def read_curves(png_path):
    """The curves a metrics.png holds, as `figure_curves` returns them."""
    from PIL import Image

    with Image.open(png_path) as image:
        image.load()
        return json.loads(image.text[CURVES_KEY])
