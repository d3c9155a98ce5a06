/*
 * act.c - element-wise activations and the comparator's masking helpers
 * (VideoComparator._apply_mask: cells outside the outer product of the row and column
 * frame masks are set to 0). Masks are 0/1 bytes; NULL means "all valid".
 */
#include "nn/nn.h"

void vs__hardtanh_forward(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) {
        float v = inp[i];
        out[i] = v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v);
    }
}

void vs__relu_forward(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

VS__CLONES
void vs__mask_relu_forward(float *out, const float *inp, const unsigned char *rm,
                           const unsigned char *cm, int C, int H, int W) {
    for (long c = 0; c < C; c++)
        for (int y = 0; y < H; y++) {
            const float *s = inp + (c * H + y) * W;
            float *d = out + (c * H + y) * W;
            if (rm && !rm[y]) {
                for (int x = 0; x < W; x++) d[x] = 0.0f;
                continue;
            }
            for (int x = 0; x < W; x++) {
                float v = s[x] > 0.0f ? s[x] : 0.0f;
                d[x] = (cm && !cm[x]) ? 0.0f : v;
            }
        }
}

void vs__mask_apply(float *out, const float *inp, const unsigned char *rm,
                    const unsigned char *cm, int H, int W) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int ok = (!rm || rm[y]) && (!cm || cm[x]);
            out[(long)y * W + x] = ok ? inp[(long)y * W + x] : 0.0f;
        }
}
