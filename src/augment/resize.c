/*
 * resize.c - RandomResizedCrop (torchvision get_params: 10 tries, centre fallback),
 * bilinear crop-resize of uint8 RGB frames as torchvision's tensor path computes it
 * (float32, align_corners=False, rounded half to even on the cast back), optionally
 * with the antialias=True triangle filter, and the horizontal flip.
 * Frames are HWC RGB (the decoder's layout); torchvision works on CHW, which changes
 * only the memory order, not the numbers.
 */
#include "augment/augment_internal.h"

#include <math.h>
#include <string.h>

vs_aug_box vs_aug_rrc_box(int H, int W, double scale_min, double scale_max, double ratio_min,
                          double ratio_max, vs_aug_rng *r) {
    vs_aug_box b;
    double area = (double)H * W;
    double lr0 = log(ratio_min), lr1 = log(ratio_max);
    for (int tries = 0; tries < 10; tries++) {
        double target = area * (scale_min + (scale_max - scale_min) * vs_aug_rng_uniform(r));
        double ar = exp(lr0 + (lr1 - lr0) * vs_aug_rng_uniform(r));
        int w = (int)nearbyint(sqrt(target * ar)); /* Python round: half to even */
        int h = (int)nearbyint(sqrt(target / ar));
        if (w > 0 && w <= W && h > 0 && h <= H) {
            b.top = vs_aug_rng_below(r, H - h + 1);
            b.left = vs_aug_rng_below(r, W - w + 1);
            b.height = h;
            b.width = w;
            return b;
        }
    }
    double in_ratio = (double)W / H;
    if (in_ratio < ratio_min) {
        b.width = W;
        b.height = (int)nearbyint(W / ratio_min);
    } else if (in_ratio > ratio_max) {
        b.height = H;
        b.width = (int)nearbyint(H * ratio_max);
    } else {
        b.width = W;
        b.height = H;
    }
    b.top = (H - b.height) / 2;
    b.left = (W - b.width) / 2;
    return b;
}

/* torch upsample_bilinear2d (align_corners=False) source index and weight, float32. */
static void linear_coeffs(int *i0, int *i1, float *l1, int out_size, int in_size) {
    const float scale = (float)in_size / (float)out_size;
    for (int d = 0; d < out_size; d++) {
        /* ATen: scale * (dst_index + 0.5) - 0.5 with a float scale and a double 0.5 */
        double src = (double)scale * ((double)d + 0.5) - 0.5;
        if (src < 0) src = 0;
        int i = (int)src;
        if (i > in_size - 1) i = in_size - 1;
        float lam = (float)(src - (double)i);
        if (lam < 0) lam = 0;
        if (lam > 1) lam = 1;
        i0[d] = i;
        i1[d] = i + (i < in_size - 1 ? 1 : 0);
        l1[d] = lam;
    }
}

static uint8_t cast_u8(float v) {
    v = nearbyintf(v); /* torch.round: half to even */
    if (v < 0) v = 0;
    if (v > 255) v = 255;
    return (uint8_t)v;
}

static void resize_linear(uint8_t *out, int oh, int ow, const uint8_t *in, int stride, int h, int w,
                          int *ix0, int *ix1, float *lx, int *iy0, int *iy1, float *ly) {
    linear_coeffs(ix0, ix1, lx, ow, w);
    linear_coeffs(iy0, iy1, ly, oh, h);
    for (int y = 0; y < oh; y++) {
        const uint8_t *r0 = in + (size_t)iy0[y] * stride, *r1 = in + (size_t)iy1[y] * stride;
        const float wy1 = ly[y], wy0 = 1.0f - wy1;
        uint8_t *o = out + (size_t)y * ow * 3;
        for (int x = 0; x < ow; x++) {
            const float wx1 = lx[x], wx0 = 1.0f - wx1;
            const int a = ix0[x] * 3, b = ix1[x] * 3;
            for (int c = 0; c < 3; c++) {
                float t0 = (float)r0[a + c] * wx0;
                t0 += (float)r0[b + c] * wx1;
                float t1 = (float)r1[a + c] * wx0;
                t1 += (float)r1[b + c] * wx1;
                float v = t0 * wy0;
                v += t1 * wy1;
                o[x * 3 + c] = cast_u8(v);
            }
        }
    }
}

/* torch _upsample_bilinear2d_aa weights (PIL's triangle filter): for each output d,
 * a window [lo[d], lo[d]+n[d]) of taps wt[d*maxw + k]. Returns maxw. */
static int aa_coeffs(int *lo, int *n, float *wt, int out_size, int in_size, int maxw) {
    const float scale = (float)in_size / (float)out_size;
    const float support = scale >= 1.0f ? scale : 1.0f;
    const float invscale = scale >= 1.0f ? 1.0f / scale : 1.0f;
    for (int d = 0; d < out_size; d++) {
        float center = scale * ((float)d + 0.5f);
        int xmin = (int)(center - support + 0.5f);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5f);
        if (xmax > in_size) xmax = in_size;
        int xs = xmax - xmin;
        if (xs > maxw) xs = maxw;
        float total = 0;
        for (int k = 0; k < xs; k++) {
            float x = ((float)(k + xmin) - center + 0.5f) * invscale;
            float f = fabsf(x) < 1.0f ? 1.0f - fabsf(x) : 0.0f;
            wt[d * maxw + k] = f;
            total += f;
        }
        for (int k = 0; k < xs; k++)
            if (total != 0.0f) wt[d * maxw + k] /= total;
        lo[d] = xmin;
        n[d] = xs;
    }
    return maxw;
}

static vs_status resize_aa(uint8_t *out, int oh, int ow, const uint8_t *in, int stride, int h, int w) {
    int maxw_x = (int)ceil(2.0 * ((double)w / ow > 1 ? (double)w / ow : 1)) + 2;
    int maxw_y = (int)ceil(2.0 * ((double)h / oh > 1 ? (double)h / oh : 1)) + 2;
    size_t bytes = sizeof(int) * (size_t)(2 * ow + 2 * oh) +
                   sizeof(float) * ((size_t)ow * maxw_x + (size_t)oh * maxw_y + (size_t)h * ow * 3);
    char *buf = vs__malloc(bytes);
    if (!buf) return vs__err(VS_ERR_NOMEM, "resize: out of memory (%zu bytes)", bytes);
    int *lox = (int *)buf, *nx = lox + ow, *loy = nx + ow, *ny = loy + oh;
    float *wx = (float *)(ny + oh), *wy = wx + (size_t)ow * maxw_x, *tmp = wy + (size_t)oh * maxw_y;
    aa_coeffs(lox, nx, wx, ow, w, maxw_x);
    aa_coeffs(loy, ny, wy, oh, h, maxw_y);
    /* horizontal pass into float rows, then vertical; no rounding in between */
    for (int y = 0; y < h; y++) {
        const uint8_t *row = in + (size_t)y * stride;
        float *t = tmp + (size_t)y * ow * 3;
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++) {
                float acc = 0;
                for (int k = 0; k < nx[x]; k++) acc += (float)row[(lox[x] + k) * 3 + c] * wx[x * maxw_x + k];
                t[x * 3 + c] = acc;
            }
    }
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow * 3; x++) {
            float acc = 0;
            for (int k = 0; k < ny[y]; k++) acc += tmp[(size_t)(loy[y] + k) * ow * 3 + x] * wy[y * maxw_y + k];
            out[(size_t)y * ow * 3 + x] = cast_u8(acc);
        }
    vs__free(buf);
    return VS_OK;
}

vs_status vs_aug_resized_crop(uint8_t *out, int oh, int ow, const uint8_t *in, int H, int W,
                              vs_aug_box box, bool antialias) {
    if (!out || !in || oh < 1 || ow < 1 || H < 1 || W < 1 || box.height < 1 || box.width < 1 ||
        box.top < 0 || box.left < 0 || box.top + box.height > H || box.left + box.width > W)
        return vs__err(VS_ERR_INVALID_ARG,
                       "resized crop: box %dx%d at (%d,%d) must lie inside the %dx%d frame, output %dx%d",
                       box.height, box.width, box.top, box.left, H, W, oh, ow);
    const uint8_t *src = in + ((size_t)box.top * W + box.left) * 3;
    const int stride = W * 3;
    if (antialias) return resize_aa(out, oh, ow, src, stride, box.height, box.width);
    size_t bytes = (sizeof(int) * 2 + sizeof(float)) * (size_t)(ow + oh);
    char *buf = vs__malloc(bytes);
    if (!buf) return vs__err(VS_ERR_NOMEM, "resize: out of memory (%zu bytes)", bytes);
    int *ix0 = (int *)buf, *ix1 = ix0 + ow, *iy0 = ix1 + ow, *iy1 = iy0 + oh;
    float *lx = (float *)(iy1 + oh), *ly = lx + ow;
    resize_linear(out, oh, ow, src, stride, box.height, box.width, ix0, ix1, lx, iy0, iy1, ly);
    vs__free(buf);
    return VS_OK;
}

void vs_aug_hflip(uint8_t *img, int H, int W) {
    for (int y = 0; y < H; y++) {
        uint8_t *row = img + (size_t)y * W * 3;
        for (int a = 0, b = W - 1; a < b; a++, b--)
            for (int c = 0; c < 3; c++) {
                uint8_t t = row[a * 3 + c];
                row[a * 3 + c] = row[b * 3 + c];
                row[b * 3 + c] = t;
            }
    }
}
