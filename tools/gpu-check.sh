#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU, from the binaries tools/gpu-pack.sh built
# elsewhere (no Rust toolchain or network needed here):
#
#   tools/gpu-check.sh [PACK_DIR] [OUT_DIR]   (defaults: target/gpu-pack, $OUT or target/gpu-check)
#
# 1. the GPU, its driver, and whether the pack's toolkit is one the driver loads;
# 2. the GPU tests (tests/gpu.rs): cuda:0 opens and computes like the CPU; the first logged
#    losses of nst-quick, pix2pix-quick, cyclegan-quick and fast-style-quick on cuda:0 with tf32 = false equal the
#    CPU's within 1e-3; a cuda:0 run writes its GPU readings into status.json;
# 3. `aiart bench --device cuda:0` (every workload, fast-style-train-256 and fast-style-1080p
#    among them) next to `tools/bench_torch.py --device cuda:0` (when PyTorch
#    with CUDA is here): median ms per step and the ratio;
# 4. GPU memory over a cyclegan-quick run (nvidia-smi once a second): flat when the second half's
#    peak is within 2% (+64 MiB) of the first half's.
# Writes OUT_DIR/report.md (and the logs beside it); exits non-zero when a check failed. Each part
# has its own time limit: the whole takes at most 8 minutes.
#
# Libraries: the GPU driver's libcuda.so.1 (/usr/local/nvidia/lib64 or the loader's path) and
# cuBLAS, cuRAND, cudart, NVRTC and cuDNN from PyTorch's environment (its nvidia/*/lib folders),
# found by Python; AIART_GPU_LIBS adds folders of your own.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
pack=$(cd "${1:-target/gpu-pack}" && pwd) || { echo "gpu-check: no pack folder ${1:-target/gpu-pack}: run tools/gpu-pack.sh first" >&2; exit 2; }
out=${2:-${OUT:-target/gpu-check}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log="$out/log.txt"
report="$out/report.md"
: >"$log"
t0=$(date +%s)
failed=()

say() { printf '\n== %s (%s, %d s)\n' "$*" "$(date +%T)" "$(($(date +%s) - t0))" | tee -a "$log"; }
result() { # NAME OK|FAIL|SKIP TEXT
    printf '| %s | %s | %s |\n' "$1" "$2" "$3" >>"$out/results.md"
    [[ "$2" == FAIL ]] && failed+=("$1")
    echo "$1: $2 $3" | tee -a "$log"
}
: >"$out/results.md"

say "unpack $pack"
bin_dir="$out/bin"
mkdir -p "$bin_dir"
for f in aiart gpu-tests; do
    if [[ -f "$pack/$f.xz" ]]; then xz -dc "$pack/$f.xz" >"$bin_dir/$f"; else cp "$pack/$f" "$bin_dir/$f"; fi
    chmod +x "$bin_dir/$f"
done
cat "$pack/MANIFEST" 2>/dev/null | tee -a "$log"
aiart="$bin_dir/aiart"

say "libraries"
torch_libs=$(python3 - 2>/dev/null <<'PY'
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit
roots = [os.path.dirname(p) for p in nvidia.__path__]
print(":".join(sorted({os.path.dirname(f) for r in roots
                       for f in glob.glob(r + "/nvidia/**/lib*.so*", recursive=True)})))
PY
)
export LD_LIBRARY_PATH="${AIART_GPU_LIBS:+$AIART_GPU_LIBS:}$torch_libs:/usr/local/nvidia/lib64:/usr/local/nvidia/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ldd "$aiart" | grep -E 'cuda|cublas|curand|nvrtc|cudnn|not found' | tee -a "$log"
if ldd "$aiart" | grep -q 'not found'; then
    result libraries FAIL "missing: $(ldd "$aiart" | awk '/not found/ {print $1}' | tr '\n' ' ')"
else
    result libraries OK "every library found"
fi

say "GPU, driver and toolkit"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 | tee -a "$log"
driver_cuda=$(nvidia-smi 2>/dev/null | grep -oE 'CUDA Version: *[0-9]+\.[0-9]+' | grep -oE '[0-9]+\.[0-9]+' | head -n1)
version_line=$("$aiart" --version 2>&1)
echo "$version_line" | tee -a "$log"
built=$(echo "$version_line" | grep -oE 'CUDA [0-9]+\.[0-9]+ toolkit' | grep -oE '[0-9]+\.[0-9]+')
want=$(tools/cuda-toolkit.sh --pick 2>/dev/null)
if [[ -z "$driver_cuda" ]]; then
    result toolkit FAIL "nvidia-smi names no CUDA version: no GPU driver here"
elif [[ -z "$built" ]]; then
    result toolkit FAIL "the binary names no CUDA toolkit ($version_line): not a CUDA build"
elif [[ "$(printf '%s\n%s\n' "$built" "$driver_cuda" | sort -V | head -n1)" != "$built" ]]; then
    result toolkit FAIL "built with CUDA $built, the driver supports CUDA $driver_cuda: rebuild with AIART_CUDA_VERSION=$want tools/gpu-pack.sh"
else
    result toolkit OK "built with CUDA $built; the driver supports CUDA $driver_cuda (tools/cuda-toolkit.sh picks $want)"
fi

say "GPU tests (tests/gpu.rs)"
AIART_BIN="$aiart" AIART_REPO="$repo" timeout 180 "$bin_dir/gpu-tests" --test-threads=1 --nocapture \
    >"$out/gpu-tests.txt" 2>&1
rc=$?
tail -n 40 "$out/gpu-tests.txt" | tee -a "$log"
summary=$(grep -E '^test result:' "$out/gpu-tests.txt" | tail -n1)
if grep -q 'skipped, no GPU answers' "$out/gpu-tests.txt"; then
    result gpu-tests FAIL "skipped: $(grep -m1 -o 'no GPU answers: .*' "$out/gpu-tests.txt")"
elif [[ $rc -eq 0 ]]; then
    result gpu-tests OK "$summary"
else
    result gpu-tests FAIL "exit $rc ${summary:-(timed out or crashed: gpu-tests.txt)}"
fi

say "bench: aiart on cuda:0, then PyTorch"
steps=${AIART_GPU_STEPS:-10}
timeout 80 "$aiart" bench --device cuda:0 --steps "$steps" --json >"$out/aiart-cuda.json" 2>"$out/aiart-cuda.err"
rc=$?
tail -n 3 "$out/aiart-cuda.err" | tee -a "$log"
if [[ $rc -ne 0 ]]; then
    result bench FAIL "aiart bench --device cuda:0: exit $rc (aiart-cuda.err)"
elif python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null \
    && [[ -f tools/bench_torch.py ]]; then
    timeout 80 python3 tools/bench_torch.py --device cuda:0 --steps "$steps" --json \
        >"$out/torch-cuda.json" 2>"$out/torch-cuda.err"
    python3 - "$out/aiart-cuda.json" "$out/torch-cuda.json" >"$out/bench.md" 2>>"$log" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
try:
    t = {w["name"]: w for w in json.load(open(sys.argv[2]))["workloads"]}
except Exception:
    t = {}
print("| workload | aiart ms/step | PyTorch ms/step | time ratio |")
print("| --- | --- | --- | --- |")
for w in a["workloads"]:
    r = t.get(w["name"])
    torch_ms = f"{r['ms_per_step']:.1f}" if r else "-"
    ratio = f"{w['ms_per_step'] / r['ms_per_step']:.2f}x" if r else "-"
    print(f"| {w['name']} | {w['ms_per_step']:.1f} | {torch_ms} | {ratio} |")
PY
    cat "$out/bench.md" | tee -a "$log"
    result bench OK "aiart and PyTorch on cuda:0, $steps steps (table below)"
else
    python3 - "$out/aiart-cuda.json" >"$out/bench.md" <<'PY'
import json, sys
print("| workload | aiart ms/step |\n| --- | --- |")
for w in json.load(open(sys.argv[1]))["workloads"]:
    print(f"| {w['name']} | {w['ms_per_step']:.1f} |")
PY
    result bench OK "aiart on cuda:0 only: no PyTorch with CUDA here"
fi

say "GPU memory over a cyclegan-quick run on cuda:0"
ws="$out/ws"
rm -rf "$ws" && mkdir -p "$ws"
for d in presets datasets weights; do ln -s "$repo/$d" "$ws/$d"; done
(while true; do
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 >>"$out/memory.csv"
    sleep 1
done) &
monitor=$!
: >"$out/memory.csv"
timeout 90 "$aiart" --workspace "$ws" train presets/cyclegan-quick.toml --device cuda:0 -q \
    --max-steps "${AIART_GPU_MEMORY_STEPS:-300}" --set log.sample_every=0 --run-dir "$ws/run" \
    >"$out/memory-run.txt" 2>&1
rc=$?
kill "$monitor" 2>/dev/null
wait "$monitor" 2>/dev/null
verdict=$(python3 - "$out/memory.csv" <<'PY'
import sys
mem = [int(l) for l in open(sys.argv[1]) if l.strip().isdigit()]
if len(mem) < 10:
    print(f"FAIL only {len(mem)} samples")
    raise SystemExit
half = len(mem) // 2
first, second = max(mem[:half]), max(mem[half:])
flat = second <= first * 1.02 + 64
print(("OK" if flat else "FAIL") + f" {len(mem)} samples: peak {first} MiB in the first half, {second} MiB in the second")
PY
)
[[ $rc -eq 0 || $rc -eq 124 ]] || verdict="FAIL the run exited $rc (memory-run.txt); ${verdict#* }"
result memory "${verdict%% *}" "${verdict#* }"

say "report"
{
    echo "# gpu-check $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "$(nvidia-smi -L 2>/dev/null | head -n1); driver CUDA ${driver_cuda:-?}; $version_line"
    echo
    echo '```'
    cat "$pack/MANIFEST" 2>/dev/null
    echo '```'
    echo
    echo "| check | result | detail |"
    echo "| --- | --- | --- |"
    cat "$out/results.md"
    echo
    echo "## Benchmark"
    echo
    cat "$out/bench.md" 2>/dev/null
    echo
    echo "## GPU tests"
    echo
    echo '```'
    grep -E '^test |^test result|rel [0-9]|kernels built by|status.json of' "$out/gpu-tests.txt"
    echo '```'
    echo
    echo "Took $(($(date +%s) - t0)) s."
} >"$report"
cat "$report"
if ((${#failed[@]})); then
    echo "gpu-check: FAILED: ${failed[*]} (report: $report)" >&2
    exit 1
fi
echo "gpu-check passed; report: $report"
