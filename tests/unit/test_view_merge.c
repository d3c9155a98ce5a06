/*
 * test_view_merge.c - how a query's extra views join its result (vs__view_done,
 * src/search/searcher.c): an extra view (mirror, inset) joins only when its best match
 * beats the views before it (otherwise it is the same video seen again, or a donor
 * pasted over it, and only gives every reference one more chance at a false match:
 * docs/hard_copies.md "Extra views join when they find a better match"); when it joins,
 * each reference keeps its best view; a failed inset view is dropped, a failed mirror
 * view fails the query; --top trims the merged list.
 */
#include "test.h"
#include "core/internal.h"
#include "search/search_internal.h"
#include "vidsim/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A result with hits (video id i + 1, score s[i]) for the n scores, best first. */
static vs_search_result *result(const float *s, int n) {
    vs_search_result *r = vs__calloc(1, sizeof *r);
    r->hits = vs__calloc((size_t)n + 1, sizeof *r->hits);
    r->query_id = vs__strdup("q");
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i + 1);
        r->hits[i].video_id = i + 1;
        r->hits[i].name = vs__strdup(name);
        r->hits[i].score = s[i];
    }
    r->n = n;
    qsort(r->hits, (size_t)n, sizeof *r->hits, vs__cmp_search_hit);
    return r;
}

static float score_of(const vs_search_result *r, int64_t id) {
    for (long i = 0; i < r->n; i++)
        if (r->hits[i].video_id == id) return r->hits[i].score;
    return -99;
}

int main(void) {
    const float base[4] = {0.30f, 0.05f, -0.10f, -0.20f};
    /* an inset view whose best (0.25) does not beat the first views' best (0.30): dropped */
    const float weak[4] = {0.25f, 0.12f, 0.20f, -0.30f};
    vs_search_result *a = result(base, 4);
    CHECK_EQ(vs__view_done(a, result(weak, 4), VS_OK, 2, 0), VS_OK);
    for (int i = 0; i < 4; i++) CHECK(score_of(a, i + 1) == base[i]);
    /* the same as a mirror view (view 1): dropped too */
    CHECK_EQ(vs__view_done(a, result(weak, 4), VS_OK, 1, 0), VS_OK);
    for (int i = 0; i < 4; i++) CHECK(score_of(a, i + 1) == base[i]);
    /* a mirror view with a better best (0.35): merged, each reference its best view */
    const float flip[4] = {0.20f, 0.12f, 0.35f, -0.30f};
    CHECK_EQ(vs__view_done(a, result(flip, 4), VS_OK, 1, 0), VS_OK);
    CHECK(score_of(a, 1) == 0.30f && score_of(a, 2) == 0.12f && score_of(a, 3) == 0.35f && score_of(a, 4) == -0.20f);
    CHECK(a->n == 4 && a->hits[0].video_id == 3 && a->hits[1].video_id == 1); /* best first */
    vs_search_result_free(a);
    /* an inset view that finds a better match (0.45 > 0.30): merged */
    const float strong[4] = {0.10f, 0.00f, 0.45f, -0.25f};
    a = result(base, 4);
    CHECK_EQ(vs__view_done(a, result(strong, 4), VS_OK, 2, 0), VS_OK);
    CHECK(score_of(a, 1) == 0.30f && score_of(a, 2) == 0.05f && score_of(a, 3) == 0.45f && score_of(a, 4) == -0.20f);
    CHECK(a->hits[0].video_id == 3);
    vs_search_result_free(a);
    /* equal bests: not better, dropped */
    const float tie[2] = {0.30f, 0.29f};
    a = result(base, 4);
    CHECK_EQ(vs__view_done(a, result(tie, 2), VS_OK, 2, 0), VS_OK);
    CHECK(score_of(a, 2) == 0.05f);
    vs_search_result_free(a);
    /* first views with no hits (all below a threshold): any inset hit is better */
    a = result(base, 0);
    CHECK_EQ(vs__view_done(a, result(tie, 2), VS_OK, 2, 0), VS_OK);
    CHECK(a->n == 2 && score_of(a, 1) == 0.30f);
    vs_search_result_free(a);
    /* --top 2 trims the merged list */
    a = result(base, 4);
    CHECK_EQ(vs__view_done(a, result(strong, 4), VS_OK, 2, 2), VS_OK);
    CHECK(a->n == 2 && a->hits[0].video_id == 3 && a->hits[1].video_id == 1);
    vs_search_result_free(a);
    /* a failed inset view is dropped (VS_OK); a failed mirror view is the query's failure */
    a = result(base, 4);
    CHECK_EQ(vs__view_done(a, NULL, VS_ERR_FORMAT, 2, 0), VS_OK);
    CHECK(a->n == 4 && score_of(a, 1) == 0.30f);
    CHECK_EQ(vs__view_done(a, NULL, VS_ERR_FORMAT, 1, 0), VS_ERR_FORMAT);
    vs_search_result_free(a);
    return vs_test_done();
}
