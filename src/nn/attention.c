/*
 * attention.c - the ViSiL/S2VS region attention (model/layers.py Attention with
 * norm=False, activation=tanh):
 *     h = tanh(W x + b)      W [D,D] (nn.Linear "transform"), b [D]
 *     a = sigmoid(u . h)     u [D]   (nn.Linear "context_vector", no bias)
 *     x' = a * x             (no renormalisation)
 * The attention_norm=True variant of the original TF ViSiL is not implemented.
 * h is kept as the cache for the backward pass (dL/dW needs it).
 */
#include "nn/nn.h"

#include <math.h>

void vs__visil_attention_forward(float *out, float *a, float *h, const float *inp,
                                 const float *W, const float *b, const float *u, int N, int D) {
    /* h [N,D] = tanh(inp [N,D] . W^T + b) */
    vs__linear_forward(h, inp, W, b, N, D, D);
    for (long n = 0; n < N; n++) {
        float *hn = h + n * D;
        const float *xn = inp + n * D;
        float *yn = out + n * D;
        float s = 0.0f;
        for (int d = 0; d < D; d++) {
            hn[d] = tanhf(hn[d]);
            s += u[d] * hn[d];
        }
        float an = 1.0f / (1.0f + expf(-s));
        a[n] = an;
        for (int d = 0; d < D; d++) yn[d] = an * xn[d];
    }
}
