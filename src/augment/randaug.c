/*
 * randaug.c - torchvision RandAugment (0.14, transforms/autoaugment.py) on uint8 RGB
 * clips: the 14 ops, their magnitude table (float32 linspace like torch), signs, and
 * the tensor implementations of functional_tensor.py re-done in float32 with the same
 * operation order: affine ops through an inverse matrix, torchvision's base grid and
 * grid_sample(nearest, zeros, align_corners=False); colour ops through _blend
 * (truncating cast); contrast / autocontrast / equalize per frame (per channel for
 * the last two). Applied with one parameter set to every frame of a clip.
 */
#include "augment/augment_internal.h"

#include <math.h>
#include <string.h>

static const char *const ra_names[VS_AUG_RA_COUNT] = {
    "Identity", "ShearX",     "ShearY",    "TranslateX", "TranslateY", "Rotate",       "Brightness",
    "Color",    "Contrast",   "Sharpness", "Posterize",  "Solarize",   "AutoContrast", "Equalize"};

const char *vs_aug_ra_name(vs_aug_ra_op op) {
    return (unsigned)op < VS_AUG_RA_COUNT ? ra_names[op] : "?";
}

/* torch.linspace(start, end, steps)[i] in float32 (the CPU kernel's two halves). */
static float linspace_f(float start, float end, int steps, int i) {
    if (steps == 1) return start;
    float step = (end - start) / (float)(steps - 1);
    return i < steps / 2 ? start + step * (float)i : end - step * (float)(steps - i - 1);
}

double vs_aug_ra_magnitude(vs_aug_ra_op op, int bin, int num_bins, int H, int W, bool *is_signed) {
    bool sgn = false;
    double m = 0.0;
    switch (op) {
    case VS_AUG_RA_SHEAR_X:
    case VS_AUG_RA_SHEAR_Y: m = linspace_f(0.0f, 0.3f, num_bins, bin); sgn = true; break;
    case VS_AUG_RA_TRANSLATE_X:
        m = linspace_f(0.0f, (float)(150.0 / 331.0 * W), num_bins, bin);
        sgn = true;
        break;
    case VS_AUG_RA_TRANSLATE_Y:
        m = linspace_f(0.0f, (float)(150.0 / 331.0 * H), num_bins, bin);
        sgn = true;
        break;
    case VS_AUG_RA_ROTATE: m = linspace_f(0.0f, 30.0f, num_bins, bin); sgn = true; break;
    case VS_AUG_RA_BRIGHTNESS:
    case VS_AUG_RA_COLOR:
    case VS_AUG_RA_CONTRAST:
    case VS_AUG_RA_SHARPNESS: m = linspace_f(0.0f, 0.9f, num_bins, bin); sgn = true; break;
    case VS_AUG_RA_POSTERIZE: /* 8 - (arange / ((bins-1)/4)).round().int() */
        m = 8 - (int)nearbyintf((float)bin / ((float)(num_bins - 1) / 4.0f));
        break;
    case VS_AUG_RA_SOLARIZE: m = linspace_f(255.0f, 0.0f, num_bins, bin); break;
    default: break;
    }
    if (is_signed) *is_signed = sgn;
    return m;
}

void vs_aug_ra_draw(vs_aug_ra *ra, int num_ops, int magnitude, int H, int W, vs_aug_rng *r) {
    if (num_ops > VS_AUG_RA_MAX_OPS) num_ops = VS_AUG_RA_MAX_OPS;
    if (num_ops < 0) num_ops = 0;
    ra->n_ops = num_ops;
    for (int k = 0; k < num_ops; k++) {
        vs_aug_ra_op op = (vs_aug_ra_op)vs_aug_rng_below(r, VS_AUG_RA_COUNT);
        bool sgn;
        double m = vs_aug_ra_magnitude(op, magnitude, 31, H, W, &sgn);
        if (sgn && vs_aug_rng_below(r, 2)) m = -m;
        ra->op[k] = op;
        ra->magnitude[k] = m;
    }
}

void vs__aug_inverse_affine(double m[6], double cx, double cy, double angle, double tx, double ty,
                            double scale, double shear_x, double shear_y) {
    const double deg = M_PI / 180.0;
    double rot = angle * deg, sx = shear_x * deg, sy = shear_y * deg;
    double a = cos(rot - sy) / cos(sy);
    double b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
    double c = sin(rot - sy) / cos(sy);
    double d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
    m[0] = d / scale;
    m[1] = -b / scale;
    m[2] = 0.0 / scale;
    m[3] = -c / scale;
    m[4] = a / scale;
    m[5] = 0.0 / scale;
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
    m[2] += cx;
    m[5] += cy;
}

/* F_t.affine with nearest + zero fill, the same grid for every frame: the source
 * pixel of each output pixel is computed once (float32, torchvision's order). */
static vs_status affine_frames(uint8_t *frames, int T, int H, int W, const double md[6]) {
    size_t npix = (size_t)H * W;
    int32_t *src = vs__malloc(sizeof(int32_t) * npix);
    uint8_t *tmp = vs__malloc(npix * 3);
    if (!src || !tmp) {
        vs__free(src);
        vs__free(tmp);
        return vs__err(VS_ERR_NOMEM, "RandAugment: out of memory for a %dx%d frame", H, W);
    }
    float th[6];
    for (int i = 0; i < 6; i++) th[i] = (float)md[i];
    /* rescaled_theta = theta^T / [0.5 w, 0.5 h] (float32 division) */
    const float hw = 0.5f * (float)W, hh = 0.5f * (float)H;
    const float r00 = th[0] / hw, r10 = th[1] / hw, r20 = th[2] / hw;
    const float r01 = th[3] / hh, r11 = th[4] / hh, r21 = th[5] / hh;
    for (int y = 0; y < H; y++) {
        float by = linspace_f(-(float)H * 0.5f + 0.5f, (float)H * 0.5f + 0.5f - 1.0f, H, y);
        for (int x = 0; x < W; x++) {
            float bx = linspace_f(-(float)W * 0.5f + 0.5f, (float)W * 0.5f + 0.5f - 1.0f, W, x);
            float gx = bx * r00 + by * r10 + r20;
            float gy = bx * r01 + by * r11 + r21;
            /* grid_sample unnormalize (align_corners=False) and nearest (round half even) */
            float ix = ((gx + 1.0f) * (float)W - 1.0f) / 2.0f;
            float iy = ((gy + 1.0f) * (float)H - 1.0f) / 2.0f;
            long xi = lrintf(ix), yi = lrintf(iy);
            src[(size_t)y * W + x] = (xi >= 0 && xi < W && yi >= 0 && yi < H) ? (int32_t)(yi * W + xi) : -1;
        }
    }
    for (int t = 0; t < T; t++) {
        uint8_t *f = frames + (size_t)t * npix * 3;
        memcpy(tmp, f, npix * 3);
        for (size_t p = 0; p < npix; p++) {
            int32_t s = src[p];
            if (s < 0) f[p * 3] = f[p * 3 + 1] = f[p * 3 + 2] = 0;
            else memcpy(f + p * 3, tmp + (size_t)s * 3, 3);
        }
    }
    vs__free(src);
    vs__free(tmp);
    return VS_OK;
}

/* _blend(img1, img2, ratio) = (ratio*img1 + (1-ratio)*img2).clamp(0,255).to(uint8) */
static inline uint8_t blend(float ratio, float one_minus, float a, float b) {
    float v = ratio * a;
    v += one_minus * b;
    if (v < 0) v = 0;
    if (v > 255.0f) v = 255.0f;
    return (uint8_t)v; /* truncation, as .to(torch.uint8) */
}

/* rgb_to_grayscale of a uint8 image: (0.2989 r + 0.587 g + 0.114 b).to(uint8) */
static inline uint8_t gray_u8(const uint8_t *p) {
    float v = 0.2989f * (float)p[0];
    v += 0.587f * (float)p[1];
    v += 0.114f * (float)p[2];
    return (uint8_t)v;
}

static void color_op(uint8_t *f, size_t npix, vs_aug_ra_op op, double factor) {
    const float ratio = (float)factor, om = (float)(1.0 - factor);
    if (op == VS_AUG_RA_BRIGHTNESS) {
        for (size_t i = 0; i < npix * 3; i++) f[i] = blend(ratio, om, f[i], 0.0f);
    } else if (op == VS_AUG_RA_COLOR) {
        for (size_t p = 0; p < npix; p++) {
            float g = gray_u8(f + p * 3);
            for (int c = 0; c < 3; c++) f[p * 3 + c] = blend(ratio, om, f[p * 3 + c], g);
        }
    } else { /* contrast: blend with the mean of the (truncated) grey image of this frame */
        double s = 0;
        for (size_t p = 0; p < npix; p++) s += gray_u8(f + p * 3);
        float mean = (float)(s / (double)npix);
        for (size_t i = 0; i < npix * 3; i++) f[i] = blend(ratio, om, f[i], mean);
    }
}

/* adjust_sharpness: blend with the 3x3 (1,1,1;1,5,1;1,1,1)/13 smoothed interior
 * (rounded), border pixels kept. */
static vs_status sharpness(uint8_t *f, int H, int W, double factor) {
    if (H <= 2 || W <= 2) return VS_OK;
    size_t n = (size_t)H * W * 3;
    uint8_t *deg = vs__malloc(n);
    if (!deg) return vs__err(VS_ERR_NOMEM, "RandAugment: out of memory for a %dx%d frame", H, W);
    memcpy(deg, f, n);
    const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
    for (int y = 1; y < H - 1; y++)
        for (int x = 1; x < W - 1; x++)
            for (int c = 0; c < 3; c++) {
                float acc = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        float w = (dy == 0 && dx == 0) ? k5 : k1;
                        acc += (float)f[((size_t)(y + dy) * W + (x + dx)) * 3 + c] * w;
                    }
                deg[((size_t)y * W + x) * 3 + c] = (uint8_t)nearbyintf(acc);
            }
    const float ratio = (float)factor, om = (float)(1.0 - factor);
    for (size_t i = 0; i < n; i++) f[i] = blend(ratio, om, f[i], deg[i]);
    vs__free(deg);
    return VS_OK;
}

static void autocontrast(uint8_t *f, size_t npix) {
    for (int c = 0; c < 3; c++) {
        int lo = 255, hi = 0;
        for (size_t p = 0; p < npix; p++) {
            int v = f[p * 3 + c];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        float mn = (float)lo, scale;
        if (hi == lo) { /* scale = inf: torchvision uses min 0, scale 1 (identity) */
            mn = 0.0f;
            scale = 1.0f;
        } else {
            scale = 255.0f / (float)(hi - lo);
        }
        for (size_t p = 0; p < npix; p++) {
            float v = ((float)f[p * 3 + c] - mn) * scale;
            if (v < 0) v = 0;
            if (v > 255.0f) v = 255.0f;
            f[p * 3 + c] = (uint8_t)v;
        }
    }
}

static void equalize(uint8_t *f, size_t npix) {
    for (int c = 0; c < 3; c++) {
        long hist[256] = {0};
        for (size_t p = 0; p < npix; p++) hist[f[p * 3 + c]]++;
        /* step = sum of the non-zero bins except the last non-zero one, // 255 */
        int last = 255;
        while (last >= 0 && hist[last] == 0) last--;
        long s = 0;
        for (int v = 0; v < last; v++) s += hist[v];
        long step = s / 255;
        if (step == 0) continue;
        uint8_t lut[256];
        long cum = 0;
        /* lut = pad((cumsum + step//2) // step, [1,0])[:-1].clamp(0,255) */
        long prev = 0;
        for (int v = 0; v < 256; v++) {
            long val = v == 0 ? 0 : prev;
            lut[v] = (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
            cum += hist[v];
            prev = (cum + step / 2) / step;
        }
        for (size_t p = 0; p < npix; p++) f[p * 3 + c] = lut[f[p * 3 + c]];
    }
}

vs_status vs_aug_ra_apply(uint8_t *frames, int T, int H, int W, vs_aug_ra_op op, double magnitude) {
    if (!frames || T < 0 || H < 1 || W < 1 || (unsigned)op >= VS_AUG_RA_COUNT)
        return vs__err(VS_ERR_INVALID_ARG, "RandAugment: bad arguments (op %d, %dx%d)", (int)op, H, W);
    const size_t npix = (size_t)H * W;
    double m[6];
    switch (op) {
    case VS_AUG_RA_IDENTITY: return VS_OK;
    case VS_AUG_RA_SHEAR_X: /* center=[0,0] -> center_f = (-W/2, -H/2) */
        vs__aug_inverse_affine(m, -0.5 * W, -0.5 * H, 0, 0, 0, 1.0, atan(magnitude) * 180.0 / M_PI, 0);
        return affine_frames(frames, T, H, W, m);
    case VS_AUG_RA_SHEAR_Y:
        vs__aug_inverse_affine(m, -0.5 * W, -0.5 * H, 0, 0, 0, 1.0, 0, atan(magnitude) * 180.0 / M_PI);
        return affine_frames(frames, T, H, W, m);
    case VS_AUG_RA_TRANSLATE_X:
        vs__aug_inverse_affine(m, 0, 0, 0, (double)(int)magnitude, 0, 1.0, 0, 0);
        return affine_frames(frames, T, H, W, m);
    case VS_AUG_RA_TRANSLATE_Y:
        vs__aug_inverse_affine(m, 0, 0, 0, 0, (double)(int)magnitude, 1.0, 0, 0);
        return affine_frames(frames, T, H, W, m);
    case VS_AUG_RA_ROTATE:
        vs__aug_inverse_affine(m, 0, 0, -magnitude, 0, 0, 1.0, 0, 0);
        return affine_frames(frames, T, H, W, m);
    case VS_AUG_RA_BRIGHTNESS:
    case VS_AUG_RA_COLOR:
    case VS_AUG_RA_CONTRAST:
        for (int t = 0; t < T; t++) color_op(frames + (size_t)t * npix * 3, npix, op, 1.0 + magnitude);
        return VS_OK;
    case VS_AUG_RA_SHARPNESS:
        for (int t = 0; t < T; t++) {
            vs_status st = sharpness(frames + (size_t)t * npix * 3, H, W, 1.0 + magnitude);
            if (st != VS_OK) return st;
        }
        return VS_OK;
    case VS_AUG_RA_POSTERIZE: {
        int bits = (int)magnitude;
        if (bits < 0) bits = 0;
        if (bits > 8) bits = 8;
        uint8_t mask = (uint8_t)(0xFF << (8 - bits) & 0xFF);
        if (bits == 8) mask = 0xFF;
        for (size_t i = 0; i < npix * 3 * (size_t)T; i++) frames[i] &= mask;
        return VS_OK;
    }
    case VS_AUG_RA_SOLARIZE:
        for (size_t i = 0; i < npix * 3 * (size_t)T; i++)
            if ((double)frames[i] >= magnitude) frames[i] = (uint8_t)(255 - frames[i]);
        return VS_OK;
    case VS_AUG_RA_AUTOCONTRAST:
        for (int t = 0; t < T; t++) autocontrast(frames + (size_t)t * npix * 3, npix);
        return VS_OK;
    case VS_AUG_RA_EQUALIZE:
        for (int t = 0; t < T; t++) equalize(frames + (size_t)t * npix * 3, npix);
        return VS_OK;
    default: break;
    }
    return VS_OK;
}
