"""Quality of Pix2Pix and CycleGAN on MNIST tasks with a known answer, per backend.

Issues 27 and 28 ask for a quality benchmark of each translator on a task made
from real data this machine has (MNIST, in ../shared/data/mnist/ or --mnist_dir),
whose right answer is known, so that a number says how far from it G is:

  pix2pix   paired: a digit's outline -> the digit. The outline is the
            morphological gradient of the binarized digit (3x3 dilation minus
            3x3 erosion), so the answer (the grey digit) is known per image.
            Scored on held-out test digits: validation L1 (pixels in [0, 1]),
            PSNR (dB), FID on the MNIST judge's features against the 10k test
            digits, and the judge's accuracy on the translations (the digit's
            class must survive).
  cyclegan  unpaired: digits (domain A) and colour-inverted digits (domain B),
            B drawn from the other half of the train split, so that no image
            has its pair in the other domain. The answer is known: G_AB(x) = -x
            and G_BA(-x) = x (in [-1, 1]). Scored on held-out test digits: L1
            and PSNR of each direction against its answer, the cycle's L1, and
            the judge's agreement before and after translation (its class of x
            against its class of -G_AB(x) and of G_BA(-x)).

Both are scored before training too (the untrained model), and beside a
trivial answer: Pix2Pix's outline itself; CycleGAN's identity (x as G_AB(x)).
Digits are padded from 28 to 32 pixels (the translators' sizes are powers of
two) with the background, and cropped back for the judge.

The networks are the library's, small for a CPU: Pix2Pix's U-Net and 70x70-style
PatchGAN (`--filters` first-block filters, the paper's 64), CycleGAN's ResNet
generator (`--residual_blocks`) and PatchGAN discriminators, with each model's
default compile (Adam 2e-4 / 0.5; Pix2Pix's L1 weight 100; CycleGAN's least
squares, cycle weight 10, identity 0.5, image pool 50).

The judge is bench/quality.py's MNIST classifier (bench/cache/, trained by
`python bench/quality_worker.py classifier` on first use; its fingerprint goes
into each result).

Usage:
  python bench/translator_quality.py                               # all backends, both models
  python bench/translator_quality.py --backends=jax --models=cyclegan --steps=2000 --seeds=0,1,2
  python bench/translator_quality.py --quick                       # smoke run
Results: bench/results/translator_quality/<backend>_<model>_s<seed>.json, which bench/QUALITY.md's
section "Translators" reads (written by hand).
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

BACKENDS = ("tensorflow", "jax", "torch")
MODELS = ("pix2pix", "cyclegan")
RESULTS = os.path.join(HERE, "results", "translator_quality")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--seeds", default="0")
    p.add_argument("--steps", type=int, default=1500, help="training steps")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--filters", type=int, default=32, help="first-block filters (the papers' 64)")
    p.add_argument("--residual_blocks", type=int, default=3, help="CycleGAN's ResNet generator")
    p.add_argument("--num_eval", type=int, default=2000, help="held-out test digits scored")
    p.add_argument("--mnist_dir", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist"))
    p.add_argument("--classifier", default=os.path.join(HERE, "cache", "mnist_classifier.weights.h5"))
    p.add_argument("--out_dir", default=RESULTS)
    p.add_argument("--quick", action="store_true", help="smoke run: 20 steps, 8 filters, 1 block, 200 digits")
    p.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.filters, args.residual_blocks, args.num_eval = 20, 8, 1, 200
    return args


# ------------------------------------------------------------------ the tasks


def pad(images):
    """(N, 28, 28, 1) in [-1, 1] -> (N, 32, 32, 1), the background (-1) around."""
    import numpy as np

    return np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0)


def crop(images):
    return images[:, 2:-2, 2:-2, :]


def outlines(digits):
    """The morphological gradient of each binarized digit (3x3 dilation minus 3x3 erosion), in {-1, 1}."""
    import numpy as np

    ink = digits[..., 0] > 0.0
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    h, w = ink.shape[1:]
    windows = [padded[:, i:i + h, j:j + w] for i in range(3) for j in range(3)]
    dilated, eroded = np.logical_or.reduce(windows), np.logical_and.reduce(windows)
    return np.where(dilated & ~eroded, 1.0, -1.0).astype("float32")[..., None]


def l1(a, b):
    """Mean absolute difference in [0, 1] pixel units (images in [-1, 1]), on the 28x28 digits (padding cropped)."""
    import numpy as np

    return float(np.mean(np.abs(crop(a) - crop(b))) / 2.0)


def psnr(a, b):
    """Peak signal-to-noise ratio in dB, pixels in [0, 1], on the 28x28 digits: the mean of each image's."""
    import numpy as np

    mse = np.mean(((crop(a) - crop(b)) / 2.0) ** 2, axis=(1, 2, 3))
    return float(np.mean(10.0 * np.log10(1.0 / np.maximum(mse, 1e-12))))


# ------------------------------------------------------------------ the worker


class Judge:
    """The MNIST classifier: classes, and FID against the 10k test digits."""

    def __init__(self, path, mnist_dir):
        from quality_worker import mnist_images, weights_fingerprint

        from dcgan_keras import metrics

        self.metrics = metrics
        self.model = metrics.load_mnist_classifier(path)
        self.fingerprint = weights_fingerprint(self.model)[:12]
        self.extractor = metrics.classifier_extractor(self.model)
        self.real = metrics.extract_features(self.extractor, mnist_images(mnist_dir, "test"), batch_size=500)

    def classes(self, images28):
        return self.model.predict(images28, batch_size=500, verbose=0).argmax(axis=1)

    def fid(self, images28):
        return float(self.metrics.fid(self.real, self.metrics.extract_features(self.extractor, images28, batch_size=500)))


def pix2pix_job(args, seed, train, test, labels, judge):
    import keras
    import numpy as np

    from dcgan_keras import Pix2Pix
    from dcgan_keras.networks import build_patch_discriminator, build_unet_generator

    keras.utils.set_random_seed(seed)
    gan = Pix2Pix(generator=build_unet_generator(32, 1, 1, filters=args.filters, seed=seed),
                  discriminator=build_patch_discriminator(32, 1, 1, filters=args.filters, seed=seed + 1), seed=seed)
    gan.compile()
    x_eval, y_eval = outlines(test), test

    def scores(translated):
        return {"l1": l1(translated, y_eval), "psnr": psnr(translated, y_eval),
                "judge_accuracy": float(np.mean(judge.classes(crop(translated)) == labels))}

    result = {"untrained": scores(gan.translate(x_eval)), "trivial_outline": scores(x_eval)}
    n = args.steps * args.batch
    targets = train[np.random.default_rng(seed).permutation(len(train))[np.arange(n) % len(train)]]
    start = time.perf_counter()
    history = gan.fit(outlines(targets), targets, batch_size=args.batch, epochs=1, shuffle=False, verbose=0)
    result["train_seconds"] = time.perf_counter() - start
    translated = gan.translate(x_eval)
    result["trained"] = {**scores(translated), "fid": judge.fid(crop(translated))}
    result["fid_of_targets"] = judge.fid(crop(y_eval))  # the floor at this N
    result["last_losses"] = {k: float(v[-1]) for k, v in history.history.items()}
    return result


def cyclegan_job(args, seed, train, test, labels, judge):
    import keras
    import numpy as np

    from dcgan_keras import CycleGAN
    from dcgan_keras.networks import build_image_patch_discriminator, build_resnet_generator

    keras.utils.set_random_seed(seed)
    nets = [build_resnet_generator(32, 1, residual_blocks=args.residual_blocks, filters=args.filters, name=name)
            for name in ("generator_ab", "generator_ba")]
    nets += [build_image_patch_discriminator(32, 1, filters=args.filters, seed=seed + i, name=name)
             for i, name in enumerate(("discriminator_a", "discriminator_b"))]
    gan = CycleGAN(*nets, seed=seed)
    gan.compile()
    true_classes = judge.classes(crop(test))

    def scores(ab, ba, aba):
        return {"l1_ab": l1(ab, -test), "l1_ba": l1(ba, test), "psnr_ab": psnr(ab, -test), "psnr_ba": psnr(ba, test),
                "cycle_l1": l1(aba, test),
                "judge_agreement_ab": float(np.mean(judge.classes(crop(-ab)) == true_classes)),
                "judge_agreement_ba": float(np.mean(judge.classes(crop(ba)) == true_classes))}

    def translations():
        ab = gan.translate(test, "AtoB")
        return ab, gan.translate(-test, "BtoA"), gan.translate(ab, "BtoA")

    result = {"untrained": scores(*translations()), "trivial_identity": scores(test, -test, test),
              "judge_accuracy_on_test": float(np.mean(true_classes == labels))}
    # Unpaired: domain A from one half of the train split, B (inverted) from the other.
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    half = len(train) // 2
    n = args.steps * args.batch
    domain_a = train[order[:half]][np.arange(n) % half]
    domain_b = -train[order[half:]][np.arange(n) % (len(train) - half)]
    start = time.perf_counter()
    history = gan.fit((domain_a, domain_b), batch_size=args.batch, epochs=1, shuffle=False, verbose=0)
    result["train_seconds"] = time.perf_counter() - start
    result["trained"] = scores(*translations())
    result["last_losses"] = {k: float(v[-1]) for k, v in history.history.items()}
    return result


def run_worker(args):
    import keras
    from quality_worker import mnist_images, read_labels

    from dcgan_keras import metrics

    backend = keras.backend.backend()
    judge = Judge(args.classifier, args.mnist_dir)
    train = pad(metrics.to_model_range(mnist_images(args.mnist_dir, "train")))
    test = pad(metrics.to_model_range(mnist_images(args.mnist_dir, "test", limit=args.num_eval)))
    labels = read_labels(args.mnist_dir, "test")[: len(test)]
    os.makedirs(args.out_dir, exist_ok=True)
    for model in args.models.split(","):
        job = {"pix2pix": pix2pix_job, "cyclegan": cyclegan_job}[model]
        for seed in (int(s) for s in args.seeds.split(",")):
            start = time.perf_counter()
            result = job(args, seed, train, test, labels, judge)
            result.update(backend=backend, model=model, seed=seed, judge=judge.fingerprint,
                          seconds=time.perf_counter() - start, date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          config={k: getattr(args, k) for k in ("steps", "batch", "filters", "residual_blocks",
                                                                 "num_eval")})
            name = f"{backend}_{model}_s{seed}" + ("_quick" if args.quick else "")
            with open(os.path.join(args.out_dir, name + ".json"), "w") as f:
                json.dump(result, f, indent=1)
            print(json.dumps({k: result[k] for k in ("backend", "model", "seed", "train_seconds")}), flush=True)
            print("  untrained", json.dumps(result["untrained"]), "\n  trained  ", json.dumps(result["trained"]),
                  flush=True)


def ensure_judge(args):
    if os.path.isfile(args.classifier):
        return
    os.makedirs(os.path.dirname(args.classifier), exist_ok=True)
    print(f"training the judge: {args.classifier}", flush=True)
    out = args.classifier + ".json"
    subprocess.run([sys.executable, os.path.join(HERE, "quality_worker.py"), "classifier",
                    f"--mnist_dir={args.mnist_dir}", f"--classifier={args.classifier}", f"--out={out}"],
                   env=dict(os.environ, KERAS_BACKEND="tensorflow"), check=True)


def main():
    args = parse_args()
    if args.worker:
        return run_worker(args)
    ensure_judge(args)
    status = 0
    for backend in args.backends.split(","):
        print(f"== {backend}", flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", backend, *sys.argv[1:]]
        proc = subprocess.run(cmd, env=dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3"))
        status |= proc.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
