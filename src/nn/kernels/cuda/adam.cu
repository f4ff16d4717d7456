// One Adam update of one parameter in place (src/nn/kernels/adam.rs is the CPU side, whose
// arithmetic this is operation for operation: round-to-nearest intrinsics, no contraction, the
// "+ 0" and "· 1" of candle's affine ops kept), so CPU and GPU give bit-identical parameters and
// moments. mv holds the moments of the parameter: m in [0, n), v in [n, 2n).
// The constants come from kernels::adam::Constants: b1 = β1, nb1 = 1 − β1, b2 = β2, nb2 = 1 − β2,
// inv_sqrt_bc2 = 1/√(1 − β2ᵗ), eps = ε, step = lr/(1 − β1ᵗ), each rounded to f32 once.
#include "common.cuh"

extern "C" __global__ void adam_f32(float* __restrict__ p, const float* __restrict__ g,
                                    float* __restrict__ mv, u64 n, float b1, float nb1, float b2,
                                    float nb2, float inv_sqrt_bc2, float eps, float step) {
    AIART_FOR_EACH(i, n) {
        const float gi = g[i];
        const float mi = __fadd_rn(__fadd_rn(__fmul_rn(mv[i], b1), 0.0f),
                                   __fadd_rn(__fmul_rn(gi, nb1), 0.0f));
        const float vi = __fadd_rn(__fadd_rn(__fmul_rn(mv[n + i], b2), 0.0f),
                                   __fadd_rn(__fmul_rn(__fmul_rn(gi, gi), nb2), 0.0f));
        const float denom =
            __fadd_rn(__fmul_rn(__fadd_rn(__fmul_rn(__fsqrt_rn(vi), inv_sqrt_bc2), 0.0f), 1.0f),
                      eps);
        p[i] = __fsub_rn(p[i], __fadd_rn(__fmul_rn(__fdiv_rn(mi, denom), step), 0.0f));
        mv[i] = mi;
        mv[n + i] = vi;
    }
}
