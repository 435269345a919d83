"""The jobs of bench/quality.py, each run in a subprocess with KERAS_BACKEND set.

    python bench/quality_worker.py classifier --mnist_dir=D --classifier=P --out=J
    python bench/quality_worker.py keras --mnist_dir=D --classifier=P --out=J --seed=0 --epochs=1 ...
    python bench/quality_worker.py tf_tutorial ...   (TensorFlow backend only)

Every job writes one JSON object to --out. The GAN jobs train, then score
--num_samples generated images against the 10k MNIST test images: FID and KID
on the classifier's "features" layer, and class coverage of its predictions.
The noise of the scored samples is `latent_noise(N, 100, seed=EVAL_SEED + seed)`,
the same for every recipe and backend at a given seed.
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import struct
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import keras  # noqa: E402  (after sys.path; the backend comes from KERAS_BACKEND)

from dcgan_keras import metrics  # noqa: E402
from dcgan_keras.data import load_dataset  # noqa: E402
from dcgan_keras.gan import latent_noise  # noqa: E402
from dcgan_keras.sampling import KerasGenerator  # noqa: E402

EVAL_SEED = 1000
LATENT_DIM = 100


# ------------------------------------------------------------------- data


def read_labels(mnist_dir, split):
    """MNIST labels from the IDX file beside the images ({train,t10k}-labels-idx1-ubyte[.gz])."""
    stem = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}[split]
    for name in (stem, stem + ".gz"):
        path = os.path.join(mnist_dir, name)
        if os.path.isfile(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                raw = f.read()
            magic, count = struct.unpack(">II", raw[:8])
            if magic != 0x801:
                raise ValueError(f"{path}: magic 0x{magic:x}, not an IDX label file.")
            return np.frombuffer(raw, np.uint8, offset=8, count=count).astype(np.int32)
    raise FileNotFoundError(f"No {stem}[.gz] in {mnist_dir}.")


def mnist_images(mnist_dir, split, limit=None):
    return load_dataset("mnist", data_dir=mnist_dir, split=split, limit=limit).images


# -------------------------------------------------------------- scoring


def score(images, mnist_dir, classifier_path):
    """FID/KID against the test split and class coverage of `images` (float, [-1, 1])."""
    start = time.perf_counter()
    clf = metrics.load_mnist_classifier(classifier_path)
    extractor = metrics.classifier_extractor(clf)
    real = metrics.extract_features(extractor, mnist_images(mnist_dir, "test"), batch_size=500)
    fake = metrics.extract_features(extractor, images, batch_size=500)
    probs = clf.predict(images, batch_size=500, verbose=0)
    counts = np.bincount(probs.argmax(axis=1), minlength=10)
    kid_mean, kid_std = metrics.kid(real, fake)
    print(f"scored {len(images)} samples in {time.perf_counter() - start:.1f}s", flush=True)
    return {
        "fid": metrics.fid(real, fake),
        "kid": kid_mean,
        "kid_std": kid_std,
        "coverage": metrics.class_coverage(probs),
        "class_counts": counts.tolist(),
    }


# ----------------------------------------------------------------- jobs


def weights_fingerprint(model):
    """sha256 of the weight values: names the judge, whatever the .h5 file's metadata."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return digest.hexdigest()


def job_classifier(args):
    """Trains the MNIST classifier on the train split (or loads it) and scores it."""
    clf_path = args.classifier
    trained = False
    start = time.perf_counter()
    if not os.path.isfile(clf_path):
        # The judge must come out the same in every checkout (bench/cache/ is not
        # committed): seeded, and with TensorFlow's deterministic kernels, which
        # its multi-threaded CPU reductions otherwise are not.
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        keras.utils.set_random_seed(0)
        metrics.train_mnist_classifier(
            mnist_images(args.mnist_dir, "train"),
            read_labels(args.mnist_dir, "train"),
            epochs=args.classifier_epochs,
            path=clf_path,
            verbose=2,
        )
        trained = True
    clf = metrics.load_mnist_classifier(clf_path)
    x_test, y_test = mnist_images(args.mnist_dir, "test"), read_labels(args.mnist_dir, "test")
    probs = clf.predict(metrics.to_model_range(x_test), batch_size=500, verbose=0)
    accuracy = float((probs.argmax(axis=1) == y_test).mean())
    # The floor: real train images scored like generated ones (same N), what a
    # perfect generator would get on this judge.
    extractor = metrics.classifier_extractor(clf)
    real = metrics.extract_features(extractor, x_test, batch_size=500)
    floor = {}
    for n in sorted({args.num_samples, 10000}):
        train_n = metrics.to_model_range(mnist_images(args.mnist_dir, "train", limit=n))
        floor[str(n)] = metrics.fid(real, metrics.extract_features(extractor, train_n, batch_size=500))
    return {
        "test_accuracy": accuracy,
        "trained_now": trained,
        "seconds": time.perf_counter() - start,
        "fid_train_vs_test": floor,
        "coverage_test": metrics.class_coverage(probs),
        "weights_sha256": weights_fingerprint(clf),
    }


def job_keras(args):
    """The `mnist` preset through dcgan_keras.training.train, then scored."""
    from dcgan_keras.config import resolve_config
    from dcgan_keras.training import train

    overrides = dict(data_dir=args.mnist_dir, epochs=args.epochs, seed=args.seed, limit=args.limit)
    overrides.update(json.loads(args.overrides or "{}"))
    config = resolve_config("mnist", overrides=overrides)
    from dcgan_keras.callbacks import read_metrics
    from dcgan_keras.rundir import RunDir

    # A killed earlier attempt of this very job: go on from its last checkpoint
    # (same config, or train() refuses), or start again if it had none.
    resume = os.path.isdir(args.workdir) and bool(RunDir(args.workdir).checkpoints())
    if os.path.isdir(args.workdir) and not resume:
        shutil.rmtree(args.workdir)
    start = time.perf_counter()
    gan = train(config, args.workdir, resume=resume, verbose=2)
    train_seconds = time.perf_counter() - start
    z = latent_noise(args.num_samples, gan.latent_dim, seed=EVAL_SEED + args.seed)
    images = gan.generate(z=z)
    steps = (min(args.limit or 60000, 60000) // config.batch_size) * config.batch_size
    raw = None
    if gan.ema_generator is not None:
        # The average does not steer training: the same run's raw generator,
        # scored on the same noise, is its paired control.
        raw = score(KerasGenerator(gan.generator)(z), args.mnist_dir, args.classifier)
    result = {
        "config": {k: v for k, v in config.to_dict().items() if k in (
            "batch_size", "lr", "d_lr", "g_lr", "beta_1", "label_smoothing", "d_steps",
            "dropout", "g_filters", "d_filters", "bn_momentum", "loss", "jit_compile", "ema")},
        "train_seconds": train_seconds,
        "resumed": resume,
        # From metrics.csv, which keeps the epochs of a resumed attempt too.
        "epoch_seconds": [float(x) for x in read_metrics(RunDir(args.workdir).metrics_csv)["seconds"]],
        "images_per_epoch": steps,
    }
    result.update(score(images, args.mnist_dir, args.classifier))
    if raw is not None:
        result["raw_generator"] = raw
    return result


def job_tf_tutorial(args):
    """https://www.tensorflow.org/tutorials/generative/dcgan, for E epochs, then scored."""
    if keras.backend.backend() != "tensorflow":
        raise SystemExit("tf_tutorial runs on the TensorFlow backend only.")
    from quality_tf_tutorial import TutorialDCGAN

    keras.utils.set_random_seed(args.seed)
    x = mnist_images(args.mnist_dir, "train", limit=args.limit)
    tutorial = TutorialDCGAN(seed=args.seed)
    start = time.perf_counter()
    epoch_seconds = tutorial.train(x, args.epochs, print_fn=lambda s: print(s, flush=True))
    train_seconds = time.perf_counter() - start
    images = tutorial.generate(latent_noise(args.num_samples, LATENT_DIM, seed=EVAL_SEED + args.seed))
    result = {
        "config": dict(TutorialDCGAN.RECIPE),
        "train_seconds": train_seconds,
        "epoch_seconds": epoch_seconds,
        "images_per_epoch": len(x),
    }
    result.update(score(images, args.mnist_dir, args.classifier))
    return result


JOBS = {"classifier": job_classifier, "keras": job_keras, "tf_tutorial": job_tf_tutorial}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", choices=sorted(JOBS))
    parser.add_argument("--mnist_dir", required=True)
    parser.add_argument("--classifier", required=True, help="*.weights.h5 path")
    parser.add_argument("--out", required=True, help="JSON result file")
    parser.add_argument("--classifier_epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--num_samples", type=int, default=10000)
    parser.add_argument("--workdir", default=None, help="run dir of the keras job")
    parser.add_argument("--overrides", default=None, help="JSON dict of config overrides (keras job)")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    result = JOBS[args.job](args)
    from throughput import device_description

    result.update(job=args.job, backend=keras.backend.backend(), device=device_description(keras.backend.backend()))
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, args.out)
    print("RESULT " + json.dumps({k: v for k, v in result.items() if k != "config"}), flush=True)


if __name__ == "__main__":
    main()
