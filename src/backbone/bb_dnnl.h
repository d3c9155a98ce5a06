/*
 * bb_dnnl.h - the optional oneDNN convolution path of the backbone (dnnl.c), used by
 * backbone.c when the build found oneDNN (VS_HAVE_DNNL) and the state asks for it.
 */
#ifndef VS_BACKBONE_BB_DNNL_H
#define VS_BACKBONE_BB_DNNL_H

#include "bb_internal.h"

#ifdef VS_HAVE_DNNL
typedef struct bb_dnnl bb_dnnl;

/* Primitives for every conv/dwconv node at geometry g (batch max_batch, 1 and, with
 * n_threads > 1, every power of two below max_batch), in precision prec
 * (VS_PRECISION_*; INT8 needs cal). */
vs_status vs__bb_dnnl_create(bb_dnnl **out, const vs_backbone *bb, const bb_geom *g,
                             int max_batch, int n_threads, int prec, const vs_backbone_calib *cal);
/* Start of a forward pass (converted activations of the last one are stale). */
void vs__bb_dnnl_begin(bb_dnnl *d);
/* oneDNN's effective ISA name; *vnni (if not NULL): it has int8 dot products. */
const char *vs__bb_dnnl_isa(int *vnni);
void vs__bb_dnnl_free(bb_dnnl *d);
/* For tests: convs that write their readers' converted input (fused), and conv
 * primitive executions of the last forward pass. */
void vs__bb_dnnl_stats(const bb_dnnl *d, int *n_fused, long *n_exec);
/* 1 if node i runs on oneDNN. */
int vs__bb_dnnl_has(const bb_dnnl *d, int i);
/* Run node i on n frames: x [n, in_frame floats] NHWC dense, out [n, out_frame] dense. */
vs_status vs__bb_dnnl_run(bb_dnnl *d, const vs_backbone *bb, int i, float *out, const float *x,
                          int n, size_t in_frame, size_t out_frame);
#endif

#endif
