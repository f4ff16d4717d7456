// InstanceNorm2d (+ReLU), plain and affine, forward and backward (src/nn/kernels/norm.rs is the
// CPU side, whose arithmetic this follows: moments in f64, two passes, then the f32 expressions in
// the same order). One block per (sample, channel) plane: grid.x = N·C, blockDim.x a multiple of
// 32 (≤ 1024); each thread takes a strided share of the plane, and the sums meet in a block
// reduction with warp shuffles (aiart_block_sum).
#include "common.cuh"

#define AIART_EPS 1e-5

// (μ, 1/σ) of a plane of hw values, rounded to f32 as the CPU side's `moments`.
__device__ __forceinline__ void aiart_plane_moments(const float* x, u64 hw, double* scratch,
                                                    float* mean_f, float* inv_f) {
    double s = 0.0;
    for (u64 i = threadIdx.x; i < hw; i += blockDim.x) s += (double)x[i];
    const double mean = aiart_block_sum(s, scratch) / (double)hw;
    double q = 0.0;
    for (u64 i = threadIdx.x; i < hw; i += blockDim.x) {
        const double d = (double)x[i] - mean;
        q += d * d;
    }
    const double var = aiart_block_sum(q, scratch) / (double)hw;
    *mean_f = (float)mean;
    *inv_f = (float)(1.0 / sqrt(var + AIART_EPS));
}

// y = relu?(x̂) or, with gamma non-null, relu?(x̂·γ_c + β_c); x, y (N·C planes of hw)
extern "C" __global__ void instance_norm_f32(const float* __restrict__ x,
                                             const float* __restrict__ gamma,
                                             const float* __restrict__ beta,
                                             float* __restrict__ y, u64 hw, u32 c, u32 relu) {
    __shared__ double scratch[33];
    const u64 plane = blockIdx.x;
    const float* xp = x + plane * hw;
    float* yp = y + plane * hw;
    float mean, inv;
    aiart_plane_moments(xp, hw, scratch, &mean, &inv);
    const bool affine = gamma != 0;
    const float g = affine ? gamma[plane % c] : 1.0f;
    const float b = affine ? beta[plane % c] : 0.0f;
    for (u64 i = threadIdx.x; i < hw; i += blockDim.x) {
        float v = (xp[i] - mean) * inv;
        if (affine) v = v * g + b;
        yp[i] = relu ? fmaxf(v, 0.0f) : v;
    }
}

// dx from (x, y, dy): g = dy (0 where relu and y ≤ 0), x̂ = (x − μ)/σ,
//   dx = (g − mean(g) − x̂·mean(g·x̂))·k, k = 1/σ, or γ_c/σ with gamma non-null;
// with gamma non-null each plane's (Σ g, Σ g·x̂) goes to sums[2·plane], sums[2·plane + 1].
extern "C" __global__ void instance_norm_bwd_f32(const float* __restrict__ x,
                                                 const float* __restrict__ y,
                                                 const float* __restrict__ dy,
                                                 const float* __restrict__ gamma,
                                                 float* __restrict__ dx, float* __restrict__ sums,
                                                 u64 hw, u32 c, u32 relu) {
    __shared__ double scratch[33];
    const u64 plane = blockIdx.x;
    const u64 at = plane * hw;
    float mean, inv;
    aiart_plane_moments(x + at, hw, scratch, &mean, &inv);
    double sg = 0.0, sgx = 0.0;
    for (u64 i = threadIdx.x; i < hw; i += blockDim.x) {
        const float gi = (relu && y[at + i] <= 0.0f) ? 0.0f : dy[at + i];
        sg += (double)gi;
        sgx += (double)gi * (double)((x[at + i] - mean) * inv);
    }
    sg = aiart_block_sum(sg, scratch);
    sgx = aiart_block_sum(sgx, scratch);
    const float mean_g = (float)(sg / (double)hw), mean_gx = (float)(sgx / (double)hw);
    const bool affine = gamma != 0;
    const float k = affine ? gamma[plane % c] * inv : inv;
    for (u64 i = threadIdx.x; i < hw; i += blockDim.x) {
        const float gi = (relu && y[at + i] <= 0.0f) ? 0.0f : dy[at + i];
        const float xhat = (x[at + i] - mean) * inv;
        dx[at + i] = (gi - mean_g - xhat * mean_gx) * k;
    }
    if (affine && threadIdx.x == 0) {
        sums[2 * plane] = (float)sg;
        sums[2 * plane + 1] = (float)sgx;
    }
}
