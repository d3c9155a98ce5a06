/*
 * test_temporal.c - ViSiL_f's temporal weight (vs_simmodel_params.temporal,
 * docs/hard_copies.md "Temporal consistency") and frame levels (vs_simvideo.lev, norm.h
 * "Frame levels"): the score of a map against a plain reference (each cell less its row's
 * and column's frame level, mixed with the mean of its diagonal run, then the video Chamfer
 * by rows or by columns) for several shapes, weights and levels (a video under 3 frames:
 * no mix), on the pair's own frames (a short video is not repeated); weight 0 without
 * levels is the plain Chamfer exactly, zero levels the score without levels;
 * vs_simmodel_similarity, _similarity_to (one query and several) and vs_simmodel_pair of
 * a ViSiL_f state equal the reference on their own f2f map, with the targets' or the
 * queries' levels too; the fused vs_localize_search gives the symmetric score of the two
 * directions; a diagonal run of matches keeps its score where the same row maxima
 * scattered out of order lose; ViSiL models ignore the weight and the levels; bad weights
 * are refused by the state, the search parameters and the normalisation parameters, each
 * naming the field; the stored background levels' id depends on the weight for visil_f.
 */
#include "test.h"
#include "vidsim/localize.h"
#include "vidsim/norm.h"
#include "vidsim/search.h"
#include "vidsim/simmodel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;
static float urand(void) { /* xorshift64, uniform in [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* the definition, in double: C[i,j] = S[i,j] - rl[i] - cl[j] (NULL: 0); C'[i,j] = (1-w) C[i,j]
 * + w mean(C[i+k,j+k], k = -1..1 inside; w = 0 under 3 frames); the mean of the row (or
 * column) maxima of C' */
static double ref_score_lev(const float *S, int T, int U, const float *rl, const float *cl, double w, int by_cols) {
    if (T < 3 || U < 3) w = 0;
    double *C = malloc(sizeof(double) * (size_t)T * U), *M = malloc(sizeof(double) * (size_t)T * U);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < U; j++) C[i * U + j] = (double)S[i * U + j] - (rl ? rl[i] : 0) - (cl ? cl[j] : 0);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < U; j++) {
            double sum = 0;
            int n = 0;
            for (int k = -1; k <= 1; k++) {
                int a = i + k, b = j + k;
                if (a < 0 || b < 0 || a >= T || b >= U) continue;
                sum += C[a * U + b];
                n++;
            }
            M[i * U + j] = (1 - w) * C[i * U + j] + w * sum / n;
        }
    double tot = 0;
    const int outer = by_cols ? U : T, inner = by_cols ? T : U;
    for (int o = 0; o < outer; o++) {
        double m = -INFINITY;
        for (int x = 0; x < inner; x++) {
            double v = by_cols ? M[x * U + o] : M[o * U + x];
            m = v > m ? v : m;
        }
        tot += m;
    }
    free(C);
    free(M);
    return tot / outer;
}

static double ref_score(const float *S, int T, int U, double w, int by_cols) {
    return ref_score_lev(S, T, U, NULL, NULL, w, by_cols);
}

static vs_simmodel_state *state(const vs_simmodel *m, float w) {
    vs_simmodel_params p = vs_simmodel_default_params();
    p.temporal = w;
    vs_simmodel_state *st = NULL;
    CHECK_EQ(vs_simmodel_state_create(&st, m, &p), VS_OK);
    return st;
}

static void test_map_scores(void) {
    vs_simmodel *m = NULL;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    CHECK(vs_simmodel_default_params().temporal == 0.0f); /* the library's default: the published ViSiL_f */
    const int shapes[][2] = {{1, 1}, {1, 6}, {6, 1}, {2, 2}, {2, 9}, {3, 3}, {7, 9}, {12, 5}};
    const float ws[] = {0.0f, 0.25f, 0.5f, 1.0f};
    float S[12 * 9];
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int T = shapes[s][0], U = shapes[s][1];
        for (int k = 0; k < T * U; k++) S[k] = urand();
        for (size_t w = 0; w < sizeof ws / sizeof ws[0]; w++) {
            vs_simmodel_state *st = state(m, ws[w]);
            for (int bc = 0; bc < 2; bc++) {
                const float got = vs_simmodel_state_chamfer(st, S, T, U, bc, NULL, NULL);
                const double want = ref_score(S, T, U, ws[w], bc);
                CHECK_MSG(fabs(got - want) < 1e-6, "%dx%d w %.2f by_cols %d: %.9g, reference %.9g", T, U,
                          (double)ws[w], bc, (double)got, want);
                if (ws[w] == 0.0f) CHECK(got == vs_simmodel_chamfer(S, T, U, bc)); /* exactly the plain Chamfer */
            }
            vs_simmodel_state_free(st);
        }
    }
    /* the point of it: the same row maxima, in order along a diagonal or scattered */
    enum { N = 8 };
    float D[N * N], X[N * N];
    for (int k = 0; k < N * N; k++) D[k] = X[k] = 0.1f;
    for (int i = 0; i < N; i++) {
        D[i * N + i] = 0.6f;             /* frame i of the copy is frame i of the original */
        X[i * N + (i * 3) % N] = 0.6f;   /* each frame looks like some frame, in no order */
    }
    vs_simmodel_state *st = state(m, 0.5f);
    CHECK_NEAR(vs_simmodel_chamfer(D, N, N, 0), vs_simmodel_chamfer(X, N, N, 0), 1e-7);
    const float d = vs_simmodel_state_chamfer(st, D, N, N, 0, NULL, NULL), x = vs_simmodel_state_chamfer(st, X, N, N, 0, NULL, NULL);
    CHECK_MSG(d > 0.59f && x < 0.45f, "diagonal run %.4f, scattered %.4f", (double)d, (double)x);
    /* bad weights: the state is refused, naming the field */
    const float bad[] = {-0.01f, 1.5f, NAN};
    for (int b = 0; b < 3; b++) {
        vs_simmodel_params p = vs_simmodel_default_params();
        p.temporal = bad[b];
        vs_simmodel_state *sb = NULL;
        CHECK_EQ(vs_simmodel_state_create(&sb, m, &p), VS_ERR_INVALID_ARG);
        CHECK(sb == NULL);
        CHECK(strstr(vs_last_error(), "temporal") != NULL);
    }
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
}

static void levels(float *l, int n) {
    for (int i = 0; i < n; i++) l[i] = 0.3f * (urand() + 1.0f); /* 0 .. 0.6 */
}

static void test_level_map(void) {
    vs_simmodel *m = NULL;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    const int shapes[][2] = {{1, 1}, {1, 6}, {6, 1}, {2, 2}, {2, 9}, {3, 3}, {7, 9}, {12, 5}};
    const float ws[] = {0.0f, 0.5f, 1.0f};
    float S[12 * 9], rl[12], cl[9], zr[12] = {0}, zc[9] = {0};
    int bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int T = shapes[s][0], U = shapes[s][1];
        for (int k = 0; k < T * U; k++) S[k] = urand();
        levels(rl, T);
        levels(cl, U);
        for (size_t w = 0; w < sizeof ws / sizeof ws[0]; w++) {
            vs_simmodel_state *st = state(m, ws[w]);
            for (int bc = 0; bc < 2; bc++)
                for (int which = 0; which < 3; which++) { /* rows, columns, both */
                    const float *r = which != 1 ? rl : NULL, *c = which != 0 ? cl : NULL;
                    const float got = vs_simmodel_state_chamfer(st, S, T, U, bc, r, c);
                    const double want = ref_score_lev(S, T, U, r, c, ws[w], bc);
                    if (fabs(got - want) > 1e-6) {
                        bad++;
                        fprintf(stderr, "%dx%d w %.2f by_cols %d levels %d: %.9g, reference %.9g\n", T, U,
                                (double)ws[w], bc, which, (double)got, want);
                    }
                }
            /* zero levels: the score without levels */
            for (int bc = 0; bc < 2; bc++)
                CHECK_NEAR(vs_simmodel_state_chamfer(st, S, T, U, bc, zr, zc),
                           vs_simmodel_state_chamfer(st, S, T, U, bc, NULL, NULL), 1e-7);
            vs_simmodel_state_free(st);
        }
    }
    CHECK_EQ(bad, 0);
    vs_simmodel_free(m);
}

static void unit_features(float *x, long n, int D) {
    for (long v = 0; v < n; v++) {
        double s = 0;
        for (int d = 0; d < D; d++) {
            x[v * D + d] = urand();
            s += (double)x[v * D + d] * x[v * D + d];
        }
        for (int d = 0; d < D; d++) x[v * D + d] /= (float)sqrt(s);
    }
}

/* vs_simmodel_similarity and vs_simmodel_pair of a weighted ViSiL_f state score the f2f map
 * as the reference does */
static void test_similarity(void) {
    enum { R = 9, D = 16, T = 11, NT = 3 };
    const int Us[NT] = {13, 3, 11};
    float *q = malloc(sizeof(float) * T * R * D), *t[NT];
    unit_features(q, (long)T * R, D);
    /* target 0 holds the query's frames 2..10 in order (a copy), then noise */
    vs_simvideo tv[NT] = {0};
    for (int k = 0; k < NT; k++) {
        t[k] = malloc(sizeof(float) * (size_t)Us[k] * R * D);
        unit_features(t[k], (long)Us[k] * R, D);
        tv[k].x = t[k];
        tv[k].T = Us[k];
    }
    memcpy(t[0], q + 2 * R * D, sizeof(float) * 9 * R * D);
    vs_simmodel *m = NULL;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    vs_simmodel_state *st = state(m, 0.5f), *st0 = state(m, 0.0f);
    float sims[NT], sims0[NT], f2f[T * 13];
    CHECK_EQ(vs_simmodel_similarity(st, sims, q, T, tv, NT, R, D), VS_OK);
    CHECK_EQ(vs_simmodel_similarity(st0, sims0, q, T, tv, NT, R, D), VS_OK);
    for (int k = 0; k < NT; k++) {
        CHECK_EQ(vs_simmodel_f2f(st0, f2f, q, T, t[k], Us[k], R, D), VS_OK);
        /* a short video (target 1: 3 frames) is repeated to 4 frames for ViSiL, whose
         * comparator needs them; the weighted score reads its own frames, not the
         * repetition (which would join its last frame to its first on a diagonal) */
        CHECK_MSG(fabs(sims[k] - ref_score(f2f, T, Us[k], 0.5, 0)) < 1e-5, "target %d: %.7f, reference %.7f", k,
                  (double)sims[k], ref_score(f2f, T, Us[k], 0.5, 0));
        CHECK_NEAR(sims0[k], ref_score(f2f, T, Us[k], 0.0, 0), 1e-5);
        CHECK(isfinite(sims[k]));
        vs_simmodel_pair_out po = {0};
        CHECK_EQ(vs_simmodel_pair(st, &po, q, T, t[k], Us[k], R, D), VS_OK);
        CHECK_NEAR(po.sim, sims[k], 1e-6);
    }
    /* the short video as the query (its rows repeated for ViSiL): the same untiled rule */
    {
        float r1 = 0, f2[3 * T];
        vs_simvideo qv = {q, T, NULL};
        CHECK_EQ(vs_simmodel_similarity(st, &r1, t[1], Us[1], &qv, 1, R, D), VS_OK);
        CHECK_EQ(vs_simmodel_f2f(st0, f2, t[1], Us[1], q, T, R, D), VS_OK);
        CHECK_NEAR(r1, ref_score(f2, Us[1], T, 0.5, 0), 1e-5);
    }
    /* the fused path of a search with segments (vs_localize_search: both directions from
     * one pass, scored by vs_simmodel_state_chamfer) gives the symmetric score that
     * vs_simmodel_similarity's two directions give, short target included */
    {
        float rs[NT], fs[NT];
        CHECK_EQ(vs_simmodel_similarity_to(st, rs, tv, NT, q, T, R, D), VS_OK);
        vs_loc_video lq = {q, T, NULL, 1.0, 0.0, NULL}, lt[NT];
        for (int k = 0; k < NT; k++) lt[k] = (vs_loc_video){t[k], Us[k], NULL, 1.0, 0.0, NULL};
        vs_segment *segs[NT] = {0};
        int nsegs[NT] = {0};
        CHECK_EQ(vs_localize_search(st, m, &lq, lt, NT, R, D, NULL, fs, segs, nsegs), VS_OK);
        for (int k = 0; k < NT; k++) {
            CHECK_MSG(fabs(fs[k] - 0.5 * (sims[k] + rs[k])) < 1e-5, "target %d: fused %.7f, two directions %.7f", k,
                      (double)fs[k], 0.5 * (sims[k] + rs[k]));
            free(segs[k]);
        }
    }
    /* the copy keeps (almost) its score; unrelated targets lose more of theirs */
    CHECK_MSG(sims0[0] - sims[0] < 0.5 * (sims0[2] - sims[2]), "copy %.4f -> %.4f, unrelated %.4f -> %.4f",
              (double)sims0[0], (double)sims[0], (double)sims0[2], (double)sims[2]);
    vs_simmodel_state_free(st);
    vs_simmodel_state_free(st0);
    vs_simmodel_free(m);
    /* a ViSiL model has a comparator: the weight changes nothing */
    vs_simmodel *mv = NULL;
    CHECK_EQ(vs_simmodel_create_random(&mv, D, 7), VS_OK);
    vs_simmodel_state *a = state(mv, 0.0f), *b = state(mv, 1.0f);
    float sa[NT], sb[NT];
    CHECK_EQ(vs_simmodel_similarity(a, sa, q, T, tv, NT, R, D), VS_OK);
    CHECK_EQ(vs_simmodel_similarity(b, sb, q, T, tv, NT, R, D), VS_OK);
    for (int k = 0; k < NT; k++) CHECK(sa[k] == sb[k]);
    vs_simmodel_state_free(a);
    vs_simmodel_state_free(b);
    vs_simmodel_free(mv);
    free(q);
    for (int k = 0; k < NT; k++) free(t[k]);
}

static void test_params(void) {
    vs_search_params p = vs_search_default_params();
    CHECK(p.temporal == VS_TEMPORAL_DEFAULT);
    CHECK_EQ(vs_search_params_check(&p), VS_OK);
    const float bad[] = {-0.5f, 1.01f, NAN};
    for (int b = 0; b < 3; b++) {
        p.temporal = bad[b];
        CHECK_EQ(vs_search_params_check(&p), VS_ERR_INVALID_ARG);
        CHECK(!strncmp(vs_last_error(), "temporal", 8));
    }
    vs_norm_params np = vs_norm_default_params();
    CHECK(np.temporal == VS_TEMPORAL_DEFAULT);
    CHECK_EQ(vs_norm_check_params(&np), VS_OK);
    np.temporal = 2.0f;
    CHECK_EQ(vs_norm_check_params(&np), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "temporal") != NULL);
    /* stored levels: another weight is another id for visil_f (0 keeps the old ids), none
     * for a model file (its comparator ignores the weight) */
    char a[192], b[192], c[192];
    np = vs_norm_default_params();
    vs_norm_extra_model(a, sizeof a, "visil_f", 1, &np, 10, 42);
    np.temporal = 0.0f;
    vs_norm_extra_model(b, sizeof b, "visil_f", 1, &np, 10, 42);
    CHECK(strcmp(a, b) != 0);
    CHECK_EQ(strcmp(b, "visil_f|sym|s1n10c0.8|upto10|m000000000000002a"), 0);
    vs_norm_extra_model(a, sizeof a, "file:m.vstf:00ff", 1, &np, 10, 42);
    np.temporal = 0.5f;
    vs_norm_extra_model(c, sizeof c, "file:m.vstf:00ff", 1, &np, 10, 42);
    CHECK_EQ(strcmp(a, c), 0);
}

/* the score paths of a ViSiL_f state with frame levels against the reference on their own
 * f2f maps */
static void test_level_paths(void) {
    enum { R = 9, D = 16, T = 11, NT = 4 };
    const int Us[NT] = {13, 3, 2, 11};
    float *q = malloc(sizeof(float) * T * R * D), *t[NT], *lev[NT];
    unit_features(q, (long)T * R, D);
    vs_simvideo tv[NT] = {0}, bare[NT] = {0};
    for (int k = 0; k < NT; k++) {
        t[k] = malloc(sizeof(float) * (size_t)Us[k] * R * D);
        lev[k] = malloc(sizeof(float) * (size_t)Us[k]);
        unit_features(t[k], (long)Us[k] * R, D);
        levels(lev[k], Us[k]);
        tv[k] = (vs_simvideo){t[k], Us[k], lev[k]};
        bare[k] = (vs_simvideo){t[k], Us[k], NULL};
    }
    memcpy(t[0], q + 2 * R * D, sizeof(float) * 9 * R * D); /* target 0: a copy of frames 2..10 */
    vs_simmodel *m = NULL;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    const float ws[] = {0.0f, 0.5f};
    for (int wi = 0; wi < 2; wi++) {
        vs_simmodel_state *st = state(m, ws[wi]), *st0 = state(m, 0.0f);
        float sims[NT], rev[NT], rev1 = 0, plain[NT], plain2[NT], f2f[T * 13], f2r[13 * T];
        /* the targets' levels (columns) */
        CHECK_EQ(vs_simmodel_similarity(st, sims, q, T, tv, NT, R, D), VS_OK);
        /* the reverse: each target as the query with its levels (rows), several and one */
        CHECK_EQ(vs_simmodel_similarity_to(st, rev, tv, NT, q, T, R, D), VS_OK);
        CHECK_EQ(vs_simmodel_similarity_to(st, &rev1, &tv[3], 1, q, T, R, D), VS_OK);
        CHECK(rev1 == rev[3]); /* one query scores as several do */
        for (int k = 0; k < NT; k++) {
            CHECK_EQ(vs_simmodel_f2f(st0, f2f, q, T, t[k], Us[k], R, D), VS_OK);
            CHECK_EQ(vs_simmodel_f2f(st0, f2r, t[k], Us[k], q, T, R, D), VS_OK);
            const double a = ref_score_lev(f2f, T, Us[k], NULL, lev[k], ws[wi], 0);
            const double b = ref_score_lev(f2r, Us[k], T, lev[k], NULL, ws[wi], 0);
            CHECK_MSG(fabs(sims[k] - a) < 1e-5, "w %.1f target %d: %.7f, reference %.7f", (double)ws[wi], k,
                      (double)sims[k], a);
            CHECK_MSG(fabs(rev[k] - b) < 1e-5, "w %.1f reverse %d: %.7f, reference %.7f", (double)ws[wi], k,
                      (double)rev[k], b);
        }
        /* no levels: the scores the state gave before levels existed, bit for bit (the
         * same state with NULL levels), and levels lower every score here */
        CHECK_EQ(vs_simmodel_similarity(st, plain, q, T, bare, NT, R, D), VS_OK);
        CHECK_EQ(vs_simmodel_similarity_to(st, plain2, bare, NT, q, T, R, D), VS_OK);
        for (int k = 0; k < NT; k++) {
            CHECK_EQ(vs_simmodel_f2f(st0, f2f, q, T, t[k], Us[k], R, D), VS_OK);
            CHECK_NEAR(plain[k], ref_score(f2f, T, Us[k], ws[wi], 0), 1e-5);
            CHECK(sims[k] < plain[k] && rev[k] < plain2[k]);
        }
        /* the fused search path with the same levels: the mean of the two directions */
        {
            vs_loc_video lq = {q, T, NULL, 1.0, 0.0, NULL}, lt[NT];
            for (int k = 0; k < NT; k++) lt[k] = (vs_loc_video){t[k], Us[k], NULL, 1.0, 0.0, lev[k]};
            vs_segment *segs[NT] = {0};
            int nsegs[NT] = {0};
            float fs[NT];
            CHECK_EQ(vs_localize_search(st, m, &lq, lt, NT, R, D, NULL, fs, segs, nsegs), VS_OK);
            for (int k = 0; k < NT; k++) {
                CHECK_MSG(fabs(fs[k] - 0.5 * (sims[k] + rev[k])) < 1e-5, "w %.1f target %d: fused %.7f, two %.7f",
                          (double)ws[wi], k, (double)fs[k], 0.5 * (sims[k] + rev[k]));
                free(segs[k]);
            }
        }
        vs_simmodel_state_free(st);
        vs_simmodel_state_free(st0);
    }
    vs_simmodel_free(m);
    /* a ViSiL model (a comparator, its own map): levels change nothing */
    vs_simmodel *mv = NULL;
    CHECK_EQ(vs_simmodel_create_random(&mv, D, 7), VS_OK);
    vs_simmodel_state *a = state(mv, 0.0f);
    float sa[NT], sb[NT];
    CHECK_EQ(vs_simmodel_similarity(a, sa, q, T, tv, NT, R, D), VS_OK);
    CHECK_EQ(vs_simmodel_similarity(a, sb, q, T, bare, NT, R, D), VS_OK);
    for (int k = 0; k < NT; k++) CHECK(sa[k] == sb[k]);
    vs_simmodel_state_free(a);
    vs_simmodel_free(mv);
    for (int k = 0; k < NT; k++) {
        free(t[k]);
        free(lev[k]);
    }
    free(q);
}

/* vs_simmodel_f2f_rowmax (the frame levels' pass): the row maxima of vs_simmodel_f2f's map,
 * bit for bit, with one thread and two, for targets of 1 to 13 frames */
static void test_rowmax(void) {
    enum { R = 9, D = 16, T = 7, NT = 6 };
    const int Us[NT] = {1, 2, 3, 13, 7, 4};
    float *q = malloc(sizeof(float) * T * R * D), *t[NT];
    unit_features(q, (long)T * R, D);
    vs_simvideo tv[NT] = {0};
    for (int k = 0; k < NT; k++) {
        t[k] = malloc(sizeof(float) * (size_t)Us[k] * R * D);
        unit_features(t[k], (long)Us[k] * R, D);
        tv[k] = (vs_simvideo){t[k], Us[k], NULL};
    }
    vs_simmodel *m = NULL;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    for (int th = 1; th <= 2; th++) {
        vs_simmodel_params p = vs_simmodel_default_params();
        p.n_threads = th;
        vs_simmodel_state *st = NULL;
        CHECK_EQ(vs_simmodel_state_create(&st, m, &p), VS_OK);
        float out[NT * T], f2f[T * 13];
        CHECK_EQ(vs_simmodel_f2f_rowmax(st, out, q, T, tv, NT, R, D), VS_OK);
        int bad = 0;
        for (int k = 0; k < NT; k++) {
            CHECK_EQ(vs_simmodel_f2f(st, f2f, q, T, t[k], Us[k], R, D), VS_OK);
            for (int i = 0; i < T; i++) {
                float b = f2f[i * Us[k]];
                for (int j = 1; j < Us[k]; j++) b = f2f[i * Us[k] + j] > b ? f2f[i * Us[k] + j] : b;
                bad += out[k * T + i] != b;
            }
        }
        CHECK_MSG(bad == 0, "%d threads: %d row maxima differ", th, bad);
        CHECK_EQ(vs_simmodel_f2f_rowmax(st, out, q, T, tv, 0, R, D), VS_OK);
        vs_simvideo empty = {t[0], 0, NULL};
        CHECK_EQ(vs_simmodel_f2f_rowmax(st, out, q, T, &empty, 1, R, D), VS_ERR_INVALID_ARG);
        vs_simmodel_state_free(st);
    }
    vs_simmodel_free(m);
    for (int k = 0; k < NT; k++) free(t[k]);
    free(q);
}

int main(void) {
    test_map_scores();
    test_similarity();
    test_params();
    test_level_map();
    test_level_paths();
    test_rowmax();
    return vs_test_done();
}
