/*
 * transformer.h - generic transformer ops, forward AND backward, llm.c style: shared by
 * the ConMH hash model (src/hash), 3D-CSL and any other ViT-like model in vidsim.
 *
 * Conventions (same as nn.h):
 *   - outputs first, then caches, then inputs and weights, dims last; shapes in comments.
 *   - row-major, PyTorch layouts: Linear weight [out,in], y = x W^T + b.
 *   - every *_backward ACCUMULATES (+=) into ALL its gradient outputs, input gradients
 *     (dinp) included, so residual connections just add. Zero the gradient buffers
 *     yourself before a backward pass. Any gradient pointer may be NULL (not wanted).
 *   - B sequences of N tokens, embedding width C; attention with H heads of width hd, so
 *     the attention inner width is HD = H*hd, which need NOT equal C (timm/BEiT
 *     `attn_head_dim`, and ConMH's quirk: dim 64, 6 heads -> hd = 64//6 = 10, HD = 60;
 *     the real 'small' config: 256//6 = 42 -> 252). M = MLP hidden width (4*C usually).
 *   - float32 throughout; GEMMs via cblas_sgemm (OpenBLAS).
 *
 * Ops:
 *   vs__linear_backward      dinp += dout W, dW += dout^T inp, db += sum_rows dout
 *   vs__layernorm_forward    y = (x - mean) * rstd * w + b, rstd = 1/sqrt(var + eps),
 *                            biased variance (torch.nn.LayerNorm); caches mean, rstd [N]
 *   vs__gelu_forward         exact erf form 0.5 x (1 + erf(x/sqrt 2)) (nn.GELU())
 *   vs__softmax_forward      row softmax (max-subtracted)
 *   vs__attention_forward    timm/BEiT Attention: qkv = x Wqkv^T + cat(q_b, k_b, v_b)
 *                            (any bias NULL = zeros; BEiT/ConMH: k_b NULL), heads split
 *                            as reshape(B,N,3,H,hd); att = softmax(q k^T * hd^-0.5);
 *                            y = att v -> [B,N,HD]; out = y Wproj^T + bproj -> [B,N,C].
 *                            Optional key mask [B,N] (1 = real token, 0 = padding): a
 *                            padded key gets probability 0 (a query row whose keys are
 *                            all padding gives att = 0, output = bproj).
 *   vs__block_forward        pre-norm block, no dropout / drop-path / layer scale:
 *                              x1 = x + attn(ln1(x));  out = x1 + fc2(gelu(fc1(ln2(x1))))
 *
 * Using a block (see tests/gradcheck/test_grad_transformer.c for a complete example):
 *     vs__block_dims d = { .C = 64, .H = 6, .hd = 10, .M = 256, .eps = 1e-6f };
 *     vs__block_w w = { .ln1_w = ..., .qkv_w = ..., .q_b = ..., .k_b = NULL, ... };
 *     float *cbuf = malloc(vs__block_cache_floats(B, N, &d) * sizeof(float));
 *     vs__block_cache c; vs__block_cache_bind(&c, cbuf, B, N, &d);
 *     vs__block_forward(out, &c, x, &w, NULL, B, N, &d);          // out [B,N,C]
 *     // ... loss ..., then with dout [B,N,C] and a zeroed gradient struct g:
 *     float *scr = malloc(vs__block_scratch_floats(B, N, &d) * sizeof(float));
 *     vs__block_backward(dx, &g, scr, dout, x, &c, &w, NULL, B, N, &d);   // dx += ...
 * The cache must stay untouched between forward and backward; one cache per block (per
 * layer) in a deep model. Forward with a NULL cache is not allowed (use a scratch one
 * for inference; it is overwritten each call). Nothing here allocates or is stateful:
 * all functions are thread-safe on distinct buffers.
 *
 * Not here: dropout, drop-path, layer scale (gamma), relative position bias, causal
 * masks, learned positional embeddings (models add them themselves).
 */
#ifndef VS_NN_TRANSFORMER_H
#define VS_NN_TRANSFORMER_H

#include <stddef.h>

/* ------------------------------------------------------------------ elementary ops */

/* Backward of vs__linear_forward (y = x W^T + b):
 * dinp [N,n_in] += dout [N,n_out] . w [n_out,n_in]
 * dw [n_out,n_in] += dout^T . inp [N,n_in];  db [n_out] += sum over rows of dout.
 * Any of dinp, dw, db may be NULL. */
void vs__linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int N, int n_in, int n_out);

/* LayerNorm over the last dim. out [N,C] (may NOT alias inp), mean [N], rstd [N] (cache,
 * may be NULL for inference), inp [N,C], w [C], b [C] (either NULL = 1 / 0). */
void vs__layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, float eps, int N, int C);
/* dinp [N,C] += ..., dw [C] += ..., db [C] += ...; mean/rstd from the forward. */
void vs__layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                            const float *inp, const float *w, const float *mean,
                            const float *rstd, int N, int C);

/* GELU, exact erf form. out [n] (may alias inp), inp [n]. */
void vs__gelu_forward(float *out, const float *inp, long n);
/* dinp [n] += dout * gelu'(inp). inp is the forward INPUT. */
void vs__gelu_backward(float *dinp, const float *dout, const float *inp, long n);

/* Row softmax: out [N,C] (may alias inp), inp [N,C]. */
void vs__softmax_forward(float *out, const float *inp, int N, int C);
/* dinp [N,C] += out * (dout - sum_c dout*out), out = the forward output. */
void vs__softmax_backward(float *dinp, const float *dout, const float *out, int N, int C);

/* ------------------------------------------------------------------ attention */

/* Multi-head self-attention (see the header comment).
 * out [B,N,C]; caches: qkv [B,N,3*HD] (q|k|v, head, hd order, biases added, q NOT
 * scaled), att [B,H,N,N] (softmax probabilities), y [B,N,HD] (att.v, heads concatenated);
 * inp [B,N,C]; qkv_w [3*HD,C]; q_b, k_b, v_b [HD] or NULL; proj_w [C,HD]; proj_b [C] or
 * NULL; key_mask [B,N] bytes or NULL (all real). */
void vs__attention_forward(float *out, float *qkv, float *att, float *y, const float *inp,
                           const float *qkv_w, const float *q_b, const float *k_b,
                           const float *v_b, const float *proj_w, const float *proj_b,
                           const unsigned char *key_mask, int B, int N, int C, int H, int hd);
/* Floats of scratch vs__attention_backward needs. */
size_t vs__attention_scratch_floats(int B, int N, int C, int H, int hd);
/* Backward: dinp [B,N,C] +=, dqkv_w [3*HD,C] +=, dq_b/dk_b/dv_b [HD] +=, dproj_w [C,HD] +=,
 * dproj_b [C] +=; any may be NULL. scratch: vs__attention_scratch_floats() floats
 * (contents irrelevant). dout [B,N,C]; inp and the caches as given to / filled by the
 * forward; qkv_w, proj_w the weights. */
void vs__attention_backward(float *dinp, float *dqkv_w, float *dq_b, float *dk_b, float *dv_b,
                            float *dproj_w, float *dproj_b, float *scratch, const float *dout,
                            const float *inp, const float *qkv, const float *att, const float *y,
                            const float *qkv_w, const float *proj_w, int B, int N, int C, int H,
                            int hd);

/* ------------------------------------------------------------------ pre-norm block */

typedef struct vs__block_dims {
    int C;     /* embedding width */
    int H;     /* heads */
    int hd;    /* head width (HD = H*hd attention inner width) */
    int M;     /* MLP hidden width */
    float eps; /* LayerNorm eps (timm default 1e-6 via partial, torch default 1e-5) */
} vs__block_dims;

/* Parameters of one block (pointers into the model's parameter block), state-dict names
 * in comments. The same struct holds the gradients (same layout). Biases may be NULL. */
typedef struct vs__block_w {
    float *ln1_w, *ln1_b;   /* norm1.weight/bias [C] */
    float *qkv_w;           /* attn.qkv.weight [3*HD, C] */
    float *q_b, *k_b, *v_b; /* attn.q_bias, (none in BEiT), attn.v_bias [HD] */
    float *proj_w, *proj_b; /* attn.proj.weight [C, HD], .bias [C] */
    float *ln2_w, *ln2_b;   /* norm2.weight/bias [C] */
    float *fc1_w, *fc1_b;   /* mlp.fc1.weight [M, C], .bias [M] */
    float *fc2_w, *fc2_b;   /* mlp.fc2.weight [C, M], .bias [C] */
} vs__block_w;

/* Activations one block's forward keeps for its backward (BN = B*N rows). */
typedef struct vs__block_cache {
    float *ln1, *ln1_mean, *ln1_rstd; /* [BN,C], [BN], [BN] */
    float *qkv;                       /* [BN,3HD] */
    float *att;                       /* [B,H,N,N] */
    float *y;                         /* [BN,HD] attention output before proj */
    float *x1;                        /* [BN,C] after the attention residual */
    float *ln2, *ln2_mean, *ln2_rstd; /* [BN,C], [BN], [BN] */
    float *fc1;                       /* [BN,M] before GELU */
    float *gelu;                      /* [BN,M] after GELU */
} vs__block_cache;

/* Floats of one block cache for B sequences of N tokens. */
size_t vs__block_cache_floats(int B, int N, const vs__block_dims *d);
/* Point the cache's fields into buf (vs__block_cache_floats() floats). */
void vs__block_cache_bind(vs__block_cache *c, float *buf, int B, int N, const vs__block_dims *d);
/* Floats of scratch vs__block_backward needs. */
size_t vs__block_scratch_floats(int B, int N, const vs__block_dims *d);

/* out [B,N,C] (may NOT alias inp), c: the cache (filled), inp [B,N,C], w weights,
 * key_mask [B,N] or NULL. */
void vs__block_forward(float *out, vs__block_cache *c, const float *inp, const vs__block_w *w,
                       const unsigned char *key_mask, int B, int N, const vs__block_dims *d);
/* dinp [B,N,C] += dL/dinp; g: gradients (+=; NULL fields skipped; g itself may be NULL
 * for input gradients only); scratch: vs__block_scratch_floats() floats; dout [B,N,C];
 * inp, c, w, key_mask as in the forward (key_mask is not read: its effect is already in
 * c->att; pass the same pointer or NULL). Padded query tokens still produce outputs;
 * give them dout = 0 if they must not count. */
void vs__block_backward(float *dinp, const vs__block_w *g, float *scratch, const float *dout,
                        const float *inp, const vs__block_cache *c, const vs__block_w *w,
                        const unsigned char *key_mask, int B, int N, const vs__block_dims *d);

/* Fixed 1-D sinusoidal position table (BEiT/VideoMAE get_sinusoid_encoding_table):
 * out [n_pos, dim], angle = pos / 10000^(2*floor(j/2)/dim), sin on even j, cos on odd j;
 * computed in double, stored as float like the reference. */
void vs__sinusoid_table(float *out, int n_pos, int dim);

#endif
