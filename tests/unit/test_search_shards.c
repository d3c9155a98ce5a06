/*
 * test_search_shards.c - the MPI-free hooks under the MPI layer (dist.h, docs/mpi.md),
 * without MPI: a search split into shards (vs_search_params.shard / n_shards, the query
 * in two halves vs__exhaustive_raw / vs__exhaustive_finish, the level from every shard's
 * vs__bg_candidates) and merged best first by (score, id) gives exactly the one-searcher
 * result (names, scores, raw scores, levels and segments bit for bit), normalised with
 * levels computed in memory (members loaded across shards) and not, with and without
 * segments, for 2, 3 and 5 shards (5: one shard has a single reference); and dedup split
 * by rows (vs__dedup_run, the exchange simulated in memory) gives vs_dedup's pairs.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "search/search_internal.h"
#include "vidsim/norm.h"
#include "vidsim/search.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { T = 6, D = 8, NV = 9 };

static int cmp_hit(const void *a, const void *b) {
    const vs_search_hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->video_id < y->video_id ? -1 : x->video_id > y->video_id;
}

static int same_float(float a, float b) { return !memcmp(&a, &b, sizeof a); }

/* query q over n shards, merged as dist.c does, against the one-searcher result */
static void check_sharded(vs_index *idx, const vs_search_params *p, const char *q, int n) {
    vs_searcher *one = NULL;
    vs_search_result *full = NULL;
    CHECK_EQ(vs_searcher_create(&one, idx, p), VS_OK);
    CHECK_EQ(vs_searcher_query(one, q, &full), VS_OK);
    vs_searcher **s = calloc((size_t)n, sizeof *s);
    vs_search_result **part = calloc((size_t)n, sizeof *part);
    float cand[64 * 8];
    long ncand = 0;
    int keep = p->norm.skip + p->norm.n;
    for (int r = 0; r < n; r++) {
        vs_search_params ps = *p;
        ps.shard = r;
        ps.n_shards = n;
        CHECK_EQ(vs_searcher_create(&s[r], idx, &ps), VS_OK);
        long nc = 0;
        CHECK(s[r] && vs__exhaustive_raw(s[r], q, cand + ncand, &nc) == VS_OK);
        CHECK(nc >= 0 && nc <= keep);
        ncand += nc;
    }
    float qlev = p->normalize ? vs_norm_stat(cand, ncand, &p->norm) : 0.0f;
    long total = 0;
    for (int r = 0; r < n; r++) {
        CHECK(s[r] && vs__exhaustive_finish(s[r], qlev, &part[r]) == VS_OK);
        total += part[r] ? part[r]->n : 0;
    }
    vs_search_hit *all = calloc((size_t)total + 1, sizeof *all);
    long k = 0;
    for (int r = 0; r < n; r++)
        for (long i = 0; part[r] && i < part[r]->n; i++) all[k++] = part[r]->hits[i];
    qsort(all, (size_t)k, sizeof *all, cmp_hit);
    long m = p->top > 0 && k > p->top ? p->top : k;
    CHECK_MSG(full && full->n == m, "%s over %d shards: %ld hits, one searcher %ld", q, n, m, full ? full->n : -1);
    for (long i = 0; full && i < full->n && i < m; i++) {
        const vs_search_hit *a = &full->hits[i], *b = &all[i];
        CHECK_MSG(!strcmp(a->name, b->name) && a->video_id == b->video_id, "%s, %d shards, hit %ld: %s vs %s", q, n, i,
                  a->name, b->name);
        CHECK(same_float(a->score, b->score) && same_float(a->raw, b->raw));
        CHECK(same_float(a->query_level, b->query_level) && same_float(a->ref_level, b->ref_level));
        CHECK_EQ(a->n_segments, b->n_segments);
        if (a->n_segments > 0 && a->n_segments == b->n_segments)
            CHECK(!memcmp(a->segments, b->segments, sizeof *a->segments * (size_t)a->n_segments));
        CHECK(a->query_duration == b->query_duration && a->ref_duration == b->ref_duration);
    }
    if (p->normalize && full && full->n) CHECK(same_float(full->hits[0].query_level, qlev));
    free(all);
    for (int r = 0; r < n; r++) {
        vs_search_result_free(part[r]);
        vs_searcher_free(s[r]);
    }
    free(part);
    free(s);
    vs_search_result_free(full);
    vs_searcher_free(one);
}

/* dedup over n "ranks" run one after the other: the others' rows wait in memory */
typedef struct fake_ex {
    int rank, size;
    float *sim, *lev; /* [n*n], [n]: the rows and levels the ranks made */
    long n;
} fake_ex;

static vs_status exchange(void *user, int ok, float *sim, float *lev, long n) {
    fake_ex *x = user;
    if (!ok) return VS_ERR_INTERNAL;
    if (!x->sim) {
        x->n = n;
        x->sim = calloc((size_t)n * n + 1, sizeof *x->sim);
        x->lev = calloc((size_t)n + 1, sizeof *x->lev);
    }
    CHECK_EQ(x->n, n);
    for (long i = x->rank; i < n; i += x->size) { /* this rank's rows in, the others' out (rank 0 last) */
        memcpy(x->sim + i * n, sim + i * n, (size_t)n * sizeof *sim);
        x->lev[i] = lev[i];
    }
    if (x->rank == 0) {
        memcpy(sim, x->sim, (size_t)n * n * sizeof *sim);
        memcpy(lev, x->lev, (size_t)n * sizeof *lev);
    }
    return VS_OK;
}

static void check_dedup(vs_index *idx, const vs_search_params *p, int n) {
    vs_dedup_result *one = NULL, *r0 = NULL;
    CHECK_EQ(vs_dedup(idx, p, &one), VS_OK);
    fake_ex x = {0, n, NULL, NULL, 0};
    for (int r = n - 1; r >= 0; r--) {
        x.rank = r;
        vs__dedup_split sp = {r, n, exchange, &x};
        vs_dedup_result *res = NULL;
        CHECK_EQ(vs__dedup_run(idx, p, &sp, &res), VS_OK);
        if (r == 0) r0 = res;
        else {
            CHECK(res && res->n == 0);
            vs_dedup_result_free(res);
        }
    }
    CHECK_MSG(one && r0 && one->n == r0->n, "dedup over %d: %ld pairs, one process %ld", n, r0 ? r0->n : -1,
              one ? one->n : -1);
    CHECK(one && one->n > 3);
    for (long i = 0; one && r0 && i < one->n && i < r0->n; i++) {
        CHECK(!strcmp(one->pairs[i].a, r0->pairs[i].a) && !strcmp(one->pairs[i].b, r0->pairs[i].b));
        CHECK(same_float(one->pairs[i].score, r0->pairs[i].score) && one->pairs[i].exact == r0->pairs[i].exact);
    }
    free(x.sim);
    free(x.lev);
    vs_dedup_result_free(one);
    vs_dedup_result_free(r0);
}

int main(void) {
    char dir[] = "/tmp/vs_test_shards_XXXXXX";
    if (!mkdtemp(dir)) SKIP("mkdtemp failed");
    char idir[256], vsf[300];
    snprintf(idir, sizeof idir, "%s/index", dir);
    snprintf(vsf, sizeof vsf, "%s/q.mp4.vsf", dir);
    vs_index *idx = NULL;
    CHECK_EQ(vs_index_open(&idx, idir, VS_INDEX_CREATE), VS_OK);
    /* nine videos, v3 a copy of v0 and v7 of v5; no stored background levels */
    const int seeds[NV] = {1, 2, 3, 1, 4, 5, 6, 5, 7};
    for (int i = 0; i < NV; i++) {
        char path[64];
        snprintf(path, sizeof path, "/videos/v%d.mp4", i);
        vs_features *f = vs_test_synth(T, D, seeds[i], 100 + i);
        vs_index_add_result r;
        CHECK_EQ(vs_index_add_features(idx, path, f, 0, &r), VS_OK);
        vs_test_synth_free(f);
    }
    vs_features *qf = vs_test_synth(T, D, 5, 999); /* a copy of v5, not indexed */
    CHECK_EQ(vs_features_save(qf, vsf), VS_OK);
    vs_test_synth_free(qf);

    vs_search_params p = vs_search_default_params();
    p.norm.n = 3; /* levels from a few scores: the candidates of several shards matter */
    const char *queries[] = {"v0", "v5", vsf};
    const int shards[] = {2, 3, 5};
    for (int norm = 0; norm <= 1; norm++)
        for (int seg = 0; seg <= 1; seg++)
            for (int top = 0; top <= 3; top += 3) {
                p.normalize = norm;
                p.segments = seg;
                p.top = top;
                for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++)
                    for (size_t si = 0; si < sizeof shards / sizeof *shards; si++)
                        check_sharded(idx, &p, queries[qi], shards[si]);
            }
    p.segments = 0;
    p.top = 10;
    p.symmetric = 0; /* q2r: the non-fused path */
    check_sharded(idx, &p, "v5", 3);
    p.symmetric = 1;

    p.threshold = -1e30;
    for (int norm = 0; norm <= 1; norm++) {
        p.normalize = norm;
        check_dedup(idx, &p, 2);
        check_dedup(idx, &p, 4);
    }

    vs_index_close(idx);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
    return vs_test_done();
}
