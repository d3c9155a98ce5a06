/*
 * simmodel_internal.h - private structures of the similarity model: the parameter
 * table (name, shape, named pointer into one contiguous block, llm.c style), the
 * per-pair activation cache that forward fills and backward will read, and the
 * per-thread state. Tests and the training module include this; tools/ must not.
 */
#ifndef VS_SIMMODEL_INTERNAL_H
#define VS_SIMMODEL_INTERNAL_H

#include "core/internal.h"
#include "vidsim/simmodel.h"

enum { VS__SIM_VISIL = 0, VS__SIM_VISIL_F = 1 };

/* Comparator channel widths (VideoComparator, factor 1). */
#define VS__C1 32
#define VS__C2 64
#define VS__C3 128

/* Named pointers into the model's single parameter block. The order is the order of
 * the parameter table (and of the block). Gradients and AdamW moments will be parallel
 * blocks with the same layout. */
typedef struct vs__simw {
    float *att_W; /* [D,D]  attention.transform.weight */
    float *att_b; /* [D]    attention.transform.bias */
    float *att_u; /* [1,D]  attention.context_vector.weight */
    float *c1_w;  /* [32,1,3,3] */
    float *c1_b;  /* [32] */
    float *c2_w;  /* [64,32,3,3] */
    float *c2_b;  /* [64] */
    float *c3_w;  /* [128,64,3,3] */
    float *c3_b;  /* [128] */
    float *fc_w;  /* [1,128,1,1] */
    float *fc_b;  /* [1] */
} vs__simw;

#define VS__SIM_NPARAM 11
typedef struct vs__simparam {
    const char *name; /* state-dict key */
    int ndim;
    int64_t dims[4];
    long numel;
    long offset; /* floats from the block start */
} vs__simparam;

/* Fill the table for dimension D (attention rows omitted when !attention); returns the
 * number of entries and the total number of floats in *total. */
int vs__simmodel_param_table(vs__simparam *tab, int D, int attention, long *total);
/* Point w's members into block according to the table. */
void vs__simw_bind(vs__simw *w, float *block, int D, int attention);

struct vs_simmodel {
    int kind;      /* VS__SIM_* */
    int D;         /* 0 = any (visil_f, or no attention) */
    int attention; /* 1 when the attention tensors are present */
    float *params; /* one block, n_params floats (NULL for visil_f) */
    long n_params;
    vs__simw w;
};

/* Activations of one pair, bound into a worker's scratch block. Sizes: T,U = f2f
 * (after doubling), T2 = T/2, T4 = T2/2 (floor). Conv outputs are kept raw (before
 * mask/ReLU), as the backward pass needs them and the parity fixture stores them. */
typedef struct vs__simacts {
    int T, U, T2, U2, T4, U4;
    float *f2f;   /* [T,U] masked */
    float *conv1; /* [32,T,U] raw conv1 output */
    float *pool1; /* [32,T2,U2] maxpool(relu(mask(conv1))) */
    float *conv2; /* [64,T2,U2] raw */
    float *pool2; /* [64,T4,U4] */
    float *conv3; /* [128,T4,U4] raw */
    float *relu3; /* [128,T4,U4] relu(mask(conv3)) */
    float *raw;   /* [T4,U4] fconv output, masked (before Hardtanh) */
    unsigned char *rm0, *cm0, *rm1, *cm1, *rm2, *cm2; /* masks per level, NULL = none */
} vs__simacts;

/* Floats needed by one pair's activations (without im2col scratch). */
size_t vs__simacts_size(int T, int U);
/* Bind a's pointers into base (vs__simacts_size(T,U) floats); masks left NULL. */
void vs__simacts_bind(vs__simacts *a, float *base, int T, int U);
/* Comparator forward on a->f2f (already masked) with the masks set in a.
 * col: im2col scratch of vs__simcomp_col_size(T,U) floats. */
void vs__comparator_forward(vs__simacts *a, float *col, const vs__simw *w);
size_t vs__simcomp_col_size(int T, int U);

/* f2f of indexed videos: S [T,U] (row pitch ldS) = mean_o max_p <q[i,o], t[j,p]>.
 * Fast path: blocked cblas_sgemm into gemm [gemm_cap floats] + reductions. bf16 (first
 * argument of the forward functions): the GEMM in bfloat16 (nn.h vs__gemm_nt_bf16; the
 * training path, vs__f2f_forward_arg, is always float32). */
/* The mean of the query->target map and the transposed target->query map in one
 * pass of GEMM blocks (R <= 256). */
void vs__f2f_forward_sym(int bf16, float *S, int ldS, float *gemm, long gemm_cap, const float *q, int T,
                         const float *t, int U, int R, int D);
/* Both maps from one pass: A = f2f(q, t) [T,U], Bt = f2f(t, q) transposed [T,U]. */
void vs__f2f_forward_both(int bf16, float *A, float *Bt, int ldS, float *gemm, long gemm_cap, const float *q,
                          int T, const float *t, int U, int R, int D);
void vs__f2f_forward(int bf16, float *S, int ldS, float *gemm, long gemm_cap, const float *q, int T,
                     const float *t, int U, int R, int D);
/* The block grid of vs__f2f_forward for gemm_cap (which must be the same for every
 * block of one map): the number of blocks, and block b alone (GEMM into gemm, then
 * its reduction into S). Computing the blocks in any order or on any threads gives
 * the floats of vs__f2f_forward with that gemm_cap. */
int vs__f2f_n_blocks(int T, int U, int R, long gemm_cap);
void vs__f2f_forward_block(int bf16, float *S, int ldS, float *gemm, long gemm_cap, const float *q, int T,
                           const float *t, int U, int R, int D, int b);
/* The same, also recording the argmax target region of every (i, o, j) in
 * amax [T,R,U] (NULL = not wanted): the training forward keeps it for backward. */
void vs__f2f_forward_arg(float *S, int ldS, unsigned char *amax, float *gemm, long gemm_cap,
                         const float *q, int T, const float *t, int U, int R, int D);
/* Backward of the f2f map through the recorded argmax: dq [T,R,D] and dt [U,R,D]
 * accumulate (+=; they may alias when q and t are the same video), dS [T,U] (pitch ldS). */
void vs__f2f_backward(float *dq, float *dt, const float *dS, int ldS, const unsigned char *amax,
                      const float *q, int T, const float *t, int U, int R, int D);
/* Plain reference: triple loop, no BLAS. */
void vs__f2f_forward_ref(float *S, int ldS, const float *q, int T, const float *t, int U, int R,
                         int D);
/* Mean over valid rows of max over valid columns of (scale*h(V) + shift), h = Hardtanh
 * when clamp, else identity; masks may be NULL (all valid). */
/* ViSiL_f's video Chamfer of a map [T,U] (row stride ld) with temporal weight w
 * (vs_simmodel_params.temporal; ignored when T or U is below 3): rows (mean of row maxima)
 * or by_cols (mean of column maxima). row_lev [T] / col_lev [U] (NULL: none): frame levels
 * subtracted from every cell of their row / column first (vs_simvideo.lev). w = 0, ld = U and
 * no levels: the plain Chamfer. */
float vs__visil_f_chamfer(const float *S, int T, int U, int ld, float w, int by_cols, const float *row_lev,
                          const float *col_lev);
float vs__video_chamfer(const float *V, int T, int U, const unsigned char *rm,
                        const unsigned char *cm, int clamp, float scale, float shift);

/* Per-thread scratch of one worker. */
typedef struct vs__simwork {
    float *buf;            /* activations block */
    size_t buf_cap;        /* floats */
    float *col;            /* im2col scratch */
    size_t col_cap;
    float *gemm;           /* f2f GEMM block */
    size_t gemm_cap;
    float *f2f0;           /* f2f before the doubling of short videos [T,U] */
    size_t f2f0_cap;
    float *f2f;            /* f2f of the pair [Te,Ue] (after doubling) */
    size_t f2f_cap;
    float *rawf;           /* comparator output assembled from bands [Te/4, Ue/4] */
    size_t rawf_cap;
    vs__simacts acts;      /* the last pair (or band) computed by this worker */
    float *dbuf;           /* backward: activation gradients of one pair */
    size_t dbuf_cap;
    float *dxi;            /* backward: this worker's dL/d(indexed features) [B,T,R,D] */
    size_t dxi_cap;
    float *dgrad;          /* backward: this worker's parameter gradients [n_params] */
    size_t dgrad_cap;
    const float *score_map; /* map the video Chamfer reads: raw output, or f2f (visil_f) */
    int score_rows, score_cols;
    int score_T, score_U;   /* visil_f: the pair's own frame counts (score_map's top-left block
                               [score_T, score_U] of row stride score_cols is the untiled f2f) */
} vs__simwork;

/* Cache of vs_simmodel_forward_batch for the backward pass. */
typedef struct vs__simbatch {
    int B, T, R, D;
    float *block; size_t cap;  /* everything below lives in block */
    float *xi;      /* [B,T,R,D] indexed (attention-weighted, padded frames zeroed) */
    float *att_a;   /* [B,T,R] attention weights */
    float *att_h;   /* [B,T,R,D] tanh(Wx+b) */
    float *regs;    /* [B*B] L_reg of each pair */
    float *acts;    /* B*B pair activation blocks of pair_floats each, pair = a*B + b */
    size_t pair_floats;
    unsigned char *masks; size_t mcap; /* [B,T], then [B,T/2], [B,T/4] (pooled) */
    unsigned char *amax; size_t amax_cap; /* [B*B][T,R,T] f2f argmax target regions */
} vs__simbatch;

struct vs_simmodel_state {
    const vs_simmodel *m;
    vs_simmodel_params p;
    int n_work;
    vs__simwork *work;  /* [n_work] */
    float *att_h;       /* attention cache for vs_simmodel_index */
    size_t att_h_cap;
    vs__simbatch batch;
};

/* The activations of the last vs_simmodel_pair on this state (worker 0). */
const vs__simacts *vs__simmodel_last_acts(const vs_simmodel_state *st);
/* Pair activations cached by the last vs_simmodel_forward_batch (pair = a*B + b). */
const vs__simacts *vs__simmodel_batch_acts(const vs_simmodel_state *st, int a, int b,
                                           vs__simacts *tmp);

/* Backward of the last vs_simmodel_forward_batch on st: given dL/dsims [B,B] (row =
 * query, training scale) and dL/d(reg_loss), ACCUMULATE dL/dparams into grad (same
 * layout as m->params, n_params floats). x is the raw input [B,T,R,D] given to the
 * forward (the attention backward needs it). Pairs are spread over the state's
 * workers (each with private accumulators, summed in worker order: the result is
 * deterministic for a given n_threads). */
vs_status vs__simmodel_backward_batch(vs_simmodel_state *st, float *grad, const float *dsims,
                                      float dreg, const float *x);

/* Run fn(ctx, w) for w = 0..nw-1, worker 0 on the calling thread, the others on
 * threads started for this call (work is claimed through counters in ctx). */
typedef void (*vs__simpar_fn)(void *ctx, int worker);
void vs__simpar_run(int nw, vs__simpar_fn fn, void *ctx);

/* Grow an aligned float buffer to at least need floats (contents not kept). */
vs_status vs__simgrow(float **p, size_t *cap, size_t need);

#endif
