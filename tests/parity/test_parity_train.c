/*
 * test_parity_train.c - S2VS training against the official code (fixture
 * ../shared/data/parity/s2vs_simnet part B: gkordo/s2vs @03eb0c9, CPU float32; see its
 * README): on the 8-clip training batch with its label matrix,
 *   - every loss term (InfoNCE, hard negative, self, SSHN, L_reg, total);
 *   - dterm/dsims of InfoNCE, hard negative and self, and dL_reg/draw;
 *   - dL_total/dparam for all 11 parameter tensors (the whole backward pass:
 *     Chamfer, Hardtanh, comparator convs, pools, ReLUs, f2f, attention);
 *   - three AdamW steps (lr 5e-5 constant, wd 0.01): the parameters after each step
 *     and the total loss after each step;
 *   - a checkpoint save/load mid-way resumes to the same parameters.
 * Tolerances are the README's suggested acceptance table. Skips (77) without it.
 */
#include "test.h"

#include "core/tensorfile.h"
#include "simmodel/simmodel_internal.h"
#include "train/losses.h"
#include "vidsim/simmodel.h"
#include "vidsim/train.h"

/* InfoNCE returns a status (it allocates a row buffer); the loss comes back here. */
static double infonce(float *ds, float w, const float *s, const int32_t *lab, int n, float tau) {
    double l = 0;
    CHECK_EQ(vs__loss_infonce(&l, ds, w, s, lab, n, tau), VS_OK);
    return l;
}

static const vs_fixture *FX;

static const vs_fixture_tensor *need(const char *name) {
    const vs_fixture_tensor *t = vs_fixture_get(FX, name);
    if (!t) {
        fprintf(stderr, "fixture tensor %s missing\n", name);
        exit(1);
    }
    return t;
}

static float scal(const char *name) { return *(const float *)need(name)->data; }

/* max|got-ref| <= frac * max|ref| per tensor (the README's gradient criterion) */
static void cmp_rel_max(const char *name, const float *got, const float *ref, long n,
                        double frac) {
    double mref = 0.0;
    for (long i = 0; i < n; i++) mref = fmax(mref, fabs(ref[i]));
    double tol = frac * mref;
    vs_check_tensor(name, got, ref, n, tol, 0.0);
}

static void check_rel(const char *what, double got, double ref, double rtol) {
    double d = fabs(got - ref);
    printf("  %-22s got %.9g ref %.9g rel %.2e\n", what, got, ref, d / fabs(ref));
    CHECK(d <= rtol * fabs(ref));
}

int main(void) {
    char dir[4096], path[4096];
    snprintf(dir, sizeof dir, "%s/data/parity/s2vs_simnet", vs_test_shared());
    vs_fixture *fx = vs_fixture_load(dir);
    if (!fx) SKIP("fixture %s not found", dir);
    FX = fx;
    const int n = 8, T = 16, R = 9, D = 64;
    const float *x = need("B.videos")->data;
    const int32_t *labels = need("B.labels")->data;

    /* the model from the fixture's parameters, via the parameter table */
    vs_simmodel *m0;
    CHECK_EQ(vs_simmodel_create_random(&m0, D, 1), VS_OK);
    vs__simparam tab[VS__SIM_NPARAM];
    int np = vs__simmodel_param_table(tab, D, 1, NULL);
    for (int i = 0; i < np; i++) {
        char key[160];
        snprintf(key, sizeof key, "param.%s", tab[i].name);
        const vs_fixture_tensor *t = need(key);
        CHECK_EQ(t->numel, tab[i].numel);
        memcpy(m0->params + tab[i].offset, t->data, sizeof(float) * (size_t)tab[i].numel);
    }

    /* ---- losses and dterm/dsims from the fixture's own similarity matrix */
    const float *S = need("B.similarities")->data;
    float ds[64];
    memset(ds, 0, sizeof ds);
    double nce = infonce(ds, 1.0f, S, labels, n, 0.03f);
    cmp_rel_max("dinfonce/ds", ds, need("B.dterm_dsim.infonce")->data, 64, 1e-4);
    memset(ds, 0, sizeof ds);
    double hn = vs__loss_hardneg(ds, 1.0f, S, labels, n);
    cmp_rel_max("dhardneg/ds", ds, need("B.dterm_dsim.hardneg")->data, 64, 1e-4);
    memset(ds, 0, sizeof ds);
    double self = vs__loss_self(ds, 1.0f, S, n);
    cmp_rel_max("dself/ds", ds, need("B.dterm_dsim.self")->data, 64, 1e-4);
    printf("losses on the reference similarities:\n");
    check_rel("infonce", nce, scal("B.loss.infonce"), 2e-5);
    check_rel("hardneg", hn, scal("B.loss.hardneg"), 2e-5);
    check_rel("self", self, scal("B.loss.self"), 2e-5);
    check_rel("sshn", hn + self, scal("B.loss.sshn"), 2e-5);

    /* ---- dL_reg/draw = sign of the excess outside [-1,1], from the batch forward */
    {
        vs_simmodel_state *st;
        CHECK_EQ(vs_simmodel_state_create(&st, m0, NULL), VS_OK);
        float sims[64], reg;
        CHECK_EQ(vs_simmodel_forward_batch(st, sims, &reg, x, NULL, n, T, R, D), VS_OK);
        float dr[64 * 16];
        for (int k = 0; k < 64; k++) {
            vs__simacts tmp;
            const vs__simacts *ac = vs__simmodel_batch_acts(st, k / 8, k % 8, &tmp);
            for (int c = 0; c < 16; c++) {
                float v = ac->raw[c];
                dr[k * 16 + c] = v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : 0.0f);
            }
        }
        vs_check_tensor("dreg/draw", dr, need("B.dreg_dcomparator_raw")->data, 64 * 16, 0.0, 0.0);
        vs_simmodel_state_free(st);
    }

    /* ---- the trainer: forward, losses, backward, AdamW (constant lr, no warm-up) */
    vs_s2vs_train_params p = vs_s2vs_train_default_params();
    p.warmup = 0;
    p.t_initial = 0;
    p.lr_min = p.lr; /* constant 5e-5 */
    for (int threads = 1; threads <= 2; threads++) {
        p.n_threads = threads;
        printf("trainer with %d thread(s):\n", threads);
        vs_s2vs_trainer *t;
        CHECK_EQ(vs_s2vs_trainer_create(&t, m0, &p), VS_OK);
        if (!t) break;
        vs_s2vs_losses L;
        CHECK_EQ(vs_s2vs_trainer_eval(t, x, labels, n, T, R, D, &L), VS_OK);
        check_rel("infonce", L.infonce, scal("B.loss.infonce"), 2e-5);
        check_rel("hardneg", L.hardneg, scal("B.loss.hardneg"), 2e-5);
        check_rel("self", L.self, scal("B.loss.self"), 2e-5);
        check_rel("reg", L.reg, scal("B.loss.reg"), 1e-5);
        check_rel("total", L.total, scal("B.loss.total"), 2e-5);
        for (int step = 1; step <= 3; step++) {
            CHECK_EQ(vs_s2vs_trainer_step(t, x, labels, n, T, R, D, &L), VS_OK);
            if (step == 1) {
                /* gradients of the step-1 loss (the initial parameters) */
                const float *g = vs_s2vs_trainer_grad(t);
                for (int i = 0; i < np; i++) {
                    char key[160];
                    snprintf(key, sizeof key, "grad.%s", tab[i].name);
                    cmp_rel_max(key, g + tab[i].offset, need(key)->data, tab[i].numel, 1e-4);
                }
            }
            const vs_simmodel *mm = vs_s2vs_trainer_model(t);
            for (int i = 0; i < np; i++) {
                char key[200];
                snprintf(key, sizeof key, "B.adamw.step%d.param.%s", step, tab[i].name);
                vs_check_tensor(key, mm->params + tab[i].offset, need(key)->data, tab[i].numel,
                                1e-6, 0.0);
            }
            vs_s2vs_losses La;
            CHECK_EQ(vs_s2vs_trainer_eval(t, x, labels, n, T, R, D, &La), VS_OK);
            char key[64];
            snprintf(key, sizeof key, "B.adamw.loss_after_step%d", step);
            check_rel(key, La.total, scal(key), 2e-5);
            if (step == 1) {
                /* checkpoint round trip: save, load, continue from the loaded trainer */
                snprintf(path, sizeof path, "%s/train_ckpt_%d.vstf", vs_test_tmpdir(), threads);
                CHECK_EQ(vs_s2vs_trainer_save(t, path), VS_OK);
                vs_s2vs_trainer *t2;
                CHECK_EQ(vs_s2vs_trainer_resume(&t2, path, threads, NULL), VS_OK);
                if (t2) {
                    CHECK_EQ(vs_s2vs_trainer_steps(t2), 1);
                    const vs_simmodel *m2 = vs_s2vs_trainer_model(t2);
                    CHECK(memcmp(m2->params, mm->params, sizeof(float) * (size_t)mm->n_params) == 0);
                    vs_s2vs_trainer_free(t);
                    t = t2;
                }
                /* a checkpoint also loads as a model */
                vs_simmodel *mc;
                CHECK_EQ(vs_simmodel_load(&mc, path), VS_OK);
                vs_simmodel_free(mc);
            }
        }
        vs_s2vs_trainer_free(t);
    }

    /* frozen parts: a frozen part keeps its bytes (no step, no weight decay), the other
     * part takes exactly the step of the unfrozen trainer's first step; frozen survives
     * a checkpoint */
    {
        p.n_threads = 1;
        const long na = (long)D * D + 2L * D, ntot = m0->n_params;
        vs_s2vs_trainer *tf, *tu;
        CHECK_EQ(vs_s2vs_trainer_create(&tu, m0, &p), VS_OK);
        CHECK_EQ(vs_s2vs_trainer_step(tu, x, labels, n, T, R, D, NULL), VS_OK);
        const float *pu = vs_s2vs_trainer_model(tu)->params;
        for (int part = 1; part <= 2; part++) {
            vs_s2vs_train_params pf = p;
            pf.frozen = part == 1 ? VS_S2VS_FREEZE_ATTENTION : VS_S2VS_FREEZE_COMPARATOR;
            CHECK_EQ(vs_s2vs_trainer_create(&tf, m0, &pf), VS_OK);
            CHECK_EQ(vs_s2vs_trainer_step(tf, x, labels, n, T, R, D, NULL), VS_OK);
            const float *pp = vs_s2vs_trainer_model(tf)->params;
            long lo = part == 1 ? 0 : na, hi = part == 1 ? na : ntot; /* the frozen range */
            CHECK(memcmp(pp + lo, m0->params + lo, sizeof(float) * (size_t)(hi - lo)) == 0);
            long olo = part == 1 ? na : 0, ohi = part == 1 ? ntot : na;
            CHECK(memcmp(pp + olo, pu + olo, sizeof(float) * (size_t)(ohi - olo)) == 0);
            CHECK(memcmp(pp + olo, m0->params + olo, sizeof(float) * (size_t)(ohi - olo)) != 0);
            snprintf(path, sizeof path, "%s/train_ckpt_frozen.vstf", vs_test_tmpdir());
            CHECK_EQ(vs_s2vs_trainer_save(tf, path), VS_OK);
            vs_s2vs_trainer_free(tf);
            CHECK_EQ(vs_s2vs_trainer_resume(&tf, path, 1, NULL), VS_OK);
            if (tf) {
                float before[4];
                memcpy(before, vs_s2vs_trainer_model(tf)->params + lo, sizeof before);
                CHECK_EQ(vs_s2vs_trainer_step(tf, x, labels, n, T, R, D, NULL), VS_OK);
                CHECK(memcmp(before, vs_s2vs_trainer_model(tf)->params + lo, sizeof before) == 0);
                vs_s2vs_trainer_free(tf);
            }
        }
        vs_s2vs_trainer_free(tu);
    }
    vs_simmodel_free(m0);
    vs_fixture_free(fx);
    return vs_test_done();
}
