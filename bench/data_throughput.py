"""Does feeding DCGAN.fit from the loader cost training speed? (issue 3, point 5)

For a data set, three ways to feed the same `fit` (same model, batch size and
number of steps), run in interleaved turns (A B C A B C ...) after a warm-up,
two figures per way: the median time of one training step (the interval
between consecutive batch ends inside a fit, so fit's per-call setup is left
out: this is the figure the 5% bound is judged on), and images/s over whole
fit calls (setup included):

  loader    load_dataset(...).batches(B): uint8 in memory, a shuffled batch
            gathered and scaled to [-1, 1] float32 in __getitem__ (what train.py does)
  array     the whole data set pre-scaled to float32, passed as fit(x, batch_size=B)
  premade   a PyDataset serving pre-made float32 batches (no gather, no scaling):
            the PyDataset machinery alone

The loader's overhead is its median step time over that of the other ways;
it is also bounded directly by timing `Batches.__getitem__` alone against the
step time. Cases:

  mnist     ../shared/data/mnist (IDX), 28x28x1, the tf_tutorial networks, batch 256
  folder64  a temp folder of --folder_images JPEGs of mixed sizes (>= 64 px),
            loaded once to build the cache, then loaded again from the cache
            (timed), 64x64x3, the dcgan64 networks, batch 64

Usage (the backend is KERAS_BACKEND's; TensorFlow is the fastest on CPU):
  KERAS_BACKEND=tensorflow python bench/data_throughput.py [--cases=mnist,folder64] [--reps=5]
      [--mnist_dir=/work/shared/data/mnist] [--folder_images=3000] [--out=data.json]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from dcgan_keras import DCGAN, build_discriminator, build_generator  # noqa: E402
from dcgan_keras.data import load_dataset  # noqa: E402


class StepTimer(keras.callbacks.Callback):
    """Intervals between consecutive batch ends of each fit call (the first
    batch of a call is left out: its interval would include fit's setup)."""

    def __init__(self):
        super().__init__()
        self.intervals = []

    def on_train_begin(self, logs=None):
        self.last = None

    def on_train_batch_end(self, batch, logs=None):
        keras.ops.convert_to_numpy(logs["d_loss"])  # waits for the step, the same in every way
        now = time.perf_counter()
        if self.last is not None:
            self.intervals.append(now - self.last)
        self.last = now


class PremadeBatches(keras.utils.PyDataset):
    def __init__(self, batches):
        super().__init__()
        self.items = batches

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def make_folder(root, num, seed=0):
    """num JPEGs, 64..160 px a side, smooth color fields plus noise (so decoding is realistic)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(num):
        h, w = rng.integers(64, 161, size=2)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        base = rng.uniform(0, 255, 3)
        freq = rng.uniform(0.01, 0.1, 3)
        img = np.stack([base[c] / 2 + 60 * np.sin(freq[c] * (xx + yy * (c + 1))) for c in range(3)], -1)
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        sub = os.path.join(root, f"d{i % 10}")
        os.makedirs(sub, exist_ok=True)
        Image.fromarray(img).save(os.path.join(sub, f"{i:05d}.jpg"), quality=90)


def time_case(name, data, preset, batch, steps, reps):
    images = data.images
    n_img = steps * batch
    loader = data.batches(batch, seed=0)
    x = (images[:n_img].astype(np.float32) / np.float32(127.5)) - np.float32(1.0)
    premade = PremadeBatches([x[i * batch:(i + 1) * batch] for i in range(steps)])

    gan = DCGAN(build_discriminator(preset=preset, seed=0), build_generator(preset=preset), seed=0)
    gan.compile()
    timers = {k: StepTimer() for k in ("loader", "array", "premade")}
    ways = {
        "loader": lambda: gan.fit(loader, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0,
                                  callbacks=[timers["loader"]]),
        "array": lambda: gan.fit(x, batch_size=batch, epochs=1, shuffle=False, verbose=0,
                                 callbacks=[timers["array"]]),
        "premade": lambda: gan.fit(premade, epochs=1, shuffle=False, verbose=0, callbacks=[timers["premade"]]),
    }
    for way in ways.values():  # warm-up: traces/compiles each input signature
        way()
    for timer in timers.values():
        timer.intervals.clear()
    samples = {k: [] for k in ways}
    for _ in range(reps):
        for k, way in ways.items():
            t = time.perf_counter()
            way()
            keras.ops.convert_to_numpy(gan.generator.trainable_variables[0])
            samples[k].append(n_img / (time.perf_counter() - t))
    step_ms = {k: 1e3 * statistics.median(timer.intervals) for k, timer in timers.items()}
    med = {k: statistics.median(v) for k, v in samples.items()}
    # The loader's own work per batch, timed alone.
    t = time.perf_counter()
    for i in range(len(loader)):
        loader[i]
    getitem_ms = 1e3 * (time.perf_counter() - t) / len(loader)
    return {
        "case": name, "preset": preset, "batch": batch, "images": len(images), "steps_per_turn": steps,
        "reps": reps, "images_per_s": med, "samples": samples, "median_step_ms": step_ms,
        "step_intervals_ms": {k: [round(1e3 * i, 2) for i in t.intervals] for k, t in timers.items()},
        "loader_overhead_vs_array": step_ms["loader"] / step_ms["array"] - 1,
        "loader_overhead_vs_premade": step_ms["loader"] / step_ms["premade"] - 1,
        "getitem_ms": getitem_ms, "getitem_fraction_of_step": getitem_ms / step_ms["array"],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", default="mnist,folder64")
    p.add_argument("--mnist_dir", default=os.path.join(ROOT, "..", "shared", "data", "mnist"))
    p.add_argument("--folder_images", type=int, default=3000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--mnist_steps", type=int, default=30, help="steps per fit call")
    p.add_argument("--folder_steps", type=int, default=20, help="steps per fit call")
    p.add_argument("--out", default="")
    args = p.parse_args()
    results = {"backend": keras.backend.backend(), "date": time.strftime("%Y-%m-%d %H:%M"),
               "loadavg_before": os.getloadavg(), "cases": []}
    for case in args.cases.split(","):
        if case == "mnist":
            t = time.perf_counter()
            data = load_dataset("mnist", data_dir=os.path.abspath(args.mnist_dir))
            load_s = time.perf_counter() - t
            r = time_case("mnist", data, "tf_tutorial", 256, args.mnist_steps, args.reps)
            r["load_s"] = load_s
        elif case == "folder64":
            with tempfile.TemporaryDirectory() as tmp:
                folder, cache_dir = os.path.join(tmp, "images"), os.path.join(tmp, "cache")
                t = time.perf_counter()
                make_folder(folder, args.folder_images)
                make_s = time.perf_counter() - t
                t = time.perf_counter()
                load_dataset("folder", data_dir=folder, image_size=64, cache_dir=cache_dir)
                first_s = time.perf_counter() - t
                t = time.perf_counter()
                data = load_dataset("folder", data_dir=folder, image_size=64, cache_dir=cache_dir)
                cached_s = time.perf_counter() - t
                r = time_case("folder64", data, "dcgan64", 64, args.folder_steps, args.reps)
                r.update(make_folder_s=make_s, first_load_s=first_s, cached_load_s=cached_s)
        else:
            raise SystemExit(f"unknown case {case!r}; use mnist, folder64")
        results["cases"].append(r)
        ips, ms = r["images_per_s"], r["median_step_ms"]
        print(f"{case}: median step loader {ms['loader']:.1f}, array {ms['array']:.1f}, premade "
              f"{ms['premade']:.1f} ms; loader overhead vs array {100 * r['loader_overhead_vs_array']:+.1f}%, "
              f"vs premade {100 * r['loader_overhead_vs_premade']:+.1f}%; whole fit calls: loader "
              f"{ips['loader']:.1f}, array {ips['array']:.1f}, premade {ips['premade']:.1f} img/s; "
              f"__getitem__ {r['getitem_ms']:.2f} ms = {100 * r['getitem_fraction_of_step']:.2f}% of a step",
              flush=True)
    results["loadavg_after"] = os.getloadavg()
    print(f"load average before {results['loadavg_before']}, after {results['loadavg_after']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
