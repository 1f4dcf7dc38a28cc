#!/usr/bin/env bash
# README command 1: install, make the synthetic dataset, train the default model on CPU and
# evaluate it on the synthetic val split. The config to run is CONFIG below.
set -euo pipefail
CONFIG=configs/video_knet/video_knet_r18_synthetic.py
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
NAME=$(basename "$CONFIG" .py)
WORK_DIR=${WORK_DIR:-work_dirs/$NAME}

bash tools/install.sh
# deterministic: rewriting the tree on a rerun gives the same bytes
"$PY" tools/misc/make_synthetic_vps.py data/synthetic_vps --overwrite --train-videos 96 --val-videos 16
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR"
# CheckpointHook writes the path of the newest checkpoint to last_checkpoint
"$PY" tools/test.py "$CONFIG" "$(cat "$WORK_DIR/last_checkpoint")" --work-dir "$WORK_DIR" --show-dir vis
