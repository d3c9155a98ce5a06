/*
 * test_index_compress.c - compressed feature files in an index (src/index/compress.c,
 * cfeat.c): a format-2 index is read as before, then compressed (codebook learnt from
 * its own features, format 3); a compression stopped half-way leaves a mixed index that
 * verifies clean and loads every video, and a rerun finishes it with the stored
 * codebook; decoded features stay close to the originals; an add into a compressed index
 * is encoded; an unchanged add is still skipped; another codec is refused; rebuild
 * restores a compressed index; a damaged or foreign codebook and a newer format are
 * refused naming the file (verify --repair and rebuild change nothing then); a
 * compressed file is never read as floats.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/index.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { D = 256, T = 20, NV = 6 };
static char base[1024];

static void rm_rf(const char *p) {
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
}

/* Unit region vectors: video k is a drift around its own random look. */
static vs_features *synth(uint64_t k) {
    vs_features *f = calloc(1, sizeof *f);
    f->T = T;
    f->R = VS_REGIONS;
    f->D = D;
    f->data = vs_test_alloc((long)T * f->R * D);
    f->times = vs_test_alloc(T);
    vs_test_seed(100 + k);
    float look[D];
    for (int j = 0; j < D; j++) look[j] = (float)(vs_test_urand() * 2 - 1);
    for (long v = 0; v < (long)T * f->R; v++) {
        float *x = f->data + v * D;
        double s = 0;
        for (int j = 0; j < D; j++) {
            x[j] = look[j] + (float)(vs_test_urand() * 2 - 1);
            s += (double)x[j] * x[j];
        }
        for (int j = 0; j < D; j++) x[j] = (float)(x[j] / sqrt(s));
    }
    for (int t = 0; t < T; t++) f->times[t] = (float)t;
    f->fps = 1.0;
    f->duration = T;
    snprintf(f->model_id, sizeof f->model_id, "synthetic/256");
    f->source_size = 1000 + k;
    f->source_mtime = 1700000000000000000LL + (int64_t)k;
    f->source_hash = 0xabc000 + k;
    return f;
}

static void synth_free(vs_features *f) {
    free(f->data);
    free(f->times);
    free(f);
}

static void sql(const char *dir, const char *q) {
    char p[1300];
    snprintf(p, sizeof p, "%s/catalogue.sqlite", dir);
    sqlite3 *db;
    CHECK_EQ(sqlite3_open(p, &db), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, q, NULL, NULL, &err);
    CHECK_MSG(rc == SQLITE_OK, "%s: %s", q, err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
}

/* Every ok row loads and matches its original (mean cosine >= min_cos); returns the
 * number of rows whose file is compressed (VSF version 2). */
static int check_all(vs_index *idx, double min_cos) {
    vs_index_entries *es;
    CHECK_EQ(vs_index_list(idx, NULL, &es), VS_OK);
    int nq = 0;
    for (long i = 0; i < es->n; i++) {
        const vs_index_entry *e = &es->v[i];
        vs_features *f = NULL;
        CHECK_MSG(vs_index_load_features(idx, e, &f) == VS_OK, "%s", vs_last_error());
        if (!f) continue;
        int k = atoi(strrchr(e->path, '/') + 2); /* /v/vK.mp4 */
        vs_features *o = synth((uint64_t)k);
        double c = 0;
        for (long v = 0; v < (long)T * VS_REGIONS; v++) c += vs_test_dot(f->data + v * D, o->data + v * D, D);
        c /= T * VS_REGIONS;
        CHECK_MSG(c >= min_cos, "%s: mean cosine %.4f < %.4f", e->path, c, min_cos);
        CHECK(f->T == T && f->times[T - 1] == (float)(T - 1) && f->source_hash == o->source_hash);
        synth_free(o);
        vs_features_free(f);
        char p[2400];
        snprintf(p, sizeof p, "%s/%s", vs_index_dir(idx), e->feature_file);
        vs_features *h = NULL;
        if (vs_features_load(&h, p) != VS_OK) {
            nq++; /* compressed: never read as floats, the refusal names the file and the codebook */
            CHECK_MSG(strstr(vs_last_error(), p) && strstr(vs_last_error(), "compressed feature file"), "%s",
                      vs_last_error());
            CHECK_EQ(vs_features_load_header(&h, p), VS_OK); /* the header still reads (index info) */
            CHECK(h && h->T == T && h->D == D && h->data == NULL);
        }
        vs_features_free(h);
    }
    vs_index_entries_free(es);
    return nq;
}

static int stop_after;
static bool stopper(void *u) {
    (void)u;
    return stop_after-- <= 0;
}

static void add(vs_index *idx, int k, vs_index_outcome want) {
    char path[64];
    snprintf(path, sizeof path, "/v/v%d.mp4", k);
    vs_features *f = synth((uint64_t)k);
    vs_index_add_result r;
    CHECK_MSG(vs_index_add_features(idx, path, f, 0, &r) == VS_OK, "%s", vs_last_error());
    CHECK_EQ(r.outcome, want);
    synth_free(f);
}

static void verify_clean(vs_index *idx) {
    vs_index_report *rep = NULL;
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    if (!rep) return;
    CHECK_EQ(rep->n_problems, 0);
    for (long i = 0; i < rep->n_problems; i++) fprintf(stderr, "  %s: %s\n", rep->problems[i].what, rep->problems[i].detail);
    vs_index_report_free(rep);
}

int main(void) {
    snprintf(base, sizeof base, "%s/index_compress", vs_test_tmpdir());
    rm_rf(base);
    char dir[1200], cb[1300];
    snprintf(dir, sizeof dir, "%s/idx", base);
    snprintf(cb, sizeof cb, "%s/codebook.vstf", dir);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    for (int k = 0; k < NV; k++) add(idx, k, VS_INDEX_ADDED);
    int done = 1;
    CHECK_EQ(vs_index_compress_auto(idx, NULL, &done), VS_OK); /* 1080 vectors: below the rule's size */
    CHECK_EQ(done, 0);
    vs_index_close(idx);
    /* what format 2 wrote (the schema is the same): it opens, reads and verifies as before */
    sql(dir, "UPDATE meta SET value = '2' WHERE key = 'format_version';");
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_OK);
    vs_index_info info;
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK_EQ(info.format_version, 2);
    CHECK(info.codec[0] == 0);
    CHECK_EQ(check_all(idx, 0.99999), 0);

    /* stopped after 3 videos: a mixed index, format 3, every video loads */
    vs_index_compress_params p = vs_index_compress_default_params();
    p.train.iters = 8;
    p.abort_fn = stopper;
    stop_after = 3;
    vs_index_compress_report rep;
    CHECK_EQ(vs_index_compress(idx, &p, &rep), VS_ERR_ABORTED);
    CHECK(strstr(vs_last_error(), "run it again") != NULL);
    CHECK_EQ(rep.trained, 1);
    CHECK_EQ(rep.n_train, NV * T * VS_REGIONS);
    CHECK_EQ(rep.n_encoded, 3);
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK_EQ(info.format_version, 3);
    CHECK(!strcmp(info.codec, "pq64") && strlen(info.codebook_id) == 16);
    verify_clean(idx);
    CHECK_EQ(check_all(idx, 0.93), 3);
    /* the rerun finishes with the stored codebook */
    p.abort_fn = NULL;
    CHECK_EQ(vs_index_compress(idx, &p, &rep), VS_OK);
    CHECK_EQ(rep.trained, 0);
    CHECK_EQ(rep.n_encoded, 3);
    CHECK_EQ(rep.n_already, 3);
    CHECK(rep.bytes_after * 6 < rep.bytes_before); /* 3 float + 3 compressed files before, 6 compressed after */
    CHECK_EQ(check_all(idx, 0.93), NV);
    verify_clean(idx);
    /* another codec: refused (the floats are gone) */
    p.codec = "int8";
    CHECK_EQ(vs_index_compress(idx, &p, &rep), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "pq64") && strstr(vs_last_error(), "int8"));
    /* adds into a compressed index are encoded; an unchanged one is skipped */
    add(idx, NV, VS_INDEX_ADDED);
    add(idx, 0, VS_INDEX_UNCHANGED);
    CHECK_EQ(check_all(idx, 0.93), NV + 1);
    vs_index_close(idx);

    /* rebuild from the files: every row back, still compressed and named */
    vs_index_rebuild_report *rr = NULL;
    CHECK_MSG(vs_index_rebuild(dir, &rr) == VS_OK, "%s", vs_last_error());
    if (rr) {
        CHECK_EQ(rr->n_rows, NV + 1);
        CHECK_EQ(rr->n_skipped, 0);
    }
    vs_index_rebuild_report_free(rr);
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK(info.format_version == 3 && !strcmp(info.codec, "pq64"));
    CHECK_EQ(check_all(idx, 0.93), NV + 1);
    vs_index_close(idx);

    /* a damaged codebook: refused naming it; nothing is misread */
    size_t n;
    unsigned char *b = vs_test_read_file(cb, &n);
    CHECK(b != NULL);
    if (b) {
        b[n / 2] ^= 1;
        FILE *f = fopen(cb, "wb");
        CHECK(f && fwrite(b, 1, n, f) == n);
        if (f) fclose(f);
        b[n / 2] ^= 1;
    }
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    vs_index_entries *es;
    CHECK_EQ(vs_index_list(idx, NULL, &es), VS_OK);
    vs_features *f = NULL;
    CHECK_EQ(vs_index_load_features(idx, &es->v[0], &f), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "codebook.vstf") && strstr(vs_last_error(), dir), "%s", vs_last_error());
    vs_index_entries_free(es);
    vs_index_close(idx);
    /* verify --repair and rebuild refuse rather than drop every compressed video */
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_OK);
    vs_index_report *vr = NULL;
    CHECK(vs_index_verify(idx, 1, &vr) != VS_OK && vr == NULL);
    CHECK_MSG(strstr(vs_last_error(), "without its codebook"), "%s", vs_last_error());
    vs_index_close(idx);
    rr = NULL;
    CHECK(vs_index_rebuild(dir, &rr) != VS_OK && rr == NULL);
    CHECK_MSG(strstr(vs_last_error(), "codebook does not load"), "%s", vs_last_error());
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK_EQ(info.n_ok, NV + 1);
    vs_index_close(idx);
    /* another (valid) codebook in its place: its id does not match the catalogue's */
    vs_quant *q = NULL;
    CHECK_EQ(vs_quant_train(&q, "int8", NULL, 0, D, "synthetic/256", NULL), VS_OK);
    CHECK_EQ(vs_quant_save(q, cb), VS_OK);
    vs_quant_free(q);
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    CHECK_EQ(vs_index_list(idx, NULL, &es), VS_OK);
    CHECK_EQ(vs_index_load_features(idx, &es->v[0], &f), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "the catalogue says"), "%s", vs_last_error());
    vs_index_entries_free(es);
    vs_index_close(idx);
    if (b) { /* put it back */
        FILE *fo = fopen(cb, "wb");
        CHECK(fo && fwrite(b, 1, n, fo) == n);
        if (fo) fclose(fo);
        free(b);
    }
    /* a newer format is refused, naming the catalogue */
    sql(dir, "UPDATE meta SET value = '4' WHERE key = 'format_version';");
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "catalogue.sqlite: index format version 4, this build reads 1 to 3"), "%s",
              vs_last_error());
    rm_rf(base);
    return vs_test_done();
}
