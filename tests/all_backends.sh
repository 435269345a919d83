#!/usr/bin/env bash
# The test command: the whole suite once per Keras backend (a process can
# only ever use one). Extra arguments go to pytest, e.g. -x or -k name.
set -u
cd "$(dirname "$0")/.."
status=0
for backend in tensorflow jax torch; do
  echo "=== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python -m pytest -q -rs -n 2 --dist loadfile --no-loadscope-reorder "$@" || status=1
done
exit $status
