/*
 * backbone.h - the frozen ImageNet CNN that turns RGB frames into feature maps:
 * InceptionV3 up to mixed5 (default) or MobileNetV2 up to block_10, with weights
 * converted from the npm package nsfwjs (see scripts/ and docs/formats.md), batch
 * norm folded into the convolutions at load.
 *
 * The network returns "taps": named intermediate maps (InceptionV3: mixed0..mixed5;
 * MobileNetV2: block_*), in NHWC float layout, from which features/ builds region
 * vectors.
 *
 * Thread safety: a vs_backbone is read-only after load and may be shared by
 * threads; each thread uses its own vs_backbone_state.
 *
 * Example:
 *     vs_backbone *bb; vs_backbone_state *st;
 *     vs_backbone_load(&bb, "models/inception_v3.vstf");
 *     vs_backbone_params bp = vs_backbone_default_params();
 *     vs_backbone_state_create(&st, bb, &bp);
 *     vs_backbone_forward(st, rgb, n);          // rgb: n*S*S*3 uint8, S = input size
 *     int h, w, c; const float *m5 = vs_backbone_tap(st, "mixed5", &h, &w, &c);  // [n,h,w,c]
 *     vs_backbone_state_free(st); vs_backbone_free(bb);
 */
#ifndef VIDSIM_BACKBONE_H
#define VIDSIM_BACKBONE_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vs_backbone vs_backbone;
typedef struct vs_backbone_state vs_backbone_state;
typedef struct vs_backbone_calib vs_backbone_calib;

/* Number format of the convolutions. FP32: float everywhere (default). INT8: oneDNN
 * u8/s8 activations (per-tensor scales from a calibration) times s8 weights
 * (per-output-channel scales), s32 accumulation, float output; the convs before the
 * first concat/add (InceptionV3's stem and mixed0 block, 47 % of its FLOPs) run in BF16,
 * where int8 costs the features too much (docs/backbone.md). BF16: bfloat16
 * activations and weights, float accumulation and output. Pools, concats, adds and
 * the taps stay float in every format. INT8 and BF16 need the oneDNN engine. */
/* VS_PRECISION_FP32, _INT8, _BF16: base.h */
/* "fp32", "int8", "bf16" (NULL for another value); parse returns -1 for another name. */
VS_API const char *vs_precision_name(int precision);
VS_API int vs_precision_parse(const char *name);

typedef struct vs_backbone_params {
    int input_size;   /* frame side in pixels (default 224); any size >= 75 works */
    int max_batch;    /* frames per forward call (default 16) */
    int n_threads;    /* threads for this state (default 1) */
    int engine;       /* convolution engine: VS_BACKBONE_ENGINE_* (default AUTO) */
    int precision;    /* VS_PRECISION_* (default FP32) */
    const vs_backbone_calib *calib; /* INT8: activation ranges of this backbone (required,
                                       borrowed: must outlive the state) */
} vs_backbone_params;

/* Convolution engines. AUTO: oneDNN when the build found it, else OpenBLAS.
 * BLAS: im2col + OpenBLAS sgemm (always built). DNNL: oneDNN primitives;
 * vs_backbone_state_create returns VS_ERR_UNSUPPORTED if not built in. */
enum { VS_BACKBONE_ENGINE_AUTO = 0, VS_BACKBONE_ENGINE_BLAS = 1, VS_BACKBONE_ENGINE_DNNL = 2 };

VS_API vs_backbone_params vs_backbone_default_params(void);

/* Load converted weights (a VSTF file written by scripts/convert_nsfwjs.mjs). */
VS_API vs_status vs_backbone_load(vs_backbone **out, const char *path);
VS_API void vs_backbone_free(vs_backbone *bb);
/* "inception_v3" or "mobilenet_v2". */
VS_API const char *vs_backbone_name(const vs_backbone *bb);

VS_API vs_status vs_backbone_state_create(vs_backbone_state **out, const vs_backbone *bb,
                                          const vs_backbone_params *p);
VS_API void vs_backbone_state_free(vs_backbone_state *st);

/* Run the network on n frames of uint8 RGB (n*S*S*3, S = params.input_size), with
 * Keras preprocessing x/127.5 - 1. n <= max_batch. */
VS_API vs_status vs_backbone_forward(vs_backbone_state *st, const uint8_t *rgb, int n);

/* Same, on already preprocessed float input (n*S*S*3, NHWC). */
VS_API vs_status vs_backbone_forward_f32(vs_backbone_state *st, const float *x, int n);

/* A tap of the last forward: pointer to [n,h,w,c] floats owned by the state, valid
 * until the next forward; NULL if the name is unknown. */
VS_API const float *vs_backbone_tap(const vs_backbone_state *st, const char *name, int *h, int *w,
                                    int *c);

/* Names of the taps this backbone offers, NULL-terminated, static. */
VS_API const char *const *vs_backbone_tap_names(const vs_backbone *bb);

/* The instruction set oneDNN's kernels use in this process, e.g. "avx512_core_amx",
 * "avx512_core_vnni", "avx512_core", "avx2" ("none" without oneDNN), and whether it
 * has the int8 dot-product instructions (VNNI/AMX). Capped by the environment
 * variable DNNL_MAX_CPU_ISA (read once, before the first oneDNN primitive). Without
 * VNNI on an AVX-512 CPU, INT8 states are emulated in f32 (activations and weights
 * quantised to the same 8-bit grid, then dequantised: oneDNN's non-VNNI u8*s8 pair
 * sums could saturate): the same features, at fp32 speed. Below AVX-512 (avx2,
 * avx2_vnni) INT8 and BF16 states are refused (VS_ERR_UNSUPPORTED). */
VS_API const char *vs_backbone_isa(void);
VS_API int vs_backbone_isa_has_vnni(void);

/* The precision vidsim's tools (CLI, bindings) use for a backbone when the caller
 * names none and no index fixes one: VS_PRECISION_INT8 for InceptionV3 ("inception_v3"
 * or "inception") when this process runs int8 natively (oneDNN on AVX-512 with
 * VNNI or AMX: same five-draw accuracy as fp32, ~3x the backbone speed,
 * docs/backbone.md), else VS_PRECISION_FP32: MobileNetV2 (int8 costs it too much
 * accuracy), builds without oneDNN, and CPUs without VNNI (emulated int8 would give
 * the same features at fp32 speed or below) or below AVX-512 (no int8 at all). The
 * library's own defaults (vs_backbone_default_params, vs_extract_default_params) stay
 * FP32. Example: p.precision = vs_backbone_default_precision("inception"). */
VS_API int vs_backbone_default_precision(const char *backbone);

/* ---- INT8 calibration: the range of every activation a convolution reads, recorded
 * on float forward passes over real frames.
 *     vs_backbone_calib *c; vs_backbone_calib_create(&c, bb);
 *     for each batch: vs_backbone_calib_forward(c, st, rgb, n);   // st: FP32 state
 *     vs_backbone_calib_finish(c, 99.99);     // clip at a percentile of |x| (100: max)
 *     vs_backbone_calib_save(c, "models/calib_inception_v3.vstf");
 * The file (VSTF, docs/formats.md) carries the weights' hash: loading it for other
 * weights fails (VS_ERR_FORMAT, naming the file). */
VS_API vs_status vs_backbone_calib_create(vs_backbone_calib **out, const vs_backbone *bb);
/* Run st (an FP32 state of c's backbone) on n frames and record every range. */
VS_API vs_status vs_backbone_calib_forward(vs_backbone_calib *c, vs_backbone_state *st,
                                           const uint8_t *rgb, int n);
/* Frames recorded so far. */
VS_API long vs_backbone_calib_frames(const vs_backbone_calib *c);
/* Fix the clipping value of each activation: the given percentile of |x| over every
 * recorded value (0 < percentile <= 100; 100 = the maximum). VS_ERR_INVALID_ARG
 * before any frame. */
VS_API vs_status vs_backbone_calib_finish(vs_backbone_calib *c, double percentile);
/* Save (atomic) / load. Load checks the kind, backbone and weights hash. */
VS_API vs_status vs_backbone_calib_save(const vs_backbone_calib *c, const char *path);
VS_API vs_status vs_backbone_calib_load(vs_backbone_calib **out, const vs_backbone *bb,
                                        const char *path);
/* Fingerprint of the clipping values (part of an int8 model id). */
VS_API uint32_t vs_backbone_calib_hash(const vs_backbone_calib *c);
/* The percentile it was finished with, and its frame count. */
VS_API double vs_backbone_calib_percentile(const vs_backbone_calib *c);
VS_API void vs_backbone_calib_free(vs_backbone_calib *c);

#ifdef __cplusplus
}
#endif

#endif
