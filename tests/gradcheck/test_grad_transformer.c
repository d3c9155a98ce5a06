/*
 * test_grad_transformer.c - finite-difference checks of every backward in
 * src/nn/transformer.c: Linear, LayerNorm, GELU, softmax, multi-head attention (inner
 * width H*hd != C, q/v biases without a k bias, a key mask) and the pre-norm block.
 *
 * Method: the ops are float32. The objective is L = sum_i out_i * r_i with fixed random
 * r, accumulated in double. For each tensor X (inputs and every parameter), the analytic
 * dL/dX from the backward is compared with the central difference
 * (L(x+h) - L(x-h)) / 2h, h = 1e-2 (inputs/weights are O(0.1..1)), at up to 40 sampled
 * entries. Error metric per tensor: max |num - ana| / max |ana| over the sampled entries.
 * Expected size: truncation O(h^2) ~ 1e-4 relative plus float rounding of L divided by
 * 2h ~ 1e-5 (measured worst 7.8e-5); tolerance 1e-3 (a wrong term in a backward gives errors of order 1e-1..1).
 * Also checks that backward ACCUMULATES: a second call doubles every gradient.
 */
#include "test.h"

#include "nn/nn.h"
#include "nn/transformer.h"

#include <stdint.h>

static const double TOL = 1e-3;
static const float H_FD = 1e-2f;

/* ---- the generic checker (tests/support): loss() recomputes the forward and returns L */
typedef double (*loss_fn)(void);

static double worst_overall;

static void check_grad(const char *name, loss_fn loss, float *x, const float *ana, long n) {
    double rel = vs_test_check_grad(name, loss, x, ana, n, H_FD, 40, TOL);
    if (rel > worst_overall) worst_overall = rel;
}

/* ---- shared buffers for the current case */
static int B_, N_, C_, H_, HD_, M_, NI_, NO_;
static float *X, *OUT, *R;
static float *W1, *B1, *B2, *W3, *B3;
static unsigned char *KM;

/* ================================================================ linear */
static double loss_linear(void) {
    vs__linear_forward(OUT, X, W1, B1, N_, NI_, NO_);
    return vs_test_dot(OUT, R, (long)N_ * NO_);
}
static void test_linear(void) {
    fprintf(stderr, "linear\n");
    N_ = 5; NI_ = 7; NO_ = 6;
    X = vs_test_alloc(N_ * NI_); OUT = vs_test_alloc(N_ * NO_); R = vs_test_alloc(N_ * NO_);
    W1 = vs_test_alloc(NO_ * NI_); B1 = vs_test_alloc(NO_);
    vs_test_fill(X, N_ * NI_, -1, 1); vs_test_fill(W1, NO_ * NI_, -0.5f, 0.5f); vs_test_fill(B1, NO_, -0.5f, 0.5f);
    vs_test_fill(R, N_ * NO_, -1, 1);
    float *dx = vs_test_alloc(N_ * NI_), *dw = vs_test_alloc(NO_ * NI_), *db = vs_test_alloc(NO_);
    vs__linear_backward(dx, dw, db, R, X, W1, N_, NI_, NO_);
    check_grad("linear.dinp", loss_linear, X, dx, N_ * NI_);
    check_grad("linear.dw", loss_linear, W1, dw, NO_ * NI_);
    check_grad("linear.db", loss_linear, B1, db, NO_);
    /* accumulation: a second call doubles */
    float keep = dw[3];
    vs__linear_backward(dx, dw, db, R, X, W1, N_, NI_, NO_);
    CHECK_NEAR(dw[3], 2 * keep, 1e-5 * fabs(keep) + 1e-7);
    free(dx); free(dw); free(db);
    free(X); free(OUT); free(R); free(W1); free(B1);
}

/* ================================================================ layernorm */
static float *MEAN, *RSTD;
static double loss_ln(void) {
    vs__layernorm_forward(OUT, MEAN, RSTD, X, W1, B1, 1e-5f, N_, C_);
    return vs_test_dot(OUT, R, (long)N_ * C_);
}
static void test_layernorm(void) {
    fprintf(stderr, "layernorm\n");
    N_ = 4; C_ = 9;
    X = vs_test_alloc(N_ * C_); OUT = vs_test_alloc(N_ * C_); R = vs_test_alloc(N_ * C_);
    W1 = vs_test_alloc(C_); B1 = vs_test_alloc(C_); MEAN = vs_test_alloc(N_); RSTD = vs_test_alloc(N_);
    vs_test_fill(X, N_ * C_, -2, 2); vs_test_fill(W1, C_, 0.5f, 1.5f); vs_test_fill(B1, C_, -0.5f, 0.5f);
    vs_test_fill(R, N_ * C_, -1, 1);
    float *dx = vs_test_alloc(N_ * C_), *dw = vs_test_alloc(C_), *db = vs_test_alloc(C_);
    loss_ln();
    vs__layernorm_backward(dx, dw, db, R, X, W1, MEAN, RSTD, N_, C_);
    check_grad("layernorm.dinp", loss_ln, X, dx, N_ * C_);
    check_grad("layernorm.dw", loss_ln, W1, dw, C_);
    check_grad("layernorm.db", loss_ln, B1, db, C_);
    /* known answer: normalised rows have mean 0 and variance 1 (w=1, b=0) */
    vs__layernorm_forward(OUT, MEAN, RSTD, X, NULL, NULL, 1e-5f, N_, C_);
    double m = 0, v = 0;
    for (int c = 0; c < C_; c++) m += OUT[c];
    for (int c = 0; c < C_; c++) v += (OUT[c] - m / C_) * (OUT[c] - m / C_);
    CHECK_NEAR(m / C_, 0.0, 1e-6);
    CHECK_NEAR(v / C_, 1.0, 1e-3);
    free(dx); free(dw); free(db);
    free(X); free(OUT); free(R); free(W1); free(B1); free(MEAN); free(RSTD);
}

/* ================================================================ gelu, softmax */
static double loss_gelu(void) {
    vs__gelu_forward(OUT, X, (long)N_);
    return vs_test_dot(OUT, R, N_);
}
static double loss_softmax(void) {
    vs__softmax_forward(OUT, X, N_, C_);
    return vs_test_dot(OUT, R, (long)N_ * C_);
}
static void test_gelu_softmax(void) {
    fprintf(stderr, "gelu, softmax\n");
    N_ = 30;
    X = vs_test_alloc(N_); OUT = vs_test_alloc(N_); R = vs_test_alloc(N_);
    vs_test_fill(X, N_, -3, 3); vs_test_fill(R, N_, -1, 1);
    float *dx = vs_test_alloc(N_);
    vs__gelu_backward(dx, R, X, N_);
    check_grad("gelu.dinp", loss_gelu, X, dx, N_);
    /* known answers: gelu(1) = 0.8413447460685429, gelu(-1) = -0.15865525393145707 */
    float kx[2] = {1.0f, -1.0f}, ky[2];
    vs__gelu_forward(ky, kx, 2);
    CHECK_NEAR(ky[0], 0.8413447460685429, 1e-6);
    CHECK_NEAR(ky[1], -0.15865525393145707, 1e-6);
    free(dx); free(X); free(OUT); free(R);

    N_ = 3; C_ = 7;
    X = vs_test_alloc(N_ * C_); OUT = vs_test_alloc(N_ * C_); R = vs_test_alloc(N_ * C_);
    vs_test_fill(X, N_ * C_, -2, 2); vs_test_fill(R, N_ * C_, -1, 1);
    dx = vs_test_alloc(N_ * C_);
    loss_softmax();
    vs__softmax_backward(dx, R, OUT, N_, C_);
    check_grad("softmax.dinp", loss_softmax, X, dx, N_ * C_);
    double s = 0;
    for (int c = 0; c < C_; c++) s += OUT[c];
    CHECK_NEAR(s, 1.0, 1e-6);
    free(dx); free(X); free(OUT); free(R);
}

/* ================================================================ attention */
static float *QKV, *ATT, *Y;
static double loss_attn(void) {
    vs__attention_forward(OUT, QKV, ATT, Y, X, W1, B1, NULL, B2, W3, B3, KM, B_, N_, C_, H_,
                          HD_ / H_);
    return vs_test_dot(OUT, R, (long)B_ * N_ * C_);
}
static void test_attention(void) {
    fprintf(stderr, "attention (C=12, H=3, hd=3 -> HD=9, no k bias, key mask)\n");
    B_ = 2; N_ = 5; C_ = 12; H_ = 3; HD_ = 9;
    long BN = (long)B_ * N_;
    X = vs_test_alloc(BN * C_); OUT = vs_test_alloc(BN * C_); R = vs_test_alloc(BN * C_);
    QKV = vs_test_alloc(BN * 3 * HD_); ATT = vs_test_alloc((long)B_ * H_ * N_ * N_); Y = vs_test_alloc(BN * HD_);
    W1 = vs_test_alloc(3 * HD_ * C_); B1 = vs_test_alloc(HD_); B2 = vs_test_alloc(HD_);
    W3 = vs_test_alloc(C_ * HD_); B3 = vs_test_alloc(C_);
    KM = malloc((size_t)BN);
    for (long i = 0; i < BN; i++) KM[i] = 1;
    KM[N_ + 3] = 0; KM[N_ + 4] = 0; /* sequence 1: last two keys are padding */
    vs_test_fill(X, BN * C_, -1, 1); vs_test_fill(W1, 3 * HD_ * C_, -0.6f, 0.6f);
    vs_test_fill(B1, HD_, -0.3f, 0.3f); vs_test_fill(B2, HD_, -0.3f, 0.3f);
    vs_test_fill(W3, C_ * HD_, -0.5f, 0.5f); vs_test_fill(B3, C_, -0.3f, 0.3f);
    vs_test_fill(R, BN * C_, -1, 1);
    float *dx = vs_test_alloc(BN * C_), *dw1 = vs_test_alloc(3 * HD_ * C_), *dqb = vs_test_alloc(HD_),
          *dkb = vs_test_alloc(HD_), *dvb = vs_test_alloc(HD_), *dw3 = vs_test_alloc(C_ * HD_), *db3 = vs_test_alloc(C_);
    float *scr = vs_test_alloc((long)vs__attention_scratch_floats(B_, N_, C_, H_, HD_ / H_));
    loss_attn();
    /* padded keys get exactly zero probability; rows sum to one */
    for (int h = 0; h < H_; h++)
        for (int i = 0; i < N_; i++) {
            const float *a = ATT + ((long)(1 * H_ + h) * N_ + i) * N_;
            CHECK(a[3] == 0.0f && a[4] == 0.0f);
            CHECK_NEAR(a[0] + a[1] + a[2], 1.0, 1e-6);
        }
    vs__attention_backward(dx, dw1, dqb, dkb, dvb, dw3, db3, scr, R, X, QKV, ATT, Y, W1, W3, B_,
                           N_, C_, H_, HD_ / H_);
    check_grad("attn.dinp", loss_attn, X, dx, BN * C_);
    check_grad("attn.qkv.weight", loss_attn, W1, dw1, 3 * HD_ * C_);
    check_grad("attn.q_bias", loss_attn, B1, dqb, HD_);
    check_grad("attn.v_bias", loss_attn, B2, dvb, HD_);
    check_grad("attn.proj.weight", loss_attn, W3, dw3, C_ * HD_);
    check_grad("attn.proj.bias", loss_attn, B3, db3, C_);
    /* a k bias adds the same constant to every score of a row: softmax-invariant, so its
     * gradient is zero (up to rounding) */
    double mk = 0;
    for (int i = 0; i < HD_; i++) mk = fabs(dkb[i]) > mk ? fabs(dkb[i]) : mk;
    CHECK_MSG(mk < 1e-5, "k bias gradient %.3g should be ~0", mk);
    /* padded keys of sequence 1 do not influence anything: their input gradient
     * through keys/values is zero, so only their own query path remains. Check that
     * changing a padded token's input does not change the real tokens' outputs. */
    loss_attn();
    float before = OUT[(long)N_ * C_ + 0];
    X[(long)(N_ + 4) * C_ + 1] += 0.5f;
    loss_attn();
    CHECK_NEAR(OUT[(long)N_ * C_ + 0], before, 1e-6);
    X[(long)(N_ + 4) * C_ + 1] -= 0.5f;
    free(dx); free(dw1); free(dqb); free(dkb); free(dvb); free(dw3); free(db3); free(scr);
    free(X); free(OUT); free(R); free(QKV); free(ATT); free(Y);
    free(W1); free(B1); free(B2); free(W3); free(B3); free(KM); KM = NULL;
}

/* ================================================================ block */
static vs__block_w BW;
static vs__block_dims BD;
static vs__block_cache BC;
static double loss_block(void) {
    vs__block_forward(OUT, &BC, X, &BW, KM, B_, N_, &BD);
    return vs_test_dot(OUT, R, (long)B_ * N_ * C_);
}
static void test_block(void) {
    fprintf(stderr, "pre-norm block (C=12, H=3, hd=3, M=20, eps 1e-6)\n");
    B_ = 2; N_ = 6; C_ = 12; H_ = 3; HD_ = 9; M_ = 20;
    BD = (vs__block_dims){.C = C_, .H = H_, .hd = HD_ / H_, .M = M_, .eps = 1e-6f};
    long BN = (long)B_ * N_;
    X = vs_test_alloc(BN * C_); OUT = vs_test_alloc(BN * C_); R = vs_test_alloc(BN * C_);
    float *cbuf = vs_test_alloc((long)vs__block_cache_floats(B_, N_, &BD));
    vs__block_cache_bind(&BC, cbuf, B_, N_, &BD);
    /* parameters and gradients in two parallel blocks */
    struct { float **w, **g; long n; float lo, hi; const char *name; } P[] = {
        {&BW.ln1_w, NULL, C_, 0.7f, 1.3f, "norm1.weight"},
        {&BW.ln1_b, NULL, C_, -0.2f, 0.2f, "norm1.bias"},
        {&BW.qkv_w, NULL, 3L * HD_ * C_, -0.5f, 0.5f, "attn.qkv.weight"},
        {&BW.q_b, NULL, HD_, -0.2f, 0.2f, "attn.q_bias"},
        {&BW.v_b, NULL, HD_, -0.2f, 0.2f, "attn.v_bias"},
        {&BW.proj_w, NULL, (long)C_ * HD_, -0.5f, 0.5f, "attn.proj.weight"},
        {&BW.proj_b, NULL, C_, -0.2f, 0.2f, "attn.proj.bias"},
        {&BW.ln2_w, NULL, C_, 0.7f, 1.3f, "norm2.weight"},
        {&BW.ln2_b, NULL, C_, -0.2f, 0.2f, "norm2.bias"},
        {&BW.fc1_w, NULL, (long)M_ * C_, -0.5f, 0.5f, "mlp.fc1.weight"},
        {&BW.fc1_b, NULL, M_, -0.2f, 0.2f, "mlp.fc1.bias"},
        {&BW.fc2_w, NULL, (long)C_ * M_, -0.4f, 0.4f, "mlp.fc2.weight"},
        {&BW.fc2_b, NULL, C_, -0.2f, 0.2f, "mlp.fc2.bias"},
    };
    const int NP = (int)(sizeof P / sizeof P[0]);
    vs__block_w G = {0};
    float **gfield[] = {&G.ln1_w, &G.ln1_b, &G.qkv_w, &G.q_b, &G.v_b, &G.proj_w, &G.proj_b,
                        &G.ln2_w, &G.ln2_b, &G.fc1_w, &G.fc1_b, &G.fc2_w, &G.fc2_b};
    memset(&BW, 0, sizeof BW);
    for (int i = 0; i < NP; i++) {
        *P[i].w = vs_test_alloc(P[i].n);
        vs_test_fill(*P[i].w, P[i].n, P[i].lo, P[i].hi);
        *gfield[i] = vs_test_alloc(P[i].n);
    }
    vs_test_fill(X, BN * C_, -1, 1); vs_test_fill(R, BN * C_, -1, 1);
    float *dx = vs_test_alloc(BN * C_);
    float *scr = vs_test_alloc((long)vs__block_scratch_floats(B_, N_, &BD));
    for (int pass = 0; pass < 2; pass++) {
        KM = NULL;
        if (pass == 1) { /* second pass: with a key mask (sequence 0 has 2 padded keys) */
            KM = malloc((size_t)BN);
            for (long i = 0; i < BN; i++) KM[i] = 1;
            KM[4] = KM[5] = 0;
            fprintf(stderr, " with key mask\n");
            memset(dx, 0, sizeof(float) * (size_t)(BN * C_));
            for (int i = 0; i < NP; i++) memset(*gfield[i], 0, sizeof(float) * (size_t)P[i].n);
        }
        loss_block();
        vs__block_backward(dx, &G, scr, R, X, &BC, &BW, KM, B_, N_, &BD);
        check_grad("block.dinp", loss_block, X, dx, BN * C_);
        for (int i = 0; i < NP; i++) {
            char nm[64];
            snprintf(nm, sizeof nm, "block.%s", P[i].name);
            check_grad(nm, loss_block, *P[i].w, *gfield[i], P[i].n);
        }
    }
    /* accumulation: a second backward doubles */
    float keep = G.fc1_w[5], keepx = dx[7];
    loss_block();
    vs__block_backward(dx, &G, scr, R, X, &BC, &BW, KM, B_, N_, &BD);
    CHECK_NEAR(G.fc1_w[5], 2 * keep, 1e-5 * fabs(keep) + 1e-7);
    CHECK_NEAR(dx[7], 2 * keepx, 1e-5 * fabs(keepx) + 1e-7);
    for (int i = 0; i < NP; i++) {
        free(*P[i].w);
        free(*gfield[i]);
    }
    free(KM); KM = NULL;
    free(dx); free(scr); free(cbuf); free(X); free(OUT); free(R);
}

static void test_sinusoid(void) {
    float t[4 * 6];
    vs__sinusoid_table(t, 4, 6);
    CHECK_NEAR(t[0], 0.0, 0);                       /* sin(0) */
    CHECK_NEAR(t[1], 1.0, 0);                       /* cos(0) */
    CHECK_NEAR(t[2 * 6 + 0], sin(2.0), 1e-7);       /* pos 2, j 0 */
    CHECK_NEAR(t[3 * 6 + 3], cos(3.0 / pow(10000.0, 2.0 / 6)), 1e-7);
    CHECK_NEAR(t[3 * 6 + 4], sin(3.0 / pow(10000.0, 4.0 / 6)), 1e-7);
}

int main(void) {
    test_linear();
    test_layernorm();
    test_gelu_softmax();
    test_attention();
    test_block();
    test_sinusoid();
    fprintf(stderr, "worst relative gradient error: %.2e (tolerance %.0e)\n", worst_overall, TOL);
    return vs_test_done();
}
