/*
 * conv2d.c - stride-1 "same" 2-D convolution with zero padding, PyTorch semantics:
 *     out[o,y,x] = b[o] + sum_{c,ky,kx} w[o,c,ky,kx] * in[c, y+ky-p, x+kx-p],  p=(K-1)/2
 * (cross-correlation, OIHW weights, CHW maps). Used by the ViSiL video comparator as
 * F.pad(x, 1) followed by an unpadded Conv2d, which is the same thing.
 *   C == 1 (conv1):  direct loop, 9 taps per output, vectorised over x.
 *   K == 1 (fconv):  one GEMM, no im2col.
 *   otherwise:       im2col [C*K*K, rows*W] + one GEMM per band of output rows:
 *                    out[:, band] = w [O,CKK] . col (scratch bounded to ~4 MB).
 * A direct loop for C=32/64 was measured slower than im2col+GEMM (docs/simmodel.md).
 * Not here: strides, dilation, groups, other paddings.
 */
#include "nn/nn.h"

#include <cblas.h>
#include <string.h>

/* im2col works on bands of output rows so that its scratch stays bounded (about
 * 4 MB) however large the map is: one GEMM per band. */
#define COL_BUDGET (1L << 20) /* floats */

static int band_rows(int C, int H, int W, int K) {
    long per_row = (long)C * K * K * W;
    long r = per_row > 0 ? COL_BUDGET / per_row : H;
    if (r < 1) r = 1;
    return r < H ? (int)r : H;
}

size_t vs__conv2d_col_size(int C, int H, int W, int K) {
    if (K == 1 || C == 1) return 0;
    return (size_t)C * K * K * (size_t)band_rows(C, H, W, K) * W;
}

/* col [C*K*K, (y1-y0)*W]: row (c,ky,kx) holds the input shifted by (ky-p, kx-p) for
 * output rows [y0, y1), zeros outside the map. */
static void im2col(float *col, const float *inp, int C, int H, int W, int K, int y0, int y1) {
    const int p = (K - 1) / 2;
    const long NB = (long)(y1 - y0) * W;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                float *dst = col + ((long)(c * K + ky) * K + kx) * NB;
                const int dy = ky - p, dx = kx - p;
                int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? W - dx : W; /* valid x range */
                for (int y = y0; y < y1; y++) {
                    float *d = dst + (long)(y - y0) * W;
                    int sy = y + dy;
                    if (sy < 0 || sy >= H || x1 <= x0) {
                        memset(d, 0, sizeof(float) * (size_t)W);
                        continue;
                    }
                    const float *s = inp + ((long)c * H + sy) * W + dx;
                    for (int x = 0; x < x0; x++) d[x] = 0.0f;
                    memcpy(d + x0, s + x0, sizeof(float) * (size_t)(x1 - x0));
                    for (int x = x1; x < W; x++) d[x] = 0.0f;
                }
            }
}

/* Direct taps: for every output row, accumulate C*K*K shifted input rows (vectorised
 * over x). out [O,H,W]. Used for C == 1; for C > 1 it is kept for the measurement in
 * bench/bench_simmodel.c (im2col+GEMM wins there). */
VS__CLONES
void vs__conv2d_forward_direct(float *out, const float *inp, const float *w, const float *b,
                               int C, int H, int W, int O, int K) {
    const int p = (K - 1) / 2;
    for (int o = 0; o < O; o++) {
        float *oo = out + (long)o * H * W;
        float bo = b ? b[o] : 0.0f;
        for (int y = 0; y < H; y++) {
            float *d = oo + (long)y * W;
            for (int x = 0; x < W; x++) d[x] = 0.0f;
            for (int c = 0; c < C; c++) {
                const float *wo = w + ((long)o * C + c) * K * K;
                for (int ky = 0; ky < K; ky++) {
                    int sy = y + ky - p;
                    if (sy < 0 || sy >= H) continue;
                    const float *s = inp + ((long)c * H + sy) * W;
                    for (int kx = 0; kx < K; kx++) {
                        const float wv = wo[ky * K + kx];
                        const int dx = kx - p;
                        int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? W - dx : W;
                        for (int x = x0; x < x1; x++) d[x] += wv * s[x + dx];
                    }
                }
            }
            for (int x = 0; x < W; x++) d[x] += bo;
        }
    }
}

void vs__conv2d_forward(float *out, float *col, const float *inp, const float *w, const float *b,
                        int C, int H, int W, int O, int K) {
    const long HW = (long)H * W;
    if (C == 1 && K > 1) {
        vs__conv2d_forward_direct(out, inp, w, b, 1, H, W, O, K);
        return;
    }
    const int CKK = C * K * K;
    /* bias first so the GEMMs accumulate onto it */
    if (b) {
        for (int o = 0; o < O; o++)
            for (long i = 0; i < HW; i++) out[o * HW + i] = b[o];
    }
    const float beta = b ? 1.0f : 0.0f;
    if (K == 1) { /* out [O,HW] = w [O,C] . inp [C,HW] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, (int)HW, C, 1.0f, w, C, inp,
                    (int)HW, beta, out, (int)HW);
        return;
    }
    const int rows = band_rows(C, H, W, K);
    for (int y0 = 0; y0 < H; y0 += rows) {
        int y1 = y0 + rows < H ? y0 + rows : H;
        int nb = (y1 - y0) * W;
        im2col(col, inp, C, H, W, K, y0, y1);
        /* out[:, y0:y1, :] [O, nb] (row pitch HW) = w [O,CKK] . col [CKK, nb] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, nb, CKK, 1.0f, w, CKK, col, nb,
                    beta, out + (long)y0 * W, (int)HW);
    }
}

void vs__conv2d_forward_ref(float *out, const float *inp, const float *w, const float *b, int C,
                            int H, int W, int O, int K) {
    const int p = (K - 1) / 2;
    for (int o = 0; o < O; o++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double s = b ? b[o] : 0.0;
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int sy = y + ky - p, sx = x + kx - p;
                            if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
                            s += (double)w[((o * C + c) * K + ky) * K + kx] *
                                 inp[((long)c * H + sy) * W + sx];
                        }
                out[((long)o * H + y) * W + x] = (float)s;
            }
}

/* ------------------------------------------------------------------ backward */

/* col2im accumulate: dinp[c, y+ky-p, x+kx-p] += dcol[(c,ky,kx), (y-y0)*W + x]. */
static void col2im_add(float *dinp, const float *dcol, int C, int H, int W, int K, int y0,
                       int y1) {
    const int p = (K - 1) / 2;
    const long NB = (long)(y1 - y0) * W;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                const float *src = dcol + ((long)(c * K + ky) * K + kx) * NB;
                const int dy = ky - p, dx = kx - p;
                int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? W - dx : W;
                for (int y = y0; y < y1; y++) {
                    int sy = y + dy;
                    if (sy < 0 || sy >= H) continue;
                    const float *s = src + (long)(y - y0) * W;
                    float *d = dinp + ((long)c * H + sy) * W + dx;
                    for (int x = x0; x < x1; x++) d[x] += s[x];
                }
            }
}

VS__CLONES
static void conv2d_backward_c1(float *dinp, float *dw, const float *dout, const float *inp,
                               const float *w, int H, int W, int O, int K) {
    const int p = (K - 1) / 2;
    for (int o = 0; o < O; o++) {
        const float *go = dout + (long)o * H * W;
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                const int dy = ky - p, dx = kx - p;
                int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? W - dx : W;
                const float wv = w[((long)o * K + ky) * K + kx];
                float acc = 0.0f;
                for (int y = 0; y < H; y++) {
                    int sy = y + dy;
                    if (sy < 0 || sy >= H) continue;
                    const float *g = go + (long)y * W;
                    const float *s = inp + (long)sy * W + dx;
                    float *d = dinp ? dinp + (long)sy * W + dx : NULL;
                    for (int x = x0; x < x1; x++) acc += g[x] * s[x];
                    if (d)
                        for (int x = x0; x < x1; x++) d[x] += wv * g[x];
                }
                if (dw) dw[((long)o * K + ky) * K + kx] += acc;
            }
    }
}

void vs__conv2d_backward(float *dinp, float *dw, float *db, float *col, const float *dout,
                         const float *inp, const float *w, int C, int H, int W, int O, int K) {
    const long HW = (long)H * W;
    if (db)
        for (int o = 0; o < O; o++) {
            float s = 0.0f;
            for (long i = 0; i < HW; i++) s += dout[o * HW + i];
            db[o] += s;
        }
    if (C == 1 && K > 1) {
        conv2d_backward_c1(dinp, dw, dout, inp, w, H, W, O, K);
        return;
    }
    if (K == 1) {
        /* dw [O,C] += dout [O,HW] . inp^T;  dinp [C,HW] += w^T [C,O] . dout */
        if (dw)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, C, (int)HW, 1.0f, dout,
                        (int)HW, inp, (int)HW, 1.0f, dw, C);
        if (dinp)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, (int)HW, O, 1.0f, w, C, dout,
                        (int)HW, 1.0f, dinp, (int)HW);
        return;
    }
    const int CKK = C * K * K;
    const int rows = band_rows(C, H, W, K);
    float *dcol = col + (size_t)CKK * rows * W;
    for (int y0 = 0; y0 < H; y0 += rows) {
        int y1 = y0 + rows < H ? y0 + rows : H;
        int nb = (y1 - y0) * W;
        const float *g = dout + (long)y0 * W; /* [O, nb], row pitch HW */
        if (dw) {
            im2col(col, inp, C, H, W, K, y0, y1);
            /* dw [O,CKK] += g [O,nb] . col^T [nb,CKK] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, CKK, nb, 1.0f, g, (int)HW,
                        col, nb, 1.0f, dw, CKK);
        }
        if (dinp) {
            /* dcol [CKK,nb] = w^T [CKK,O] . g [O,nb] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, nb, O, 1.0f, w, CKK, g,
                        (int)HW, 0.0f, dcol, nb);
            col2im_add(dinp, dcol, C, H, W, K, y0, y1);
        }
    }
}

size_t vs__conv2d_backward_col_size(int C, int H, int W, int K) {
    return 2 * vs__conv2d_col_size(C, H, W, K);
}

void vs__conv2d_backward_ref(float *dinp, float *dw, float *db, const float *dout,
                             const float *inp, const float *w, int C, int H, int W, int O,
                             int K) {
    const int p = (K - 1) / 2;
    for (int o = 0; o < O; o++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float g = dout[((long)o * H + y) * W + x];
                if (db) db[o] += g;
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int sy = y + ky - p, sx = x + kx - p;
                            if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
                            long wi = ((long)(o * C + c) * K + ky) * K + kx;
                            long ii = ((long)c * H + sy) * W + sx;
                            if (dw) dw[wi] += g * inp[ii];
                            if (dinp) dinp[ii] += g * w[wi];
                        }
            }
}
