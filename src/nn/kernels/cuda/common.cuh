// Shared by aiart's CUDA kernels (src/nn/kernels/cuda/*.cu): the integer types, the grid-stride
// loop, and the block reductions the norms use. Every flat index is 64-bit: a VGG activation at
// 4096 px holds 64·4096² ≈ 1.1·10⁹ elements, and a product of two sizes can pass 2³¹.
// Built to PTX by build.rs (nvcc -ptx --fmad=false: no a·b + c contraction, so every kernel
// rounds operation for operation as its CPU side does); for the CI's host emulation the same
// files are compiled by the host C++ compiler through host_shim.h.
#pragma once

typedef unsigned long long u64;
typedef unsigned int u32;

// for (u64 i = this thread's first index; i < n; i += every thread of the grid)
#define AIART_FOR_EACH(i, n)                                                          \
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < (u64)(n);            \
         i += (u64)blockDim.x * gridDim.x)

// The sum of one double per thread over the whole block (blockDim.x a multiple of 32, ≤ 1024),
// returned to every thread. `scratch` holds 32 doubles of shared memory; the call ends with a
// barrier, so the next reduction may reuse it.
__device__ __forceinline__ double aiart_block_sum(double v, double* scratch) {
    const u32 lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        const u32 warps = blockDim.x >> 5;
        v = lane < warps ? scratch[lane] : 0.0;
        for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
        if (lane == 0) scratch[32] = v;
    }
    __syncthreads();
    const double total = scratch[32];
    __syncthreads();
    return total;
}
