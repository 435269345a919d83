"""The jobs of bench/quality.py, each run in a subprocess with KERAS_BACKEND set.

    python bench/quality_worker.py classifier --mnist_dir=D --classifier=P --out=J
    python bench/quality_worker.py keras --mnist_dir=D --classifier=P --out=J --seed=0 --epochs=1 ...
    python bench/quality_worker.py tf_tutorial ...   (TensorFlow backend only)
    python bench/quality_worker.py conditional ...   (the mnist_conditional preset)
    python bench/quality_worker.py kerasio_cgan ...  (keras.io's Conditional GAN, any backend)
    python bench/quality_worker.py rescore --samples_npz=S --classifier=P --out=J ...  (kept samples, another judge)
    python bench/quality_worker.py checkpoint --checkpoint=RUN/checkpoints/E.keras ...  (a stopped run's epoch)

Every job writes one JSON object to --out. The GAN jobs train, then score
--num_samples generated images against the 10k MNIST test images: FID and KID
on the classifier's "features" layer, and class coverage of its predictions.
The noise of the scored samples is `latent_noise(N, 100, seed=EVAL_SEED + seed)`,
the same for every recipe and backend at a given seed (keras.io's Conditional
GAN draws 128-d z: `latent_noise(N, 128, seed=EVAL_SEED + seed)`). Conditional
jobs ask for the classes in turn (`eval_labels(N)`: 0, 1, ..., 9, 0, ...) and
score, besides, the label accuracy: how often the classifier reads the class
that was asked for.
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


def eval_labels(num):
    """The classes a conditional job asks for: spread evenly, 0, 1, ..., 9, 0, 1, ..."""
    return (np.arange(num) % 10).astype("int32")


def keep_samples(path, images, labels):
    """The scored images (uint8, as a judge reads them after rounding) and asked labels, for a later judge."""
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        pixels = np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)
        np.savez_compressed(path, images=pixels, labels=np.asarray(labels))


def score(images, mnist_dir, classifier_path, labels=None):
    """FID/KID against the test split and class coverage of `images` (float, [-1, 1]).

    With `labels` (the classes asked for, one per image): also the label
    accuracy, overall and per class.
    """
    start = time.perf_counter()
    clf = metrics.load_mnist_classifier(classifier_path)
    extractor = metrics.classifier_extractor(clf)
    real = metrics.extract_features(extractor, mnist_images(mnist_dir, "test"), batch_size=500)
    fake = metrics.extract_features(extractor, images, batch_size=500)
    probs = clf.predict(images, batch_size=500, verbose=0)
    counts = np.bincount(probs.argmax(axis=1), minlength=10)
    kid_mean, kid_std = metrics.kid(real, fake)
    print(f"scored {len(images)} samples in {time.perf_counter() - start:.1f}s", flush=True)
    result = {
        "fid": metrics.fid(real, fake),
        "kid": kid_mean,
        "kid_std": kid_std,
        "coverage": metrics.class_coverage(probs),
        "class_counts": counts.tolist(),
    }
    if labels is not None:
        result["label_accuracy"], result["label_accuracy_per_class"] = metrics.label_accuracy(probs, labels)
    return result


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


from quality import PRESET_OF  # noqa: E402  (bench/, this script's folder, is on sys.path)


def job_keras(args):
    """The `mnist` preset (job keras) or `mnist_conditional` (job conditional) through
    dcgan_keras.training.train, then scored."""
    from dcgan_keras.config import resolve_config
    from dcgan_keras.training import train

    overrides = dict(data_dir=args.mnist_dir, epochs=args.epochs, seed=args.seed, limit=args.limit)
    overrides.update(json.loads(args.overrides or "{}"))
    config = resolve_config(PRESET_OF[args.job], overrides=overrides)
    conditional = args.job == "conditional"
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
    labels = eval_labels(args.num_samples) if conditional else None
    images = gan.generate(z=z, labels=labels) if conditional else gan.generate(z=z)
    steps = (min(args.limit or 60000, 60000) // config.batch_size) * config.batch_size
    raw = None
    if gan.ema_generator is not None:
        # The average does not steer training: the same run's raw generator,
        # scored on the same noise, is its paired control.
        raw_images = raw_conditional(gan, z, labels) if conditional else KerasGenerator(gan.generator)(z)
        raw = score(raw_images, args.mnist_dir, args.classifier, labels)
    result = {
        "config": {k: v for k, v in config.to_dict().items() if k in (
            "batch_size", "lr", "d_lr", "g_lr", "beta_1", "label_smoothing", "d_steps",
            "dropout", "g_filters", "d_filters", "bn_momentum", "loss", "jit_compile", "ema", "model",
            "conditioning")},
        "train_seconds": train_seconds,
        "resumed": resume,
        # From metrics.csv, which keeps the epochs of a resumed attempt too.
        "epoch_seconds": [float(x) for x in read_metrics(RunDir(args.workdir).metrics_csv)["seconds"]],
        "images_per_epoch": steps,
    }
    if conditional:
        keep_samples(args.samples_npz, images, labels)
    result.update(score(images, args.mnist_dir, args.classifier, labels))
    if raw is not None:
        result["raw_generator"] = raw
    return result


def raw_conditional(gan, z, labels, batch_size=500):
    """The conditional run's raw (not averaged) generator on z and labels, in [-1, 1]."""
    from dcgan_keras.models import in_sample_range

    out = [keras.ops.convert_to_numpy(gan.generator([z[i:i + batch_size], labels[i:i + batch_size]], training=False))
           for i in range(0, len(z), batch_size)]
    return in_sample_range(np.concatenate(out), gan.generator)


def job_kerasio_cgan(args):
    """keras.io's Conditional GAN (bench/quality_kerasio_cgan.py), E epochs on the train split, then scored."""
    from quality_kerasio_cgan import RECIPE, KerasIOConditionalGAN

    keras.utils.set_random_seed(args.seed)
    x = mnist_images(args.mnist_dir, "train", limit=args.limit)
    y = read_labels(args.mnist_dir, "train")[:len(x)]
    gan = KerasIOConditionalGAN.recipe(seed=args.seed)
    start = time.perf_counter()
    epoch_seconds = gan.train_epochs(x, y, args.epochs, print_fn=lambda s: print(s, flush=True), weights_dir=args.workdir)
    train_seconds = time.perf_counter() - start
    labels = eval_labels(args.num_samples)
    images = gan.generate_scored(latent_noise(args.num_samples, gan.latent_dim, seed=EVAL_SEED + args.seed), labels)
    result = {
        "config": dict(RECIPE),
        "train_seconds": train_seconds,
        "epoch_seconds": epoch_seconds,
        "images_per_epoch": len(x),
    }
    keep_samples(args.samples_npz, images, labels)
    result.update(score(images, args.mnist_dir, args.classifier, labels))
    return result


def job_rescore(args):
    """Scores the samples a conditional job kept (--samples_npz) with the judge --classifier."""
    with np.load(args.samples_npz) as kept:
        images, labels = kept["images"].astype("float32") / 127.5 - 1.0, kept["labels"]
    result = score(images, args.mnist_dir, args.classifier, labels)
    result["judge"] = weights_fingerprint(metrics.load_mnist_classifier(args.classifier))
    result["samples_npz"] = os.path.basename(args.samples_npz)
    return result


def job_checkpoint(args):
    """Scores a conditional run's checkpoint (--checkpoint, a .keras file of one epoch) as the job would.

    For a run stopped before its last epoch: the same noise and labels as the
    conditional job, from the generator that `dcgan_keras.sampling.load_generator`
    samples (the moving average where the run keeps one).
    """
    from dcgan_keras.sampling import load_generator

    gen = load_generator(args.checkpoint)
    z = latent_noise(args.num_samples, gen.latent_dim, seed=EVAL_SEED + args.seed)
    labels = eval_labels(args.num_samples)
    images = np.concatenate([gen(z[i:i + 500], labels=labels[i:i + 500]) for i in range(0, len(z), 500)])
    keep_samples(args.samples_npz, images, labels)
    result = score(images, args.mnist_dir, args.classifier, labels)
    result["checkpoint"] = os.path.relpath(args.checkpoint, REPO)
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


JOBS = {"classifier": job_classifier, "keras": job_keras, "tf_tutorial": job_tf_tutorial,
        "conditional": job_keras, "kerasio_cgan": job_kerasio_cgan, "rescore": job_rescore,
        "checkpoint": job_checkpoint}


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
    parser.add_argument("--checkpoint", default=None, help="checkpoint job: a conditional run's .keras checkpoint")
    parser.add_argument("--overrides", default=None, help="JSON dict of config overrides (keras job)")
    parser.add_argument("--samples_npz", default=None,
                        help="conditional jobs: keep the scored images and labels here (uint8), to score again")
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
