/*
 * transformer.c - transformer building blocks with forward and backward passes:
 * Linear backward, LayerNorm, exact GELU, softmax, timm/BEiT multi-head self-attention
 * (inner width H*hd independent of C; optional q/k/v biases; optional key mask) and the
 * pre-norm block. Math and conventions are in transformer.h; backward passes accumulate.
 *
 * The per-head products run as strided cblas_sgemm calls straight on the [B,N,3,H,hd]
 * qkv buffer (no head transposes). LayerNorm moments are accumulated in double.
 * Not here: dropout, drop-path, layer scale, relative position bias, causal masks.
 */
#include "nn/transformer.h"
#include "nn/nn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void vs__linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int N, int n_in, int n_out) {
    if (N <= 0)
        return;
    if (dinp) /* dinp [N,n_in] += dout [N,n_out] . w [n_out,n_in] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, n_in, n_out, 1.0f, dout, n_out,
                    w, n_in, 1.0f, dinp, n_in);
    if (dw) /* dw [n_out,n_in] += dout^T [n_out,N] . inp [N,n_in] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_out, n_in, N, 1.0f, dout, n_out,
                    inp, n_in, 1.0f, dw, n_in);
    if (db)
        for (long n = 0; n < N; n++)
            for (int o = 0; o < n_out; o++) db[o] += dout[n * n_out + o];
}

void vs__layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, float eps, int N, int C) {
    for (long n = 0; n < N; n++) {
        const float *x = inp + n * C;
        float *y = out + n * C;
        double s = 0.0;
        for (int c = 0; c < C; c++) s += x[c];
        double m = s / C;
        double v = 0.0;
        for (int c = 0; c < C; c++) {
            double t = x[c] - m;
            v += t * t;
        }
        v /= C;
        float mf = (float)m;
        float r = (float)(1.0 / sqrt(v + (double)eps));
        for (int c = 0; c < C; c++) {
            float t = (x[c] - mf) * r;
            y[c] = t * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
        }
        if (mean)
            mean[n] = mf;
        if (rstd)
            rstd[n] = r;
    }
}

void vs__layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                            const float *inp, const float *w, const float *mean,
                            const float *rstd, int N, int C) {
    for (long n = 0; n < N; n++) {
        const float *x = inp + n * C;
        const float *dy = dout + n * C;
        float m = mean[n], r = rstd[n];
        /* dxhat = dy*w; dx = r*(dxhat - mean(dxhat) - xhat*mean(dxhat*xhat)) */
        double s1 = 0.0, s2 = 0.0;
        for (int c = 0; c < C; c++) {
            float xh = (x[c] - m) * r;
            float dxh = dy[c] * (w ? w[c] : 1.0f);
            s1 += dxh;
            s2 += (double)dxh * xh;
            if (dw)
                dw[c] += dy[c] * xh;
            if (db)
                db[c] += dy[c];
        }
        if (!dinp)
            continue;
        float m1 = (float)(s1 / C), m2 = (float)(s2 / C);
        float *dx = dinp + n * C;
        for (int c = 0; c < C; c++) {
            float xh = (x[c] - m) * r;
            float dxh = dy[c] * (w ? w[c] : 1.0f);
            dx[c] += r * (dxh - m1 - xh * m2);
        }
    }
}

void vs__gelu_forward(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
    }
}

void vs__gelu_backward(float *dinp, const float *dout, const float *inp, long n) {
    const float k = 0.3989422804014327f; /* 1/sqrt(2 pi) */
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2));
        float pdf = k * expf(-0.5f * x * x);
        dinp[i] += dout[i] * (cdf + x * pdf);
    }
}

void vs__softmax_forward(float *out, const float *inp, int N, int C) {
    for (long n = 0; n < N; n++) {
        const float *x = inp + n * C;
        float *y = out + n * C;
        float mx = -INFINITY;
        for (int c = 0; c < C; c++) mx = x[c] > mx ? x[c] : mx;
        float s = 0.0f;
        for (int c = 0; c < C; c++) {
            y[c] = expf(x[c] - mx);
            s += y[c];
        }
        float inv = 1.0f / s;
        for (int c = 0; c < C; c++) y[c] *= inv;
    }
}

void vs__softmax_backward(float *dinp, const float *dout, const float *out, int N, int C) {
    for (long n = 0; n < N; n++) {
        const float *dy = dout + n * C, *y = out + n * C;
        float *dx = dinp + n * C;
        float s = 0.0f;
        for (int c = 0; c < C; c++) s += dy[c] * y[c];
        for (int c = 0; c < C; c++) dx[c] += y[c] * (dy[c] - s);
    }
}

/* Softmax of one attention row with an optional key mask; all-masked -> zeros. */
static void masked_softmax_row(float *p, const unsigned char *km, int N) {
    float mx = -INFINITY;
    for (int j = 0; j < N; j++)
        if ((!km || km[j]) && p[j] > mx)
            mx = p[j];
    if (mx == -INFINITY) {
        for (int j = 0; j < N; j++) p[j] = 0.0f;
        return;
    }
    float s = 0.0f;
    for (int j = 0; j < N; j++) {
        float e = (!km || km[j]) ? expf(p[j] - mx) : 0.0f;
        p[j] = e;
        s += e;
    }
    float inv = 1.0f / s;
    for (int j = 0; j < N; j++) p[j] *= inv;
}

void vs__attention_forward(float *out, float *qkv, float *att, float *y, const float *inp,
                           const float *qkv_w, const float *q_b, const float *k_b,
                           const float *v_b, const float *proj_w, const float *proj_b,
                           const unsigned char *key_mask, int B, int N, int C, int H, int hd) {
    const int HD = H * hd, HD3 = 3 * HD;
    const long BN = (long)B * N;
    /* qkv [BN,3HD] = inp . qkv_w^T + cat(q_b, k_b, v_b) */
    vs__linear_forward(qkv, inp, qkv_w, NULL, (int)BN, C, HD3);
    const float *bias[3] = {q_b, k_b, v_b};
    for (int s = 0; s < 3; s++) {
        if (!bias[s])
            continue;
        for (long r = 0; r < BN; r++) {
            float *q = qkv + r * HD3 + s * HD;
            for (int i = 0; i < HD; i++) q[i] += bias[s][i];
        }
    }
    const float scale = 1.0f / sqrtf((float)hd);
    for (int b = 0; b < B; b++) {
        const unsigned char *km = key_mask ? key_mask + (long)b * N : NULL;
        const float *base = qkv + (long)b * N * HD3;
        for (int h = 0; h < H; h++) {
            const float *Q = base + h * hd, *K = base + HD + h * hd, *V = base + 2 * HD + h * hd;
            float *A = att + ((long)b * H + h) * N * N;
            /* A [N,N] = scale * Q [N,hd] . K^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, hd, scale, Q, HD3, K, HD3,
                        0.0f, A, N);
            for (int i = 0; i < N; i++) masked_softmax_row(A + (long)i * N, km, N);
            /* y_h [N,hd] (row stride HD) = A . V */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, hd, N, 1.0f, A, N, V, HD3,
                        0.0f, y + (long)b * N * HD + h * hd, HD);
        }
    }
    vs__linear_forward(out, y, proj_w, proj_b, (int)BN, HD, C);
}

size_t vs__attention_scratch_floats(int B, int N, int C, int H, int hd) {
    (void)C;
    size_t BN = (size_t)B * N, HD = (size_t)H * hd;
    return BN * HD + BN * 3 * HD + (size_t)N * N;
}

void vs__attention_backward(float *dinp, float *dqkv_w, float *dq_b, float *dk_b, float *dv_b,
                            float *dproj_w, float *dproj_b, float *scratch, const float *dout,
                            const float *inp, const float *qkv, const float *att, const float *y,
                            const float *qkv_w, const float *proj_w, int B, int N, int C, int H,
                            int hd) {
    const int HD = H * hd, HD3 = 3 * HD;
    const long BN = (long)B * N;
    float *dy = scratch;            /* [BN,HD] */
    float *dqkv = dy + BN * HD;     /* [BN,3HD] */
    float *dA = dqkv + BN * HD3;    /* [N,N] */
    memset(dy, 0, sizeof(float) * (size_t)(BN * HD));
    memset(dqkv, 0, sizeof(float) * (size_t)(BN * HD3));
    vs__linear_backward(dy, dproj_w, dproj_b, dout, y, proj_w, (int)BN, HD, C);
    const float scale = 1.0f / sqrtf((float)hd);
    for (int b = 0; b < B; b++) {
        const float *base = qkv + (long)b * N * HD3;
        float *dbase = dqkv + (long)b * N * HD3;
        for (int h = 0; h < H; h++) {
            const float *Q = base + h * hd, *K = base + HD + h * hd, *V = base + 2 * HD + h * hd;
            float *dQ = dbase + h * hd, *dK = dbase + HD + h * hd, *dV = dbase + 2 * HD + h * hd;
            const float *A = att + ((long)b * H + h) * N * N;
            const float *dY = dy + (long)b * N * HD + h * hd;
            /* dA [N,N] = dY [N,hd] . V^T ; dV += A^T . dY */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, hd, 1.0f, dY, HD, V, HD3,
                        0.0f, dA, N);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, hd, N, 1.0f, A, N, dY, HD,
                        1.0f, dV, HD3);
            /* softmax backward in place: dS = A * (dA - rowsum(A*dA)) */
            for (int i = 0; i < N; i++) {
                const float *a = A + (long)i * N;
                float *d = dA + (long)i * N;
                float s = 0.0f;
                for (int j = 0; j < N; j++) s += a[j] * d[j];
                for (int j = 0; j < N; j++) d[j] = a[j] * (d[j] - s);
            }
            /* S = scale Q K^T: dQ += scale dS K ; dK += scale dS^T Q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, hd, N, scale, dA, N, K, HD3,
                        1.0f, dQ, HD3);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, hd, N, scale, dA, N, Q, HD3,
                        1.0f, dK, HD3);
        }
    }
    float *dbias[3] = {dq_b, dk_b, dv_b};
    for (int s = 0; s < 3; s++) {
        if (!dbias[s])
            continue;
        for (long r = 0; r < BN; r++) {
            const float *d = dqkv + r * HD3 + s * HD;
            for (int i = 0; i < HD; i++) dbias[s][i] += d[i];
        }
    }
    vs__linear_backward(dinp, dqkv_w, NULL, dqkv, inp, qkv_w, (int)BN, C, HD3);
}

size_t vs__block_cache_floats(int B, int N, const vs__block_dims *d) {
    size_t BN = (size_t)B * N, C = d->C, HD = (size_t)d->H * d->hd, M = d->M;
    return BN * C * 3 + BN * 4 + BN * 3 * HD + (size_t)B * d->H * N * N + BN * HD + BN * M * 2;
}

void vs__block_cache_bind(vs__block_cache *c, float *buf, int B, int N, const vs__block_dims *d) {
    size_t BN = (size_t)B * N, C = d->C, HD = (size_t)d->H * d->hd, M = d->M;
    float *p = buf;
    c->ln1 = p; p += BN * C;
    c->ln1_mean = p; p += BN;
    c->ln1_rstd = p; p += BN;
    c->qkv = p; p += BN * 3 * HD;
    c->att = p; p += (size_t)B * d->H * N * N;
    c->y = p; p += BN * HD;
    c->x1 = p; p += BN * C;
    c->ln2 = p; p += BN * C;
    c->ln2_mean = p; p += BN;
    c->ln2_rstd = p; p += BN;
    c->fc1 = p; p += BN * M;
    c->gelu = p;
}

size_t vs__block_scratch_floats(int B, int N, const vs__block_dims *d) {
    size_t BN = (size_t)B * N;
    return BN * (size_t)d->M * 2 + BN * (size_t)d->C * 2 +
           vs__attention_scratch_floats(B, N, d->C, d->H, d->hd);
}

void vs__block_forward(float *out, vs__block_cache *c, const float *inp, const vs__block_w *w,
                       const unsigned char *key_mask, int B, int N, const vs__block_dims *d) {
    const int C = d->C, M = d->M;
    const long BN = (long)B * N;
    vs__layernorm_forward(c->ln1, c->ln1_mean, c->ln1_rstd, inp, w->ln1_w, w->ln1_b, d->eps,
                          (int)BN, C);
    /* attention output goes to out, then x1 = inp + out */
    vs__attention_forward(out, c->qkv, c->att, c->y, c->ln1, w->qkv_w, w->q_b, w->k_b, w->v_b,
                          w->proj_w, w->proj_b, key_mask, B, N, C, d->H, d->hd);
    for (long i = 0; i < BN * C; i++) c->x1[i] = inp[i] + out[i];
    vs__layernorm_forward(c->ln2, c->ln2_mean, c->ln2_rstd, c->x1, w->ln2_w, w->ln2_b, d->eps,
                          (int)BN, C);
    vs__linear_forward(c->fc1, c->ln2, w->fc1_w, w->fc1_b, (int)BN, C, M);
    vs__gelu_forward(c->gelu, c->fc1, BN * M);
    vs__linear_forward(out, c->gelu, w->fc2_w, w->fc2_b, (int)BN, M, C);
    for (long i = 0; i < BN * C; i++) out[i] += c->x1[i];
}

void vs__block_backward(float *dinp, const vs__block_w *g, float *scratch, const float *dout,
                        const float *inp, const vs__block_cache *c, const vs__block_w *w,
                        const unsigned char *key_mask, int B, int N, const vs__block_dims *d) {
    static const vs__block_w none;
    (void)key_mask; /* already applied: masked keys have att == 0 in the cache */
    if (!g)
        g = &none;
    const int C = d->C, M = d->M;
    const long BN = (long)B * N;
    float *d_gelu = scratch;        /* [BN,M] */
    float *d_fc1 = d_gelu + BN * M; /* [BN,M] */
    float *d_ln = d_fc1 + BN * M;   /* [BN,C] */
    float *d_x1 = d_ln + BN * C;    /* [BN,C] */
    float *ascr = d_x1 + BN * C;
    size_t nm = sizeof(float) * (size_t)(BN * M), nc = sizeof(float) * (size_t)(BN * C);
    /* out = x1 + fc2(gelu(fc1(ln2(x1)))) */
    memcpy(d_x1, dout, nc);
    memset(d_gelu, 0, nm);
    vs__linear_backward(d_gelu, g->fc2_w, g->fc2_b, dout, c->gelu, w->fc2_w, (int)BN, M, C);
    memset(d_fc1, 0, nm);
    vs__gelu_backward(d_fc1, d_gelu, c->fc1, BN * M);
    memset(d_ln, 0, nc);
    vs__linear_backward(d_ln, g->fc1_w, g->fc1_b, d_fc1, c->ln2, w->fc1_w, (int)BN, C, M);
    vs__layernorm_backward(d_x1, g->ln2_w, g->ln2_b, d_ln, c->x1, w->ln2_w, c->ln2_mean,
                           c->ln2_rstd, (int)BN, C);
    /* x1 = inp + attn(ln1(inp)) */
    if (dinp)
        for (long i = 0; i < BN * C; i++) dinp[i] += d_x1[i];
    memset(d_ln, 0, nc);
    vs__attention_backward(d_ln, g->qkv_w, g->q_b, g->k_b, g->v_b, g->proj_w, g->proj_b, ascr,
                           d_x1, c->ln1, c->qkv, c->att, c->y, w->qkv_w, w->proj_w, B, N, C, d->H,
                           d->hd);
    vs__layernorm_backward(dinp, g->ln1_w, g->ln1_b, d_ln, inp, w->ln1_w, c->ln1_mean,
                           c->ln1_rstd, (int)BN, C);
}

void vs__sinusoid_table(float *out, int n_pos, int dim) {
    for (int p = 0; p < n_pos; p++)
        for (int j = 0; j < dim; j++) {
            double a = (double)p / pow(10000.0, 2.0 * (double)(j / 2) / (double)dim);
            out[(long)p * dim + j] = (float)((j % 2 == 0) ? sin(a) : cos(a));
        }
}
