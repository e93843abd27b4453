#!/usr/bin/env bash
# Prepares what the end-to-end suite needs outside node_modules:
#   - test/e2e/.venv with the pinned Label Studio + SDK (reused when the pins match)
#   - a Chromium binary for the browser check (Debian package `chromium`)
# Prints one line per step with its duration. Idempotent.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/.venv"
LS_VERSION="${E2E_LABEL_STUDIO_VERSION:-1.23.2}"
SDK_VERSION="${E2E_LABEL_STUDIO_SDK_VERSION:-2.1.2}"   # the version label-studio 1.23.2 pins (==)
PYTHON="${E2E_PYTHON:-}"

if [[ -z "$PYTHON" ]]; then
  for p in python3.11 python3.12 python3; do
    if command -v "$p" >/dev/null 2>&1; then PYTHON="$p"; break; fi
  done
fi
[[ -n "$PYTHON" ]] || { echo "setup: no python3 found" >&2; exit 1; }

installed_versions() {
  "$VENV/bin/python" - <<'EOF' 2>/dev/null || true
import importlib.metadata as m
try:
    print(m.version("label-studio"), m.version("label-studio-sdk"))
except Exception:
    print("none")
EOF
}

t0=$(date +%s)
if [[ -x "$VENV/bin/python" && "$(installed_versions)" == "$LS_VERSION $SDK_VERSION" ]]; then
  echo "setup: reusing $VENV (label-studio $LS_VERSION, label-studio-sdk $SDK_VERSION)"
else
  echo "setup: creating $VENV with $($PYTHON --version 2>&1), installing label-studio==$LS_VERSION label-studio-sdk==$SDK_VERSION ..."
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --disable-pip-version-check --no-input -q \
    "label-studio==$LS_VERSION" "label-studio-sdk==$SDK_VERSION"
  [[ "$(installed_versions)" == "$LS_VERSION $SDK_VERSION" ]] || { echo "setup: pinned versions not installed" >&2; exit 1; }
  echo "setup: pip install took $(( $(date +%s) - t0 )) s"
fi

t1=$(date +%s)
find_chromium() {
  for c in "${E2E_CHROMIUM:-}" chromium chromium-browser google-chrome; do
    [[ -n "$c" ]] && command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return 0; }
  done
  return 1
}
if ! find_chromium >/dev/null; then
  echo "setup: installing the Debian package chromium ..."
  if [[ "$(id -u)" != 0 ]]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 \
    || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
  echo "setup: chromium install took $(( $(date +%s) - t1 )) s"
fi
echo "setup: chromium at $(find_chromium)"
