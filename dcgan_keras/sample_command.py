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
    flags.DEFINE_enum("direction", None, ["AtoB", "BtoA"], "With --input, which way a CycleGAN translates "
                      "(default AtoB).", flag_values=fv)
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
    # A path named .onnx that became a SavedModel directory would surprise anyone.
    if FLAGS.export_format:
        return FLAGS.export_format
    return "onnx" if FLAGS.export.lower().endswith(".onnx") else "saved_model"


def _export(sampling, export, gen):
    if isinstance(gen, sampling.SavedModelGenerator):
        _fail(f"{gen.source} is already a SavedModel, and --export writes one from a .keras file: give "
              "--checkpoint a .keras file, or a run directory that holds a checkpoint or generator.keras.")
    if _export_format() == "onnx":
        path = export.export_onnx(gen, FLAGS.export, overwrite=FLAGS.overwrite)
    else:
        path = export.export_saved_model(gen, FLAGS.export, overwrite=FLAGS.overwrite)
    print(f"Exported the generator of {gen.source} to {path} ({_export_format()}).")


def _sample(sampling, gen):
    if FLAGS.interpolate:
        z = sampling.interpolation_noise(gen.latent_dim, FLAGS.interpolate, FLAGS.seed, FLAGS.interp_method)
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


def _refuse_unused_sampling_flags():
    # A flag that changes nothing would let a user believe it did.
    if FLAGS.interpolate and FLAGS["num"].present:
        _fail(f"--interpolate={FLAGS.interpolate} sets how many images are drawn; leave out --num.")
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


def _run(keras, cli, export, sampling):
    # The modules come from main, which imports them once KERAS_BACKEND is settled.
    cli.warnings_as_lines()
    from dcgan_keras import translation

    if FLAGS.input is not None or FLAGS.direction is not None or translation.describe(FLAGS.checkpoint):
        print(f"Keras backend: {keras.backend.backend()}")
        return translation.run(FLAGS, _fail)  # a Pix2Pix or CycleGAN: dcgan_keras.translation

    if FLAGS["export_format"].present and not FLAGS.export:
        _fail("--export_format says how --export writes the generator; give --export=PATH too.")
    if FLAGS.export:
        names = ("num", "out", "grid_cols", "interpolate", "interp_method", "seed")
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
        # Every write is to a temporary renamed at the end, and removed on the way out.
        print(f"error: {cli.stop_reason()}; nothing was written.", file=sys.stderr)
        sys.exit(cli.stopped_exit_code())
    except Exception as e:
        if not cli.out_of_memory(e):
            raise
        _fail(f"not enough memory for {FLAGS.interpolate or FLAGS.num} images; ask for fewer, or write them "
              "to a directory (--out=DIR/ holds one batch at a time).")
