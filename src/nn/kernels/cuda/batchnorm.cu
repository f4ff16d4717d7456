// BatchNorm2d in training mode (batch statistics, affine), forward, backward and the per-channel
// moments for the running statistics (src/nn/kernels/batchnorm.rs is the CPU side, whose
// arithmetic this follows: f64 sums, then its f32 expressions in the same order). One block per
// channel: grid.x = C, blockDim.x a multiple of 32 (≤ 1024); a channel's N planes of hw values
// are read plane by plane, each thread a strided share, summed by a block reduction.
#include "common.cuh"

#define AIART_EPS 1e-5

// (μ, biased var) of channel ch over its n planes, in f64.
__device__ __forceinline__ void aiart_channel_moments(const float* x, u32 n, u32 c, u64 hw,
                                                      u64 ch, double* scratch, double* mean,
                                                      double* var) {
    const double count = (double)n * (double)hw;
    double s = 0.0;
    for (u64 i = 0; i < n; ++i) {
        const float* p = x + (i * c + ch) * hw;
        for (u64 j = threadIdx.x; j < hw; j += blockDim.x) s += (double)p[j];
    }
    *mean = aiart_block_sum(s, scratch) / count;
    double q = 0.0;
    for (u64 i = 0; i < n; ++i) {
        const float* p = x + (i * c + ch) * hw;
        for (u64 j = threadIdx.x; j < hw; j += blockDim.x) {
            const double d = (double)p[j] - *mean;
            q += d * d;
        }
    }
    *var = aiart_block_sum(q, scratch) / count;
}

// y = x·scale + shift, scale = γ/σ, shift = β − μ·scale (each rounded to f32 as the CPU side)
extern "C" __global__ void batch_norm_f32(const float* __restrict__ x,
                                          const float* __restrict__ gamma,
                                          const float* __restrict__ beta, float* __restrict__ y,
                                          u32 n, u32 c, u64 hw) {
    __shared__ double scratch[33];
    const u64 ch = blockIdx.x;
    double mean, var;
    aiart_channel_moments(x, n, c, hw, ch, scratch, &mean, &var);
    const float scale = (float)((double)gamma[ch] / sqrt(var + AIART_EPS));
    const float shift = (float)((double)beta[ch] - mean * (double)scale);
    for (u64 i = 0; i < n; ++i) {
        const u64 at = (i * c + ch) * hw;
        for (u64 j = threadIdx.x; j < hw; j += blockDim.x) y[at + j] = x[at + j] * scale + shift;
    }
}

// out = dx (N·C·hw values), then dγ (C), then dβ (C):
//   dβ = Σ g, dγ = Σ g·x̂, dx = γ/σ·(g − mean(g) − x̂·mean(g·x̂))
extern "C" __global__ void batch_norm_bwd_f32(const float* __restrict__ x,
                                              const float* __restrict__ gamma,
                                              const float* __restrict__ dy,
                                              float* __restrict__ out, u32 n, u32 c, u64 hw) {
    __shared__ double scratch[33];
    const u64 ch = blockIdx.x;
    double mean, var;
    aiart_channel_moments(x, n, c, hw, ch, scratch, &mean, &var);
    const double inv = 1.0 / sqrt(var + AIART_EPS);
    double sg = 0.0, sgx = 0.0;
    for (u64 i = 0; i < n; ++i) {
        const u64 at = (i * c + ch) * hw;
        for (u64 j = threadIdx.x; j < hw; j += blockDim.x) {
            const double g = (double)dy[at + j];
            sg += g;
            sgx += g * ((double)x[at + j] - mean) * inv;
        }
    }
    sg = aiart_block_sum(sg, scratch);
    sgx = aiart_block_sum(sgx, scratch);
    const double count = (double)n * (double)hw;
    const float mean_g = (float)(sg / count), mean_gx = (float)(sgx / count);
    const float mean_f = (float)mean, inv_f = (float)inv;
    const float k = gamma[ch] * inv_f;
    for (u64 i = 0; i < n; ++i) {
        const u64 at = (i * c + ch) * hw;
        for (u64 j = threadIdx.x; j < hw; j += blockDim.x) {
            const float xhat = (x[at + j] - mean_f) * inv_f;
            out[at + j] = k * (dy[at + j] - mean_g - xhat * mean_gx);
        }
    }
    if (threadIdx.x == 0) {
        const u64 total = (u64)n * c * hw;
        out[total + ch] = (float)sgx;
        out[total + c + ch] = (float)sg;
    }
}

// out[ch] = μ, out[c + ch] = biased var, each rounded to f32 (for the running statistics)
extern "C" __global__ void batch_norm_moments_f32(const float* __restrict__ x,
                                                  float* __restrict__ out, u32 n, u32 c, u64 hw) {
    __shared__ double scratch[33];
    const u64 ch = blockIdx.x;
    double mean, var;
    aiart_channel_moments(x, n, c, hw, ch, scratch, &mean, &var);
    if (threadIdx.x == 0) {
        out[ch] = (float)mean;
        out[c + ch] = (float)var;
    }
}
