// A convolution's per-channel bias (+ReLU), and the channel sum of its gradient
// (src/nn/kernels/bias.rs is the CPU side).
#include "common.cuh"

// y = relu?(x + b[c]) over (N, C, H·W); total = N·C·H·W
extern "C" __global__ void bias_act_f32(const float* __restrict__ x, const float* __restrict__ b,
                                        float* __restrict__ y, u64 total, u32 c, u64 hw,
                                        u32 relu) {
    AIART_FOR_EACH(i, total) {
        const float v = x[i] + b[(i / hw) % c];
        y[i] = relu ? fmaxf(v, 0.0f) : v;
    }
}

// out[ch] = Σ_{n, h, w} g[n, ch, h, w], in f64: one block per channel (grid.x = C), each thread
// a strided share of every plane, then a block reduction with warp shuffles.
extern "C" __global__ void channel_sum_f32(const float* __restrict__ g, float* __restrict__ out,
                                           u32 n, u32 c, u64 hw) {
    __shared__ double scratch[33];
    const u64 ch = blockIdx.x;
    double s = 0.0;
    for (u64 i = 0; i < n; ++i) {
        const float* plane = g + (i * c + ch) * hw;
        for (u64 j = threadIdx.x; j < hw; j += blockDim.x) s += (double)plane[j];
    }
    s = aiart_block_sum(s, scratch);
    if (threadIdx.x == 0) out[ch] = (float)s;
}
