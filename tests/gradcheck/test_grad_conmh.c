/*
 * test_grad_conmh.c - finite-difference check of the whole ConMH training objective
 * (two masked views, encoder, hash layer, decoder, reconstruction MSE, debiased
 * contrastive loss on frame-averaged codes) with respect to EVERY parameter tensor, on a
 * tiny configuration with the quirky head width (encoder 14 wide, 3 heads -> head dim
 * 4, inner width 12; decoder 9 wide, 3 heads).
 *
 * The +-1 binarisation has zero derivative almost everywhere, so finite differences
 * cannot see the straight-through estimator. The check runs with relax = 1: code =
 * pre-activation and an identity STE; every other line of the backward is the one used
 * in training. (The STE mask itself is checked exactly against the reference in
 * test_parity_conmh: dL/dpreact == dL/dcode * [-1 < preact <= 1].)
 *
 * Method: float32 forward, loss in double, central differences with h = 1e-2 at up to
 * 24 entries per tensor; pass if max|num - ana| <= 2e-3 * max|ana| + 3e-5 per tensor (the
 * 3e-5 floor: float rounding of L ~ 3 is ~2e-7, divided by 2h; the smallest gradients,
 * ~1e-2, sit near it). Measured worst relative error 8.4e-4 (an encoder q_bias with
 * max|grad| 0.011, i.e. 9e-6 absolute); a wrong term gives >= 1e-1.
 * Also: the gradient of the recon-only / DCL-only objective separately (alpha = 0 and
 * recon_scale = 0), so both terms are checked on their own, and the DCL gradient
 * against finite differences of vs__conmh_dcl directly (double precision, h = 1e-4).
 */
#include "test.h"

#include "hash/conmh.h"

static const double TOL = 2e-3;
static const double ABS_FLOOR = 3e-5; /* float rounding of L (~3 * 6e-8) / 2h ~ 1e-5 */
static const float H_FD = 1e-2f;

static vs__conmh M;
static vs__conmh_ws WS;
static float *X;
static uint8_t MASKS[3 * 2 * 8];
static vs__conmh_loss_cfg LC;
static double worst;

static double loss(void) {
    vs__conmh_loss L;
    vs__conmh_loss_backward(&M, NULL, &WS, X, MASKS, &LC, &L);
    return L.total;
}

static void check_tensor_grad(const char *name, float *p, const float *ana, long n) {
    double max_ana = 0, max_err = 0;
    long step = n > 24 ? n / 24 : 1;
    for (long i = 0; i < n; i += step) {
        float keep = p[i];
        p[i] = keep + H_FD;
        double lp = loss();
        p[i] = keep - H_FD;
        double lm = loss();
        p[i] = keep;
        double num = (lp - lm) / (2.0 * H_FD);
        double e = fabs(num - ana[i]);
        if (e > max_err) max_err = e;
        if (fabs(ana[i]) > max_ana) max_ana = fabs(ana[i]);
    }
    double rel = max_err / (max_ana > 1e-7 ? max_ana : 1e-7);
    if (rel > worst) worst = rel;
    fprintf(stderr, "  %-40s n=%-5ld max|ana| %.3g  rel err %.2e\n", name, n, max_ana, rel);
    CHECK_MSG(max_err <= TOL * max_ana + ABS_FLOOR, "%s: error %.3g > %.3g * %.3g + %.0e", name,
              max_err, TOL, max_ana, ABS_FLOOR);
}

static void run(const char *what, float alpha, float recon_scale, int all) {
    fprintf(stderr, "%s\n", what);
    LC.alpha = alpha;
    LC.recon_scale = recon_scale;
    float *grads = calloc((size_t)M.n_params, sizeof(float));
    vs__conmh_p g;
    vs__conmh_bind(&g, grads, &M.cfg);
    vs__conmh_loss L;
    vs__conmh_loss_backward(&M, &g, &WS, X, MASKS, &LC, &L);
    fprintf(stderr, "  loss total %.6f recon %.6f dcl %.6f\n", L.total, L.recon, L.dcl);
    static vs__conmh_entry tab[VS__CONMH_MAX_PARAMS];
    int np = vs__conmh_table(&M.cfg, tab, NULL);
    double gmax = 0;
    for (int i = 0; i < np; i++) {
        /* recon-only: the DCL-free path still reaches every parameter. DCL-only: the
         * decoder gets no gradient; check the encoder side only */
        int is_dec = strncmp(tab[i].name, "decoder.", 8) == 0 ||
                     strcmp(tab[i].name, "mask_token") == 0 ||
                     strcmp(tab[i].name, "encoder_to_decoder.weight") == 0;
        if (!all && is_dec) {
            for (long k = 0; k < tab[i].numel; k++)
                gmax = fabs(grads[tab[i].offset + k]) > gmax ? fabs(grads[tab[i].offset + k]) : gmax;
            continue;
        }
        check_tensor_grad(tab[i].name, M.params + tab[i].offset, grads + tab[i].offset,
                          tab[i].numel);
    }
    if (!all)
        CHECK_MSG(gmax == 0.0, "DCL-only: decoder gradient %.3g should be exactly 0", gmax);
    free(grads);
}

static void test_dcl_direct(void) {
    fprintf(stderr, "DCL alone (double finite differences)\n");
    enum { B = 3, NB = 5 };
    float h1[B * NB], h2[B * NB], d1[B * NB], d2[B * NB];
    uint64_t s = 7;
    for (int i = 0; i < B * NB; i++) {
        h1[i] = (float)(2 * vs__conmh_uniform(&s) - 1);
        h2[i] = (float)(2 * vs__conmh_uniform(&s) - 1);
    }
    double *scr = malloc(sizeof(double) * vs__conmh_dcl_scratch(B, NB));
    vs__conmh_dcl(d1, d2, scr, h1, h2, B, NB, 0.5, 0.1, 1.0);
    double max_err = 0, max_ana = 0;
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < B * NB; i++) {
            float *h = v ? h2 : h1;
            const float *d = v ? d2 : d1;
            float keep = h[i];
            h[i] = keep + 1e-3f;
            double lp = vs__conmh_dcl(NULL, NULL, scr, h1, h2, B, NB, 0.5, 0.1, 1.0);
            h[i] = keep - 1e-3f;
            double lm = vs__conmh_dcl(NULL, NULL, scr, h1, h2, B, NB, 0.5, 0.1, 1.0);
            h[i] = keep;
            double num = (lp - lm) / ((double)(keep + 1e-3f) - (double)(keep - 1e-3f));
            max_err = fmax(max_err, fabs(num - d[i]));
            max_ana = fmax(max_ana, fabs(d[i]));
        }
    fprintf(stderr, "  dcl dh rel err %.2e (max|ana| %.3g)\n", max_err / max_ana, max_ana);
    CHECK(max_err / max_ana < 1e-4);
    /* known answer: B = 2, identical views of two orthogonal codes:
     * cos(pos) = 1, cos(neg) = 0: pos = e^2, neg = 2, N = 2, Ng = (-0.1*2*e^2 + 2)/0.9,
     * clamped to 2 e^-2 if smaller. */
    float a[2 * 2] = {1, 0, 0, 1};
    double l = vs__conmh_dcl(NULL, NULL, scr, a, a, 2, 2, 0.5, 0.1, 1.0);
    double e2 = exp(2.0), ng = (-0.1 * 2 * e2 + 2) / 0.9;
    if (ng < 2 * exp(-2.0)) ng = 2 * exp(-2.0);
    CHECK_NEAR(l, -log(e2 / (e2 + ng)), 1e-12);
    free(scr);
}

int main(void) {
    vs__conmh_cfg cfg = {.F = 6, .T = 8, .nbits = 5, .enc_C = 14, .enc_depth = 2, .enc_H = 3,
                         .dec_C = 9, .dec_depth = 1, .dec_H = 3, .mlp_ratio = 2,
                         .ln_eps = 1e-6f, .hash_eps = 1e-5f};
    const int B = 3, T = 8, nv = 3; /* 5 masked per view, visible sets disjoint */
    CHECK(vs__conmh_create(&M, &cfg) == VS_OK);
    vs__conmh_init(M.params, &cfg, 42);
    /* perturb zero biases / unit LayerNorm weights so every term is exercised */
    uint64_t s = 99;
    for (long i = 0; i < M.n_params; i++) M.params[i] += (float)(0.1 * (2 * vs__conmh_uniform(&s) - 1));
    CHECK(vs__conmh_ws_create(&WS, &cfg, B, nv, 1) == VS_OK);
    X = malloc(sizeof(float) * B * T * cfg.F);
    for (int i = 0; i < B * T * cfg.F; i++) X[i] = (float)fabs(2 * vs__conmh_uniform(&s) - 1);
    for (int b = 0; b < B; b++) {
        int perm[8];
        for (int t = 0; t < T; t++) perm[t] = t;
        for (int t = T - 1; t > 0; t--) {
            int j = (int)(vs__conmh_uniform(&s) * (t + 1));
            int tmp = perm[t]; perm[t] = perm[j]; perm[j] = tmp;
        }
        for (int t = 0; t < T; t++) {
            MASKS[(b * 2 + 0) * T + perm[t]] = t >= nv;       /* view 1: first nv visible */
            MASKS[(b * 2 + 1) * T + perm[t]] = t < T - nv;    /* view 2: last nv visible */
        }
    }
    LC = (vs__conmh_loss_cfg){.alpha = 1.0f, .temperature = 0.5f, .tau_plus = 0.1f,
                              .recon_scale = 1.0f, .relax = 1};
    run("full objective (recon + DCL), relaxed binarisation", 1.0f, 1.0f, 1);
    run("DCL only (recon_scale 0)", 1.0f, 0.0f, 0);
    run("recon only x 3 (alpha 0)", 0.0f, 3.0f, 1);
    test_dcl_direct();
    fprintf(stderr, "worst relative gradient error: %.2e (tolerance %.0e)\n", worst, TOL);
    vs__conmh_ws_free(&WS);
    vs__conmh_destroy(&M);
    free(X);
    return vs_test_done();
}
