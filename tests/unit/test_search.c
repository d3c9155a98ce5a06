/*
 * test_search.c - the library's search engine (search.h) and the model id
 * (features.h) on a small synthetic index: model id parse/format, the extractor of
 * an unknown model, vs_index_info's R and D, exhaustive search (self excluded, top,
 * threshold, segments), hash-only and two-stage search (K >= N scores as the
 * exhaustive one), dedup, stored hash codes, a failed query, the skip list of a
 * damaged entry, and the normalised score with the references' frame levels against its
 * definition (computed in memory, stored and two-stage alike; stored levels that do not
 * fit their video: an error naming the index). The CLI's byte-for-byte behaviour is checked by the golden tests and
 * bench/golden_compare.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/norm.h"
#include "vidsim/search.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { T = 6, D = 8 };

/* Video k's features: random unit region vectors from seed k (copies share a seed). */
static vs_features *synth(int seed, uint64_t hash) { return vs_test_synth(T, D, seed, hash); }

static void synth_free(vs_features *f) { vs_test_synth_free(f); }

static int n_notes;
static void note(void *user, const char *msg) {
    (void)user;
    (void)msg;
    n_notes++;
}

static void test_model_id(void) {
    vs_model_id id;
    char buf[64];
    CHECK_EQ(vs_model_id_parse(&id, "inception_v3/224/pca256/df694736"), VS_OK);
    CHECK(!strcmp(id.backbone, "inception_v3") && id.crop == 224 && id.pca == 1 && id.dim == 256);
    CHECK(id.hash == 0xdf694736u);
    vs_model_id_format(&id, buf, sizeof buf);
    CHECK(!strcmp(buf, "inception_v3/224/pca256/df694736"));
    CHECK_EQ(vs_model_id_parse(&id, "mobilenet_v2/224/raw1280/0000abcd"), VS_OK);
    CHECK(id.pca == 0 && id.dim == 1280 && id.hash == 0xabcd);
    vs_model_id_format(&id, buf, sizeof buf);
    CHECK(!strcmp(buf, "mobilenet_v2/224/raw1280/0000abcd"));
    const char *bad[] = {"", "synthetic/8", "inception_v3", "inception_v3/224/pca256", "x/0/pca1/00000000",
                         "x/224/foo256/00000000", "x/224/pca256/0000000g", "x/224/pca256/000000000"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_MSG(vs_model_id_parse(&id, bad[i]) == VS_ERR_FORMAT, "'%s'", bad[i]);
        CHECK(id.backbone[0] == 0 && id.dim == 0);
    }
    char w[64], p[64];
    CHECK_EQ(vs_model_files("inception", w, sizeof w, p, sizeof p), VS_OK);
    CHECK(!strcmp(w, "inception_v3.vstf") && !strcmp(p, "pca_inception_v3.vstf"));
    CHECK_EQ(vs_model_files("mobilenet_v2", w, sizeof w, NULL, 0), VS_OK);
    CHECK(!strcmp(w, "mobilenet_v2.vstf"));
    CHECK_EQ(vs_model_files("resnet", w, sizeof w, p, sizeof p), VS_ERR_UNSUPPORTED);
    vs_extractor *ex = (vs_extractor *)&id;
    vs_extract_params ep = vs_extract_default_params();
    vs_model_locator loc = {"/nonexistent", NULL, NULL};
    CHECK_EQ(vs_extractor_load_for_model(&ex, &loc, "synthetic/8", NULL, &ep), VS_ERR_UNSUPPORTED);
    CHECK(ex == NULL);
    CHECK(!strcmp(vs_last_error(), "index model synthetic/8: unknown backbone"));
    CHECK(vs_extractor_load_for_model(&ex, &loc, "inception_v3/224/pca256/df694736", NULL, &ep) != VS_OK);
    CHECK(ex == NULL);
    CHECK(strstr(vs_last_error(), "/nonexistent/inception_v3.vstf") != NULL);
}

/* The default search's score of the .vsf query against the index's ok videos (all
 * members here), by table position, from the definition (norm.h "Frame levels"):
 * each reference's frame levels against the members (itself left out) times beta taken off
 * its frames' cells in both directions' f2f maps, the temporal mix and Chamfer
 * (vs_simmodel_state_chamfer), the mean of the two directions, less the query's level (of
 * these scores) and the reference's stored video level. */
static void expected_scores(vs_index *idx, const char *vsf, const vs_search_params *p, const vs_norm_table *t,
                            float *out) {
    vs_simmodel *m = NULL;
    vs_simmodel_state *st = NULL;
    vs_simmodel_params sp = vs_simmodel_default_params();
    sp.temporal = p->temporal;
    sp.precision = p->sim_precision;
    CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
    CHECK_EQ(vs_simmodel_state_create(&st, m, &sp), VS_OK);
    vs_index_entries *es = NULL;
    CHECK_EQ(vs_index_list(idx, NULL, &es), VS_OK);
    vs_features *fs[8] = {0}, *qf = NULL;
    vs_simvideo mv[8] = {0};
    long n = 0;
    for (long i = 0; es && i < es->n; i++)
        if (es->v[i].ok) {
            CHECK_EQ(vs_index_load_features(idx, &es->v[i], &fs[n]), VS_OK);
            mv[n] = (vs_simvideo){fs[n]->data, fs[n]->T, NULL}; /* visil_f indexes as it is */
            n++;
        }
    CHECK(n == t->n && n == t->n_members);
    CHECK_EQ(vs_features_load(&qf, vsf), VS_OK);
    const int R = qf->R, Dd = qf->D, Tq = qf->T;
    float s[8], L[64], A[64 * 64], B[64 * 64];
    for (long k = 0; k < n; k++) {
        const int U = mv[k].T;
        CHECK_EQ(vs_norm_frame_levels(st, L, &mv[k], k, mv, n, R, Dd, &p->norm), VS_OK);
        for (int j = 0; j < U; j++) L[j] *= p->frame_levels;
        CHECK_EQ(vs_simmodel_f2f(st, A, qf->data, Tq, mv[k].x, U, R, Dd), VS_OK);
        CHECK_EQ(vs_simmodel_f2f(st, B, mv[k].x, U, qf->data, Tq, R, Dd), VS_OK);
        s[k] = 0.5f * (vs_simmodel_state_chamfer(st, A, Tq, U, 0, NULL, L) +
                       vs_simmodel_state_chamfer(st, B, U, Tq, 0, L, NULL));
    }
    const float q = vs_norm_stat(s, n, &p->norm);
    for (long k = 0; k < n; k++) out[k] = s[k] - q - t->values[k];
    for (long k = 0; k < n; k++) vs_features_free(fs[k]);
    vs_features_free(qf);
    vs_index_entries_free(es);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
}

/* Scores of query q by name, or -2 when absent. */
static float score_of(const vs_search_result *r, const char *name) {
    for (long k = 0; k < r->n; k++)
        if (!strcmp(r->hits[k].name, name)) return r->hits[k].score;
    return -2;
}

int main(void) {
    test_model_id();
    char dir[] = "/tmp/vs_test_search_XXXXXX";
    if (!mkdtemp(dir)) SKIP("mkdtemp failed");
    char idir[256], vsf[300];
    snprintf(idir, sizeof idir, "%s/index", dir);
    snprintf(vsf, sizeof vsf, "%s/a_copy.mp4.vsf", dir);
    vs_index *idx = NULL;
    CHECK_EQ(vs_index_open(&idx, idir, VS_INDEX_CREATE), VS_OK);
    /* a, b, a2 (a copy of a), c */
    const char *paths[] = {"/videos/a.mp4", "/videos/b.mp4", "/videos/a2.mp4", "/videos/c.mp4"};
    const int seeds[] = {1, 2, 1, 3};
    for (int i = 0; i < 4; i++) {
        vs_features *f = synth(seeds[i], 10 + i);
        vs_index_add_result r;
        CHECK_EQ(vs_index_add_features(idx, paths[i], f, 0, &r), VS_OK);
        synth_free(f);
    }
    vs_features *qf = synth(1, 99);
    CHECK_EQ(vs_features_save(qf, vsf), VS_OK);
    synth_free(qf);
    vs_index_info info;
    CHECK_EQ(vs_index_get_info(idx, &info), VS_OK);
    CHECK(info.n_ok == 4 && info.R == VS_REGIONS && info.D == D);

    /* exhaustive: an indexed query never matches itself; its copy comes first (raw
     * scores: the query-side level of a normalised score depends on the query's list,
     * which differs between an indexed query and its copy; normalisation: test_norm_search) */
    vs_search_params p = vs_search_default_params();
    p.normalize = 0;
    p.top = 0;
    p.note = note;
    vs_searcher *s = NULL;
    vs_search_result *r = NULL, *r2 = NULL;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    CHECK_EQ(vs_searcher_query(s, "a", &r), VS_OK);
    CHECK(r && r->n == 3 && !strcmp(r->query_id, "a") && !strcmp(r->hits[0].name, "a2"));
    CHECK(r && r->hits[0].score > r->hits[1].score && score_of(r, "a") == -2);
    CHECK_EQ(vs_searcher_query(s, vsf, &r2), VS_OK); /* a.vsf: a copy of a, not indexed */
    CHECK(r2 && r2->n == 4 && !strcmp(r2->query_id, "a_copy"));
    CHECK(r && r2 && score_of(r2, "a2") == r->hits[0].score);
    vs_search_result_free(r2);
    n_notes = 0;
    CHECK(vs_searcher_query(s, "/nonexistent.vsf", &r2) != VS_OK);
    CHECK(r2 == NULL && n_notes == 1 && !strcmp(vs_searcher_query_name(s), "nonexistent"));
    CHECK_EQ(vs_searcher_skipped(s)->n, 0);
    vs_searcher_free(s);

    /* top and threshold */
    p.top = 1;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    CHECK_EQ(vs_searcher_query(s, "a", &r2), VS_OK);
    CHECK(r2 && r2->n == 1 && !strcmp(r2->hits[0].name, "a2"));
    vs_search_result_free(r2);
    vs_searcher_free(s);
    p.top = 0;
    p.threshold = r ? r->hits[0].score : 0;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    CHECK_EQ(vs_searcher_query(s, "a", &r2), VS_OK);
    CHECK(r2 && r2->n == 1);
    vs_search_result_free(r2);
    vs_searcher_free(s);
    p.threshold = -1e30;

    /* segments: every listed pair has its segments (or a whole-video box) */
    p.segments = 1;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    CHECK_EQ(vs_searcher_query(s, "a", &r2), VS_OK);
    CHECK(r2 && r2->n == 3 && r2->n_failed == 0);
    for (long k = 0; r2 && k < r2->n; k++) CHECK(r2->hits[k].n_segments >= 0 && r2->hits[k].ref_duration > 0);
    CHECK(r2 && r2->hits[0].n_segments > 0 && r2->hits[0].segments[0].score == r2->hits[0].score);
    vs_search_result_free(r2);
    vs_searcher_free(s);
    p.segments = 0;

    /* hash-only (LSH): the copy is at distance 0; two-stage with K >= N scores as exhaustive */
    p.mode = VS_SEARCH_HASH_ONLY;
    p.hash_model = "lsh64";
    n_notes = 0;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    CHECK(n_notes == 1); /* codes computed on the fly */
    CHECK_EQ(vs_searcher_query(s, "a", &r2), VS_OK);
    CHECK(r2 && r2->n == 3 && !strcmp(r2->hits[0].name, "a2") && r2->hits[0].score == 1.0f);
    vs_search_result_free(r2);
    vs_searcher_free(s);
    p.mode = VS_SEARCH_TWO_STAGE;
    p.two_stage_k = 100;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    CHECK_EQ(vs_searcher_query(s, "a", &r2), VS_OK);
    CHECK(r && r2 && r2->n == r->n);
    for (long k = 0; r && r2 && k < r->n && k < r2->n; k++)
        CHECK_MSG(!strcmp(r->hits[k].name, r2->hits[k].name) && r->hits[k].score == r2->hits[k].score, "%s %.9g %s %.9g", r->hits[k].name, r->hits[k].score, r2->hits[k].name, r2->hits[k].score);
    vs_search_result_free(r2);
    vs_search_timing tm;
    vs_searcher_timing(s, &tm);
    CHECK(tm.n_queries == 1 && tm.n_codes == 4 && tm.bits == 64 && tm.k == 4);
    vs_searcher_free(s);

    /* stored codes */
    vs_hasher *h = NULL;
    CHECK_EQ(vs_hasher_open(&h, "lsh64", idx, NULL), VS_OK);
    CHECK(h && vs_hasher_bits(h) == 64 && !strcmp(vs_hasher_spec(h), "lsh64"));
    vs_hash_store_params hp = {2, 0, NULL, NULL, NULL};
    vs_hash_store_stats hs;
    CHECK_EQ(vs_hasher_store_codes(idx, h, &hp, &hs), VS_OK);
    CHECK(hs.computed == 4 && hs.kept == 0 && hs.failed == 0 && hs.n_ok == 4);
    CHECK_EQ(vs_hasher_store_codes(idx, h, &hp, &hs), VS_OK);
    CHECK(hs.computed == 0 && hs.kept == 4);
    vs_hasher_free(h);
    n_notes = 0;
    p.mode = VS_SEARCH_HASH_ONLY;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    CHECK(n_notes == 0); /* all stored now */
    vs_searcher_free(s);
    CHECK(vs_hasher_open(&h, "/nonexistent.vstf", idx, NULL) != VS_OK && h == NULL);

    /* normalisation (the default): s - bg(query) - bg(ref), the query's level from its
     * own scored list, the reference's computed in memory or read from the stored ones
     * (the same numbers); two-stage with K >= N gives the exhaustive result */
    {
        vs_search_params pn = vs_search_default_params(), pr;
        pn.top = 0;
        pn.note = note;
        pn.norm.n = 2; /* levels of 2: this index has 3 members besides each video */
        pr = pn;
        pr.normalize = 0;
        vs_search_result *rr = NULL, *rm = NULL, *rs = NULL, *rt = NULL;
        CHECK_EQ(vs_searcher_create(&s, idx, &pr), VS_OK);
        CHECK_EQ(vs_searcher_query(s, vsf, &rr), VS_OK);
        vs_searcher_free(s);
        CHECK_EQ(vs_searcher_create(&s, idx, &pn), VS_OK);
        CHECK_EQ(vs_searcher_query(s, vsf, &rm), VS_OK); /* levels computed in memory */
        vs_searcher_free(s);
        vs_norm_build_report br;
        CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &pn.norm, 2, 0, NULL, NULL, &br), VS_OK);
        CHECK(br.n_computed == 4 && br.n_frames == 4 && br.n_members == 4);
        CHECK_EQ(vs_searcher_create(&s, idx, &pn), VS_OK);
        CHECK_EQ(vs_searcher_query(s, vsf, &rs), VS_OK); /* stored levels */
        vs_searcher_free(s);
        pn.mode = VS_SEARCH_TWO_STAGE;
        pn.hash_model = "lsh64";
        pn.two_stage_k = 100;
        CHECK_EQ(vs_searcher_create(&s, idx, &pn), VS_OK);
        CHECK_EQ(vs_searcher_query(s, vsf, &rt), VS_OK);
        vs_searcher_free(s);
        int64_t ids[8];
        long n = 0;
        vs_index_entries *all = NULL;
        CHECK_EQ(vs_index_list(idx, NULL, &all), VS_OK);
        for (long i = 0; all && i < all->n; i++)
            if (all->v[i].ok) ids[n++] = all->v[i].id;
        vs_index_entries_free(all);
        vs_norm_table t;
        CHECK_EQ(vs_norm_load(idx, "visil_f", 1, &pn.norm, ids, n, &t), VS_OK);
        CHECK(t.stored == 1 && t.n_missing == 0);
        float raw[8], want[8];
        for (long k = 0; rr && k < rr->n; k++) raw[k] = rr->hits[k].score;
        const float q = rr ? vs_norm_stat(raw, rr->n, &pn.norm) : 0;
        expected_scores(idx, vsf, &pn, &t, want);
        /* without frame levels: the raw score less the two levels */
        vs_search_params p0 = pn;
        p0.mode = VS_SEARCH_EXHAUSTIVE;
        p0.frame_levels = 0;
        vs_search_result *r0 = NULL;
        CHECK_EQ(vs_searcher_create(&s, idx, &p0), VS_OK);
        CHECK_EQ(vs_searcher_query(s, vsf, &r0), VS_OK);
        vs_searcher_free(s);
        CHECK(rr && rm && rs && rt && r0 && rr->n == 4 && rm->n == 4 && rs->n == 4 && rt->n == 4 && r0->n == 4);
        for (long k = 0; rr && rm && rs && rt && r0 && k < rm->n; k++) {
            const vs_search_hit *hk = &rs->hits[k], *h0 = &r0->hits[k];
            long pos = -1, pos0 = -1;
            for (long i = 0; i < n; i++) {
                if (ids[i] == hk->video_id) pos = i;
                if (ids[i] == h0->video_id) pos0 = i;
            }
            CHECK(pos >= 0 && pos0 >= 0);
            if (pos0 >= 0) CHECK_NEAR(h0->score, score_of(rr, h0->name) - q - t.values[pos0], 1e-6);
            if (pos >= 0) CHECK_NEAR(hk->score, want[pos], 2e-5);
            CHECK(!strcmp(rm->hits[k].name, hk->name) && rm->hits[k].score == hk->score);
            CHECK(!strcmp(rt->hits[k].name, hk->name) && rt->hits[k].score == hk->score);
        }
        vs_search_result_free(r0);
        CHECK(rs && !strcmp(rs->hits[0].name, "a")); /* the copy's source first */
        /* stored frame levels of the wrong length for their video: the query fails, naming
         * the index (then the right ones back) */
        {
            char fid[256];
            vs_norm_frames_model(fid, sizeof fid, &t);
            vs_norm_frames fr;
            CHECK_EQ(vs_norm_load_frames(idx, &t, &fr), VS_OK);
            CHECK(fr.n_missing == 0 && fr.T[0] == T);
            int nonzero = 0; /* the check above saw real levels */
            for (long k = 0; k < fr.n; k++)
                for (int j = 0; fr.lev[k] && j < fr.T[k]; j++) nonzero += fr.lev[k][j] != 0.0f;
            CHECK_EQ(nonzero, 4 * T);
            const float five[5] = {0};
            vs_index_extra x = {VS_INDEX_F32, 5, 1, five};
            CHECK_EQ(vs_index_put_extras(idx, 1, &ids[0], "fbg", fid, &x), VS_OK);
            vs_search_result *rb = NULL;
            CHECK_EQ(vs_searcher_create(&s, idx, &pn), VS_OK);
            CHECK(vs_searcher_query(s, vsf, &rb) != VS_OK && rb == NULL);
            vs_searcher_free(s);
            x = (vs_index_extra){VS_INDEX_F32, T, 1, fr.lev[0]};
            CHECK_EQ(vs_index_put_extras(idx, 1, &ids[0], "fbg", fid, &x), VS_OK);
            vs_norm_frames_free(&fr);
            CHECK_EQ(vs_searcher_create(&s, idx, &pn), VS_OK);
            CHECK_EQ(vs_searcher_query(s, vsf, &rb), VS_OK);
            vs_searcher_free(s);
            for (long k = 0; rb && rs && k < rb->n; k++) CHECK(rb->hits[k].score == rs->hits[k].score);
            vs_search_result_free(rb);
        }
        vs_norm_table_free(&t);
        /* the default params' levels too, for the dedup checks below */
        const vs_norm_params dn = vs_norm_default_params();
        CHECK_EQ(vs_norm_build(idx, "visil_f", 1, &dn, 2, 0, NULL, NULL, &br), VS_OK);
        vs_search_result_free(rr);
        vs_search_result_free(rm);
        vs_search_result_free(rs);
        vs_search_result_free(rt);
    }

    /* dedup: the copy pair first */
    vs_dedup_result *dd = NULL;
    p = vs_search_default_params();
    p.threshold = -1;
    CHECK_EQ(vs_dedup(idx, &p, &dd), VS_OK);
    CHECK(dd && dd->n == 6 && !strcmp(dd->pairs[0].a, "a") && !strcmp(dd->pairs[0].b, "a2"));
    CHECK(dd && dd->skipped.n == 0);
    /* a and a2 have the same features (the same frames), their files are not there to compare */
    for (long k = 0; dd && k < dd->n; k++)
        CHECK_EQ(dd->pairs[k].exact, k == 0 ? VS_DEDUP_SAME_FRAMES : 0);
    /* normalised by default: the raw pair score minus both videos' stored levels */
    {
        vs_dedup_result *dr = NULL;
        vs_search_params praw = p;
        praw.normalize = 0;
        CHECK_EQ(vs_dedup(idx, &praw, &dr), VS_OK);
        int64_t ids[8];
        long n = 0;
        vs_index_entries *all = NULL;
        CHECK_EQ(vs_index_list(idx, NULL, &all), VS_OK);
        for (long i = 0; all && i < all->n; i++)
            if (all->v[i].ok) ids[n++] = all->v[i].id;
        vs_norm_table t;
        CHECK_EQ(vs_norm_load(idx, "visil_f", 1, &p.norm, ids, n, &t), VS_OK);
        CHECK(t.stored == 1 && t.n_missing == 0);
        for (long k = 0; dd && dr && k < dd->n; k++) {
            float raw = 0, la = 0, lb = 0;
            for (long m = 0; m < dr->n; m++)
                if (!strcmp(dr->pairs[m].a, dd->pairs[k].a) && !strcmp(dr->pairs[m].b, dd->pairs[k].b)) raw = dr->pairs[m].score;
            for (long i = 0; all && i < all->n; i++)
                for (long q = 0; q < n; q++)
                    if (ids[q] == all->v[i].id) {
                        if (!strcmp(all->v[i].name, dd->pairs[k].a)) la = t.values[q];
                        if (!strcmp(all->v[i].name, dd->pairs[k].b)) lb = t.values[q];
                    }
            CHECK_NEAR(dd->pairs[k].score, raw - la - lb, 1e-6);
        }
        vs_norm_table_free(&t);
        vs_index_entries_free(all);
        vs_dedup_result_free(dr);
    }
    vs_dedup_result_free(dd);

    /* a damaged feature file: skipped and listed, not fatal */
    vs_index_entries *es = NULL;
    CHECK_EQ(vs_index_list(idx, "c", &es), VS_OK);
    if (es && es->n == 1) {
        char fp[600];
        snprintf(fp, sizeof fp, "%s/%s", idir, es->v[0].feature_file);
        FILE *f = fopen(fp, "r+b");
        CHECK(f != NULL);
        if (f) {
            CHECK(ftruncate(fileno(f), 40) == 0);
            fclose(f);
        }
    }
    vs_index_entries_free(es);
    p = vs_search_default_params();
    p.top = 0;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    CHECK_EQ(vs_searcher_query(s, "b", &r2), VS_OK);
    CHECK(r2 && r2->n == 2 && score_of(r2, "c") == -2 && r2->n_skipped == 1);
    const vs_search_skips *sk = vs_searcher_skipped(s);
    CHECK(sk->n == 1 && !strcmp(sk->v[0].name, "c") && sk->v[0].why[0]);
    vs_search_result_free(r2);
    vs_searcher_free(s);
    CHECK_EQ(vs_dedup(idx, &p, &dd), VS_OK);
    CHECK(dd && dd->skipped.n == 1);
    vs_dedup_result_free(dd);

    vs_search_result_free(r);
    vs_index_close(idx);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
    return vs_test_done();
}
