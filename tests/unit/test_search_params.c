/*
 * test_search_params.c - vs_search_params_check (search.h, src/search/params.c), the one
 * home of the rules about which search parameters go together: the defaults and the
 * valid combinations of every mode pass; each rule refuses with VS_ERR_INVALID_ARG and a
 * message that starts with the offending field's name; vs_searcher_create, vs_dedup and
 * vs_pair_compare refuse a bad combination with the same message before they touch the
 * index (a small synthetic one), and still work with good params.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/search.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* p is refused, the message starting with field and containing what (NULL: anything). */
static void refused(const vs_search_params *p, const char *field, const char *what, const char *why) {
    vs_status st = vs_search_params_check(p);
    const char *e = vs_last_error();
    CHECK_MSG(st == VS_ERR_INVALID_ARG, "%s: status %d", why, (int)st);
    CHECK_MSG(!strncmp(e, field, strlen(field)) && e[strlen(field)] == ' ', "%s: '%s' does not start with %s", why, e,
              field);
    if (what) CHECK_MSG(strstr(e, what) != NULL, "%s: '%s' does not say '%s'", why, e, what);
}

/* vs_last_error() starts with lit */
static int error_starts(const char *lit) { return !strncmp(vs_last_error(), lit, strlen(lit)); }

static void accepted(const vs_search_params *p, const char *why) {
    vs_status st = vs_search_params_check(p);
    CHECK_MSG(st == VS_OK, "%s: %s", why, vs_last_error());
}

static void test_valid(void) {
    vs_search_params p = vs_search_default_params();
    accepted(&p, "the defaults");
    CHECK_EQ(p.gvec_segments, 0); /* 0: VS_GVEC_SEGMENTS, with a gvec first stage */
    p.segments = 1;
    accepted(&p, "exhaustive with segments");
    p.mode = VS_SEARCH_TWO_STAGE;
    accepted(&p, "two_stage, segments, no first_stage");
    p.first_stage = "hash";
    accepted(&p, "two_stage, first_stage hash");
    p.first_stage = "gvec";
    p.gvec_segments = VS_GVEC_MAX_SEGMENTS;
    p.store_clip = 1;
    p.two_stage_k = 1;
    accepted(&p, "two_stage, gvec, gvec_segments max, store_clip, two_stage_k 1");
    p.first_stage = "gvec:faiss:HNSW32|efSearch=64";
    p.gvec_segments = 1;
    accepted(&p, "gvec:SPEC, gvec_segments 1");
    p = vs_search_default_params();
    p.mode = VS_SEARCH_HASH_ONLY;
    p.first_stage = "gvec:flat";
    p.top = 0;
    accepted(&p, "hash_only with a gvec first stage, top 0");
    p = vs_search_default_params();
    p.mode = VS_SEARCH_CLIP;
    p.store_clip = 1;
    const char *clips[] = {"clip", "clip:mean", "clip:bundled", "clip:/x/m.vstf"};
    for (int i = 0; i < 4; i++) {
        p.model = clips[i];
        accepted(&p, clips[i]);
    }
    p = vs_search_default_params();
    p.two_stage_k = 0; /* read in mode two_stage only */
    p.sim_precision = VS_PRECISION_FP32;
    p.threshold = -INFINITY;
    p.shard = 2;
    p.n_shards = 3;
    accepted(&p, "exhaustive, two_stage_k 0, fp32, threshold -inf, shard 2 of 3");
    p.sim_precision = VS_PRECISION_BF16;
    p.n_shards = 1;
    p.shard = 5; /* no split: not read */
    accepted(&p, "bf16, n_shards 1");
    CHECK_EQ(vs_search_params_check(NULL), VS_ERR_INVALID_ARG);
}

static void test_rules(void) {
    vs_search_params d = vs_search_default_params(), p;
    p = d;
    p.mode = (vs_search_mode)7;
    refused(&p, "mode", "got 7", "mode 7");
    p = d;
    p.top = -1;
    refused(&p, "top", "-1", "top -1");
    p = d;
    p.threshold = NAN;
    refused(&p, "threshold", "NaN", "threshold NaN");
    p = d;
    p.sim_precision = VS_PRECISION_INT8;
    refused(&p, "sim_precision", "fp32 or bf16", "sim_precision int8");
    p = d;
    p.frame_levels = 1.5f;
    refused(&p, "frame_levels", "[0, 1]", "frame_levels 1.5");
    p.frame_levels = NAN;
    refused(&p, "frame_levels", "[0, 1]", "frame_levels NaN");
    p = d;
    p.mode = VS_SEARCH_TWO_STAGE;
    p.two_stage_k = 0;
    refused(&p, "two_stage_k", ">= 1", "two_stage_k 0");
    p = d;
    p.mode = VS_SEARCH_TWO_STAGE;
    p.first_stage = "gvec";
    p.gvec_segments = VS_GVEC_MAX_SEGMENTS + 1;
    refused(&p, "gvec_segments", "must be 1 to 64", "gvec_segments 65");
    p.gvec_segments = -1;
    refused(&p, "gvec_segments", "got -1", "gvec_segments -1");
    const char *bad_fs[] = {"ivf", "gvec:", "Hash", "gvecx", ""};
    for (int i = 0; i < 5; i++) {
        p = d;
        p.mode = VS_SEARCH_TWO_STAGE;
        p.first_stage = bad_fs[i];
        refused(&p, "first_stage", "must be hash, gvec or gvec:SPEC", bad_fs[i]);
    }
    p = d; /* first_stage needs mode two_stage or hash_only */
    p.first_stage = "gvec";
    refused(&p, "first_stage", "not of mode exhaustive", "first_stage in mode exhaustive");
    p.mode = VS_SEARCH_CLIP;
    p.model = "clip";
    refused(&p, "first_stage", "not of mode clip", "first_stage in mode clip");
    p = d; /* gvec_segments needs a gvec first stage */
    p.gvec_segments = 2;
    refused(&p, "gvec_segments", "first_stage gvec", "gvec_segments without a first stage");
    p.mode = VS_SEARCH_TWO_STAGE;
    p.first_stage = "hash";
    p.gvec_segments = VS_GVEC_SEGMENTS; /* the default's value, given */
    refused(&p, "gvec_segments", "first_stage hash", "gvec_segments with first_stage hash");
    p = d; /* gvec_whiten needs a gvec first stage, and is not empty */
    p.gvec_whiten = "off";
    refused(&p, "gvec_whiten", "first_stage not set", "gvec_whiten without a first stage");
    p.mode = VS_SEARCH_TWO_STAGE;
    p.first_stage = "hash";
    refused(&p, "gvec_whiten", "first_stage hash", "gvec_whiten with first_stage hash");
    p.first_stage = "gvec";
    accepted(&p, "gvec_whiten off with first_stage gvec");
    p.gvec_whiten = "";
    refused(&p, "gvec_whiten", "gvec_whiten ''", "gvec_whiten empty");
    p = d; /* store_clip needs clip vectors or global vectors */
    p.store_clip = 1;
    refused(&p, "store_clip", "mode exhaustive", "store_clip in mode exhaustive");
    p.mode = VS_SEARCH_HASH_ONLY;
    p.first_stage = "hash";
    refused(&p, "store_clip", "first_stage hash", "store_clip with hash codes");
    p = d; /* segments needs the similarity model */
    p.segments = 1;
    p.mode = VS_SEARCH_HASH_ONLY;
    refused(&p, "segments", "not mode hash_only", "segments in mode hash_only");
    p.mode = VS_SEARCH_CLIP;
    p.model = "clip";
    refused(&p, "segments", "not mode clip", "segments in mode clip");
    const char *bad_clip[] = {"visil_f", "clip:", "clipx", "/x/clip.vstf"};
    for (int i = 0; i < 4; i++) {
        p = d;
        p.mode = VS_SEARCH_CLIP;
        p.model = bad_clip[i];
        refused(&p, "model", bad_clip[i], bad_clip[i]);
    }
    p = d;
    p.mode = VS_SEARCH_CLIP;
    p.model = NULL; /* visil_f */
    refused(&p, "model", "'visil_f'", "mode clip without a model");
    p = d;
    p.n_shards = -1;
    refused(&p, "n_shards", "-1", "n_shards -1");
    p.n_shards = 3;
    p.shard = 3;
    refused(&p, "shard", "0 to 2", "shard 3 of 3");
    p.shard = -1;
    refused(&p, "shard", "got -1", "shard -1 of 3");
}

/* The engine's entry points refuse with the check's message, before reading the index. */
static void test_entry_points(void) {
    char dir[] = "/tmp/vs_test_search_params_XXXXXX";
    if (!mkdtemp(dir)) SKIP("mkdtemp failed");
    char idir[256], cmd[320];
    snprintf(idir, sizeof idir, "%s/index", dir);
    vs_index *idx = NULL;
    CHECK_EQ(vs_index_open(&idx, idir, VS_INDEX_CREATE), VS_OK);
    const char *paths[] = {"/videos/a.mp4", "/videos/b.mp4", "/videos/a2.mp4"};
    const int seeds[] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        struct vs_features *f = vs_test_synth(6, 8, seeds[i], 10 + (uint64_t)i);
        vs_index_add_result r;
        CHECK_EQ(vs_index_add_features(idx, paths[i], f, 0, &r), VS_OK);
        vs_test_synth_free(f);
    }
    vs_search_params p = vs_search_default_params();
    p.mode = VS_SEARCH_HASH_ONLY;
    p.hash_model = "lsh64";
    p.segments = 1;
    vs_searcher *s = (vs_searcher *)&p;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_ERR_INVALID_ARG);
    CHECK(s == NULL);
    CHECK_MSG(!strcmp(vs_last_error(), "segments needs the similarity model's re-ranking, not mode hash_only"), "%s",
              vs_last_error());
    p.segments = 0;
    p.gvec_segments = 2;
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_ERR_INVALID_ARG);
    CHECK_MSG(error_starts("gvec_segments sets the vectors of first_stage gvec"), "%s", vs_last_error());
    p.gvec_segments = 0; /* now good: it searches */
    CHECK_EQ(vs_searcher_create(&s, idx, &p), VS_OK);
    vs_search_result *r = NULL;
    CHECK_EQ(vs_searcher_query(s, "a", &r), VS_OK);
    CHECK(r && r->n == 2);
    vs_search_result_free(r);
    vs_searcher_free(s);

    vs_search_params q = vs_search_default_params();
    q.normalize = 0;
    q.first_stage = "gvec"; /* in mode exhaustive */
    vs_dedup_result *dr = (vs_dedup_result *)&q;
    CHECK_EQ(vs_dedup(idx, &q, &dr), VS_ERR_INVALID_ARG);
    CHECK(dr == NULL);
    CHECK_MSG(error_starts("first_stage gvec is a stage of mode two_stage"), "%s", vs_last_error());
    vs_pair_result *pr = (vs_pair_result *)&q;
    q.first_stage = NULL;
    q.top = -2;
    CHECK_EQ(vs_pair_compare(idx, "a", "a2", &q, &pr), VS_ERR_INVALID_ARG);
    CHECK(pr == NULL && error_starts("top must be >= 0"));
    q.top = 10;
    CHECK_EQ(vs_dedup(idx, &q, &dr), VS_OK);
    CHECK(dr && dr->n >= 1 && !strcmp(dr->pairs[0].a, "a") && !strcmp(dr->pairs[0].b, "a2"));
    vs_dedup_result_free(dr);
    CHECK_EQ(vs_pair_compare(idx, "a", "a2", &q, &pr), VS_OK);
    CHECK(pr && pr->score > 0.5f);
    vs_pair_result_free(pr);
    vs_index_close(idx);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
}

/* When the named thresholds hold: the default search and its two-stage form; not with
 * another direction, model, mode, temporal weight, frame-level weight or without
 * normalisation */
static void test_operating_points(void) {
    vs_search_params p = vs_search_default_params();
    CHECK(vs_search_params_operating_points_hold(&p));
    p.mode = VS_SEARCH_TWO_STAGE;
    CHECK(vs_search_params_operating_points_hold(&p));
    p.model = NULL; /* the default model */
    CHECK(vs_search_params_operating_points_hold(&p));
    p = vs_search_default_params();
    p.normalize = 0;
    CHECK(!vs_search_params_operating_points_hold(&p));
    p = vs_search_default_params();
    p.symmetric = 0;
    CHECK(!vs_search_params_operating_points_hold(&p));
    p = vs_search_default_params();
    p.model = "s2vs.vstf";
    CHECK(!vs_search_params_operating_points_hold(&p));
    p = vs_search_default_params();
    p.mode = VS_SEARCH_HASH_ONLY;
    CHECK(!vs_search_params_operating_points_hold(&p));
    p.mode = VS_SEARCH_CLIP;
    CHECK(!vs_search_params_operating_points_hold(&p));
    p = vs_search_default_params();
    p.temporal = 0.0f;
    CHECK(!vs_search_params_operating_points_hold(&p));
    p = vs_search_default_params();
    p.frame_levels = 0.0f;
    CHECK(!vs_search_params_operating_points_hold(&p));
    CHECK(!vs_search_params_operating_points_hold(NULL));
}

int main(void) {
    test_operating_points();
    test_valid();
    test_rules();
    test_entry_points();
    return vs_test_done();
}
