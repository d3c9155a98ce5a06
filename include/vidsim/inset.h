/*
 * inset.h - find a picture-in-picture inset: a rectangle of persistent straight edges
 * whose inside changes independently of the outside (a video shown small inside
 * another). Works on small grey probe pictures (vs_decode_params.probe_width), and their
 * colour versions when there are some (vs_decode_params.probe_colour); the
 * search scores the inside as an extra view of the query (docs/hard_copies.md
 * "The inset view").
 *
 * Thread safety: pure functions; no state.
 */
#ifndef VIDSIM_INSET_H
#define VIDSIM_INSET_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The detector's version: it changes whenever the default parameters find other insets on the
 * same pictures (a new test, a new stage, a new default). A feature file records the version
 * that probed it (vs_features.inset_detector, docs/formats.md "VSF version 5"), and `extract
 * --inset-view on` extracts a file probed by another version again, so that a query's feature
 * file keeps giving what its video gives. 1: whole video (session 9); 2: segments between cuts
 * (session 10); 3: the still host and cuts by prominence (session 18); 4: colour edges as a
 * later stage (session 19); 5: an inside that stands still is no inset (session 20); 6: the
 * independence test takes out what the change has in common with uneven intervals between
 * the pictures (session 21). */
#define VS_INSET_DETECTOR 6

typedef struct vs_inset_params {
    float edge_min;   /* grey-level step across a side (2-pixel difference) that counts as an edge (10) */
    float persist;    /* fraction of the pictures the step must be in at a pixel (0.75) */
    float side_min;   /* fraction of every side's length that must be such edges (0.9) */
    float size_min;   /* the rectangle's width and height as fractions of the picture's: at least */
    float size_max;   /*   size_min (0.25) and at most size_max (0.85) */
    float corr_max;   /* most correlation between the inside's and the outside's frame-to-frame
                         change for the inside to count as another video (0.6); with the
                         pictures' times at uneven intervals, the partial correlation given
                         the interval's length */
    float static_max; /* or: the outside's mean frame-to-frame change is at most this fraction
                         of the inside's (a still host, whose coding noise follows the inset;
                         0.2); 0 or less: off, the correlation test alone */
    int min_pictures; /* fewer pictures than this: nothing is found (5) */
    int segments;     /* 1 (default): when the whole video has no inset, also look in its time
                         segments between hard cuts (an inset shown for part of the video); 0: off */
    int seg_cuts;     /* the strongest cuts used as segment ends (8) */
    float cut_min;    /* mean absolute picture change (grey levels) that counts as a hard cut (20) */
    int cut_prominence; /* 1 (default): cuts ranked by how far their change stands above both
                         neighbouring changes (fast motion is no cut); 0: by the change itself */
    float seg_min;    /* a segment's length as a fraction of the pictures: at least (0.2) */
    int seg_min_pictures; /* and at least this many pictures (10) */
    int colour_edges; /* with colour pictures (vs_inset_detect_rgb): 1 (default), when the grey
                         steps find no inset, the search runs again with a step in R, G or B
                         counting as an edge as well as one in grey; 2: those steps from the start;
                         0: grey steps only */
    float colour_corr_max; /* corr_max of that later stage (0.4), which has no still-host
                         exception: a box seen only in colour must show that it changes
                         independently of the outside */
    float inside_min; /* the inside's mean frame-to-frame change (grey levels) must be at least
                         this: a box whose inside stands still (a caption box, a logo, a still
                         picture) is no video, however its correlation comes out (0.3); 0: off */
} vs_inset_params;

typedef struct vs_inset {
    int found;        /* 1: an inset passed every test */
    float x0, y0, x1, y1; /* the best rectangle, fractions of the picture (inside its edges) */
    float side;       /* its weakest side's edge coverage (0..1) */
    float corr;       /* correlation of inside and outside change (0 when either never changes);
                         found with corr >= corr_max: the outside is still (static_max) */
    int p0, p1;       /* the pictures [p0, p1) it was found in: 0 and n for the whole video */
    float t0, t1;     /* the same as times in seconds when the caller has them (vs_inset_detect_times);
                         t1 <= t0 (0, 0): the whole video */
    float moves;      /* the inside's mean frame-to-frame change (grey levels; inside_min); a
                         feature file does not keep it: 0 in an inset read from one */
} vs_inset;

VS_API vs_inset_params vs_inset_default_params(void);

/* Look for an inset in n grey pictures of w x h bytes each (one after the other,
 * presentation order, a few a second). The best rectangle (by weakest side; the largest
 * of equals, then the first in raster order of its corners) is reported in *out even when
 * it fails the side or the independence test (corr_max, static_max); out->found says
 * whether it passed. When none passes on the whole video and p->segments, the segments
 * between hard cuts are tried the same way and the best found there (its side, then its
 * length) is reported with its pictures [p0, p1). p NULL = defaults. Working memory:
 * about (seg_cuts + 2) x 2 x w x h ints (the edge counts of each stretch between cuts).
 * VS_ERR_INVALID_ARG for a NULL pointer or a size outside 8..512; VS_ERR_NOMEM. */
VS_API vs_status vs_inset_detect(const uint8_t *pictures, int n, int w, int h, const vs_inset_params *p,
                                 vs_inset *out);
/* The same, with the pictures' times (seconds, n of them; NULL = none): an inset found in
 * a segment of the video only gets t0 = the time of its first picture and t1 = the time of
 * the first picture after it (or of its last plus the mean picture interval at the end).
 * When the times rise at uneven intervals (by a millisecond or more), the independence test
 * is the partial correlation given the interval's length: a longer interval holds more
 * change inside and outside alike, which is no change the two share. */
VS_API vs_status vs_inset_detect_times(const uint8_t *pictures, const double *times, int n, int w, int h,
                                       const vs_inset_params *p, vs_inset *out);
/* The same, with the pictures in colour too: rgb holds the same n pictures as w x h x 3
 * bytes (R, G, B; vs_decode_probes_rgb), or is NULL (grey only). With p->colour_edges a
 * side's edges are also steps in R, G or B (as a later stage, or throughout); the
 * independence test and the cuts stay on the grey pictures. VS_ERR_INVALID_ARG for a
 * colour_edges outside 0..2. */
VS_API vs_status vs_inset_detect_rgb(const uint8_t *pictures, const uint8_t *rgb, const double *times, int n,
                                     int w, int h, const vs_inset_params *p, vs_inset *out);

#ifdef __cplusplus
}
#endif
#endif
