/*
 * region.c - regional max pooling (a 3x3 grid of windows about half the map side,
 * the S2VS "L3-iMAC" idea adapted to InceptionV3 map sizes: 25x25 maps at 224
 * input use windows 13 at stride 6, 12x12 maps windows 6 at stride 3) and row L2
 * normalisation. Input maps are NHWC floats straight from the backbone; the pooling
 * is separable (column windows per row, then row windows) and vectorised. Also the
 * luma spread of a frame (blank-frame test of extraction and calibration).
 */
#include "region.h"

#include <math.h>
#include <string.h>

void vs__region_grid(int len, int *k, int *s) {
    int st = (len + 2) / 4; /* round(len/4) */
    if (st < 1) st = 1;
    int kk = len - 2 * st;
    if (kk < 1) { /* tiny maps: overlapping single-pixel windows */
        kk = 1;
        st = len >= 3 ? (len - 1) / 2 : 0;
    }
    *k = kk;
    *s = st;
}

/* One row of a channel vector: o = max(o, p), elementwise (vectorised). */
static inline void max_into(float *restrict o, const float *restrict p, int c) {
    for (int ch = 0; ch < c; ch++) o[ch] = p[ch] > o[ch] ? p[ch] : o[ch];
}

/* Separable: for each map row, the max over each of the 3 column windows (rowmax,
 * [h][3][c] in scratch), then over each of the 3 row windows of those. The same
 * maxima as the direct 3x3 x kh x kw scan (max is exact in any order), with about
 * 1.4x fewer comparisons at 25x25 and each one vectorised (the clones below). */
VS__CLONES
void vs__region_maxpool(float *out, int out_stride, const float *map, int n, int h, int w, int c) {
    int kh, sh, kw, sw;
    vs__region_grid(h, &kh, &sh);
    vs__region_grid(w, &kw, &sw);
    int x0[3], y0[3];
    for (int g = 0; g < 3; g++) {
        x0[g] = g * sw + kw > w ? w - kw : g * sw;
        y0[g] = g * sh + kh > h ? h - kh : g * sh;
    }
    /* scratch: [h][3][c] floats (one allocation per call, i.e. per layer and batch) */
    float *rowmax = vs__malloc((size_t)h * 3 * c * sizeof(float));
    if (!rowmax) { /* out of memory: the direct scan, no scratch */
        for (int b = 0; b < n; b++)
            for (int r = 0; r < 9; r++) {
                float *o = out + ((size_t)b * 9 + r) * out_stride;
                const float *m = map + (size_t)b * h * w * c;
                for (int ch = 0; ch < c; ch++) o[ch] = -INFINITY;
                for (int y = y0[r / 3]; y < y0[r / 3] + kh; y++)
                    for (int x = x0[r % 3]; x < x0[r % 3] + kw; x++) max_into(o, m + ((size_t)y * w + x) * c, c);
            }
        return;
    }
    for (int b = 0; b < n; b++) {
        const float *m = map + (size_t)b * h * w * c;
        for (int y = 0; y < h; y++)
            for (int gx = 0; gx < 3; gx++) {
                float *rm = rowmax + ((size_t)y * 3 + gx) * c;
                const float *p = m + ((size_t)y * w + x0[gx]) * c;
                memcpy(rm, p, sizeof(float) * c);
                for (int x = 1; x < kw; x++) max_into(rm, p + (size_t)x * c, c);
            }
        for (int gy = 0; gy < 3; gy++)
            for (int gx = 0; gx < 3; gx++) {
                float *o = out + ((size_t)b * 9 + gy * 3 + gx) * out_stride;
                memcpy(o, rowmax + ((size_t)y0[gy] * 3 + gx) * c, sizeof(float) * c);
                for (int y = y0[gy] + 1; y < y0[gy] + kh; y++) max_into(o, rowmax + ((size_t)y * 3 + gx) * c, c);
            }
    }
    vs__free(rowmax);
}

void vs__l2norm_rows(float *x, long n, int d, int stride) {
    for (long i = 0; i < n; i++) {
        float *r = x + i * stride;
        double ss = 0;
        for (int j = 0; j < d; j++) ss += (double)r[j] * r[j];
        double nrm = sqrt(ss);
        float inv = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12));
        for (int j = 0; j < d; j++) r[j] *= inv;
    }
}

double vs__frame_luma_std(const uint8_t *rgb, int w, int h) {
    double sum = 0, sq = 0;
    long n = 0;
    for (int y = 0; y < h; y += 2)
        for (int x = 0; x < w; x += 2) {
            const uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            double l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            sum += l;
            sq += l * l;
            n++;
        }
    if (n == 0) return 0;
    double m = sum / n, v = sq / n - m * m;
    return v > 0 ? sqrt(v) : 0;
}
