/* Kernel launches of a whole process, counted by CUPTI's activity API: an injection library that
 * the CUDA driver loads at cuInit when CUDA_INJECTION64_PATH names it (the way Nsight tools attach),
 * so neither aiart nor PyTorch needs a profiler built in. Every kernel that runs on the GPU is one
 * record (ours, candle's, cuBLAS's, cuDNN's, PyTorch's), whichever API launched it; memcpy and
 * memset are counted apart.
 *
 * At exit it appends one line to $AIART_LAUNCH_COUNT_OUT (default: stderr):
 *     launches kernels=N memcpy=M memset=S dropped=D
 * tools/gpu-check.sh runs a workload with 1 and with 3 timed steps and takes the difference / 2:
 * the launches of one step, without the set-up's and the warm-up's.
 *
 * Build (tools/gpu-pack.sh does; CUPTI's headers and library come with PyTorch's CUDA wheels,
 * nvidia/cu13/{include,lib}):
 *     cc -O2 -shared -fPIC -o liblaunchcount.so tools/launch_count.c -I$INC -L$LIB -l:libcupti.so.13
 */
#include <cupti.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BUFFER_BYTES (8u << 20)

static unsigned long long kernels, memcpys, memsets, dropped;

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records) {
    /* CUPTI wants 8-byte alignment */
    *buffer = aligned_alloc(8, BUFFER_BYTES);
    *size = *buffer ? BUFFER_BYTES : 0;
    *max_records = 0;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size,
                                      size_t valid) {
    CUpti_Activity *record = NULL;
    size_t lost = 0;
    (void)stream;
    while (cuptiActivityGetNextRecord(buffer, valid, &record) == CUPTI_SUCCESS) {
        switch (record->kind) {
        case CUPTI_ACTIVITY_KIND_KERNEL:
        case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
            kernels++;
            break;
        case CUPTI_ACTIVITY_KIND_MEMCPY:
            memcpys++;
            break;
        case CUPTI_ACTIVITY_KIND_MEMSET:
            memsets++;
            break;
        default:
            break;
        }
    }
    if (cuptiActivityGetNumDroppedRecords(ctx, stream, &lost) == CUPTI_SUCCESS)
        dropped += lost;
    free(buffer);
    (void)size;
}

static void report(void) {
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    const char *path = getenv("AIART_LAUNCH_COUNT_OUT");
    FILE *out = path && *path ? fopen(path, "a") : NULL;
    fprintf(out ? out : stderr, "launches kernels=%llu memcpy=%llu memset=%llu dropped=%llu\n",
            kernels, memcpys, memsets, dropped);
    if (out)
        fclose(out);
}

/* what the driver calls after loading the library named by CUDA_INJECTION64_PATH */
int InitializeInjection(void) {
    if (cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed) != CUPTI_SUCCESS ||
        cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) != CUPTI_SUCCESS) {
        fprintf(stderr, "launch_count: CUPTI refused the activity API\n");
        return 0;
    }
    cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY);
    cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMSET);
    atexit(report);
    return 1;
}
