"""Trains a DCGAN and writes a run directory (see dcgan_keras/rundir.py).

    python train.py --backend=jax --dataset=fashion_mnist
    python train.py --dataset=cifar10 --epochs=50 --workdir=runs/cifar
    python train.py --resume --workdir=runs/cifar --epochs=80     # continue, or train longer
    python train.py --config=my_preset.py --data_dir=data/faces

Flags only: `--backend` picks the Keras backend before Keras is imported,
then everything happens in `dcgan_keras.training.train`. Exit codes: 0 done,
2 bad flags/config/workdir/data (one `error:` line, nothing overwritten),
3 the loss diverged (the last good checkpoint is kept), 130 interrupted.
"""

import os
import sys
import time

from absl import app, flags, logging

BACKENDS = ("tensorflow", "jax", "torch")

flags.DEFINE_enum(
    "backend", None, BACKENDS,
    "Keras backend; wins over $KERAS_BACKEND (default: $KERAS_BACKEND, else tensorflow).",
)
flags.DEFINE_string("dataset", None, "Preset name: configs/NAME.py (mnist, fashion_mnist, cifar10, ...).")
flags.DEFINE_string("config", None, "A preset file (defines get_config()), instead of --dataset.")
flags.DEFINE_string("data_dir", None, "Where the data set's files are (overrides the preset).")
flags.DEFINE_string(
    "workdir", None,
    "Run directory (default runs/<dataset>-<backend>-<timestamp>). A new run refuses one that holds files.",
)
flags.DEFINE_bool("resume", False, "Continue the run in --workdir from its last complete checkpoint.")
flags.DEFINE_integer("epochs", None, "Epochs in all (with --resume: train on to this many).", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Real images per step.", lower_bound=1)
flags.DEFINE_integer("latent_dim", None, "Size of the noise vector z.", lower_bound=1)
flags.DEFINE_float("lr", None, "Adam learning rate of both networks.", lower_bound=0.0)
flags.DEFINE_integer("d_steps", None, "Discriminator updates per generator update.", lower_bound=1)
flags.DEFINE_float("label_smoothing", None, "One-sided smoothing of the real labels, in [0, 1).",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("seed", None, "Seed of the weights, noise, dropout and data order.", lower_bound=0)
flags.DEFINE_integer("steps_per_epoch", None, "Cap on the steps of an epoch, for quick runs.", lower_bound=1)
flags.DEFINE_integer("fid_every", None, "Compute FID every this many epochs (0: never).", lower_bound=0)
flags.DEFINE_float("debug_batch_sleep", 0.0, "Testing: seconds to sleep after each batch.", lower_bound=0.0)
flags.DEFINE_integer("debug_nan_at_epoch", None, "Testing: make the loss NaN in this (1-based) epoch.",
                     lower_bound=1)

FLAGS = flags.FLAGS
_OVERRIDES = ("data_dir", "epochs", "batch_size", "latent_dim", "lr", "d_steps", "label_smoothing",
              "seed", "steps_per_epoch", "fid_every")


def _fail(message, code=2):
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def _default_workdir(backend):
    name = FLAGS.dataset or os.path.splitext(os.path.basename(FLAGS.config or "run"))[0]
    return os.path.join("runs", f"{name}-{backend}-{time.strftime('%Y%m%d-%H%M%S')}")


def main(argv):
    if not FLAGS["verbosity"].present:
        # Backends log INFO lines through absl (JAX: "Unable to initialize backend 'tpu'").
        logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        _fail(f"unexpected argument(s) {' '.join(argv[1:])}; flags look like --name=value.")
    if FLAGS.resume and not FLAGS.workdir:
        _fail("--resume needs the --workdir of the run to continue.")
    if FLAGS.backend:
        os.environ["KERAS_BACKEND"] = FLAGS.backend

    # Only now, with KERAS_BACKEND settled, may Keras be imported.
    try:
        import keras

        from dcgan_keras import callbacks, training
        from dcgan_keras.export import ExportError
    except ImportError as err:
        _fail(f"cannot load the Keras backend {os.environ.get('KERAS_BACKEND')!r}: {err}")
    backend = keras.backend.backend()
    print(f"backend: {backend}", flush=True)

    workdir = FLAGS.workdir or _default_workdir(backend)
    overrides = {name: getattr(FLAGS, name) for name in _OVERRIDES}
    extra = [callbacks.BatchDelay(FLAGS.debug_batch_sleep)] if FLAGS.debug_batch_sleep else []
    if FLAGS.debug_nan_at_epoch:
        extra.append(callbacks.InjectNaN(FLAGS.debug_nan_at_epoch))
    try:
        config = training.resolve_run_config(
            workdir, FLAGS.resume, preset=FLAGS.dataset, config_path=FLAGS.config, overrides=overrides
        )
        training.train(config, workdir, resume=FLAGS.resume, callbacks=extra)
    except training.USER_ERRORS as err:
        _fail(str(err))
    except training.TrainingDiverged as err:
        _fail(str(err), code=3)
    except ExportError as err:
        _fail(f"training finished and its checkpoints are in {workdir}, but the export failed: {err}", code=1)
    except KeyboardInterrupt:
        _fail(f"interrupted; continue with: python train.py --resume --workdir={workdir}", code=130)
    print(f"done: {workdir}", flush=True)


def run(argv=None):
    argv = list(sys.argv if argv is None else argv)
    app.define_help_flags()  # --help/--helpfull, which app.run would define only after parsing
    # absl exits 1 on a bad flag; parsing first makes that a usage error (2) like the others.
    try:
        FLAGS(argv)
    except flags.Error as err:
        _fail(f"{err}. Run with --help to see the flags.")
    app.run(main, argv=argv)


if __name__ == "__main__":
    run()
