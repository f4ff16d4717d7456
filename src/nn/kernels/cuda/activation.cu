// LeakyReLU and the gate gradient (src/nn/kernels/activation.rs is the CPU side): one thread
// per element, grid-stride.
#include "common.cuh"

// y = x for x > 0, else slope·x
extern "C" __global__ void leaky_relu_f32(const float* __restrict__ x, float* __restrict__ y,
                                          u64 total, float slope) {
    AIART_FOR_EACH(i, total) {
        const float v = x[i];
        y[i] = v > 0.0f ? v : v * slope;
    }
}

// dx = dy where t > 0, else slope·dy (exactly 0 for slope 0, as PyTorch's ReLU backward)
extern "C" __global__ void gate_grad_f32(const float* __restrict__ t, const float* __restrict__ dy,
                                         float* __restrict__ dx, u64 total, float slope) {
    AIART_FOR_EACH(i, total) {
        const float g = dy[i];
        dx[i] = t[i] > 0.0f ? g : (slope == 0.0f ? 0.0f : g * slope);
    }
}
