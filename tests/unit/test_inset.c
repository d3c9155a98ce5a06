/*
 * test_inset.c - the picture-in-picture inset view: vs_inset_detect on synthetic grey
 * pictures with known answers (an inset moving on its own is found to within a pixel;
 * the same host without it, and a box that changes with the host, are not; an inset in
 * a still host whose coding noise follows it is found by static_max alone; an inset
 * between two cuts found when fast motion after it has stronger changes than the cuts,
 * by cut_prominence; an inset whose border is a step in colour only, found with the
 * colour pictures and not in grey, colour_edges; a still box over a moving host, a
 * caption box, whose correlation comes out 0, refused by inside_min; the pruned
 * rectangle search against the exhaustive one on random edge maps), its
 * argument checks; the decoder's view cut (vs_decode_params.view) against the ffmpeg
 * command line's crop+scale+crop on a clip, plain and rotated, and its bad values; the
 * probe pictures (rate, size, the colour ones against the grey) and the detector end to end
 * on clips made with ffmpeg's
 * overlay filter. The clip parts skip (naming ffmpeg) without the ffmpeg CLI.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "vidsim/decode.h"
#include "vidsim/inset.h"
#include "features/inset_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 96
#define H 54
#define N 30

static uint8_t clamp8(double v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5); }

/* Host: a smooth pattern drifting right with a flicker. kind 1: an inset in
 * [30, 70) x [12, 40) with its own pattern moving down (another video); kind 2: the
 * same box showing the host at half brightness (static structure that changes with the
 * host); kind 0: the host alone. */
static uint8_t *make(int kind) {
    uint8_t *p = malloc((size_t)N * W * H);
    for (int t = 0; t < N; t++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double host = 128 + 60 * sin(0.15 * (x + 3 * t)) * cos(0.2 * y) + 15 * sin(0.9 * t);
                int in = x >= 30 && x < 70 && y >= 12 && y < 40;
                double v = host;
                if (in && kind == 1) v = 60 + 40 * sin(0.3 * (y + 2 * t)) + 20 * cos(0.25 * x);
                if (in && kind == 2) v = 0.5 * host;
                p[(size_t)t * W * H + y * W + x] = clamp8(v);
            }
    return p;
}

/* An inset shown for part of the video only: pictures [0, 15) and [45, 60) are other
 * videos (fillers, cut in hard), [15, 45) the host with the inset of make(1) (or, with
 * inset 0, the host alone). */
#define N2 60
static uint8_t *make_embedded(int inset) {
    uint8_t *p = malloc((size_t)N2 * W * H), *mid = make(inset ? 1 : 0);
    for (int t = 0; t < N2; t++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v;
                if (t >= 15 && t < 45) v = mid[(size_t)(t - 15) * W * H + y * W + x];
                else if (t < 15) v = 200 - 50 * cos(0.07 * (x - 2 * t) + 0.11 * y); /* a slow pan */
                else v = 40 + 30 * sin(0.05 * x * y / 10.0 + 0.4 * t);
                p[(size_t)t * W * H + y * W + x] = clamp8(v);
            }
    free(mid);
    return p;
}

/* A still host: a fixed pattern with coding noise whose strength follows the inset's
 * motion (an encoder spends its bits where the picture moves), so the outside's change
 * correlates with the inside's although nothing outside moves. The inset in [30, 70) x
 * [12, 40) moves by steps of 1 to 4 pixels. */
static uint8_t *make_still_host(void) {
    uint8_t *p = malloc((size_t)N * W * H);
    uint32_t rng = 12345;
    double pos = 0;
    for (int t = 0; t < N; t++) {
        const int step = 1 + (t * 7) % 4; /* 1..4 pixels a picture */
        pos += step;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                rng = rng * 1664525u + 1013904223u;
                const double noise = ((double)(rng >> 8) / (double)(1u << 24) - 0.5) * 0.6 * step;
                double v = 170 + 50 * sin(0.15 * x) * cos(0.2 * y) + noise;
                if (x >= 30 && x < 70 && y >= 12 && y < 40) v = 40 + 30 * sin(0.3 * (y + pos)) + 10 * cos(0.25 * x);
                p[(size_t)t * W * H + y * W + x] = clamp8(v);
            }
    }
    return p;
}

/* A still textured grey host (R = G = B) with an inset in [30, 70) x [12, 40) whose grey
 * joins the host's at its border: the host's grey plus a bump that is 0 at the border and
 * moves on its own in the middle. The inset is tinted (R + 40, G - 12.6, B - 40: the same
 * luma), so its border is a step in colour only. *rgb gets the colour pictures. */
static uint8_t *make_tinted(uint8_t **rgb) {
    uint8_t *p = malloc((size_t)N * W * H);
    *rgb = malloc((size_t)N * W * H * 3);
    for (int t = 0; t < N; t++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = 128 + 40 * sin(0.15 * x) * cos(0.2 * y), r = v, g = v, b = v;
                if (x >= 30 && x < 70 && y >= 12 && y < 40) {
                    const double u = (x - 29.5) / 40.0, w = (y - 11.5) / 28.0;
                    v += 45 * sin(M_PI * u) * sin(M_PI * w) * sin(0.7 * t + 0.3 * x);
                    r = v + 40, g = v - 12.6, b = v - 40; /* 0.299 * 40 - 0.587 * 12.6 - 0.114 * 40 = 0 */
                }
                const size_t i = (size_t)t * W * H + (size_t)y * W + x;
                p[i] = clamp8(v);
                (*rgb)[3 * i] = clamp8(r), (*rgb)[3 * i + 1] = clamp8(g), (*rgb)[3 * i + 2] = clamp8(b);
            }
    return p;
}

static void test_colour_edges(void) {
    vs_inset r, g;
    uint8_t *rgb, *a = make_tinted(&rgb);
    CHECK_EQ(vs_inset_detect(a, N, W, H, NULL, &g), VS_OK); /* grey only: no border to see */
    fprintf(stderr, "  tinted inset, grey: found %d side %.2f\n", g.found, g.side);
    CHECK(g.found == 0);
    CHECK(g.side < 0.9f);
    CHECK_EQ(vs_inset_detect_rgb(a, NULL, NULL, N, W, H, NULL, &r), VS_OK); /* no colour: the same */
    CHECK(memcmp(&r, &g, sizeof r) == 0);
    vs_inset_params p = vs_inset_default_params();
    p.colour_edges = 0; /* colour given, switched off: the same */
    CHECK_EQ(vs_inset_detect_rgb(a, rgb, NULL, N, W, H, &p, &r), VS_OK);
    CHECK(memcmp(&r, &g, sizeof r) == 0);
    for (int mode = 1; mode <= 2; mode++) { /* the later stage (default), colour steps throughout */
        p.colour_edges = mode;
        CHECK_EQ(vs_inset_detect_rgb(a, rgb, NULL, N, W, H, &p, &r), VS_OK);
        fprintf(stderr, "  tinted inset, colour_edges %d: found %d side %.2f corr %.2f rect %.1f,%.1f,%.1f,%.1f px\n",
                mode, r.found, r.side, r.corr, r.x0 * W, r.y0 * H, r.x1 * W, r.y1 * H);
        CHECK(r.found == 1);
        CHECK(r.side >= 0.9f);
        CHECK_NEAR(r.x0 * W, 30, 2.0); /* the largest of the equal rectangles: the widened edge */
        CHECK_NEAR(r.y0 * H, 12, 2.0);
        CHECK_NEAR(r.x1 * W, 70, 2.0);
        CHECK_NEAR(r.y1 * H, 40, 2.0);
    }
    /* The later stage's own correlation limit: below the inset's correlation, the stage
       refuses it; colour steps throughout (2) use corr_max. (The host is still: the
       still-host rule is off for this.) */
    p.static_max = 0;
    p.colour_corr_max = r.corr - 0.05f;
    p.colour_edges = 1;
    CHECK_EQ(vs_inset_detect_rgb(a, rgb, NULL, N, W, H, &p, &r), VS_OK);
    CHECK(r.found == 0);
    p.colour_edges = 2;
    CHECK_EQ(vs_inset_detect_rgb(a, rgb, NULL, N, W, H, &p, &r), VS_OK);
    CHECK(r.found == 1);
    p = vs_inset_default_params();
    p.colour_edges = 3;
    CHECK_EQ(vs_inset_detect_rgb(a, rgb, NULL, N, W, H, &p, &r), VS_ERR_INVALID_ARG);
    /* Colourless pictures (R = G = B = grey) give what grey gives: the host alone finds
       nothing, the inset of make(1) the same rectangle, in both modes. */
    for (int kind = 0; kind <= 1; kind++) {
        uint8_t *b = make(kind), *brgb = malloc((size_t)N * W * H * 3);
        for (size_t i = 0; i < (size_t)N * W * H; i++) brgb[3 * i] = brgb[3 * i + 1] = brgb[3 * i + 2] = b[i];
        CHECK_EQ(vs_inset_detect(b, N, W, H, NULL, &g), VS_OK);
        CHECK(g.found == kind);
        for (int mode = 1; mode <= 2; mode++) {
            p.colour_edges = mode;
            CHECK_EQ(vs_inset_detect_rgb(b, brgb, NULL, N, W, H, &p, &r), VS_OK);
            CHECK(memcmp(&r, &g, sizeof r) == 0);
        }
        free(b), free(brgb);
    }
    free(a), free(rgb);
}

/* A still box over the moving host of make(0): a caption box (a dark panel with a fixed
 * pattern of strokes in [30, 70) x [12, 40)) that never changes, or changes by coding
 * noise of at most one grey level in one pixel in eight (noise 1). */
static uint8_t *make_caption(int noise) {
    uint8_t *p = make(0);
    uint32_t rng = 777;
    for (int t = 0; t < N; t++)
        for (int y = 12; y < 40; y++)
            for (int x = 30; x < 70; x++) {
                double v = 30 + ((x / 3 + y / 4) % 3 == 0 ? 180 : 0);
                rng = rng * 1664525u + 1013904223u;
                if (noise && (rng >> 29) == 0) v += 1;
                p[(size_t)t * W * H + y * W + x] = clamp8(v);
            }
    return p;
}

static void test_still_inside(void) {
    vs_inset r;
    vs_inset_params p = vs_inset_default_params();
    for (int noise = 0; noise <= 1; noise++) {
        uint8_t *a = make_caption(noise);
        CHECK_EQ(vs_inset_detect(a, N, W, H, NULL, &r), VS_OK);
        fprintf(stderr, "  caption box (noise %d): found %d side %.2f corr %.2f moves %.3f\n", noise, r.found, r.side,
                r.corr, r.moves);
        CHECK(r.found == 0);
        CHECK(r.side >= 0.9f);        /* its edges are there */
        CHECK(r.corr < p.corr_max);   /* and the correlation alone would take it */
        CHECK(r.moves < (noise ? 0.25f : 1e-6f)); /* noise: 2 x 1/8 x 7/8 = 0.22 */
        p.inside_min = 0; /* off: taken, the box found within two pixels */
        CHECK_EQ(vs_inset_detect(a, N, W, H, &p, &r), VS_OK);
        CHECK(r.found == 1);
        CHECK_NEAR(r.x0, 30.0 / W, 2.0 / W);
        CHECK_NEAR(r.y1, 40.0 / H, 2.0 / H);
        p = vs_inset_default_params();
        free(a);
    }
    /* The moving inset of make(1) moves by several grey levels a picture: still found. */
    uint8_t *b = make(1);
    CHECK_EQ(vs_inset_detect(b, N, W, H, NULL, &r), VS_OK);
    fprintf(stderr, "  moving inset: found %d moves %.2f\n", r.found, r.moves);
    CHECK(r.found == 1);
    CHECK(r.moves > 3 * p.inside_min);
    p.inside_min = r.moves + 0.01f; /* a limit above it refuses it */
    CHECK_EQ(vs_inset_detect(b, N, W, H, &p, &r), VS_OK);
    CHECK(r.found == 0);
    free(b);
}

/* Pictures at uneven intervals (a decoder that skips frames the sampling does not need,
 * a variable frame rate): a host drifting at a steady speed and an inset in [30, 70) x
 * [12, 40) whose speed changes on its own. A longer interval holds more change inside and
 * outside alike; without the times, that shared pattern correlates the two; with them, the
 * partial correlation given the interval's length takes it out. times[] gets them. */
static uint8_t *make_uneven(double *times) {
    uint8_t *p = malloc((size_t)N * W * H);
    double now = 0, pos = 0;
    for (int t = 0; t < N; t++) {
        const double dt = t == 0 ? 0 : (t % 3 == 0 ? 0.6 : 0.2);
        now += dt;
        pos += dt * (3 + 2 * sin(1.7 * t)); /* 1..5 pixels a second */
        times[t] = now;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = 128 + 60 * sin(0.15 * (x + 3 * now)) * cos(0.2 * y);
                if (x >= 30 && x < 70 && y >= 12 && y < 40) v = 60 + 40 * sin(0.3 * (y + pos)) + 20 * cos(0.25 * x);
                p[(size_t)t * W * H + y * W + x] = clamp8(v);
            }
    }
    return p;
}

static void test_uneven_intervals(void) {
    double times[N];
    uint8_t *a = make_uneven(times);
    vs_inset r0, r1;
    const vs_inset_params p = vs_inset_default_params();
    CHECK_EQ(vs_inset_detect(a, N, W, H, NULL, &r0), VS_OK); /* no times: changes a picture */
    CHECK_EQ(vs_inset_detect_times(a, times, N, W, H, NULL, &r1), VS_OK);
    fprintf(stderr, "  uneven intervals: without times found %d corr %.2f moves %.2f; with them found %d corr %.2f "
            "moves %.2f\n",
            r0.found, r0.corr, r0.moves, r1.found, r1.corr, r1.moves);
    CHECK(r0.side >= p.side_min && r1.side == r0.side); /* the same rectangle and edges */
    CHECK(r0.x0 == r1.x0 && r0.y0 == r1.y0 && r0.x1 == r1.x1 && r0.y1 == r1.y1);
    CHECK_MSG(r0.corr >= p.corr_max && r0.found == 0, "without times: corr %.2f", r0.corr);
    CHECK_MSG(r1.corr < p.corr_max && r1.found == 1 && r1.corr < r0.corr - 0.2f, "with times: corr %.2f", r1.corr);
    CHECK(r1.moves == r0.moves); /* moves is a picture's change either way (inside_min) */
    CHECK_NEAR(r1.x0, 30.0 / W, 2.0 / W);
    CHECK_NEAR(r1.y1, 40.0 / H, 2.0 / H);
    /* times that do not rise, or even intervals, are not gone by: as without times */
    times[5] = times[4];
    CHECK_EQ(vs_inset_detect_times(a, times, N, W, H, NULL, &r1), VS_OK);
    CHECK(r1.corr == r0.corr && r1.found == r0.found);
    for (int t = 0; t < N; t++) times[t] = 0.2 * t + (t % 2 ? 2e-4 : 0); /* within a millisecond */
    CHECK_EQ(vs_inset_detect_times(a, times, N, W, H, NULL, &r1), VS_OK);
    CHECK(r1.corr == r0.corr && r1.found == r0.found);
    free(a);
}

/* The rectangle search (step 2): the pruned search gives exactly what the exhaustive
 * reference gives (rectangle and side, bit for bit) on random edge maps: noise of every
 * density, planted boxes with gaps in their sides, nested boxes (ties), sizes limits
 * drawn at random; plus the empty map (nothing) and the full map (every rectangle ties:
 * the largest, the first in raster order). */
static void test_rect_search(void) {
    uint32_t rng = 2024;
#define RND() (rng = rng * 1664525u + 1013904223u, rng >> 8)
    int trials = 0, found = 0, ties = 0;
    for (int trial = 0; trial < 300; trial++) {
        const int w = 8 + (int)(RND() % 120), h = 8 + (int)(RND() % 80);
        uint8_t *ev = calloc((size_t)h * (w - 2), 1), *eh = calloc((size_t)(h - 2) * w, 1);
        const double dens = trial % 3 == 0 ? 0.0 : (RND() % 1000) / 1000.0 * (trial % 3 == 1 ? 0.3 : 1.0);
        for (int i = 0; i < h * (w - 2); i++) ev[i] = (RND() % 1000) < dens * 1000;
        for (int i = 0; i < (h - 2) * w; i++) eh[i] = (RND() % 1000) < dens * 1000;
        const int boxes = (int)(RND() % 4);
        for (int k = 0; k < boxes; k++) { /* sides x0, x1 (edge columns x0-1, x1-1), rows likewise */
            const int x0 = 1 + (int)(RND() % (w - 3)), x1 = x0 + 1 + (int)(RND() % (w - 2 - x0));
            const int y0 = 1 + (int)(RND() % (h - 3)), y1 = y0 + 1 + (int)(RND() % (h - 2 - y0));
            const int gap = (int)(RND() % 4); /* 0: full sides; else every gap-th+1 pixel missing */
            for (int y = y0; y < y1; y++)
                if (!gap || y % (gap + 1)) ev[y * (w - 2) + x0 - 1] = ev[y * (w - 2) + x1 - 1] = 1;
            for (int x = x0; x < x1; x++)
                if (!gap || x % (gap + 2)) eh[(y0 - 1) * w + x] = eh[(y1 - 1) * w + x] = 1;
        }
        vs_inset_params p = vs_inset_default_params();
        if (trial % 2) {
            p.size_min = (float)((RND() % 500) / 1000.0);
            p.size_max = p.size_min + (float)((RND() % 600) / 1000.0);
        }
        int ra[4], rb[4];
        double sa, sb;
        CHECK_EQ(vs__inset_rect(ev, eh, w, h, &p, 1, ra, &sa), VS_OK);
        CHECK_EQ(vs__inset_rect(ev, eh, w, h, &p, 0, rb, &sb), VS_OK);
        if (memcmp(ra, rb, sizeof ra) || sa != sb)
            fprintf(stderr, "  trial %d %dx%d: exhaustive %d,%d,%d,%d side %.6f, pruned %d,%d,%d,%d side %.6f\n", trial, w,
                    h, ra[0], ra[1], ra[2], ra[3], sa, rb[0], rb[1], rb[2], rb[3], sb);
        CHECK(memcmp(ra, rb, sizeof ra) == 0 && sa == sb);
        trials++, found += sa > 0, ties += sa == 1.0;
        free(ev), free(eh);
    }
#undef RND
    fprintf(stderr, "  rectangle search: %d random maps, %d with a rectangle (%d of side 1), pruned = exhaustive\n",
            trials, found, ties);
    CHECK(found >= 150 && ties >= 20); /* the maps exercise both: rectangles found and ties at the top */
    /* The full map: every rectangle has side 1; the largest allowed, the first in raster
       order (x0 = y0 = 1). The empty map: none. */
    const int w = 40, h = 30;
    uint8_t *ev = malloc((size_t)h * (w - 2)), *eh = malloc((size_t)(h - 2) * w);
    memset(ev, 1, (size_t)h * (w - 2)), memset(eh, 1, (size_t)(h - 2) * w);
    vs_inset_params p = vs_inset_default_params();
    for (int ex = 0; ex <= 1; ex++) {
        int r[4];
        double side;
        CHECK_EQ(vs__inset_rect(ev, eh, w, h, &p, ex, r, &side), VS_OK);
        CHECK(side == 1.0);
        CHECK(r[0] == 1 && r[1] == 1 && r[2] == 1 + (int)(0.85 * w) && r[3] == 1 + (int)(0.85 * h));
    }
    memset(ev, 0, (size_t)h * (w - 2)), memset(eh, 0, (size_t)(h - 2) * w);
    for (int ex = 0; ex <= 1; ex++) {
        int r[4] = {7, 7, 7, 7};
        double side = 9;
        CHECK_EQ(vs__inset_rect(ev, eh, w, h, &p, ex, r, &side), VS_OK);
        CHECK(side == 0 && r[0] == 0 && r[2] == 0);
    }
    free(ev), free(eh);
}

static void test_still_host(void) {
    vs_inset r;
    uint8_t *a = make_still_host();
    vs_inset_params p = vs_inset_default_params();
    p.static_max = 0; /* the correlation test alone refuses it */
    CHECK_EQ(vs_inset_detect(a, N, W, H, &p, &r), VS_OK);
    fprintf(stderr, "  inset in a still host, static_max 0: found %d side %.2f corr %.2f\n", r.found, r.side, r.corr);
    CHECK(r.found == 0);
    CHECK(r.side >= 0.9f);
    CHECK(r.corr >= 0.6f);
    CHECK_EQ(vs_inset_detect(a, N, W, H, NULL, &r), VS_OK); /* default 0.2: the host is still */
    fprintf(stderr, "  inset in a still host: found %d side %.2f corr %.2f rect %.3f,%.3f,%.3f,%.3f\n", r.found, r.side,
            r.corr, r.x0, r.y0, r.x1, r.y1);
    CHECK(r.found == 1); /* within two pixels: the edge map is widened by one across a side */
    CHECK(r.corr >= 0.6f); /* taken by static_max, not by the correlation */
    CHECK_NEAR(r.x0, 30.0 / W, 2.0 / W);
    CHECK_NEAR(r.y0, 12.0 / H, 2.0 / H);
    CHECK_NEAR(r.x1, 70.0 / W, 2.0 / W);
    CHECK_NEAR(r.y1, 40.0 / H, 2.0 / H);
    free(a);
    /* A box that changes with a moving host changes half as much as the host: not still. */
    uint8_t *c = make(2);
    p = vs_inset_default_params();
    p.static_max = 1.5f; /* the outside changes twice as much as the box */
    CHECK_EQ(vs_inset_detect(c, N, W, H, &p, &r), VS_OK);
    CHECK(r.found == 0);
    p.static_max = 2.5f; /* a test so loose that it takes the box */
    CHECK_EQ(vs_inset_detect(c, N, W, H, &p, &r), VS_OK);
    CHECK(r.found == 1);
    free(c);
}

/* make_embedded(1) whose second filler starts still for 3 pictures and then flashes (a
 * strong change at every picture, stronger than either cut): fast motion, no cut. */
static uint8_t *make_embedded_flashing(void) {
    uint8_t *p = make_embedded(1);
    for (int t = 45; t < N2; t++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                p[(size_t)t * W * H + y * W + x] =
                    clamp8(t < 48 ? 40 + 30 * sin(0.05 * x * y / 10.0) : 128 + 127 * sin(0.2 * x + 0.1 * y + 2.5 * t));
    return p;
}

static double mean_change(const uint8_t *p, int t) {
    long sum = 0;
    for (int i = 0; i < W * H; i++) sum += abs(p[(size_t)t * W * H + i] - p[(size_t)(t - 1) * W * H + i]);
    return (double)sum / (W * H);
}

static void test_cut_prominence(void) {
    vs_inset r;
    uint8_t *a = make_embedded_flashing();
    double flash_min = 1e9;
    for (int t = 49; t < N2; t++)
        if (mean_change(a, t) < flash_min) flash_min = mean_change(a, t);
    fprintf(stderr, "  cuts %.1f and %.1f, flashes at least %.1f\n", mean_change(a, 15), mean_change(a, 45), flash_min);
    CHECK(flash_min > mean_change(a, 15) && flash_min > mean_change(a, 45)); /* the flashes are the strongest changes */
    vs_inset_params p = vs_inset_default_params();
    p.cut_prominence = 0; /* the 8 strongest changes are all flashes: no segment holds the inset alone */
    CHECK_EQ(vs_inset_detect(a, N2, W, H, &p, &r), VS_OK);
    fprintf(stderr, "  flashing filler, cuts by change: found %d pictures %d-%d\n", r.found, r.p0, r.p1);
    CHECK(r.found == 0);
    CHECK_EQ(vs_inset_detect(a, N2, W, H, NULL, &r), VS_OK); /* by prominence: the two cuts stand out */
    fprintf(stderr, "  flashing filler, cuts by prominence: found %d pictures %d-%d rect %.3f,%.3f,%.3f,%.3f\n", r.found,
            r.p0, r.p1, r.x0, r.y0, r.x1, r.y1);
    CHECK(r.found == 1);
    CHECK(r.p0 == 15 && r.p1 == 45);
    CHECK_NEAR(r.x0, 30.0 / W, 1.5 / W);
    CHECK_NEAR(r.x1, 70.0 / W, 1.5 / W);
    free(a);
}

static void test_segments(void) {
    vs_inset r;
    uint8_t *a = make_embedded(1);
    double times[N2];
    for (int t = 0; t < N2; t++) times[t] = 0.2 * t + 0.04;
    /* The whole video alone fails: the inset's edges are there in half of the pictures. */
    vs_inset_params p = vs_inset_default_params();
    p.segments = 0;
    CHECK_EQ(vs_inset_detect(a, N2, W, H, &p, &r), VS_OK);
    CHECK(r.found == 0);
    CHECK(r.p0 == 0 && r.p1 == N2);
    /* The segment between the two cuts has it. */
    CHECK_EQ(vs_inset_detect_times(a, times, N2, W, H, NULL, &r), VS_OK);
    fprintf(stderr, "  embedded inset: found %d side %.2f corr %.2f rect %.3f,%.3f,%.3f,%.3f pictures %d-%d t %.2f-%.2f\n",
            r.found, r.side, r.corr, r.x0, r.y0, r.x1, r.y1, r.p0, r.p1, r.t0, r.t1);
    CHECK(r.found == 1);
    CHECK(r.p0 == 15 && r.p1 == 45);
    CHECK_NEAR(r.t0, 3.04, 1e-5);
    CHECK_NEAR(r.t1, 9.04, 1e-5);
    CHECK_NEAR(r.x0, 30.0 / W, 1.5 / W);
    CHECK_NEAR(r.y0, 12.0 / H, 1.5 / H);
    CHECK_NEAR(r.x1, 70.0 / W, 1.5 / W);
    CHECK_NEAR(r.y1, 40.0 / H, 1.5 / H);
    /* Without times the span is left at 0, 0; the pictures still say where. */
    CHECK_EQ(vs_inset_detect(a, N2, W, H, NULL, &r), VS_OK);
    CHECK(r.found == 1 && r.p0 == 15 && r.p1 == 45 && r.t0 == 0 && r.t1 == 0);
    /* A segment at the end: t1 is the last picture's time plus the mean interval. */
    CHECK_EQ(vs_inset_detect_times(a, times, 45, W, H, NULL, &r), VS_OK);
    CHECK(r.found == 1 && r.p0 == 15 && r.p1 == 45);
    CHECK_NEAR(r.t1, 9.04, 1e-5);
    /* Segments shorter than seg_min of the video are not tried. */
    p = vs_inset_default_params();
    p.seg_min = 0.6f;
    CHECK_EQ(vs_inset_detect(a, N2, W, H, &p, &r), VS_OK);
    CHECK(r.found == 0);
    /* Cuts weaker than cut_min are no segment ends. */
    p = vs_inset_default_params();
    p.cut_min = 200;
    CHECK_EQ(vs_inset_detect(a, N2, W, H, &p, &r), VS_OK);
    CHECK(r.found == 0);
    p = vs_inset_default_params();
    p.seg_cuts = 65;
    CHECK_EQ(vs_inset_detect(a, N2, W, H, &p, &r), VS_ERR_INVALID_ARG);
    free(a);
    /* The same fillers and host without an inset: nothing in any segment. */
    uint8_t *b = make_embedded(0);
    CHECK_EQ(vs_inset_detect_times(b, times, N2, W, H, NULL, &r), VS_OK);
    fprintf(stderr, "  embedded host only: found %d side %.2f corr %.2f\n", r.found, r.side, r.corr);
    CHECK(r.found == 0);
    free(b);
}

static void test_synthetic(void) {
    vs_inset r;
    uint8_t *a = make(1);
    CHECK_EQ(vs_inset_detect(a, N, W, H, NULL, &r), VS_OK);
    fprintf(stderr, "  inset: found %d side %.2f corr %.2f rect %.3f,%.3f,%.3f,%.3f (true %.3f,%.3f,%.3f,%.3f)\n",
            r.found, r.side, r.corr, r.x0, r.y0, r.x1, r.y1, 30.0 / W, 12.0 / H, 70.0 / W, 40.0 / H);
    CHECK(r.found == 1);
    CHECK(r.side >= 0.9f);
    CHECK(r.corr < 0.6f);
    CHECK_NEAR(r.x0, 30.0 / W, 1.5 / W);
    CHECK_NEAR(r.y0, 12.0 / H, 1.5 / H);
    CHECK_NEAR(r.x1, 70.0 / W, 1.5 / W);
    CHECK_NEAR(r.y1, 40.0 / H, 1.5 / H);
    /* Too few pictures: nothing, and no error. */
    CHECK_EQ(vs_inset_detect(a, 4, W, H, NULL, &r), VS_OK);
    CHECK(r.found == 0);
    /* A stricter side test fails it; a looser correlation test does not matter. */
    vs_inset_params p = vs_inset_default_params();
    p.size_max = 0.3f; /* the inset is 0.42 x 0.52 of the picture */
    CHECK_EQ(vs_inset_detect(a, N, W, H, &p, &r), VS_OK);
    CHECK(r.found == 0 || fabsf(r.x1 - r.x0) <= 0.31f);
    free(a);

    uint8_t *b = make(0);
    CHECK_EQ(vs_inset_detect(b, N, W, H, NULL, &r), VS_OK);
    fprintf(stderr, "  host only: found %d side %.2f corr %.2f\n", r.found, r.side, r.corr);
    CHECK(r.found == 0);
    CHECK(r.side < 0.9f);
    free(b);

    uint8_t *c = make(2);
    CHECK_EQ(vs_inset_detect(c, N, W, H, NULL, &r), VS_OK);
    fprintf(stderr, "  box changing with the host: found %d side %.2f corr %.2f\n", r.found, r.side, r.corr);
    CHECK(r.found == 0);
    CHECK(r.side >= 0.9f);  /* the box has the edges ... */
    CHECK(r.corr >= 0.6f);  /* ... and fails on independence */
    p = vs_inset_default_params();
    p.corr_max = 1.01f;     /* without the independence test it would be taken */
    CHECK_EQ(vs_inset_detect(c, N, W, H, &p, &r), VS_OK);
    CHECK(r.found == 1);
    free(c);

    /* Arguments. */
    uint8_t tiny[8 * 8 * 5] = {0};
    CHECK_EQ(vs_inset_detect(tiny, 5, 8, 8, NULL, &r), VS_OK);
    CHECK(r.found == 0);
    CHECK_EQ(vs_inset_detect(tiny, 5, 7, 8, NULL, &r), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_inset_detect(tiny, 5, 8, 600, NULL, &r), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_inset_detect(NULL, 5, 8, 8, NULL, &r), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_inset_detect(tiny, 5, 8, 8, NULL, NULL), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_inset_detect(NULL, 0, 8, 8, NULL, &r), VS_OK);
    CHECK(r.found == 0);
}

static int run(const char *cmd) { return system(cmd); }

static double mean_abs(const uint8_t *a, const uint8_t *b, size_t n, int *mx) {
    double s = 0;
    *mx = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        s += d;
        if (d > *mx) *mx = d;
    }
    return n ? s / (double)n : 0;
}

/* The view cut against ffmpeg: crop=w/2:h/2:w/4:h/4 then the reference scale and crop. */
static void check_view(const char *clip, const char *cli_crop, const float view[4]) {
    char out[4200], cmd[12000];
    snprintf(out, sizeof out, "%s/inset_view_cli.rgb", vs_test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -y -i '%s' -vf \"fps=1,%s,"
             "scale=w='2*ceil(iw*256/min(iw,ih)/2)':h='2*ceil(ih*256/min(iw,ih)/2)',crop=224:224\" "
             "-pix_fmt rgb24 -f rawvideo '%s'",
             clip, cli_crop, out);
    CHECK_MSG(run(cmd) == 0, "ffmpeg failed: %s", cmd);
    size_t len = 0;
    uint8_t *cli = vs_test_read_file(out, &len);
    vs_decode_params p = vs_decode_default_params();
    memcpy(p.view, view, sizeof p.view);
    uint8_t *ours = NULL, *whole = NULL;
    int n = 0, nw = 0;
    CHECK_MSG(vs_decode_all(clip, &p, &ours, &n, NULL) == VS_OK, "%s", vs_last_error());
    vs_decode_params q = vs_decode_default_params();
    CHECK_EQ(vs_decode_all(clip, &q, &whole, &nw, NULL), VS_OK);
    const size_t fb = 224 * 224 * 3;
    CHECK_MSG(cli && (size_t)n * fb == len, "%d frames, ffmpeg gives %zu", n, len / fb);
    if (cli && ours && (size_t)n * fb == len) {
        int mx;
        double m = mean_abs(ours, cli, len, &mx);
        int mx2;
        double m2 = whole && nw == n ? mean_abs(whole, cli, len, &mx2) : 999;
        fprintf(stderr, "  view %s: %d frames, parity vs CLI mean abs %.4f max %d (whole picture: %.1f)\n", cli_crop,
                n, m, mx, m2);
        CHECK_MSG(m <= 0.05 && mx <= 8, "view: mean %.4f max %d", m, mx);
        CHECK(m2 > 5); /* the view is not the whole picture */
    }
    free(cli);
    vs_free(ours);
    vs_free(whole);
}

static void test_clips(void) {
    if (run("ffmpeg -hide_banner -version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "  skipping the clip checks: the ffmpeg CLI is not installed\n");
        return;
    }
    const char *tmp = vs_test_tmpdir();
    char pip[1200], host[1200], rot[1200], cmd[16000];
    snprintf(pip, sizeof pip, "%.1100s/inset_pip.mp4", tmp);
    snprintf(host, sizeof host, "%.1100s/inset_host.mp4", tmp);
    snprintf(rot, sizeof rot, "%.1100s/inset_rot90.mp4", tmp);
    /* A zooming fractal with a white frame, inset at (300, 120) 256 x 144 in a 640 x 360 test pattern. */
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi "
             "-i mandelbrot=size=250x138:rate=25 -filter_complex "
             "\"[1]pad=256:144:3:3:white[i];[0][i]overlay=x=300:y=120:shortest=1\" -t 8 -pix_fmt yuv420p '%s' && "
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 -t 8 "
             "-pix_fmt yuv420p '%s' && "
             "ffmpeg -nostdin -hide_banner -loglevel error -y -i '%s' -c copy -metadata:s:v rotate=90 '%s'",
             pip, host, pip, rot);
    if (run(cmd) != 0) {
        fprintf(stderr, "  skipping the clip checks: ffmpeg could not make the clips (libx264?)\n");
        return;
    }
    const float v[4] = {0.25f, 0.25f, 0.75f, 0.75f};
    check_view(host, "crop=320:180:160:90", v);
    const float v2[4] = {0.5f, 0.0f, 1.0f, 0.6f};
    check_view(pip, "crop=320:216:320:0", v2);

    /* Bad views are refused by name. */
    vs_decode_params p = vs_decode_default_params();
    vs_decoder *d = NULL;
    const float bad[][4] = {{0.5f, 0, 0.55f, 1}, {-0.1f, 0, 1, 1}, {0, 0, 1, 1.2f}, {0.6f, 0, 0.4f, 1}};
    for (int i = 0; i < 4; i++) {
        memcpy(p.view, bad[i], sizeof p.view);
        CHECK_EQ(vs_decode_open(&d, host, &p), VS_ERR_INVALID_ARG);
        CHECK(d == NULL);
        CHECK(strstr(vs_last_error(), "inset_host.mp4") != NULL);
        CHECK(strstr(vs_last_error(), "view") != NULL);
    }
    p = vs_decode_default_params();
    p.probe_width = 300;
    CHECK_EQ(vs_decode_open(&d, host, &p), VS_ERR_INVALID_ARG);

    /* Probe pictures and the detector end to end. */
    struct {
        const char *path;
        int found;
        float rect[4];
        int pw, ph;
    } cases[] = {{pip, 1, {300 / 640.f, 120 / 360.f, 556 / 640.f, 264 / 360.f}, 96, 54},
                 {host, 0, {0}, 96, 54},
                 /* the rotate=90 tag turns the picture a quarter counter-clockwise (rotation
                    270, as the ffmpeg CLI shows it): 360 x 640, the inset at x = 120 .. 264,
                    y = 640 - 556 .. 640 - 300 */
                 {rot, 1, {120 / 360.f, 84 / 640.f, 264 / 360.f, 340 / 640.f}, 96, 171}};
    for (int c = 0; c < 3; c++) {
        p = vs_decode_default_params();
        p.probe_width = 96;
        p.probe_colour = c != 1; /* the host alone: grey only, no colour pictures */
        CHECK_MSG(vs_decode_open(&d, cases[c].path, &p) == VS_OK, "%s", vs_last_error());
        if (!d) continue;
        const uint8_t *rgb;
        double t;
        while (vs_decode_next(d, &rgb, &t) == VS_OK && rgb) {}
        int n, w, h;
        const uint8_t *pics = vs_decode_probes(d, &n, &w, &h), *col = vs_decode_probes_rgb(d);
        vs_inset r;
        CHECK_EQ(vs_inset_detect_rgb(pics, col, NULL, n, w, h, NULL, &r), VS_OK);
        if (c == 1) {
            CHECK(col == NULL);
        } else {
            CHECK(col != NULL);
        }
        if (c != 1 && col && pics) {
            /* the colour pictures are the grey ones (BT.601 luma), turned the same way */
            double sum = 0;
            for (size_t i = 0; i < (size_t)n * w * h; i++)
                sum += fabs(0.299 * col[3 * i] + 0.587 * col[3 * i + 1] + 0.114 * col[3 * i + 2] - pics[i]);
            const double m = sum / ((double)n * w * h);
            fprintf(stderr, "  %s: colour probes' luma against the grey ones: mean abs %.2f\n",
                    strrchr(cases[c].path, '/') + 1, m);
            CHECK_MSG(m <= 3.0, "luma of the colour probes %.2f from the grey", m);
        }
        fprintf(stderr, "  %s: %d probes %dx%d, found %d side %.2f corr %.2f rect %.3f,%.3f,%.3f,%.3f\n",
                strrchr(cases[c].path, '/') + 1, n, w, h, r.found, r.side, r.corr, r.x0, r.y0, r.x1, r.y1);
        CHECK(pics != NULL);
        CHECK(w == cases[c].pw && h == cases[c].ph);
        CHECK_MSG(n >= 28 && n <= 41, "%d probes for 8 s at 5 a second", n);
        CHECK(r.found == cases[c].found);
        if (cases[c].found) {
            CHECK_NEAR(r.x0, cases[c].rect[0], 0.04);
            CHECK_NEAR(r.y0, cases[c].rect[1], 0.04);
            CHECK_NEAR(r.x1, cases[c].rect[2], 0.04);
            CHECK_NEAR(r.y1, cases[c].rect[3], 0.04);
        }
        vs_decode_close(d);
    }
    /* An inset for part of the video: 3 s of a zooming fractal, 5 s of the clip with the
       inset, 3 s of moving gradients, cut in hard. Probe times rise at about 5 a second. */
    char emb[1200];
    snprintf(emb, sizeof emb, "%.1100s/inset_embedded.mp4", tmp);
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i mandelbrot=size=640x360:rate=25:start_scale=0.5 "
             "-i '%s' -f lavfi -i gradients=s=640x360:r=25:speed=0.05:seed=1:c0=0x3050a0:c1=0xe0c040:nb_colors=2 -filter_complex "
             "\"[0]trim=duration=3,setpts=PTS-STARTPTS,format=yuv420p[a];[1]trim=duration=5,setpts=PTS-STARTPTS,"
             "format=yuv420p[b];[2]trim=duration=3,setpts=PTS-STARTPTS,format=yuv420p[c];[a][b][c]concat=n=3:v=1:a=0\" "
             "-pix_fmt yuv420p '%s'", pip, emb);
    if (run(cmd) != 0) {
        fprintf(stderr, "  skipping the embedded clip: ffmpeg could not make it (mandelbrot, gradients?)\n");
    } else {
        p = vs_decode_default_params();
        p.probe_width = 96;
        CHECK_MSG(vs_decode_open(&d, emb, &p) == VS_OK, "%s", vs_last_error());
        if (d) {
            const uint8_t *rgb;
            double t;
            while (vs_decode_next(d, &rgb, &t) == VS_OK && rgb) {}
            int n, w, h;
            const uint8_t *pics = vs_decode_probes(d, &n, &w, &h);
            const double *pt = vs_decode_probe_times(d);
            CHECK(pics != NULL && pt != NULL);
            CHECK_MSG(n >= 38 && n <= 56, "%d probes for 11 s at 5 a second", n);
            int rising = pt && pt[0] >= 0 && pt[0] < 0.3;
            for (int i = 1; pt && i < n; i++) rising &= pt[i] > pt[i - 1] && pt[i] - pt[i - 1] <= 0.5;
            CHECK_MSG(rising, "probe times from %.3f to %.3f", pt ? pt[0] : -1, pt ? pt[n - 1] : -1);
            vs_inset r;
            CHECK_EQ(vs_inset_detect_times(pics, pt, n, w, h, NULL, &r), VS_OK);
            fprintf(stderr, "  inset_embedded.mp4: %d probes, found %d side %.2f corr %.2f rect %.3f,%.3f,%.3f,%.3f "
                    "pictures %d-%d t %.2f-%.2f\n", n, r.found, r.side, r.corr, r.x0, r.y0, r.x1, r.y1, r.p0, r.p1,
                    r.t0, r.t1);
            CHECK(r.found == 1);
            CHECK_MSG(r.t0 >= 2.95 && r.t0 <= 3.35 && r.t1 >= 7.95 && r.t1 <= 8.35, "span %.2f-%.2f, true 3-8",
                      r.t0, r.t1);
            CHECK_NEAR(r.x0, cases[0].rect[0], 0.04);
            CHECK_NEAR(r.y0, cases[0].rect[1], 0.04);
            CHECK_NEAR(r.x1, cases[0].rect[2], 0.04);
            CHECK_NEAR(r.y1, cases[0].rect[3], 0.04);
            vs_decode_close(d);
        }
    }
    /* Without probe_width there are none. */
    p = vs_decode_default_params();
    CHECK_EQ(vs_decode_open(&d, pip, &p), VS_OK);
    if (d) {
        int n = -1;
        const uint8_t *rgb;
        double t;
        while (vs_decode_next(d, &rgb, &t) == VS_OK && rgb) {}
        CHECK(vs_decode_probes(d, &n, NULL, NULL) == NULL && n == 0);
        vs_decode_close(d);
    }
}

int main(void) {
    test_synthetic();
    test_rect_search();
    test_still_host();
    test_still_inside();
    test_uneven_intervals();
    test_colour_edges();
    test_segments();
    test_cut_prominence();
    test_clips();
    return vs_test_done();
}
