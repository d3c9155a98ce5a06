/*
 * edits.c - copy edits of the strong view beyond the S2VS reference (off by default):
 * the AugLy / VSC-style edits that re-uploaders apply and the reference's augmentations
 * lack (hue rotation, grayscale, Gaussian noise, padding onto a plain background, low
 * quality by down- and up-scaling). Each primitive is deterministic given its
 * parameters; vs_aug_copy_edits draws which edits a clip gets and their parameters, one
 * draw per clip, so every frame of the clip gets the same edit as a re-encoded copy does.
 */
#include "augment/augment_internal.h"

#include <math.h>
#include <string.h>

static inline uint8_t clamp_u8(double x) {
    return x <= 0.0 ? 0 : x >= 255.0 ? 255 : (uint8_t)lrint(x);
}

void vs_aug_hue_rotate(uint8_t *frames, int T, int H, int W, double degrees) {
    /* rotate the chroma plane (I, Q) of YIQ by `degrees`; luma Y is kept */
    static const double fwd[3][3] = {{0.299, 0.587, 0.114}, {0.595716, -0.274453, -0.321263},
                                     {0.211456, -0.522591, 0.311135}};
    double inv[3][3]; /* fwd^-1 by cofactors, so that 0 degrees is the identity */
    const double det = fwd[0][0] * (fwd[1][1] * fwd[2][2] - fwd[1][2] * fwd[2][1]) -
                       fwd[0][1] * (fwd[1][0] * fwd[2][2] - fwd[1][2] * fwd[2][0]) +
                       fwd[0][2] * (fwd[1][0] * fwd[2][1] - fwd[1][1] * fwd[2][0]);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            const int j1 = (j + 1) % 3, j2 = (j + 2) % 3, i1 = (i + 1) % 3, i2 = (i + 2) % 3;
            inv[i][j] = (fwd[j1][i1] * fwd[j2][i2] - fwd[j1][i2] * fwd[j2][i1]) / det;
        }
    const double a = degrees * M_PI / 180.0, c = cos(a), s = sin(a);
    const double rot[3][3] = {{1, 0, 0}, {0, c, -s}, {0, s, c}};
    double m[3][3], t[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            t[i][j] = 0;
            for (int k = 0; k < 3; k++) t[i][j] += rot[i][k] * fwd[k][j];
        }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            m[i][j] = 0;
            for (int k = 0; k < 3; k++) m[i][j] += inv[i][k] * t[k][j];
        }
    const size_t n = (size_t)T * H * W;
    for (size_t p = 0; p < n; p++) {
        uint8_t *x = frames + 3 * p;
        const double r = x[0], g = x[1], b = x[2];
        x[0] = clamp_u8(m[0][0] * r + m[0][1] * g + m[0][2] * b);
        x[1] = clamp_u8(m[1][0] * r + m[1][1] * g + m[1][2] * b);
        x[2] = clamp_u8(m[2][0] * r + m[2][1] * g + m[2][2] * b);
    }
}

void vs_aug_grayscale(uint8_t *frames, int T, int H, int W) {
    const size_t n = (size_t)T * H * W;
    for (size_t p = 0; p < n; p++) {
        uint8_t *x = frames + 3 * p;
        const uint8_t y = clamp_u8(0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]);
        x[0] = x[1] = x[2] = y;
    }
}

void vs_aug_gaussian_noise(uint8_t *frames, int T, int H, int W, double sigma, vs_aug_rng *r) {
    const size_t n = (size_t)T * H * W * 3;
    for (size_t i = 0; i < n; i += 2) { /* Box-Muller: two normals per pair of uniforms */
        const double u1 = 1.0 - vs_aug_rng_uniform(r), u2 = vs_aug_rng_uniform(r);
        const double rad = sigma * sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
        frames[i] = clamp_u8(frames[i] + rad * cos(th));
        if (i + 1 < n) frames[i + 1] = clamp_u8(frames[i + 1] + rad * sin(th));
    }
}

vs_status vs_aug_pad(uint8_t *frames, int T, int H, int W, vs_aug_box box, const uint8_t rgb[3]) {
    if (box.height < 1 || box.width < 1 || box.top < 0 || box.left < 0 || box.top + box.height > H ||
        box.left + box.width > W)
        return vs__err(VS_ERR_INVALID_ARG, "vs_aug_pad: box %dx%d at (%d,%d) outside the %dx%d frame",
                       box.height, box.width, box.top, box.left, H, W);
    const size_t fb = (size_t)H * W * 3;
    uint8_t *small = vs__malloc((size_t)box.height * box.width * 3);
    if (!small) return vs__err(VS_ERR_NOMEM, "vs_aug_pad: out of memory");
    const vs_aug_box whole = {0, 0, H, W};
    vs_status s = VS_OK;
    for (int t = 0; t < T && s == VS_OK; t++) {
        uint8_t *f = frames + (size_t)t * fb;
        if ((s = vs_aug_resized_crop(small, box.height, box.width, f, H, W, whole, true)) != VS_OK) break;
        for (size_t p = 0; p < (size_t)H * W; p++) memcpy(f + 3 * p, rgb, 3);
        for (int y = 0; y < box.height; y++)
            memcpy(f + ((size_t)(box.top + y) * W + box.left) * 3, small + (size_t)y * box.width * 3,
                   (size_t)box.width * 3);
    }
    vs__free(small);
    return s;
}

vs_status vs_aug_low_quality(uint8_t *frames, int T, int H, int W, int lh, int lw) {
    if (lh < 1 || lw < 1 || lh > H || lw > W)
        return vs__err(VS_ERR_INVALID_ARG, "vs_aug_low_quality: %dx%d is not within the %dx%d frame", lh, lw, H, W);
    const size_t fb = (size_t)H * W * 3;
    uint8_t *small = vs__malloc((size_t)lh * lw * 3);
    if (!small) return vs__err(VS_ERR_NOMEM, "vs_aug_low_quality: out of memory");
    const vs_aug_box whole = {0, 0, H, W};
    vs_status s = VS_OK;
    for (int t = 0; t < T && s == VS_OK; t++) {
        uint8_t *f = frames + (size_t)t * fb;
        if ((s = vs_aug_resized_crop(small, lh, lw, f, H, W, whole, true)) != VS_OK) break;
        for (int y = 0; y < H; y++) { /* nearest-neighbour back up: the blocks of a low bitrate */
            const int sy = (int)((long)y * lh / H);
            for (int x = 0; x < W; x++) memcpy(f + ((size_t)y * W + x) * 3, small + ((size_t)sy * lw + (long)x * lw / W) * 3, 3);
        }
    }
    vs__free(small);
    return s;
}

vs_status vs_aug_copy_edits(uint8_t *frames, int T, int H, int W, double p, vs_aug_rng *r,
                            unsigned *applied) {
    if (applied) *applied = 0;
    if (!frames || T < 1 || H < 2 || W < 2 || !(p >= 0 && p <= 1) || !r)
        return vs__err(VS_ERR_INVALID_ARG, "vs_aug_copy_edits: bad arguments (%d frames of %dx%d, p %g)", T, H, W, p);
    if (p == 0) return VS_OK;
    unsigned done = 0;
    vs_status s = VS_OK;
    /* every draw is made whether or not its edit applies, so one edit's parameters do
     * not depend on which other edits were chosen */
    const double u_pad = vs_aug_rng_uniform(r), side = 0.5 + 0.4 * vs_aug_rng_uniform(r);
    const double py = vs_aug_rng_uniform(r), px = vs_aug_rng_uniform(r);
    uint8_t rgb[3];
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)vs_aug_rng_below(r, 256);
    const double u_hue = vs_aug_rng_uniform(r), deg = 30.0 + 300.0 * vs_aug_rng_uniform(r);
    const double u_gray = vs_aug_rng_uniform(r);
    const double u_noise = vs_aug_rng_uniform(r), sigma = 4.0 + 16.0 * vs_aug_rng_uniform(r);
    const double u_lowq = vs_aug_rng_uniform(r), f = 0.15 + 0.35 * vs_aug_rng_uniform(r);
    if (u_pad < p) {
        vs_aug_box b;
        b.height = (int)lrint(side * H);
        b.width = (int)lrint(side * W);
        if (b.height < 1) b.height = 1;
        if (b.width < 1) b.width = 1;
        b.top = (int)(py * (H - b.height + 1));
        b.left = (int)(px * (W - b.width + 1));
        if ((s = vs_aug_pad(frames, T, H, W, b, rgb)) != VS_OK) return s;
        done |= VS_AUG_EDIT_PAD;
    }
    if (u_hue < p) {
        vs_aug_hue_rotate(frames, T, H, W, deg);
        done |= VS_AUG_EDIT_HUE;
    }
    if (u_gray < p) {
        vs_aug_grayscale(frames, T, H, W);
        done |= VS_AUG_EDIT_GRAY;
    }
    if (u_noise < p) {
        vs_aug_gaussian_noise(frames, T, H, W, sigma, r);
        done |= VS_AUG_EDIT_NOISE;
    }
    if (u_lowq < p) {
        int lh = (int)lrint(f * H), lw = (int)lrint(f * W);
        if ((s = vs_aug_low_quality(frames, T, H, W, lh < 1 ? 1 : lh, lw < 1 ? 1 : lw)) != VS_OK) return s;
        done |= VS_AUG_EDIT_LOWQ;
    }
    if (applied) *applied = done;
    return VS_OK;
}
