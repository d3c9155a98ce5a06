/*
 * test_simmodel.c - unit tests of the similarity model that need no fixture:
 * ViSiL_f known answers (identical videos -> 1, a hand-computed tiny case with short
 * video doubling), the fast f2f (blocked GEMM) against the plain triple loop, conv2d
 * (direct / im2col+GEMM) against the six-loop reference, the fused mask+ReLU+pool,
 * short-video doubling, target chunking, many targets over threads, model files
 * (round trip, wrong shapes / missing tensors named in the error), the batched
 * forward against single pairs, the heatmap PNG, and allocation-failure paths; the
 * bf16 f2f (vs_simmodel_params.precision): its GEMM against a double-precision product
 * of the same bf16-rounded inputs, its maps and scores against float32, the split path
 * bit-identical to one thread in bf16 too, and, in a child process with oneDNN capped
 * below bf16 (DNNL_MAX_CPU_ISA=AVX512_CORE), a clear refusal and an fp32 default.
 */
#include "test.h"

#include "core/tensorfile.h"
#include "nn/nn.h"
#include "simmodel/simmodel_internal.h"
#include "vidsim/simmodel.h"

static unsigned long long rng = 88172645463325252ULL;
static float frand(void) { /* uniform [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* Random unit-norm region features [T,R,D]. */
static float *rand_video(int T, int R, int D) {
    float *x = malloc(sizeof(float) * (size_t)T * R * D);
    for (long n = 0; n < (long)T * R; n++) {
        double s = 0;
        for (int d = 0; d < D; d++) {
            x[n * D + d] = frand();
            s += (double)x[n * D + d] * x[n * D + d];
        }
        for (int d = 0; d < D; d++) x[n * D + d] /= (float)sqrt(s);
    }
    return x;
}

static void test_visil_f(void) {
    vs_simmodel *m;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    CHECK(strcmp(vs_simmodel_kind(m), "visil_f") == 0);
    CHECK_EQ(vs_simmodel_dim(m), 0);
    vs_simmodel_state *st;
    CHECK_EQ(vs_simmodel_state_create(&st, m, NULL), VS_OK);
    /* identical videos -> 1 */
    float *a = rand_video(7, 9, 32);
    vs_simvideo t = {a, 7, NULL};
    float s = 0;
    CHECK_EQ(vs_simmodel_similarity(st, &s, a, 7, &t, 1, 9, 32), VS_OK);
    CHECK_NEAR(s, 1.0, 1e-6);
    {
        vs_simmodel_params p = vs_simmodel_default_params();
        p.n_threads = 2;
        vs_simmodel_state *s2;
        CHECK_EQ(vs_simmodel_state_create(&s2, m, &p), VS_OK);
        s = 0;
        CHECK_EQ(vs_simmodel_similarity(s2, &s, a, 7, &t, 1, 9, 32), VS_OK); /* split pair */
        CHECK_NEAR(s, 1.0, 1e-6);
        vs_simmodel_state_free(s2);
    }
    /* hand-computed: R=2, D=2. Query (1 frame): (1,0),(0,1).
     * Target frame 0: (1,0),(1,0) -> S = (max(1,1) + max(0,0))/2 = 0.5
     * Target frame 1: (.6,.8),(-1,0) -> (max(.6,-1) + max(.8,0))/2 = 0.7
     * Both are doubled to 4 frames; the video Chamfer is mean_i max_j = 0.7. */
    float q[4] = {1, 0, 0, 1};
    float tt[8] = {1, 0, 1, 0, 0.6f, 0.8f, -1, 0};
    int fr, fc, mr, mc;
    vs_simmodel_pair_dims(m, 1, 2, &fr, &fc, &mr, &mc);
    CHECK_EQ(fr, 4);
    CHECK_EQ(fc, 4);
    CHECK_EQ(mr, 4);
    CHECK_EQ(mc, 4);
    float f2f[16];
    vs_simmodel_pair_out po = {.f2f = f2f};
    CHECK_EQ(vs_simmodel_pair(st, &po, q, 1, tt, 2, 2, 2), VS_OK);
    CHECK_NEAR(po.sim, 0.7, 1e-6);
    CHECK_NEAR(po.sim_train, 0.85, 1e-6);
    CHECK_NEAR(po.reg_loss, 0.0, 0);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) CHECK_NEAR(f2f[i * 4 + j], (j % 2) ? 0.7 : 0.5, 1e-6);
    float s2;
    vs_simvideo t2 = {tt, 2, NULL};
    CHECK_EQ(vs_simmodel_similarity(st, &s2, q, 1, &t2, 1, 2, 2), VS_OK);
    CHECK_NEAR(s2, 0.7, 1e-6);
    /* index is the identity, weights 1 */
    float y[4], w[2];
    CHECK_EQ(vs_simmodel_index(st, y, w, q, 1, 2, 2), VS_OK);
    CHECK(memcmp(y, q, sizeof q) == 0 && w[0] == 1.0f && w[1] == 1.0f);
    free(a);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
    CHECK_EQ(vs_simmodel_builtin(&m, "nope"), VS_ERR_INVALID_ARG);
    CHECK(m == NULL);
}

static void test_f2f_fast_vs_ref(void) {
    const int T = 37, U = 53, R = 9, D = 70;
    float *q = rand_video(T, R, D), *t = rand_video(U, R, D);
    float *ref = malloc(sizeof(float) * T * U), *got = malloc(sizeof(float) * T * U);
    vs__f2f_forward_ref(ref, U, q, T, t, U, R, D);
    const long caps[] = {81, 81 * 5, 1000, 81 * 37 * 3, 1L << 22};
    float *gemm = malloc(sizeof(float) * (1L << 22));
    for (int c = 0; c < 5; c++) {
        for (long k = 0; k < (long)T * U; k++) got[k] = NAN;
        vs__f2f_forward(0, got, U, gemm, caps[c], q, T, t, U, R, D);
        char name[64];
        snprintf(name, sizeof name, "f2f fast vs ref, gemm block %ld", caps[c]);
        vs_check_tensor(name, got, ref, (long)T * U, 1e-6, 1e-6);
    }
    free(gemm);
    free(q);
    free(t);
    free(ref);
    free(got);
}

static void test_conv_pool(void) {
    for (int cfg = 0; cfg < 4; cfg++) {
        int C = cfg == 0 ? 1 : 32, O = cfg == 2 ? 1 : 64, K = cfg == 2 ? 1 : 3;
        if (cfg == 2) C = 128;
        int H = 13, W = 10;
        if (cfg == 3) { /* wide map: im2col in bands of one row */
            O = 3;
            H = 5;
            W = 4000;
        }
        float *x = malloc(sizeof(float) * C * H * W), *w = malloc(sizeof(float) * O * C * K * K);
        float *b = malloc(sizeof(float) * O), *y = malloc(sizeof(float) * O * H * W),
              *yr = malloc(sizeof(float) * O * H * W);
        for (int i = 0; i < C * H * W; i++) x[i] = frand();
        for (int i = 0; i < O * C * K * K; i++) w[i] = frand();
        for (int i = 0; i < O; i++) b[i] = frand();
        size_t nc = vs__conv2d_col_size(C, H, W, K);
        float *col = nc ? malloc(sizeof(float) * nc) : NULL;
        vs__conv2d_forward(y, col, x, w, b, C, H, W, O, K);
        vs__conv2d_forward_ref(yr, x, w, b, C, H, W, O, K);
        char name[64];
        snprintf(name, sizeof name, "conv2d C=%d O=%d K=%d vs reference", C, O, K);
        vs_check_tensor(name, y, yr, (long)O * H * W, 1e-5, 1e-5);
        free(x); free(w); free(b); free(y); free(yr); free(col);
    }
    /* fused mask + ReLU + pool == mask, relu, maxpool one after another */
    const int C = 3, H = 13, W = 10;
    float x[3 * 13 * 10], t1[3 * 13 * 10], p1[3 * 6 * 5], p2[3 * 6 * 5];
    unsigned char rm[13], cm[10];
    for (int i = 0; i < C * H * W; i++) x[i] = frand();
    for (int i = 0; i < H; i++) rm[i] = i < 9;
    for (int i = 0; i < W; i++) cm[i] = i != 3;
    vs__mask_relu_forward(t1, x, rm, cm, C, H, W);
    vs__maxpool2_forward(p1, t1, C, H, W);
    vs__mask_relu_maxpool2_forward(p2, x, rm, cm, C, H, W);
    CHECK(memcmp(p1, p2, sizeof p1) == 0);
    unsigned char pm[6];
    vs__mask_pool2(pm, rm, 13);
    CHECK(pm[3] == 1 && pm[4] == 1 && pm[5] == 0); /* rows 8,9 -> 1 ; 10,11 -> 0 */
}

/* A tensor-file model with one tensor replaced or left out. */
static void write_variant(const vs_simmodel *m, const char *path, const char *skip,
                          const char *bad_shape) {
    vs__tfw *w;
    vs__tfw_create(&w);
    vs__simparam tab[VS__SIM_NPARAM];
    int n = vs__simmodel_param_table(tab, m->D, 1, NULL);
    for (int i = 0; i < n; i++) {
        if (skip && strcmp(tab[i].name, skip) == 0) continue;
        int64_t dims[4];
        memcpy(dims, tab[i].dims, sizeof dims);
        if (bad_shape && strcmp(tab[i].name, bad_shape) == 0) dims[tab[i].ndim - 1] = 1;
        vs__tfw_add(w, tab[i].name, VS_DT_F32, tab[i].ndim, dims, m->params + tab[i].offset);
    }
    vs__tfw_save(w, path);
    vs__tfw_free(w);
}

static void test_model_files(void) {
    char path[4096];
    vs_simmodel *m, *m2;
    CHECK_EQ(vs_simmodel_create_random(&m, 32, 7), VS_OK);
    CHECK_EQ(vs_simmodel_n_params(m), 32 * 32 + 32 + 32 + 320 + 18496 + 73856 + 129);
    snprintf(path, sizeof path, "%s/simmodel_rt.vstf", vs_test_tmpdir());
    CHECK_EQ(vs_simmodel_save(m, path), VS_OK);
    CHECK_EQ(vs_simmodel_load(&m2, path), VS_OK);
    CHECK(m2 && m2->D == 32 && memcmp(m->params, m2->params, sizeof(float) * m->n_params) == 0);
    vs_simmodel_free(m2);

    snprintf(path, sizeof path, "%s/simmodel_bad.vstf", vs_test_tmpdir());
    write_variant(m, path, NULL, "visil_head.conv2.weight");
    CHECK_EQ(vs_simmodel_load(&m2, path), VS_ERR_FORMAT);
    CHECK(m2 == NULL);
    CHECK_MSG(strstr(vs_last_error(), "simmodel_bad.vstf") &&
              strstr(vs_last_error(), "visil_head.conv2.weight"), "%s", vs_last_error());
    write_variant(m, path, "visil_head.fconv.bias", NULL);
    CHECK_EQ(vs_simmodel_load(&m2, path), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "visil_head.fconv.bias") != NULL, "%s", vs_last_error());
    write_variant(m, path, "attention.transform.bias", NULL);
    CHECK_EQ(vs_simmodel_load(&m2, path), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "attention.transform.bias") != NULL, "%s", vs_last_error());
    write_variant(m, path, NULL, "attention.transform.weight"); /* [32,1]: not square */
    CHECK_EQ(vs_simmodel_load(&m2, path), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "attention.transform.weight") != NULL, "%s", vs_last_error());
    CHECK_EQ(vs_simmodel_load(&m2, "/nonexistent/model.vstf"), VS_ERR_IO);

    /* features of the wrong D are refused */
    vs_simmodel_state *st;
    CHECK_EQ(vs_simmodel_state_create(&st, m, NULL), VS_OK);
    float x[9 * 16];
    CHECK_EQ(vs_simmodel_index(st, x, NULL, x, 1, 9, 16), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "D=16") != NULL);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);

    /* visil_f round trip */
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    snprintf(path, sizeof path, "%s/simmodel_f.vstf", vs_test_tmpdir());
    CHECK_EQ(vs_simmodel_save(m, path), VS_OK);
    CHECK_EQ(vs_simmodel_load(&m2, path), VS_OK);
    CHECK(m2 && strcmp(vs_simmodel_kind(m2), "visil_f") == 0);
    vs_simmodel_free(m2);
    vs_simmodel_free(m);
}

/* Repeat a [T,R,D] video by concatenation until >= 4 frames. */
static float *doubled(const float *x, int T, int R, int D, int *Te) {
    int n = T;
    while (n < 4) n *= 2;
    float *y = malloc(sizeof(float) * (size_t)n * R * D);
    for (int i = 0; i < n; i++) memcpy(y + (size_t)i * R * D, x + (size_t)(i % T) * R * D, sizeof(float) * R * D);
    *Te = n;
    return y;
}

static void test_visil_paths(void) {
    const int R = 9, D = 24;
    vs_simmodel *m;
    CHECK_EQ(vs_simmodel_create_random(&m, D, 11), VS_OK);
    /* bias the comparator so the maps are not all zero */
    for (int i = 0; i < 32; i++) m->w.c1_b[i] = 0.05f * frand();
    m->w.fc_b[0] = 0.1f;
    vs_simmodel_state *st;
    CHECK_EQ(vs_simmodel_state_create(&st, m, NULL), VS_OK);

    /* short videos: T=3 vs U=2 equals the explicitly doubled 6 vs 4 */
    float *a = rand_video(3, R, D), *b = rand_video(2, R, D);
    int Ta, Tb;
    float *a2 = doubled(a, 3, R, D, &Ta), *b2 = doubled(b, 2, R, D, &Tb);
    CHECK_EQ(Ta, 6);
    CHECK_EQ(Tb, 4);
    vs_simmodel_pair_out p1 = {0}, p2 = {0};
    CHECK_EQ(vs_simmodel_pair(st, &p1, a, 3, b, 2, R, D), VS_OK);
    CHECK_EQ(vs_simmodel_pair(st, &p2, a2, Ta, b2, Tb, R, D), VS_OK);
    CHECK_NEAR(p1.sim, p2.sim, 1e-6);
    CHECK_NEAR(p1.reg_loss, p2.reg_loss, 1e-5);
    CHECK(p1.sim >= -1.0f && p1.sim <= 1.0f);

    /* many targets over 1 and 3 threads == single pairs; includes short targets */
    enum { N = 7 };
    const int lens[N] = {5, 1, 12, 3, 9, 30, 4};
    float *tv[N], want[N], got[N];
    vs_simvideo tg[N] = {0};
    float *q = rand_video(10, R, D);
    for (int k = 0; k < N; k++) {
        tv[k] = rand_video(lens[k], R, D);
        tg[k] = (vs_simvideo){tv[k], lens[k], NULL};
        vs_simmodel_pair_out po = {0};
        CHECK_EQ(vs_simmodel_pair(st, &po, q, 10, tv[k], lens[k], R, D), VS_OK);
        want[k] = po.sim;
    }
    for (int nt = 1; nt <= 3; nt += 2) {
        vs_simmodel_params p = vs_simmodel_default_params();
        p.n_threads = nt;
        vs_simmodel_state *s2;
        CHECK_EQ(vs_simmodel_state_create(&s2, m, &p), VS_OK);
        CHECK_EQ(vs_simmodel_similarity(s2, got, q, 10, tg, N, R, D), VS_OK);
        vs_check_tensor(nt == 1 ? "many targets, 1 thread" : "many targets, 3 threads", got, want, N, 1e-6, 0);
        vs_simmodel_state_free(s2);
    }
    /* comparator in bands (tiny band budget) == whole pair, odd and even lengths */
    {
        const int Ts[3] = {61, 37, 16}, Us[3] = {45, 64, 23};
        for (int c = 0; c < 3; c++) {
            float *qa = rand_video(Ts[c], R, D), *tb = rand_video(Us[c], R, D);
            vs_simmodel_pair_out po = {0};
            CHECK_EQ(vs_simmodel_pair(st, &po, qa, Ts[c], tb, Us[c], R, D), VS_OK);
            vs_simmodel_params p = vs_simmodel_default_params();
            p.band_floats = c == 2 ? 1024 : 40000; /* 40000 floats: a few output rows per band */
            p.gemm_chunk = 5000;
            vs_simmodel_state *s2;
            CHECK_EQ(vs_simmodel_state_create(&s2, m, &p), VS_OK);
            vs_simvideo one = {tb, Us[c], NULL};
            float sb;
            CHECK_EQ(vs_simmodel_similarity(s2, &sb, qa, Ts[c], &one, 1, R, D), VS_OK);
            CHECK(s2->work[0].score_map == s2->work[0].rawf); /* really banded */
            CHECK_NEAR(sb, po.sim, 1e-6);
            vs_simmodel_state_free(s2);
            /* one pair split over 3 workers (f2f strips + bands), banded and whole */
            for (int bf = 0; bf < 2; bf++) {
                p.n_threads = 3;
                p.band_floats = bf ? 40000 : 16L << 20;
                CHECK_EQ(vs_simmodel_state_create(&s2, m, &p), VS_OK);
                CHECK_EQ(vs_simmodel_similarity(s2, &sb, qa, Ts[c], &one, 1, R, D), VS_OK);
                CHECK_NEAR(sb, po.sim, 1e-6);
                vs_simvideo two[2] = {{tb, Us[c], NULL}, {qa, Ts[c], NULL}};
                float s2b[2];
                vs_simmodel_pair_out po2 = {0};
                vs_simmodel_pair(st, &po2, qa, Ts[c], qa, Ts[c], R, D);
                CHECK_EQ(vs_simmodel_similarity(s2, s2b, qa, Ts[c], two, 2, R, D), VS_OK);
                CHECK_NEAR(s2b[0], po.sim, 1e-6);
                CHECK_NEAR(s2b[1], po2.sim, 1e-6);
                vs_simmodel_state_free(s2);
            }
            free(qa);
            free(tb);
        }
    }
    /* target chunking: 30 frames in chunks of 8 -> [0,8) [8,16) [16,24) + tail 6 (kept, >= 4);
     * 29 frames in chunks of 9 -> 3 chunks, tail 2 dropped */
    {
        vs_simmodel_params p = vs_simmodel_default_params();
        for (int c = 0; c < 2; c++) {
            p.target_chunk = c ? 9 : 8;
            int U = c ? 29 : 30, cl = p.target_chunk;
            vs_simmodel_state *s2;
            CHECK_EQ(vs_simmodel_state_create(&s2, m, &p), VS_OK);
            vs_simvideo one = {tv[5], U, NULL};
            float s;
            CHECK_EQ(vs_simmodel_similarity(s2, &s, q, 10, &one, 1, R, D), VS_OK);
            double sum = 0;
            int nch = 0;
            for (int j0 = 0; j0 < U; j0 += cl) {
                int len = U - j0 < cl ? U - j0 : cl;
                if (len < 4) continue;
                vs_simmodel_pair_out po = {0};
                vs_simmodel_pair(st, &po, q, 10, tv[5] + (size_t)j0 * R * D, len, R, D);
                sum += po.sim;
                nch++;
            }
            CHECK_EQ(nch, c ? 3 : 4);
            CHECK_NEAR(s, sum / nch, 1e-6);
            vs_simmodel_state_free(s2);
        }
    }
    /* batched forward without masks == pairs at training scale; with a mask equal to the
     * full length, identical */
    {
        const int B = 3, T = 8;
        float *x = rand_video(B * T, R, D), sims[9], sims_m[9], reg, reg_m;
        int32_t mask[24];
        for (int k = 0; k < 24; k++) mask[k] = 1;
        CHECK_EQ(vs_simmodel_forward_batch(st, sims, &reg, x, NULL, B, T, R, D), VS_OK);
        CHECK_EQ(vs_simmodel_forward_batch(st, sims_m, &reg_m, x, mask, B, T, R, D), VS_OK);
        CHECK(memcmp(sims, sims_m, sizeof sims) == 0);
        { /* pairs shared over 3 workers: identical results */
            vs_simmodel_params p = vs_simmodel_default_params();
            p.n_threads = 3;
            vs_simmodel_state *s3;
            float sims3[9], reg3;
            CHECK_EQ(vs_simmodel_state_create(&s3, m, &p), VS_OK);
            CHECK_EQ(vs_simmodel_forward_batch(s3, sims3, &reg3, x, NULL, B, T, R, D), VS_OK);
            CHECK(memcmp(sims, sims3, sizeof sims) == 0);
            CHECK(reg == reg3);
            vs_simmodel_state_free(s3);
        }
        float *xi = malloc(sizeof(float) * B * T * R * D);
        CHECK_EQ(vs_simmodel_index(st, xi, NULL, x, B * T, R, D), VS_OK);
        double regsum = 0;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++) {
                vs_simmodel_pair_out po = {0};
                vs_simmodel_pair(st, &po, xi + (size_t)i * T * R * D, T, xi + (size_t)j * T * R * D, T, R, D);
                CHECK_NEAR(sims[i * B + j], po.sim_train, 1e-6);
                regsum += po.reg_loss;
            }
        CHECK_NEAR(reg, regsum, 1e-4);
        /* video 2 padded to 8 with its last 4 frames masked == video of 4 frames */
        for (int k = 20; k < 24; k++) mask[k] = 0;
        CHECK_EQ(vs_simmodel_forward_batch(st, sims_m, &reg_m, x, mask, B, T, R, D), VS_OK);
        vs_simmodel_pair_out po = {0};
        vs_simmodel_pair(st, &po, xi, T, xi + (size_t)2 * T * R * D, 4, R, D);
        CHECK_NEAR(sims_m[0 * B + 2], po.sim_train, 1e-6);
        vs_simmodel_pair(st, &po, xi + (size_t)2 * T * R * D, 4, xi + (size_t)1 * T * R * D, T, R, D);
        CHECK_NEAR(sims_m[2 * B + 1], po.sim_train, 1e-6);
        free(xi);
        free(x);
    }
    for (int k = 0; k < N; k++) free(tv[k]);
    free(q); free(a); free(b); free(a2); free(b2);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
}

static void test_heatmap(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/simmodel_heatmap.png", vs_test_tmpdir());
    float mtx[12] = {-1, -0.5f, 0, 0.5f, 1, 2, NAN, 0.25f, 0.75f, -2, 0.1f, 0.9f};
    CHECK_EQ(vs_heatmap_write_png(path, mtx, 3, 4, -1, 1), VS_OK);
    size_t len;
    unsigned char *buf = vs_test_read_file(path, &len);
    CHECK(buf && len > 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0);
    free(buf);
    CHECK_EQ(vs_heatmap_write_png(path, mtx, 0, 4, -1, 1), VS_ERR_INVALID_ARG);
}

/* Every allocation failure is reported and leaks nothing (run under ASan). */
static void test_alloc_failures(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/simmodel_rt.vstf", vs_test_tmpdir());
    float *q = rand_video(6, 9, 32), *t = rand_video(9, 9, 32);
    int saw_ok = 0;
    for (long n = 1; n < 200 && !saw_ok; n++) {
        vs_alloc_fail_after(n);
        vs_simmodel *m = NULL;
        vs_simmodel_state *st = NULL;
        vs_status s = vs_simmodel_load(&m, path);
        if (s == VS_OK) s = vs_simmodel_state_create(&st, m, NULL);
        float xi[6 * 9 * 32], sim;
        if (s == VS_OK) s = vs_simmodel_index(st, xi, NULL, q, 6, 9, 32);
        vs_simvideo tv = {t, 9, NULL};
        if (s == VS_OK) s = vs_simmodel_similarity(st, &sim, xi, 6, &tv, 1, 9, 32);
        vs_alloc_fail_after(0);
        if (s == VS_OK) saw_ok = 1;
        else CHECK_MSG(s == VS_ERR_NOMEM, "n=%ld: %d %s", n, s, vs_last_error());
        vs_simmodel_state_free(st);
        vs_simmodel_free(m);
    }
    CHECK(saw_ok);
    free(q);
    free(t);
}

/* Regression (issue 19): an index whose videos are all short. A 3-frame target is
 * doubled to 6 frames, longer than max(longest target, 4) = 4, which was what the
 * many-target call sized its scratch by: a heap overflow (double free in search, a
 * segfault in dedup) that a longer target in the same call hid. Every such call must
 * equal the single-pair path; ASan sees any write past the scratch. */
static void test_short_targets_only(void) {
    const int R = 4, D = 16;
    const int sets[3][3] = {{3, 3, 2}, {3, 2, 1}, {5, 3, 4}};
    const int qlens[3] = {2, 3, 5};
    for (int kind = 0; kind < 2; kind++) {
        vs_simmodel *m;
        if (kind == 0) CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
        else CHECK_EQ(vs_simmodel_create_random(&m, D, 5), VS_OK);
        vs_simmodel_state *ref;
        CHECK_EQ(vs_simmodel_state_create(&ref, m, NULL), VS_OK);
        for (int si = 0; si < 3; si++) {
            float *tv[3], want[3], got[3];
            vs_simvideo tg[3] = {0};
            for (int k = 0; k < 3; k++) {
                tv[k] = rand_video(sets[si][k], R, D);
                tg[k] = (vs_simvideo){tv[k], sets[si][k], NULL};
            }
            for (int qi = 0; qi < 3; qi++) {
                float *q = rand_video(qlens[qi], R, D);
                for (int k = 0; k < 3; k++) {
                    vs_simmodel_pair_out po = {0};
                    CHECK_EQ(vs_simmodel_pair(ref, &po, q, qlens[qi], tv[k], sets[si][k], R, D), VS_OK);
                    want[k] = po.sim;
                }
                for (int nt = 1; nt <= 4; nt++) { /* 4 threads > 3 targets: the split path */
                    vs_simmodel_params p = vs_simmodel_default_params();
                    p.n_threads = nt;
                    vs_simmodel_state *s2;
                    CHECK_EQ(vs_simmodel_state_create(&s2, m, &p), VS_OK);
                    CHECK_EQ(vs_simmodel_similarity(s2, got, q, qlens[qi], tg, 3, R, D), VS_OK);
                    for (int k = 0; k < 3; k++)
                        CHECK_MSG(fabsf(got[k] - want[k]) <= 1e-6f,
                                  "%s set %d query %d target %d threads %d: %g vs %g",
                                  vs_simmodel_kind(m), si, qlens[qi], k, nt, got[k], want[k]);
                    /* and one short target alone, after the state saw the others */
                    CHECK_EQ(vs_simmodel_similarity(s2, got, q, qlens[qi], &tg[0], 1, R, D), VS_OK);
                    CHECK_NEAR(got[0], want[0], 1e-6);
                    vs_simmodel_state_free(s2);
                }
                free(q);
            }
            for (int k = 0; k < 3; k++) free(tv[k]);
        }
        vs_simmodel_state_free(ref);
        vs_simmodel_free(m);
    }
}

/* A score does not depend on the thread count or on how the work is split: one target
 * with more workers than targets (the pair split over all workers: f2f GEMM blocks,
 * then comparator bands) gives the floats of a single worker, bit for bit. Short
 * videos with D = 256 (OpenBLAS picks its GEMM kernel by shape, and strips of query
 * rows rounded unlike the whole product), and long ones with a small gemm_chunk and
 * band_floats (several GEMM blocks and bands to share), for both models. */
static void test_split_exact(void) {
    vs_simmodel *models[2];
    CHECK_EQ(vs_simmodel_builtin(&models[0], "visil_f"), VS_OK);
    CHECK_EQ(vs_simmodel_create_random(&models[1], 256, 7), VS_OK);
    for (int mi = 0; mi < 2; mi++) {
        vs_simmodel *m = models[mi];
        for (int pb = 0; pb < 2 + 2 * vs__gemm_bf16_available(); pb++) {
        const int big = pb & 1, prec = pb >= 2 ? VS_PRECISION_BF16 : VS_PRECISION_FP32;
        {
            enum { NV = 6 };
            const int R = 9, D = 256;
            int Ts[NV];
            float *v[NV];
            for (int i = 0; i < NV; i++) {
                Ts[i] = big ? 40 + 9 * i : 5 + (i * 7) % 10;
                v[i] = rand_video(Ts[i], R, D);
                for (long k = 0; k < (long)Ts[i] * R * D; k++) v[i][k] *= 0.5f;
            }
            vs_simmodel_params p = vs_simmodel_default_params();
            p.precision = prec;
            if (big) {
                p.gemm_chunk = 20000; /* a few query frames per GEMM block */
                p.band_floats = 200000;
            }
            float want[NV][NV];
            vs_simmodel_state *s1;
            CHECK_EQ(vs_simmodel_state_create(&s1, m, &p), VS_OK);
            for (int i = 0; i < NV; i++)
                for (int k = 0; k < NV; k++) {
                    vs_simvideo t = {v[k], Ts[k], NULL};
                    CHECK_EQ(vs_simmodel_similarity(s1, &want[i][k], v[i], Ts[i], &t, 1, R, D), VS_OK);
                }
            vs_simmodel_state_free(s1);
            for (int nt = 2; nt <= 4; nt++) {
                p.n_threads = nt;
                vs_simmodel_state *s2;
                CHECK_EQ(vs_simmodel_state_create(&s2, m, &p), VS_OK);
                int ndiff = 0;
                for (int i = 0; i < NV; i++) {
                    for (int k = 0; k < NV; k++) {
                        vs_simvideo t = {v[k], Ts[k], NULL};
                        float got;
                        CHECK_EQ(vs_simmodel_similarity(s2, &got, v[i], Ts[i], &t, 1, R, D), VS_OK);
                        ndiff += memcmp(&got, &want[i][k], sizeof got) != 0;
                    }
                    /* every target at once (workers take whole pairs): the same floats */
                    vs_simvideo all[NV] = {0};
                    float got[NV];
                    for (int k = 0; k < NV; k++) all[k] = (vs_simvideo){v[k], Ts[k], NULL};
                    CHECK_EQ(vs_simmodel_similarity(s2, got, v[i], Ts[i], all, NV, R, D), VS_OK);
                    for (int k = 0; k < NV; k++) ndiff += memcmp(&got[k], &want[i][k], sizeof got[k]) != 0;
                    /* every video as the query of video i (the reverse direction) */
                    CHECK_EQ(vs_simmodel_similarity_to(s2, got, all, NV, v[i], Ts[i], R, D), VS_OK);
                    for (int k = 0; k < NV; k++) ndiff += memcmp(&got[k], &want[k][i], sizeof got[k]) != 0;
                }
                CHECK_MSG(ndiff == 0, "%s, %s videos, %s, %d threads: %d scores differ from one thread's",
                          vs_simmodel_kind(m), big ? "long" : "short", prec ? "bf16" : "fp32", nt, ndiff);
                if (big && mi == 1) { /* really banded (the comparator of the random ViSiL) */
                    int banded = 0;
                    for (int w = 0; w < nt; w++) banded |= s2->work[w].score_map == s2->work[w].rawf;
                    CHECK(banded);
                }
                vs_simmodel_state_free(s2);
            }
            for (int i = 0; i < NV; i++) free(v[i]);
        }
        }
        vs_simmodel_free(m);
    }
}

static float bf16_round(float f) { /* round to nearest even, as the library does */
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&f, &u, 4);
    return f;
}

/* bf16 f2f where the CPU has it; the refusal where it does not (the child run). */
static void test_bf16(int child) {
    vs_simmodel *m;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    vs_simmodel_params p = vs_simmodel_default_params();
    vs_simmodel_state *st = NULL;
    CHECK_EQ(p.precision, VS_PRECISION_FP32); /* the library's own default */
    p.precision = VS_PRECISION_INT8;
    CHECK_EQ(vs_simmodel_state_create(&st, m, &p), VS_ERR_INVALID_ARG);
    CHECK(st == NULL && strstr(vs_last_error(), "fp32 or bf16"));
    if (child) CHECK_MSG(!vs__gemm_bf16_available(), "DNNL_MAX_CPU_ISA=AVX512_CORE not applied");
    if (!vs__gemm_bf16_available()) {
        p.precision = VS_PRECISION_BF16;
        CHECK_EQ(vs_simmodel_state_create(&st, m, &p), VS_ERR_UNSUPPORTED);
        CHECK(st == NULL && strstr(vs_last_error(), "use fp32"));
        CHECK_EQ(vs_simmodel_default_precision(), VS_PRECISION_FP32);
        float c = 0;
        CHECK(vs__gemm_nt_bf16(1, 1, 1, &c, 1, &c, 1, &c, 1) != 0);
        if (!child) printf("test_bf16: this CPU or build has no bf16 f2f: only the refusal checked\n");
        vs_simmodel_free(m);
        return;
    }
    CHECK_EQ(vs_simmodel_default_precision(), VS_PRECISION_BF16);
    /* the GEMM: padded pitches, odd sizes; against the double product of the same
     * bf16-rounded inputs (float32 sums of 300 products: within 1e-5) */
    {
        const int M = 37, N = 29, K = 300, lda = K + 3, ldb = K + 5, ldc = N + 7;
        float *A = malloc(sizeof(float) * M * lda), *B = malloc(sizeof(float) * N * ldb);
        float *C = malloc(sizeof(float) * M * ldc);
        for (int i = 0; i < M * lda; i++) A[i] = frand();
        for (int i = 0; i < N * ldb; i++) B[i] = frand();
        for (int i = 0; i < M * ldc; i++) C[i] = 1234.5f; /* the padding must stay */
        CHECK_EQ(vs__gemm_nt_bf16(M, N, K, A, lda, B, ldb, C, ldc), 0);
        double worst = 0, worst_f32 = 0;
        int pad_ok = 1;
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                double r = 0, r32 = 0;
                for (int k = 0; k < K; k++) {
                    r += (double)bf16_round(A[i * lda + k]) * bf16_round(B[j * ldb + k]);
                    r32 += (double)A[i * lda + k] * B[j * ldb + k];
                }
                double e = fabs(C[i * ldc + j] - r), e32 = fabs(C[i * ldc + j] - r32);
                worst = e > worst ? e : worst;
                worst_f32 = e32 > worst_f32 ? e32 : worst_f32;
            }
            for (int j = N; j < ldc; j++) pad_ok &= C[i * ldc + j] == 1234.5f;
        }
        CHECK_MSG(worst < 1e-4, "bf16 GEMM vs bf16-rounded double product: %.3g", worst);
        CHECK_MSG(worst_f32 > 1e-4 && worst_f32 < 0.2, "bf16 GEMM vs float product: %.3g (rounding shows)", worst_f32);
        CHECK(pad_ok);
        free(A), free(B), free(C);
    }
    /* maps and scores against float32: unit region vectors, |f2f error| <= 3e-3 */
    {
        const int T = 23, U = 31, R = 9, D = 256;
        float *q = rand_video(T, R, D), *t = rand_video(U, R, D);
        for (long k = 0; k < (long)U * R * D; k += 7) t[k] += q[k % ((long)T * R * D)];
        float *S = malloc(sizeof(float) * T * U), *Sr = malloc(sizeof(float) * T * U);
        float *g = malloc(sizeof(float) * 4096);
        vs__f2f_forward(1, S, U, g, 4096, q, T, t, U, R, D); /* several GEMM blocks */
        vs__f2f_forward_ref(Sr, U, q, T, t, U, R, D);
        double worst = 0;
        for (int i = 0; i < T * U; i++) worst = fmax(worst, fabs(S[i] - Sr[i]));
        CHECK_MSG(worst > 0 && worst < 3e-3, "bf16 f2f vs reference: %.3g", worst);
        vs_simmodel_state *s32, *s16;
        vs_simmodel_params p32 = vs_simmodel_default_params(), p16 = p32;
        p16.precision = VS_PRECISION_BF16;
        CHECK_EQ(vs_simmodel_state_create(&s32, m, &p32), VS_OK);
        CHECK_EQ(vs_simmodel_state_create(&s16, m, &p16), VS_OK);
        vs_simvideo tv = {t, U, NULL};
        float a = 0, b = 0;
        CHECK_EQ(vs_simmodel_similarity(s32, &a, q, T, &tv, 1, R, D), VS_OK);
        CHECK_EQ(vs_simmodel_similarity(s16, &b, q, T, &tv, 1, R, D), VS_OK);
        CHECK_MSG(fabsf(a - b) < 2e-3 && a != b, "ViSiL_f fp32 %.6f bf16 %.6f", a, b);
        vs_simmodel_state_free(s32);
        vs_simmodel_state_free(s16);
        free(q), free(t), free(S), free(Sr), free(g);
    }
    vs_simmodel_free(m);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--child")) { /* oneDNN capped below bf16 */
        test_bf16(1);
        return vs_test_done();
    }
    test_visil_f();
    test_f2f_fast_vs_ref();
    test_conv_pool();
    test_model_files();
    test_visil_paths();
    test_short_targets_only();
    test_heatmap();
    test_alloc_failures();
    test_split_exact();
    test_bf16(0);
    { /* the same binary with oneDNN capped below bf16: refused by name, fp32 by default */
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "DNNL_MAX_CPU_ISA=AVX512_CORE '%s' --child", argv[0]);
        CHECK_MSG(system(cmd) == 0, "child run with DNNL_MAX_CPU_ISA=AVX512_CORE failed");
    }
    return vs_test_done();
}
