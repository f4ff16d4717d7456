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
# with a MANIFEST (commit, features, toolkit, compute capability); liblaunchcount.so
# (tools/launch_count.c against CUPTI's headers from PyTorch's CUDA wheels, or CUPTI_INCLUDE: left
# out, with a note, where none is found); and trajectories/<preset>.jsonl, 20 steps of each quick
# preset on the CPU with tf32 = false, run by the packed binary itself (with the toolkit's stub
# libcuda where no driver is here), which the GPU run compares with its own. About 14 MB; carry it
# with the checkout (presets, datasets, weights) and run tools/gpu-check.sh there
# (tools/gpu-check.sh --dry-run PACK_DIR says what it would run, and whether the pack has it all).
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

step "the launch counter (CUPTI)"
cupti_inc=${CUPTI_INCLUDE:-$(python3 - 2>/dev/null <<'PY'
import glob, os
import nvidia
hits = sorted(glob.glob(os.path.join(os.path.dirname(nvidia.__path__[0]), "nvidia", "**", "include", "cupti.h"), recursive=True))
print(os.path.dirname(hits[0]) if hits else "")
PY
)}
if [[ -n "$cupti_inc" && -f "$cupti_inc/cupti.h" ]]; then
    # cupti.h includes the runtime's headers (crt/host_defines.h): the toolkit's come after its own
    cc -O2 -Wall -shared -fPIC -o "$pack/liblaunchcount.so" tools/launch_count.c -I"$cupti_inc" \
        -I"$CUDA_HOME/include" \
        -L"$cupti_inc/../lib" -l:libcupti.so.13 || fail "building tools/launch_count.c"
else
    echo "no cupti.h (PyTorch's nvidia wheels, or CUPTI_INCLUDE): the pack has no launch counter"
fi

step "20-step CPU trajectories of the quick presets (tf32 = false), for the GPU run to compare"
mkdir -p "$pack/trajectories"
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
for d in presets datasets weights; do ln -s "$PWD/$d" "$ws/$d"; done
for p in nst-quick pix2pix-quick cyclegan-quick fast-style-quick; do
    LD_LIBRARY_PATH="$LD_LIBRARY_PATH${AIART_CUDA_STUB:+:$AIART_CUDA_STUB}" \
        "$CARGO_TARGET_DIR/release/aiart" --workspace "$ws" train "presets/$p.toml" --device cpu -q \
        --max-steps 20 --set train.tf32=false --set log.print_every=1 --set log.sample_every=0 \
        --run-dir "$ws/$p" || fail "the $p trajectory on the CPU"
    cp "$ws/$p/metrics.jsonl" "$pack/trajectories/$p.jsonl"
    echo "$p: $(wc -l <"$pack/trajectories/$p.jsonl") records"
done

xz -T0 -6 "$pack/aiart" "$pack/gpu-tests"
cat >"$pack/MANIFEST" <<MANIFEST
commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')
features $features
toolkit $AIART_CUDA_VERSION
compute_cap $CUDA_COMPUTE_CAP
built $(date -u +%Y-%m-%dT%H:%MZ)
MANIFEST
ls -lR "$pack"
cat "$pack/MANIFEST"
step "packed: carry $pack with the checkout; on the GPU machine: tools/gpu-check.sh $pack"
