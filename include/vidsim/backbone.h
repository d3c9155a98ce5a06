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

typedef struct vs_backbone_params {
    int input_size;   /* frame side in pixels (default 224); any size >= 75 works */
    int max_batch;    /* frames per forward call (default 16) */
    int n_threads;    /* threads for this state (default 1) */
    int engine;       /* convolution engine: VS_BACKBONE_ENGINE_* (default AUTO) */
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

#ifdef __cplusplus
}
#endif

#endif
