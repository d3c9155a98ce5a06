/*
 * nn.h - private neural-network ops shared by the similarity model (and, later, the
 * hash model and training): forward kernels in llm.c style. Each op writes its outputs
 * first, takes cached intermediates next, inputs and weights after, dims last; every
 * buffer carries its shape in a comment. Layouts are PyTorch's (Linear weight [O,I],
 * Conv2d weight OIHW, feature maps CHW, row-major), so reference weights load as-is.
 *
 * Backward ops (end of this header) accumulate (+=) into input and parameter
 * gradients; the forward ops keep (or let the caller keep) what they need: attention
 * caches tanh(Wx+b); conv/pool/relu read the cached pre-activation inputs.
 *
 * Not here: batch norm, strides other than 1 for conv, padding other than zero.
 */
#ifndef VS_NN_NN_H
#define VS_NN_NN_H

#include "core/internal.h" /* VS__CLONES */

#include <stddef.h>

/* C [M,N] (pitch ldc) = A [M,K] (pitch lda) . B [N,K]^T (pitch ldb), A and B rounded to
 * bfloat16, products summed in float32, through oneDNN's matmul (gemm_bf16.c). Returns
 * 0, or nonzero (C untouched) where unavailable: no oneDNN in the build, a CPU without
 * bf16 dot products (vs__gemm_bf16_available() == 0), or out of memory. Thread-safe. */
int vs__gemm_bf16_available(void);
int vs__gemm_nt_bf16(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                     int ldc);

/* y = x W^T + b.  out [N,n_out], inp [N,n_in], w [n_out,n_in], b [n_out] or NULL. One
 * cblas_sgemm. */
void vs__linear_forward(float *out, const float *inp, const float *w, const float *b, int N,
                        int n_in, int n_out);

/* ViSiL attention (S2VS, attention_norm=False):
 *   h = tanh(W x + b), a = sigmoid(u . h), out = a * x.
 * out [N,D] (may alias inp), a [N] (the attention weight), h [N,D] (cache for
 * backward; required scratch), inp [N,D], W [D,D], b [D], u [D]. */
void vs__visil_attention_forward(float *out, float *a, float *h, const float *inp,
                                 const float *W, const float *b, const float *u, int N, int D);

/* 2-D convolution (cross-correlation, no kernel flip), stride 1, zero padding
 * pad = (K-1)/2 on every side, so the output keeps the input size.
 * out [O,H,W], col scratch of vs__conv2d_col_size() floats (unused when K == 1 or
 * C == 1; may be NULL then), inp [C,H,W], w [O,C,K,K] (OIHW), b [O] or NULL. K is 1 or 3.
 * C == 1 runs a direct loop; otherwise im2col + cblas_sgemm. */
void vs__conv2d_forward(float *out, float *col, const float *inp, const float *w, const float *b,
                        int C, int H, int W, int O, int K);
/* Size in floats of the col scratch vs__conv2d_forward needs (bounded: im2col runs
 * over bands of output rows, at most ~1M floats). */
size_t vs__conv2d_col_size(int C, int H, int W, int K);
/* The same op as direct loops over taps (no scratch), vectorised over x. */
void vs__conv2d_forward_direct(float *out, const float *inp, const float *w, const float *b,
                               int C, int H, int W, int O, int K);
/* Plain reference (six nested loops) of the same op, for tests. */
void vs__conv2d_forward_ref(float *out, const float *inp, const float *w, const float *b, int C,
                            int H, int W, int O, int K);

/* The comparator's "mask, ReLU, 2x2 max-pool (stride 2, floor)" step, fused:
 *   out[c,i,j] = max over the 2x2 window at (2i,2j) of (rm[y] && cm[x] ? max(inp,0) : 0)
 * out [C,H/2,W/2], inp [C,H,W], rm [H] / cm [W] 0/1 row and column masks or NULL
 * (all ones). Without masks this is exactly maxpool2d(relu(inp)). */
void vs__mask_relu_maxpool2_forward(float *out, const float *inp, const unsigned char *rm,
                                    const unsigned char *cm, int C, int H, int W);
/* Plain max-pool 2x2 stride 2 floor. out [C,H/2,W/2], inp [C,H,W]. */
void vs__maxpool2_forward(float *out, const float *inp, int C, int H, int W);
/* 1-D mask pooling matching max_pool2d on an outer-product mask: out [n/2], inp [n]. */
void vs__mask_pool2(unsigned char *out, const unsigned char *inp, int n);

/* out = relu(inp) masked: out[c,y,x] = rm[y] && cm[x] ? max(inp,0) : 0.
 * out [C,H,W] (may alias inp), masks as above or NULL. */
void vs__mask_relu_forward(float *out, const float *inp, const unsigned char *rm,
                           const unsigned char *cm, int C, int H, int W);
/* out[y,x] = rm[y] && cm[x] ? inp : 0, one channel; may alias. */
void vs__mask_apply(float *out, const float *inp, const unsigned char *rm,
                    const unsigned char *cm, int H, int W);

/* Hardtanh: out = clamp(inp, -1, 1); n elements, may alias. */
void vs__hardtanh_forward(float *out, const float *inp, long n);
/* ReLU: out = max(inp, 0); n elements, may alias. */
void vs__relu_forward(float *out, const float *inp, long n);

/* ------------------------------------------------------------------ backward
 * Every backward op ACCUMULATES (+=) into its input and parameter gradients; any
 * gradient pointer may be NULL when not wanted. */

/* Backward of vs__conv2d_forward. dinp [C,H,W], dw [O,C,K,K], db [O] (+=),
 * col scratch of vs__conv2d_backward_col_size() floats (NULL when C == 1 or K == 1),
 * dout [O,H,W], inp [C,H,W] (the forward input), w [O,C,K,K]. */
void vs__conv2d_backward(float *dinp, float *dw, float *db, float *col, const float *dout,
                         const float *inp, const float *w, int C, int H, int W, int O, int K);
size_t vs__conv2d_backward_col_size(int C, int H, int W, int K);
/* Plain reference of the same (nested loops), for tests. */
void vs__conv2d_backward_ref(float *dinp, float *dw, float *db, const float *dout,
                             const float *inp, const float *w, int C, int H, int W, int O,
                             int K);

/* Backward of vs__mask_relu_maxpool2_forward: dinp [C,H,W] +=, dout [C,H/2,W/2],
 * inp [C,H,W] the pre-activation input the forward read. */
void vs__mask_relu_maxpool2_backward(float *dinp, const float *dout, const float *inp,
                                     const unsigned char *rm, const unsigned char *cm, int C,
                                     int H, int W);

/* Backward of vs__visil_attention_forward (see attention.c for the formulas).
 * dinp [N,D] or NULL, dW [D,D], db [D], du [D] (all +=), scratch [N,D],
 * dout [N,D], inp [N,D], a [N], h [N,D], W [D,D], u [D]. */
void vs__visil_attention_backward(float *dinp, float *dW, float *db, float *du, float *scratch,
                                  const float *dout, const float *inp, const float *a,
                                  const float *h, const float *W, const float *u, int N, int D);

#endif
