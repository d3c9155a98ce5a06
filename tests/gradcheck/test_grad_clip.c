/*
 * test_grad_clip.c - finite-difference checks of every backward of the 3D-CSL-F clip
 * model (src/clip): token embedding (linear + spatial/temporal position embeddings + CLS),
 * the whole encoder (embedding, 2 joint space-time blocks, final LayerNorm) on a visible
 * subset of tokens, the PredMAE decoder (mask token, decoder positions, scatter/gather of
 * visible/masked rows, head), the PredMAE losses (1 - cos and MSE), L2 normalisation, the
 * top-k Chamfer similarity, the FCS loss (segment + single-clip hinge with hardest
 * negatives), and the two training chains as train.c composes them (encoder -> decoder ->
 * PredMAE loss; encoder -> CLS -> L2 -> FCS).
 *
 * Method (as test_grad_transformer.c): float32 ops; objective L = sum out*r (r fixed
 * random) or the loss itself, accumulated in double; central differences with step h at
 * up to 24 sampled entries per tensor; error = max |num - ana| / max |ana|. h = 1e-2 for
 * the smooth parts (truncation O(h^2) ~ 1e-4 relative); h = 1e-3 for the piecewise-linear
 * losses on vectors (hinges, maxima, top-k selection), where the loss is exactly linear
 * between kinks, so num == ana up to float rounding of L / 2h (~1e-4) as long as no kink
 * lies within h (these fixed seeds: none does, or the check would fail loudly). The FCS
 * chain through the encoder uses h = 1e-2: with h = 1e-3 float rounding of the deep
 * forward (~1e-6 / 2e-3) swamps its small gradients (measured 1.7e-2 relative), and at
 * these points no hinge or maximum switches within 1e-2 (worst 1.2e-3 measured).
 * Tolerance 3e-3 throughout; a wrong term gives errors of order 1e-1..1.
 * Also checks that the encoder backward ACCUMULATES (a second call doubles gradients).
 */
#include "test.h"

#include "clip/clip_internal.h"

#include <stdint.h>

static const double TOL = 3e-3;

typedef double (*loss_fn)(void);
static double worst;

static void check_grad(const char *name, loss_fn loss, float *x, const float *ana, long n, float h) {
    double rel = vs_test_check_grad(name, loss, x, ana, n, h, 24, TOL);
    if (rel > worst) worst = rel;
}

/* ------------------------------------------------------------------ shared state */

static vs_clipmodel_config CFG;
static float *PARAMS, *GRADS;
static vs__clipw W, G;
static vs__clipparam *TAB;
static int NTAB;
static long NPAR;
static int B_, NT_, NV_, NM_;
static float *X, *RW, *OUT;
static int *TPOS, *RPOS, *VPOS, *MPOS;
static vs__clipenc_cache ENC;
static vs__clipdec_cache DEC;

/* Check every tensor of the table whose name starts with prefix (and decoder flag). */
static void check_params(const char *what, loss_fn loss, int decoder, float h) {
    for (int i = 0; i < NTAB; i++) {
        if (TAB[i].decoder != decoder) continue;
        char nm[96];
        snprintf(nm, sizeof nm, "%s %s", what, TAB[i].name);
        check_grad(nm, loss, PARAMS + TAB[i].offset, GRADS + TAB[i].offset, TAB[i].numel, h);
    }
}

/* ------------------------------------------------------------------ embedding */

static double loss_embed(void) {
    int N = NT_ + 1;
    vs__clip_embed_forward(OUT, X, TPOS, RPOS, &W, B_, NT_, CFG.D, CFG.width);
    return vs_test_dot(OUT, RW, (long)B_ * N * CFG.width);
}

static void test_embed(void) {
    fprintf(stderr, "embedding\n");
    memset(GRADS, 0, sizeof(float) * (size_t)NPAR);
    vs__clip_embed_backward(&G, RW, X, TPOS, RPOS, B_, NT_, CFG.D, CFG.width);
    const char *names[5] = {"embed.weight", "embed.bias", "pos_space", "pos_time", "cls_token"};
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < NTAB; i++)
            if (!strcmp(TAB[i].name, names[k]))
                check_grad(names[k], loss_embed, PARAMS + TAB[i].offset, GRADS + TAB[i].offset,
                           TAB[i].numel, 1e-2f);
}

/* ------------------------------------------------------------------ encoder */

static double loss_enc(void) {
    vs__clipenc_forward(&ENC, X, TPOS, RPOS, &W, &CFG, B_, NT_);
    return vs_test_dot(ENC.ln, RW, (long)B_ * (NT_ + 1) * CFG.width);
}

static void test_encoder(void) {
    fprintf(stderr, "encoder (embedding, %d blocks, final LayerNorm)\n", CFG.depth);
    float *scr = vs_test_alloc((long)vs__clipenc_scratch_floats(&CFG, B_, NT_ + 1));
    memset(GRADS, 0, sizeof(float) * (size_t)NPAR);
    loss_enc();
    vs__clipenc_backward(&G, scr, RW, X, TPOS, RPOS, &ENC, &W, &CFG, B_, NT_);
    check_params("enc", loss_enc, 0, 1e-2f);
    /* accumulation: a second backward doubles every gradient */
    float *g1 = vs_test_alloc(NPAR);
    memcpy(g1, GRADS, sizeof(float) * (size_t)NPAR);
    vs__clipenc_backward(&G, scr, RW, X, TPOS, RPOS, &ENC, &W, &CFG, B_, NT_);
    double maxd = 0;
    for (long i = 0; i < NPAR; i++) {
        double d = fabs(GRADS[i] - 2.0 * g1[i]);
        if (d > maxd) maxd = d;
    }
    CHECK_MSG(maxd < 1e-5, "encoder backward does not accumulate (max dev %.3g)", maxd);
    free(g1);
    free(scr);
}

/* ------------------------------------------------------------------ decoder */

static float *E, *DE, *PRED, *TGT, *RP;

static double loss_dec(void) {
    vs__clipdec_forward(PRED, &DEC, E, VPOS, MPOS, &W, &CFG, B_, NV_, NM_);
    return vs_test_dot(PRED, RP, (long)B_ * NM_ * CFG.D);
}

static void test_decoder(void) {
    fprintf(stderr, "PredMAE decoder\n");
    float *scr = vs_test_alloc((long)vs__clipdec_scratch_floats(&CFG, B_, NV_, NM_));
    memset(GRADS, 0, sizeof(float) * (size_t)NPAR);
    memset(DE, 0, sizeof(float) * (size_t)B_ * (1 + NV_) * CFG.width);
    loss_dec();
    vs__clipdec_backward(DE, &G, scr, RP, E, VPOS, MPOS, &DEC, &W, &CFG, B_, NV_, NM_);
    check_grad("dec input e", loss_dec, E, DE, (long)B_ * (1 + NV_) * CFG.width, 1e-2f);
    check_params("dec", loss_dec, 1, 1e-2f);
    free(scr);
}

/* ------------------------------------------------------------------ PredMAE chain */

static int MSE_;

static double loss_chain1(void) {
    vs__clipenc_forward(&ENC, X, TPOS, RPOS, &W, &CFG, B_, NV_);
    vs__clipdec_forward(PRED, &DEC, ENC.ln, VPOS, MPOS, &W, &CFG, B_, NV_, NM_);
    return vs__predmae_loss(NULL, PRED, TGT, (long)B_ * NM_, CFG.D, MSE_);
}

static void test_chain_predmae(int mse) {
    MSE_ = mse;
    fprintf(stderr, "PredMAE chain (encoder -> decoder -> %s loss)\n", mse ? "MSE" : "1-cos");
    size_t s1 = vs__clipenc_scratch_floats(&CFG, B_, NV_ + 1), s2 = vs__clipdec_scratch_floats(&CFG, B_, NV_, NM_);
    float *scr = vs_test_alloc((long)(s1 > s2 ? s1 : s2));
    float *dpred = vs_test_alloc((long)B_ * NM_ * CFG.D);
    memset(GRADS, 0, sizeof(float) * (size_t)NPAR);
    memset(DE, 0, sizeof(float) * (size_t)B_ * (1 + NV_) * CFG.width);
    loss_chain1();
    vs__predmae_loss(dpred, PRED, TGT, (long)B_ * NM_, CFG.D, mse);
    vs__clipdec_backward(DE, &G, scr, dpred, ENC.ln, VPOS, MPOS, &DEC, &W, &CFG, B_, NV_, NM_);
    vs__clipenc_backward(&G, scr, DE, X, TPOS, RPOS, &ENC, &W, &CFG, B_, NV_);
    /* a few representative tensors (the full sets are covered above) */
    const char *names[6] = {"embed.weight", "pos_time", "blocks.0.attn.qkv.weight", "norm.weight",
                            "decoder.mask_token", "decoder.head.weight"};
    for (int k = 0; k < 6; k++)
        for (int i = 0; i < NTAB; i++)
            if (!strcmp(TAB[i].name, names[k])) {
                char nm[96];
                snprintf(nm, sizeof nm, "%s %s", mse ? "mse" : "cos", names[k]);
                check_grad(nm, loss_chain1, PARAMS + TAB[i].offset, GRADS + TAB[i].offset, TAB[i].numel, 1e-2f);
            }
    free(dpred);
    free(scr);
}

/* ------------------------------------------------------------------ losses on vectors */

static float *PV, *PT;
static long PN;
static int PD;
static double loss_pm(void) { return vs__predmae_loss(NULL, PV, PT, PN, PD, MSE_); }

static void test_predmae_loss(void) {
    fprintf(stderr, "PredMAE losses\n");
    PN = 7, PD = 10;
    PV = vs_test_alloc(PN * PD), PT = vs_test_alloc(PN * PD);
    float *d = vs_test_alloc(PN * PD);
    vs_test_fill(PV, PN * PD, -1, 1);
    vs_test_fill(PT, PN * PD, -1, 1);
    for (MSE_ = 0; MSE_ < 2; MSE_++) {
        memset(d, 0, sizeof(float) * (size_t)(PN * PD));
        vs__predmae_loss(d, PV, PT, PN, PD, MSE_);
        check_grad(MSE_ ? "predmae mse" : "predmae 1-cos", loss_pm, PV, d, PN * PD, 1e-3f);
    }
    /* known answers: identical vectors -> 0; opposite -> 2 (cos); mse of (1,0)-(0,0) */
    float a[2] = {1, 0}, b[2] = {-2, 0}, z[2] = {0, 0};
    CHECK_NEAR(vs__predmae_loss(NULL, a, a, 1, 2, 0), 0.0, 1e-9);
    CHECK_NEAR(vs__predmae_loss(NULL, a, b, 1, 2, 0), 2.0, 1e-9);
    CHECK_NEAR(vs__predmae_loss(NULL, a, z, 1, 2, 1), 0.5, 1e-9);
    free(PV), free(PT), free(d);
}

static float *LX, *LO, *LN_, *LR;
static double loss_l2(void) {
    vs__l2norm_forward(LO, LN_, LX, 5, 6);
    return vs_test_dot(LO, LR, 30);
}

static void test_l2norm(void) {
    fprintf(stderr, "L2 normalisation\n");
    LX = vs_test_alloc(30), LO = vs_test_alloc(30), LN_ = vs_test_alloc(5), LR = vs_test_alloc(30);
    float *d = vs_test_alloc(30);
    vs_test_fill(LX, 30, -1, 1);
    vs_test_fill(LR, 30, -1, 1);
    loss_l2();
    vs__l2norm_backward(d, LR, LO, LN_, 5, 6);
    check_grad("l2norm", loss_l2, LX, d, 30, 1e-2f);
    free(LX), free(LO), free(LN_), free(LR), free(d);
}

/* Random unit vectors. */
static void unit_rows(float *x, int n, int d) {
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < d; k++) {
            x[i * d + k] = (float)(vs_test_urand() * 2 - 1);
            s += (double)x[i * d + k] * x[i * d + k];
        }
        for (int k = 0; k < d; k++) x[i * d + k] = (float)(x[i * d + k] / sqrt(s));
    }
}

static float *CQ, *CT;
static int CNQ, CNT, CD, CK;
static double loss_ch(void) { return vs__topk_chamfer(CQ, CNQ, CT, CNT, CD, CK); }

static void test_topk_chamfer(void) {
    fprintf(stderr, "top-k Chamfer\n");
    CNQ = 6, CNT = 5, CD = 8, CK = 3;
    CQ = vs_test_alloc(CNQ * CD), CT = vs_test_alloc(CNT * CD);
    float *dq = vs_test_alloc(CNQ * CD), *dt = vs_test_alloc(CNT * CD);
    unit_rows(CQ, CNQ, CD);
    unit_rows(CT, CNT, CD);
    vs__topk_chamfer_backward(dq, dt, 1.0f, CQ, CNQ, CT, CNT, CD, CK);
    check_grad("chamfer d/dq", loss_ch, CQ, dq, CNQ * CD, 1e-3f);
    check_grad("chamfer d/dt", loss_ch, CT, dt, CNT * CD, 1e-3f);
    /* known answers: identical sets -> 1 (unit rows); k larger than nq -> mean of all maxima */
    CHECK_NEAR(vs_clip_similarity(CQ, CNQ, CQ, CNQ, CD, 3), 1.0, 1e-5);
    float q[3 * 2] = {1, 0, 0, 1, 0.6f, 0.8f}, t[1 * 2] = {1, 0};
    /* row maxima 1, 0, 0.6 -> top-2 mean 0.8, top-3 mean 1.6/3, top-1 1 */
    CHECK_NEAR(vs_clip_similarity(q, 3, t, 1, 2, 2), 0.8, 1e-6);
    CHECK_NEAR(vs_clip_similarity(q, 3, t, 1, 2, 3), 1.6 / 3, 1e-6);
    CHECK_NEAR(vs_clip_similarity(q, 3, t, 1, 2, 1), 1.0, 1e-6);
    CHECK_NEAR(vs_clip_similarity(t, 1, q, 3, 2, 3), 1.0, 1e-6);
    CHECK_NEAR(vs_clip_similarity(q, 0, t, 1, 2, 3), 0.0, 0);
    free(CQ), free(CT), free(dq), free(dt);
}

static float *FV;
static int FOFF[16], FVID[16], FK, FD;
static float FCW;
static double loss_fcs(void) {
    return vs__fcs_loss(NULL, FV, FOFF, FVID, FK, FD, 0.3f, FCW, NULL, NULL);
}

static void test_fcs(void) {
    fprintf(stderr, "FCS loss\n");
    FK = 3, FD = 8;
    int m[3] = {3, 2, 4};
    int n = 0;
    for (int i = 0; i < 2 * FK; i++) {
        FOFF[i] = n;
        n += m[i % FK];
        FVID[i] = 10 + i % FK;
    }
    FOFF[2 * FK] = n;
    FV = vs_test_alloc((long)n * FD);
    float *d = vs_test_alloc((long)n * FD);
    for (FCW = 0; FCW <= 1.0f; FCW += 1.0f) {
        vs_test_seed(0x77 + (uint64_t)FCW);
        unit_rows(FV, n, FD);
        double seg, clip;
        memset(d, 0, sizeof(float) * (size_t)n * FD);
        double L = vs__fcs_loss(d, FV, FOFF, FVID, FK, FD, 0.3f, FCW, &seg, &clip);
        fprintf(stderr, "  L = %.4f (segment %.4f, clip %.4f)\n", L, seg, clip);
        CHECK(seg > 0 && clip > 0); /* hinges active, so the gradient is exercised */
        CHECK_NEAR(L, seg + FCW * clip, 1e-12);
        check_grad(FCW > 0 ? "fcs (segment + clip) d/dV" : "fcs (segment) d/dV", loss_fcs, FV, d,
                   (long)n * FD, 1e-3f);
    }
    /* known answer: positives identical to anchors and all negatives orthogonal -> 0 */
    float V[4 * 2] = {1, 0, 0, 1, 1, 0, 0, 1};
    int off[5] = {0, 1, 2, 3, 4}, vid[4] = {0, 1, 0, 1};
    CHECK_NEAR(vs__fcs_loss(NULL, V, off, vid, 2, 2, 0.3f, 1.0f, NULL, NULL), 0.0, 1e-12);
    /* ... and a negative equal to the anchor: margin + 1 - 1 per term */
    float V2[4 * 2] = {1, 0, 1, 0, 1, 0, 1, 0};
    CHECK_NEAR(vs__fcs_loss(NULL, V2, off, vid, 2, 2, 0.3f, 1.0f, NULL, NULL), 0.6, 1e-6);
    free(FV), free(d);
}

/* ------------------------------------------------------------------ FCS chain */

static int CH_K, CH_N, CH_OFF[8], CH_VID[8];
static float *CH_V, *CH_NRM, *CH_CLS;

static double loss_chain2(void) {
    int FR = CFG.F * CFG.R, C = CFG.width;
    vs__clipenc_forward(&ENC, X, TPOS, RPOS, &W, &CFG, CH_N, FR);
    vs__clip_pool_forward(CH_CLS, ENC.ln, CH_N, 1 + FR, C, CFG.pool);
    vs__l2norm_forward(CH_V, CH_NRM, CH_CLS, CH_N, C);
    return vs__fcs_loss(NULL, CH_V, CH_OFF, CH_VID, CH_K, C, 0.5f, 1.0f, NULL, NULL);
}

static void test_chain_fcs(int pool) {
    CFG.pool = pool;
    fprintf(stderr, "FCS chain (encoder -> %s -> L2 -> FCS)\n", pool ? "mean of tokens" : "CLS");
    int FR = CFG.F * CFG.R, C = CFG.width;
    CH_K = 2;
    int m[2] = {2, 1};
    CH_N = 0;
    for (int i = 0; i < 2 * CH_K; i++) {
        CH_OFF[i] = CH_N;
        CH_N += m[i % CH_K];
        CH_VID[i] = i % CH_K;
    }
    CH_OFF[2 * CH_K] = CH_N;
    /* all FR tokens of each clip, standard grid */
    for (int b = 0; b < CH_N; b++)
        for (int i = 0; i < FR; i++) TPOS[b * FR + i] = i / CFG.R, RPOS[b * FR + i] = i % CFG.R;
    CH_V = vs_test_alloc((long)CH_N * C), CH_NRM = vs_test_alloc(CH_N), CH_CLS = vs_test_alloc((long)CH_N * C);
    float *dV = vs_test_alloc((long)CH_N * C), *dln = vs_test_alloc((long)CH_N * (1 + FR) * C);
    float *scr = vs_test_alloc((long)vs__clipenc_scratch_floats(&CFG, CH_N, 1 + FR));
    memset(GRADS, 0, sizeof(float) * (size_t)NPAR);
    loss_chain2();
    double seg, clip;
    vs__fcs_loss(dV, CH_V, CH_OFF, CH_VID, CH_K, C, 0.5f, 1.0f, &seg, &clip);
    fprintf(stderr, "  segment %.4f clip %.4f\n", seg, clip);
    CHECK(seg > 0 && clip > 0);
    float *dpool = vs_test_alloc((long)CH_N * C);
    vs__l2norm_backward(dpool, dV, CH_V, CH_NRM, CH_N, C);
    vs__clip_pool_backward(dln, dpool, CH_N, 1 + FR, C, CFG.pool);
    free(dpool);
    vs__clipenc_backward(&G, scr, dln, X, TPOS, RPOS, &ENC, &W, &CFG, CH_N, FR);
    const char *names[5] = {"embed.weight", "pos_space", "cls_token", "blocks.1.mlp.fc2.weight", "norm.bias"};
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < NTAB; i++)
            if (!strcmp(TAB[i].name, names[k])) {
                char nm[96];
                snprintf(nm, sizeof nm, "fcs chain %s %s", pool ? "mean" : "cls", names[k]);
                check_grad(nm, loss_chain2, PARAMS + TAB[i].offset, GRADS + TAB[i].offset, TAB[i].numel, 1e-2f);
            }
    free(CH_V), free(CH_NRM), free(CH_CLS), free(dV), free(dln), free(scr);
}

int main(void) {
    vs_test_seed(0x1234567887654321ULL); /* the stream this test was tuned with */
    /* small model: D=12, R=3, F=3, width 16, 2 blocks, 2 heads, MLP 24, 1 decoder block */
    CFG = (vs_clipmodel_config){12, 3, 3, 16, 2, 2, 24, 1, VS_CLIP_POOL_CLS};
    NTAB = vs__clip_param_table(NULL, &CFG, 1, &NPAR);
    TAB = calloc((size_t)NTAB, sizeof *TAB);
    vs__clip_param_table(TAB, &CFG, 1, NULL);
    PARAMS = vs_test_alloc(NPAR), GRADS = vs_test_alloc(NPAR);
    vs__clip_bind(&W, PARAMS, &CFG, 1);
    vs__clip_bind(&G, GRADS, &CFG, 1);
    /* larger-than-training random weights so every path carries signal; LN weights ~1 */
    vs_test_fill(PARAMS, NPAR, -0.3f, 0.3f);
    for (int i = 0; i < NTAB; i++)
        if (TAB[i].init == 1)
            for (long k = 0; k < TAB[i].numel; k++) PARAMS[TAB[i].offset + k] = 1.0f + (float)(vs_test_urand() - 0.5) * 0.4f;

    int FR = CFG.F * CFG.R;
    B_ = 4;
    /* visible subset: the first F-1 frames minus region 0 (as a PredMAE mask), NT_ tokens */
    NV_ = (CFG.F - 1) * (CFG.R - 1);
    NM_ = FR - NV_;
    NT_ = NV_;
    long maxtok = (long)B_ * FR > 8 * FR ? (long)B_ * FR : 8 * FR;
    X = vs_test_alloc(maxtok * CFG.D);
    TPOS = calloc((size_t)maxtok, sizeof(int)), RPOS = calloc((size_t)maxtok, sizeof(int));
    VPOS = calloc((size_t)B_ * NV_, sizeof(int)), MPOS = calloc((size_t)B_ * NM_, sizeof(int));
    vs_test_fill(X, maxtok * CFG.D, -1, 1);
    for (int b = 0; b < B_; b++) {
        int iv = 0, im = 0;
        int skip = b % CFG.R; /* a different masked tube per clip */
        for (int f = 0; f < CFG.F; f++)
            for (int r = 0; r < CFG.R; r++) {
                int p = f * CFG.R + r;
                if (f < CFG.F - 1 && r != skip) {
                    VPOS[b * NV_ + iv] = p, TPOS[b * NV_ + iv] = f, RPOS[b * NV_ + iv] = r;
                    iv++;
                } else {
                    MPOS[b * NM_ + im++] = p;
                }
            }
    }
    RW = vs_test_alloc((long)8 * (FR + 1) * CFG.width);
    vs_test_fill(RW, (long)8 * (FR + 1) * CFG.width, -1, 1);
    OUT = vs_test_alloc((long)B_ * (NT_ + 1) * CFG.width);
    if (vs__clipenc_cache_create(&ENC, &CFG, 8, FR + 1) != VS_OK ||
        vs__clipdec_cache_create(&DEC, &CFG, B_, NV_, NM_) != VS_OK) {
        fprintf(stderr, "cache: %s\n", vs_last_error());
        return 1;
    }
    E = vs_test_alloc((long)B_ * (1 + NV_) * CFG.width);
    DE = vs_test_alloc((long)B_ * (1 + NV_) * CFG.width);
    vs_test_fill(E, (long)B_ * (1 + NV_) * CFG.width, -1, 1);
    PRED = vs_test_alloc((long)B_ * NM_ * CFG.D);
    TGT = vs_test_alloc((long)B_ * NM_ * CFG.D);
    RP = vs_test_alloc((long)B_ * NM_ * CFG.D);
    vs_test_fill(TGT, (long)B_ * NM_ * CFG.D, -1, 1);
    vs_test_fill(RP, (long)B_ * NM_ * CFG.D, -1, 1);

    test_embed();
    test_encoder();
    test_decoder();
    test_predmae_loss();
    test_chain_predmae(0);
    test_chain_predmae(1);
    test_l2norm();
    test_topk_chamfer();
    test_fcs();
    test_chain_fcs(VS_CLIP_POOL_CLS);
    test_chain_fcs(VS_CLIP_POOL_MEAN);
    fprintf(stderr, "worst relative error %.2e (tolerance %.0e)\n", worst, TOL);

    vs__clipenc_cache_free(&ENC);
    vs__clipdec_cache_free(&DEC);
    free(E), free(DE), free(PRED), free(TGT), free(RP), free(OUT), free(RW);
    free(X), free(TPOS), free(RPOS), free(VPOS), free(MPOS);
    free(PARAMS), free(GRADS), free(TAB);
    return vs_test_done();
}
