/*
 * test_clipmodel.c - unit tests of the 3D-CSL-F clip model (clipmodel.h) that need no
 * fixture: clip counting (Python round, half to even) and cyclic padding of a short last
 * clip (a 3-frame video encodes like the 8-frame clip 0,1,2,0,1,2,0,1), clip c of a long
 * video encodes like that clip alone, unit-norm outputs, the same result from two
 * threads, model files (round trip with identical id and outputs; a non-clip VSTF, a
 * missing tensor, a mis-shaped tensor, a non-finite value, a corrupt file: VS_ERR_FORMAT
 * with the file named), allocation failures, and training: PredMAE and FCS losses fall
 * on structured synthetic videos, a checkpointed + resumed run ends with exactly the
 * parameters of an uninterrupted one, and resuming on another training set is refused.
 */
#include "test.h"

#include "clip/clip_internal.h"
#include "core/tensorfile.h"
#include "vidsim/clipmodel.h"

#include <pthread.h>

static unsigned long long rng = 88172645463325252ULL;
static float frand(void) { /* uniform [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static void unit(float *x, int D) {
    double s = 0;
    for (int d = 0; d < D; d++) s += (double)x[d] * x[d];
    for (int d = 0; d < D; d++) x[d] /= (float)sqrt(s);
}

/* Random unit-norm region features [T,R,D]. */
static float *rand_video(int T, int R, int D) {
    float *x = malloc(sizeof(float) * (size_t)T * R * D);
    for (long n = 0; n < (long)T * R; n++) {
        for (int d = 0; d < D; d++) x[n * D + d] = frand();
        unit(x + n * D, D);
    }
    return x;
}

/* A "scene" video: one random frame, repeated with small noise (easy to predict). */
static float *scene_video(int T, int R, int D, float noise) {
    float *base = rand_video(1, R, D);
    float *x = malloc(sizeof(float) * (size_t)T * R * D);
    for (int t = 0; t < T; t++)
        for (int r = 0; r < R; r++) {
            float *v = x + ((size_t)t * R + r) * D;
            for (int d = 0; d < D; d++) v[d] = base[r * D + d] + noise * frand();
            unit(v, D);
        }
    free(base);
    return x;
}

static vs_clipmodel_config small_cfg(void) {
    vs_clipmodel_config c = vs_clipmodel_default_config();
    c.D = 16, c.R = 4, c.width = 16, c.depth = 2, c.heads = 2, c.mlp = 32, c.dec_depth = 1;
    return c;
}

static void test_counts(void) {
    vs_clipmodel *m;
    CHECK_EQ(vs_clipmodel_create(&m, NULL, 1), VS_OK);
    /* max(1, round(T/8)), Python's round: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 */
    const int T[] = {0, 1, 3, 4, 5, 8, 11, 12, 13, 16, 20, 21, 28, 100};
    const int want[] = {0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 4, 12};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        CHECK_MSG(vs_clipmodel_n_clips(m, T[i]) == want[i], "T=%d: %d clips, want %d", T[i],
                  vs_clipmodel_n_clips(m, T[i]), want[i]);
    CHECK_EQ(vs_clipmodel_dim(m), 128);
    CHECK(vs_clipmodel_n_params(m) > 100000);
    CHECK(strncmp(vs_clipmodel_id(m), "3dcsl-f/", 8) == 0);
    vs_clipmodel_free(m);
}

static float maxdiff(const float *a, const float *b, long n) {
    float d = 0;
    for (long i = 0; i < n; i++)
        if (fabsf(a[i] - b[i]) > d) d = fabsf(a[i] - b[i]);
    return d;
}

typedef struct {
    const vs_clipmodel *m;
    const float *x;
    int T;
    float *out;
    vs_status st;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    const vs_clipmodel_config c = vs_clipmodel_get_config(j->m);
    j->st = vs_clipmodel_encode(j->m, j->out, j->x, j->T, c.R, c.D);
    return NULL;
}

static void test_encode(void) {
    vs_clipmodel_config c = small_cfg();
    vs_clipmodel *m;
    CHECK_EQ(vs_clipmodel_create(&m, &c, 7), VS_OK);
    int R = c.R, D = c.D, C = c.width;
    size_t fr = (size_t)R * D;
    /* short video: cyclic padding */
    float *x3 = rand_video(3, R, D), *x8 = malloc(sizeof(float) * 8 * fr);
    for (int f = 0; f < 8; f++) memcpy(x8 + f * fr, x3 + (f % 3) * fr, sizeof(float) * fr);
    float a[128], b[128];
    CHECK_EQ(vs_clipmodel_encode(m, a, x3, 3, R, D), VS_OK);
    CHECK_EQ(vs_clipmodel_encode(m, b, x8, 8, R, D), VS_OK);
    CHECK_MSG(maxdiff(a, b, C) < 1e-6f, "padded short clip differs by %g", maxdiff(a, b, C));
    double s = 0;
    for (int k = 0; k < C; k++) s += (double)a[k] * a[k];
    CHECK_NEAR(s, 1.0, 1e-5);
    /* 37 frames -> 5 clips (4.625 -> 5): clip 4 = frames 32..36 padded; clip 2 alone */
    float *x = rand_video(37, R, D);
    int n = vs_clipmodel_n_clips(m, 37);
    CHECK_EQ(n, 5);
    float *v = malloc(sizeof(float) * (size_t)n * C), *v2 = malloc(sizeof(float) * (size_t)n * C);
    CHECK_EQ(vs_clipmodel_encode(m, v, x, 37, R, D), VS_OK);
    CHECK_EQ(vs_clipmodel_encode(m, b, x + 16 * fr, 8, R, D), VS_OK);
    CHECK(maxdiff(v + 2 * C, b, C) < 1e-5f);
    CHECK_EQ(vs_clipmodel_encode(m, b, x + 32 * fr, 5, R, D), VS_OK);
    CHECK(maxdiff(v + 4 * C, b, C) < 1e-5f);
    /* a different clip gives a different vector */
    CHECK(maxdiff(v, v + C, C) > 1e-3f);
    /* similarity with itself is 1; the similarity is the top-3 Chamfer */
    CHECK_NEAR(vs_clip_similarity(v, n, v, n, C, 3), 1.0, 1e-5);
    /* two threads, long video (> one 16-clip chunk): identical results */
    float *xl = rand_video(150, R, D);
    int nl = vs_clipmodel_n_clips(m, 150);
    float *o1 = malloc(sizeof(float) * (size_t)nl * C), *o2 = malloc(sizeof(float) * (size_t)nl * C);
    job j1 = {m, xl, 150, o1, -1}, j2 = {m, xl, 150, o2, -1};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, run_job, &j1);
    pthread_create(&t2, NULL, run_job, &j2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(j1.st == VS_OK && j2.st == VS_OK);
    CHECK(maxdiff(o1, o2, (long)nl * C) == 0.0f);
    CHECK_EQ(vs_clipmodel_encode(m, b, xl + 17 * 8 * fr, 8, R, D), VS_OK);
    CHECK(maxdiff(o1 + 17 * C, b, C) < 1e-5f); /* clip 17 sits in the second chunk */
    /* bad input */
    CHECK_EQ(vs_clipmodel_encode(m, b, x, 0, R, D), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_clipmodel_encode(m, b, x, 8, R + 1, D), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "R=5") != NULL);
    /* allocation failure: an error, no leak */
    for (long k = 1; k <= 3; k++) {
        vs_alloc_fail_after(k); /* the k-th allocation from now fails */
        CHECK_EQ(vs_clipmodel_encode(m, b, x, 8, R, D), VS_ERR_NOMEM);
        vs_alloc_fail_after(0);
    }
    free(x3), free(x8), free(x), free(v), free(v2), free(xl), free(o1), free(o2);
    vs_clipmodel_free(m);
}

static void test_builtin_mean(void) {
    const int R = 4, D = 16, T = 11; /* 11 frames -> 1 clip: frames 0..7, 3 dropped */
    vs_clipmodel *m;
    CHECK_EQ(vs_clipmodel_builtin(&m, "nope", D, R), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_clipmodel_builtin(&m, "mean", D, R), VS_OK);
    CHECK_EQ(vs_clipmodel_dim(m), D);
    CHECK_EQ(vs_clipmodel_n_clips(m, T), 1);
    float *x = rand_video(T, R, D), want[16] = {0}, got[16];
    for (int f = 0; f < 8; f++)
        for (int r = 0; r < R; r++)
            for (int d = 0; d < D; d++) want[d] += x[((size_t)f * R + r) * D + d];
    unit(want, D);
    CHECK_EQ(vs_clipmodel_encode(m, got, x, T, R, D), VS_OK);
    CHECK(maxdiff(got, want, D) < 1e-6f);
    CHECK_EQ(vs_clipmodel_save(m, "/nonexistent/x.vstf"), VS_ERR_INVALID_ARG);
    vs_clipmodel_free(m);
    free(x);
}

static void expect_format_error(const char *path, const char *what) {
    vs_clipmodel *m = (vs_clipmodel *)1;
    CHECK_EQ(vs_clipmodel_load(&m, path), VS_ERR_FORMAT);
    CHECK(m == NULL);
    CHECK_MSG(strstr(vs_last_error(), path) != NULL, "error does not name the file: %s", vs_last_error());
    CHECK_MSG(strstr(vs_last_error(), what) != NULL, "error '%s' does not say '%s'", vs_last_error(), what);
}

/* Write a clip-model VSTF from m, leaving out tensor `skip`, reshaping `bad`, or
 * poisoning `nan` (each NULL for none). */
static void write_variant(const vs_clipmodel *m, const char *path, const char *skip, const char *bad,
                          const char *nan_name) {
    vs_clipmodel_config c = vs_clipmodel_get_config(m);
    vs__tfw *w;
    vs__tfw_create(&w);
    vs__tfw_meta(w, "clip.kind", "3dcsl-f");
    const char *keys[7] = {"clip.D", "clip.R", "clip.F", "clip.width", "clip.depth", "clip.heads", "clip.mlp"};
    int vals[7] = {c.D, c.R, c.F, c.width, c.depth, c.heads, c.mlp};
    for (int i = 0; i < 7; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", vals[i]);
        vs__tfw_meta(w, keys[i], buf);
    }
    int n = vs__clip_param_table(NULL, &c, 0, NULL);
    vs__clipparam *tab = calloc((size_t)n, sizeof *tab);
    vs__clip_param_table(tab, &c, 0, NULL);
    for (int i = 0; i < n; i++) {
        if (skip && !strcmp(tab[i].name, skip)) continue;
        int64_t dims[2] = {tab[i].dims[0], tab[i].dims[1]};
        int nd = tab[i].ndim;
        float *data = malloc(sizeof(float) * (size_t)tab[i].numel);
        memcpy(data, m->params + tab[i].offset, sizeof(float) * (size_t)tab[i].numel);
        if (bad && !strcmp(tab[i].name, bad)) dims[0] = 1, dims[1] = tab[i].numel, nd = 2;
        if (nan_name && !strcmp(tab[i].name, nan_name)) data[3] = NAN;
        vs__tfw_add(w, tab[i].name, VS_DT_F32, nd, dims, data);
        free(data);
    }
    CHECK_EQ(vs__tfw_save(w, path), VS_OK);
    vs__tfw_free(w);
    free(tab);
}

static void test_files(void) {
    vs_clipmodel_config c = small_cfg();
    vs_clipmodel *m, *m2;
    CHECK_EQ(vs_clipmodel_create(&m, &c, 3), VS_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/clip_rt.vstf", vs_test_tmpdir());
    CHECK_EQ(vs_clipmodel_save(m, path), VS_OK);
    CHECK_EQ(vs_clipmodel_load(&m2, path), VS_OK);
    if (m2) {
        CHECK(strcmp(vs_clipmodel_id(m), vs_clipmodel_id(m2)) == 0);
        CHECK_EQ(vs_clipmodel_n_params(m2), vs_clipmodel_n_params(m));
        CHECK(memcmp(m->params, m2->params, sizeof(float) * (size_t)m->n_params) == 0);
        vs_clipmodel_config c2 = vs_clipmodel_get_config(m2);
        CHECK(c2.D == c.D && c2.R == c.R && c2.F == c.F && c2.width == c.width && c2.depth == c.depth &&
              c2.heads == c.heads && c2.mlp == c.mlp);
        vs_clipmodel_free(m2);
    }
    /* another seed: another id */
    CHECK_EQ(vs_clipmodel_create(&m2, &c, 4), VS_OK);
    CHECK(strcmp(vs_clipmodel_id(m), vs_clipmodel_id(m2)) != 0);
    vs_clipmodel_free(m2);
    /* a VSTF that is not a clip model */
    char p2[512];
    snprintf(p2, sizeof p2, "%s/clip_notclip.vstf", vs_test_tmpdir());
    vs__tfw *w;
    vs__tfw_create(&w);
    vs__tfw_meta(w, "kind", "pca_whitening");
    float one = 1;
    int64_t d1[1] = {1};
    vs__tfw_add(w, "mean", VS_DT_F32, 1, d1, &one);
    vs__tfw_save(w, p2);
    vs__tfw_free(w);
    expect_format_error(p2, "not a clip model");
    write_variant(m, p2, "blocks.1.mlp.fc1.weight", NULL, NULL);
    expect_format_error(p2, "blocks.1.mlp.fc1.weight");
    write_variant(m, p2, NULL, "pos_time", NULL);
    expect_format_error(p2, "pos_time");
    write_variant(m, p2, NULL, NULL, "embed.weight");
    expect_format_error(p2, "non-finite");
    /* corrupt bytes: the container's checksum */
    FILE *f = fopen(p2, "r+b");
    fseek(f, 300, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    {
        vs_clipmodel *mm;
        CHECK(vs_clipmodel_load(&mm, p2) != VS_OK);
        CHECK(strstr(vs_last_error(), p2) != NULL);
    }
    /* missing file */
    {
        vs_clipmodel *mm;
        CHECK(vs_clipmodel_load(&mm, "/nonexistent/clip.vstf") != VS_OK);
        CHECK(strstr(vs_last_error(), "/nonexistent/clip.vstf") != NULL);
    }
    /* allocation failures while loading: every one an error, none a leak */
    for (long k = 1; k <= 12; k++) {
        vs_clipmodel *mm = NULL;
        vs_alloc_fail_after(k);
        vs_status st = vs_clipmodel_load(&mm, path);
        vs_alloc_fail_after(0);
        if (st == VS_OK) vs_clipmodel_free(mm);
        else CHECK(mm == NULL);
    }
    vs_clipmodel_free(m);
}

/* Mean of losses [a, b). */
static double mean(const float *l, int a, int b) {
    double s = 0;
    for (int i = a; i < b; i++) s += l[i];
    return s / (b - a);
}

static void test_training(void) {
    vs_clipmodel_config c = small_cfg();
    vs_cliptrain_params p = vs_cliptrain_default_params();
    p.iters_predmae = 60;
    p.iters_fcs = 60;
    p.batch = 6;
    p.seg_clips = 2;
    p.lr = 2e-3f;
    int nv = 6;
    float *vids[6];
    int Ts[6] = {20, 9, 31, 16, 5, 24};
    for (int i = 0; i < nv; i++) vids[i] = scene_video(Ts[i], c.R, c.D, 0.15f);
    vs_cliptrain *t;
    CHECK_EQ(vs_cliptrain_create(&t, &c, &p), VS_OK);
    float l0;
    CHECK_EQ(vs_cliptrain_step(t, &l0, NULL), VS_ERR_INVALID_ARG); /* no videos yet */
    for (int i = 0; i < nv; i++) CHECK_EQ(vs_cliptrain_add_video(t, vids[i], Ts[i], c.R, c.D), VS_OK);
    CHECK_EQ(vs_cliptrain_add_video(t, vids[0], Ts[0], c.R + 1, c.D), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_cliptrain_total(t), 120);
    float loss[120];
    vs_clip_stage stg[120];
    for (int i = 0; i < 120; i++) {
        vs_status st = vs_cliptrain_step(t, &loss[i], &stg[i]);
        if (st != VS_OK) {
            CHECK_MSG(0, "step %d: %s", i, vs_last_error());
            break;
        }
    }
    CHECK(stg[0] == VS_CLIP_STAGE_PREDMAE && stg[59] == VS_CLIP_STAGE_PREDMAE && stg[60] == VS_CLIP_STAGE_FCS);
    double p0 = mean(loss, 0, 10), p1 = mean(loss, 50, 60), f0 = mean(loss, 60, 70), f1 = mean(loss, 110, 120);
    fprintf(stderr, "PredMAE loss %.4f -> %.4f, FCS loss %.4f -> %.4f\n", p0, p1, f0, f1);
    CHECK_MSG(p1 < 0.75 * p0, "PredMAE loss did not fall enough: %.4f -> %.4f", p0, p1);
    CHECK_MSG(f1 < 0.7 * f0, "FCS loss did not fall enough: %.4f -> %.4f", f0, f1);
    CHECK_EQ(vs_cliptrain_step(t, &l0, NULL), VS_ERR_INVALID_ARG); /* finished */
    /* the trained encoder separates the scenes: each video's best match is itself */
    vs_clipmodel *m;
    CHECK_EQ(vs_cliptrain_model(t, &m), VS_OK);
    float *cv[6];
    int nc[6];
    for (int i = 0; i < nv; i++) {
        nc[i] = vs_clipmodel_n_clips(m, Ts[i]);
        cv[i] = malloc(sizeof(float) * (size_t)nc[i] * c.width);
        CHECK_EQ(vs_clipmodel_encode(m, cv[i], vids[i], Ts[i], c.R, c.D), VS_OK);
    }
    int correct = 0;
    for (int i = 0; i < nv; i++) {
        /* query: the video with fresh noise */
        float *q = malloc(sizeof(float) * (size_t)Ts[i] * c.R * c.D);
        for (long k = 0; k < (long)Ts[i] * c.R * c.D; k++) q[k] = vids[i][k] + 0.02f * frand();
        int nq = vs_clipmodel_n_clips(m, Ts[i]);
        float *qv = malloc(sizeof(float) * (size_t)nq * c.width);
        vs_clipmodel_encode(m, qv, q, Ts[i], c.R, c.D);
        int best = -1;
        float bs = -2;
        for (int j = 0; j < nv; j++) {
            float s = vs_clip_similarity(qv, nq, cv[j], nc[j], c.width, 3);
            if (s > bs) bs = s, best = j;
        }
        correct += best == i;
        free(q), free(qv);
    }
    CHECK_EQ(correct, nv);
    for (int i = 0; i < nv; i++) free(cv[i]);
    vs_clipmodel_free(m);
    vs_cliptrain_free(t);
    for (int i = 0; i < nv; i++) free(vids[i]);
}

static void test_resume(void) {
    vs_clipmodel_config c = small_cfg();
    vs_cliptrain_params p = vs_cliptrain_default_params();
    p.iters_predmae = 5;
    p.iters_fcs = 5;
    p.batch = 3;
    p.seg_clips = 2;
    int Ts[4] = {17, 8, 25, 12};
    float *vids[4];
    for (int i = 0; i < 4; i++) vids[i] = rand_video(Ts[i], c.R, c.D);
    char ck[512];
    snprintf(ck, sizeof ck, "%s/clip_resume.ckpt", vs_test_tmpdir());
    /* uninterrupted run */
    vs_cliptrain *a, *b, *b2;
    CHECK_EQ(vs_cliptrain_create(&a, &c, &p), VS_OK);
    for (int i = 0; i < 4; i++) vs_cliptrain_add_video(a, vids[i], Ts[i], c.R, c.D);
    for (int i = 0; i < 10; i++) CHECK_EQ(vs_cliptrain_step(a, NULL, NULL), VS_OK);
    /* interrupted at step 7 (inside stage 2), resumed from the checkpoint */
    CHECK_EQ(vs_cliptrain_create(&b, &c, &p), VS_OK);
    for (int i = 0; i < 4; i++) vs_cliptrain_add_video(b, vids[i], Ts[i], c.R, c.D);
    for (int i = 0; i < 7; i++) CHECK_EQ(vs_cliptrain_step(b, NULL, NULL), VS_OK);
    CHECK_EQ(vs_cliptrain_save(b, ck), VS_OK);
    vs_cliptrain_free(b);
    CHECK_EQ(vs_cliptrain_resume(&b2, ck, NULL), VS_OK);
    if (b2) {
        CHECK_EQ(vs_cliptrain_done(b2), 7);
        CHECK_EQ(vs_cliptrain_total(b2), 10);
        for (int i = 0; i < 4; i++) vs_cliptrain_add_video(b2, vids[i], Ts[i], c.R, c.D);
        for (int i = 7; i < 10; i++) CHECK_EQ(vs_cliptrain_step(b2, NULL, NULL), VS_OK);
        vs_clipmodel *ma, *mb;
        CHECK_EQ(vs_cliptrain_model(a, &ma), VS_OK);
        CHECK_EQ(vs_cliptrain_model(b2, &mb), VS_OK);
        float d = maxdiff(ma->params, mb->params, ma->n_params);
        fprintf(stderr, "resumed vs uninterrupted: max |dparam| = %g\n", d);
        CHECK_MSG(d < 1e-6f, "resumed run differs by %g", d);
        vs_clipmodel_free(ma);
        vs_clipmodel_free(mb);
        vs_cliptrain_free(b2);
    }
    /* another training set: refused at the first step */
    CHECK_EQ(vs_cliptrain_resume(&b2, ck, NULL), VS_OK);
    if (b2) {
        for (int i = 0; i < 3; i++) vs_cliptrain_add_video(b2, vids[i], Ts[i], c.R, c.D);
        CHECK_EQ(vs_cliptrain_step(b2, NULL, NULL), VS_ERR_INVALID_ARG);
        CHECK(strstr(vs_last_error(), "checkpoint") != NULL);
        vs_cliptrain_free(b2);
    }
    /* a model file is not a checkpoint; errors name the file */
    char mp[512];
    snprintf(mp, sizeof mp, "%s/clip_rt.vstf", vs_test_tmpdir());
    CHECK(vs_cliptrain_resume(&b2, mp, NULL) == VS_ERR_FORMAT);
    CHECK(strstr(vs_last_error(), mp) != NULL);
    vs_cliptrain_free(a);
    for (int i = 0; i < 4; i++) free(vids[i]);
}

/* The shipped model (models/clip_inception_v3.vstf) loads, has the documented config
 * and gives unit vectors; skipped when the file is absent. */
static void test_shipped(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/clip_inception_v3.vstf", vs_test_models());
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "no %s: shipped-model check skipped\n", path);
        return;
    }
    fclose(f);
    vs_clipmodel *m;
    CHECK_EQ(vs_clipmodel_load(&m, path), VS_OK);
    if (!m) return;
    vs_clipmodel_config c = vs_clipmodel_get_config(m);
    CHECK(c.D == 256 && c.R == 9 && c.F == 8 && c.width == 128 && c.depth == 4 && c.heads == 4 &&
          c.mlp == 512 && c.pool == VS_CLIP_POOL_CLS);
    float *x = rand_video(20, 9, 256), v[2 * 128];
    CHECK_EQ(vs_clipmodel_encode(m, v, x, 20, 9, 256), VS_OK);
    for (int i = 0; i < 2; i++) {
        double s = 0;
        for (int k = 0; k < 128; k++) s += (double)v[i * 128 + k] * v[i * 128 + k];
        CHECK_NEAR(s, 1.0, 1e-5);
    }
    free(x);
    vs_clipmodel_free(m);
}

int main(void) {
    test_counts();
    test_encode();
    test_builtin_mean();
    test_files();
    test_training();
    test_resume();
    test_shipped();
    return vs_test_done();
}
