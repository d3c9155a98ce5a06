/*
 * test_bindings.c - the entry points for language bindings (src/bindings): search
 * params set by name (every key, bad keys and values refused by name, named
 * thresholds), a search result, the catalogue and a pair's comparison as JSON, parsed
 * back with the library's JSON reader and checked against the plain C API's numbers
 * (the same hits and scores; compare = vs_simmodel_similarity both ways).
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "core/json.h"
#include "vidsim/bindings.h"
#include "vidsim/simmodel.h"

#include <stdlib.h>
#include <string.h>

enum { T = 6, D = 8 };

static vs_features *synth(int seed, uint64_t hash) { return vs_test_synth(T, D, seed, hash); }

static void synth_free(vs_features *f) { vs_test_synth_free(f); }

static vs__json *parse(char *text) {
    vs__json *j = NULL;
    CHECK(text != NULL);
    if (text) CHECK_EQ(vs__json_parse(&j, text, strlen(text), "json"), VS_OK);
    vs_free(text);
    return j;
}

static void test_params(void) {
    vs_search_params *p = vs_search_params_new();
    CHECK(p != NULL);
    CHECK(p && p->top == 10 && p->normalize == 1 && p->symmetric == 1);
    CHECK_EQ(vs_search_params_set(p, "top", "0"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "threshold", "p99"), VS_OK);
    CHECK_NEAR(p->threshold, 0.030, 1e-12);
    CHECK_EQ(vs_search_params_set(p, "threshold", "-0.25"), VS_OK);
    CHECK_NEAR(p->threshold, -0.25, 1e-12);
    CHECK_EQ(vs_search_params_set(p, "mode", "two_stage"), VS_OK);
    CHECK_EQ(p->mode, VS_SEARCH_TWO_STAGE);
    CHECK_EQ(vs_search_params_set(p, "mode", "exhaustive"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "segments", "1"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "normalize", "0"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "symmetric", "0"), VS_OK);
    CHECK(p->segments == 1 && p->normalize == 0 && p->symmetric == 0);
    CHECK_EQ(vs_search_params_set(p, "two_stage_k", "7"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "threads", "2"), VS_OK);
    CHECK(p->two_stage_k == 7 && p->n_threads == 2);
    char model[32] = "visil_f";
    CHECK_EQ(vs_search_params_set(p, "model", model), VS_OK);
    model[0] = 'X'; /* the params keep their own copy */
    CHECK(!strcmp(p->model, "visil_f"));
    CHECK_EQ(vs_search_params_set(p, "hash_model", "lsh64"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "pca", "x.vstf"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "models_dir", "/m"), VS_OK);
    CHECK(!strcmp(p->hash_model, "lsh64") && !strcmp(p->pca, "x.vstf") && !strcmp(p->models.dir, "/m"));
    CHECK_EQ(vs_search_params_set(p, "calib", "c.vstf"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "calib", "calib2.vstf"), VS_OK); /* replaces, no leak */
    CHECK(p->calib && !strcmp(p->calib, "calib2.vstf"));
    CHECK_EQ(vs_search_params_set(p, "top", "-1"), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "top") != NULL);
    CHECK_EQ(vs_search_params_set(p, "top", "3x"), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_search_params_set(p, "threshold", "nan"), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_search_params_set(p, "segments", "2"), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_search_params_set(p, "mode", "fast"), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_search_params_set(p, "colour", "1"), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "colour") != NULL);
    /* the options of `vidsim search` beyond those: the views, the similarity precision,
     * the first stage, stored vectors (0/1 or off/on for the flags) */
    CHECK(p->mirror_view == 1 && p->inset_view == 1 && !p->first_stage && p->store_clip == 0);
    CHECK_EQ(vs_search_params_set(p, "mirror_view", "off"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "inset_view", "0"), VS_OK);
    CHECK(p->mirror_view == 0 && p->inset_view == 0);
    CHECK_EQ(vs_search_params_set(p, "inset_view", "on"), VS_OK);
    CHECK_EQ(p->inset_view, 1);
    CHECK(p->gvec_whiten == NULL);
    CHECK_EQ(vs_search_params_set(p, "gvec_whiten", "off"), VS_OK);
    CHECK(p->gvec_whiten && !strcmp(p->gvec_whiten, "off"));
    CHECK_EQ(vs_search_params_set(p, "gvec_whiten", ""), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "gvec_whiten") != NULL && !strcmp(p->gvec_whiten, "off"));
    CHECK(p->temporal == VS_TEMPORAL_DEFAULT);
    CHECK_EQ(vs_search_params_set(p, "temporal", "0.25"), VS_OK);
    CHECK(p->temporal == 0.25f);
    CHECK_EQ(vs_search_params_set(p, "temporal", "1.5"), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "temporal") != NULL);
    CHECK(p->frame_levels == VS_FRAME_LEVELS_DEFAULT);
    CHECK_EQ(vs_search_params_set(p, "frame_levels", "0.25"), VS_OK);
    CHECK(p->frame_levels == 0.25f);
    CHECK_EQ(vs_search_params_set(p, "frame_levels", "-1"), VS_ERR_INVALID_ARG);
    CHECK(strstr(vs_last_error(), "frame_levels") != NULL);
    CHECK(p->temporal == 0.25f);
    CHECK_EQ(vs_search_params_set(p, "temporal", "0.5"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "sim_precision", "fp32"), VS_OK);
    CHECK_EQ(p->sim_precision, VS_PRECISION_FP32);
    CHECK_EQ(vs_search_params_set(p, "sim_precision", "bf16"), VS_OK);
    CHECK_EQ(p->sim_precision, VS_PRECISION_BF16);
    CHECK_EQ(vs_search_params_set(p, "first_stage", "gvec"), VS_OK);
    CHECK_EQ(vs_search_params_set(p, "first_stage", "gvec:faiss:HNSW32|efSearch=64"), VS_OK); /* replaces, no leak */
    CHECK(p->first_stage && !strcmp(p->first_stage, "gvec:faiss:HNSW32|efSearch=64"));
    CHECK_EQ(vs_search_params_set(p, "gvec_segments", "2"), VS_OK);
    CHECK_EQ(p->gvec_segments, 2);
    CHECK_EQ(vs_search_params_set(p, "store_gvec", "1"), VS_OK);
    CHECK_EQ(p->store_clip, 1);
    CHECK_EQ(vs_search_params_set(p, "store_clip", "off"), VS_OK);
    CHECK_EQ(p->store_clip, 0);
    static const char *const refused[][2] = {
        {"mirror_view", "maybe"}, {"inset_view", "2"}, {"sim_precision", "int8"}, {"sim_precision", ""},
        {"first_stage", "ivf"}, {"first_stage", "gvec:"}, {"gvec_segments", "65"}, {"gvec_segments", "-1"},
        {"store_gvec", "yes"}};
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        CHECK_EQ(vs_search_params_set(p, refused[k][0], refused[k][1]), VS_ERR_INVALID_ARG);
        CHECK(strstr(vs_last_error(), refused[k][0]) != NULL);
    }
    CHECK(!strcmp(p->first_stage, "gvec:faiss:HNSW32|efSearch=64") && p->gvec_segments == 2); /* unchanged */
    vs_search_params_free(p);
    vs_search_params_free(NULL);
}

int main(void) {
    test_params();
    char dir[] = "/tmp/vs_test_bindings_XXXXXX";
    if (!mkdtemp(dir)) SKIP("mkdtemp failed");
    char idir[256], va[300], vb[300];
    snprintf(idir, sizeof idir, "%s/index", dir);
    snprintf(va, sizeof va, "%s/a.vsf", dir);
    snprintf(vb, sizeof vb, "%s/b.vsf", dir);
    vs_index *idx = NULL;
    CHECK_EQ(vs_index_open(&idx, idir, VS_INDEX_CREATE), VS_OK);
    const char *paths[] = {"/videos/a.mp4", "/videos/b.mp4", "/videos/c.mp4", "/videos/d.mp4"};
    for (int i = 0; i < 4; i++) {
        vs_features *f = synth(i, 10 + i);
        vs_index_add_result r;
        CHECK_EQ(vs_index_add_features(idx, paths[i], f, 0, &r), VS_OK);
        if (i < 2) CHECK_EQ(vs_features_save(f, i ? vb : va), VS_OK);
        synth_free(f);
    }

    /* the catalogue */
    char *js = NULL;
    CHECK_EQ(vs_index_json(idx, &js), VS_OK);
    vs__json *j = parse(js);
    const vs__json *vids = j ? vs__json_get(j, "videos") : NULL;
    CHECK(j && vs__json_get(j, "n_ok")->num == 4 && vids && vids->n == 4);
    CHECK(vids && !strcmp(vs__json_get(vids->items[2], "name")->str, "c"));
    CHECK(j && !strcmp(vs__json_get(j, "model_id")->str, "synthetic/8"));
    vs__json_free(j);

    /* a search result: the same hits and scores as the C structs */
    vs_search_params *p = vs_search_params_new();
    CHECK_EQ(vs_search_params_set(p, "top", "0"), VS_OK);
    vs_searcher *s = NULL;
    vs_search_result *r = NULL;
    CHECK_EQ(vs_searcher_create(&s, idx, p), VS_OK);
    CHECK_EQ(vs_searcher_query(s, va, &r), VS_OK);
    CHECK(r && r->n == 4);
    CHECK_EQ(vs_search_result_json(r, &js), VS_OK);
    j = parse(js);
    const vs__json *hits = j ? vs__json_get(j, "hits") : NULL;
    CHECK(hits && r && hits->n == (size_t)r->n);
    CHECK(j && !strcmp(vs__json_get(j, "query_id")->str, "a"));
    for (size_t k = 0; hits && r && k < hits->n; k++) {
        const vs__json *h = hits->items[k];
        CHECK(!strcmp(vs__json_get(h, "ref_id")->str, r->hits[k].name));
        CHECK_NEAR(vs__json_get(h, "score")->num, r->hits[k].score, 1e-7);
        CHECK_NEAR(vs__json_get(h, "raw")->num - vs__json_get(h, "query_level")->num -
                       vs__json_get(h, "ref_level")->num, r->hits[k].score, 1e-6);
        CHECK(vs__json_get(h, "segments") == NULL); /* not asked for */
    }
    CHECK(r && !strcmp(r->hits[0].name, "a")); /* the query's own features */
    vs__json_free(j);
    vs_search_result_free(r);
    vs_searcher_free(s);

    /* compare: the pair's two directions, as vs_simmodel_similarity gives them at the
     * search's precision (vs_simmodel_default_precision) and temporal weight */
    CHECK_EQ(vs_compare_json(va, vb, NULL, NULL, &js), VS_OK);
    j = parse(js);
    {
        vs_features *fa = NULL, *fb = NULL;
        CHECK_EQ(vs_features_load(&fa, va), VS_OK);
        CHECK_EQ(vs_features_load(&fb, vb), VS_OK);
        vs_simmodel *m = NULL;
        vs_simmodel_state *st = NULL;
        CHECK_EQ(vs_simmodel_builtin(&m, "visil_f"), VS_OK);
        vs_simmodel_params smp = vs_simmodel_default_params();
        smp.precision = vs_simmodel_default_precision();
        smp.temporal = VS_TEMPORAL_DEFAULT;
        CHECK_EQ(vs_simmodel_state_create(&st, m, &smp), VS_OK);
        vs_simvideo tb = {fb->data, fb->T, NULL}, ta = {fa->data, fa->T, NULL};
        float ab = 0, ba = 0;
        CHECK_EQ(vs_simmodel_similarity(st, &ab, fa->data, fa->T, &tb, 1, VS_REGIONS, D), VS_OK);
        CHECK_EQ(vs_simmodel_similarity(st, &ba, fb->data, fb->T, &ta, 1, VS_REGIONS, D), VS_OK);
        CHECK(j != NULL);
        if (j) {
            CHECK_NEAR(vs__json_get(j, "a_to_b")->num, ab, 1e-6);
            CHECK_NEAR(vs__json_get(j, "b_to_a")->num, ba, 1e-6);
            CHECK_NEAR(vs__json_get(j, "score")->num, 0.5 * (ab + ba), 1e-6);
            CHECK(vs__json_get(j, "segments") && vs__json_get(j, "segments")->type == VS__JSON_ARR);
        }
        vs_simmodel_state_free(st);
        vs_simmodel_free(m);
        vs_features_free(fa);
        vs_features_free(fb);
    }
    vs__json_free(j);
    CHECK(vs_compare_json(va, "/nonexistent.vsf", NULL, NULL, &js) != VS_OK && js == NULL);
    CHECK(strstr(vs_last_error(), "nonexistent") != NULL);
    vs_search_params_free(p);
    vs_index_close(idx);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: %s failed\n", cmd);
    return vs_test_done();
}
