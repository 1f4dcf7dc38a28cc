#!/usr/bin/env bash
# Install mmvps into the current Python environment without breaking what is there.
#
# tools/misc/install_plan.py looks at torch, mmengine, mmcv and mmdet one by one and this script
# says which case it took:
# * "existing": a working stack (torch 2.x, mmengine >= 0.10, mmcv 2.0-2.1 with ops, mmdet 3.3)
#   is kept as it is; only mmvps (editable) and its missing small dependencies are added, with
#   pip constrained to the installed versions so that nothing is upgraded or replaced;
# * "partial": what is usable is kept, the missing packages are installed (mmcv built from source
#   against the torch that is there);
# * "fresh": nothing usable: the pinned CPU stack (torch 2.13 CPU, mmengine 0.10.7, mmcv 2.1.0 with
#   ops built from source, mmdet 3.3.0);
# * "conflict": an installed package mmvps cannot use (out of range, mmcv without working ops,
#   numpy 2 under torch < 2.3). Nothing is changed and the script exits 1, naming the packages;
#   MMVPS_REPLACE_STACK=1 lets it replace them.
#
# mmcv 2.1.0's setup.py builds only with setuptools < 70 while torch 2.13 requires setuptools >=
# 77: when mmcv is built, setuptools < 70 is installed for the build (without build isolation, so
# mmcv compiles against the installed torch). Whenever part of the stack was installed,
# setuptools is then put back to the version there before, or to torch's requirement below 81
# (81 drops the pkg_resources mmengine imports). `pip check` must not report anything new. Re-running is
# cheap: everything installed is then kept, and pip's wheel cache keeps the mmcv wheel built the
# first time (about 10 min on 2 cores without it).
#
# Environment: PYTHON (default python3), TORCH_VERSION (torch installed when none is, default
# 2.13.0), MAX_JOBS (mmcv build processes, default: the number of CPUs), MMVPS_REPLACE_STACK=1
# (replace unusable packages), MMVPS_INSTALL_DRY_RUN=1 (only print the case and the plan).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}

log() { echo "[install] $*"; }
version() { "$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1" \
  2>/dev/null || true; }

start=$SECONDS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
keep="$tmp/constraints.txt"
"$PY" tools/misc/install_plan.py --constraints "$keep" --torch-version "$TORCH_VERSION" \
  >"$tmp/plan.sh"
# shellcheck disable=SC1091
source "$tmp/plan.sh"
log "$MESSAGE"
if [ "$CASE" = conflict ]; then exit 1; fi
if [ "${MMVPS_INSTALL_DRY_RUN:-0}" = 1 ]; then
  log "dry run: would install [${INSTALL:-nothing of the stack}], constraints: $(tr '\n' ' ' <"$keep")"
  exit 0
fi
wants() { [[ " $INSTALL " == *" $1 "* ]]; }
pip_install() { "$PY" -m pip install --no-input -q "$@"; }
checked_before=$("$PY" -m pip check 2>&1 || true)
setuptools_before=$(version setuptools)

if wants torch; then
  log "torch $TORCH_VERSION"
  pip_install -c "$keep" "torch==$TORCH_VERSION"
  echo "torch==$(version torch)" >>"$keep"
fi
# mmengine / mmdet when missing, then numpy, scipy, ... and the test requirements; the
# constraints stop pip from touching the kept packages
for pinned in mmengine==0.10.7 mmdet==3.3.0; do
  if wants "${pinned%%=*}"; then log "$pinned"; pip_install -c "$keep" "$pinned"; fi
done
pip_install -c "$keep" -r requirements/runtime.txt -r requirements/tests.txt
echo "mmengine==$(version mmengine)" >>"$keep"
echo "mmdet==$(version mmdet)" >>"$keep"

if wants mmcv; then
  find_links=()
  if [ -n "$TORCH_CUDA" ]; then  # OpenMMLab's prebuilt wheels (torch <= 2.1), else a build
    tv=$("$PY" -c "import torch; print('.'.join(torch.__version__.split('+')[0].split('.')[:2]))")
    find_links=(-f "https://download.openmmlab.com/mmcv/dist/cu${TORCH_CUDA//./}/torch${tv}/index.html")
  fi
  log "mmcv 2.1.0 with ops (compiled from source unless pip's wheel cache has it)"
  log "pip may warn that torch needs newer setuptools: setuptools is restored after the build"
  pip_install "setuptools<70" wheel ninja
  reinstall=()  # an mmcv 2.1.0 without working ops is replaced (MMVPS_REPLACE_STACK=1)
  if [ -n "$(version mmcv)" ]; then reinstall=(--force-reinstall --no-deps); fi
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    pip_install --no-build-isolation -c "$keep" "${find_links[@]}" "${reinstall[@]}" mmcv==2.1.0
fi
if [ -n "$INSTALL" ]; then
  # setuptools back to the version there before, or to what torch requires (a torch install
  # pulls the newest, the mmcv build needed < 70), keeping the pkg_resources mmengine imports
  pip_install "$("$PY" tools/misc/install_plan.py --setuptools-after-build "$setuptools_before")"
fi

# mmvps itself, editable; PEP 660 editable installs need setuptools >= 64 in the environment,
# older ones build in pip's isolated environment
isolation=(--no-build-isolation)
"$PY" -c "import setuptools, sys; sys.exit(int(setuptools.__version__.split('.')[0]) < 64)" \
  2>/dev/null || isolation=()
pip_install "${isolation[@]}" --no-deps -e .

checked_after=$("$PY" -m pip check 2>&1 || true)
new_problems=$(comm -13 <(sort <<<"$checked_before") <(sort <<<"$checked_after") |
  grep -v '^No broken requirements found' || true)
if [ -n "$new_problems" ]; then
  echo "[install] pip check reports new problems:" >&2
  echo "$new_problems" >&2
  exit 1
fi
"$PY" -c "import mmcv.ops, mmdet, mmengine, torch, mmvps; print('[install] mmvps', mmvps.__version__, \
'| torch', torch.__version__, '| mmengine', mmengine.__version__, '| mmcv', mmcv.__version__, \
'| mmdet', mmdet.__version__)"
log "case \"$CASE\" done in $((SECONDS - start)) s"
