#!/usr/bin/env bash
# aiart bench and its PyTorch twin back to back, on the same machine and thread count, then one
# table of ratios (aiart / PyTorch; below 1.0 is faster or smaller): time, peak RSS and, on a GPU,
# peak GPU memory (aiart's memory-pool peaks beside torch.cuda.max_memory_allocated/_reserved).
# Not part of cargo test. AIART_BIN=PATH uses that binary instead of building one.
#   tools/bench_compare.sh [--steps N] [--threads N] [--workload NAME]… [--device cpu|cuda:N]
# Needs: cargo (it builds the release binary), python3 with torch. AIART_FEATURES (e.g. cuda) are
# passed to the build; CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
# --threads is taken out of the arguments and passed to both sides once
args=()
threads=$(nproc)
warmup=1
while (($#)); do
  if [ "$1" = "--threads" ]; then
    threads=$2
    shift 2
  elif [ "$1" = "--warmup" ]; then
    # passed on to both sides; kept for the table's heading
    warmup=$2
    args+=("$1" "$2")
    shift 2
  else
    args+=("$1")
    shift
  fi
done
if [[ -n "${AIART_BIN:-}" ]]; then
  bin=$AIART_BIN
else
  cargo build --release -q ${AIART_FEATURES:+--features "$AIART_FEATURES"}
  bin="${CARGO_TARGET_DIR:-target}/release/aiart"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "aiart …" >&2
"$bin" bench --json --threads "$threads" "${args[@]}" >"$out/aiart.json"
echo "PyTorch …" >&2
python3 tools/bench_torch.py --json --threads "$threads" "${args[@]}" >"$out/torch.json"
python3 - "$out/aiart.json" "$out/torch.json" "$warmup" <<'PY'
import json, platform, subprocess, sys, datetime
a, t = (json.load(open(p)) for p in sys.argv[1:3])
warmup = int(sys.argv[3])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
import torch
where = cpu if a["device"] == "cpu" else f"{a['device']} ({torch.cuda.get_device_name(0)}), host {cpu}"
gpu = a["device"] != "cpu"
print(f"{datetime.date.today()}, {where}, {a['threads']} thread(s), torch {torch.__version__}; "
      f"median ms per step after {warmup} warm-up step{'' if warmup == 1 else 's'}; "
      "peak RSS per workload process"
      + ("; GPU: aiart's memory pool peaks (cuMemPoolGetAttribute USED/RESERVED_MEM_HIGH) beside "
         "torch.cuda.max_memory_allocated / max_memory_reserved" if gpu else ""))
print()
def mib(w, k):
    v = w.get(k)
    return "-" if v is None else f"{v:.0f}"
def ratio(x, y):
    return "-" if x is None or y is None or y == 0 else f"{x / y:.2f}x"
head = "| workload | aiart ms/step | PyTorch ms/step | time ratio | aiart peak RSS MiB | PyTorch peak RSS MiB | RSS ratio |"
if gpu:
    head += " aiart GPU alloc MiB | PyTorch GPU alloc MiB | aiart GPU pool MiB | PyTorch GPU reserved MiB | alloc ratio |"
print(head)
print("|" + " --- |" * (head.count("|") - 1))
tw = {w["name"]: w for w in t["workloads"]}
for w in a["workloads"]:
    r = tw.get(w["name"])
    if r is None:
        continue
    if "oom" in r:
        # PyTorch could not run it (untiled): say so, with aiart's figures
        peak = "-" if r.get("peak_rss_mb") is None else f"{r['peak_rss_mb']:.0f}"
        print(f"| {w['name']} | {w['ms_per_step']:.0f} | out of memory ({r['oom']}) | - "
              f"| {w['peak_rss_mb']:.0f} | {peak} | - |" + (" - | - | - | - | - |" if gpu else ""))
        continue
    line = (f"| {w['name']} | {w['ms_per_step']:.0f} | {r['ms_per_step']:.0f} | {w['ms_per_step'] / r['ms_per_step']:.2f}x "
            f"| {w['peak_rss_mb']:.0f} | {r['peak_rss_mb']:.0f} | {w['peak_rss_mb'] / r['peak_rss_mb']:.2f}x |")
    if gpu:
        line += (f" {mib(w, 'gpu_peak_allocated_mb')} | {mib(r, 'gpu_peak_allocated_mb')} | {mib(w, 'gpu_peak_reserved_mb')} "
                 f"| {mib(r, 'gpu_peak_reserved_mb')} | {ratio(w.get('gpu_peak_allocated_mb'), r.get('gpu_peak_allocated_mb'))} |")
    print(line)
PY
