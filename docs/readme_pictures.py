"""Remakes README.md's two pictures from the quickstart's first command.

Runs `python train.py --dataset=mnist --epochs=3 --steps_per_epoch=100` (TensorFlow, seed 0)
in a temporary run directory, then writes its `samples/epoch_0003.png` as
docs/mnist_samples.png and its three grids as docs/mnist_progress.gif, in 16 grey levels
and 0.6 s frames to keep the README light. Rerun it when the `mnist` preset changes what it
trains, so that the README shows what the command gives.

    python docs/readme_pictures.py --data_dir=../shared/data/mnist   # or no flag: keras.datasets downloads MNIST
"""

import argparse
import os
import subprocess
import sys
import tempfile

from PIL import Image

DOCS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(DOCS)
EPOCHS = 3
GREY_LEVELS = 16
FRAME_MS = 600


def _fewer_greys(path):
    step = 256 // GREY_LEVELS
    grey = Image.open(path).convert("L").point(lambda v: v // step * step + step // 2)
    return grey.convert("P", palette=Image.Palette.ADAPTIVE, colors=GREY_LEVELS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", help="MNIST's IDX files (default: keras.datasets' download)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "first")
        command = [sys.executable, os.path.join(REPO, "train.py"), "--backend=tensorflow", "--dataset=mnist",
                   f"--epochs={EPOCHS}", "--steps_per_epoch=100", "--seed=0", f"--workdir={run}"]
        if args.data_dir:
            command.append(f"--data_dir={os.path.abspath(args.data_dir)}")
        subprocess.run(command, check=True, cwd=tmp)
        grids = [os.path.join(run, "samples", f"epoch_{epoch:04d}.png") for epoch in range(1, EPOCHS + 1)]
        Image.open(grids[-1]).save(os.path.join(DOCS, "mnist_samples.png"), optimize=True)
        frames = [_fewer_greys(path) for path in grids]
        frames[0].save(os.path.join(DOCS, "mnist_progress.gif"), save_all=True, append_images=frames[1:],
                       duration=FRAME_MS, loop=0, optimize=True)
    print("wrote docs/mnist_samples.png and docs/mnist_progress.gif")


if __name__ == "__main__":
    main()
