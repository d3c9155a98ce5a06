/*
 * test_gvec_segments.c - segment vectors of the global-vector first stage (issue 17,
 * vs_ann_segment_vectors in ann.h, `--first-stage gvec` with gvec_segments in
 * src/search/two_stage.c): the segment vectors against a plain computation (part
 * bounds, S = 1 = the mean vector, T < S one part per frame, T = 0 one zero vector);
 * the flat index's one-pass batch search equal to one query at a time;
 * on a small synthetic index, a partial copy (a third of a reference) found first by
 * S = 4 and missed from the top 5 by S = 1's mean vector; stage-1 scores and rankings
 * with S = 4 equal to a brute-force best part-pair computation, for every K and for
 * faiss:Flat when built with FAISS; an index that stores only the old one-vector
 * extra ("gvec" "mean1") searched with S = 4 (computed on the fly, a note) and with S = 1
 * (used, no note); and the store round trip of "gvec" "seg4" ([P, D], P = min(T, 4)).
 * The learned whitening (gvec_whiten) in stage 1: see test_whiten_search.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/ann.h"
#include "vidsim/search.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x243f6a8885a308d3ULL;
static double urand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static float gauss(void) {
    double u = urand() + 1e-12, v = urand();
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}
static void normalize(float *x, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)x[j] * x[j];
    s = sqrt(s);
    for (int j = 0; j < d; j++) x[j] = (float)(x[j] / s);
}

/* The plain computation: the normalised mean of frames [a, b) of x [T, R, D], in double. */
static void plain_part(double *out, const float *x, int a, int b, int R, int D) {
    double s = 0;
    for (int j = 0; j < D; j++) out[j] = 0;
    for (int t = a; t < b; t++)
        for (int r = 0; r < R; r++)
            for (int j = 0; j < D; j++) out[j] += x[((size_t)t * R + r) * D + j];
    for (int j = 0; j < D; j++) s += out[j] * out[j];
    s = sqrt(s);
    for (int j = 0; j < D; j++) out[j] /= s;
}

static void test_segment_vectors(void) {
    enum { R = 3, D = 8, TT = 10 };
    float x[TT * R * D], out[8 * D], m[D];
    for (int i = 0; i < TT * R * D; i++) x[i] = gauss();
    /* T = 10, S = 4: parts [0,2) [2,5) [5,7) [7,10) */
    static const int bounds[5] = {0, 2, 5, 7, 10};
    CHECK_EQ(vs_ann_segment_vectors(out, x, TT, R, D, 4), 4);
    double want[D], err = 0;
    for (int p = 0; p < 4; p++) {
        plain_part(want, x, bounds[p], bounds[p + 1], R, D);
        for (int j = 0; j < D; j++) err = fmax(err, fabs(out[p * D + j] - want[j]));
    }
    CHECK_MSG(err < 1e-6, "segment vectors = plain means of [0,2) [2,5) [5,7) [7,10): max error %g", err);
    /* S = 1 is exactly the mean vector; S < 1 is S = 1 */
    vs_ann_mean_vector(m, x, (long)TT * R, D);
    CHECK_EQ(vs_ann_segment_vectors(out, x, TT, R, D, 1), 1);
    CHECK(!memcmp(out, m, sizeof m));
    CHECK_EQ(vs_ann_segment_vectors(out, x, TT, R, D, 0), 1);
    CHECK(!memcmp(out, m, sizeof m));
    /* T = 3 < S = 8: one part per frame, none repeated */
    CHECK_EQ(vs_ann_segment_vectors(out, x, 3, R, D, 8), 3);
    err = 0;
    for (int p = 0; p < 3; p++) {
        plain_part(want, x, p, p + 1, R, D);
        for (int j = 0; j < D; j++) err = fmax(err, fabs(out[p * D + j] - want[j]));
    }
    CHECK_MSG(err < 1e-6, "T < S: one part per frame: max error %g", err);
    /* T = 0: one zero vector */
    out[0] = 1;
    CHECK_EQ(vs_ann_segment_vectors(out, x, 0, R, D, 4), 1);
    CHECK(out[0] == 0 && out[D - 1] == 0);
}

/* The flat index's batch (one pass over the vectors for nq queries) = one query at a
 * time, ids and scores bit for bit, with k past the end and across row blocks. */
static void test_flat_batch(void) {
    enum { d = 24, n = 300, nq = 5, k = 7 };
    float *x = malloc(sizeof(float) * n * d), q[nq * d], s1[nq * k], s2[nq * k], s3[nq * (n + 3)];
    int64_t i1[nq * k], i2[nq * k], i3[nq * (n + 3)];
    for (long i = 0; i < (long)n * d; i++) x[i] = gauss();
    for (int i = 0; i < nq * d; i++) q[i] = gauss();
    memcpy(x + 10 * d, x + 200 * d, sizeof(float) * d); /* a tie across blocks: the lower id first */
    memcpy(q, x + 200 * d, sizeof(float) * d);
    vs_ann *a = NULL;
    CHECK_EQ(vs_ann_create(&a, d, "flat"), VS_OK);
    CHECK_EQ(vs_ann_add(a, x, n), VS_OK);
    CHECK_EQ(vs_ann_search(a, q, nq, k, s1, i1), VS_OK);
    for (int j = 0; j < nq; j++) CHECK_EQ(vs_ann_search(a, q + j * d, 1, k, s2 + j * k, i2 + j * k), VS_OK);
    CHECK(!memcmp(s1, s2, sizeof s1) && !memcmp(i1, i2, sizeof i1));
    CHECK(i1[0] == 10 && i1[1] == 200);
    CHECK_EQ(vs_ann_search(a, q, nq, n + 3, s3, i3), VS_OK);
    CHECK(i3[n - 1] >= 0 && i3[n] == -1 && i3[4 * (n + 3) + n + 2] == -1 && s3[n] == -INFINITY);
    vs_ann_free(a);
    free(x);
}

/* ---- a small synthetic index */
enum { D = 32, MAXT = 12 };
static float scene[8][D]; /* unit scene vectors: 0..2 the reference A's, 3.. distractor bases */

/* Features of T frames; frame t is normalise(w_a scene[a(t)] + w_b base + noise) per region. */
static vs_features *make(long v, int T, const int *scene_of, float ws, const float *base, float wb, float noise) {
    vs_features *f = calloc(1, sizeof *f);
    f->T = T;
    f->R = VS_REGIONS;
    f->D = D;
    long n = (long)T * f->R * D;
    f->data = malloc(sizeof(float) * n);
    f->times = malloc(sizeof(float) * T);
    for (int t = 0; t < T; t++) {
        for (int r = 0; r < f->R; r++) {
            float *y = f->data + ((size_t)t * f->R + r) * D;
            for (int j = 0; j < D; j++)
                y[j] = (scene_of ? ws * scene[scene_of[t]][j] : 0) + (base ? wb * base[j] : 0) + noise * gauss();
            normalize(y, D);
        }
        f->times[t] = (float)t;
    }
    f->fps = 1.0;
    f->duration = T;
    snprintf(f->model_id, sizeof f->model_id, "synthetic/32");
    f->source_size = 1000 + v;
    f->source_mtime = 1700000000000000000LL + v;
    f->source_hash = 0x9e3779b97f4a7c15ULL * (uint64_t)(v + 1);
    return f;
}
static void feat_free(vs_features *f) {
    free(f->data);
    free(f->times);
    free(f);
}

static int n_notes;
static char last_note[1024];
static void note(void *u, const char *m) {
    (void)u;
    n_notes++;
    snprintf(last_note, sizeof last_note, "%s", m);
    if (getenv("VS_TEST_VERBOSE")) fprintf(stderr, "note: %s\n", m);
}

static const char *g_whiten; /* vs_search_params.gvec_whiten of stage1() (NULL: the default) */

/* Stage 1 alone (HASH_ONLY): the top `top` (0 = all) of query q with S segments. */
static vs_search_result *stage1(vs_index *idx, const char *fs, int S, int top, int store, const char *q) {
    vs_search_params p = vs_search_default_params();
    p.gvec_whiten = g_whiten;
    p.mode = VS_SEARCH_HASH_ONLY;
    p.first_stage = fs;
    p.gvec_segments = S;
    p.top = top;
    p.store_clip = store;
    p.note = note;
    vs_searcher *s = NULL;
    vs_search_result *r = NULL;
    if (vs_searcher_create(&s, idx, &p) != VS_OK) {
        fprintf(stderr, "searcher (%s, S=%d): %s\n", fs, S, vs_last_error());
        return NULL;
    }
    if (vs_searcher_query(s, q, &r) != VS_OK) fprintf(stderr, "query %s: %s\n", q, vs_last_error());
    vs_searcher_free(s);
    return r;
}

static long rank_of(const vs_search_result *r, const char *name) {
    for (long k = 0; r && k < r->n; k++)
        if (!strcmp(r->hits[k].name, name)) return k;
    return -1;
}

#define NV 16
static float segv[NV][4 * D]; /* the brute-force reference: each video's S = 4 segment vectors */
static int segp[NV];
static char names[NV][16];
static int64_t ids[NV];

/* The best (query part, reference part) inner product of videos a and b, in double. */
static double best_pair(int a, int b) {
    double best = -1e30;
    for (int i = 0; i < segp[a]; i++)
        for (int j = 0; j < segp[b]; j++) {
            double c = 0;
            for (int k = 0; k < D; k++) c += (double)segv[a][i * D + k] * segv[b][j * D + k];
            if (c > best) best = c;
        }
    return best;
}

/* r (stage 1 of query qv, top K) against the brute force: the same videos, scores to
 * 1e-5, best first, ties aside. */
static int matches_brute_force(const vs_search_result *r, int qv, long K) {
    double sc[NV];
    int order[NV], n = 0;
    for (int v = 0; v < NV; v++)
        if (v != qv) sc[v] = best_pair(qv, v), order[n++] = v;
    for (int i = 1; i < n; i++) /* insertion sort, best first, ties by position */
        for (int j = i; j > 0 && sc[order[j]] > sc[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    long want = K < n ? K : n;
    if (!r || r->n != want) {
        fprintf(stderr, "query %s: %ld hits, want %ld\n", names[qv], r ? r->n : -1, want);
        return 0;
    }
    for (long k = 0; k < want; k++) {
        int v = order[k];
        long at = rank_of(r, names[v]);
        /* a video tied with the K-th may stand in for it */
        int tied = fabs(sc[v] - sc[order[want - 1]]) < 1e-5;
        if (at < 0 && !tied) {
            fprintf(stderr, "query %s: %s (best pair %.6f) missing\n", names[qv], names[v], sc[v]);
            return 0;
        }
        if (fabs(r->hits[k].score - sc[order[k]]) > 1e-5) {
            fprintf(stderr, "query %s: hit %ld score %.6f, brute force %.6f\n", names[qv], k, r->hits[k].score,
                    sc[order[k]]);
            return 0;
        }
    }
    return 1;
}

/* The learned whitening in stage 1 (gvec_whiten): a map learned on random pairs of
 * these D = 32 "synthetic" features. Its scores and ranking = the brute-force best part
 * pair of the whitened segment vectors (vs_gvec_whiten_apply on each video's parts);
 * "off" and the default (no bundled gvec_whiten_synthetic.vstf) = unwhitened, without a
 * note; a map of another D, of other features, a missing file: refused by name; with a
 * hash first stage: refused. */
static void test_whiten_search(vs_index *idx) {
    enum { NPAIR = 300 };
    static float a[NPAIR * D], b[NPAIR * D];
    for (int i = 0; i < NPAIR * D; i++) {
        a[i] = gauss();
        b[i] = a[i] + ((i % D) < 6 ? 1.2f : 0.2f) * gauss();
    }
    char path[1200], path16[1200], pathx[1200];
    snprintf(path, sizeof path, "%s/w32.vstf", vs_test_tmpdir());
    snprintf(path16, sizeof path16, "%s/w16.vstf", vs_test_tmpdir());
    snprintf(pathx, sizeof pathx, "%s/wx.vstf", vs_test_tmpdir());
    const char *meta[] = {"features", "synthetic/32", NULL}, *metax[] = {"features", "other/32", NULL};
    vs_gvec_whiten *w = NULL, *w16 = NULL, *wx = NULL;
    CHECK_EQ(vs_gvec_whiten_learn(&w, a, b, NPAIR, D, 1.0, meta), VS_OK);
    CHECK_EQ(vs_gvec_whiten_learn(&w16, a, b, NPAIR, 16, 1.0, meta), VS_OK);
    CHECK_EQ(vs_gvec_whiten_learn(&wx, a, b, NPAIR, D, 1.0, metax), VS_OK);
    if (!w || !w16 || !wx) return;
    CHECK_EQ(vs_gvec_whiten_save(w, path), VS_OK);
    CHECK_EQ(vs_gvec_whiten_save(w16, path16), VS_OK);
    CHECK_EQ(vs_gvec_whiten_save(wx, pathx), VS_OK);
    /* the brute force over whitened parts */
    static float keep[NV][4 * D];
    memcpy(keep, segv, sizeof keep);
    for (int v = 0; v < NV; v++) CHECK_EQ(vs_gvec_whiten_apply(w, segv[v], segp[v]), VS_OK);
    g_whiten = path;
    int ok = 1;
    n_notes = 0;
    for (int qv = 0; qv < NV && ok; qv += 3) {
        vs_search_result *r = stage1(idx, "gvec:flat", 4, 0, 0, names[qv]);
        ok = matches_brute_force(r, qv, NV);
        vs_search_result_free(r);
    }
    CHECK_MSG(ok, "whitened stage 1 equals the brute force over whitened parts");
    CHECK_MSG(n_notes == 0, "a whitening file: no note (%d: %s)", n_notes, last_note);
    /* the spec in --timing names it */
    vs_search_params p = vs_search_default_params();
    p.mode = VS_SEARCH_HASH_ONLY;
    p.first_stage = "gvec:flat";
    p.gvec_whiten = path;
    vs_searcher *s = NULL;
    vs_search_result *r = NULL;
    vs_search_timing tm;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    if (s && vs_searcher_query(s, "v01", &r) == VS_OK) {
        vs_searcher_timing(s, &tm);
        char want[64];
        snprintf(want, sizeof want, " whiten=%s", vs_gvec_whiten_id(w));
        CHECK_MSG(tm.hash_id && strstr(tm.hash_id, want), "stage-1 id '%s' names the whitening",
                  tm.hash_id ? tm.hash_id : "");
    }
    vs_search_result_free(r);
    vs_searcher_free(s);
    memcpy(segv, keep, sizeof keep);
    /* off, and the default without a bundled file for "synthetic": unwhitened, no note */
    const char *plain[2] = {"off", NULL};
    for (int k = 0; k < 2; k++) {
        g_whiten = plain[k];
        n_notes = 0;
        vs_search_result *rp = stage1(idx, "gvec:flat", 4, 0, 0, "v04");
        CHECK_MSG(matches_brute_force(rp, 4, NV) && n_notes == 0, "gvec_whiten %s: unwhitened, no note (%d)",
                  plain[k] ? plain[k] : "default", n_notes);
        vs_search_result_free(rp);
    }
    /* refusals, each naming the file */
    const char *badp[3] = {path16, pathx, "/nonexistent/w.vstf"};
    const char *why[3] = {"D=16", "other/32", "cannot open"};
    for (int k = 0; k < 3; k++) {
        p.gvec_whiten = badp[k];
        s = NULL;
        vs_status st = vs_searcher_create(&s, idx, &p);
        CHECK_MSG(st != VS_OK && s == NULL && strstr(vs_last_error(), badp[k]) && strstr(vs_last_error(), why[k]),
                  "gvec_whiten %s: status %d, %s", badp[k], st, vs_last_error());
        vs_searcher_free(s);
    }
    p.first_stage = "hash";
    p.gvec_whiten = path;
    CHECK(vs_search_params_check(&p) == VS_ERR_INVALID_ARG && strstr(vs_last_error(), "gvec_whiten"));
    p.first_stage = "gvec";
    p.gvec_whiten = "";
    CHECK(vs_search_params_check(&p) == VS_ERR_INVALID_ARG);
    g_whiten = NULL;
    vs_gvec_whiten_free(w);
    vs_gvec_whiten_free(w16);
    vs_gvec_whiten_free(wx);
}

static void test_search(void) {
    char dir[1200], cmd[1300];
    snprintf(dir, sizeof dir, "%s/gvec_seg_idx", vs_test_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
    for (int s = 0; s < 8; s++) {
        for (int j = 0; j < D; j++) scene[s][j] = gauss();
        normalize(scene[s], D);
    }
    vs_index *idx;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    /* v00 "A": 12 frames, scenes 0 | 1 | 2 in thirds; v01 "q": a noisy copy of A's first
     * third (4 frames of scene 0); v02..v13: distractors, all frames half scene 0 and half a
     * base of their own: each one's mean is nearer q's than A's mean is, no part as near as
     * A's first; v14: 2 frames (T < S); v15: unrelated */
    int sA[MAXT], s0[MAXT];
    for (int t = 0; t < MAXT; t++) sA[t] = t / 4, s0[t] = 0;
    for (int v = 0; v < NV; v++) {
        vs_features *f;
        float base[D];
        for (int j = 0; j < D; j++) base[j] = gauss();
        normalize(base, D);
        if (v == 0) f = make(v, 12, sA, 1.0f, NULL, 0, 0.15f);
        else if (v == 1) f = make(v, 4, s0, 1.0f, NULL, 0, 0.25f);
        else if (v < 14) f = make(v, 12, s0, 0.62f, base, 0.78f, 0.15f);
        else if (v == 14) f = make(v, 2, NULL, 0, base, 1.0f, 0.3f);
        else f = make(v, 12, NULL, 0, base, 1.0f, 0.3f);
        snprintf(names[v], sizeof names[v], "v%02d", v);
        segp[v] = vs_ann_segment_vectors(segv[v], f->data, f->T, f->R, D, 4);
        char path[64];
        snprintf(path, sizeof path, "/v/%s.mp4", names[v]);
        vs_index_add_result ar = {0};
        CHECK_EQ(vs_index_add_features(idx, path, f, 0, &ar), VS_OK);
        ids[v] = ar.id;
        feat_free(f);
    }
    CHECK(segp[0] == 4 && segp[1] == 4 && segp[14] == 2);

    /* the partial copy: S = 4 finds A first, S = 1's mean vector leaves it out of the top 5 */
    vs_search_result *r4 = stage1(idx, "gvec:flat", 4, 5, 0, "v01");
    vs_search_result *r1 = stage1(idx, "gvec:flat", 1, 5, 0, "v01");
    CHECK_MSG(r4 && r4->n == 5 && rank_of(r4, "v00") == 0, "S=4: A ranks %ld for its partial copy",
              rank_of(r4, "v00"));
    CHECK_MSG(r1 && r1->n == 5 && rank_of(r1, "v00") < 0, "S=1: A ranks %ld in the top 5 (want: missed)",
              rank_of(r1, "v00"));
    vs_search_result *rall = stage1(idx, "gvec:flat", 1, 0, 0, "v01");
    CHECK_MSG(rall && rank_of(rall, "v00") >= 5, "S=1: A ranks %ld of %ld (want >= 5)", rank_of(rall, "v00"),
              rall ? rall->n : -1);
    vs_search_result_free(r4);
    vs_search_result_free(r1);
    vs_search_result_free(rall);

    /* stage 1 with S = 4 = the brute-force best part pair, for K = all, 5, 1 */
    static const int Ks[3] = {0, 5, 1};
    int ok = 1;
    n_notes = 0;
    for (int qv = 0; qv < NV && ok; qv += 3)
        for (int i = 0; i < 3 && ok; i++) {
            vs_search_result *r = stage1(idx, "gvec:flat", 4, Ks[i], 0, names[qv]);
            ok = matches_brute_force(r, qv, Ks[i] ? Ks[i] : NV);
            vs_search_result_free(r);
        }
    CHECK_MSG(ok, "S=4 stage 1 equals the brute-force best part pair");
    CHECK(n_notes > 0 && strstr(last_note, "computed them now") && strstr(last_note, "seg4"));
    /* the default (gvec_segments 0 = VS_GVEC_SEGMENTS = 4) and the auto index: the same */
    vs_search_result *rd = stage1(idx, "gvec", 0, 0, 0, "v00");
    CHECK_MSG(matches_brute_force(rd, 0, NV), "gvec with the default segments = brute force S=4");
    vs_search_result_free(rd);
    if (vs_ann_have_faiss()) {
        ok = 1;
        for (int qv = 1; qv < NV && ok; qv += 4) {
            vs_search_result *r = stage1(idx, "gvec:faiss:Flat", 4, 5, 0, names[qv]);
            ok = matches_brute_force(r, qv, 5);
            vs_search_result_free(r);
        }
        CHECK_MSG(ok, "S=4 with faiss:Flat equals the brute force");
    }

    /* an old index: only "gvec" "mean1" stored (S = 1, as before segments) */
    n_notes = 0;
    vs_search_result *ro = stage1(idx, "gvec:flat", 1, 0, 1, "v03");
    CHECK(ro && n_notes == 0);
    vs_search_result_free(ro);
    vs_index_extras *x = NULL;
    CHECK_EQ(vs_index_load_extras(idx, VS_GVEC_KIND, VS_GVEC_ID, &x), VS_OK);
    CHECK(x && x->n == NV);
    vs_index_extras_free(x);
    n_notes = 0;
    ro = stage1(idx, "gvec:flat", 1, 0, 0, "v03");
    CHECK_MSG(ro && n_notes == 0, "S=1 uses the stored mean1 vectors (notes: %d)", n_notes);
    vs_search_result_free(ro);
    n_notes = 0;
    last_note[0] = 0;
    ro = stage1(idx, "gvec:flat", 4, 0, 0, "v03");
    CHECK_MSG(ro && n_notes == 1 && strstr(last_note, "16 of 16 videos have no stored global vectors"),
              "S=4 on an index with mean1 only: computed, noted (%d notes: %s)", n_notes, last_note);
    CHECK_MSG(matches_brute_force(ro, 3, NV), "S=4 on an old index = brute force");
    vs_search_result_free(ro);

    /* store round trip: "gvec" "seg4", [P, D], equal to vs_ann_segment_vectors; then used */
    n_notes = 0;
    vs_search_result *ra = stage1(idx, "gvec:flat", 4, 0, 1, "v06");
    CHECK(ra && n_notes == 0);
    CHECK_EQ(vs_index_load_extras(idx, VS_GVEC_KIND, "seg4", &x), VS_OK);
    CHECK(x && x->n == NV);
    for (long v = 0; x && v < x->n && v < NV; v++) {
        CHECK(x->video_ids[v] == ids[v] && x->v[v].dtype == VS_INDEX_F32 && x->v[v].n_rows == segp[v] &&
              x->v[v].n_cols == D);
        CHECK(!memcmp(x->v[v].data, segv[v], sizeof(float) * (size_t)segp[v] * D));
    }
    vs_index_extras_free(x);
    n_notes = 0;
    vs_search_result *rb = stage1(idx, "gvec:flat", 4, 0, 0, "v06");
    CHECK_MSG(rb && n_notes == 0, "stored seg4 vectors used without a note (%d notes)", n_notes);
    int same = ra && rb && ra->n == rb->n;
    for (long k = 0; same && k < ra->n; k++)
        same = !strcmp(ra->hits[k].name, rb->hits[k].name) && ra->hits[k].score == rb->hits[k].score;
    CHECK_MSG(same, "stored and computed seg4 vectors rank alike");
    vs_search_result_free(ra);
    vs_search_result_free(rb);

    test_whiten_search(idx);

    /* bad gvec_segments */
    vs_search_params p = vs_search_default_params();
    CHECK_EQ(p.gvec_segments, 0); /* VS_GVEC_SEGMENTS with a gvec first stage */
    p.mode = VS_SEARCH_HASH_ONLY;
    p.first_stage = "gvec";
    p.gvec_segments = VS_GVEC_MAX_SEGMENTS + 1;
    vs_searcher *s = NULL;
    CHECK(vs_searcher_create(&s, idx, &p) == VS_ERR_INVALID_ARG && strstr(vs_last_error(), "gvec_segments must be"));
    vs_searcher_free(s);
    vs_index_close(idx);
}

int main(void) {
    test_segment_vectors();
    test_flat_batch();
    test_search();
    return vs_test_done();
}
