#!/usr/bin/env bash
# Builds here, for a GPU machine without Rust or network, what tools/gpu-check.sh runs there:
#
#   tools/gpu-pack.sh [PACK_DIR]     (default target/gpu-pack)
#
# The toolkit (tools/cuda-toolkit.sh: the driver's version where a GPU is here, else 13.0, or
# AIART_CUDA_VERSION: pick the GPU machine's driver version, `nvidia-smi` there) and a target
# folder of that toolkit (target/cuda-VERSION); then `cargo build --release --features
# $AIART_CUDA_FEATURES` (default cuda,cudnn) and the GPU test binary (`cargo test --release
# --features ... --no-run --test gpu`: the release profile reuses the release build of candle's
# kernels instead of compiling them a second time), stripped and compressed (xz) into PACK_DIR
# with a MANIFEST (commit, features, toolkit, compute capability). About 14 MB; carry it with the
# checkout (presets, datasets, weights) and run tools/gpu-check.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
pack=${1:-target/gpu-pack}
toolkit=${AIART_CUDA_TOOLKIT:-$HOME/.cache/aiart-cuda}
features=${AIART_CUDA_FEATURES:-cuda,cudnn}

step() { printf '\n== %s (%s)\n' "$*" "$(date +%H:%M:%S)"; }
fail() { echo "gpu-pack: FAILED: $*" >&2; exit 1; }

step "toolkit"
env_lines=$(tools/cuda-toolkit.sh "$toolkit") || fail "installing the toolkit"
eval "$env_lines"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/cuda-$AIART_CUDA_VERSION}
echo "CUDA $AIART_CUDA_VERSION, compute capability $CUDA_COMPUTE_CAP, target $CARGO_TARGET_DIR"

step "cargo build --release --features $features"
cargo build --release --features "$features" || fail "cargo build"

step "cargo test --release --features $features --no-run --test gpu"
tests=$(cargo test --release --features "$features" --no-run --test gpu --message-format=json \
    | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "gpu":
        print(m["executable"])
' | tail -n 1)
[[ -x "$tests" ]] || fail "no gpu test binary"

step "strip and pack into $pack"
rm -rf "$pack"
mkdir -p "$pack"
strip -o "$pack/aiart" "$CARGO_TARGET_DIR/release/aiart"
strip -o "$pack/gpu-tests" "$tests"
xz -T0 -6 "$pack/aiart" "$pack/gpu-tests"
cat >"$pack/MANIFEST" <<MANIFEST
commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')
features $features
toolkit $AIART_CUDA_VERSION
compute_cap $CUDA_COMPUTE_CAP
built $(date -u +%Y-%m-%dT%H:%MZ)
MANIFEST
ls -l "$pack"
cat "$pack/MANIFEST"
step "packed: carry $pack with the checkout; on the GPU machine: tools/gpu-check.sh $pack"
