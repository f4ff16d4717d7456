// Nearest-neighbour ×2 upsampling and its adjoint (src/nn/kernels/upsample.rs is the CPU side).
#include "common.cuh"

// y[plane, r, s] = x[plane, r/2, s/2]; x planes h×w, y planes 2h×2w; total = planes·4·h·w
extern "C" __global__ void up2_f32(const float* __restrict__ x, float* __restrict__ y, u64 total,
                                   u32 h, u32 w) {
    const u64 w2 = 2 * (u64)w, h2 = 2 * (u64)h;
    AIART_FOR_EACH(o, total) {
        const u64 s = o % w2, rest = o / w2, r = rest % h2, plane = rest / h2;
        y[o] = x[(plane * h + r / 2) * w + s / 2];
    }
}

// dx[plane, i, j] = the sum of dy's 2×2 block at (2i, 2j), added left to right, top row first
// (the CPU side's order); dx planes h×w; total = planes·h·w
extern "C" __global__ void down2_f32(const float* __restrict__ dy, float* __restrict__ dx,
                                     u64 total, u32 h, u32 w) {
    const u64 w2 = 2 * (u64)w;
    AIART_FOR_EACH(k, total) {
        const u64 j = k % w, rest = k / w, i = rest % h, plane = rest / h;
        const float* r0 = dy + (plane * 2 * h + 2 * i) * w2 + 2 * j;
        const float* r1 = r0 + w2;
        dx[k] = r0[0] + r0[1] + r1[0] + r1[1];
    }
}
