// nn.MaxPool2d(2, 2) forward and backward (src/nn/pool.rs is the CPU side): windows of 2×2,
// odd trailing rows and columns dropped (floor); the gradient goes to the window's first maximum
// in row-major order, as PyTorch's max_pool2d_with_indices keeps it.
#include "common.cuh"

// The index (0..4, row-major) of the first maximum of the window at (2i, 2j) of a plane of width w,
// and that maximum in *max (comparisons in registers, no indexed array: no local memory).
__device__ __forceinline__ u32 aiart_first_max(const float* plane, u64 w, u64 i, u64 j,
                                               float* max) {
    const float* at = plane + 2 * i * w + 2 * j;
    const float a = at[0], b = at[1], c = at[w], d = at[w + 1];
    float m = a;
    u32 best = 0;
    if (b > m) { m = b; best = 1; }
    if (c > m) { m = c; best = 2; }
    if (d > m) { m = d; best = 3; }
    *max = m;
    return best;
}

// y[plane, i, j] = max of x's window (2i.., 2j..); total = planes·ho·wo, ho = h/2, wo = w/2
extern "C" __global__ void max_pool2_f32(const float* __restrict__ x, float* __restrict__ y,
                                         u64 total, u32 h, u32 w) {
    const u64 ho = h / 2, wo = w / 2;
    AIART_FOR_EACH(o, total) {
        const u64 j = o % wo, rest = o / wo, i = rest % ho, plane = rest / ho;
        float m;
        aiart_first_max(x + plane * h * w, w, i, j, &m);
        y[o] = m;
    }
}

// dx[plane, r, s] = dy of its window where (r, s) is that window's first maximum, else 0
// (0 in a dropped odd row or column): a gather, one thread per input element, no atomics.
// total = planes·h·w
extern "C" __global__ void max_pool2_bwd_f32(const float* __restrict__ x,
                                             const float* __restrict__ dy,
                                             float* __restrict__ dx, u64 total, u32 h, u32 w) {
    const u64 ho = h / 2, wo = w / 2;
    AIART_FOR_EACH(k, total) {
        const u64 s = k % w, rest = k / w, r = rest % h, plane = rest / h;
        float v = 0.0f;
        if (r < 2 * ho && s < 2 * wo) {
            const u64 i = r / 2, j = s / 2;
            float m;
            const u32 best = aiart_first_max(x + plane * h * w, w, i, j, &m);
            if (best == (u32)((r % 2) * 2 + s % 2)) v = dy[(plane * ho + i) * wo + j];
        }
        dx[k] = v;
    }
}
