"""What `python sample.py` does: its flags (`define_flags`), its checks, and sampling or exporting.

sample.py only defines the flags and calls `main`. Bad input exits with code
2 and one `error: ...` line; Ctrl-C (130) or SIGTERM (143) leaves nothing
half written. The checkpoint's path is checked before a backend loads.

This module imports no Keras: `main` sets KERAS_BACKEND from --backend first.
"""

import os
import sys

from absl import flags, logging

from dcgan_keras import cli
from dcgan_keras.config import LATENT_DISTRIBUTIONS  # no Keras: flags are defined before a backend loads

BACKENDS = cli.BACKENDS

FLAGS = flags.FLAGS


def define_flags(fv=FLAGS):
    """Defines sample.py's flags (in this module, which sample.py adopts: --help lists them)."""
    flags.DEFINE_string("checkpoint", None, "A run directory, its checkpoints/ folder, a .keras file (DCGAN or "
                        "generator) or a SavedModel directory.", flag_values=fv)
    flags.DEFINE_integer("num", 64, "Number of images to sample.", lower_bound=1, flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of the latent noise: the same seed gives the same images.", lower_bound=0,
                         flag_values=fv)
    flags.DEFINE_string("out", "samples.png", "A .png (one grid), a .npz (uint8 `images`) or a new or empty "
                        "directory (one PNG per image).", flag_values=fv)
    flags.DEFINE_integer("grid_cols", None, "Columns of a .png grid (default: the smallest square).", lower_bound=1,
                         flag_values=fv)
    flags.DEFINE_integer("interpolate", None, "Instead of --num samples: K images on the path from seed --seed's z "
                         "to seed --seed+1's, both ends included (a one-row strip when --out is a .png).",
                         lower_bound=2, flag_values=fv)
    flags.DEFINE_enum("interp_method", "slerp", list(cli.INTERPOLATION_METHODS), "Spherical or straight-line interpolation.",
                      flag_values=fv)
    flags.DEFINE_enum("latent_distribution", None, list(LATENT_DISTRIBUTIONS), "The noise z is drawn "
                      "from. Default: the one the model was trained on where its files say (a checkpoint, a run "
                      "directory), else normal.", flag_values=fv)
    flags.DEFINE_integer("label", None, "A conditional model: every image of this class (with --interpolate: the "
                         "class of the walk between two z).", lower_bound=0, flag_values=fv)
    flags.DEFINE_list("labels", None, "A conditional model: these classes, a row each with the same noise in each "
                      "column (default: every class). --num images in all, at least one per class.", flag_values=fv)
    flags.DEFINE_list("interpolate_classes", None, "A conditional model: two classes, e.g. 1,5: --interpolate "
                      "(default 8) images morphing from the first to the second with seed --seed's z held fixed "
                      "(keras.io's Conditional GAN).", flag_values=fv)
    flags.DEFINE_enum("backend", None, list(BACKENDS), "Keras backend; wins over KERAS_BACKEND. Default: the "
                      "environment's.", flag_values=fv)
    flags.DEFINE_string("export", None, "Instead of sampling: write the generator to this path (see "
                        "--export_format).", flag_values=fv)
    flags.DEFINE_enum("export_format", None, list(cli.EXPORT_FORMATS), "A TensorFlow SavedModel directory, or an "
                      "ONNX file. Default: onnx for an --export path ending in .onnx, else saved_model.",
                      flag_values=fv)
    flags.DEFINE_boolean("overwrite", False, "Let --out replace an existing .png or .npz, or --export an earlier "
                         "export.", flag_values=fv)
    flags.DEFINE_string("input", None, "Translate instead of sampling, with a pix2pix or cyclegan --checkpoint: an "
                        "image, a folder of images or an .npz of images; --out gets a folder of PNGs (the same "
                        "names), an .npz, or a .png of input|output pairs.", flag_values=fv)
    flags.DEFINE_enum("direction", None, ["AtoB", "BtoA"], "With --input, which way a CycleGAN translates; "
                      "with --export, which of its generators is written (default AtoB).", flag_values=fv)
    flags.mark_flag_as_required("checkpoint", flag_values=fv)


def _fail(message):
    cli.fail(message)


def parse_flags(argv):
    # absl exits 1 on a bad flag; this script's contract is 2 for any bad input.
    try:
        return FLAGS(argv)
    except flags.Error as e:
        _fail(str(e))


def _export_format():
    return cli.export_format(FLAGS.export, FLAGS.export_format)


def _export(sampling, export, gen):
    if isinstance(gen, sampling.SavedModelGenerator):
        _fail(f"{gen.source} is already a SavedModel, and --export writes one from a .keras file: give "
              "--checkpoint a .keras file, or a run directory that holds a checkpoint or generator.keras.")
    if _export_format() == "onnx":
        path = export.export_onnx(gen, FLAGS.export, overwrite=FLAGS.overwrite)
    else:
        path = export.export_saved_model(gen, FLAGS.export, overwrite=FLAGS.overwrite)
    print(f"Exported the generator of {gen.source} to {path} ({_export_format()}).")


def _noise_distribution(gen):
    """Sets the noise --latent_distribution asks for, warning where the model was trained on another."""
    asked, trained = FLAGS.latent_distribution, getattr(gen, "latent_distribution", None)
    if asked is None:
        return
    if trained is not None and trained != asked:
        print(f"warning: {gen.source} was trained on {trained} noise; --latent_distribution={asked} draws "
              f"z from another distribution, so the images will not look like its training samples.",
              file=sys.stderr)
    gen.latent_distribution = asked


def _sample(sampling, gen):
    _noise_distribution(gen)
    if getattr(gen, "conditional", False):
        return _sample_classes(sampling, gen)
    for name in CLASS_FLAGS:
        if FLAGS[name].present:
            _fail(f"--{name} asks a conditional model for classes, and {gen.source} holds an unconditional "
                  "generator (trained without labels). Leave it out, or sample a model trained with "
                  "--model=conditional (e.g. the mnist_conditional preset).")
    if FLAGS.interpolate:
        z = sampling.interpolation_noise(gen.latent_dim, FLAGS.interpolate, FLAGS.seed, FLAGS.interp_method,
                                         sampling.noise_distribution(gen))
        images = gen(z)
        cols = FLAGS.grid_cols or FLAGS.interpolate
        what = f"a {FLAGS.interp_method} interpolation of {len(images)} images (seeds {FLAGS.seed}, {FLAGS.seed + 1})"
    else:
        # Batch by batch: --num=50000 for FID need not hold 50000 float images.
        images = sampling.sample_batches(gen, FLAGS.num, FLAGS.seed)
        cols = FLAGS.grid_cols
        what = f"{FLAGS.num} images (seed {FLAGS.seed})"
    sampling.write_output(images, FLAGS.out, grid_cols=cols, overwrite=FLAGS.overwrite)
    print(f"Wrote {what} from {gen.source} to {FLAGS.out}.")


#: The flags that ask a conditional model for classes.
CLASS_FLAGS = ("label", "labels", "interpolate_classes")


def _class_ids(name, values, gen, count=None):
    """The ints of --labels / --interpolate_classes, each a class of `gen`'s, or exit 2."""
    try:
        ids = [int(value) for value in values]
    except ValueError:
        _fail(f"--{name} takes class ids separated by commas, e.g. 0,3,7. Received: {','.join(values)}")
    if count is not None and len(ids) != count:
        _fail(f"--{name} takes {count} class ids, e.g. 1,5. Received: {','.join(values)}")
    if not ids:
        _fail(f"--{name} needs at least one class id.")
    for value in ids:
        _check_class(f"--{name}", value, gen)
    return ids


def _check_class(flag, value, gen):
    classes = gen.num_classes
    if value < 0 or (classes is not None and value >= classes):
        known = f"0 to {classes - 1}" if classes is not None else "ids >= 0"
        _fail(f"{flag}={value} is not a class of {gen.source}: its classes are {known}.")


def _sample_classes(sampling, gen):
    """A conditional generator: a class per row, one class, or a walk between two classes."""
    if FLAGS.label is not None and FLAGS.labels:
        _fail("--label asks for one class and --labels for several; give one of them.")
    if FLAGS.interpolate_classes and (FLAGS.label is not None or FLAGS.labels):
        _fail("--interpolate_classes names its two classes; leave out --label and --labels.")
    labels = None
    if FLAGS.interpolate_classes:
        start, end = _class_ids("interpolate_classes", FLAGS.interpolate_classes, gen, count=2)
        if not gen.interpolates_classes:
            _fail(f"{gen.source}'s generator takes class ids only (no one-hot encoding layer to mix classes in): "
                  "it cannot interpolate between classes.")
        steps = FLAGS.interpolate or 8
        weights = sampling.class_interpolation_weights(gen.num_classes, start, end, steps)
        z = sampling.latent_noise(1, gen.latent_dim, FLAGS.seed).repeat(steps, axis=0)
        images, cols = gen(z, labels=weights), FLAGS.grid_cols or steps
        what = f"{steps} images from class {start} to class {end} (seed {FLAGS.seed})"
    elif FLAGS.interpolate:
        if FLAGS.labels:
            _fail("--interpolate walks between two z within one class: name it with --label, not --labels.")
        label = 0 if FLAGS.label is None else FLAGS.label
        _check_class("--label", label, gen)
        z = sampling.interpolation_noise(gen.latent_dim, FLAGS.interpolate, FLAGS.seed, FLAGS.interp_method)
        images, cols = gen(z, labels=label), FLAGS.grid_cols or FLAGS.interpolate
        labels = [label] * FLAGS.interpolate
        what = (f"a {FLAGS.interp_method} interpolation of {len(images)} images of class {label} (seeds "
                f"{FLAGS.seed}, {FLAGS.seed + 1})")
    elif FLAGS.label is not None:
        _check_class("--label", FLAGS.label, gen)
        labels = [FLAGS.label] * FLAGS.num
        images, cols = sampling.sample_batches(gen, FLAGS.num, FLAGS.seed, labels=labels), FLAGS.grid_cols
        what = f"{FLAGS.num} images of class {FLAGS.label} (seed {FLAGS.seed})"
    else:
        if FLAGS.labels:
            classes = _class_ids("labels", FLAGS.labels, gen)
        elif gen.num_classes is None:
            _fail(f"{gen.source} does not say how many classes its generator takes: name them with --labels "
                  "(e.g. --labels=0,1,2) or --label.")
        else:
            classes = list(range(gen.num_classes))
        columns = max(1, FLAGS.num // len(classes))
        z, labels = sampling.class_grid_inputs(gen.latent_dim, classes, columns, FLAGS.seed)
        images, cols = gen(z, labels=labels), FLAGS.grid_cols or columns
        what = f"{len(z)} images: {len(classes)} classes x {columns} (seed {FLAGS.seed})"
    sampling.write_output(images, FLAGS.out, grid_cols=cols, overwrite=FLAGS.overwrite, labels=labels)
    print(f"Wrote {what} from {gen.source} to {FLAGS.out}.")


def _refuse_unused_sampling_flags():
    # A flag that changes nothing would let a user believe it did.
    if FLAGS.interpolate and FLAGS["num"].present:
        _fail(f"--interpolate={FLAGS.interpolate} sets how many images are drawn; leave out --num.")
    if FLAGS.interpolate_classes and FLAGS["num"].present:
        _fail("--interpolate_classes draws --interpolate images (default 8); leave out --num.")
    if FLAGS["interp_method"].present and not FLAGS.interpolate:
        _fail("--interp_method says how --interpolate walks; give --interpolate=K too.")
    if FLAGS.grid_cols and not FLAGS.out.lower().endswith(".png"):
        _fail(f"--grid_cols lays out a .png grid, and --out={FLAGS.out} is not one; leave it out.")


def main(argv):
    if len(argv) > 1:
        _fail(f"unexpected arguments: {' '.join(argv[1:])}")
    # Before the backend loads (seconds): a wrong path is told at once.
    missing = cli.missing_checkpoint(FLAGS.checkpoint)
    if missing:
        _fail(missing)
    if FLAGS.backend:
        os.environ["KERAS_BACKEND"] = FLAGS.backend
    cli.quiet_tensorflow_logs()
    if not FLAGS["verbosity"].present:
        # app.run logs INFO to stderr: JAX's start-up notes would bury the one line that matters.
        logging.set_verbosity(logging.WARNING)
    # Imported only now: Keras reads KERAS_BACKEND once, when first imported.
    try:
        import keras

        from dcgan_keras import export, sampling
    except ImportError as err:
        _fail(f"cannot load the Keras backend {os.environ.get('KERAS_BACKEND')!r}: {err}")
    except KeyboardInterrupt:
        print("error: interrupted while loading Keras; nothing was written.", file=sys.stderr)
        sys.exit(130)

    with cli.stopping_on_signals():
        _run(keras, cli, export, sampling)


def _stopped(cli):
    # Every write is to a temporary renamed at the end, and removed on the way out.
    print(f"error: {cli.stop_reason()}; nothing was written.", file=sys.stderr)
    sys.exit(cli.stopped_exit_code())


def _run(keras, cli, export, sampling):
    # The modules come from main, which imports them once KERAS_BACKEND is settled.
    cli.warnings_as_lines()
    from dcgan_keras import translation

    if FLAGS.input is not None or FLAGS.direction is not None or translation.describe(FLAGS.checkpoint):
        print(f"Keras backend: {keras.backend.backend()}")
        try:
            return translation.run(FLAGS, _fail)  # a Pix2Pix or CycleGAN: dcgan_keras.translation
        except KeyboardInterrupt:
            _stopped(cli)

    cli.refuse_export_format_alone(FLAGS, _fail)
    if FLAGS.export:
        names = ("num", "out", "grid_cols", "interpolate", "interp_method", "seed", "latent_distribution") + CLASS_FLAGS
        sampling_flags = [f"--{name}" for name in names if FLAGS[name].present]
        if sampling_flags:
            _fail(f"--export writes the generator and samples nothing; leave out {', '.join(sampling_flags)} "
                  "(sample in a second command).")
    else:
        _refuse_unused_sampling_flags()
    print(f"Keras backend: {keras.backend.backend()}")
    try:
        # Paths are checked before the (slow) load, and nothing is written before the end.
        if FLAGS.export:
            if _export_format() == "onnx":
                export.check_onnx_path(FLAGS.export, FLAGS.overwrite)
            else:
                export.check_export_path(FLAGS.export, FLAGS.overwrite)
        else:
            sampling.check_output(FLAGS.out, FLAGS.overwrite)
        gen = sampling.load_generator(FLAGS.checkpoint)
        if FLAGS.export:
            _export(sampling, export, gen)
        else:
            _sample(sampling, gen)
    except (sampling.CheckpointError, sampling.OutputPathError, export.ExportError, OSError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _stopped(cli)
    except Exception as e:
        if not cli.out_of_memory(e):
            raise
        _fail(f"not enough memory for {FLAGS.interpolate or FLAGS.num} images; ask for fewer, or write them "
              "to a directory (--out=DIR/ holds one batch at a time).")
