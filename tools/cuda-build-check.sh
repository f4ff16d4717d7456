#!/usr/bin/env bash
# Checks that the CUDA build compiles and links on this machine, with or without a GPU:
#
#   tools/cuda-build-check.sh            # --features cuda,cudnn, toolkit in ~/.cache/aiart-cuda
#   AIART_CUDA_FEATURES=cuda tools/cuda-build-check.sh
#
# Installs the toolkit with tools/cuda-toolkit.sh (AIART_CUDA_TOOLKIT, default ~/.cache/aiart-cuda;
# the version from the driver where there is a GPU, else 13.0, or AIART_CUDA_VERSION), builds
# `cargo build --release --features $AIART_CUDA_FEATURES` into a target directory of that toolkit
# (CARGO_TARGET_DIR, default target/cuda-VERSION: the CPU build is left alone, and another toolkit
# rebuilds candle's kernels instead of keeping the old PTX), then checks the binary:
# it records libcuda.so.1 (the driver), starts, trains on the CPU, and where no GPU is found says
# so in words; then ptxas's resource report of our own kernels (no spills, no local memory) and
# the PTX-signature test of their argument lists; with cudnn also the cuDNN descriptor test
# (conv/cuda.rs: every convolution of every network, cuDNN's output shape against the op's own;
# no GPU needed). Exits non-zero on any failure. From a clean target directory it takes 20-40 min on
# 2 cores (candle's kernels are compiled by nvcc); it is not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
toolkit=${AIART_CUDA_TOOLKIT:-$HOME/.cache/aiart-cuda}
features=${AIART_CUDA_FEATURES:-cuda,cudnn}

step() { printf '\n== %s (%s)\n' "$*" "$(date +%H:%M:%S)"; }
fail() { echo "cuda-build-check: FAILED: $*" >&2; exit 1; }

step "toolkit in $toolkit"
env_lines=$(tools/cuda-toolkit.sh "$toolkit") || fail "installing the toolkit"
eval "$env_lines"
nvcc --version | tail -n 2
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/cuda-$AIART_CUDA_VERSION}

step "cargo build --release --features $features (target $CARGO_TARGET_DIR)"
start=$(date +%s)
cargo build --release --features "$features" || fail "cargo build --features $features"
took=$(($(date +%s) - start))
bin="$CARGO_TARGET_DIR/release/aiart"
echo "built $bin in ${took} s ($((took / 60)) min $((took % 60)) s)"

# Our kernels (src/nn/kernels/cuda/*.cu): the resources ptxas gives each one for the build's GPU
# (registers, stack, spills, shared memory), kept in this log and in ptxas-report.txt beside the
# build; a kernel that spills or uses local memory fails the check.
step "ptxas report of our kernels (sm_${CUDA_COMPUTE_CAP:-90})"
report="$CARGO_TARGET_DIR/ptxas-report.txt"
scratch=$(mktemp -d)
: >"$report"
for cu in src/nn/kernels/cuda/*.cu; do
    nvcc -cubin -O3 --fmad=false -std=c++17 -arch="sm_${CUDA_COMPUTE_CAP:-90}" \
        -Xptxas -v,-warn-spills,-warn-lmem-usage -I src/nn/kernels/cuda \
        -o "$scratch/$(basename "$cu" .cu).cubin" "$cu" >>"$report" 2>&1 \
        || { cat "$report"; rm -rf "$scratch"; fail "ptxas on $cu"; }
done
rm -rf "$scratch"
cat "$report"
if grep -qE 'ptxas warning|[1-9][0-9]* bytes spill' "$report"; then
    fail "a kernel spills or uses local memory (above)"
fi

step "what the binary links"
ldd_out=$(LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$AIART_CUDA_STUB" ldd "$bin")
echo "$ldd_out" | grep -E 'libcuda|libcublas|libcurand|libcudart|libnvrtc|libcudnn' || true
echo "$ldd_out" | grep -q 'libcuda\.so\.1' || fail "the binary does not record libcuda.so.1"
if [[ ",$features," == *",cudnn,"* ]]; then
    echo "$ldd_out" | grep -q 'libcudnn\.so' || fail "the binary does not link cuDNN"
fi

# Where there is no driver, run on the stub: the binary must start, train on the CPU, and say
# "no CUDA device" for a CUDA device.
run_env=(env)
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
    run_env=(env "LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$AIART_CUDA_STUB")
fi

if [[ ",$features," == *",cudnn,"* ]]; then
    # every convolution of every network against cuDNN's own output shape, with descriptors
    # made without a handle (cuDNN's library, no GPU); release, so candle's kernels built above
    # are reused
    step "cuDNN descriptors of every network's convolutions"
    LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$AIART_CUDA_STUB" \
        cargo test --release --features "$features" --lib cudnn_descriptors -- --nocapture \
        || fail "the cuDNN descriptor test"
fi

step "the binary starts"
version_line=$("${run_env[@]}" "$bin" --version) || fail "$bin --version"
echo "$version_line"
echo "$version_line" | grep -q "CUDA $AIART_CUDA_VERSION toolkit" \
    || fail "the binary does not record the CUDA $AIART_CUDA_VERSION toolkit (a target folder of another toolkit?)"

step "a CPU workload in the CUDA build"
"${run_env[@]}" "$bin" bench --device cpu --workload adam-resnet9 --steps 2 \
    || fail "aiart bench --device cpu in the CUDA build"

step "cuda:0"
set +e
out=$("${run_env[@]}" "$bin" bench --device cuda:0 --workload adam-resnet9 --steps 2 2>&1)
rc=$?
set -e
echo "$out" | tail -n 5
if [[ $rc -ne 0 ]]; then
    echo "$out" | grep -qi 'no CUDA device' || fail "cuda:0 failed without saying why in words"
    echo "(no GPU here: the error says so)"
fi

# The PTX the build embedded against the launchers' declared argument lists (count, size, kind of
# every .entry parameter): cudarc's launch builder is untyped, so a wrong list shows here.
step "PTX signatures of our kernels"
"${run_env[@]}" cargo test --release --features "$features" --lib kernels::cuda::ptx_signatures \
    || fail "the built PTX disagrees with the launchers' argument lists"

step "cuda-build-check passed: features $features, build ${took} s"
