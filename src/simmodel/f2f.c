/*
 * f2f.c - the frame-to-frame similarity of ViSiL (ChamferSimilarity over regions,
 * axes [3,2] of the einsum 'iok,jpk->iopj'):
 *     S[i,j] = (1/R) sum_o max_p <q[i,o,:], t[j,p,:]>      (max over target regions,
 *                                                           mean over query regions)
 * and the final video-level Chamfer (mean over query rows of max over target columns,
 * with the reference's masked variant), and ViSiL_f's with its temporal weight (each cell
 * mixed with the mean of its diagonal run first: vs_simmodel_params.temporal; on the pair's
 * own frames, not a short video's repetition, and only when both have 3 frames or more).
 * Fast path: the region dot products of a block of query frames against a block of
 * target frames are one cblas_sgemm [Tb*R, D] x [D, Ub*R] into a bounded scratch block
 * (never the whole T*R x U*R product: that is the reference's memory hot spot), then
 * the max/mean reductions while the block is in cache. The plain triple loop is kept
 * as the reference the fast path is tested against.
 */
#include "simmodel/simmodel_internal.h"

#include "nn/nn.h"

#include <cblas.h>
#include <math.h>

/* G [M,N] (pitch ldc) = A [M,K] . B [N,K]^T: cblas_sgemm, or with bf16 the bfloat16
 * matmul (nn.h), falling back to sgemm if that fails at run time (never wrong numbers;
 * its availability is checked when the state is created). */
static void gemm_nt(int bf16, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                    int ldc) {
    if (bf16 && vs__gemm_nt_bf16(M, N, K, A, lda, B, ldb, C, ldc) == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
}

/* GEMM block sizes for a T x U pair within gemm_cap floats: up to 128 target frames
 * per block and as many query frames as fit; when the whole query fits, the target
 * block is widened. */
static void block_sizes(int T, int U, int R, long gemm_cap, int *bt_out, int *bu_out) {
    const long RR = (long)R * R;
    int bu = U < 128 ? U : 128;
    long bt_l = gemm_cap / (RR * bu);
    if (bt_l < 1) {
        bu = (int)(gemm_cap / RR);
        if (bu < 1) bu = 1;
        bt_l = 1;
    }
    int bt = bt_l < T ? (int)bt_l : T;
    if (bt == T) { /* whole query fits: widen the target block */
        long bu_l = gemm_cap / (RR * T);
        bu = bu_l < U ? (int)bu_l : U;
        if (bu < 1) bu = 1;
    }
    *bt_out = bt;
    *bu_out = bu;
}

/* Reduce a GEMM block G [bt*R, bu*R] (pitch ldG) into S rows: S[i, j] for i < bt,
 * j < bu (pitch ldS). */
VS__CLONES
static void reduce_block(float *S, int ldS, const float *G, int ldG, int bt, int bu, int R) {
    for (int i = 0; i < bt; i++) {
        float *s = S + (long)i * ldS;
        for (int j = 0; j < bu; j++) s[j] = 0.0f;
        for (int o = 0; o < R; o++) {
            const float *g = G + (long)(i * R + o) * ldG;
            for (int j = 0; j < bu; j++) {
                const float *gj = g + (long)j * R;
                float m = gj[0];
                for (int p = 1; p < R; p++) m = gj[p] > m ? gj[p] : m;
                s[j] += m;
            }
        }
        for (int j = 0; j < bu; j++) s[j] /= (float)R;
    }
}

/* reduce_block that also records, for every (query frame i, query region o, target
 * frame j), the target region p of the maximum (first one on ties) in amax
 * [T, R, U] (row pitch of the frame index: R*ldA, region pitch ldA). */
static void reduce_block_arg(float *S, int ldS, unsigned char *A, int ldA, const float *G,
                             int ldG, int bt, int bu, int R) {
    for (int i = 0; i < bt; i++) {
        float *s = S + (long)i * ldS;
        for (int j = 0; j < bu; j++) s[j] = 0.0f;
        for (int o = 0; o < R; o++) {
            const float *g = G + (long)(i * R + o) * ldG;
            unsigned char *ao = A + ((long)i * R + o) * ldA;
            for (int j = 0; j < bu; j++) {
                const float *gj = g + (long)j * R;
                float m = gj[0];
                int at = 0;
                for (int p = 1; p < R; p++)
                    if (gj[p] > m) { m = gj[p]; at = p; }
                ao[j] = (unsigned char)at;
                s[j] += m;
            }
        }
        for (int j = 0; j < bu; j++) s[j] /= (float)R;
    }
}

int vs__f2f_n_blocks(int T, int U, int R, long gemm_cap) {
    int bt, bu;
    block_sizes(T, U, R, gemm_cap, &bt, &bu);
    return ((T + bt - 1) / bt) * ((U + bu - 1) / bu);
}

/* Block b (row-major over the grid of block_sizes) of vs__f2f_forward_arg: the one
 * sgemm and reduction that every caller issues for it, whoever computes it, so the
 * map's floats do not depend on how the blocks are shared among threads (a GEMM of
 * other shapes may round differently: OpenBLAS picks its kernels by size). */
static void f2f_block(int bf16, float *S, int ldS, unsigned char *amax, float *gemm, const float *q, int T,
                      const float *t, int U, int R, int D, int bt, int bu, int b) {
    int nbu = (U + bu - 1) / bu;
    int i0 = b / nbu * bt, j0 = b % nbu * bu;
    int ni = T - i0 < bt ? T - i0 : bt, nj = U - j0 < bu ? U - j0 : bu;
    /* G [ni*R, nj*R] = Q[i0..] [ni*R, D] . T[j0..]^T [D, nj*R] */
    gemm_nt(bf16, ni * R, nj * R, D, q + (long)i0 * R * D, D, t + (long)j0 * R * D, D, gemm, nj * R);
    if (amax)
        reduce_block_arg(S + (long)i0 * ldS + j0, ldS, amax + (long)i0 * R * U + j0, U, gemm, nj * R, ni, nj, R);
    else
        reduce_block(S + (long)i0 * ldS + j0, ldS, gemm, nj * R, ni, nj, R);
}

void vs__f2f_forward_block(int bf16, float *S, int ldS, float *gemm, long gemm_cap, const float *q, int T,
                           const float *t, int U, int R, int D, int b) {
    int bt, bu;
    block_sizes(T, U, R, gemm_cap, &bt, &bu);
    f2f_block(bf16, S, ldS, NULL, gemm, q, T, t, U, R, D, bt, bu, b);
}

/* Every block in order: the whole map (and amax when wanted). */
static void f2f_all(int bf16, float *S, int ldS, unsigned char *amax, float *gemm, long gemm_cap,
                    const float *q, int T, const float *t, int U, int R, int D) {
    int bt, bu;
    block_sizes(T, U, R, gemm_cap, &bt, &bu);
    int nb = ((T + bt - 1) / bt) * ((U + bu - 1) / bu);
    for (int b = 0; b < nb; b++) f2f_block(bf16, S, ldS, amax, gemm, q, T, t, U, R, D, bt, bu, b);
}

void vs__f2f_forward(int bf16, float *S, int ldS, float *gemm, long gemm_cap, const float *q, int T,
                     const float *t, int U, int R, int D) {
    f2f_all(bf16, S, ldS, NULL, gemm, gemm_cap, q, T, t, U, R, D);
}

void vs__f2f_forward_arg(float *S, int ldS, unsigned char *amax, float *gemm, long gemm_cap,
                         const float *q, int T, const float *t, int U, int R, int D) {
    f2f_all(0, S, ldS, amax, gemm, gemm_cap, q, T, t, U, R, D); /* training: float32 */
}

/* Both directions from one GEMM block, G = the region dot products of query frame i
 * and target frame j: A[i,j] = (1/R) sum_o max_p G (query->target) and
 * Bt[i,j] = (1/R) sum_p max_o G (target->query, transposed); with Bt NULL, A gets
 * their mean. */
static void reduce_block_both(float *A, float *Bt, int ldS, const float *G, int ldG, int bt, int bu,
                              int R, float *colmax) {
    for (int i = 0; i < bt; i++) {
        float *s = A + (long)i * ldS, *sb = Bt ? Bt + (long)i * ldS : NULL;
        for (int j = 0; j < bu; j++) {
            float a = 0.0f, b = 0.0f;
            for (int p = 0; p < R; p++) colmax[p] = -INFINITY;
            for (int o = 0; o < R; o++) {
                const float *gj = G + (long)(i * R + o) * ldG + (long)j * R;
                float m = gj[0];
                for (int p = 0; p < R; p++) {
                    m = gj[p] > m ? gj[p] : m;
                    colmax[p] = gj[p] > colmax[p] ? gj[p] : colmax[p];
                }
                a += m;
            }
            for (int p = 0; p < R; p++) b += colmax[p];
            if (sb) {
                s[j] = a / (float)R;
                sb[j] = b / (float)R;
            } else {
                s[j] = 0.5f * (a / (float)R + b / (float)R);
            }
        }
    }
}

void vs__f2f_forward_both(int bf16, float *A, float *Bt, int ldS, float *gemm, long gemm_cap, const float *q,
                          int T, const float *t, int U, int R, int D) {
    float colmax[256];
    int bt, bu;
    block_sizes(T, U, R, gemm_cap, &bt, &bu);
    for (int i0 = 0; i0 < T; i0 += bt) {
        int ni = T - i0 < bt ? T - i0 : bt;
        for (int j0 = 0; j0 < U; j0 += bu) {
            int nj = U - j0 < bu ? U - j0 : bu;
            gemm_nt(bf16, ni * R, nj * R, D, q + (long)i0 * R * D, D, t + (long)j0 * R * D, D, gemm, nj * R);
            reduce_block_both(A + (long)i0 * ldS + j0, Bt ? Bt + (long)i0 * ldS + j0 : NULL, ldS, gemm,
                              nj * R, ni, nj, R, colmax);
        }
    }
}

void vs__f2f_forward_sym(int bf16, float *S, int ldS, float *gemm, long gemm_cap, const float *q, int T,
                         const float *t, int U, int R, int D) {
    vs__f2f_forward_both(bf16, S, NULL, ldS, gemm, gemm_cap, q, T, t, U, R, D);
}

void vs__f2f_forward_ref(float *S, int ldS, const float *q, int T, const float *t, int U, int R,
                         int D) {
    for (int i = 0; i < T; i++)
        for (int j = 0; j < U; j++) {
            double acc = 0.0;
            for (int o = 0; o < R; o++) {
                const float *qo = q + ((long)i * R + o) * D;
                double best = -INFINITY;
                for (int p = 0; p < R; p++) {
                    const float *tp = t + ((long)j * R + p) * D;
                    double d = 0.0;
                    for (int k = 0; k < D; k++) d += (double)qo[k] * tp[k];
                    if (d > best) best = d;
                }
                acc += best;
            }
            S[(long)i * ldS + j] = (float)(acc / R);
        }
}

/* Reference ChamferSimilarity with mask: invalid cells -> -inf, max over columns;
 * rows whose pooled mask is 0 count neither in the sum nor in the divisor. clamp
 * applies Hardtanh first; then v*scale + shift (training scale: 0.5, 0.5). */
float vs__video_chamfer(const float *V, int T, int U, const unsigned char *rm,
                        const unsigned char *cm, int clamp, float scale, float shift) {
    float sum = 0.0f;
    int nrows = 0;
    for (int i = 0; i < T; i++) {
        if (rm && !rm[i]) continue;
        const float *v = V + (long)i * U;
        float best = -INFINITY;
        int any = 0;
        for (int j = 0; j < U; j++) {
            if (cm && !cm[j]) continue;
            float x = v[j];
            if (clamp) x = x < -1.0f ? -1.0f : (x > 1.0f ? 1.0f : x);
            x = x * scale + shift;
            if (!any || x > best) best = x;
            any = 1;
        }
        if (!any) continue;
        sum += best;
        nrows++;
    }
    return sum / (float)nrows;
}

void vs__f2f_backward(float *dq, float *dt, const float *dS, int ldS, const unsigned char *amax,
                      const float *q, int T, const float *t, int U, int R, int D) {
    const float inv = 1.0f / (float)R;
    for (int i = 0; i < T; i++)
        for (int o = 0; o < R; o++) {
            const unsigned char *ao = amax + ((long)i * R + o) * U;
            const float *qo = q + ((long)i * R + o) * D;
            float *dqo = dq + ((long)i * R + o) * D;
            for (int j = 0; j < U; j++) {
                float g = dS[(long)i * ldS + j] * inv;
                if (g == 0.0f) continue;
                long tp = ((long)j * R + ao[j]) * D;
                const float *tv = t + tp;
                float *dtv = dt + tp;
                for (int k = 0; k < D; k++) {
                    dqo[k] += g * tv[k];
                    dtv[k] += g * qo[k];
                }
            }
        }
}

/* Cell (i, j) of S [T,U] less the frame levels of row i and column j (NULL: none). */
static inline float level_cell(const float *S, int ld, const float *rl, const float *cl, int i, int j) {
    float v = S[(long)i * ld + j];
    if (rl) v -= rl[i];
    if (cl) v -= cl[j];
    return v;
}

/* Cell (i, j) with temporal weight w: mixed with the mean of its diagonal run
 * (i-1, j-1), (i, j), (i+1, j+1) inside the map, each cell less its frame levels. */
static inline float diag_cell(const float *S, int T, int U, int ld, const float *rl, const float *cl, int i, int j,
                              float w) {
    const float c = level_cell(S, ld, rl, cl, i, j);
    if (w == 0.0f) return c;
    float sum = c;
    int n = 1;
    if (i > 0 && j > 0) sum += level_cell(S, ld, rl, cl, i - 1, j - 1), n++;
    if (i + 1 < T && j + 1 < U) sum += level_cell(S, ld, rl, cl, i + 1, j + 1), n++;
    return (1.0f - w) * c + w * (sum / (float)n);
}

float vs__visil_f_chamfer(const float *S, int T, int U, int ld, float w, int by_cols, const float *row_lev,
                          const float *col_lev) {
    /* a video shorter than the run (3 frames) has no diagonal run to check: plain Chamfer */
    if (T < 3 || U < 3) w = 0.0f;
    if (w == 0.0f && !by_cols && ld == U && !row_lev && !col_lev)
        return vs__video_chamfer(S, T, U, NULL, NULL, 0, 1.0f, 0.0f);
    /* the maximum over each row (by_cols: each column), then their mean */
    const int outer = by_cols ? U : T, inner = by_cols ? T : U;
    double sum = 0.0;
    for (int o = 0; o < outer; o++) {
        float m = -INFINITY;
        for (int x = 0; x < inner; x++) {
            float v = by_cols ? diag_cell(S, T, U, ld, row_lev, col_lev, x, o, w)
                              : diag_cell(S, T, U, ld, row_lev, col_lev, o, x, w);
            m = v > m ? v : m;
        }
        sum += m;
    }
    return (float)(sum / outer);
}
