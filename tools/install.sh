#!/usr/bin/env bash
# Idempotent CPU install of mmvps and its stack (stock mmengine / mmcv-with-ops / mmdet).
# Re-running it is cheap: packages already at the pinned versions are left alone and pip
# caches the mmcv wheel it builds from source.  See README "Install on a GPU cluster" for CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

have() {  # have PKG VERSION -> 0 when that exact version is installed
  "$PY" - "$1" "$2" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version(sys.argv[1]).split('+')[0] == sys.argv[2] else 1)
PYEOF
}

pip_install() { "$PY" -m pip install --no-input -q "$@"; }

have torch "$TORCH_VERSION" || pip_install "torch==$TORCH_VERSION"
# mmcv's setup.py needs pkg_resources (setuptools<70); ops are built with ninja.
pip_install "setuptools<70" wheel ninja
pip_install -r requirements/runtime.txt -r requirements/tests.txt
have mmengine 0.10.7 || pip_install mmengine==0.10.7
if ! have mmcv 2.1.0 || ! "$PY" -c "import mmcv.ops" 2>/dev/null; then
  echo "[install] building mmcv 2.1.0 with ops (about 8 min on 2 cores the first time; the wheel is cached)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} pip_install --no-build-isolation mmcv==2.1.0
fi
have mmdet 3.3.0 || pip_install mmdet==3.3.0
pip_install --no-build-isolation --no-deps -e .
"$PY" -c "import mmcv.ops, mmdet, mmvps; print('[install] mmvps', mmvps.__version__, 'on mmdet', mmdet.__version__, 'mmcv', mmcv.__version__)"
