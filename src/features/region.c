/*
 * region.c - regional max pooling (a 3x3 grid of windows about half the map side,
 * the S2VS "L3-iMAC" idea adapted to InceptionV3 map sizes: 25x25 maps at 224
 * input use windows 13 at stride 6, 12x12 maps windows 6 at stride 3) and row L2
 * normalisation. Input maps are NHWC floats straight from the backbone. Also the
 * luma spread of a frame (blank-frame test of extraction and calibration).
 */
#include "region.h"

#include <math.h>

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

void vs__region_maxpool(float *out, int out_stride, const float *map, int n, int h, int w, int c) {
    int kh, sh, kw, sw;
    vs__region_grid(h, &kh, &sh);
    vs__region_grid(w, &kw, &sw);
    for (int b = 0; b < n; b++) {
        const float *m = map + (size_t)b * h * w * c;
        for (int gy = 0; gy < 3; gy++)
            for (int gx = 0; gx < 3; gx++) {
                float *o = out + ((size_t)b * 9 + gy * 3 + gx) * out_stride;
                int y0 = gy * sh, x0 = gx * sw;
                if (y0 + kh > h) y0 = h - kh;
                if (x0 + kw > w) x0 = w - kw;
                for (int ch = 0; ch < c; ch++) o[ch] = -INFINITY;
                for (int y = y0; y < y0 + kh; y++)
                    for (int x = x0; x < x0 + kw; x++) {
                        const float *p = m + ((size_t)y * w + x) * c;
                        for (int ch = 0; ch < c; ch++)
                            if (p[ch] > o[ch]) o[ch] = p[ch];
                    }
            }
    }
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
