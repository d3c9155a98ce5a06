/*
 * bench.h - the one internal header of the benchmarks (bench/bench_*.c). Benchmarks
 * use the public headers (include/vidsim/) and, where they time or pick something the
 * public API does not expose, only what this header names, each entry with the reason.
 * So a change to a module's private header that breaks a benchmark shows up here, in
 * one place, and nothing else under bench/ reaches into src/. Not a library header:
 * never installed, never included by src/, tools/ or tests/.
 *
 * What benchmarks reach, and why:
 *   - core/tensorfile.h: vs__tf_open/find/close - bench_ablate_layers reads the
 *     whitening file's tensors (mean, P) to whiten per-layer slices itself.
 *   - backbone/bb_internal.h: vs__bb_infer - bench_backbone counts each conv's FLOPs
 *     from the inferred layer shapes; vs__bb_dnnl_set_fusion / vs__bb_dnnl_set_partial -
 *     bench_backbone's A/B switches for the fused int8/bf16 conversions and the
 *     partial-batch primitives (VS_BENCH_FUSE, VS_BENCH_MAX_BATCH; docs/backbone.md).
 *   - decode/decode_internal.h: vs__decode_set_convert_all - bench_decode times
 *     colour conversion of every frame, not only the sampled ones.
 *   - hamming/hamming_internal.h: vs__hamming_kernels/use_kernel - bench_hamming
 *     times every popcount kernel.
 *   - nn/nn.h, simmodel/simmodel_internal.h: the comparator's conv variants and the
 *     per-worker scratch - bench_simmodel times the layers one by one.
 * The clock: bench_now() (monotonic seconds), public-only.
 */
#ifndef VS_BENCH_H
#define VS_BENCH_H

#include "vidsim/vidsim.h"

#include "backbone/bb_internal.h"
#include "core/tensorfile.h"
#include "decode/decode_internal.h"
#include "hamming/hamming_internal.h"
#include "nn/nn.h"
#include "simmodel/simmodel_internal.h"

#include <time.h>

/* Monotonic time in seconds. */
static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
