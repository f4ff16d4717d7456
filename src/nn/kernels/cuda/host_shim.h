// Host emulation of aiart's CUDA kernels (CI, no GPU): the same .cu files, compiled by the system
// C++ compiler (C++20, -pthread). CUDA's qualifiers become nothing, the round-to-nearest
// intrinsics the plain IEEE operations (compile with -ffp-contract=off), and two ways to run a
// launch are exported:
//   AIART_EXPORT(kernel): aiart_emulate_<kernel>(grid[3], block[3], args) runs every thread of the
//     grid one after another (the elementwise kernels: no shared memory, barriers or shuffles);
//   AIART_EXPORT_BLOCKS(kernel): the same entry, but each block's threads run as real threads,
//     block after block: `__shared__` arrays are statics (one block at a time), __syncthreads()
//     is a barrier of the block, and __shfl_down_sync exchanges through a slot per lane between
//     two barriers of the warp, so the block reductions run as written (whole warps, every lane
//     of a warp shuffling together, as on a GPU);
// and aiart_params_<kernel>(codes): the kernel's parameter list as codes (kind·16 + size in
// bytes; kind 1 pointer, 2 unsigned integer, 3 floating point), so the Rust side checks its
// declared argument list against the compiled kernel. args are laid out as cuLaunchKernel's
// kernelParams: one pointer per parameter, to its value.
#pragma once
#define AIART_HOST_EMULATION 1

#include <barrier>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static

struct aiart_dim3 {
    unsigned x, y, z;
};
static thread_local aiart_dim3 blockIdx, threadIdx;
static aiart_dim3 blockDim, gridDim;

// The running block's barrier, and per warp a barrier and 32 exchange slots (AIART_EXPORT_BLOCKS).
static std::barrier<>* aiart_block_barrier = nullptr;
struct aiart_warp {
    std::barrier<> barrier{32};
    unsigned long long slots[32];
};
static std::vector<std::unique_ptr<aiart_warp>> aiart_warps;

static inline unsigned aiart_linear_thread() {
    return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

static inline void __syncthreads() { aiart_block_barrier->arrive_and_wait(); }

template <typename T>
static T __shfl_down_sync(unsigned, T v, int delta) {
    static_assert(sizeof(T) <= 8, "a shuffle of at most 8 bytes");
    const unsigned t = aiart_linear_thread(), lane = t % 32;
    aiart_warp& w = *aiart_warps[t / 32];
    std::memcpy(&w.slots[lane], &v, sizeof(T));
    w.barrier.arrive_and_wait();
    T r = v;
    if (lane + delta < 32) std::memcpy(&r, &w.slots[lane + delta], sizeof(T));
    w.barrier.arrive_and_wait();
    return r;
}

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

template <typename... A>
static void aiart_emulate_blocks(void (*kernel)(A...), const unsigned* grid,
                                 const unsigned* block, void** args) {
    gridDim = {grid[0], grid[1], grid[2]};
    blockDim = {block[0], block[1], block[2]};
    const unsigned threads = block[0] * block[1] * block[2];
    std::barrier<> sync(threads);
    aiart_block_barrier = &sync;
    aiart_warps.clear();
    for (unsigned w = 0; w < threads / 32; ++w) aiart_warps.push_back(std::make_unique<aiart_warp>());
    for (unsigned bz = 0; bz < grid[2]; ++bz)
        for (unsigned by = 0; by < grid[1]; ++by)
            for (unsigned bx = 0; bx < grid[0]; ++bx) {
                std::vector<std::thread> pool;
                pool.reserve(threads);
                for (unsigned t = 0; t < threads; ++t)
                    pool.emplace_back([=] {
                        blockIdx = {bx, by, bz};
                        threadIdx = {t % block[0], (t / block[0]) % block[1],
                                     t / (block[0] * block[1])};
                        aiart_call(kernel, args, std::index_sequence_for<A...>{});
                    });
                for (auto& th : pool) th.join();
            }
    aiart_block_barrier = nullptr;
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

#define AIART_EXPORT_BLOCKS(kernel)                                                           \
    extern "C" void aiart_emulate_##kernel(const unsigned* grid, const unsigned* block,       \
                                           void** args) {                                     \
        aiart_emulate_blocks(kernel, grid, block, args);                                      \
    }                                                                                         \
    extern "C" unsigned aiart_params_##kernel(unsigned* codes) {                              \
        return aiart_params(kernel, codes);                                                   \
    }
