/*
 * linear.c - fully connected layer, PyTorch nn.Linear layout: y = x W^T + b with
 * W [O,I]. One cblas_sgemm over all N rows, then the bias. Backward: not yet.
 */
#include "nn/nn.h"

#include <cblas.h>

void vs__linear_forward(float *out, const float *inp, const float *w, const float *b, int N,
                        int n_in, int n_out) {
    /* out [N,n_out] = inp [N,n_in] . w^T [n_in,n_out] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, n_out, n_in, 1.0f, inp, n_in, w, n_in,
                0.0f, out, n_out);
    if (b)
        for (long n = 0; n < N; n++)
            for (int o = 0; o < n_out; o++) out[n * n_out + o] += b[o];
}
