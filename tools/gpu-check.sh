#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU, from what tools/gpu-pack.sh packed elsewhere (no
# Rust toolchain or network needed here):
#
#   tools/gpu-check.sh [--dry-run] [PACK_DIR] [OUT_DIR]   (defaults: target/gpu-pack, $OUT or target/gpu-check)
#
# Each part has its own time limit and the whole stops at 9 minutes (AIART_GPU_BUDGET_S, 540);
# --dry-run prints the plan (each part, its limit, its command) and what the pack holds, runs
# nothing, and exits non-zero when the pack lacks something a part needs. One report.md:
#  1. libraries, the GPU, its driver, and whether the pack's toolkit is one the driver loads;
#  2. the GPU tests (tests/gpu.rs) with TF32 off (AIART_GPU_TF32=0: cuDNN FMA math, cuBLAS without
#     TF32) and then its op cases (names starting `op_`) with TF32 on (AIART_GPU_TF32=1);
#  3. compute-sanitizer --tool memcheck on those op cases (where the machine has compute-sanitizer);
#  4. `aiart bench --device cuda:0` (every workload, cyclegan-256 and nst-gatys-512 among them) next
#     to `tools/bench_torch.py --device cuda:0`: median ms per step, and both sides' peak GPU memory
#     (aiart: its memory pool's USED/RESERVED_MEM_HIGH; PyTorch: max_memory_allocated/reserved);
#     with AIART_CUDNN_PLANS=print, so aiart's cuDNN plan cache prints each convolution shape's
#     algorithm and workspace once (lines `cudnn-plan …` on stderr): the plan table;
#  5. kernel launches per step of both sides (CUPTI's activity API through the pack's
#     liblaunchcount.so, tools/launch_count.c, loaded by the driver as CUDA_INJECTION64_PATH): each
#     workload run with 1 and with 3 timed steps, (n3 − n1) / 2 (AIART_GPU_LAUNCH_WORKLOADS:
#     default cyclegan-128 pix2pix-256 nst-vgg19-256). Not ncu or nsys: ncu serialises and
#     instruments every kernel (tens of ms each; a CycleGAN step has thousands), and nsys is not
#     on the GPU machines (KINDS.md); the activity API costs microseconds a kernel;
#  6. 20-step trajectories of the quick presets on cuda:0 with tf32 = false against the CPU's
#     (the pack's trajectories/, computed by gpu-pack.sh with the same binary on the CPU);
#  7. GPU memory every 50 of 300 steps of the faithful CycleGAN (presets/cyclegan.toml on the
#     shipped photo2ukiyoe): flat when no later reading exceeds step 100's by more than 2% + 64 MiB.
# Writes OUT_DIR/report.md (the logs beside it); exits non-zero when a check failed.
#
# Libraries: the GPU driver's libcuda.so.1 (/usr/local/nvidia/lib64 or the loader's path) and
# cuBLAS, cuRAND, cudart, NVRTC, cuDNN and CUPTI from PyTorch's environment (its nvidia/*/lib
# folders), found by Python; AIART_GPU_LIBS adds folders of your own.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dry=false
if [[ "${1:-}" == "--dry-run" ]]; then
    dry=true
    shift
fi
pack_arg=${1:-target/gpu-pack}
pack=$(cd "$pack_arg" 2>/dev/null && pwd) || { echo "gpu-check: no pack folder $pack_arg: run tools/gpu-pack.sh first" >&2; exit 2; }
out=${2:-${OUT:-target/gpu-check}}
budget=${AIART_GPU_BUDGET_S:-540}
steps=${AIART_GPU_STEPS:-10}
launch_workloads=${AIART_GPU_LAUNCH_WORKLOADS:-cyclegan-128 pix2pix-256 nst-vgg19-256}
memory_steps=${AIART_GPU_MEMORY_STEPS:-300}
t0=$(date +%s)
failed=()

if $dry; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
log="$out/log.txt"
report="$out/report.md"
: >"$log"
: >"$out/results.md"
bin_dir="$out/bin"
aiart="$bin_dir/aiart"

say() { printf '\n== %s (%s, %d s)\n' "$*" "$(date +%T)" "$(($(date +%s) - t0))" | tee -a "$log"; }
result() { # NAME OK|FAIL|SKIP TEXT
    printf '| %s | %s | %s |\n' "$1" "$2" "$3" >>"$out/results.md"
    [[ "$2" == FAIL ]] && failed+=("$1")
    echo "$1: $2 $3" | tee -a "$log"
}
# the seconds a part may take: its own limit, or what is left of the budget (minus 5 s for the report)
limit() {
    local left=$((budget - 5 - ($(date +%s) - t0)))
    ((left < $1)) && echo "$left" || echo "$1"
}
# run LIMIT LOG CMD…: CMD under its limit, stdout and stderr into LOG; run_json LIMIT JSON LOG
# CMD…: stdout into JSON, stderr into LOG. A dry run prints the command (on fd 3, the script's
# stdout) instead. Returns CMD's status (124: out of time), or 125 when the budget is spent.
exec 3>&1
run_json() {
    local cap json=$2 logf=$3
    cap=$(limit "$1")
    shift 3
    if $dry; then
        printf '  [%3d s] %s  > %s\n' "$cap" "$*" "${json#"$out"/}${json:+ }${logf#"$out"/}" >&3
        return 0
    fi
    ((cap >= 5)) || { echo "(no time left for: $*)" >>"$logf"; return 125; }
    if [[ -n "$json" ]]; then
        timeout "$cap" "$@" >"$json" 2>"$logf"
    else
        timeout "$cap" "$@" >"$logf" 2>&1
    fi
}
run() {
    local cap=$1 logf=$2
    shift 2
    run_json "$cap" "" "$logf" "$@"
}
need() { # FILE WHAT: in a dry run, say whether the pack has it
    if [[ -e "$1" ]]; then
        $dry && echo "  pack: ${1#"$pack"/} ($(du -h "$1" | cut -f1))"
        return 0
    fi
    echo "  pack lacks ${1#"$pack"/}: $2" | tee -a "$log"
    $dry && failed+=("${1#"$pack"/}")
    return 1
}
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n1)

if $dry; then
    echo "gpu-check plan (budget $budget s; pack $pack; the limits shrink to what is left of the budget)"
    cat "$pack/MANIFEST" 2>/dev/null | sed 's/^/  manifest: /'
fi

# ---------------------------------------------------------------- unpack
say "unpack $pack"
mkdir -p "$bin_dir"
for f in aiart gpu-tests; do
    need "$pack/$f.xz" "tools/gpu-pack.sh makes it" || continue
    $dry || { xz -dc "$pack/$f.xz" >"$bin_dir/$f" && chmod +x "$bin_dir/$f"; }
done
need "$pack/liblaunchcount.so" "launch counts are skipped (gpu-pack.sh found no CUPTI headers)"
for p in nst-quick pix2pix-quick cyclegan-quick fast-style-quick; do
    need "$pack/trajectories/$p.jsonl" "the $p trajectory is skipped"
done
$dry || cat "$pack/MANIFEST" 2>/dev/null | tee -a "$log"

# ---------------------------------------------------------------- 1. libraries, GPU, toolkit
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
if $dry; then
    echo "  LD_LIBRARY_PATH += PyTorch's nvidia/*/lib, /usr/local/nvidia/lib64; ldd the binary; nvidia-smi; aiart --version"
    echo "  compute-sanitizer: ${sanitizer:-not on this machine (part 3 will be skipped)}"
else
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
fi

# ---------------------------------------------------------------- 2. GPU tests, TF32 off and on
gpu_tests() { # NAME LIMIT LOG TF32 [FILTER]
    local name=$1 cap=$2 logf=$3 tf32=$4 filter=${5:-}
    run "$cap" "$logf" env AIART_BIN="$aiart" AIART_REPO="$repo" AIART_GPU_TF32="$tf32" \
        "$bin_dir/gpu-tests" $filter --test-threads=1 --nocapture
    local rc=$?
    $dry && return
    tail -n 30 "$logf" | tee -a "$log"
    local summary
    summary=$(grep -E '^test result:' "$logf" | tail -n1)
    if grep -q 'skipped, no GPU answers' "$logf"; then
        result "$name" FAIL "skipped: $(grep -m1 -o 'no GPU answers: .*' "$logf")"
    elif [[ $rc -eq 0 ]]; then
        result "$name" OK "$summary"
    else
        result "$name" FAIL "exit $rc ${summary:-(timed out or crashed: $(basename "$logf"))}"
    fi
}
say "GPU tests (tests/gpu.rs), TF32 off"
gpu_tests gpu-tests-fma 75 "$out/gpu-tests.txt" 0
say "GPU tests: the op cases (op_*), TF32 on"
gpu_tests gpu-tests-tf32 45 "$out/gpu-tests-tf32.txt" 1 op_

# ---------------------------------------------------------------- 3. memcheck
say "compute-sanitizer --tool memcheck on the op cases"
if [[ -z "$sanitizer" ]]; then
    $dry || result memcheck SKIP "no compute-sanitizer on this machine"
else
    run 60 "$out/memcheck.txt" env AIART_GPU_TF32=0 "$sanitizer" --tool memcheck --error-exitcode 9 \
        --print-limit 20 "$bin_dir/gpu-tests" op_ --test-threads=1
    rc=$?
    if ! $dry; then
        tail -n 15 "$out/memcheck.txt" | tee -a "$log"
        errors=$(grep -oE 'ERROR SUMMARY: [0-9]+ error' "$out/memcheck.txt" | tail -n1)
        case $rc in
        0) result memcheck OK "${errors:-no errors}; $(grep -E '^test result:' "$out/memcheck.txt" | tail -n1)" ;;
        9) result memcheck FAIL "${errors:-errors} (memcheck.txt)" ;;
        *) result memcheck FAIL "exit $rc (memcheck.txt)" ;;
        esac
    fi
fi

# ---------------------------------------------------------------- 4. bench pair, memory, cuDNN plans
say "bench: aiart on cuda:0 (with its cuDNN plans), then PyTorch"
torch_cuda=false
$dry || python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && torch_cuda=true
run_json 150 "$out/aiart-cuda.json" "$out/aiart-cuda.err" env AIART_CUDNN_PLANS=print \
    "$aiart" bench --device cuda:0 --steps "$steps" --json
rc=$?
if $dry || $torch_cuda; then
    run_json 100 "$out/torch-cuda.json" "$out/torch-cuda.err" \
        python3 tools/bench_torch.py --device cuda:0 --steps "$steps" --json
fi
if ! $dry; then
    tail -n 3 "$out/aiart-cuda.err" | tee -a "$log"
    grep -E '^cudnn-plan' "$out/aiart-cuda.err" | sort -u >"$out/cudnn-plans.txt"
    python3 - "$out/aiart-cuda.json" "$out/torch-cuda.json" >"$out/bench.md" 2>>"$log" <<'PY'
import json, sys
def load(p):
    try:
        return {w["name"]: w for w in json.load(open(p))["workloads"]}
    except Exception:
        return {}
a, t = load(sys.argv[1]), load(sys.argv[2])
def f(w, k, fmt="{:.0f}"):
    v = (w or {}).get(k)
    return "-" if v is None else fmt.format(v)
def ratio(x, y):
    return "-" if not x or not y else f"{x / y:.2f}x"
print("| workload | aiart ms/step | PyTorch ms/step | time ratio | aiart GPU alloc MiB | PyTorch alloc MiB "
      "| aiart pool MiB | PyTorch reserved MiB | alloc ratio |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name, w in a.items():
    r = t.get(name)
    print(f"| {name} | {f(w, 'ms_per_step', '{:.1f}')} | {f(r, 'ms_per_step', '{:.1f}')} "
          f"| {ratio(w.get('ms_per_step'), (r or {}).get('ms_per_step'))} "
          f"| {f(w, 'gpu_peak_allocated_mb')} | {f(r, 'gpu_peak_allocated_mb')} "
          f"| {f(w, 'gpu_peak_reserved_mb')} | {f(r, 'gpu_peak_reserved_mb')} "
          f"| {ratio(w.get('gpu_peak_allocated_mb'), (r or {}).get('gpu_peak_allocated_mb'))} |")
PY
    cat "$out/bench.md" | tee -a "$log"
    done_n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["workloads"]))' "$out/aiart-cuda.json" 2>/dev/null || echo 0)
    if [[ $rc -ne 0 ]]; then
        result bench FAIL "aiart bench --device cuda:0: exit $rc after $done_n workload(s) (aiart-cuda.err)"
    elif $torch_cuda; then
        result bench OK "aiart and PyTorch on cuda:0, $steps steps, $done_n workloads (table below)"
    else
        result bench OK "aiart on cuda:0 only: no PyTorch with CUDA here"
    fi
    plans=$(wc -l <"$out/cudnn-plans.txt")
    if ((plans > 0)); then
        result cudnn-plans OK "$plans plan(s) (table below)"
    else
        result cudnn-plans SKIP "aiart printed no cudnn-plan line (a build without its plan cache, or AIART_CUDNN_PLANS unread)"
    fi
fi

# ---------------------------------------------------------------- 5. launches per step
say "kernel launches per step (CUPTI)"
launches() { # SIDE WORKLOAD STEPS: prints the kernel count of the whole process
    local side=$1 w=$2 n=$3 f="$out/launches/$1-$2-$3.txt"
    rm -f "$f"
    local cmd=("$aiart" bench --in-process --json --device cuda:0 --workload "$w" --steps "$n" --warmup 1)
    [[ $side == torch ]] && cmd=(python3 tools/bench_torch.py --in-process --json --device cuda:0 --workload "$w" --steps "$n")
    run 40 "$out/launches/$side-$w-$n.log" env CUDA_INJECTION64_PATH="$pack/liblaunchcount.so" \
        AIART_LAUNCH_COUNT_OUT="$f" "${cmd[@]}" || return 1
    $dry || grep -oE 'kernels=[0-9]+' "$f" 2>/dev/null | tail -n1 | cut -d= -f2
}
mkdir -p "$out/launches"
if [[ ! -f "$pack/liblaunchcount.so" ]]; then
    $dry || result launches SKIP "the pack has no liblaunchcount.so"
else
    $dry || echo "| workload | aiart launches/step | PyTorch launches/step | ratio |" >"$out/launches.md"
    $dry || echo "| --- | --- | --- | --- |" >>"$out/launches.md"
    counted=0
    for w in $launch_workloads; do
        declare -A per=()
        for side in aiart torch; do
            [[ $side == torch ]] && ! $dry && ! $torch_cuda && continue
            n1=$(launches "$side" "$w" 1) && n3=$(launches "$side" "$w" 3) || continue
            $dry && continue
            [[ -n "$n1" && -n "$n3" ]] && per[$side]=$(((n3 - n1) / 2))
        done
        $dry && continue
        a=${per[aiart]:-}
        t=${per[torch]:-}
        [[ -n "$a" ]] && counted=$((counted + 1))
        r=-
        [[ -n "$a" && -n "$t" && "$t" -gt 0 ]] && r=$(python3 -c "print(f'{$a / $t:.2f}x')")
        echo "| $w | ${a:--} | ${t:--} | $r |" >>"$out/launches.md"
        unset per
    done
    if ! $dry; then
        cat "$out/launches.md" | tee -a "$log"
        if ((counted > 0)); then
            result launches OK "$counted workload(s) counted (table below)"
        else
            result launches FAIL "no count came back (launches/*.log: CUPTI refused, or out of time)"
        fi
    fi
fi

# ---------------------------------------------------------------- 6. trajectories against the CPU
say "20-step trajectories on cuda:0 with tf32 = false against the CPU's"
ws="$out/ws"
rm -rf "$ws" && mkdir -p "$ws"
for d in presets datasets weights; do ln -s "$repo/$d" "$ws/$d"; done
$dry || echo "| preset | steps | first step, max rel. diff | max rel. diff over the steps | first step above 1e-3 |" >"$out/trajectories.md"
$dry || echo "| --- | --- | --- | --- | --- |" >>"$out/trajectories.md"
traj_fail=()
traj_n=0
for p in nst-quick pix2pix-quick cyclegan-quick fast-style-quick; do
    cpu="$pack/trajectories/$p.jsonl"
    [[ -f "$cpu" ]] || $dry || continue
    run 40 "$out/trajectory-$p.txt" "$aiart" --workspace "$ws" train "presets/$p.toml" --device cuda:0 -q \
        --max-steps 20 --set train.tf32=false --set log.print_every=1 --set log.sample_every=0 \
        --run-dir "$ws/traj-$p"
    $dry && continue
    verdict=$(python3 - "$cpu" "$ws/traj-$p/metrics.jsonl" "$p" <<'PY'
import json, sys
def read(path):
    try:
        return {r["step"]: r for r in map(json.loads, open(path)) if "step" in r}
    except OSError:
        return {}
cpu, gpu, name = read(sys.argv[1]), read(sys.argv[2]), sys.argv[3]
skip = {"step", "epoch", "time", "lr", "scale", "scales", "size"}
rows = []
for s in sorted(set(cpu) & set(gpu)):
    diffs = [abs(gpu[s][k] - v) / max(abs(v), 1e-12) for k, v in cpu[s].items()
             if k not in skip and isinstance(v, (int, float)) and isinstance(gpu[s].get(k), (int, float))]
    if diffs:
        rows.append((s, max(diffs)))
if not rows:
    print(f"FAIL | {name} | 0 | - | - | - |")
    raise SystemExit
first = rows[0][1]
worst = max(d for _, d in rows)
above = next((s for s, d in rows if d > 1e-3), "-")
ok = first <= 1e-3
print(f"{'OK' if ok else 'FAIL'} | {name} | {len(rows)} | {first:.2e} | {worst:.2e} | {above} |")
PY
)
    echo "|${verdict#* |}" >>"$out/trajectories.md"
    traj_n=$((traj_n + 1))
    [[ "${verdict%% *}" == OK ]] || traj_fail+=("$p")
done
if ! $dry; then
    cat "$out/trajectories.md" | tee -a "$log"
    if ((traj_n == 0)); then
        result trajectories SKIP "no CPU trajectory in the pack"
    elif ((${#traj_fail[@]})); then
        result trajectories FAIL "first step beyond 1e-3 of the CPU's: ${traj_fail[*]} (table below)"
    else
        result trajectories OK "$traj_n preset(s): first step within 1e-3 of the CPU's; later steps in the table (each float32 run leaves the others' trajectory at its own tipped gate within a few steps)"
    fi
fi

# ---------------------------------------------------------------- 7. memory of the faithful CycleGAN
say "GPU memory every 50 of $memory_steps faithful CycleGAN steps"
mem_run="$ws/faithful"
if ! $dry; then
    : >"$out/memory.csv"
    (while true; do
        step=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s.get("step", 0), (s.get("gpu") or {}).get("memory_used", ""))' \
            "$mem_run/status.json" 2>/dev/null)
        used=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 2>/dev/null)
        [[ -n "$step" ]] && echo "$step $used" >>"$out/memory.csv"
        sleep 0.5
    done) &
    monitor=$!
fi
run 150 "$out/memory-run.txt" "$aiart" --workspace "$ws" train presets/cyclegan.toml --device cuda:0 -q \
    --set data.dataroot=datasets/photo2ukiyoe --set log.sample_every=0 \
    --max-steps "$memory_steps" --run-dir "$mem_run"
rc=$?
if ! $dry; then
    kill "$monitor" 2>/dev/null
    wait "$monitor" 2>/dev/null
    verdict=$(python3 - "$out/memory.csv" "$out/memory.md" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        rows.append((int(parts[0]), int(parts[1]) / 2**20, int(parts[2])))
marks = {}
for step, nvml, smi in rows:
    for m in range(50, 1000001, 50):
        if step >= m and m not in marks:
            marks[m] = (step, nvml, smi)
with open(sys.argv[2], "w") as f:
    f.write("| step | read at step | status.json GPU memory MiB (NVML) | nvidia-smi MiB |\n| --- | --- | --- | --- |\n")
    for m, (s, nvml, smi) in sorted(marks.items()):
        f.write(f"| {m} | {s} | {nvml:.0f} | {smi} |\n")
if 100 not in marks:
    print(f"FAIL the run reached step {max((r[0] for r in rows), default=0)}: too few steps to judge")
    raise SystemExit
base = marks[100][2]
later = [v[2] for m, v in marks.items() if m > 100]
peak = max(later, default=base)
flat = peak <= base * 1.02 + 64
print(("OK" if flat else "FAIL") + f" step 100: {base} MiB, later peak {peak} MiB over {len(later)} reading(s) (steps to {max(marks)})")
PY
)
    [[ -f "$out/memory.md" ]] && cat "$out/memory.md" | tee -a "$log"
    [[ $rc -eq 0 || $rc -eq 124 ]] || verdict="FAIL the run exited $rc (memory-run.txt); ${verdict#* }"
    result memory "${verdict%% *}" "${verdict#* }"
fi

# ---------------------------------------------------------------- report
if $dry; then
    echo
    if ((${#failed[@]})); then
        echo "gpu-check --dry-run: the pack lacks: ${failed[*]}" >&2
        exit 1
    fi
    echo "gpu-check --dry-run: the pack holds what every part needs"
    exit 0
fi
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
    echo "## Benchmark (median ms per step; peak GPU memory)"
    echo
    cat "$out/bench.md" 2>/dev/null
    echo
    echo "## Kernel launches per step"
    echo
    cat "$out/launches.md" 2>/dev/null
    echo
    echo "## Trajectories (cuda:0, tf32 = false, against the CPU)"
    echo
    cat "$out/trajectories.md" 2>/dev/null
    echo
    echo "## GPU memory of the faithful CycleGAN"
    echo
    cat "$out/memory.md" 2>/dev/null
    echo
    echo "## cuDNN plans (AIART_CUDNN_PLANS=print)"
    echo
    echo '```'
    cat "$out/cudnn-plans.txt" 2>/dev/null
    echo '```'
    echo
    echo "## GPU tests"
    echo
    echo '```'
    grep -hE '^test |^test result|rel [0-9]|kernels built by|status.json of' "$out/gpu-tests.txt" "$out/gpu-tests-tf32.txt" 2>/dev/null
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
