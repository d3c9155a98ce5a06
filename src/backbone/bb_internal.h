/*
 * bb_internal.h - private types of the backbone module: the fused graph (one node per
 * conv+BN+activation chain, pool, concat or add), the per-size geometry a state plans
 * for, and the kernels in ops.c. Only src/backbone/ includes this.
 *
 * Layout everywhere: NHWC float. A node's output rows are pixels (B*H*W of them), each
 * row holding C floats at a row pitch `ld` >= C (ld > C when a node writes straight
 * into its slice of a Concatenate output).
 */
#ifndef VS_BACKBONE_BB_INTERNAL_H
#define VS_BACKBONE_BB_INTERNAL_H

#include "core/internal.h"
#include "vidsim/backbone.h"

enum { BB_INPUT, BB_CONV, BB_DWCONV, BB_MAXPOOL, BB_AVGPOOL, BB_CONCAT, BB_ADD };
enum { BB_ACT_NONE, BB_ACT_RELU, BB_ACT_RELU6 };
enum { BB_PAD_VALID, BB_PAD_SAME, BB_PAD_TFSAME_ZP }; /* ZP: ZeroPadding2D + 'valid' conv */
#define BB_MAX_IN 8

/* One fused node of the graph (read-only after load). */
typedef struct bb_node {
    char *name;             /* name of the last Keras layer folded into this node */
    int op;                 /* BB_* */
    int n_in, in[BB_MAX_IN]; /* producer node indices (earlier in the array) */
    int kh, kw, sh, sw;     /* kernel / pool window and strides */
    int pad;                /* BB_PAD_* */
    int zp[4];              /* ZeroPadding2D pads t,b,l,r as stored (native size) */
    int act;                /* BB_ACT_* epilogue */
    int cin, cout;          /* channels in / out */
    float *w;               /* conv: [kh*kw*cin, cout]; dwconv: [kh*kw, cout]; BN folded */
    float *b;               /* [cout] folded bias */
    int n_consumers;        /* nodes reading this one */
} bb_node;

struct vs_backbone {
    char *path;
    char *name;               /* "inception_v3" | "mobilenet_v2" */
    int native_size;          /* input size of the Keras graph (299 / 224) */
    int n_nodes;
    bb_node *nodes;           /* topological order; nodes[0] is the input */
    float *params;            /* one block: every folded w and b (aligned) */
    size_t n_params;
    const char *const *taps;  /* static, NULL-terminated */
    int n_taps;
    int *tap_node;            /* [n_taps] node index of each tap */
};

/* INT8 calibration (calib.c): ranges of the activations convolutions read. */
#define BB_CAL_BINS 16384 /* |x| histogram bin = float bits >> 17 (1/64 octave) */
struct vs_backbone_calib {
    const vs_backbone *bb;
    uint64_t weights_hash;    /* vs__bb_weights_hash(bb) */
    int n_nodes;
    int *slot;                /* [n_nodes] histogram row of a node a conv reads, else -1 */
    int n_slots;
    uint64_t *hist;           /* [n_slots, BB_CAL_BINS] */
    float *vmax, *vmin;       /* [n_nodes] observed max / min (0 for other nodes) */
    float *clip;              /* [n_nodes] clipping value of |x| (finish / load) */
    long frames;
    double percentile;        /* 0 until finished */
};

/* FNV-1a 64 of the folded parameters: identifies the weights a calibration is for. */
uint64_t vs__bb_weights_hash(const vs_backbone *bb);
/* 1 if conv node i of an INT8 state runs in BF16 instead (calib.c): the convs before
 * the first concat/add, whose int8 error the features are most sensitive to. */
int vs__bb_int8_in_bf16(const vs_backbone *bb, int i);
/* 1 if node i is read by a Conv2D/DepthwiseConv2D node. */
int vs__bb_feeds_conv(const vs_backbone *bb, int i);
/* Record node i's output of one forward: rows x c floats at pitch ld. */
void vs__bb_calib_observe(vs_backbone_calib *c, int i, const float *x, long rows, int ch, int ld);

/* Geometry of one node at a given input size. */
typedef struct bb_geom {
    int h, w, c;              /* output spatial size and channels */
    int pt, pb, pl, pr;       /* padding applied to the input (conv / pools) */
} bb_geom;

/* Shape inference for input size S (square). geom: [n_nodes]. VS_ERR_INVALID_ARG
 * if some layer's output would be empty. */
vs_status vs__bb_infer(bb_geom *geom, const vs_backbone *bb, int S);

/* TF 'same' padding for one axis: total = max((ceil(in/s)-1)*s + k - in, 0),
 * before = total/2. Returns the output size. */
int vs__bb_same_pad(int *before, int *after, int in, int k, int s);

/* ---- kernels (ops.c). Rows are [r0, r1) of the op's natural row space. ---- */

/* Output rows = B*OH*OW pixels; one GEMM tile. A: im2col scratch, >= (r1-r0)*K floats
 * (unused for 1x1/stride-1/unpadded convs, which read x directly). */
void vs__bb_conv_tile(float *out, int ldo, float *scratch, const float *x, const bb_node *nd,
                      const bb_geom *gi, const bb_geom *go, long r0, long r1);
/* Output rows = B*OH lines of OW pixels. */
void vs__bb_dwconv_rows(float *out, int ldo, const float *x, const bb_node *nd,
                        const bb_geom *gi, const bb_geom *go, long r0, long r1);
void vs__bb_maxpool_rows(float *out, int ldo, const float *x, const bb_node *nd,
                         const bb_geom *gi, const bb_geom *go, long r0, long r1);
/* Average over in-image taps only (TF/Keras count_include_pad = false). */
void vs__bb_avgpool_rows(float *out, int ldo, const float *x, const bb_node *nd,
                         const bb_geom *gi, const bb_geom *go, long r0, long r1);
/* Rows = pixels. out[:, 0:c] = a + b (a, b with pitch c). */
void vs__bb_add_rows(float *out, int ldo, const float *a, const float *b, int c, long r0,
                     long r1);
/* Rows = pixels. Copy x [rows, c] into out (pitch ldo). */
void vs__bb_copy_rows(float *out, int ldo, const float *x, int c, long r0, long r1);
/* Rows = pixels. Keras preprocessing x = p/127.5 - 1 of interleaved RGB. */
void vs__bb_preprocess(float *out, const uint8_t *rgb, long n);

/* oneDNN engine switches and counters (dnnl.c, backbone.c), for tests and A/B benches
 * (bench_backbone): process-wide, read when a state is created; no-ops (zeros) without
 * oneDNN. Fusion (default on): a low-precision conv whose readers are all convs of its
 * precision writes their u8/s8/bf16 input directly (no f32 output, no reorder); off: the
 * unfused path. Partial batches: 1 (default) power-of-two batch primitives in states with
 * more than one thread, 2 in every state, 0 in none (max_batch and batch 1 only: n <
 * max_batch frames run n batch-1 calls per conv). Stats: convs that write their readers'
 * input (fused) and conv primitive executions of the last forward pass. */
void vs__bb_dnnl_set_fusion(int on);
void vs__bb_dnnl_set_partial(int mode);
void vs__backbone_dnnl_stats(const vs_backbone_state *st, int *n_fused, long *n_exec);

#endif
