// Host emulation of aiart's elementwise CUDA kernels (CI, no GPU): the same .cu files, compiled
// by the system C++ compiler. CUDA's qualifiers become nothing, blockIdx/threadIdx/blockDim/
// gridDim are globals, the round-to-nearest intrinsics are the plain IEEE operations (compile
// with -ffp-contract=off), and AIART_EXPORT(kernel) exports
//   aiart_emulate_<kernel>(grid[3], block[3], args): every thread of the launch grid, one after
//     another, with args laid out as cuLaunchKernel's kernelParams (one pointer per parameter);
//   aiart_params_<kernel>(codes): the kernel's parameter list as codes (kind·16 + size in bytes;
//     kind 1 pointer, 2 unsigned integer, 3 floating point), so the Rust side checks its declared
//     argument list against the compiled kernel.
// Kernels with shared memory, barriers or warp shuffles are left out (#ifndef AIART_HOST_EMULATION).
#pragma once
#define AIART_HOST_EMULATION 1

#include <cmath>
#include <cstddef>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __forceinline__ inline

struct aiart_dim3 {
    unsigned x, y, z;
};
static aiart_dim3 blockIdx, threadIdx, blockDim, gridDim;

static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fsqrt_rn(float a) { return std::sqrt(a); }
using std::fmaxf;

template <typename... A, std::size_t... I>
static void aiart_call(void (*kernel)(A...), void** args, std::index_sequence<I...>) {
    kernel(*static_cast<typename std::remove_reference<A>::type*>(args[I])...);
}

template <typename... A>
static void aiart_emulate(void (*kernel)(A...), const unsigned* grid, const unsigned* block,
                          void** args) {
    gridDim = {grid[0], grid[1], grid[2]};
    blockDim = {block[0], block[1], block[2]};
    for (unsigned bz = 0; bz < grid[2]; ++bz)
        for (unsigned by = 0; by < grid[1]; ++by)
            for (unsigned bx = 0; bx < grid[0]; ++bx)
                for (unsigned tz = 0; tz < block[2]; ++tz)
                    for (unsigned ty = 0; ty < block[1]; ++ty)
                        for (unsigned tx = 0; tx < block[0]; ++tx) {
                            blockIdx = {bx, by, bz};
                            threadIdx = {tx, ty, tz};
                            aiart_call(kernel, args, std::index_sequence_for<A...>{});
                        }
}

template <typename T>
static constexpr unsigned aiart_code() {
    return (std::is_pointer<T>::value ? 1u : std::is_floating_point<T>::value ? 3u : 2u) * 16u +
           (unsigned)sizeof(T);
}

template <typename... A>
static unsigned aiart_params(void (*)(A...), unsigned* codes) {
    const unsigned all[] = {aiart_code<A>()..., 0u};
    for (unsigned i = 0; i < sizeof...(A); ++i) codes[i] = all[i];
    return sizeof...(A);
}

#define AIART_EXPORT(kernel)                                                                  \
    extern "C" void aiart_emulate_##kernel(const unsigned* grid, const unsigned* block,       \
                                           void** args) {                                     \
        aiart_emulate(kernel, grid, block, args);                                             \
    }                                                                                         \
    extern "C" unsigned aiart_params_##kernel(unsigned* codes) {                              \
        return aiart_params(kernel, codes);                                                   \
    }
