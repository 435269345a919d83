"""Trains a DCGAN and writes a run directory (docs/run-directory.md).

    python train.py --backend=jax --dataset=fashion_mnist
    python train.py --dataset=cifar10 --epochs=50 --workdir=runs/cifar
    python train.py --resume --workdir=runs/cifar --epochs=80     # continue, or train longer
    python train.py --config=my_preset.py --data_dir=data/faces
    python train.py --backend=jax --dataset=celeba64 --distribute=data_parallel --mixed_precision=mixed_bfloat16
    # Several hosts (jax): the same command on every host, each with its own --process_id.
    python train.py --backend=jax --dataset=celeba64 --workdir=runs/celeba --coordinator_address=10.0.0.1:1234 --num_processes=2 --process_id=0

Flags only: they come from the config's fields (dcgan_keras.config.FLAG_HELP);
`--backend` picks the Keras backend before Keras is imported, then
dcgan_keras.train_command runs `training.train`. Exit codes: 0 done, 2 bad
flags/config/workdir/data, a full disk or out of memory (one `error:` line,
nothing overwritten), 3 the loss diverged (the last good checkpoint is kept),
1 trained but the SavedModel export failed (`sample.py --export` retries it),
130 Ctrl-C, 143 SIGTERM (both keep the last complete epoch for --resume).
See docs/runs.md.
"""

from absl import flags

from dcgan_keras import train_command  # imports no Keras: the backend is not picked yet

train_command.define_flags()
flags.adopt_module_key_flags(train_command)  # --help lists them; --helpfull adds the test hooks
FLAGS = flags.FLAGS


def run(argv=None):
    train_command.parse_and_run(argv)


if __name__ == "__main__":
    run()
