/*
 * test_norm.c - score normalisation (src/norm): the background level of a score list
 * against a sort-based reference (skip, n, short lists, NaN), the member set and its
 * signature, one video's level against brute-force visil_f scores (symmetric and
 * query->member, itself left out), the stored values (build, load, kept on a second
 * build, stale after the member set changes, old sets deleted, fixed once the set is
 * full), a damaged stored value as an error naming the index, and bad params; the frame
 * levels against a plain reference (row maxima of a hand-computed f2f map, a copy among the
 * members left out) and stored beside the values (built, kept, computed for a new video,
 * deleted with their member set, not built with frames = 0, damaged: an error).
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/index.h"
#include "vidsim/norm.h"
#include "vidsim/simmodel.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* reference: sort descending, drop NaN and copies (>= cut), mean of ranks skip .. skip+n-1 */
static float ref_stat_cut(const float *s, long n, int skip, int cnt, float cut) {
    float *v = malloc(sizeof(float) * (size_t)(n + 1));
    long m = 0;
    for (long i = 0; i < n; i++)
        if (!isnan(s[i]) && s[i] < cut) v[m++] = s[i];
    qsort(v, (size_t)m, sizeof *v, cmp_desc);
    double sum = 0;
    long k = 0;
    for (long i = skip; i < m && i < skip + cnt; i++, k++) sum += v[i];
    free(v);
    return k ? (float)(sum / k) : 0.0f;
}

static float ref_stat(const float *s, long n, int skip, int cnt) {
    return ref_stat_cut(s, n, skip, cnt, vs_norm_default_params().copy_above);
}

static void test_stat(void) {
    vs_norm_params p = vs_norm_default_params();
    CHECK_EQ(p.skip, 1);
    CHECK_EQ(p.n, 10);
    const float s[] = {0.3f, 0.7f, 0.4f, 0.5f};
    p.n = 2;
    CHECK_NEAR(vs_norm_stat(s, 4, &p), 0.45, 1e-6);  /* drop 0.7, mean(0.5, 0.4) */
    p.n = 10;
    CHECK_NEAR(vs_norm_stat(s, 4, &p), 0.4, 1e-6);   /* fewer than n: mean(0.5, 0.4, 0.3) */
    CHECK_NEAR(vs_norm_stat(s, 1, &p), 0.0, 0);      /* nothing after the skipped best */
    CHECK_NEAR(vs_norm_stat(s, 0, &p), 0.0, 0);
    const float t[] = {NAN, 0.2f, NAN, 0.6f, 0.1f};
    p.skip = 0;
    p.n = 2;
    CHECK_NEAR(vs_norm_stat(t, 5, &p), 0.4, 1e-6);   /* NaN ignored */
    /* copies (>= copy_above, 0.8 by default) are not background */
    p = vs_norm_default_params();
    CHECK_NEAR(p.copy_above, 0.8, 1e-7);
    const float c[] = {1.0f, 0.95f, 0.99f, 0.3f, 0.2f, 0.1f};
    p.n = 2;
    CHECK_NEAR(vs_norm_stat(c, 6, &p), 0.15, 1e-6); /* 1.0, 0.99, 0.95 out; drop 0.3; mean(0.2, 0.1) */
    p.copy_above = 2.0f;
    CHECK_NEAR(vs_norm_stat(c, 6, &p), 0.97, 1e-6); /* no cut: drop 1.0, mean(0.99, 0.95) */
    p.skip = 0;
    p.n = 2;
    /* random lists against the sort-based reference */
    uint64_t x = 12345;
    float buf[300];
    int bad = 0;
    for (int it = 0; it < 500; it++) {
        long n = (long)(x % 300);
        for (long i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = (float)((x >> 33) % 1000) / 1000.f; /* many ties */
        }
        x = x * 6364136223846793005ull + 1;
        p.skip = (int)(x % 4);
        p.n = 1 + (int)((x >> 8) % 40);
        p.copy_above = (x >> 20) % 2 ? 0.8f : 2.0f;
        float a = vs_norm_stat(buf, n, &p), b = ref_stat_cut(buf, n, p.skip, p.n, p.copy_above);
        if (fabsf(a - b) > 1e-5f) bad++;
    }
    CHECK_EQ(bad, 0);
}

static void test_params_members(void) {
    vs_norm_params p = vs_norm_default_params();
    CHECK_EQ(vs_norm_check_params(&p), VS_OK);
    p.n = 0;
    CHECK_EQ(vs_norm_check_params(&p), VS_ERR_INVALID_ARG);
    p.n = 300;
    CHECK_EQ(vs_norm_check_params(&p), VS_ERR_INVALID_ARG);
    p = vs_norm_default_params();
    p.skip = -1;
    CHECK_EQ(vs_norm_check_params(&p), VS_ERR_INVALID_ARG);
    p = vs_norm_default_params();
    p.max_members = 1;
    CHECK_EQ(vs_norm_check_params(&p), VS_ERR_INVALID_ARG);
    p = vs_norm_default_params();
    p.copy_above = NAN;
    CHECK_EQ(vs_norm_check_params(&p), VS_ERR_INVALID_ARG);

    const int64_t a[] = {3, 5, 9}, b[] = {3, 5, 11};
    CHECK(vs_norm_members_sig(a, 2) == vs_norm_members_sig(b, 2));
    CHECK(vs_norm_members_sig(a, 3) != vs_norm_members_sig(b, 3));
    CHECK(vs_norm_members_sig(a, 3) != vs_norm_members_sig(a, 2));
    p = vs_norm_default_params();
    char m1[192], m2[192], m3[192];
    vs_norm_extra_model(m1, sizeof m1, "visil_f", 1, &p, 9, vs_norm_members_sig(a, 3));
    vs_norm_extra_model(m2, sizeof m2, "visil_f", 0, &p, 9, vs_norm_members_sig(a, 3));
    vs_norm_extra_model(m3, sizeof m3, "visil_f", 1, &p, 11, vs_norm_members_sig(b, 3));
    CHECK(strcmp(m1, m2) != 0);
    CHECK(strcmp(m1, m3) != 0);
    CHECK(strstr(m1, "visil_f|sym|s1n10c0.8t0.5|upto9|m") == m1); /* the default temporal weight (test_temporal.c) */
}

/* ------------------------------------------------------------------ videos */

#define NV 8
#define DIM 8

/* Synthetic features of T frames: region vectors of L2 norm `norm` (below 1, the
 * similarity maps saturate less and scores spread wider). */
static vs_features *synth_dim(int T, uint64_t seed, int dim, float norm) {
    vs_features *f = calloc(1, sizeof *f);
    f->T = T;
    f->R = VS_REGIONS;
    f->D = dim;
    f->data = malloc(sizeof(float) * T * f->R * f->D);
    f->times = malloc(sizeof(float) * T);
    uint64_t x = seed * 2654435761u + 7;
    for (long i = 0; i < (long)T * f->R * f->D; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        /* a shared component (seed-dependent weight) makes the scores differ per video */
        f->data[i] = (float)((double)(x >> 33) / 4294967296.0 - 0.5) + 0.1f * (float)(seed % 3) * (float)(i % dim == 0);
    }
    for (long r = 0; r < (long)T * f->R; r++) { /* L2-normalise each region vector */
        double ss = 0;
        for (int d = 0; d < dim; d++) ss += f->data[r * dim + d] * f->data[r * dim + d];
        for (int d = 0; d < dim; d++) f->data[r * dim + d] *= norm / (float)sqrt(ss);
    }
    for (int t = 0; t < T; t++) f->times[t] = (float)t;
    f->fps = 1.0;
    f->duration = T;
    snprintf(f->model_id, sizeof f->model_id, "synthetic/%d", dim);
    f->source_size = 1000 + seed;
    f->source_mtime = 1700000000000000000LL + (int64_t)seed;
    f->source_hash = seed;
    return f;
}

static vs_features *synth(int T, uint64_t seed) { return synth_dim(T, seed, DIM, 1.0f); }

static void synth_free(vs_features *f) {
    free(f->data);
    free(f->times);
    free(f);
}

/* brute force: the level of video v among vids[0..nm) (v's own position self or -1) */
static float brute(vs_simmodel_state *st, float **xs, const int *Ts, int v, const float *vx, int vT, int self, int nm,
                   int sym, const vs_norm_params *p) {
    float s[NV + 2];
    for (int k = 0; k < nm; k++) {
        vs_simvideo tk = {xs[k], Ts[k], NULL}, tv = {vx, vT, NULL};
        float a, b;
        CHECK_EQ(vs_simmodel_similarity(st, &a, vx, vT, &tk, 1, VS_REGIONS, DIM), VS_OK);
        CHECK_EQ(vs_simmodel_similarity(st, &b, xs[k], Ts[k], &tv, 1, VS_REGIONS, DIM), VS_OK);
        s[k] = sym ? 0.5f * (a + b) : a;
    }
    (void)v;
    if (self >= 0) s[self] = NAN;
    return ref_stat(s, nm, p->skip, p->n);
}

static void test_value(void) {
    vs_simmodel *m = NULL;
    vs_simmodel_state *st = NULL;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    CHECK_EQ(vs_simmodel_state_create(&st, m, NULL), VS_OK);
    vs_features *f[NV];
    float *xs[NV];
    int Ts[NV];
    vs_simvideo mv[NV] = {0};
    for (int i = 0; i < NV; i++) {
        f[i] = synth(3 + i % 4, (uint64_t)i + 1);
        Ts[i] = f[i]->T;
        xs[i] = malloc(sizeof(float) * f[i]->T * VS_REGIONS * DIM);
        CHECK_EQ(vs_simmodel_index(st, xs[i], NULL, f[i]->data, f[i]->T, VS_REGIONS, DIM), VS_OK);
        mv[i] = (vs_simvideo){xs[i], Ts[i], NULL};
    }
    vs_norm_params p = vs_norm_default_params();
    p.n = 3;
    float scratch[NV];
    int bad = 0;
    for (int sym = 0; sym <= 1; sym++)
        for (int i = 0; i < NV; i++) {
            float got;
            /* a member (itself left out) and, for i >= 5, a non-member of the first 5 */
            int nm = i < 5 ? NV : 5, self = i < 5 ? i : -1;
            CHECK_EQ(vs_norm_value(st, &got, &mv[i], self, mv, nm, VS_REGIONS, DIM, sym, &p, scratch), VS_OK);
            float want = brute(st, xs, Ts, i, xs[i], Ts[i], self, nm, sym, &p);
            if (fabsf(got - want) > 1e-6f) {
                bad++;
                fprintf(stderr, "video %d sym %d: %g vs %g\n", i, sym, got, want);
            }
        }
    CHECK_EQ(bad, 0);
    for (int i = 0; i < NV; i++) {
        synth_free(f[i]);
        free(xs[i]);
    }
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
}

/* plain reference of frame j's best match in b [Tb]: max over b's frames of the mean over
 * a's regions of the max over b's regions of the dot product */
static float ref_rowmax(const float *a, int j, const float *b, int Tb, int dim) {
    double best = -1e30;
    for (int u = 0; u < Tb; u++) {
        double sum = 0;
        for (int r = 0; r < VS_REGIONS; r++) {
            double m = -1e30;
            for (int s = 0; s < VS_REGIONS; s++) {
                const float *x = a + ((size_t)j * VS_REGIONS + r) * dim, *y = b + ((size_t)u * VS_REGIONS + s) * dim;
                double d = 0;
                for (int k = 0; k < dim; k++) d += (double)x[k] * y[k];
                m = d > m ? d : m;
            }
            sum += m;
        }
        best = sum / VS_REGIONS > best ? sum / VS_REGIONS : best;
    }
    return (float)best;
}

/* T frames of unit region vectors of dimension dim, centred random from seed: unrelated
 * videos score far below the copy cut */
static float *rand_video(int T, int dim, uint64_t seed) {
    float *x = malloc(sizeof(float) * (size_t)T * VS_REGIONS * dim);
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (long r = 0; r < (long)T * VS_REGIONS; r++) {
        double ss = 0;
        for (int d = 0; d < dim; d++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            x[r * dim + d] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
            ss += (double)x[r * dim + d] * x[r * dim + d];
        }
        for (int d = 0; d < dim; d++) x[r * dim + d] /= (float)sqrt(ss);
    }
    return x;
}

static void test_frames(void) {
    vs_simmodel *m = NULL;
    vs_simmodel_state *st = NULL;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    CHECK_EQ(vs_simmodel_state_create(&st, m, NULL), VS_OK);
    enum { NF = 7, NM = 5, FD = 64 }; /* D = 64: unrelated random videos score far below the cut */
    float *xs[NF];
    vs_simvideo mv[NF] = {0};
    for (int i = 0; i < NF; i++) {
        /* video 6 is a copy of video 0 (the same frames), not a member */
        const int T = i < NF - 1 ? 3 + i % 4 : 3;
        float *raw = i < NF - 1 ? rand_video(T, FD, (uint64_t)i + 1) : rand_video(T, FD, 1);
        xs[i] = malloc(sizeof(float) * T * VS_REGIONS * FD);
        CHECK_EQ(vs_simmodel_index(st, xs[i], NULL, raw, T, VS_REGIONS, FD), VS_OK);
        mv[i] = (vs_simvideo){xs[i], T, NULL};
        free(raw);
    }
    vs_norm_params p = vs_norm_default_params();
    p.n = 3;
    int bad = 0, cut_seen = 0, n_leveled = 0;
    for (int i = 0; i < NF; i++) {
        const int self = i < NM ? i : -1, T = mv[i].T;
        float got[8], vals[8][NM], all[NM];
        CHECK_EQ(vs_norm_frame_levels(st, got, &mv[i], self, mv, NM, VS_REGIONS, FD, &p), VS_OK);
        /* a member whose mean row maximum (its Chamfer score from video i) reaches the cut is
         * a copy: out of every frame's level */
        int used = 0;
        for (int k = 0; k < NM; k++) {
            double c = 0;
            for (int j = 0; j < T; j++) c += vals[j][k] = k == self ? NAN : ref_rowmax(xs[i], j, xs[k], mv[k].T, FD);
            if (k != self && c / T >= p.copy_above)
                for (int j = 0; j < T; j++) vals[j][k] = NAN;
            else if (k != self)
                used++;
        }
        n_leveled += used >= p.n;
        for (int j = 0; j < T; j++) {
            /* fewer than n members left: 0 */
            const float want = used >= p.n ? ref_stat_cut(vals[j], NM, 0, p.n, 1e30f) : 0.0f;
            for (int k = 0; k < NM; k++) all[k] = k == self ? NAN : ref_rowmax(xs[i], j, xs[k], mv[k].T, FD);
            if (i == NF - 1 && ref_stat_cut(all, NM, 0, p.n, 1e30f) != want) cut_seen++;
            if (fabsf(got[j] - want) > 1e-5f) {
                bad++;
                fprintf(stderr, "video %d frame %d: %g vs %g\n", i, j, (double)got[j], (double)want);
            }
        }
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(cut_seen, 3); /* the copy's three frames: their source left out */
    CHECK_EQ(n_leveled, NF); /* every video has enough members */
    /* fewer than n members left: 0 (the copy's source out, 3 of 4 left for n = 4; then
     * n = 3: a level) */
    float z[8] = {1, 1, 1};
    CHECK_EQ(vs_norm_frame_levels(st, z, &mv[0], 0, mv, 1, VS_REGIONS, FD, &p), VS_OK);
    CHECK(z[0] == 0.0f && z[1] == 0.0f && z[2] == 0.0f);
    p.n = 5; /* video 1 has 4 other members at most */
    CHECK_EQ(vs_norm_frame_levels(st, z, &mv[1], 1, mv, NM, VS_REGIONS, FD, &p), VS_OK);
    CHECK(z[0] == 0.0f && z[1] == 0.0f && z[2] == 0.0f);
    for (int i = 0; i < NF; i++) free(xs[i]);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
}

/* ------------------------------------------------------------------ stored values */

static int64_t add(vs_index *idx, const char *dir, int i) {
    char path[1200];
    snprintf(path, sizeof path, "%s/v%02d.mp4", dir, i);
    vs_features *f = synth(3 + i % 4, (uint64_t)i + 1);
    vs_index_add_result r = {0};
    CHECK_EQ(vs_index_add_features(idx, path, f, 0, &r), VS_OK);
    synth_free(f);
    return r.id;
}

static void ok_ids(vs_index *idx, int64_t *ids, long *n) {
    vs_index_entries *es = NULL;
    CHECK_EQ(vs_index_list(idx, NULL, &es), VS_OK);
    *n = 0;
    for (long i = 0; es && i < es->n; i++)
        if (es->v[i].ok) ids[(*n)++] = es->v[i].id;
    vs_index_entries_free(es);
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

static void test_store(void) {
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/norm_index", vs_test_tmpdir());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
    vs_index *idx = NULL;
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    for (int i = 0; i < 5; i++) add(idx, dir, i);
    vs_norm_params p = vs_norm_default_params();
    p.n = 3;
    vs_norm_build_report r;
    CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p, 1, 0, NULL, NULL, &r), VS_OK);
    CHECK_EQ(r.n_videos, 5);
    CHECK_EQ(r.n_members, 5);
    CHECK_EQ(r.n_computed, 5);
    CHECK_EQ(r.n_frames, 5);
    int64_t ids[16];
    long n;
    ok_ids(idx, ids, &n);
    vs_norm_table t;
    CHECK_EQ(vs_norm_load(idx, "visil_f", 1, &p, ids, n, &t), VS_OK);
    CHECK_EQ(t.n_missing, 0);
    vs_norm_frames fr;
    CHECK_EQ(vs_norm_load_frames(idx, &t, &fr), VS_OK);
    CHECK_EQ(fr.n_missing, 0);
    /* the stored values are vs_norm_value's */
    {
        vs_simmodel *m = NULL;
        vs_simmodel_state *st = NULL;
        CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
        CHECK_EQ(vs_simmodel_state_create(&st, m, NULL), VS_OK);
        float *xs[5];
        vs_simvideo mv[5] = {0};
        for (int i = 0; i < 5; i++) {
            vs_features *f = synth(3 + i % 4, (uint64_t)i + 1);
            xs[i] = malloc(sizeof(float) * f->T * VS_REGIONS * DIM);
            CHECK_EQ(vs_simmodel_index(st, xs[i], NULL, f->data, f->T, VS_REGIONS, DIM), VS_OK);
            mv[i] = (vs_simvideo){xs[i], f->T, NULL};
            synth_free(f);
        }
        float scratch[5];
        for (int i = 0; i < 5; i++) {
            float v, lev[8];
            CHECK_EQ(vs_norm_value(st, &v, &mv[i], i, mv, 5, VS_REGIONS, DIM, 1, &p, scratch), VS_OK);
            CHECK_NEAR(t.values[i], v, 1e-6);
            /* and the stored frame levels vs_norm_frame_levels' */
            CHECK_EQ(vs_norm_frame_levels(st, lev, &mv[i], i, mv, 5, VS_REGIONS, DIM, &p), VS_OK);
            CHECK_EQ(fr.T[i], mv[i].T);
            for (int j = 0; fr.lev[i] && j < mv[i].T; j++) CHECK_NEAR(fr.lev[i][j], lev[j], 1e-6);
        }
        for (int i = 0; i < 5; i++) free(xs[i]);
        vs_simmodel_state_free(st);
        vs_simmodel_free(m);
    }
    vs_norm_table_free(&t);
    vs_norm_frames_free(&fr);
    /* q2r values are another model id: none stored */
    CHECK_EQ(vs_norm_load(idx, "visil_f", 0, &p, ids, n, &t), VS_OK);
    CHECK_EQ(t.n_missing, 5);
    vs_norm_table_free(&t);
    /* a second build keeps them */
    CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p, 1, 0, NULL, NULL, &r), VS_OK);
    CHECK_EQ(r.n_computed, 0);
    CHECK_EQ(r.n_frames, 0);
    CHECK_EQ(r.n_kept, 5);
    /* a sixth video is not a member: only its own value is computed, against the five */
    add(idx, dir, 5);
    ok_ids(idx, ids, &n);
    CHECK_EQ(vs_norm_load(idx, "visil_f", 1, &p, ids, n, &t), VS_OK);
    CHECK_EQ(t.stored, 1);
    CHECK_EQ(t.n_members, 5);
    CHECK_EQ(t.n_missing, 1);
    CHECK_EQ(t.have[5], 0);
    vs_norm_table_free(&t);
    CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p, 2, 0, NULL, NULL, &r), VS_OK);
    CHECK_EQ(r.n_computed, 1);
    CHECK_EQ(r.n_frames, 1);
    CHECK_EQ(r.n_kept, 5);
    CHECK_EQ(r.n_deleted, 0);
    /* another temporal weight: its own set (all six are members), with its own frame
     * levels; the first set's stay */
    {
        vs_norm_params p0 = p;
        p0.temporal = 0.0f;
        CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p0, 1, 0, NULL, NULL, &r), VS_OK);
        CHECK_EQ(r.n_computed, 6);
        CHECK_EQ(r.n_frames, 6);
        CHECK_EQ(r.n_deleted, 0);
        CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p, 1, 0, NULL, NULL, &r), VS_OK);
        CHECK_EQ(r.n_computed + r.n_frames + r.n_deleted, 0);
    }
    /* removing a member invalidates the set: a new one (first max_members = 4 videos),
     * every value computed again, the old set's values deleted */
    CHECK_EQ(vs_index_remove(idx, ids[1]), VS_OK);
    ok_ids(idx, ids, &n);
    CHECK_EQ(n, 5);
    CHECK_EQ(vs_norm_load(idx, "visil_f", 1, &p, ids, n, &t), VS_OK);
    CHECK_EQ(t.stored, 0);
    CHECK_EQ(t.n_missing, 5);
    vs_norm_table_free(&t);
    p.max_members = 4;
    CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p, 1, 0, NULL, NULL, &r), VS_OK);
    CHECK_EQ(r.n_members, 4);
    CHECK_EQ(r.n_computed, 5);
    CHECK_EQ(r.n_frames, 5);
    CHECK_EQ(r.n_deleted, 5 + 5); /* the old set's values and frame levels (the removed video's went with it) */
    add(idx, dir, 6);
    CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p, 1, 0, NULL, NULL, &r), VS_OK);
    CHECK_EQ(r.n_computed, 1);
    CHECK_EQ(r.n_kept, 5);
    /* force: a new set, all computed again */
    CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p, 1, 1, NULL, NULL, &r), VS_OK);
    CHECK_EQ(r.n_computed, 6);
    CHECK_EQ(r.n_frames, 6);
    CHECK_EQ(r.n_members, 4);
    ok_ids(idx, ids, &n);
    CHECK_EQ(vs_norm_load(idx, "visil_f", 1, &p, ids, n, &t), VS_OK);
    CHECK_EQ(t.n_missing, 0);
    CHECK_EQ(t.stored, 1);
    vs_norm_table_free(&t);
    vs_index_close(idx);

    /* damaged stored frame levels: an error naming the index */
    sql(dir, "UPDATE extras SET data = X'0011' WHERE kind = 'fbg' AND video_id = (SELECT MIN(video_id) FROM extras WHERE kind = 'fbg');");
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    CHECK_EQ(vs_norm_load(idx, "visil_f", 1, &p, ids, n, &t), VS_OK);
    vs_status s = vs_norm_load_frames(idx, &t, &fr);
    CHECK_EQ(s, VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), dir) != NULL && strstr(vs_last_error(), "frame levels"), "%s", vs_last_error());
    vs_norm_table_free(&t);
    vs_index_close(idx);
    /* a damaged stored value: an error naming the index */
    sql(dir, "UPDATE extras SET data = X'0011' WHERE kind = 'bg' AND video_id = (SELECT MIN(video_id) FROM extras WHERE kind = 'bg');");
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_READONLY), VS_OK);
    s = vs_norm_load(idx, "visil_f", 1, &p, ids, n, &t);
    CHECK_EQ(s, VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), dir) != NULL, "%s", vs_last_error());
    vs_index_close(idx);
    /* frames = 0: no frame levels built */
    CHECK_EQ(system(cmd), 0);
    CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
    for (int i = 0; i < 3; i++) add(idx, dir, i);
    p.frames = 0;
    CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p, 1, 0, NULL, NULL, &r), VS_OK);
    CHECK_EQ(r.n_computed, 3);
    CHECK_EQ(r.n_frames, 0);
    ok_ids(idx, ids, &n);
    CHECK_EQ(vs_norm_load(idx, "visil_f", 1, &p, ids, n, &t), VS_OK);
    CHECK_EQ(vs_norm_load_frames(idx, &t, &fr), VS_OK);
    CHECK_EQ(fr.n_missing, 3);
    vs_norm_frames_free(&fr);
    vs_norm_table_free(&t);
    vs_index_close(idx);
    CHECK_EQ(system(cmd), 0);
}

/* The stored levels do not depend on the thread count: the same sixteen videos (5 to 14
 * frames, D = 256) in three indexes, levels built with 1, 2 and 3 threads, must be the
 * same floats bit for bit. With more workers than targets the reverse direction (one
 * member as the query, the video as the only target) was split into strips of query
 * rows; for these short videos OpenBLAS picks its GEMM kernel by shape and a strip's
 * products rounded unlike the whole pair's (1 ulp in most levels). */
static void test_build_threads(void) {
    enum { NB = 16, BD = 256 };
    float vals[3][NB];
    for (int run = 0; run < 3; run++) {
        char dir[1100], cmd[1200];
        snprintf(dir, sizeof dir, "%s/norm_threads_%d", vs_test_tmpdir(), run);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK_EQ(system(cmd), 0);
        vs_index *idx = NULL;
        CHECK_EQ(vs_index_open(&idx, dir, VS_INDEX_CREATE), VS_OK);
        for (int i = 0; i < NB; i++) {
            char path[1200];
            snprintf(path, sizeof path, "%s/v%02d.mp4", dir, i);
            vs_features *f = synth_dim(5 + (i * 7) % 10, (uint64_t)i + 1, BD, 0.5f);
            vs_index_add_result r = {0};
            CHECK_EQ(vs_index_add_features(idx, path, f, 0, &r), VS_OK);
            synth_free(f);
        }
        vs_norm_params p = vs_norm_default_params();
        vs_norm_build_report r;
        CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &p, run + 1, 0, NULL, NULL, &r), VS_OK);
        CHECK_EQ(r.n_computed, NB);
        int64_t ids[NB];
        long n;
        ok_ids(idx, ids, &n);
        CHECK_EQ(n, NB);
        vs_norm_table t;
        CHECK_EQ(vs_norm_load(idx, "visil_f", 1, &p, ids, n, &t), VS_OK);
        CHECK_EQ(t.n_missing, 0);
        memcpy(vals[run], t.values, sizeof vals[run]);
        vs_norm_table_free(&t);
        vs_index_close(idx);
        CHECK_EQ(system(cmd), 0);
    }
    int same = 1;
    for (int run = 1; run < 3; run++)
        for (int i = 0; i < NB; i++)
            if (memcmp(&vals[run][i], &vals[0][i], sizeof(float))) {
                same = 0;
                CHECK_MSG(0, "video %d: level %.9g with %d threads, %.9g with 1", i, vals[run][i], run + 1,
                          vals[0][i]);
            }
    CHECK(same);
    CHECK(isfinite(vals[0][0]) && vals[0][0] != 0.0f);
}

int main(void) {
    test_stat();
    test_params_members();
    test_value();
    test_frames();
    test_store();
    test_build_threads();
    return vs_test_done();
}
