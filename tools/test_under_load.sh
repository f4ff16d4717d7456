#!/usr/bin/env bash
# Runs the whole suite RUNS times in a row (default 5) while a busy loop spins on every core, and
# prints one line per run: pass/fail and wall time. Tests must never depend on the machine's speed.
#   tools/test_under_load.sh [RUNS]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo test --no-run -q >/dev/null 2>&1 || { echo "the suite does not build"; exit 1; }
pids=()
for _ in $(seq "$(nproc)"); do
  (while :; do :; done) &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
passed=0
for i in $(seq "$runs"); do
  start=$(date +%s)
  if cargo test -q >"/tmp/aiart-load-run-$$-$i.log" 2>&1; then
    passed=$((passed + 1)); result=pass
  else
    result="FAIL (log: /tmp/aiart-load-run-$$-$i.log)"
  fi
  echo "run $i: $result in $(( $(date +%s) - start )) s (busy loops on $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
done
echo "$passed of $runs runs passed"
[ "$passed" -eq "$runs" ]
