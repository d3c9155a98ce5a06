/*
 * test_parity_simmodel.c - the similarity network against the official S2VS code
 * (fixture ../shared/data/parity/s2vs_simnet, made by running gkordo/s2vs @03eb0c9 on
 * CPU in float32; see its README). The fixture's param.* tensors are written into a
 * VSTF model file here and loaded through the public API (round trip of the model
 * format). Then:
 *   part A: attention weights and indexed features of 3 videos (T = 12, 16, 23); for all
 *           9 ordered pairs f2f, raw conv1/2/3 outputs, comparator raw / Hardtanh maps,
 *           video similarity, L_reg; the 3x3 similarity matrix through the many-target
 *           call (1 and 2 worker threads);
 *   part C: the padded batch with frame masks through the training forward
 *           (training scale, masked Chamfer) and its L_reg;
 *   part B: (forward only) the 8-clip training batch: attention weights, all 64
 *           comparator maps, the 8x8 similarity matrix and L_reg.
 * Skips (77) when the fixture is absent.
 */
#include "test.h"

#include "core/tensorfile.h"
#include "simmodel/simmodel_internal.h"
#include "vidsim/simmodel.h"

/* Tolerances: |got - ref| <= atol + rtol*|ref|. The fixture README measured the
 * float32 error of the reference itself (float32 vs float64 run): attention 2.6e-7,
 * f2f and conv maps <= 2e-6, comparator raw 1.7e-6, sims 2.6e-7. */
typedef struct { const char *what; double atol, rtol; const char *why; } tol_row;
static const tol_row TOL[] = {
    {"attention", 1e-6, 0, "sigmoid/tanh of a 64-term dot product: float32 rounding"},
    {"indexed", 1e-6, 0, "x * attention weight, |x| <= 1"},
    {"f2f", 1e-6, 0, "64-term dot products (GEMM summation order differs from einsum)"},
    {"conv", 1e-5, 1e-5, "conv sums of up to 576 terms; BLAS order differs from mkldnn"},
    {"map", 1e-5, 1e-5, "comparator raw / Hardtanh map: error of the three convs carried"},
    {"sim", 1e-5, 0, "mean of maxima of the map"},
    {"reg", 0, 1e-5, "sum of |excess| over all cells (relative)"},
};
enum { T_ATT, T_IDX, T_F2F, T_CONV, T_MAP, T_SIM, T_REG, T_N };
static double group_max[T_N]; /* largest |diff| seen per group, printed at the end */

static const vs_fixture *FX;

static const vs_fixture_tensor *need(const char *name) {
    const vs_fixture_tensor *t = vs_fixture_get(FX, name);
    if (!t) {
        fprintf(stderr, "fixture tensor %s missing\n", name);
        exit(1);
    }
    return t;
}

static void cmp(int g, const char *name, const float *got, long n) {
    const vs_fixture_tensor *t = need(name);
    CHECK_EQ(t->numel, n);
    if (t->numel != n) return;
    const float *ref = t->data;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (d > group_max[g] || d != d) group_max[g] = d;
    }
    vs_check_tensor(name, got, ref, n, TOL[g].atol, TOL[g].rtol);
}

/* Write the fixture's parameters as a model file: the state-dict names are the VSTF
 * tensor names, shapes unchanged. */
static void write_model(const char *path) {
    vs__tfw *w;
    CHECK_EQ(vs__tfw_create(&w), VS_OK);
    static const char *names[] = {
        "attention.transform.weight", "attention.transform.bias", "attention.context_vector.weight",
        "visil_head.conv1.weight", "visil_head.conv1.bias", "visil_head.conv2.weight",
        "visil_head.conv2.bias", "visil_head.conv3.weight", "visil_head.conv3.bias",
        "visil_head.fconv.weight", "visil_head.fconv.bias"};
    CHECK_EQ(vs__tfw_meta(w, "simmodel.kind", "visil"), VS_OK);
    for (int i = 0; i < 11; i++) {
        char key[128];
        snprintf(key, sizeof key, "param.%s", names[i]);
        const vs_fixture_tensor *t = need(key);
        int64_t dims[8];
        for (int d = 0; d < t->ndim; d++) dims[d] = t->dims[d];
        CHECK_EQ(vs__tfw_add(w, names[i], VS_DT_F32, t->ndim, dims, t->data), VS_OK);
    }
    CHECK_EQ(vs__tfw_save(w, path), VS_OK);
    vs__tfw_free(w);
}

int main(void) {
    char dir[4096], path[4096], name[256];
    snprintf(dir, sizeof dir, "%s/data/parity/s2vs_simnet", vs_test_shared());
    vs_fixture *fx = vs_fixture_load(dir);
    if (!fx) SKIP("fixture %s not found", dir);
    FX = fx;
    snprintf(path, sizeof path, "%s/s2vs_simnet_fixture.vstf", vs_test_tmpdir());
    write_model(path);

    vs_simmodel *m;
    CHECK_EQ(vs_simmodel_load(&m, path), VS_OK);
    if (!m) {
        fprintf(stderr, "load: %s\n", vs_last_error());
        return vs_test_done();
    }
    CHECK_EQ(vs_simmodel_dim(m), 64);
    CHECK_EQ(vs_simmodel_n_params(m), 97025); /* README: 97,025 parameters */
    /* Round trip: save and load again, same parameters. */
    char path2[4096];
    snprintf(path2, sizeof path2, "%s/s2vs_simnet_resaved.vstf", vs_test_tmpdir());
    CHECK_EQ(vs_simmodel_save(m, path2), VS_OK);
    vs_simmodel *m2;
    CHECK_EQ(vs_simmodel_load(&m2, path2), VS_OK);
    if (m2) {
        CHECK(memcmp(m->params, m2->params, sizeof(float) * (size_t)m->n_params) == 0);
        vs_simmodel_free(m2);
    }

    vs_simmodel_state *st;
    CHECK_EQ(vs_simmodel_state_create(&st, m, NULL), VS_OK);
    const int R = 9, D = 64, NV = 3;
    int Tv[3];
    float *idx[3];
    /* ---------------- part A: indexing */
    for (int k = 0; k < NV; k++) {
        snprintf(name, sizeof name, "A.video%d.features", k);
        const vs_fixture_tensor *f = need(name);
        int T = (int)f->dims[0];
        Tv[k] = T;
        idx[k] = malloc(sizeof(float) * (size_t)T * R * D);
        float *wts = malloc(sizeof(float) * (size_t)T * R);
        CHECK_EQ(vs_simmodel_index(st, idx[k], wts, f->data, T, R, D), VS_OK);
        snprintf(name, sizeof name, "A.video%d.attention_weights", k);
        cmp(T_ATT, name, wts, (long)T * R);
        snprintf(name, sizeof name, "A.video%d.indexed", k);
        cmp(T_IDX, name, idx[k], (long)T * R * D);
        free(wts);
    }
    /* ---------------- part A: pairs */
    for (int a = 0; a < NV; a++)
        for (int b = 0; b < NV; b++) {
            int fr, fc, mr, mc;
            vs_simmodel_pair_dims(m, Tv[a], Tv[b], &fr, &fc, &mr, &mc);
            float *f2f = malloc(sizeof(float) * (size_t)fr * fc);
            float *raw = malloc(sizeof(float) * (size_t)mr * mc);
            float *map = malloc(sizeof(float) * (size_t)mr * mc);
            vs_simmodel_pair_out po = {.f2f = f2f, .map_raw = raw, .map = map};
            CHECK_EQ(vs_simmodel_pair(st, &po, idx[a], Tv[a], idx[b], Tv[b], R, D), VS_OK);
            const vs__simacts *ac = vs__simmodel_last_acts(st);
#define P(s) (snprintf(name, sizeof name, "A.pair%d%d.%s", a, b, s), name)
            cmp(T_F2F, P("f2f"), f2f, (long)fr * fc);
            cmp(T_CONV, P("conv1_out"), ac->conv1, 32L * ac->T * ac->U);
            cmp(T_CONV, P("conv2_out"), ac->conv2, 64L * ac->T2 * ac->U2);
            cmp(T_CONV, P("conv3_out"), ac->conv3, 128L * ac->T4 * ac->U4);
            cmp(T_MAP, P("comparator_raw"), raw, (long)mr * mc);
            cmp(T_MAP, P("comparator_hardtanh"), map, (long)mr * mc);
            cmp(T_SIM, P("video_sim"), &po.sim, 1);
            cmp(T_REG, P("reg_loss"), &po.reg_loss, 1);
#undef P
            free(f2f);
            free(raw);
            free(map);
        }
    /* ---------------- part A: similarity matrix via the many-target call */
    for (int nt = 1; nt <= 2; nt++) {
        vs_simmodel_params p = vs_simmodel_default_params();
        p.n_threads = nt;
        p.gemm_chunk = 2000; /* force several GEMM blocks per pair */
        vs_simmodel_state *s2;
        CHECK_EQ(vs_simmodel_state_create(&s2, m, &p), VS_OK);
        vs_simvideo tg[3] = {0};
        for (int k = 0; k < NV; k++) tg[k] = (vs_simvideo){idx[k], Tv[k], NULL};
        float simm[9];
        for (int a = 0; a < NV; a++)
            CHECK_EQ(vs_simmodel_similarity(s2, simm + 3 * a, idx[a], Tv[a], tg, NV, R, D), VS_OK);
        cmp(T_SIM, "A.video_sim_matrix", simm, 9);
        vs_simmodel_state_free(s2);
    }

    /* ---------------- part C: padded batch with masks, training scale (1 and 2 workers) */
    for (int nt = 1; nt <= 2; nt++) {
        vs_simmodel_params p = vs_simmodel_default_params();
        p.n_threads = nt;
        vs_simmodel_state *s2;
        CHECK_EQ(vs_simmodel_state_create(&s2, m, &p), VS_OK);
        const vs_fixture_tensor *x = need("C.features_padded"), *mk = need("C.frame_mask");
        int B = (int)x->dims[0], T = (int)x->dims[1];
        float sims[9], reg;
        CHECK_EQ(vs_simmodel_forward_batch(s2, sims, &reg, x->data, mk->data, B, T, R, D), VS_OK);
        cmp(T_SIM, "C.sim", sims, (long)B * B);
        cmp(T_REG, "C.reg_loss", &reg, 1);
        vs_simmodel_state_free(s2);
    }
    /* ---------------- part B: training batch forward (no masks) */
    {
        const vs_fixture_tensor *x = need("B.videos");
        int B = (int)x->dims[0], T = (int)x->dims[1];
        float sims[64], reg;
        CHECK_EQ(vs_simmodel_forward_batch(st, sims, &reg, x->data, NULL, B, T, R, D), VS_OK);
        cmp(T_ATT, "B.attention_weights", st->batch.att_a, (long)B * T * R);
        int T4 = T / 4;
        float *raw = malloc(sizeof(float) * (size_t)B * B * T4 * T4);
        for (int a = 0; a < B; a++)
            for (int b = 0; b < B; b++) {
                vs__simacts tmp;
                const vs__simacts *ac = vs__simmodel_batch_acts(st, a, b, &tmp);
                memcpy(raw + (size_t)(a * B + b) * T4 * T4, ac->raw, sizeof(float) * (size_t)T4 * T4);
            }
        cmp(T_MAP, "B.comparator_raw", raw, (long)B * B * T4 * T4);
        cmp(T_SIM, "B.similarities", sims, (long)B * B);
        cmp(T_REG, "B.loss.reg", &reg, 1);
        free(raw);
    }

    fprintf(stderr, "max |diff| per group (tolerance atol + rtol*|ref|):\n");
    for (int g = 0; g < T_N; g++)
        fprintf(stderr, "  %-10s %.3g   (atol %g rtol %g: %s)\n", TOL[g].what, group_max[g],
                TOL[g].atol, TOL[g].rtol, TOL[g].why);
    for (int k = 0; k < NV; k++) free(idx[k]);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
    vs_fixture_free(fx);
    return vs_test_done();
}
