"""Samples images from a trained DCGAN, or exports its generator.

    python sample.py --checkpoint=runs/mnist-jax-20250101-120000 --num=64 --out=samples.png
    python sample.py --checkpoint=gan.keras --num=1000 --out=samples.npz
    python sample.py --checkpoint=export/generator --interpolate=10 --out=strip.png
    python sample.py --checkpoint=gan.keras --backend=torch --export=export/generator
    python sample.py --checkpoint=gan.keras --export=generator.onnx

--checkpoint takes a run directory (its newest checkpoint), its checkpoints/
folder, a .keras file (a DCGAN or a bare generator) or a SavedModel directory; the same --seed gives the
same images from any of them, on any backend. Bad input exits with code 2 and
one `error: ...` line; Ctrl-C (130) or SIGTERM (143) leaves nothing half written.
Flags only: the work is dcgan_keras.sample_command's.
"""

from absl import app, flags

from dcgan_keras import sample_command  # imports no Keras: the backend is not picked yet

sample_command.define_flags()
flags.adopt_module_key_flags(sample_command)  # --help lists them
FLAGS = flags.FLAGS

if __name__ == "__main__":
    app.run(sample_command.main, flags_parser=sample_command.parse_flags)
