/*
 * test_index_rebuild.c - a catalogue with a damaged inner page takes no more writes,
 * and vs_index_rebuild brings the index back from its feature files. Synthetic
 * features (no decoder or backbone), 300 videos with hash-like extras:
 *  * vs_index_check_writable passes on the intact catalogue (its cost is printed:
 *    quick_check once per handle);
 *  * after garbage is written over an inner page, every writer (add_features,
 *    add_failed, remove, put_extras, delete_extras, sweep, verify with repair) is
 *    refused with VS_ERR_FORMAT, the message names the catalogue and says
 *    `index rebuild`; the file's bytes do not change; readers still open;
 *  * vs_index_rebuild restores every video with the same path, name, frames, size,
 *    mtime, hash and model; meta (model id, fps, format version) as before; every
 *    extra it kept is the one stored for that video (never another video's); the
 *    damaged file is kept byte for byte; verify passes and adds work again;
 *  * a truncated feature file is left out, named in the report and not deleted, and
 *    its video is listed as lost; a rebuild under a writer's lock is refused;
 *    a rebuild with the catalogue deleted takes model and fps from the files.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/index.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { N = 300, D = 8 };

static vs_features *synth(int T, uint64_t hash) {
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
    for (int t = 0; t < T; t++) f->times[t] = (float)t;
    f->fps = 2.0;
    f->duration = T / 2.0;
    snprintf(f->model_id, sizeof f->model_id, "m-rebuild");
    f->source_size = 1000 + hash;
    f->source_mtime = 1700000000000000000LL + (int64_t)hash;
    f->source_hash = hash * 0x9e3779b97f4a7c15ULL;
    return f;
}

static void synth_free(vs_features *f) {
    free(f->data);
    free(f->times);
    free(f);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static unsigned char *slurp(const char *p, size_t *n) { return vs_test_read_file(p, n); }

static int same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static void garbage_page(const char *db, long page_size, long page_no) {
    FILE *f = fopen(db, "r+b");
    CHECK(f != NULL);
    if (!f) return;
    fseek(f, page_size * (page_no - 1), SEEK_SET);
    for (long i = 0; i < page_size; i++) fputc((int)((i * 37 + 11) & 255), f);
    fclose(f);
}

static long page_size_of(const char *db) {
    size_t n = 0;
    unsigned char *h = slurp(db, &n);
    long ps = h && n >= 100 ? (h[16] << 8 | h[17]) : 0;
    if (ps == 1) ps = 65536;
    free(h);
    return ps;
}

static int mentions(const char *msg, const char *what) { return strstr(msg, what) != NULL; }

/* The refusal: VS_ERR_FORMAT, naming the catalogue and the way out. */
#define REFUSED(call, cat)                                                                            \
    do {                                                                                              \
        vs_status _s = (call);                                                                        \
        CHECK_MSG(_s == VS_ERR_FORMAT, "%s -> %d", #call, _s);                                        \
        CHECK_MSG(mentions(vs_last_error(), cat) && mentions(vs_last_error(), "vidsim index rebuild"), \
                  "%s", vs_last_error());                                                             \
    } while (0)

static char *kept_file(const char *dir) {
    DIR *d = opendir(dir);
    char *out = NULL;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (!out && strstr(de->d_name, "catalogue.sqlite.damaged-") && !strstr(de->d_name, "-wal")) {
            size_t n = strlen(dir) + strlen(de->d_name) + 2;
            out = malloc(n);
            snprintf(out, n, "%s/%s", dir, de->d_name);
        }
    if (d) closedir(d);
    return out;
}

int main(void) {
    char dir[400], cat[500], copy[500], path[600];
    snprintf(dir, sizeof dir, "%s/index_rebuild", vs_test_tmpdir());
    snprintf(cat, sizeof cat, "%s/catalogue.sqlite", dir);
    snprintf(copy, sizeof copy, "%s/../index_rebuild_damaged.copy", dir);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;

    /* ---- an index of N videos, with a 1x1 u64 "hash" extra each */
    vs_index *idx = NULL;
    CHECK(vs_index_open(&idx, dir, VS_INDEX_CREATE) == VS_OK);
    if (!idx) return vs_test_done();
    for (int i = 0; i < N; i++) {
        vs_features *f = synth(2 + i % 5, (uint64_t)i + 1);
        snprintf(path, sizeof path, "/videos/v%03d.mp4", i);
        vs_index_add_result r;
        CHECK(vs_index_add_features(idx, path, f, 0, &r) == VS_OK && r.outcome == VS_INDEX_ADDED);
        uint64_t code = 0xabc000 + (uint64_t)i;
        CHECK(vs_index_put_extra(idx, r.id, "hash", "h1", &(vs_index_extra){VS_INDEX_U64, 1, 1, &code}) == VS_OK);
        synth_free(f);
    }
    vs_index_entries *before = NULL;
    CHECK(vs_index_list(idx, NULL, &before) == VS_OK && before->n == N);
    vs_index_close(idx);

    /* ---- the writers' check on the intact catalogue, and its cost */
    CHECK(vs_index_open(&idx, dir, 0) == VS_OK);
    double t0 = now_s();
    CHECK(vs_index_check_writable(idx) == VS_OK);
    double dt = now_s() - t0;
    struct stat sb;
    stat(cat, &sb);
    printf("quick_check of a %d-row catalogue (%lld bytes): %.2f ms\n", N, (long long)sb.st_size, dt * 1e3);
    CHECK(vs_index_check_writable(idx) == VS_OK); /* cached */
    vs_index_close(idx);

    /* ---- damage an inner page: the videos table's root page is page 4 in a fresh
     * catalogue; with N rows it is an interior page. Page 3 (meta's key index) as the
     * issue asks would do too; an interior page of videos also hides rows from readers. */
    long ps = page_size_of(cat);
    CHECK(ps >= 512);
    garbage_page(cat, ps, 3);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", cat, copy);
    CHECK(system(cmd) == 0);

    CHECK(vs_index_open(&idx, dir, 0) == VS_OK); /* opening is not writing */
    if (!idx) return vs_test_done();
    REFUSED(vs_index_check_writable(idx), cat);
    vs_features *f = synth(3, 9999);
    REFUSED(vs_index_add_features(idx, "/videos/new.mp4", f, 0, NULL), cat);
    REFUSED(vs_index_add_failed(idx, "/videos/bad.mp4", "m-rebuild", "boom", NULL), cat);
    REFUSED(vs_index_remove(idx, before->v[0].id), cat);
    uint64_t code = 1;
    REFUSED(vs_index_put_extra(idx, before->v[0].id, "hash", "h1", &(vs_index_extra){VS_INDEX_U64, 1, 1, &code}), cat);
    REFUSED(vs_index_delete_extras(idx, "hash", NULL, NULL), cat);
    REFUSED(vs_index_sweep(idx, NULL), cat);
    vs_index_report *rep = NULL;
    REFUSED(vs_index_verify(idx, 1, &rep), cat);
    CHECK(rep == NULL);
    CHECK(vs_index_verify(idx, 0, &rep) == VS_OK && rep && rep->n_problems > 0 &&
          rep->problems[0].kind == VS_INDEX_CATALOGUE);
    vs_index_report_free(rep);
    vs_index_close(idx);
    CHECK_MSG(same_file(cat, copy), "the damaged catalogue was written to");
    vs_index *ro = NULL;
    CHECK(vs_index_open(&ro, dir, VS_INDEX_READONLY) == VS_OK); /* readers open as before */
    vs_index_close(ro);

    /* ---- a rebuild while a writer holds the lock is refused */
    CHECK(vs_index_open(&idx, dir, 0) == VS_OK);
    vs_index_rebuild_report *rr = NULL;
    CHECK(vs_index_rebuild(dir, &rr) == VS_ERR_IO && rr == NULL && mentions(vs_last_error(), "locked"));
    vs_index_close(idx);

    /* ---- rebuild */
    CHECK(vs_index_rebuild(dir, &rr) == VS_OK && rr);
    if (!rr) return vs_test_done();
    CHECK_EQ(rr->n_files, N);
    CHECK_EQ(rr->n_rows, N);
    CHECK_EQ(rr->n_skipped, 0);
    CHECK_EQ(rr->n_lost, 0);
    CHECK(!strcmp(rr->model_id, "m-rebuild"));
    CHECK_NEAR(rr->fps, 2.0, 1e-9);
    CHECK(strcmp(rr->old_check, "ok") != 0);
    CHECK_EQ(rr->n_extras_kept + rr->n_extras_dropped <= N, 1);
    printf("rebuild: %ld rows (%ld matched), extras %ld kept %ld dropped, old: %s, salvage: %s\n", rr->n_rows,
           rr->n_rows_matched, rr->n_extras_kept, rr->n_extras_dropped, rr->old_check, rr->salvage_error);
    CHECK_MSG(same_file(rr->kept_as, copy), "the damaged catalogue was not kept as found (%s)", rr->kept_as);
    vs_index_rebuild_report_free(rr);

    CHECK(vs_index_open(&idx, dir, 0) == VS_OK);
    if (!idx) return vs_test_done();
    vs_index_info info;
    CHECK(vs_index_get_info(idx, &info) == VS_OK && info.format_version == VS_INDEX_FORMAT_VERSION &&
          !strcmp(info.model_id, "m-rebuild") && info.fps == 2.0 && info.n_ok == N && info.n_failed == 0);
    vs_index_entries *after = NULL;
    CHECK(vs_index_list(idx, NULL, &after) == VS_OK && after->n == N);
    long n_same = 0, n_codes = 0, n_wrong = 0;
    for (long i = 0; after && i < after->n; i++) {
        const vs_index_entry *a = &after->v[i];
        for (long j = 0; j < before->n; j++) {
            const vs_index_entry *b = &before->v[j];
            if (strcmp(a->path, b->path) != 0) continue;
            n_same += !strcmp(a->name, b->name) && a->n_frames == b->n_frames && a->size == b->size &&
                      a->mtime_ns == b->mtime_ns && a->hash == b->hash && !strcmp(a->model_id, b->model_id) &&
                      a->ok && a->duration == b->duration;
            vs_index_extra *x = NULL;
            CHECK(vs_index_get_extra(idx, a->id, "hash", "h1", &x) == VS_OK);
            if (x) {
                n_codes++;
                /* the code stored for this path: v%03d has code 0xabc000 + i */
                int k = atoi(strrchr(a->path, 'v') + 1);
                n_wrong += ((const uint64_t *)x->data)[0] != 0xabc000 + (uint64_t)k;
            }
            vs_index_extra_free(x);
            vs_features *lf = NULL;
            CHECK(vs_index_load_features(idx, a, &lf) == VS_OK);
            vs_features_free(lf);
        }
    }
    CHECK_EQ(n_same, N);
    CHECK_EQ(n_wrong, 0);
    printf("extras back: %ld of %d\n", n_codes, N);
    CHECK(vs_index_verify(idx, 0, &rep) == VS_OK && rep && rep->n_problems == 0);
    vs_index_report_free(rep);
    vs_index_add_result res;
    CHECK(vs_index_add_features(idx, "/videos/new.mp4", f, 0, &res) == VS_OK && res.outcome == VS_INDEX_ADDED);
    for (long i = 0; i < after->n; i++) CHECK(res.id != after->v[i].id); /* ids never reused */
    vs_index_entries_free(after);
    after = NULL;
    vs_index_close(idx);

    /* ---- a truncated feature file: left out, named, kept; its video listed as lost */
    char vf[800];
    snprintf(vf, sizeof vf, "%s/%s", dir, before->v[5].feature_file);
    CHECK(truncate(vf, 40) == 0);
    CHECK(vs_index_rebuild(dir, &rr) == VS_OK && rr);
    if (rr) {
        CHECK_EQ(rr->n_files, N + 1);
        CHECK_EQ(rr->n_rows, N);
        CHECK_EQ(rr->n_skipped, 1);
        CHECK(rr->n_skipped == 1 && !strcmp(rr->skipped[0].file, before->v[5].feature_file) && !rr->skipped[0].duplicate &&
              rr->skipped[0].reason[0]);
        CHECK(rr->n_lost == 1 && !strcmp(rr->lost[0], before->v[5].path));
        CHECK(!strcmp(rr->old_check, "ok"));
        CHECK_EQ(rr->n_rows_matched, N);
        CHECK_EQ(rr->n_extras_dropped, 1); /* the lost video's code (it was stored and readable) */
        vs_index_rebuild_report_free(rr);
    }
    CHECK(stat(vf, &sb) == 0 && sb.st_size == 40); /* not deleted */
    CHECK(vs_index_open(&ro, dir, VS_INDEX_READONLY) == VS_OK);
    vs_index_entries *es = NULL;
    CHECK(ro && vs_index_list(ro, before->v[5].path, &es) == VS_OK && es->n == 0);
    vs_index_entries_free(es);
    vs_index_close(ro);

    /* ---- no catalogue at all: model and fps come from the files */
    CHECK(unlink(cat) == 0);
    CHECK(vs_index_rebuild(dir, &rr) == VS_OK && rr);
    if (rr) {
        CHECK(!strcmp(rr->old_check, "missing") && rr->kept_as[0] == 0);
        CHECK(!strcmp(rr->model_id, "m-rebuild") && rr->fps == 2.0);
        CHECK_EQ(rr->n_rows, N); /* N - 1 old ones (one truncated) + new.mp4 */
        CHECK_EQ(rr->n_rows_matched, 0);
        vs_index_rebuild_report_free(rr);
    }
    CHECK(vs_index_open(&idx, dir, 0) == VS_OK && vs_index_check_writable(idx) == VS_OK);
    vs_index_close(idx);

    /* ---- the videos table's root (page 4, an interior page with N rows) damaged: no
     * old row can be read, so rows come from the files with new ids, and no extra may
     * be attached to a guessed video: all are dropped */
    CHECK(vs_index_open(&idx, dir, 0) == VS_OK);
    if (idx) {
        vs_index_entries *es2 = NULL;
        CHECK(vs_index_list(idx, NULL, &es2) == VS_OK);
        for (long i = 0; es2 && i < es2->n; i++) {
            uint64_t c2 = 7;
            CHECK(vs_index_put_extra(idx, es2->v[i].id, "hash", "h2", &(vs_index_extra){VS_INDEX_U64, 1, 1, &c2}) == VS_OK);
        }
        vs_index_entries_free(es2);
        vs_index_close(idx);
    }
    garbage_page(cat, ps, 4);
    CHECK(vs_index_open(&idx, dir, 0) == VS_OK);
    if (idx) REFUSED(vs_index_add_features(idx, "/videos/new2.mp4", f, 0, NULL), cat);
    vs_index_close(idx);
    CHECK(vs_index_rebuild(dir, &rr) == VS_OK && rr);
    if (rr) {
        CHECK_EQ(rr->n_rows, N);
        CHECK(rr->salvage_error[0] != 0);
        CHECK_EQ(rr->n_extras_kept, 0);
        printf("videos root damaged: %ld rows (%ld matched), extras %ld kept %ld dropped, salvage: %s\n", rr->n_rows,
               rr->n_rows_matched, rr->n_extras_kept, rr->n_extras_dropped, rr->salvage_error);
        vs_index_rebuild_report_free(rr);
    }
    CHECK(vs_index_open(&idx, dir, 0) == VS_OK);
    if (idx) {
        CHECK(vs_index_verify(idx, 0, &rep) == VS_OK && rep && rep->n_problems == 1 &&
              rep->problems[0].kind == VS_INDEX_ORPHAN); /* the truncated file, left in place */
        vs_index_report_free(rep);
        CHECK(vs_index_add_features(idx, "/videos/new2.mp4", f, 0, &res) == VS_OK && res.outcome == VS_INDEX_ADDED);
        vs_index_close(idx);
    }

    char *k = kept_file(dir);
    CHECK(k != NULL);
    free(k);
    synth_free(f);
    vs_index_entries_free(before);
    unlink(copy);
    return vs_test_done();
}
