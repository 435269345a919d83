#!/usr/bin/env bash
# The test command: the whole suite once per Keras backend (a process can
# only ever use one). Extra arguments go to pytest, e.g. -x or -k name.
#   bash tests/all_backends.sh            the full suite (CI, before a commit)
#   bash tests/all_backends.sh --quick    the quick tier: no train.py/sample.py
#                                         subprocess tests (tests marked `full`)
set -u
cd "$(dirname "$0")/.."
tier=()
if [ "${1:-}" = "--quick" ]; then
  shift
  tier=(-m "not slow and not full")
fi
status=0
for backend in tensorflow jax torch; do
  echo "=== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python -m pytest -q -rs -n 2 --dist loadfile --no-loadscope-reorder "${tier[@]}" "$@" || status=1
done
exit $status
