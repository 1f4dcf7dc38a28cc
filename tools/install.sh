#!/usr/bin/env bash
# Idempotent CPU install of mmvps and its stack: torch, mmengine 0.10.7, mmcv 2.1.0 with ops
# (built from source), mmdet 3.3.0, the runtime and test requirements, and mmvps (editable).
#
# torch 2.13 requires setuptools>=77 while mmcv 2.1.0's setup.py only builds with setuptools<70.
# So torch goes first, mmcv is built against it without build isolation under setuptools<70, and
# setuptools is then put back to what torch requires, leaving a consistent environment
# (checked with `pip check` at the end).
# Re-running is cheap: what is installed at the pinned versions is left alone, and pip's wheel
# cache keeps the mmcv wheel built the first time (about 10 min on 2 cores without it).
# GPU clusters: see README "Install on a GPU cluster" (CUDA torch + `mim install mmcv==2.1.0`).
#
# Environment: PYTHON (default python3), TORCH_VERSION (default 2.13.0), MAX_JOBS (mmcv build
# processes, default: the number of CPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCH_SETUPTOOLS="setuptools>=77.0.3,<81"  # torch's requirement; <81 keeps pkg_resources (mmengine)

log() { echo "[install] $*"; }

have() {  # have PKG VERSION -> 0 when that exact version (ignoring a +local tag) is installed
  "$PY" - "$1" "$2" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]).split('+')[0] == sys.argv[2] else 1)
PYEOF
}

pip_install() { "$PY" -m pip install --no-input -q "$@"; }

start=$SECONDS
have torch "$TORCH_VERSION" || { log "torch $TORCH_VERSION"; pip_install "torch==$TORCH_VERSION"; }
pip_install -r requirements/runtime.txt -r requirements/tests.txt
have mmengine 0.10.7 || { log "mmengine 0.10.7"; pip_install mmengine==0.10.7; }

if ! have mmcv 2.1.0 || ! "$PY" -c "import mmcv.ops" >/dev/null 2>&1; then
  # an mmcv 2.1.0 without compiled ops (mmcv-lite style) must be replaced, not kept
  reinstall=()
  if have mmcv 2.1.0; then reinstall=(--force-reinstall --no-deps); fi
  log "mmcv 2.1.0 with ops (compiled from source unless pip's wheel cache has it)"
  log "pip will warn that torch needs setuptools>=77: that is restored after the mmcv build"
  pip_install "setuptools<70" wheel ninja
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    pip_install --no-build-isolation "${reinstall[@]}" mmcv==2.1.0
fi
have mmdet 3.3.0 || { log "mmdet 3.3.0"; pip_install mmdet==3.3.0; }
pip_install "$TORCH_SETUPTOOLS"
pip_install --no-build-isolation --no-deps -e .

"$PY" -m pip check
"$PY" -c "import mmcv.ops, mmdet, mmengine, torch, mmvps; print('[install] mmvps', mmvps.__version__, \
'| torch', torch.__version__, '| mmengine', mmengine.__version__, '| mmcv', mmcv.__version__, \
'| mmdet', mmdet.__version__)"
log "done in $((SECONDS - start)) s"
