/*
 * test_index.c - the video index catalogue with synthetic feature files (no decoder
 * or backbone needed): create/open, add/skip/replace, model and fps checks, failed
 * rows, list by name and path, load, remove, the writer lock, verify and repair of
 * orphans, temp files, missing and corrupt feature files, malformed catalogues,
 * parallel adds from several threads, and allocation-failure injection.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/index.h"

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[1024];

static void rm_rf(const char *p) {
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
}

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", base, name); }

/* Synthetic features: T frames, 9 regions, D dims, values from a seed. */
static vs_features *synth(int T, int D, const char *model, double fps, uint64_t hash) {
    vs_features *f = calloc(1, sizeof *f);
    f->T = T;
    f->R = VS_REGIONS;
    f->D = D;
    f->data = malloc(sizeof(float) * T * f->R * D);
    f->times = malloc(sizeof(float) * T);
    uint64_t s = hash * 2654435761u + 1;
    for (long i = 0; i < (long)T * f->R * D; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        f->data[i] = (float)((s >> 40) & 0xffff) / 65536.f - 0.5f;
    }
    for (int t = 0; t < T; t++) f->times[t] = (float)(t / fps);
    f->fps = fps;
    f->duration = T / fps;
    snprintf(f->model_id, sizeof f->model_id, "%s", model);
    f->source_size = 1000 + hash;
    f->source_mtime = 1700000000000000000LL + (int64_t)hash;
    f->source_hash = hash;
    return f;
}

static void synth_free(vs_features *f) {
    free(f->data);
    free(f->times);
    free(f);
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void test_basic(void) {
    char dir[1200], feats[1300];
    path_in(dir, sizeof dir, "basic");
    snprintf(feats, sizeof feats, "%s/features", dir);
    rm_rf(dir);
    vs_index *idx = NULL;
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_ERR_IO);
    CHECK(idx == NULL);
    CHECK(strstr(vs_last_error(), "basic") != NULL);
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    vs_index_info info;
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK_EQ(info.format_version, VS_INDEX_FORMAT_VERSION);
    CHECK(info.model_id[0] == 0);

    vs_features *a = synth(5, 16, "m1", 1.0, 11), *b = synth(7, 16, "m1", 1.0, 22);
    vs_index_add_result r;
    CHECK_EQ(vs_index_add_features(idx, "/videos/x/a.mp4", a, 0, &r), VS_OK);
    CHECK_EQ(r.outcome, VS_INDEX_ADDED);
    CHECK_EQ(r.n_frames, 5);
    int64_t id_a = r.id;
    CHECK_EQ(vs_index_add_features(idx, "/videos/x/a.mp4", a, 0, &r), VS_OK);
    CHECK_EQ(r.outcome, VS_INDEX_UNCHANGED);
    CHECK_EQ(r.id, id_a);
    CHECK_EQ(vs_index_add_features(idx, "/videos/y/../x/./b.mkv", b, 0, &r), VS_OK);
    CHECK_EQ(r.outcome, VS_INDEX_ADDED);
    CHECK_EQ(count_files(feats), 2);
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK(!strcmp(info.model_id, "m1"));
    CHECK_NEAR(info.fps, 1.0, 0);
    CHECK_EQ(info.n_ok, 2);

    /* changed content replaces the row and deletes the old file */
    vs_features *a2 = synth(6, 16, "m1", 1.0, 33);
    CHECK_EQ(vs_index_add_features(idx, "/videos/x/a.mp4", a2, 0, &r), VS_OK);
    CHECK_EQ(r.outcome, VS_INDEX_REPLACED);
    CHECK(r.id != id_a);
    CHECK_EQ(count_files(feats), 2);
    /* FORCE re-adds an unchanged file */
    CHECK_EQ(vs_index_add_features(idx, "/videos/x/a.mp4", a2, VS_INDEX_FORCE, &r), VS_OK);
    CHECK_EQ(r.outcome, VS_INDEX_REPLACED);
    CHECK_EQ(count_files(feats), 2);

    /* model and fps mismatch are clear errors and change nothing */
    vs_features *c = synth(3, 16, "m2", 1.0, 44), *d = synth(3, 16, "m1", 2.0, 55);
    CHECK_EQ(vs_index_add_features(idx, "/videos/c.mp4", c, 0, &r), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "model m1") != NULL);
    CHECK_EQ(vs_index_add_features(idx, "/videos/d.mp4", d, 0, &r), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "frames/s") != NULL);
    CHECK_EQ(count_files(feats), 2);

    /* failed rows */
    CHECK_EQ(vs_index_add_failed(idx, "/videos/bad.avi", "m1", "bad.avi: not a video", &r), VS_OK);
    CHECK_EQ(r.outcome, VS_INDEX_FAILED);
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK_EQ(info.n_ok, 2);
    CHECK_EQ(info.n_failed, 1);

    vs_index_entries *es;
    CHECK_EQ(vs_index_list(idx, NULL, &es), VS_OK);
    CHECK_EQ(es->n, 3);
    if (es->n == 3) {
        CHECK(!strcmp(es->v[0].path, "/videos/x/b.mkv"));
        CHECK(!strcmp(es->v[0].name, "b"));
        CHECK(!strcmp(es->v[1].name, "a"));
        CHECK_EQ(es->v[1].hash, 33);
        CHECK_EQ(es->v[1].size, 1033);
        CHECK_EQ(es->v[1].n_frames, 6);
        CHECK(!strncmp(es->v[1].feature_file, "features/0000000000000021-", 26));
        CHECK(!strcmp(es->v[2].name, "bad"));
        CHECK_EQ(es->v[2].ok, 0);
        CHECK(!strcmp(es->v[2].error, "bad.avi: not a video"));
        CHECK(es->v[2].feature_file[0] == 0);
        vs_features *f = NULL;
        CHECK_EQ(vs_index_load_features(idx, &es->v[1], &f), VS_OK);
        if (f) {
            CHECK_EQ(f->T, 6);
            CHECK(vs_check_tensor("a2", f->data, a2->data, 6L * 9 * 16, 0, 0));
            vs_features_free(f);
        }
        CHECK_EQ(vs_index_load_features(idx, &es->v[2], &f), VS_ERR_INVALID_ARG);
    }
    vs_index_entries_free(es);
    CHECK_EQ(vs_index_list(idx, "a", &es), VS_OK);
    CHECK_EQ(es->n, 1);
    vs_index_entries_free(es);
    CHECK_EQ(vs_index_list(idx, "/videos/x/b.mkv", &es), VS_OK);
    CHECK_EQ(es->n, 1);
    vs_index_entries_free(es);
    CHECK_EQ(vs_index_list(idx, "nothing", &es), VS_OK);
    CHECK_EQ(es->n, 0);
    vs_index_entries_free(es);

    /* lock: a second writer is refused, a reader is welcome */
    vs_index *idx2 = NULL;
    CHECK_EQ(vs_index_open(&idx2, dir, 0), VS_ERR_IO);
    CHECK(strstr(vs_last_error(), "locked") != NULL);
    CHECK_EQ(vs_index_open(&idx2, dir, VS_INDEX_READONLY), VS_OK);
    if (idx2) {
        CHECK_EQ(vs_index_list(idx2, NULL, &es), VS_OK);
        CHECK_EQ(es->n, 3);
        vs_index_entries_free(es);
        CHECK_EQ(vs_index_add_features(idx2, "/videos/z.mp4", b, 0, &r), VS_ERR_INVALID_ARG);
        vs_index_close(idx2);
    }

    /* remove */
    CHECK_EQ(vs_index_list(idx, "b", &es), VS_OK);
    CHECK_EQ(vs_index_remove(idx, es->v[0].id), VS_OK);
    CHECK_EQ(vs_index_remove(idx, es->v[0].id), VS_ERR_INVALID_ARG);
    vs_index_entries_free(es);
    CHECK_EQ(count_files(feats), 1);
    vs_index_close(idx);

    /* persistence */
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_OK);
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK(!strcmp(info.model_id, "m1"));
    CHECK_EQ(info.n_ok, 1);
    CHECK_EQ(info.n_failed, 1);
    vs_index_close(idx);
    synth_free(a);
    synth_free(a2);
    synth_free(b);
    synth_free(c);
    synth_free(d);
}

static void write_bytes(const char *p, const void *d, size_t n) {
    FILE *f = fopen(p, "wb");
    if (!f) return;
    fwrite(d, 1, n, f);
    fclose(f);
}

static void test_verify(void) {
    char dir[1200], p[1600];
    path_in(dir, sizeof dir, "verify");
    rm_rf(dir);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    if (!idx) return;
    for (int i = 0; i < 5; i++) {
        vs_features *f = synth(4 + i, 8, "m", 1.0, 100 + i);
        char src[64];
        snprintf(src, sizeof src, "/v/clip%d.mp4", i);
        CHECK_EQ(vs_index_add_features(idx, src, f, 0, NULL), VS_OK);
        synth_free(f);
    }
    vs_index_report *rep;
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 0);
    CHECK_EQ(rep->n_ok, 5);
    vs_index_report_free(rep);

    vs_index_entries *es;
    CHECK_EQ(vs_index_list(idx, NULL, &es), VS_OK);
    /* row 0: file deleted; row 1: a byte flipped; plus an orphan and a temp file */
    snprintf(p, sizeof p, "%s/%s", dir, es->v[0].feature_file);
    CHECK_EQ(unlink(p), 0);
    snprintf(p, sizeof p, "%s/%s", dir, es->v[1].feature_file);
    FILE *fp = fopen(p, "r+b");
    if (fp) {
        fseek(fp, 300, SEEK_SET);
        int ch = fgetc(fp);
        fseek(fp, 300, SEEK_SET);
        fputc(ch ^ 0x55, fp);
        fclose(fp);
    }
    snprintf(p, sizeof p, "%s/features/deadbeef-0000.vsf", dir);
    write_bytes(p, "x", 1);
    snprintf(p, sizeof p, "%s/features/abc.vsf.tmp.123", dir);
    write_bytes(p, "y", 1);
    int64_t bad0 = es->v[0].id, bad1 = es->v[1].id;
    vs_index_entries_free(es);

    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 4);
    int kinds[5] = {0};
    for (long i = 0; i < rep->n_problems; i++) {
        kinds[rep->problems[i].kind]++;
        CHECK_EQ(rep->problems[i].repaired, 0);
        if (rep->problems[i].kind == VS_INDEX_BAD_ROW)
            CHECK(rep->problems[i].id == bad0 || rep->problems[i].id == bad1);
    }
    CHECK_EQ(kinds[VS_INDEX_BAD_ROW], 2);
    CHECK_EQ(kinds[VS_INDEX_ORPHAN], 1);
    CHECK_EQ(kinds[VS_INDEX_TMP], 1);
    vs_index_report_free(rep);

    CHECK_EQ(vs_index_verify(idx, 1, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 4);
    for (long i = 0; i < rep->n_problems; i++) CHECK_EQ(rep->problems[i].repaired, 1);
    vs_index_report_free(rep);
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 0);
    CHECK_EQ(rep->n_ok, 3);
    vs_index_report_free(rep);
    char feats[1300];
    snprintf(feats, sizeof feats, "%s/features", dir);
    CHECK_EQ(count_files(feats), 3);

    /* sweep */
    snprintf(p, sizeof p, "%s/features/0123-4567.vsf", dir);
    write_bytes(p, "x", 1);
    long nrm = 0;
    CHECK_EQ(vs_index_sweep(idx, &nrm), VS_OK);
    CHECK_EQ(nrm, 1);
    CHECK_EQ(count_files(feats), 3);
    vs_index_close(idx);

    /* read-only handles cannot repair */
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    CHECK_EQ(vs_index_verify(idx, 1, &rep), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 0);
    vs_index_report_free(rep);
    vs_index_close(idx);
}

static void test_malformed(void) {
    char dir[1200], p[1300];
    vs_index *idx = NULL;
    /* random bytes named catalogue.sqlite */
    path_in(dir, sizeof dir, "malformed");
    rm_rf(dir);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/catalogue.sqlite", dir);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 7 + 3);
    write_bytes(p, junk, sizeof junk);
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_ERR_FORMAT);
    CHECK(idx == NULL);
    CHECK_MSG(strstr(vs_last_error(), "catalogue.sqlite") != NULL, "%s", vs_last_error());
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_ERR_FORMAT);
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_ERR_FORMAT);

    /* an SQLite database that is not ours */
    rm_rf(dir);
    mkdir(dir, 0755);
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'CREATE TABLE x(a);' 2>/dev/null", p);
    if (system(cmd) == 0) {
        CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_ERR_FORMAT);
        CHECK(strstr(vs_last_error(), "not a vidsim index catalogue") != NULL);
    }

    /* an empty file (creation killed before its first commit) is initialized */
    rm_rf(dir);
    mkdir(dir, 0755);
    write_bytes(p, "", 0);
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_ERR_FORMAT);
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    vs_index_close(idx);

    /* a file where the directory should be */
    CHECK_EQ(vs_index_open(&idx, p, VS_INDEX_CREATE), VS_ERR_IO);
    CHECK(strstr(vs_last_error(), "not a directory") != NULL);
}

typedef struct { vs_index *idx; int t, n; int fails; } thr_arg;

static void *thr_add(void *arg) {
    thr_arg *a = arg;
    for (int i = 0; i < a->n; i++) {
        uint64_t h = (uint64_t)(a->t * 1000 + i + 1);
        vs_features *f = synth(2 + i % 5, 8, "m", 1.0, h);
        char src[64];
        snprintf(src, sizeof src, "/t%d/v%03d.mp4", a->t, i);
        vs_index_add_result r;
        if (vs_index_add_features(a->idx, src, f, 0, &r) != VS_OK || r.outcome != VS_INDEX_ADDED) a->fails++;
        synth_free(f);
    }
    return NULL;
}

static void test_threads(void) {
    char dir[1200];
    path_in(dir, sizeof dir, "threads");
    rm_rf(dir);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    if (!idx) return;
    enum { NT = 4, NV = 25 };
    pthread_t th[NT];
    thr_arg args[NT];
    for (int t = 0; t < NT; t++) {
        args[t] = (thr_arg){idx, t, NV, 0};
        pthread_create(&th[t], NULL, thr_add, &args[t]);
    }
    for (int t = 0; t < NT; t++) {
        pthread_join(th[t], NULL);
        CHECK_EQ(args[t].fails, 0);
    }
    vs_index_report *rep;
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_ok, NT * NV);
    CHECK_EQ(rep->n_problems, 0);
    vs_index_report_free(rep);
    vs_index_close(idx);
}

/* Fail the k-th allocation for every k until the call succeeds: no crash, no leak
 * (under ASan), and the index stays consistent. */
static void test_alloc_failures(void) {
    char dir[1200];
    path_in(dir, sizeof dir, "oom");
    rm_rf(dir);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    if (!idx) return;
    vs_features *f = synth(3, 8, "m", 1.0, 7);
    int ok = 0;
    for (long k = 1; k < 200 && !ok; k++) {
        vs_alloc_fail_after(k);
        vs_index_add_result r;
        ok = vs_index_add_features(idx, "/v/oom.mp4", f, VS_INDEX_FORCE, &r) == VS_OK;
        vs_alloc_fail_after(0);
    }
    CHECK(ok);
    for (long k = 1; k < 200; k++) {
        vs_alloc_fail_after(k);
        vs_index_entries *es = NULL;
        vs_status s = vs_index_list(idx, NULL, &es);
        vs_alloc_fail_after(0);
        vs_index_entries_free(es);
        if (s == VS_OK) break;
    }
    for (long k = 1; k < 200; k++) {
        vs_alloc_fail_after(k);
        vs_index_report *rep = NULL;
        vs_status s = vs_index_verify(idx, 0, &rep);
        vs_alloc_fail_after(0);
        vs_index_report_free(rep);
        if (s == VS_OK) break;
    }
    vs_index_report *rep;
    CHECK_EQ(vs_index_verify(idx, 1, &rep), VS_OK);
    CHECK_EQ(rep->n_ok, 1);
    CHECK_EQ(rep->n_problems, 0); /* no half-written row; a failed save leaves nothing */
    vs_index_report_free(rep);
    synth_free(f);
    vs_index_close(idx);
}

int main(void) {
    snprintf(base, sizeof base, "%s/test_index", vs_test_tmpdir());
    rm_rf(base);
    mkdir(base, 0755);
    test_basic();
    test_verify();
    test_malformed();
    test_threads();
    test_alloc_failures();
    return vs_test_done();
}
