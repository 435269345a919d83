#!/bin/bash
# The GPU measurements of bench/RESULTS.md, as run on a lent machine through
# the workplace's device tool (one command of at most 10 minutes each):
#   bash bench/gpu_run.sh throughput   # images/s, fp32 and mixed_float16, jax and torch
#   bash bench/gpu_run.sh quality [quality.py args]  # bench/quality.py, 5 epochs x 3 seeds, jax and torch
#   bash bench/gpu_run.sh round2       # torch.compile, steps_per_execution, bfloat16, torch profile
#   bash bench/gpu_run.sh callbacks    # train.py's per-step callbacks, async-safe vs syncing every step
#   bash bench/gpu_run.sh cli          # train.py / resume / sample.py and the model tests on the GPU
#   bash bench/gpu_run.sh torch_layers # torch: dcgan_keras.layers and direct layer calls against Keras's own, a profile, host time
#   bash bench/gpu_run.sh family jax   # (or torch) Pix2Pix and CycleGAN against hand-written loops, 64x64 and 256x256, and WGAN-GP
# The family's quality goes through `quality` with its own arguments, e.g.
#   bash bench/gpu_run.sh quality --recipes=conditional,kerasio_cgan               # issue 26
#   bash bench/gpu_run.sh quality --seeds=0 --tag=hinge --overrides='{"loss": "hinge"}'  # issue 29
# That machine has JAX and torch with CUDA but no TensorFlow (its CUDA build is
# ~2 GB, over what can be carried there), and no network: Keras and its two
# missing pure dependencies come as wheels in .whl/, MNIST and the cached
# classifier in .devdata/ (both ignored by git). Results land in $OUT.
set -u
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
PY=python3
say() { echo "== $(date +%H:%M:%S) $*"; }

case "${1:-}" in
throughput)
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  $PY -c "import keras, jax, torch; print('keras', keras.__version__, 'jax', jax.__version__, jax.devices(), 'torch', torch.__version__, torch.cuda.get_device_name(0))"
  common="--presets=tf_tutorial,dcgan64 --reps=5 --turn_seconds=1.0 --max_steps=500 --compile_timeout=150"
  say "fp32 jax";   timeout 170 $PY bench/throughput.py --backends=jax $common --data_parallel --out=$OUT/tp_jax.json 2>&1 | grep -v "^[WI]0000" | tee $OUT/tp_jax.log; pkill -f "throughput.py --worker"
  say "fp32 torch"; timeout 170 $PY bench/throughput.py --backends=torch $common --torch_compile --out=$OUT/tp_torch.json 2>&1 | grep -v "^[WI]0000" | tee $OUT/tp_torch.log; pkill -f "throughput.py --worker"
  say "mixed jax";  timeout 110 $PY bench/throughput.py --backends=jax $common --mixed_precision --out=$OUT/tp_jax_mp.json 2>&1 | grep -v "^[WI]0000" | tee $OUT/tp_jax_mp.log; pkill -f "throughput.py --worker"
  say "mixed torch"; timeout 100 $PY bench/throughput.py --backends=torch $common --mixed_precision --out=$OUT/tp_torch_mp.json 2>&1 | grep -v "^[WI]0000" | tee $OUT/tp_torch_mp.log; pkill -f "throughput.py --worker"
  ;;
quality)
  # The judge comes from here: quality.py trains it (TensorFlow) into bench/cache/ first;
  #   mkdir -p .devdata/cache/quality && cp -r ../shared/data/mnist .devdata/ &&
  #   cp bench/cache/mnist_classifier.weights.h5 .devdata/cache/ && cp bench/cache/quality/classifier.json .devdata/cache/quality/
  # Extra arguments go to quality.py, e.g. a candidate: --tag=ls0.1 --overrides='{"label_smoothing": 0.1}'.
  # Results come back in quality.tgz; unpack its results/ into bench/results/quality/.
  shift
  nvidia-smi --query-gpu=name --format=csv,noheader
  timeout 560 $PY bench/quality.py --mnist_dir=.devdata/mnist --cache_dir=.devdata/cache --results_dir=.devdata/results \
    --backends=jax,torch --recipes=keras --seeds=0,1,2 --epochs=5 --num_samples=10000 --job_timeout=170 --no_md "$@" 2>&1 | tee $OUT/quality.log
  tar czf $OUT/quality.tgz -C .devdata results cache/quality/logs
  ;;
round2)
  # After the first round: torch without the crashing torch.compile'd reference,
  # Keras's own torch.compile (jit_compile=True); JAX with steps_per_execution;
  # bfloat16; a CUDA profile of the torch step.
  R=/tmp/round2; mkdir -p $R
  common="--presets=tf_tutorial,dcgan64 --reps=5 --turn_seconds=1.0 --max_steps=500"
  tp() { local name=$1 t=$2; shift 2; say "$name"; timeout $t $PY bench/throughput.py $common "$@" --out=$R/$name.json 2>&1 | grep -v "^[WI]0000\|^W1\|dynamo" > $R/$name.log; pkill -f "throughput.py --worker"; grep -A12 "^backend" $R/$name.log | tail -12; }
  tp torch_fp32 200 --backends=torch --torch_compile --compile_timeout=120 --variants=keras,keras_simul,torch_seq1,torch_seq1_nograd,keras_compile
  tp jax_fp32_spe8 70 --backends=jax --steps_per_execution=8 --variants=keras,keras_simul,jax_seq1,jax_simul
  tp jax_fp16_spe8 70 --backends=jax --steps_per_execution=8 --mixed_precision --variants=keras,keras_simul,jax_seq1,jax_simul
  tp jax_bf16 70 --backends=jax --mixed_precision=bfloat16 --variants=keras,keras_simul,jax_seq1,jax_simul
  tp torch_bf16 60 --backends=torch --mixed_precision=bfloat16 --variants=keras,torch_seq1,torch_seq1_nograd
  say "torch profile"; timeout 50 $PY bench/profile_torch.py --preset=tf_tutorial --batch=256 --steps=5 --top=25 > $R/profile_torch.log 2>&1; grep "^==\|GPU kernel" $R/profile_torch.log
  tar czf $OUT/round2.tgz -C /tmp round2
  ;;
callbacks)
  # train.py's per-step callbacks: async-safe now, against the old per-step sync.
  common="--presets=tf_tutorial,dcgan64 --reps=5 --turn_seconds=1.0 --max_steps=500 --run_callbacks"
  say "jax";   timeout 200 $PY bench/throughput.py --backends=jax $common --variants=keras,keras_runcbs,keras_runcbs_sync,jax_seq1 --out=$OUT/cb_jax.json 2>&1 | grep -v "^[WI]0000" > $OUT/cb_jax.log; pkill -f "throughput.py --worker"; grep -A5 "^backend" $OUT/cb_jax.log | tail -10
  say "torch"; timeout 150 $PY bench/throughput.py --backends=torch $common --variants=keras,keras_runcbs,keras_runcbs_sync,torch_seq1_nograd --out=$OUT/cb_torch.json 2>&1 | grep -v "^[WI]0000" > $OUT/cb_torch.log; pkill -f "throughput.py --worker"; grep -A5 "^backend" $OUT/cb_torch.log | tail -10
  ;;
cli)
  # The command-line path on the GPU, per backend: train 2 epochs of real MNIST
  # (mixed precision, data-parallel over the visible GPUs on JAX), resume to 3,
  # sample; then the model tests that need no TensorFlow.
  for b in jax torch; do
    extra=""; [ $b = jax ] && extra="--distribute=data_parallel"
    say "train.py $b"
    timeout 100 $PY train.py --backend=$b --dataset=mnist --data_dir=.devdata/mnist --epochs=2 --mixed_precision=mixed_float16 $extra --workdir=/tmp/run_$b 2>&1 | grep -v "^[WI]0000" | tail -5
    timeout 60 $PY train.py --backend=$b --dataset=mnist --data_dir=.devdata/mnist --epochs=3 --resume --workdir=/tmp/run_$b 2>&1 | grep -v "^[WI]0000" | tail -3
    timeout 40 $PY sample.py --backend=$b --checkpoint=/tmp/run_$b --num=64 --out=$OUT/samples_$b.png 2>&1 | tail -1
    cp /tmp/run_$b/metrics.csv $OUT/metrics_$b.csv
  done
  for b in jax torch; do
    say "pytest $b"
    KERAS_BACKEND=$b timeout 90 $PY -m pytest -q -x -p no:cacheprovider -n 4 tests/test_gan.py tests/test_callbacks.py 2>&1 | tail -3
  done
  ;;
torch_layers)
  # RESULTS.md attempts 7 and 12 (measured on CPU only): do the torch path of
  # dcgan_keras.layers (keras vs keras_stock) and the seam's direct layer calls
  # (keras vs keras_calls) help the host-bound GPU step, fp32 and mixed_float16?
  common="--backends=torch --presets=tf_tutorial,dcgan64 --reps=5 --turn_seconds=1.0 --max_steps=500 --stock_layers --keras_calls"
  common="$common --variants=keras,keras_simul,keras_stock,keras_calls,torch_seq1,torch_seq1_nograd"
  say "fp32";  timeout 200 $PY bench/throughput.py $common --out=$OUT/tl_fp32.json 2>&1 | grep -v "^[WI]0000" > $OUT/tl_fp32.log; pkill -f "throughput.py --worker"; grep -A14 "^backend" $OUT/tl_fp32.log
  say "fp16";  timeout 200 $PY bench/throughput.py $common --mixed_precision --out=$OUT/tl_fp16.json 2>&1 | grep -v "^[WI]0000" > $OUT/tl_fp16.log; pkill -f "throughput.py --worker"; grep -A14 "^backend" $OUT/tl_fp16.log
  say "profile"; timeout 60 $PY bench/profile_torch.py --preset=tf_tutorial --batch=256 --steps=5 --top=25 > $OUT/tl_profile.log 2>&1; grep "^==\|GPU kernel" $OUT/tl_profile.log
  say "host"; timeout 60 $PY bench/torch_host_overhead.py --turns=7 --steps=30 2>&1 | grep -v "^[WI]0000" | tail -5
  # RESULTS.md attempt 16: a step of keras should make no synchronizing call but
  # the last turn's (the fit variant's data transfers and logs are Keras's).
  say "syncs"; timeout 40 $PY bench/torch_host_overhead.py --sync_debug --steps=5 2>&1 | grep -v "^[WI]0000" | tail -40
  ;;
family)
  # Issues 27-29 on the GPU, one backend a call (JAX or torch; no TensorFlow there): the
  # translators' `fit` against hand-written loops at 64x64 and at the papers' 256x256 batch 1
  # (bench/translator_throughput.py), then the WGAN-GP step and the mnist_conditional step with the
  # fast path on and off (bench/throughput.py).
  b=${2:?usage: bash bench/gpu_run.sh family jax|torch}
  say "translators $b, 64x64"; timeout 150 $PY bench/translator_throughput.py --backends=$b --reps=5 --out=$OUT/tr64_$b.json 2>&1 | grep -v "^[WI]0000" | tail -4
  say "translators $b, 256x256 batch 1"; timeout 240 $PY bench/translator_throughput.py --backends=$b --size=256 --batch=1 --filters=64 --residual_blocks=9 --reps=3 --out=$OUT/tr256_$b.json 2>&1 | grep -v "^[WI]0000" | tail -4
  say "wgan_gp and conditional $b"; timeout 300 $PY bench/throughput.py --backends=$b --presets=wgan_gp,conditional --reps=5 --turn_seconds=1.0 --max_steps=500 --out=$OUT/tp_family_$b.json 2>&1 | grep -v "^[WI]0000" | tail -12; pkill -f "throughput.py --worker"
  ;;
*) echo "usage: bash bench/gpu_run.sh throughput|quality|round2|callbacks|cli|torch_layers|family"; exit 2 ;;
esac
say done
