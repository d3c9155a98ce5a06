/*
 * pool.c - 2x2 max pooling, stride 2, no padding, floor (F.max_pool2d(x, 2, 2)): the
 * last row/column of an odd-sized map is dropped. The comparator variant fuses the
 * preceding mask and ReLU so the activated map is never stored. The backward pass
 * will recompute the argmax from the cached pre-activation input.
 */
#include "nn/nn.h"

void vs__maxpool2_forward(float *out, const float *inp, int C, int H, int W) {
    const int H2 = H / 2, W2 = W / 2;
    for (long c = 0; c < C; c++)
        for (int i = 0; i < H2; i++) {
            const float *r0 = inp + (c * H + 2 * i) * W, *r1 = r0 + W;
            float *o = out + (c * H2 + i) * W2;
            for (int j = 0; j < W2; j++) {
                float m = r0[2 * j];
                if (r0[2 * j + 1] > m) m = r0[2 * j + 1];
                if (r1[2 * j] > m) m = r1[2 * j];
                if (r1[2 * j + 1] > m) m = r1[2 * j + 1];
                o[j] = m;
            }
        }
}

VS__CLONES
void vs__mask_relu_maxpool2_forward(float *out, const float *inp, const unsigned char *rm,
                                    const unsigned char *cm, int C, int H, int W) {
    const int H2 = H / 2, W2 = W / 2;
    for (long c = 0; c < C; c++)
        for (int i = 0; i < H2; i++) {
            const float *r0 = inp + (c * H + 2 * i) * W, *r1 = r0 + W;
            int v0 = !rm || rm[2 * i], v1 = !rm || rm[2 * i + 1];
            float *o = out + (c * H2 + i) * W2;
            for (int j = 0; j < W2; j++) {
                int c0 = !cm || cm[2 * j], c1 = !cm || cm[2 * j + 1];
                float m = 0.0f; /* ReLU floor; masked cells are 0 too */
                if (v0 && c0 && r0[2 * j] > m) m = r0[2 * j];
                if (v0 && c1 && r0[2 * j + 1] > m) m = r0[2 * j + 1];
                if (v1 && c0 && r1[2 * j] > m) m = r1[2 * j];
                if (v1 && c1 && r1[2 * j + 1] > m) m = r1[2 * j + 1];
                o[j] = m;
            }
        }
}

void vs__mask_pool2(unsigned char *out, const unsigned char *inp, int n) {
    for (int i = 0; i < n / 2; i++) out[i] = (unsigned char)(inp[2 * i] || inp[2 * i + 1]);
}

/* Backward of vs__mask_relu_maxpool2_forward: the window's first maximum (row-major,
 * strict >, as PyTorch's CPU max_pool2d records it) receives the gradient when that
 * maximum is > 0 and unmasked (ReLU passes no gradient at 0). dinp [C,H,W] +=,
 * dout [C,H/2,W/2], inp [C,H,W] the cached pre-activation input. */
void vs__mask_relu_maxpool2_backward(float *dinp, const float *dout, const float *inp,
                                     const unsigned char *rm, const unsigned char *cm, int C,
                                     int H, int W) {
    const int H2 = H / 2, W2 = W / 2;
    for (long c = 0; c < C; c++)
        for (int i = 0; i < H2; i++) {
            const long o0 = (c * H + 2 * i) * W, o1 = o0 + W;
            int v0 = !rm || rm[2 * i], v1 = !rm || rm[2 * i + 1];
            const float *g = dout + (c * H2 + i) * W2;
            for (int j = 0; j < W2; j++) {
                int c0 = !cm || cm[2 * j], c1 = !cm || cm[2 * j + 1];
                float m = 0.0f;
                long at = -1;
                if (v0 && c0 && inp[o0 + 2 * j] > m) { m = inp[o0 + 2 * j]; at = o0 + 2 * j; }
                if (v0 && c1 && inp[o0 + 2 * j + 1] > m) { m = inp[o0 + 2 * j + 1]; at = o0 + 2 * j + 1; }
                if (v1 && c0 && inp[o1 + 2 * j] > m) { m = inp[o1 + 2 * j]; at = o1 + 2 * j; }
                if (v1 && c1 && inp[o1 + 2 * j + 1] > m) { m = inp[o1 + 2 * j + 1]; at = o1 + 2 * j + 1; }
                if (at >= 0) dinp[at] += g[j];
            }
        }
}
