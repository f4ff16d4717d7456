#!/usr/bin/env bash
# Installs a CUDA toolkit from the Python package registry into DIR (no apt, no root needed) and
# prints the environment a `cargo build --features cuda[,cudnn]` needs, as `export` lines:
#
#   tools/cuda-toolkit.sh ~/.cache/aiart-cuda            # install (once), print the environment
#   eval "$(tools/cuda-toolkit.sh ~/.cache/aiart-cuda)"  # ... and use it in this shell
#   tools/cuda-toolkit.sh --pick                         # only print the version it would use
#
# Which toolkit: the driver's. A GPU's driver loads the PTX of toolkits up to its own CUDA version
# (`nvidia-smi`'s "CUDA Version"), not newer: a 13.2 build fails on a 13.0 driver (580.x) with
# CUDA_ERROR_UNSUPPORTED_PTX_VERSION. So where nvidia-smi answers, the version is the highest
# wheel set no newer than the driver's CUDA; elsewhere 13.0 (the oldest CUDA 13, which every CUDA
# 13 driver loads); AIART_CUDA_VERSION overrides both. Each version installs into its own folder
# (DIR/cuda-VERSION) and the environment names it (AIART_CUDA_VERSION), so builds can keep one
# target folder per toolkit (candle-kernels' build script does not rerun when another nvcc is on
# PATH: a target folder built with one toolkit keeps that toolkit's PTX).
#
# What it installs (pip --no-deps --target, the CUDA VERSION wheels): nvcc, ptxas and cicc
# (nvidia-cuda-nvcc, nvidia-nvvm, nvidia-cuda-crt), the runtime, NVRTC, cuBLAS and cuRAND headers
# and libraries, the CCCL headers (nv/target, which cuda_fp16.h includes), and cuDNN 9 (nvidia-cudnn-cu13) for the `cudnn` feature. The wheels put it all
# in one tree, DIR/site/nvidia/cu13, which becomes CUDA_HOME.
#
# Two things the wheels lack, made here (facts in shared/research/cuda/NOTES.md):
# - development links `libX.so -> libX.so.N`, which the linker's `-lX` looks for;
# - `libcuda.so`, the GPU driver's library, which is in no registry. On a machine without a GPU a
#   stub is built (DIR/stub/libcuda.so, soname libcuda.so.1) that defines every driver entry
#   point of cuda.h and answers each with CUDA_ERROR_NO_DEVICE; it is put on LIBRARY_PATH only,
#   so the binary records libcuda.so.1 and loads the real driver wherever there is one. To run the
#   CUDA binary on a machine without a GPU (CPU work only), add DIR/stub to LD_LIBRARY_PATH.
#
# Environment: CUDA_COMPUTE_CAP (default 90, an H100/H200; 80 for A100, 89 for L4/4090, ...),
# AIART_CUDA_VERSION (default: from the driver, else 13.0), PIP (default "python3 -m pip").
set -euo pipefail

log() { echo "cuda-toolkit: $*" >&2; }

# The CUDA 13 toolkit wheel sets on the Python package registry (nvidia-cuda-nvcc==X.Y.*)
known="13.0 13.1 13.2 13.3 13.4 13.5"

# The toolkit for this machine: AIART_CUDA_VERSION, else the highest known set no newer than the
# driver's CUDA version, else 13.0.
pick_version() {
    if [[ -n "${AIART_CUDA_VERSION:-}" ]]; then
        echo "$AIART_CUDA_VERSION"
        return
    fi
    local driver
    driver=$(nvidia-smi 2>/dev/null | grep -oE 'CUDA Version: *[0-9]+\.[0-9]+' | grep -oE '[0-9]+\.[0-9]+' | head -n1 || true)
    if [[ -z "$driver" ]]; then
        echo 13.0
        return
    fi
    local best="" v
    for v in $known; do
        if [[ "$(printf '%s\n%s\n' "$v" "$driver" | sort -V | head -n1)" == "$v" ]]; then best=$v; fi
    done
    if [[ -z "$best" ]]; then
        log "the driver supports CUDA $driver, older than every CUDA 13 toolkit this script installs ($known):"
        log "update the NVIDIA driver (580 or newer), or build with a CUDA 12 toolkit of your own (CUDA_HOME)"
        exit 1
    fi
    [[ -n "${quiet_pick:-}" ]] || log "the driver supports CUDA $driver: toolkit $best"
    echo "$best"
}

if [[ "${1:-}" == "--pick" ]]; then
    quiet_pick=1 pick_version
    exit 0
fi

dir=${1:?usage: tools/cuda-toolkit.sh DIR | --pick}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
version=$(pick_version)
[[ "$version" =~ ^[0-9]+\.[0-9]+$ ]] || { log "AIART_CUDA_VERSION=$version: expected MAJOR.MINOR, e.g. 13.0"; exit 1; }
cap=${CUDA_COMPUTE_CAP:-90}
pip=${PIP:-python3 -m pip}
root="$dir/cuda-$version"
site="$root/site"
cuda="$site/nvidia/cu13"
cudnn="$site/nvidia/cudnn"

if [[ ! -x "$cuda/bin/nvcc" || ! -e "$cuda/include/nv/target" || ! -e "$cudnn/lib/libcudnn.so.9" ]]; then
    log "installing the CUDA $version toolkit wheels into $site (about 1.2 GB to download)"
    # shellcheck disable=SC2086
    $pip install --quiet --disable-pip-version-check --no-deps --upgrade --target "$site" \
        "nvidia-cuda-nvcc==$version.*" "nvidia-nvvm==$version.*" "nvidia-cuda-crt==$version.*" \
        "nvidia-cuda-runtime==$version.*" "nvidia-cuda-nvrtc==$version.*" "nvidia-cuda-cccl==$version.*" \
        "nvidia-cublas==13.*" "nvidia-curand==10.*" "nvidia-cudnn-cu13==9.*" >&2
fi
[[ -x "$cuda/bin/nvcc" ]] || { log "no nvcc at $cuda/bin/nvcc after the install"; exit 1; }

# lib64 is where build scripts look first; the wheels call it lib.
[[ -e "$cuda/lib64" ]] || ln -s lib "$cuda/lib64"

# Development links for every versioned library the build links against.
link_dev() { # DIR NAME: DIR/libNAME.so -> the one libNAME.so.N there
    local lib_dir=$1 name=$2 target
    target=$(cd "$lib_dir" && ls "lib$name.so."* 2>/dev/null | grep -E "^lib$name\.so\.[0-9]+$" | head -n1 || true)
    [[ -n "$target" ]] || { log "missing lib$name.so.N in $lib_dir"; exit 1; }
    ln -sfn "$target" "$lib_dir/lib$name.so"
}
for name in cudart cublas cublasLt nvrtc curand; do link_dev "$cuda/lib" "$name"; done
link_dev "$cudnn/lib" cudnn

# The driver stub: every CUresult-returning entry point of cuda.h, macro-expanded (cuCtxCreate ->
# cuCtxCreate_v2) and as written, each returning CUDA_ERROR_NO_DEVICE (100).
stub="$root/stub"
if [[ ! -e "$stub/libcuda.so.1" ]]; then
    mkdir -p "$stub"
    {
        echo '#include <cuda.h>' | gcc -E -P -I "$cuda/include" -
        cat "$cuda/include/cuda.h"
    } | tr '\n' ' ' | grep -oE 'CUresult +(CUDAAPI +)?cu[A-Za-z0-9_]+ *\(' \
        | sed -E 's/^CUresult +(CUDAAPI +)?//; s/ *\($//' | sort -u \
        | awk '{ printf "int %s(void) { return 100; }\n", $1 }' >"$stub/libcuda_stub.c"
    gcc -shared -fPIC -O0 -Wl,-soname,libcuda.so.1 -o "$stub/libcuda.so.1" "$stub/libcuda_stub.c"
    ln -sfn libcuda.so.1 "$stub/libcuda.so"
    log "built a driver stub with $(grep -c . "$stub/libcuda_stub.c") entry points: $stub/libcuda.so"
fi

libs="$cuda/lib:$cudnn/lib"
# On a machine with an NVIDIA driver, its libcuda is found by the loader; link against the real
# one when it is there, else against the stub.
link_libs="$libs"
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then link_libs="$libs:$stub"; fi

# the toolkit really installed (a folder filled by hand, or an older run of this script)
got=$("$cuda/bin/nvcc" --version | grep -oE 'release [0-9]+\.[0-9]+' | grep -oE '[0-9]+\.[0-9]+')
[[ "$got" == "$version" ]] || { log "$cuda/bin/nvcc is CUDA $got, not $version: remove $root and run again"; exit 1; }

cat <<EOF
export AIART_CUDA_VERSION="$version"
export AIART_CUDA_STUB="$stub"
export CUDA_HOME="$cuda"
export CUDA_PATH="$cuda"
export CUDA_ROOT="$cuda"
export CUDNN_LIB="$cudnn/lib"
export CUDA_COMPUTE_CAP="$cap"
export PATH="$cuda/bin:\$PATH"
export LIBRARY_PATH="$link_libs\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export CPATH="$cudnn/include\${CPATH:+:\$CPATH}"
EOF
