/*
 * test_review.c - the review helpers of the search library (src/search/review.c) and
 * the thumbnail encoder (src/decode/thumbnail.c): duplicate groups as connected
 * components (chains, separate groups, best-first order, sorted members, pair
 * counts, an empty result), and a PNG thumbnail of a synthetic clip at a time (PNG
 * signature, size in the header, errors for bad arguments and a non-video file).
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/decode.h"
#include "vidsim/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_groups(void) {
    /* a-b, b-c chain; d-e apart; f-g lower */
    vs_dedup_pair pairs[] = {{"d", "e", 0.95f, 0}, {"b", "c", 0.9f, 0}, {"a", "b", 0.8f, 0}, {"f", "g", 0.6f, 0}, {"c", "a", 0.55f, 0}};
    vs_dedup_result r = {5, pairs, {0, NULL}, NULL};
    vs_dedup_groups *g = NULL;
    CHECK_EQ(vs_dedup_groups_make(&r, &g), VS_OK);
    CHECK_EQ(g->n, 3);
    CHECK_EQ(g->v[0].n_members, 2);
    CHECK(!strcmp(g->v[0].members[0], "d") && !strcmp(g->v[0].members[1], "e"));
    CHECK_NEAR(g->v[0].best_score, 0.95, 1e-6);
    CHECK_EQ(g->v[1].n_members, 3);
    CHECK(!strcmp(g->v[1].members[0], "a") && !strcmp(g->v[1].members[1], "b") && !strcmp(g->v[1].members[2], "c"));
    CHECK_EQ(g->v[1].n_pairs, 3);
    CHECK_NEAR(g->v[1].best_score, 0.9, 1e-6);
    CHECK_EQ(g->v[2].n_members, 2);
    CHECK_EQ(g->v[2].n_pairs, 1);
    vs_dedup_groups_free(g);
    vs_dedup_result empty = {0, NULL, {0, NULL}, NULL};
    CHECK_EQ(vs_dedup_groups_make(&empty, &g), VS_OK);
    CHECK_EQ(g->n, 0);
    vs_dedup_groups_free(g);
    CHECK_EQ(vs_dedup_groups_make(NULL, &g), VS_ERR_INVALID_ARG);
    /* two chains joined by a late pair become one */
    vs_dedup_pair p2[] = {{"a", "b", 0.9f, 0}, {"c", "d", 0.8f, 0}, {"b", "c", 0.7f, 0}};
    vs_dedup_result r2 = {3, p2, {0, NULL}, NULL};
    CHECK_EQ(vs_dedup_groups_make(&r2, &g), VS_OK);
    CHECK_EQ(g->n, 1);
    CHECK_EQ(g->v[0].n_members, 4);
    CHECK_EQ(g->v[0].n_pairs, 3);
    vs_dedup_groups_free(g);
}

static unsigned be32(const uint8_t *p) { return (unsigned)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static void test_thumbnail(void) {
    char clip[1100], cmd[2600], junk[1100];
    snprintf(clip, sizeof clip, "%s/test_review_clip.mp4", vs_test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=25:duration=3 "
             "-pix_fmt yuv420p '%s'",
             clip);
    if (system(cmd) != 0) {
        fprintf(stderr, "no ffmpeg: thumbnail checks skipped\n");
        return;
    }
    uint8_t *png = NULL;
    size_t n = 0;
    CHECK_EQ(vs_thumbnail_png(clip, 1.5, 96, &png, &n), VS_OK);
    CHECK(png && n > 33 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8));
    if (png && n > 24) {
        CHECK_EQ(be32(png + 16), 96);
        CHECK_EQ(be32(png + 20), 96);
    }
    vs_free(png);
    CHECK_EQ(vs_thumbnail_png(clip, 100, 64, &png, &n), VS_OK); /* past the end: the last frame */
    vs_free(png);
    CHECK_EQ(vs_thumbnail_png(clip, -1, 64, &png, &n), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_thumbnail_png(clip, 0, 8, &png, &n), VS_ERR_INVALID_ARG);
    CHECK(png == NULL && n == 0);
    snprintf(junk, sizeof junk, "%s/test_review_junk.mp4", vs_test_tmpdir());
    FILE *f = fopen(junk, "w");
    if (f) {
        fputs("this is not a video", f);
        fclose(f);
    }
    CHECK(vs_thumbnail_png(junk, 0, 64, &png, &n) != VS_OK);
    CHECK(strlen(vs_last_error()) > 0);
    uint8_t rgb[2 * 3 * 3] = {255, 0, 0};
    CHECK_EQ(vs_png_encode_rgb(rgb, 3, 2, &png, &n), VS_OK);
    CHECK(n > 8 && be32(png + 16) == 3 && be32(png + 20) == 2);
    vs_free(png);
    remove(clip);
    remove(junk);
}

int main(void) {
    test_groups();
    test_thumbnail();
    return vs_test_done();
}
