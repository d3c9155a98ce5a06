/*
 * test_index_extras.c - per-video extras in the index (src/index/extras.c): put/get
 * round trips of u64 codes and f32 clip vectors, replacement, all-or-none batches,
 * the bulk loader (order, packing, failed rows left out), deletion with the video's
 * row (remove and replace), delete by kind/model, malformed blobs (size, checksum,
 * dtype) as clear errors that verify reports and repair removes, an extras row
 * without its video, the format 1 -> 2 upgrade (read-only open of an old index,
 * upgrade on a writable open, a newer format refused), allocation failures, and
 * crash safety: a child storing batches of extras is SIGKILLed at random moments;
 * every batch it reported is there, each batch is all or none, verify stays clean.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/index.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char base[1024];

static void rm_rf(const char *p) {
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
}

static vs_features *synth(int T, uint64_t hash) {
    vs_features *f = calloc(1, sizeof *f);
    f->T = T;
    f->R = VS_REGIONS;
    f->D = 8;
    f->data = malloc(sizeof(float) * T * f->R * f->D);
    f->times = malloc(sizeof(float) * T);
    for (long i = 0; i < (long)T * f->R * f->D; i++) f->data[i] = (float)((i * 13 + hash) % 17) / 17.f;
    for (int t = 0; t < T; t++) f->times[t] = (float)t;
    f->fps = 1.0;
    f->duration = T;
    snprintf(f->model_id, sizeof f->model_id, "synthetic/8");
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

static int64_t add(vs_index *idx, const char *path, uint64_t hash) {
    vs_features *f = synth(3, hash);
    vs_index_add_result r = {0};
    CHECK_EQ(vs_index_add_features(idx, path, f, 0, &r), VS_OK);
    synth_free(f);
    return r.id;
}

/* Run SQL on the catalogue behind the library's back (to damage or downgrade it). */
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

static vs_index_extra code_of(const uint64_t *c) { return (vs_index_extra){VS_INDEX_U64, 1, 2, c}; }

static void test_round_trip(void) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/rt", base);
    rm_rf(dir);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    int64_t a = add(idx, "/v/a.mp4", 1), b = add(idx, "/v/b.mp4", 2), c = add(idx, "/v/c.mp4", 3);
    vs_index_add_result fr;
    CHECK_EQ(vs_index_add_failed(idx, "/v/bad.mp4", "synthetic/8", "broken", &fr), VS_OK);

    uint64_t ca[2] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL}, cb[2] = {1, 2}, cc[2] = {~0ULL, 0};
    float clip[12];
    for (int i = 0; i < 12; i++) clip[i] = 0.25f * (float)i - 1.0f;
    vs_index_extra x = code_of(ca);
    CHECK_EQ(vs_index_put_extra(idx, a, "hash", "lsh-128", &x), VS_OK);
    x = code_of(cb);
    CHECK_EQ(vs_index_put_extra(idx, b, "hash", "lsh-128", &x), VS_OK);
    vs_index_extra xc = {VS_INDEX_F32, 3, 4, clip};
    CHECK_EQ(vs_index_put_extra(idx, a, "clip", "csl-1", &xc), VS_OK);

    vs_index_extra *g = NULL;
    CHECK_EQ(vs_index_get_extra(idx, a, "hash", "lsh-128", &g), VS_OK);
    CHECK(g && g->dtype == VS_INDEX_U64 && g->n_rows == 1 && g->n_cols == 2);
    if (g) CHECK(!memcmp(g->data, ca, sizeof ca));
    vs_index_extra_free(g);
    CHECK_EQ(vs_index_get_extra(idx, a, "clip", "csl-1", &g), VS_OK);
    CHECK(g && g->dtype == VS_INDEX_F32 && g->n_rows == 3 && g->n_cols == 4);
    if (g) CHECK(!memcmp(g->data, clip, sizeof clip));
    vs_index_extra_free(g);
    /* absent: VS_OK and NULL (other model, other kind, other video) */
    g = (vs_index_extra *)1;
    CHECK_EQ(vs_index_get_extra(idx, a, "hash", "lsh-64", &g), VS_OK);
    CHECK(g == NULL);
    CHECK_EQ(vs_index_get_extra(idx, c, "hash", "lsh-128", &g), VS_OK);
    CHECK(g == NULL);

    /* replacing */
    x = code_of(cc);
    CHECK_EQ(vs_index_put_extra(idx, b, "hash", "lsh-128", &x), VS_OK);
    CHECK_EQ(vs_index_get_extra(idx, b, "hash", "lsh-128", &g), VS_OK);
    if (g) CHECK(!memcmp(g->data, cc, sizeof cc));
    vs_index_extra_free(g);

    /* bad arguments change nothing */
    x = code_of(ca);
    CHECK_EQ(vs_index_put_extra(idx, 9999, "hash", "lsh-128", &x), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "no video with id 9999") != NULL);
    CHECK_EQ(vs_index_put_extra(idx, fr.id, "hash", "lsh-128", &x), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "failed row") != NULL);
    CHECK_EQ(vs_index_put_extra(idx, a, "", "lsh-128", &x), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_index_put_extra(idx, a, "hash", NULL, &x), VS_ERR_INVALID_ARG);
    vs_index_extra bad = {VS_INDEX_U64, 0, 2, ca};
    CHECK_EQ(vs_index_put_extra(idx, a, "hash", "x", &bad), VS_ERR_INVALID_ARG);
    bad = (vs_index_extra){(vs_index_dtype)9, 1, 2, ca};
    CHECK_EQ(vs_index_put_extra(idx, a, "hash", "x", &bad), VS_ERR_INVALID_ARG);
    /* a batch is all or none: the bad id in the middle stores nothing */
    int64_t ids[3] = {a, 9999, c};
    vs_index_extra xs[3] = {code_of(ca), code_of(cb), code_of(cc)};
    CHECK_EQ(vs_index_put_extras(idx, 3, ids, "hash", "batch", xs), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_index_get_extra(idx, a, "hash", "batch", &g), VS_OK);
    CHECK(g == NULL);
    ids[1] = b;
    CHECK_EQ(vs_index_put_extras(idx, 3, ids, "hash", "batch", xs), VS_OK);

    /* bulk load: ok rows, ordered by id, packed [n, 2] */
    vs_index_extras *all;
    CHECK_EQ(vs_index_load_extras(idx, "hash", "batch", &all), VS_OK);
    CHECK_EQ(all->n, 3);
    CHECK_EQ(all->n_bad, 0);
    CHECK(all->packed != NULL);
    if (all->n == 3 && all->packed) {
        const uint64_t *p = all->packed;
        CHECK(all->video_ids[0] == a && all->video_ids[1] == b && all->video_ids[2] == c);
        CHECK(p[0] == ca[0] && p[1] == ca[1] && p[2] == cb[0] && p[3] == cb[1] && p[4] == cc[0] && p[5] == cc[1]);
        CHECK(all->v[1].data == p + 2);
    }
    vs_index_extras_free(all);
    /* mixed shapes: no packed view, each array still right */
    vs_index_extra x3 = {VS_INDEX_F32, 1, 4, clip};
    CHECK_EQ(vs_index_put_extra(idx, b, "clip", "csl-1", &x3), VS_OK);
    CHECK_EQ(vs_index_load_extras(idx, "clip", "csl-1", &all), VS_OK);
    CHECK_EQ(all->n, 2);
    CHECK(all->packed == NULL);
    if (all->n == 2) {
        CHECK_EQ(all->v[0].n_rows, 3);
        CHECK_EQ(all->v[1].n_rows, 1);
        CHECK(!memcmp(all->v[0].data, clip, sizeof clip) && !memcmp(all->v[1].data, clip, 4 * sizeof(float)));
    }
    vs_index_extras_free(all);

    vs_index_extra_kinds *k;
    CHECK_EQ(vs_index_list_extra_kinds(idx, &k), VS_OK);
    CHECK_EQ(k->n, 3); /* clip/csl-1: 2, hash/batch: 3, hash/lsh-128: 2 */
    if (k->n == 3) {
        CHECK(!strcmp(k->v[0].kind, "clip") && k->v[0].n == 2);
        CHECK(!strcmp(k->v[1].model_id, "batch") && k->v[1].n == 3);
        CHECK(!strcmp(k->v[2].model_id, "lsh-128") && k->v[2].n == 2);
    }
    vs_index_extra_kinds_free(k);

    /* removing a video removes its extras; replacing it (new content) too */
    CHECK_EQ(vs_index_remove(idx, c), VS_OK);
    CHECK_EQ(vs_index_load_extras(idx, "hash", "batch", &all), VS_OK);
    CHECK_EQ(all->n, 2);
    vs_index_extras_free(all);
    int64_t a2 = add(idx, "/v/a.mp4", 11); /* a.mp4 changed */
    CHECK(a2 != a);
    CHECK_EQ(vs_index_get_extra(idx, a, "hash", "lsh-128", &g), VS_OK);
    CHECK(g == NULL);
    CHECK_EQ(vs_index_get_extra(idx, a2, "hash", "lsh-128", &g), VS_OK);
    CHECK(g == NULL);
    CHECK_EQ(vs_index_list_extra_kinds(idx, &k), VS_OK);
    CHECK_EQ(k->n, 3);
    if (k->n == 3) CHECK(k->v[0].n == 1 && k->v[1].n == 1 && k->v[2].n == 1); /* only b's left */
    vs_index_extra_kinds_free(k);
    long nd = -1;
    CHECK_EQ(vs_index_delete_extras(idx, "hash", "batch", &nd), VS_OK);
    CHECK_EQ(nd, 1);
    CHECK_EQ(vs_index_delete_extras(idx, "clip", NULL, &nd), VS_OK);
    CHECK_EQ(nd, 1);
    vs_index_report *rep;
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 0);
    vs_index_report_free(rep);
    vs_index_close(idx);

    /* a read-only handle reads extras, refuses writes */
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    CHECK_EQ(vs_index_get_extra(idx, b, "hash", "lsh-128", &g), VS_OK);
    CHECK(g != NULL);
    vs_index_extra_free(g);
    x = code_of(ca);
    CHECK_EQ(vs_index_put_extra(idx, b, "hash", "lsh-128", &x), VS_ERR_INVALID_ARG);
    vs_index_close(idx);
}

static void test_malformed(void) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/bad", base);
    rm_rf(dir);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    int64_t id[4];
    uint64_t codes[4][2];
    for (int i = 0; i < 4; i++) {
        char p[64];
        snprintf(p, sizeof p, "/v/m%d.mp4", i);
        id[i] = add(idx, p, 100 + i);
        codes[i][0] = 0x1111111111111111ULL * (i + 1);
        codes[i][1] = (uint64_t)i;
        vs_index_extra x = code_of(codes[i]);
        CHECK_EQ(vs_index_put_extra(idx, id[i], "hash", "h", &x), VS_OK);
    }
    vs_index_close(idx);
    char q[512];
    /* 1: truncated blob; 2: one byte changed (checksum); 3: unknown dtype */
    snprintf(q, sizeof q,
             "UPDATE extras SET data = X'0011' WHERE video_id = %lld;"
             "UPDATE extras SET data = X'12111111111111110200000000000000' WHERE video_id = %lld;"
             "UPDATE extras SET dtype = 'f16' WHERE video_id = %lld;",
             (long long)id[1], (long long)id[2], (long long)id[3]);
    sql(dir, q);
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_OK);
    vs_index_extra *g = NULL;
    CHECK_EQ(vs_index_get_extra(idx, id[0], "hash", "h", &g), VS_OK);
    CHECK(g != NULL);
    vs_index_extra_free(g);
    CHECK_EQ(vs_index_get_extra(idx, id[1], "hash", "h", &g), VS_ERR_FORMAT);
    CHECK(g == NULL);
    CHECK_MSG(strstr(vs_last_error(), "catalogue.sqlite") && strstr(vs_last_error(), "hash/h") &&
                  strstr(vs_last_error(), "blob of 2 bytes"),
              "%s", vs_last_error());
    CHECK_EQ(vs_index_get_extra(idx, id[2], "hash", "h", &g), VS_ERR_FORMAT);
    CHECK(strstr(vs_last_error(), "checksum mismatch") != NULL);
    CHECK_EQ(vs_index_get_extra(idx, id[3], "hash", "h", &g), VS_ERR_FORMAT);
    CHECK(strstr(vs_last_error(), "unknown dtype 'f16'") != NULL);
    vs_index_extras *all;
    CHECK_EQ(vs_index_load_extras(idx, "hash", "h", &all), VS_OK);
    CHECK_EQ(all->n, 1);
    CHECK_EQ(all->n_bad, 3);
    if (all->n_bad == 3) CHECK(all->bad_ids[0] == id[1] && all->bad_ids[2] == id[3]);
    vs_index_extras_free(all);
    vs_index_close(idx);
    /* an extras row whose video is gone (written without the trigger) */
    sql(dir, "DROP TRIGGER videos_drop_extras;"
             "INSERT INTO extras SELECT video_id + 1000, kind, model_id, dtype, n_rows, n_cols, checksum, data,"
             " added_ns FROM extras WHERE dtype = 'u64' AND length(data) = 16 LIMIT 1;");
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_OK);
    vs_index_report *rep;
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    long nbad = 0, orphan = 0;
    for (long i = 0; i < rep->n_problems; i++) {
        const vs_index_problem *p = &rep->problems[i];
        if (p->kind != VS_INDEX_BAD_EXTRA) continue;
        nbad++;
        CHECK(!strcmp(p->what, "hash/h"));
        orphan += strstr(p->detail, "no video row") != NULL;
        CHECK(!p->repaired);
    }
    CHECK_EQ(nbad, 4);
    CHECK_EQ(orphan, 1);
    CHECK_EQ(rep->n_problems, 4);
    vs_index_report_free(rep);
    CHECK_EQ(vs_index_verify(idx, 1, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 4);
    for (long i = 0; i < rep->n_problems; i++) CHECK(rep->problems[i].repaired);
    vs_index_report_free(rep);
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 0);
    vs_index_report_free(rep);
    CHECK_EQ(vs_index_load_extras(idx, "hash", "h", &all), VS_OK);
    CHECK_EQ(all->n, 1);
    CHECK_EQ(all->n_bad, 0);
    vs_index_extras_free(all);
    vs_index_close(idx);
}

static void test_upgrade(void) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/v1", base);
    rm_rf(dir);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    int64_t a = add(idx, "/v/a.mp4", 5);
    vs_index_close(idx);
    /* what format 1 wrote: no extras table, no trigger */
    sql(dir, "DROP TRIGGER videos_drop_extras; DROP TABLE extras;"
             "UPDATE meta SET value = '1' WHERE key = 'format_version';");
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    vs_index_info info;
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK_EQ(info.format_version, 1);
    CHECK_EQ(info.n_ok, 1);
    vs_index_extra *g = (vs_index_extra *)1;
    CHECK_EQ(vs_index_get_extra(idx, a, "hash", "h", &g), VS_OK);
    CHECK(g == NULL);
    vs_index_extras *all;
    CHECK_EQ(vs_index_load_extras(idx, "hash", "h", &all), VS_OK);
    CHECK_EQ(all->n, 0);
    vs_index_extras_free(all);
    vs_index_report *rep;
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 0);
    vs_index_report_free(rep);
    vs_index_close(idx);
    /* a writable open upgrades it */
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_OK);
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK_EQ(info.format_version, 2);
    CHECK_EQ(info.n_ok, 1);
    uint64_t c[2] = {7, 8};
    vs_index_extra x = code_of(c);
    CHECK_EQ(vs_index_put_extra(idx, a, "hash", "h", &x), VS_OK);
    CHECK_EQ(vs_index_remove(idx, a), VS_OK); /* the upgrade installed the trigger */
    CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
    CHECK_EQ(rep->n_problems, 0);
    vs_index_report_free(rep);
    vs_index_close(idx);
    /* a newer format is refused, naming the file */
    sql(dir, "UPDATE meta SET value = '4' WHERE key = 'format_version';"); /* 3: compressed features */
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "catalogue.sqlite: index format version 4") &&
                  strstr(vs_last_error(), "newer"),
              "%s", vs_last_error());
    CHECK_EQ(vs_index_open(&idx, dir, 0), VS_ERR_FORMAT);
}

static void test_alloc_failures(void) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/oom", base);
    rm_rf(dir);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    float v[6] = {1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 20; i++) {
        char p[64];
        snprintf(p, sizeof p, "/v/o%d.mp4", i);
        int64_t id = add(idx, p, 500 + i);
        vs_index_extra x = {VS_INDEX_F32, 1 + i % 2, 3, v};
        CHECK_EQ(vs_index_put_extra(idx, id, "clip", "c", &x), VS_OK);
    }
    int ok = 0, ok_get = 0, ok_kinds = 0;
    for (long k = 1; k < 300 && !ok; k++) {
        vs_alloc_fail_after(k);
        vs_index_extras *all = NULL;
        vs_status s = vs_index_load_extras(idx, "clip", "c", &all);
        vs_alloc_fail_after(0);
        CHECK(s == VS_OK || s == VS_ERR_NOMEM);
        if (s == VS_OK) {
            ok = 1;
            CHECK_EQ(all->n, 20);
        } else CHECK(all == NULL);
        vs_index_extras_free(all);
    }
    for (long k = 1; k < 100 && !ok_get; k++) {
        vs_alloc_fail_after(k);
        vs_index_extra *g = NULL;
        vs_status s = vs_index_get_extra(idx, 1, "clip", "c", &g);
        vs_alloc_fail_after(0);
        ok_get = s == VS_OK;
        vs_index_extra_free(g);
    }
    for (long k = 1; k < 100 && !ok_kinds; k++) {
        vs_alloc_fail_after(k);
        vs_index_extra_kinds *kk = NULL;
        vs_status s = vs_index_list_extra_kinds(idx, &kk);
        vs_alloc_fail_after(0);
        ok_kinds = s == VS_OK;
        vs_index_extra_kinds_free(kk);
    }
    CHECK(ok && ok_get && ok_kinds);
    vs_index_close(idx);
}

enum { KV = 60, KB = 5, KROUNDS = 16 }; /* videos, batch size, kill rounds */

/* Child of a kill round: store value round*1000+i for every video in batches of KB
 * (one transaction each), writing the batch number to fd after each returns. */
static void kill_child(const char *dir, const int64_t *ids, int round, int fd) {
    vs_index *idx;
    if (vs_index_open(&idx, dir, 0) != VS_OK) _exit(3);
    for (int b = 0; b < KV / KB; b++) {
        uint64_t val[KB];
        vs_index_extra xs[KB];
        for (int k = 0; k < KB; k++) {
            val[k] = (uint64_t)(round * 1000 + b * KB + k);
            xs[k] = (vs_index_extra){VS_INDEX_U64, 1, 1, &val[k]};
        }
        if (vs_index_put_extras(idx, KB, ids + b * KB, "hash", "kill", xs) != VS_OK) _exit(4);
        char msg[16];
        int n = snprintf(msg, sizeof msg, "%d\n", b);
        if (write(fd, msg, (size_t)n) != n) _exit(5);
    }
    vs_index_close(idx);
    _exit(0);
}

static void test_kill(void) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/kill", base);
    rm_rf(dir);
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    int64_t ids[KV];
    for (int i = 0; i < KV; i++) {
        char p[64];
        snprintf(p, sizeof p, "/v/k%02d.mp4", i);
        ids[i] = add(idx, p, 900 + i);
    }
    vs_index_close(idx);
    long have[KV]; /* value stored for video i after the last check, -1 none */
    for (int i = 0; i < KV; i++) have[i] = -1;
    unsigned seed = (unsigned)time(NULL);
    fprintf(stderr, "kill seed %u\n", seed);
    int killed = 0, mid = 0;
    for (int round = 1; round <= KROUNDS; round++) {
        int fds[2];
        if (pipe(fds) != 0) return;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            kill_child(dir, ids, round, fds[1]);
        }
        close(fds[1]);
        long us = rand_r(&seed) % 3 == 0 ? (long)(rand_r(&seed) % 3000) : 2000 + (long)(rand_r(&seed) % 80000);
        struct timespec ts = {0, us * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        killed += WIFSIGNALED(st);
        char buf[256] = "";
        ssize_t n = read(fds[0], buf, sizeof buf - 1);
        close(fds[0]);
        int reported = -1; /* last batch the child reported done */
        for (char *p = buf; n > 0 && *p;) {
            reported = atoi(p);
            char *nl = strchr(p, '\n');
            if (!nl) break;
            p = nl + 1;
        }
        mid += reported >= 0 && reported < KV / KB - 1;
        CHECK_EQ(vs_index_open(&idx, dir, 0), VS_OK);
        vs_index_report *rep;
        CHECK_EQ(vs_index_verify(idx, 0, &rep), VS_OK);
        CHECK_MSG(rep->n_problems == 0, "round %d: %ld problems (first: %s)", round, rep->n_problems,
                  rep->n_problems ? rep->problems[0].detail : "");
        vs_index_report_free(rep);
        for (int b = 0; b < KV / KB; b++) {
            int n_new = 0, n_old = 0;
            for (int k = 0; k < KB; k++) {
                int i = b * KB + k;
                vs_index_extra *g = NULL;
                CHECK_EQ(vs_index_get_extra(idx, ids[i], "hash", "kill", &g), VS_OK);
                long v = g ? (long)*(const uint64_t *)g->data : -1;
                vs_index_extra_free(g);
                n_new += v == round * 1000 + i;
                n_old += v == have[i];
                have[i] = v;
            }
            CHECK_MSG(n_new == KB || n_old == KB, "round %d batch %d: half a batch (%d new, %d old)", round, b, n_new,
                      n_old);
            if (b <= reported) CHECK_MSG(n_new == KB, "round %d: batch %d reported done but not stored", round, b);
        }
        vs_index_close(idx);
    }
    fprintf(stderr, "kill: %d of %d children killed before finishing, %d after some batches were done\n", killed,
            KROUNDS, mid);
}

int main(void) {
    snprintf(base, sizeof base, "%s/test_index_extras", vs_test_tmpdir());
    rm_rf(base);
    mkdir(base, 0755);
    test_round_trip();
    test_malformed();
    test_upgrade();
    test_alloc_failures();
    test_kill();
    return vs_test_done();
}
