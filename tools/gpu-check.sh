#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: build with CUDA, benchmark on the GPU next to PyTorch on the same
# GPU, and check that the GPU trains like the CPU: the first steps of a short style-transfer run
# and a short CycleGAN run give the same losses on cuda:0 as on the CPU (rel. err <= 1e-3).
#
#   tools/gpu-check.sh [OUT_DIR]      (default: target/gpu-check; a report is written there)
#
# Takes a few minutes of GPU time after the build (the build itself: tools/cuda-build-check.sh's
# 20-40 min on 2 cores, much less on a GPU box's cores; reuse AIART_CUDA_TOOLKIT and
# CARGO_TARGET_DIR between runs). AIART_CUDA_FEATURES (default cuda) selects the features,
# AIART_GPU_STEPS (default 5) the timed benchmark steps. PyTorch with CUDA is optional: without
# it the comparison table is skipped and said so.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/gpu-check}
mkdir -p "$out"
out=$(cd "$out" && pwd)
toolkit=${AIART_CUDA_TOOLKIT:-$HOME/.cache/aiart-cuda}
features=${AIART_CUDA_FEATURES:-cuda}
steps=${AIART_GPU_STEPS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/cuda}
report="$out/report.md"

step() { printf '\n== %s (%s)\n' "$*" "$(date +%H:%M:%S)"; }
fail() { echo "gpu-check: FAILED: $*" >&2; exit 1; }

step "GPU"
nvidia-smi -L || fail "nvidia-smi lists no GPU"
if [[ -z "${CUDA_COMPUTE_CAP:-}" ]]; then
    cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n1 | tr -d '. ')
    export CUDA_COMPUTE_CAP=$cap
fi
echo "compute capability $CUDA_COMPUTE_CAP"

step "toolkit and build (--features $features)"
eval "$(tools/cuda-toolkit.sh "$toolkit")"
start=$(date +%s)
cargo build --release --features "$features" || fail "cargo build --features $features"
echo "build: $(($(date +%s) - start)) s"
bin="$CARGO_TARGET_DIR/release/aiart"

step "first-step losses, cuda:0 against the CPU"
runs="$out/runs"
rm -rf "$runs"
mkdir -p "$runs"
for preset in nst-quick cyclegan-quick; do
    for dev in cpu cuda:0; do
        "$bin" train "presets/$preset.toml" --device "$dev" --max-steps 3 -q \
            --run-dir "$runs/$preset-${dev%%:*}" >/dev/null || fail "$preset on $dev"
    done
done
python3 - "$runs" <<'PY' | tee "$out/losses.txt"
import json, sys
runs, worst, bad = sys.argv[1], 0.0, []
for preset in ["nst-quick", "cyclegan-quick"]:
    recs = {}
    for dev in ["cpu", "cuda"]:
        recs[dev] = [json.loads(l) for l in open(f"{runs}/{preset}-{dev}/metrics.jsonl")]
    first = recs["cpu"][0]
    keys = [k for k, v in first.items() if isinstance(v, float) and k not in ("time", "lr")]
    for k in keys:
        a, b = first[k], recs["cuda"][0][k]
        rel = abs(a - b) / max(abs(a), 1e-12)
        worst = max(worst, rel)
        print(f"{preset} step {first['step']} {k}: cpu {a:.7g} cuda {b:.7g} rel {rel:.2e}")
        if rel > 1e-3:
            bad.append(f"{preset} {k}")
print(f"largest relative difference {worst:.2e}")
sys.exit(f"first-step losses differ by more than 1e-3: {', '.join(bad)}" if bad else 0)
PY

step "benchmark on cuda:0 (aiart, then PyTorch on the same GPU)"
"$bin" bench --device cuda:0 --steps "$steps" --json >"$out/aiart-cuda.json" \
    || fail "aiart bench --device cuda:0"
cat "$out/aiart-cuda.json"
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    python3 tools/bench_torch.py --device cuda:0 --steps "$steps" --json >"$out/torch-cuda.json" \
        || fail "tools/bench_torch.py --device cuda:0"
    python3 - "$out/aiart-cuda.json" "$out/torch-cuda.json" <<'PY' | tee "$out/table.md"
import json, sys, torch
a, t = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}; median ms per step after one warm-up step")
print()
print("| workload | aiart ms/step | PyTorch ms/step | time ratio |")
print("| --- | --- | --- | --- |")
tw = {w["name"]: w for w in t["workloads"]}
for w in a["workloads"]:
    r = tw.get(w["name"])
    if r:
        print(f"| {w['name']} | {w['ms_per_step']:.1f} | {r['ms_per_step']:.1f} | {w['ms_per_step'] / r['ms_per_step']:.2f}x |")
PY
else
    echo "(PyTorch with CUDA is not installed here: no comparison table)" | tee "$out/table.md"
fi

{
    echo "# gpu-check $(date -u +%Y-%m-%dT%H:%MZ), $(nvidia-smi -L | head -n1), features $features"
    echo
    echo '```'
    cat "$out/losses.txt"
    echo '```'
    echo
    cat "$out/table.md"
} >"$report"
step "gpu-check passed; report: $report"
