// ReflectionPad2d(p) forward and backward (src/nn/kernels/pad.rs is the CPU side). Planes are
// (N·C) of H×W; the padded plane is (H+2p)×(W+2p). One thread per output element, grid-stride.
#include "common.cuh"

// The input index that padded index o of an axis of length n (padding p < n) reads.
__device__ __forceinline__ u64 aiart_mirror(u64 o, u64 p, u64 n) {
    long long i = (long long)o - (long long)p;
    if (i < 0) i = -i;
    if (i >= (long long)n) i = 2 * ((long long)n - 1) - i;
    return (u64)i;
}

// y[plane, oy, ox] = x[plane, mirror(oy), mirror(ox)]; total = planes·(H+2p)·(W+2p)
extern "C" __global__ void reflect_pad_f32(const float* __restrict__ x, float* __restrict__ y,
                                           u64 total, u32 h, u32 w, u32 p) {
    const u64 ho = (u64)h + 2 * (u64)p, wo = (u64)w + 2 * (u64)p;
    AIART_FOR_EACH(o, total) {
        const u64 ox = o % wo, rest = o / wo, oy = rest % ho, plane = rest / ho;
        y[o] = x[(plane * h + aiart_mirror(oy, p, h)) * w + aiart_mirror(ox, p, w)];
    }
}

// dx[plane, i, j] = Σ of the dy elements that mirror to (i, j), gathered (no zero-fill, no
// atomics) and added in the CPU side's order: padded rows ascending, and in each row the centre
// column, then the left mirror, then the right one. total = planes·H·W
extern "C" __global__ void reflect_pad_bwd_f32(const float* __restrict__ dy,
                                               float* __restrict__ dx, u64 total, u32 h, u32 w,
                                               u32 p) {
    const long long H = h, W = w, P = p;
    const u64 ho = (u64)h + 2 * (u64)p, wo = (u64)w + 2 * (u64)p;
    AIART_FOR_EACH(k, total) {
        const long long j = (long long)(k % w), rest = (long long)(k / w);
        const long long i = rest % H, plane = rest / H;
        const float* src = dy + (u64)plane * ho * wo;
        const bool left = j >= 1 && j <= P;
        const bool right = j <= W - 2 && j >= W - 1 - P;
        // one padded row's share: its centre column, then the left mirror, then the right one
        auto add_row = [&](float acc, long long oy) {
            const float* row = src + (u64)oy * wo;
            acc += row[j + P];
            if (left) acc += row[P - j];
            if (right) acc += row[P + 2 * (W - 1) - j];
            return acc;
        };
        // the padded rows that read row i, ascending
        float acc = 0.0f;
        if (i >= 1 && i <= P) acc = add_row(acc, P - i);
        acc = add_row(acc, i + P);
        if (i <= H - 2 && i >= H - 1 - P) acc = add_row(acc, P + 2 * (H - 1) - i);
        dx[k] = acc;
    }
}
