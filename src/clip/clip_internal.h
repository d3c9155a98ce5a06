/*
 * clip_internal.h - private pieces of the 3D-CSL-F clip model: the parameter table (names,
 * shapes, offsets into one contiguous float block; gradients and AdamW moments use the
 * same layout), the weight structs bound into a block, and the forward/backward passes
 * of the encoder, the PredMAE decoder and the losses. Layer functions follow nn/: outputs
 * first, then caches, inputs, weights, dims last; backward passes ACCUMULATE.
 *
 * Dimension letters: B clips in a batch, N tokens per clip (1 CLS + Nt tokens), F frames
 * per clip, R regions per frame, D region dims, C width, M MLP width, K segments.
 */
#ifndef VS_CLIP_INTERNAL_H
#define VS_CLIP_INTERNAL_H

#include "vidsim/clipmodel.h"
#include "core/internal.h"
#include "nn/transformer.h"

#define VS__CLIP_MAX_DEPTH 16
#define VS__CLIP_LN_EPS 1e-6f

/* One named parameter of the table. */
typedef struct vs__clipparam {
    char name[48];
    int ndim;
    int64_t dims[2];
    long numel;
    long offset;     /* floats from the block start */
    int decay;       /* 1 = weight decay applies (matrices), 0 = biases, norms, embeddings */
    int decoder;     /* 1 = PredMAE decoder (not in exported models) */
    int init;        /* 0 zeros, 1 ones, 2 trunc-normal(0.02) */
} vs__clipparam;

/* Parameters of encoder (+ decoder) bound into a block (gradients: same struct). */
typedef struct vs__clipw {
    float *embed_w, *embed_b;     /* embed.weight [C,D], embed.bias [C] */
    float *pos_s, *pos_t, *cls;   /* pos_space [R,C], pos_time [F,C], cls_token [C] */
    vs__block_w blk[VS__CLIP_MAX_DEPTH];
    float *norm_w, *norm_b;       /* norm.weight/bias [C] */
    /* decoder (NULL in an encoder-only block) */
    float *dembed_w, *dembed_b;   /* decoder.embed.weight [C,C], .bias [C] */
    float *mask_tok;              /* decoder.mask_token [C] */
    float *dpos_s, *dpos_t;       /* decoder.pos_space [R,C], decoder.pos_time [F,C] */
    vs__block_w dblk[VS__CLIP_MAX_DEPTH];
    float *dnorm_w, *dnorm_b;     /* decoder.norm.weight/bias [C] */
    float *head_w, *head_b;       /* decoder.head.weight [D,C], .bias [D] */
} vs__clipw;

struct vs_clipmodel {
    vs_clipmodel_config cfg;      /* dec_depth = 0 for a loaded/exported model */
    long n_params;
    float *params;                /* [n_params] one block */
    vs__clipw w;
    char id[32];                  /* "3dcsl-f/<hash>", see vs_clipmodel_id */
    int meanpool;                 /* builtin "mean": no transformer, dim = D */
};

/* Checks a config; VS_ERR_INVALID_ARG with a message otherwise. */
vs_status vs__clip_check_config(const vs_clipmodel_config *c);
/* Fill tab (NULL = count only); returns the number of entries, *total floats. With
 * decoder = 0 the decoder entries are left out. */
int vs__clip_param_table(vs__clipparam *tab, const vs_clipmodel_config *c, int decoder,
                         long *total);
/* Point w's fields into block (laid out by the table with the same decoder flag). */
void vs__clip_bind(vs__clipw *w, float *block, const vs_clipmodel_config *c, int decoder);
/* Initialise a block: trunc-normal(0.02) matrices and embeddings, zero biases, unit norms. */
vs_status vs__clip_init(float *block, const vs_clipmodel_config *c, int decoder, uint64_t seed);
vs__block_dims vs__clip_block_dims(const vs_clipmodel_config *c);
/* Model object around a copy of the encoder part of block (laid out with decoder flag). */
vs_status vs__clipmodel_from_block(vs_clipmodel **out, const vs_clipmodel_config *c,
                                   const float *block, int decoder);

/* ---------------------------------------------------------------- clips */

/* max(1, round(T/F)) with Python's round (half to even); 0 if T < 1. */
int vs__clip_count(int T, int F);

/* Gather clip c of a T-frame video into out [F*R, D] (frame-major tokens), padding a
 * short clip by repeating its frames cyclically. x [T,R,D]. */
void vs__clip_gather(float *out, const float *x, int T, int R, int D, int F, int c);

/* ---------------------------------------------------------------- encoder */

/* Activations of an encoder pass over B clips of Nt tokens each (N = Nt + 1). */
typedef struct vs__clipenc_cache {
    int Bmax, Nmax;               /* capacity */
    float *h0;                    /* [B,N,C] embedded tokens (block 0 input) */
    float *hs[VS__CLIP_MAX_DEPTH];/* [B,N,C] block outputs */
    vs__block_cache bc[VS__CLIP_MAX_DEPTH];
    float *ln, *ln_mean, *ln_rstd;/* [B,N,C], [BN], [BN] final LayerNorm */
    float *buf;                   /* the one allocation */
} vs__clipenc_cache;

vs_status vs__clipenc_cache_create(vs__clipenc_cache *c, const vs_clipmodel_config *cfg, int B,
                                   int N);
void vs__clipenc_cache_free(vs__clipenc_cache *c);

/* Token embedding: h [B,1+Nt,C]: h[b,0] = cls; h[b,1+i] = x[b,i] We^T + be
 * + pos_s[rpos[b,i]] + pos_t[tpos[b,i]]. x [B,Nt,D], tpos/rpos [B,Nt]. */
void vs__clip_embed_forward(float *h, const float *x, const int *tpos, const int *rpos,
                            const vs__clipw *w, int B, int Nt, int D, int C);
/* Gradients of the embedding parameters from dh [B,1+Nt,C] (+=). */
void vs__clip_embed_backward(const vs__clipw *g, const float *dh, const float *x,
                             const int *tpos, const int *rpos, int B, int Nt, int D, int C);

/* Encoder: c->ln [B,N,C] = final LayerNorm of every token after the blocks. */
void vs__clipenc_forward(vs__clipenc_cache *c, const float *x, const int *tpos, const int *rpos,
                         const vs__clipw *w, const vs_clipmodel_config *cfg, int B, int Nt);
/* Backward from dln [B,N,C] (gradient of c->ln) into the gradients g (+=). scratch of
 * vs__clipenc_scratch_floats() floats. */
size_t vs__clipenc_scratch_floats(const vs_clipmodel_config *cfg, int B, int N);
void vs__clipenc_backward(const vs__clipw *g, float *scratch, const float *dln, const float *x,
                          const int *tpos, const int *rpos, const vs__clipenc_cache *c,
                          const vs__clipw *w, const vs_clipmodel_config *cfg, int B, int Nt);

/* Clip vectors before normalisation: out [B,C] = the CLS row (pool CLS) or the mean of
 * rows 1..N-1 (pool MEAN) of ln [B,N,C]. Backward: dln [B,N,C] += the matching spread
 * of dout [B,C]. */
void vs__clip_pool_forward(float *out, const float *ln, int B, int N, int C, int pool);
void vs__clip_pool_backward(float *dln, const float *dout, int B, int N, int C, int pool);

/* ---------------------------------------------------------------- PredMAE decoder */

/* Decoder pass over B clips: encoder tokens e [B,1+Nv,C] (final-LN output; visible token
 * i of clip b sits at grid position vpos[b,i] = t*R + r), masked positions mpos [B,Nm].
 * z = full sequence [B,1+F*R,C], blocks, LayerNorm, head on the masked rows:
 * pred [B,Nm,D]. */
typedef struct vs__clipdec_cache {
    float *de;                    /* [B,1+Nv,C] decoder.embed output */
    float *z;                     /* [B,NF,C] decoder input, NF = 1 + F*R */
    float *hs[VS__CLIP_MAX_DEPTH];/* [B,NF,C] block outputs */
    vs__block_cache bc[VS__CLIP_MAX_DEPTH];
    float *ln, *ln_mean, *ln_rstd;/* [B,NF,C] ... */
    float *lnm;                   /* [B,Nm,C] LN rows at the masked positions */
    float *buf;
} vs__clipdec_cache;

vs_status vs__clipdec_cache_create(vs__clipdec_cache *c, const vs_clipmodel_config *cfg, int B,
                                   int Nv, int Nm);
void vs__clipdec_cache_free(vs__clipdec_cache *c);
void vs__clipdec_forward(float *pred, vs__clipdec_cache *c, const float *e, const int *vpos,
                         const int *mpos, const vs__clipw *w, const vs_clipmodel_config *cfg,
                         int B, int Nv, int Nm);
size_t vs__clipdec_scratch_floats(const vs_clipmodel_config *cfg, int B, int Nv, int Nm);
/* de [B,1+Nv,C] += dL/de; g +=. */
void vs__clipdec_backward(float *de_grad, const vs__clipw *g, float *scratch, const float *dpred,
                          const float *e, const int *vpos, const int *mpos,
                          const vs__clipdec_cache *c, const vs__clipw *w,
                          const vs_clipmodel_config *cfg, int B, int Nv, int Nm);

/* ---------------------------------------------------------------- losses */

/* PredMAE loss over n predicted tokens: mse = 0: mean_i (1 - cos(pred_i, tgt_i));
 * mse = 1: mean over all n*D elements of (pred - tgt)^2. dpred [n,D] += dL/dpred (may be
 * NULL). Returns L. */
double vs__predmae_loss(float *dpred, const float *pred, const float *tgt, long n, int D,
                        int mse);

/* Row-wise L2 normalisation out [n,d] = x / |x| (norms [n] cached); backward:
 * dx += (dout - out <out,dout>) / |x|. */
void vs__l2norm_forward(float *out, float *norms, const float *x, long n, int d);
void vs__l2norm_backward(float *dx, const float *dout, const float *out, const float *norms,
                         long n, int d);

/* Top-k Chamfer of q [nq,d] against t [nt,d] (unit rows not required: plain dot
 * products): mean of the min(k,nq) largest row maxima. dq/dt (+=, may be NULL) get
 * g * ds/dq, g * ds/dt. */
float vs__topk_chamfer(const float *q, int nq, const float *t, int nt, int d, int k);
void vs__topk_chamfer_backward(float *dq, float *dt, float g, const float *q, int nq,
                               const float *t, int nt, int d, int k);

/* FCS loss on clip vectors V [n,d] (unit rows) grouped in 2K segments: segment s has rows
 * [off[s], off[s+1]); segments 0..K-1 are anchors, K+i is the positive of anchor i and
 * has the same clip count; vid[s] the source video of segment s (a negative must come
 * from another video).
 *   L = 1/K sum_i max(0, margin + max_{s: vid[s] != vid[i]} S(A_i, X_s) - S(A_i, P_i))
 *     + clip_weight / nA sum_{anchor clips a} max(0, margin + max_{n} <a,n> - <a,p(a)>)
 * with S the top-k Chamfer (k = VS_CLIP_TOPK), p(a) the clip at the same place in the
 * positive, n over clips of segments of other videos. dV [n,d] += dL/dV (may be NULL).
 * *seg_loss / *clip_loss (may be NULL) receive the two terms (unweighted). */
double vs__fcs_loss(float *dV, const float *V, const int *off, const int *vid, int K, int d,
                    float margin, float clip_weight, double *seg_loss, double *clip_loss);

/* splitmix64 step and a uniform double in [0,1). */
uint64_t vs__clip_rng(uint64_t *s);
double vs__clip_uniform(uint64_t *s);

#endif
