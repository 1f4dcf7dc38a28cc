#!/usr/bin/env bash
# README command 2: install mmvps and its stack (tools/install.sh), then run the whole pytest
# suite. pytest's summary is printed and its exit code is this script's exit code.
# Extra arguments go to pytest, e.g. `bash tools/run_tests.sh -x tests/engine`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

bash tools/install.sh

start=$SECONDS
set +e
if [ $# -gt 0 ]; then
  "$PY" -m pytest -q -ra "$@"
else
  "$PY" -m pytest -q -ra tests
fi
rc=$?
set -e
echo "[run_tests] pytest exit code $rc after $((SECONDS - start)) s"
exit $rc
