/*
 * test_localize.c - copied-segment localisation (localize.h) on synthetic similarity
 * matrices with known answers: one diagonal, a partial copy inside a longer video,
 * two segments, slope 2 (speed-up) and 1/2, a gap, a pause (repeated frames), pure
 * noise, NaN and constant matrices, empty pairs, bad arguments, sample times, and
 * the pair matrix of real feature layouts against the plain f2f definition.
 */
#include "test.h"
#include "vidsim/localize.h"
#include "vidsim/simmodel.h"

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;
static float urand(void) { /* [0,1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f;
}

/* background noise in [0.1, 0.3) */
static float *noise(int T, int U) {
    float *S = malloc(sizeof(float) * (size_t)T * U);
    for (long c = 0; c < (long)T * U; c++) S[c] = 0.1f + 0.2f * urand();
    return S;
}

/* put a copied run: query frames q0..q0+n-1 match ref frames r0 + round(k * slope) */
static void put_run(float *S, int T, int U, int q0, int r0, int n, double slope, float v) {
    for (int k = 0; k < n; k++) {
        int i = q0 + k, j = r0 + (int)(k * slope + 0.5);
        if (i < T && j < U) S[(long)i * U + j] = v + 0.05f * urand();
    }
}

/* The alignment alone (no growing): the boxes of these tests are exact. */
static vs_localize_params P0;

static void check_box(const vs_segment *g, double qs, double qe, double rs, double re, double tol,
                      const char *what) {
    int ok = fabs(g->query_start - qs) <= tol && fabs(g->query_end - qe) <= tol &&
             fabs(g->ref_start - rs) <= tol && fabs(g->ref_end - re) <= tol;
    CHECK_MSG(ok, "%s: got %.2f-%.2f x %.2f-%.2f, want %.2f-%.2f x %.2f-%.2f", what, g->query_start,
              g->query_end, g->ref_start, g->ref_end, qs, qe, rs, re);
}

static void test_one_diagonal(void) {
    int T = 20, U = 20, n;
    float *S = noise(T, U);
    put_run(S, T, U, 0, 0, 20, 1.0, 0.8f);
    vs_segment *g;
    CHECK_EQ(vs_localize(&g, &n, S, T, U, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) {
        check_box(&g[0], 0, 20, 0, 20, 1e-9, "full diagonal");
        CHECK_EQ(g[0].n_cells, 20);
        CHECK(g[0].mean_sim > 0.79f && g[0].mean_sim < 0.86f);
    }
    free(g);
    free(S);
}

static void test_partial_embedded(void) {
    /* query 40 frames: frames 12..27 copy ref frames 30..45 of a 60-frame ref */
    int T = 40, U = 60, n;
    float *S = noise(T, U);
    put_run(S, T, U, 12, 30, 16, 1.0, 0.7f);
    vs_segment *g;
    CHECK_EQ(vs_localize(&g, &n, S, T, U, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    /* the noise reaches 0.3, above theta (~0.29): a noise cell next to the copy on
     * its diagonal may join it, one frame at most */
    if (n >= 1) check_box(&g[0], 12, 28, 30, 46, 1.0 + 1e-9, "embedded partial copy");
    free(g);
    free(S);
}

static void test_two_segments(void) {
    /* two parts of one ref in one query, in swapped order */
    int T = 50, U = 50, n;
    float *S = noise(T, U);
    put_run(S, T, U, 2, 30, 12, 1.0, 0.8f);
    put_run(S, T, U, 25, 5, 15, 1.0, 0.75f);
    vs_segment *g;
    CHECK_EQ(vs_localize(&g, &n, S, T, U, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK_EQ(n, 2);
    if (n == 2) {
        /* the longer run scores higher and comes first */
        check_box(&g[0], 25, 40, 5, 20, 1e-9, "segment 1");
        check_box(&g[1], 2, 14, 30, 42, 1e-9, "segment 2");
        CHECK(g[0].strength > g[1].strength);
        CHECK(g[0].score >= g[1].score);
    }
    free(g);
    free(S);
}

static void test_slopes(void) {
    int n;
    vs_segment *g;
    /* speed-up x2: 15 query frames cover 30 ref frames */
    float *S = noise(30, 50);
    put_run(S, 30, 50, 5, 10, 15, 2.0, 0.8f);
    CHECK_EQ(vs_localize(&g, &n, S, 30, 50, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) check_box(&g[0], 5, 20, 10, 39, 1e-9, "slope 2");
    free(g);
    free(S);
    /* slow-down x0.5: 30 query frames cover 15 ref frames (each ref frame twice) */
    S = noise(40, 30);
    put_run(S, 40, 30, 4, 6, 30, 0.5, 0.8f);
    CHECK_EQ(vs_localize(&g, &n, S, 40, 30, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) check_box(&g[0], 4, 34, 6, 21, 1.0 + 1e-9, "slope 1/2");
    free(g);
    free(S);
}

static void test_gap_and_pause(void) {
    int n;
    vs_segment *g;
    /* a 2-frame gap (dropped/blacked-out frames) inside a 24-frame copy: one segment */
    float *S = noise(30, 30);
    put_run(S, 30, 30, 3, 3, 10, 1.0, 0.8f);
    put_run(S, 30, 30, 15, 15, 12, 1.0, 0.8f);
    CHECK_EQ(vs_localize(&g, &n, S, 30, 30, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) check_box(&g[0], 3, 27, 3, 27, 1e-9, "copy with a gap");
    free(g);
    free(S);
    /* a pause: query frames 10..14 all show ref frame 10, then the copy goes on */
    S = noise(30, 30);
    put_run(S, 30, 30, 0, 0, 10, 1.0, 0.8f);
    for (int i = 10; i < 15; i++) S[i * 30 + 10] = 0.8f;
    put_run(S, 30, 30, 15, 11, 15, 1.0, 0.8f);
    CHECK_EQ(vs_localize(&g, &n, S, 30, 30, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) check_box(&g[0], 0, 30, 0, 26, 1e-9, "copy with a pause");
    free(g);
    free(S);
}

static void test_times(void) {
    /* 2 fps query with a start offset, 1 fps ref; ends clamped to the durations */
    int T = 10, U = 10, n;
    float *S = noise(T, U);
    put_run(S, T, U, 4, 2, 6, 1.0, 0.8f);
    float qt[10], rt[10];
    for (int i = 0; i < 10; i++) {
        qt[i] = 0.25f + 0.5f * (float)i;
        rt[i] = (float)i;
    }
    vs_segment *g;
    CHECK_EQ(vs_localize(&g, &n, S, T, U, qt, 0.5, rt, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) {
        check_box(&g[0], 2.25, 5.25, 2, 8, 1e-6, "sample times");
        vs_segments_clamp(g, n, 4.0, 7.5);
        check_box(&g[0], 2.25, 4.0, 2, 7.5, 1e-6, "clamped");
        vs_segments_rescore(g, n, 0.42f);
        CHECK_NEAR(g[0].score, 0.42, 1e-7);
    }
    free(g);
    free(S);
}

static void test_no_signal(void) {
    int n = -1;
    vs_segment *g = (vs_segment *)&n;
    /* constant */
    float *S = malloc(sizeof(float) * 100);
    for (int c = 0; c < 100; c++) S[c] = 0.5f;
    CHECK_EQ(vs_localize(&g, &n, S, 10, 10, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK_EQ(n, 0);
    CHECK(g == NULL);
    /* all NaN */
    for (int c = 0; c < 100; c++) S[c] = NAN;
    CHECK_EQ(vs_localize(&g, &n, S, 10, 10, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK_EQ(n, 0);
    /* NaN cells inside a copy: no crash, the copy still found */
    float *S2 = noise(20, 20);
    put_run(S2, 20, 20, 0, 0, 20, 1.0, 0.8f);
    S2[5 * 20 + 5] = NAN;
    S2[6 * 20 + 2] = INFINITY;
    CHECK_EQ(vs_localize(&g, &n, S2, 20, 20, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) check_box(&g[0], 0, 20, 0, 20, 1e-9, "copy with NaN cells");
    free(g);
    free(S2);
    /* empty pairs: no segment, no error */
    CHECK_EQ(vs_localize(&g, &n, NULL, 0, 10, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK_EQ(n, 0);
    CHECK_EQ(vs_localize(&g, &n, NULL, 10, 0, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK_EQ(n, 0);
    /* bad arguments */
    CHECK_EQ(vs_localize(&g, &n, S, -1, 10, NULL, 1.0, NULL, 1.0, &P0), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_localize(&g, &n, S, 10, 10, NULL, 0.0, NULL, 1.0, NULL), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_localize(&g, &n, S, 10, 10, NULL, 1.0, NULL, NAN, NULL), VS_ERR_INVALID_ARG);
    vs_localize_params p = vs_localize_default_params();
    p.alpha = 2.0f;
    CHECK_EQ(vs_localize(&g, &n, S, 10, 10, NULL, 1.0, NULL, 1.0, &p), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "alpha") != NULL);
    free(S);
}

static void test_noise_only(void) {
    /* Pure noise: the threshold adapts, so a path is found, but it claims no more
     * similarity than the noise has; the same noise with a copy in it gives the copy. */
    int n;
    vs_segment *g;
    float *S = noise(40, 40);
    CHECK_EQ(vs_localize(&g, &n, S, 40, 40, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1 && n <= 4);
    for (int k = 0; k < n; k++) CHECK_MSG(g[k].mean_sim < 0.3f, "noise segment mean %g", g[k].mean_sim);
    free(g);
    put_run(S, 40, 40, 10, 20, 12, 1.0, 0.6f);
    CHECK_EQ(vs_localize(&g, &n, S, 40, 40, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    /* alpha 0.2 keeps weak copy frames (the dev benchmark's choice, docs/localize.md),
     * so in noise this high (half the copy's level) the box may run a few frames on:
     * it must hold the copy and overlap it by IoU >= 0.7 on each axis */
    if (n >= 1) {
        double iq = 12.0 / (g[0].query_end - g[0].query_start), ir = 12.0 / (g[0].ref_end - g[0].ref_start);
        CHECK_MSG(g[0].query_start <= 10 && g[0].query_end >= 22 && g[0].ref_start <= 20 && g[0].ref_end >= 32 &&
                      iq >= 0.7 && ir >= 0.7,
                  "copy in the same noise: %.0f-%.0f x %.0f-%.0f", g[0].query_start, g[0].query_end, g[0].ref_start,
                  g[0].ref_end);
    }
    free(g);
    free(S);
}

static void test_pair_matrix(void) {
    /* the symmetric pair matrix is the mean of f2f(q,r) and f2f(r,q)^T, and f2f is
     * mean over query regions of max over ref regions (the plain definition) */
    enum { T = 5, U = 7, R = 3, D = 8 };
    float q[T * R * D], r[U * R * D];
    for (int k = 0; k < T * R * D; k++) q[k] = urand() - 0.5f;
    for (int k = 0; k < U * R * D; k++) r[k] = urand() - 0.5f;
    vs_simmodel *m;
    vs_simmodel_state *st;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    CHECK_EQ(vs_simmodel_state_create(&st, m, NULL), VS_OK);
    float S[T * U], Sq[T * U];
    CHECK_EQ(vs_localize_pair_matrix(st, Sq, q, T, r, U, R, D, 0), VS_OK);
    CHECK_EQ(vs_localize_pair_matrix(st, S, q, T, r, U, R, D, 1), VS_OK);
    float want[T * U], wantq[T * U];
    for (int i = 0; i < T; i++)
        for (int j = 0; j < U; j++) {
            double a = 0, b = 0;
            for (int o = 0; o < R; o++) {
                float ma = -1e30f, mb = -1e30f;
                for (int p = 0; p < R; p++) {
                    float d1 = 0, d2 = 0;
                    for (int k = 0; k < D; k++) {
                        d1 += q[(i * R + o) * D + k] * r[(j * R + p) * D + k];
                        d2 += r[(j * R + o) * D + k] * q[(i * R + p) * D + k];
                    }
                    ma = d1 > ma ? d1 : ma;
                    mb = d2 > mb ? d2 : mb;
                }
                a += ma;
                b += mb;
            }
            wantq[i * U + j] = (float)(a / R);
            want[i * U + j] = (float)(0.5 * (a / R + b / R));
        }
    vs_check_tensor("f2f q->r", Sq, wantq, T * U, 1e-5, 1e-5);
    vs_check_tensor("f2f sym", S, want, T * U, 1e-5, 1e-5);
    /* segments of two indexed videos: a query that is frames 2..5 of the ref */
    float qq[4 * R * D];
    memcpy(qq, r + 2 * R * D, sizeof qq);
    float rt[U];
    for (int j = 0; j < U; j++) rt[j] = (float)j;
    vs_loc_video qv = {qq, 4, NULL, 1.0, 4.0, NULL}, rv = {r, U, rt, 1.0, 6.5, NULL};
    vs_segment *g;
    int n;
    CHECK_EQ(vs_localize_videos(&g, &n, st, &qv, &rv, R, D, 1, 0.9f, NULL), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) {
        check_box(&g[0], 0, 4, 2, 6, 1e-6, "indexed pair");
        CHECK_NEAR(g[0].score, 0.9, 1e-7);
    }
    free(g);
    /* the fused search path: scores equal the symmetric search score (both
     * directions of vs_simmodel_similarity, short videos doubled), segments equal
     * vs_localize_videos', for targets of 1..7 frames */
    {
        vs_loc_video tv[4] = {{r, U, rt, 1.0, 6.5, NULL}, {qq, 4, NULL, 1.0, 4.0, NULL}, {r + 3 * R * D, 2, NULL, 1.0, 0, NULL},
                              {r + 6 * R * D, 1, NULL, 1.0, 0, NULL}};
        float sims[4];
        vs_segment *segs[4];
        int nsegs[4];
        CHECK_EQ(vs_localize_search(st, m, &qv, tv, 4, R, D, NULL, sims, segs, nsegs), VS_OK);
        for (int k = 0; k < 4; k++) {
            vs_simvideo a = {tv[k].x, tv[k].T, NULL}, b = {qq, 4, NULL};
            float s1, s2;
            CHECK_EQ(vs_simmodel_similarity(st, &s1, qq, 4, &a, 1, R, D), VS_OK);
            CHECK_EQ(vs_simmodel_similarity(st, &s2, tv[k].x, tv[k].T, &b, 1, R, D), VS_OK);
            CHECK_NEAR(sims[k], 0.5f * (s1 + s2), 1e-6);
            vs_segment *g2;
            int n2;
            CHECK_EQ(vs_localize_videos(&g2, &n2, st, &qv, &tv[k], R, D, 1, sims[k], NULL), VS_OK);
            CHECK_EQ(nsegs[k], n2);
            for (int j = 0; j < n2 && j < nsegs[k]; j++) {
                CHECK_NEAR(segs[k][j].query_start, g2[j].query_start, 1e-9);
                CHECK_NEAR(segs[k][j].ref_end, g2[j].ref_end, 1e-9);
                CHECK_NEAR(segs[k][j].score, g2[j].score, 1e-6);
            }
            free(g2);
            free(segs[k]);
        }
        /* a ViSiL model is refused by name, with every output cleared */
        vs_simmodel *mv;
        CHECK_EQ(vs_simmodel_create_random(&mv, D, 3), VS_OK);
        CHECK_EQ(vs_localize_search(st, mv, &qv, tv, 4, R, D, NULL, sims, segs, nsegs), VS_ERR_UNSUPPORTED);
        CHECK(strstr(vs_last_error(), "visil") != NULL);
        CHECK(segs[0] == NULL && nsegs[3] == 0);
        vs_simmodel_free(mv);
    }
    vs_loc_video ev = {qq, 0, NULL, 1.0, 0, NULL};
    CHECK_EQ(vs_localize_videos(&g, &n, st, &ev, &rv, R, D, 1, 0.9f, NULL), VS_OK);
    CHECK_EQ(n, 0);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
}

static void test_grow(void) {
    /* a copy whose first and last 3 frames are weak (0.26, a fade, against the 0.8
     * of the rest): the alignment (theta = median + 0.2 spread, about 0.29) cuts
     * them; growing along the slope takes them back; a background whose rows have
     * their best match elsewhere (a bright distractor column) stops the growth */
    int T = 30, U = 30, n;
    float *S = malloc(sizeof(float) * T * U);
    for (int c = 0; c < T * U; c++) S[c] = 0.15f + 0.05f * urand();
    for (int i = 5; i < 25; i++) S[i * U + i] = (i < 8 || i >= 22) ? 0.26f : 0.8f;
    for (int i = 0; i < T; i++) S[i * U + 29] = 0.5f; /* distractor: every frame's best outside the copy */
    vs_segment *g;
    CHECK_EQ(vs_localize(&g, &n, S, T, U, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) check_box(&g[0], 8, 22, 8, 22, 1e-9, "no growing");
    free(g);
    vs_localize_params p = vs_localize_default_params();
    p.max_segments = 1;
    CHECK_EQ(vs_localize(&g, &n, S, T, U, NULL, 1.0, NULL, 1.0, &p), VS_OK);
    CHECK_EQ(n, 1);
    /* the weak frames' row maximum is the 0.5 distractor: 0.26 is not within 0.1
     * spread of it, so they stay out */
    if (n >= 1) check_box(&g[0], 8, 22, 8, 22, 1e-9, "growth stopped by better matches elsewhere");
    free(g);
    for (int i = 0; i < T; i++) S[i * U + 29] = 0.15f;
    CHECK_EQ(vs_localize(&g, &n, S, T, U, NULL, 1.0, NULL, 1.0, &p), VS_OK);
    CHECK_EQ(n, 1);
    if (n >= 1) {
        check_box(&g[0], 5, 25, 5, 25, 1e-9, "weak ends grown");
        CHECK_EQ(g[0].n_cells, 20);
    }
    free(g);
    free(S);
}

static void test_trim(void) {
    /* a copy that ends in a static scene: the last query frame matches ref frames
     * 20..25 equally (a frozen shot in the ref); the alignment's pause moves would
     * stretch the box to ref 26, trimming ends it where both videos last moved */
    int T = 21, U = 30, n;
    float *S = noise(T, U);
    put_run(S, T, U, 0, 0, 21, 1.0, 0.8f);
    for (int j = 21; j <= 25; j++) S[20 * U + j] = 0.8f;
    vs_segment *g;
    vs_localize_params p = P0;
    p.trim_pauses = 0;
    CHECK_EQ(vs_localize(&g, &n, S, T, U, NULL, 1.0, NULL, 1.0, &p), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) check_box(&g[0], 0, 21, 0, 26, 1e-9, "untrimmed");
    free(g);
    CHECK_EQ(vs_localize(&g, &n, S, T, U, NULL, 1.0, NULL, 1.0, &P0), VS_OK);
    CHECK(n >= 1);
    if (n >= 1) check_box(&g[0], 0, 21, 0, 21, 1e-9, "trimmed");
    free(g);
    free(S);
}

int main(void) {
    P0 = vs_localize_default_params();
    P0.grow_alpha = -1.0f;
    test_grow();
    test_trim();
    test_one_diagonal();
    test_partial_embedded();
    test_two_segments();
    test_slopes();
    test_gap_and_pause();
    test_times();
    test_no_signal();
    test_noise_only();
    test_pair_matrix();
    return vs_test_done();
}
