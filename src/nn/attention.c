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

#include <cblas.h>
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

/* Backward of vs__visil_attention_forward. With z = u . h and a = sigmoid(z):
 *   da = <dout, x>;  dz = da * a (1 - a);  du += dz h;  dpre = dz u (1 - h^2)
 *   dW += dpre^T x;  db += sum dpre;  dx += dout * a + dpre W.
 * dinp [N,D] (+=, may be NULL), dW [D,D], db [D], du [D] (+=), dout [N,D],
 * inp [N,D], a [N], h [N,D] (caches of the forward), W [D,D], u [D].
 * scratch [N,D] floats (dpre). */
void vs__visil_attention_backward(float *dinp, float *dW, float *db, float *du, float *scratch,
                                  const float *dout, const float *inp, const float *a,
                                  const float *h, const float *W, const float *u, int N, int D) {
    for (long n = 0; n < N; n++) {
        const float *g = dout + n * D, *xn = inp + n * D, *hn = h + n * D;
        float *dp = scratch + n * D;
        float da = 0.0f;
        for (int d = 0; d < D; d++) da += g[d] * xn[d];
        float an = a[n];
        float dz = da * an * (1.0f - an);
        for (int d = 0; d < D; d++) {
            du[d] += dz * hn[d];
            dp[d] = dz * u[d] * (1.0f - hn[d] * hn[d]);
            db[d] += dp[d];
        }
        if (dinp)
            for (int d = 0; d < D; d++) dinp[n * D + d] += g[d] * an;
    }
    /* dW [D,D] += dpre^T [D,N] . x [N,D];  dx [N,D] += dpre [N,D] . W [D,D] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, D, N, 1.0f, scratch, D, inp, D, 1.0f,
                dW, D);
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, D, 1.0f, scratch, D, W, D,
                    1.0f, dinp, D);
}
