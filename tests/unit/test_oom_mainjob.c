/*
 * test_oom_mainjob.c - allocation failure over the public calls of the main job
 * (issue 19): extraction (extractor load, state, one video), index add, search
 * (searcher create and one query, with score normalisation) and a training step.
 * For n = 1, 2, ... the n-th allocation of the library from the call's start fails
 * (vs_alloc_fail_after); each such run must return an error status with a message,
 * leak nothing (the ASan pass's LeakSanitizer checks) and leave the index verifying
 * clean with every video added before; the sweep ends at the first n where the call
 * succeeds, which must then give the same answer as a run without injection.
 * Needs ffmpeg (the clips) and the MobileNetV2 weights; skips naming what is missing.
 */
#include "test.h"
#include "vidsim/vidsim.h"

#include <sys/stat.h>
#include <unistd.h>

static char g_dir[1024], g_a[1200], g_b[1200], g_c[1200], g_bb[1200];

#define MAX_N 20000 /* beyond every call's allocation count: the sweep must end before */

static int make_clip(const char *src, const char *path) {
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i '%s=size=160x120:rate=10' -t 3 "
             "-pix_fmt yuv420p '%s'",
             src, path);
    return system(cmd) == 0;
}

static vs_extract_params xparams(void) {
    vs_extract_params p = vs_extract_default_params();
    p.decode.fps = 2;
    return p;
}

/* a failed run: an error status with a message (counted only when it fails, to keep
 * the pass count meaningful) */
static void check_failure(const char *what, long n, vs_status s) {
    if (s == VS_OK) return;
    CHECK_MSG(vs_last_error()[0] != 0, "%s, allocation %ld: status %d without a message", what, n, (int)s);
}

static long sweep_extract(vs_features **out) {
    long n;
    for (n = 1; n < MAX_N; n++) {
        vs_extract_params p = xparams();
        vs_extractor *ex = NULL;
        vs_extract_state *st = NULL;
        vs_features *f = NULL;
        vs_alloc_fail_after(n);
        vs_status s = vs_extractor_load(&ex, g_bb, NULL, &p);
        if (!s) s = vs_extract_state_create(&st, ex);
        if (!s) s = vs_extract_video(st, g_a, &f);
        vs_alloc_fail_after(0);
        check_failure("extract", n, s);
        vs_extract_state_free(st);
        vs_extractor_free(ex);
        if (s == VS_OK) {
            *out = f;
            return n;
        }
        CHECK_MSG(f == NULL, "extract, allocation %ld: failed but returned features", n);
    }
    return n;
}

static long count_ok(vs_index *idx) {
    vs_index_report *r = NULL;
    long ok = -1;
    if (vs_index_verify(idx, 0, &r) == VS_OK && r->n_problems == 0) ok = r->n_ok;
    vs_index_report_free(r);
    return ok;
}

static long sweep_index_add(const vs_extractor *ex, vs_extract_state *st, const char *dir) {
    vs_index *idx = NULL;
    if (vs_index_open(&idx, dir, VS_INDEX_CREATE) != VS_OK) {
        CHECK_MSG(0, "open %s: %s", dir, vs_last_error());
        return 0;
    }
    vs_index_add_result r;
    CHECK_EQ(vs_index_add_video(idx, ex, st, g_a, 0, &r), VS_OK);
    long n;
    for (n = 1; n < MAX_N; n++) {
        vs_alloc_fail_after(n);
        vs_status s = vs_index_add_video(idx, ex, st, g_b, 0, &r);
        vs_alloc_fail_after(0);
        check_failure("index add", n, s);
        long ok = count_ok(idx);
        CHECK_MSG(ok == (s == VS_OK ? 2 : 1) || (s != VS_OK && ok == 2),
                  "index add, allocation %ld: status %d, %ld ok rows, or problems", n, (int)s, ok);
        if (s == VS_OK) break;
    }
    CHECK_EQ(vs_index_add_video(idx, ex, st, g_c, 0, &r), VS_OK);
    CHECK_EQ(count_ok(idx), 3);
    vs_index_close(idx);
    return n;
}

/* inject: 1 for the sweep, 0 for one clean run (returns 1 on success) */
static long sweep_search(const char *dir, int inject, char *top, size_t ntop, float *score) {
    vs_index *idx = NULL;
    if (vs_index_open(&idx, dir, VS_INDEX_READONLY) != VS_OK) {
        CHECK_MSG(0, "open %s: %s", dir, vs_last_error());
        return 0;
    }
    long n;
    top[0] = 0;
    for (n = 1; n < MAX_N; n++) {
        vs_search_params p = vs_search_default_params();
        vs_searcher *s = NULL;
        vs_search_result *r = NULL;
        vs_alloc_fail_after(inject ? n : 0);
        vs_status st = vs_searcher_create(&s, idx, &p);
        if (!st) st = vs_searcher_query(s, g_a, &r);
        vs_alloc_fail_after(0);
        check_failure("search", n, st);
        if (st == VS_OK && r && r->n > 0) {
            snprintf(top, ntop, "%s", r->hits[0].name);
            *score = r->hits[0].score;
        }
        vs_search_result_free(r);
        vs_searcher_free(s);
        if (st == VS_OK || !inject) break;
    }
    vs_index_close(idx);
    return n;
}

static long sweep_train(double *loss) {
    enum { N = 4, T = 4, R = 9, D = 32 };
    static float x[N * T * R * D];
    int32_t labels[N * N];
    uint64_t z = 12345;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((z >> 40) & 0xffff) / 65536.0f - 0.5f;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) labels[i * N + j] = (i % 2) == (j % 2);
    vs_simmodel *m0 = NULL;
    if (vs_simmodel_create_random(&m0, D, 7) != VS_OK) {
        CHECK_MSG(0, "create_random: %s", vs_last_error());
        return 0;
    }
    long n;
    for (n = 1; n < MAX_N; n++) {
        vs_s2vs_train_params p = vs_s2vs_train_default_params();
        vs_s2vs_trainer *t = NULL;
        vs_s2vs_losses l;
        vs_alloc_fail_after(n);
        vs_status s = vs_s2vs_trainer_create(&t, m0, &p);
        if (!s) s = vs_s2vs_trainer_step(t, x, labels, N, T, R, D, &l);
        vs_alloc_fail_after(0);
        check_failure("train step", n, s);
        if (s == VS_OK) *loss = l.total;
        vs_s2vs_trainer_free(t);
        if (s == VS_OK) break;
    }
    vs_simmodel_free(m0);
    return n;
}

int main(void) {
    const char *models = getenv("VS_MODELS");
    const char *tmp = getenv("VS_TMP");
    snprintf(g_bb, sizeof g_bb, "%s/mobilenet_v2.vstf", models && *models ? models : "models");
    if (access(g_bb, R_OK) != 0) SKIP("%s missing (run scripts/fetch_weights.sh)", g_bb);
    if (system("ffmpeg -version > /dev/null 2>&1") != 0) SKIP("no ffmpeg to make the test clips");
    snprintf(g_dir, sizeof g_dir, "%s/oom_mainjob", tmp && *tmp ? tmp : "/tmp");
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", g_dir, g_dir);
    if (system(cmd) != 0) SKIP("cannot make %s", g_dir);
    snprintf(g_a, sizeof g_a, "%s/a.mp4", g_dir);
    snprintf(g_b, sizeof g_b, "%s/b.mp4", g_dir);
    snprintf(g_c, sizeof g_c, "%s/c.mp4", g_dir);
    if (!make_clip("testsrc2", g_a) || !make_clip("mandelbrot", g_b) || !make_clip("smptebars", g_c))
        SKIP("ffmpeg could not make the clips");

    /* the answers without injection */
    vs_extract_params p = xparams();
    vs_extractor *ex = NULL;
    vs_extract_state *st = NULL;
    vs_features *ref = NULL;
    CHECK_EQ(vs_extractor_load(&ex, g_bb, NULL, &p), VS_OK);
    CHECK_EQ(vs_extract_state_create(&st, ex), VS_OK);
    CHECK_EQ(vs_extract_video(st, g_a, &ref), VS_OK);
    if (!ref) return vs_test_done();

    vs_features *f = NULL;
    long n_ex = sweep_extract(&f);
    CHECK_MSG(n_ex < MAX_N && f, "extraction never succeeded in %d allocations", MAX_N);
    if (f) {
        CHECK_EQ(f->T, ref->T);
        CHECK_EQ(f->D, ref->D);
        if (f->T == ref->T && f->D == ref->D)
            CHECK(memcmp(f->data, ref->data, sizeof(float) * (size_t)f->T * f->R * f->D) == 0);
    }
    vs_features_free(f);
    vs_features_free(ref);

    char idir[1200];
    snprintf(idir, sizeof idir, "%s/idx", g_dir);
    long n_add = sweep_index_add(ex, st, idir);
    CHECK_MSG(n_add < MAX_N, "index add never succeeded");
    vs_extract_state_free(st);
    vs_extractor_free(ex);

    char top[256];
    float score = 0;
    long n_search = sweep_search(idir, 1, top, sizeof top, &score);
    CHECK_MSG(n_search < MAX_N && top[0], "search never succeeded");
    /* the same search without injection gives the same best hit and score */
    char top0[256];
    float score0 = 0;
    CHECK_EQ(sweep_search(idir, 0, top0, sizeof top0, &score0), 1);
    CHECK_MSG(strcmp(top, top0) == 0 && score == score0, "search after failures: %s %g, clean: %s %g", top, score,
              top0, score0);

    double loss = 0;
    long n_train = sweep_train(&loss);
    CHECK_MSG(n_train < MAX_N && isfinite(loss), "train step never succeeded");
    fprintf(stderr, "allocations failed one by one: extract %ld, index add %ld, search %ld, train step %ld\n",
            n_ex - 1, n_add - 1, n_search - 1, n_train - 1);
    return vs_test_done();
}
