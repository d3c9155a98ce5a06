/*
 * test_batch.c - the many-file calls of include/vidsim/batch.h without videos:
 * vs_pca_acc_add_files over raw feature files with 1 and 3 workers (every file told
 * once to on_item with done counting 1..n, a file of the wrong D skipped with
 * VS_ERR_FORMAT and its D, a missing file skipped, the good files' vectors all
 * added), the abort callback (nothing claimed, VS_ERR_ABORTED), and argument errors
 * of vs_extract_files and vs_index_add_files. The video paths (extraction, index
 * add) are covered end to end by tests/golden/test_extract_cli.sh, test_index_cli.sh
 * and test_cli_interrupt.sh, and byte for byte by bench/threading_golden.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/batch.h"
#include "vidsim/features.h"
#include "vidsim/index.h"

enum { NF = 8, T = 3, R = 2 };

typedef struct {
    int calls, seen[NF], done_seen[NF + 1], format_dim, failed;
} told;

static void on_item(const vs_batch_item *it, void *user) {
    told *t = user;
    t->calls++;
    if (it->i < 0 || it->i >= NF) return;
    t->seen[it->i]++;
    if (it->done >= 1 && it->done <= NF) t->done_seen[it->done]++;
    if (it->status == VS_ERR_FORMAT && it->dim) t->format_dim = it->dim;
    if (it->status) t->failed++;
    CHECK_EQ(it->total, NF);
    CHECK(it->error != NULL && (it->status ? it->error[0] != 0 : it->error[0] == 0));
}

static bool stop_now(void *user) {
    (void)user;
    return true;
}

static void write_feat(const char *path, int D, int seed) {
    vs_features f;
    memset(&f, 0, sizeof f);
    f.T = T;
    f.R = R;
    f.D = D;
    f.fps = 1;
    f.duration = T;
    snprintf(f.model_id, sizeof f.model_id, "test/raw");
    f.source = "synthetic.mp4";
    float data[T * R * 16], times[T];
    for (int i = 0; i < T * R * D; i++) data[i] = (float)((i * 7 + seed * 13) % 23) * 0.1f - 1;
    for (int t = 0; t < T; t++) times[t] = (float)t;
    f.data = data;
    f.times = times;
    CHECK_EQ(vs_features_save(&f, path), VS_OK);
}

int main(void) {
    char paths[NF][4096];
    const char *files[NF];
    for (int i = 0; i < NF; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/batch_%d.vsf", vs_test_tmpdir(), i);
        files[i] = paths[i];
    }
    for (int i = 0; i < NF - 2; i++) write_feat(paths[i], 8, i);
    write_feat(paths[NF - 2], 4, 99);  /* wrong D */
    remove(paths[NF - 1]);             /* missing */

    for (int nj = 1; nj <= 3; nj += 2) {
        vs_pca_acc *acc;
        CHECK_EQ(vs_pca_acc_create(&acc, 8), VS_OK);
        told t;
        memset(&t, 0, sizeof t);
        vs_batch_params bp = vs_batch_default_params();
        bp.n_jobs = nj;
        bp.on_item = on_item;
        bp.user = &t;
        int n_ok = -1;
        CHECK_EQ(vs_pca_acc_add_files(acc, NULL, files, NF, &bp, &n_ok), VS_OK);
        CHECK_EQ(n_ok, NF - 2);
        CHECK_EQ(vs_pca_acc_count(acc), (long)(NF - 2) * T * R);
        CHECK_EQ(t.calls, NF);
        for (int i = 0; i < NF; i++) CHECK_MSG(t.seen[i] == 1, "file %d told %d times (%d jobs)", i, t.seen[i], nj);
        for (int d = 1; d <= NF; d++) CHECK_EQ(t.done_seen[d], 1);
        CHECK_EQ(t.format_dim, 4);
        CHECK_EQ(t.failed, 2);
        vs_pca_acc_free(acc);
    }
    { /* abort before the first claim */
        vs_pca_acc *acc;
        CHECK_EQ(vs_pca_acc_create(&acc, 8), VS_OK);
        told t;
        memset(&t, 0, sizeof t);
        vs_batch_params bp = vs_batch_default_params();
        bp.n_jobs = 2;
        bp.on_item = on_item;
        bp.user = &t;
        bp.abort_fn = stop_now;
        int n_ok = -1;
        CHECK_EQ(vs_pca_acc_add_files(acc, NULL, files, NF, &bp, &n_ok), VS_ERR_ABORTED);
        CHECK_EQ(n_ok, 0);
        CHECK_EQ(t.calls, 0);
        CHECK_EQ(vs_pca_acc_count(acc), 0);
        vs_pca_acc_free(acc);
    }
    { /* no files, default params */
        vs_pca_acc *acc;
        CHECK_EQ(vs_pca_acc_create(&acc, 8), VS_OK);
        CHECK_EQ(vs_pca_acc_add_files(acc, NULL, NULL, 0, NULL, NULL), VS_OK);
        vs_pca_acc_free(acc);
    }
    CHECK_EQ(vs_pca_acc_add_files(NULL, NULL, files, NF, NULL, NULL), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_extract_files(NULL, files, files, NF, 0, NULL), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_index_add_files(NULL, NULL, files, NF, 0, NULL), VS_ERR_INVALID_ARG);
    for (int i = 0; i < NF; i++) remove(paths[i]);
    return vs_test_done();
}
