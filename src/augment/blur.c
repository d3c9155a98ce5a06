/*
 * blur.c - PIL's ImageFilter.GaussianBlur(radius) (Pillow 9.4 libImaging/BoxBlur.c):
 * the Gaussian is approximated by 3 passes of an "extended" box blur whose
 * fractional radius follows Gwosdek et al. (2011); each pass runs along rows in
 * 8.24 fixed point, edge pixels repeat. Horizontal passes first, then the same on
 * the transposed image. Float formulas keep PIL's float/double mix so the fixed-
 * point weights (and hence every output byte) come out the same.
 */
#include "augment/augment_internal.h"

#include <math.h>
#include <string.h>

static float gaussian_box_radius(float radius, int passes) {
    float sigma2, L, l, a;
    sigma2 = radius * radius / (float)passes;
    L = (float)sqrt(12.0 * sigma2 + 1.0);
    l = (float)floor((L - 1.0) / 2.0);
    a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
    a /= 6 * (sigma2 - (l + 1) * (l + 1));
    return l + a;
}

/* One extended box pass over a line of n pixels (3 channels at stride 3*step
 * elements apart, i.e. `step` pixels). lineIn/lineOut may not alias. */
static void line_box(uint8_t *out, const uint8_t *in, int n, long step, int radius, uint32_t ww,
                     uint32_t fw) {
    const int lastx = n - 1;
    const int edgeA = radius + 1 < n ? radius + 1 : n;
    const int edgeB = n - radius - 1 > 0 ? n - radius - 1 : 0;
#define PX(i, c) ((uint32_t)in[(long)(i) * step * 3 + (c)])
    for (int c = 0; c < 3; c++) {
        uint32_t acc = PX(0, c) * (uint32_t)(radius + 1);
        for (int x = 0; x < edgeA - 1; x++) acc += PX(x, c);
        acc += PX(lastx, c) * (uint32_t)(radius - edgeA + 1);
#define STEP(sub, add, far_l, far_r)                                              \
    do {                                                                          \
        acc += PX(add, c) - PX(sub, c);                                           \
        uint32_t bulk = acc * ww + (PX(far_l, c) + PX(far_r, c)) * fw;            \
        out[(long)x * step * 3 + c] = (uint8_t)((bulk + (1u << 23)) >> 24);       \
    } while (0)
        int x;
        if (edgeA <= edgeB) {
            for (x = 0; x < edgeA; x++) STEP(0, x + radius, 0, x + radius + 1);
            for (x = edgeA; x < edgeB; x++) STEP(x - radius - 1, x + radius, x - radius - 1, x + radius + 1);
            for (x = edgeB; x <= lastx; x++) STEP(x - radius - 1, lastx, x - radius - 1, lastx);
        } else {
            for (x = 0; x < edgeB; x++) STEP(0, x + radius, 0, x + radius + 1);
            for (x = edgeB; x < edgeA; x++) STEP(0, lastx, 0, lastx);
            for (x = edgeA; x <= lastx; x++) STEP(x - radius - 1, lastx, x - radius - 1, lastx);
        }
#undef STEP
    }
#undef PX
}

vs_status vs_aug_gaussian_blur(uint8_t *img, int H, int W, double radius_d) {
    if (!img || H < 1 || W < 1 || !(radius_d >= 0))
        return vs__err(VS_ERR_INVALID_ARG, "gaussian blur: bad image %dx%d or radius %g", H, W, radius_d);
    if (radius_d == 0) return VS_OK;
    const int passes = 3;
    float fr = gaussian_box_radius((float)radius_d, passes);
    int radius = (int)fr;
    uint32_t ww = (uint32_t)((float)(1 << 24) / (fr * 2 + 1));
    uint32_t fw = ((1u << 24) - (uint32_t)(radius * 2 + 1) * ww) / 2;
    int maxn = H > W ? H : W;
    uint8_t *line = vs__malloc((size_t)maxn * 3 * 2);
    if (!line) return vs__err(VS_ERR_NOMEM, "gaussian blur: out of memory");
    uint8_t *a = line, *b = line + (size_t)maxn * 3;
    /* rows: copy a line out, blur back and forth, write the result in place */
    for (int y = 0; y < H; y++) {
        uint8_t *row = img + (size_t)y * W * 3;
        memcpy(a, row, (size_t)W * 3);
        for (int p = 0; p < passes; p++) {
            line_box(b, a, W, 1, radius, ww, fw);
            uint8_t *t = a;
            a = b;
            b = t;
        }
        memcpy(row, a, (size_t)W * 3);
    }
    for (int x = 0; x < W; x++) {
        for (int y = 0; y < H; y++) memcpy(a + (size_t)y * 3, img + ((size_t)y * W + x) * 3, 3);
        for (int p = 0; p < passes; p++) {
            line_box(b, a, H, 1, radius, ww, fw);
            uint8_t *t = a;
            a = b;
            b = t;
        }
        for (int y = 0; y < H; y++) memcpy(img + ((size_t)y * W + x) * 3, a + (size_t)y * 3, 3);
    }
    vs__free(line);
    return VS_OK;
}
