/*
 * ops.c - the CPU kernels of the backbone forward pass, NHWC float:
 *   conv      = im2col (skipped for unpadded 1x1/stride-1) + OpenBLAS cblas_sgemm,
 *               then a bias + ReLU/ReLU6 epilogue on the tile while it is in cache;
 *   dwconv    = depthwise KHxKW conv, plain loop vectorised over channels;
 *   max/avg pool (avg divides by the number of in-image taps, as TF 'same' pooling);
 *   add, copy (concat fallback) and the Keras "tf" input preprocessing.
 * Mirrors tf.nn.conv2d / depthwise_conv2d / max_pool / avg_pool with explicit pads
 * (computed by graph.c). Weights come with BatchNorm already folded in (graph.c).
 * Each kernel works on a row range so that backbone.c can split work over threads;
 * results do not depend on how rows are split except through GEMM tiling, which
 * backbone.c fixes independently of the thread count.
 * Not here: dilation (rejected at load), grouped convs other than depthwise.
 */
#include "bb_internal.h"

#include <cblas.h>
#include <string.h>

/* out rows [0, m), pitch ldo: y = act(y + b). */
VS__CLONES
static void epilogue(float *restrict out, int ldo, const float *restrict b, int n, long m,
                     int act) {
    for (long r = 0; r < m; r++) {
        float *restrict y = out + r * ldo;
        if (act == BB_ACT_RELU) {
            for (int c = 0; c < n; c++) {
                float v = y[c] + b[c];
                y[c] = v > 0.f ? v : 0.f;
            }
        } else if (act == BB_ACT_RELU6) {
            for (int c = 0; c < n; c++) {
                float v = y[c] + b[c];
                v = v > 0.f ? v : 0.f;
                y[c] = v < 6.f ? v : 6.f;
            }
        } else {
            for (int c = 0; c < n; c++) y[c] += b[c];
        }
    }
}

/* im2col of output pixels [r0, r1): A [(r1-r0), K], K ordered (ky, kx, cin) to match
 * the Keras kernel layout KH,KW,Cin,Cout. Out-of-image taps are zeros. */
static void im2col(float *restrict A, const float *restrict x, const bb_node *nd,
                   const bb_geom *gi, const bb_geom *go, long r0, long r1) {
    const int cin = nd->cin, kw = nd->kw, K = nd->kh * nd->kw * cin;
    const long hw = (long)go->h * go->w;
    for (long r = r0; r < r1; r++) {
        float *dst = A + (r - r0) * K;
        long b = r / hw, p = r % hw;
        int oy = (int)(p / go->w), ox = (int)(p % go->w);
        int ix0 = ox * nd->sw - go->pl;
        const float *xb = x + b * (long)gi->h * gi->w * cin;
        for (int ky = 0; ky < nd->kh; ky++, dst += (long)kw * cin) {
            int iy = oy * nd->sh - go->pt + ky;
            if (iy < 0 || iy >= gi->h) {
                memset(dst, 0, sizeof(float) * kw * cin);
                continue;
            }
            const float *src = xb + ((long)iy * gi->w) * cin;
            if (ix0 >= 0 && ix0 + kw <= gi->w) { /* whole kernel row inside: one copy */
                memcpy(dst, src + (long)ix0 * cin, sizeof(float) * kw * cin);
                continue;
            }
            for (int kx = 0; kx < kw; kx++) {
                int ix = ix0 + kx;
                if (ix < 0 || ix >= gi->w) memset(dst + kx * cin, 0, sizeof(float) * cin);
                else memcpy(dst + kx * cin, src + (long)ix * cin, sizeof(float) * cin);
            }
        }
    }
}

void vs__bb_conv_tile(float *out, int ldo, float *scratch, const float *x, const bb_node *nd,
                      const bb_geom *gi, const bb_geom *go, long r0, long r1) {
    const int K = nd->kh * nd->kw * nd->cin, N = nd->cout;
    const long M = r1 - r0;
    const float *A;
    int lda;
    if (nd->kh == 1 && nd->kw == 1 && nd->sh == 1 && nd->sw == 1 && go->pt == 0 && go->pl == 0) {
        A = x + r0 * nd->cin; /* NHWC activation already is the [M, Cin] matrix */
        lda = nd->cin;
    } else {
        im2col(scratch, x, nd, gi, go, r0, r1);
        A = scratch;
        lda = K;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, N, K, 1.0f, A, lda, nd->w, N,
                0.0f, out + r0 * ldo, ldo);
    epilogue(out + r0 * ldo, ldo, nd->b, N, M, nd->act);
}

VS__CLONES
void vs__bb_dwconv_rows(float *out, int ldo, const float *x, const bb_node *nd,
                        const bb_geom *gi, const bb_geom *go, long r0, long r1) {
    const int C = nd->cout, kh = nd->kh, kw = nd->kw;
    const float *restrict bias = nd->b;
    for (long r = r0; r < r1; r++) {
        long b = r / go->h;
        int oy = (int)(r % go->h);
        const float *xb = x + b * (long)gi->h * gi->w * C;
        for (int ox = 0; ox < go->w; ox++) {
            float *restrict o = out + (r * go->w + ox) * ldo;
            for (int c = 0; c < C; c++) o[c] = bias[c];
            for (int ky = 0; ky < kh; ky++) {
                int iy = oy * nd->sh - go->pt + ky;
                if (iy < 0 || iy >= gi->h) continue;
                for (int kx = 0; kx < kw; kx++) {
                    int ix = ox * nd->sw - go->pl + kx;
                    if (ix < 0 || ix >= gi->w) continue;
                    const float *restrict xi = xb + ((long)iy * gi->w + ix) * C;
                    const float *restrict wk = nd->w + (long)(ky * kw + kx) * C;
                    for (int c = 0; c < C; c++) o[c] += xi[c] * wk[c];
                }
            }
            if (nd->act == BB_ACT_RELU6) {
                for (int c = 0; c < C; c++) {
                    float v = o[c] > 0.f ? o[c] : 0.f;
                    o[c] = v < 6.f ? v : 6.f;
                }
            } else if (nd->act == BB_ACT_RELU) {
                for (int c = 0; c < C; c++) o[c] = o[c] > 0.f ? o[c] : 0.f;
            }
        }
    }
}

VS__CLONES
void vs__bb_maxpool_rows(float *out, int ldo, const float *x, const bb_node *nd,
                         const bb_geom *gi, const bb_geom *go, long r0, long r1) {
    const int C = gi->c;
    for (long r = r0; r < r1; r++) {
        long b = r / go->h;
        int oy = (int)(r % go->h);
        const float *xb = x + b * (long)gi->h * gi->w * C;
        for (int ox = 0; ox < go->w; ox++) {
            float *restrict o = out + (r * go->w + ox) * ldo;
            int first = 1;
            for (int ky = 0; ky < nd->kh; ky++) {
                int iy = oy * nd->sh - go->pt + ky;
                if (iy < 0 || iy >= gi->h) continue;
                for (int kx = 0; kx < nd->kw; kx++) {
                    int ix = ox * nd->sw - go->pl + kx;
                    if (ix < 0 || ix >= gi->w) continue;
                    const float *restrict xi = xb + ((long)iy * gi->w + ix) * C;
                    if (first) {
                        memcpy(o, xi, sizeof(float) * C);
                        first = 0;
                    } else {
                        for (int c = 0; c < C; c++) o[c] = xi[c] > o[c] ? xi[c] : o[c];
                    }
                }
            }
        }
    }
}

VS__CLONES
void vs__bb_avgpool_rows(float *out, int ldo, const float *x, const bb_node *nd,
                         const bb_geom *gi, const bb_geom *go, long r0, long r1) {
    const int C = gi->c;
    for (long r = r0; r < r1; r++) {
        long b = r / go->h;
        int oy = (int)(r % go->h);
        const float *xb = x + b * (long)gi->h * gi->w * C;
        for (int ox = 0; ox < go->w; ox++) {
            float *restrict o = out + (r * go->w + ox) * ldo;
            int n = 0;
            for (int c = 0; c < C; c++) o[c] = 0.f;
            for (int ky = 0; ky < nd->kh; ky++) {
                int iy = oy * nd->sh - go->pt + ky;
                if (iy < 0 || iy >= gi->h) continue;
                for (int kx = 0; kx < nd->kw; kx++) {
                    int ix = ox * nd->sw - go->pl + kx;
                    if (ix < 0 || ix >= gi->w) continue;
                    const float *restrict xi = xb + ((long)iy * gi->w + ix) * C;
                    for (int c = 0; c < C; c++) o[c] += xi[c];
                    n++;
                }
            }
            /* TF divides the window sum by the in-image tap count (4 at corners). */
            const float fn = n ? (float)n : 1.f;
            for (int c = 0; c < C; c++) o[c] /= fn;
        }
    }
}

VS__CLONES
void vs__bb_add_rows(float *out, int ldo, const float *a, const float *b, int c, long r0,
                     long r1) {
    for (long r = r0; r < r1; r++) {
        float *restrict o = out + r * ldo;
        const float *restrict pa = a + r * c, *restrict pb = b + r * c;
        for (int i = 0; i < c; i++) o[i] = pa[i] + pb[i];
    }
}

void vs__bb_copy_rows(float *out, int ldo, const float *x, int c, long r0, long r1) {
    for (long r = r0; r < r1; r++) memcpy(out + r * ldo, x + r * c, sizeof(float) * c);
}

VS__CLONES
void vs__bb_preprocess(float *out, const uint8_t *rgb, long n) {
    for (long i = 0; i < n; i++) out[i] = (float)rgb[i] / 127.5f - 1.0f;
}
