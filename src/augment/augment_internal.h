/*
 * augment_internal.h - private pieces of the augment module shared between its files
 * and its unit tests: deterministic (parameter-driven) versions of the random ops,
 * the state layout, and the stream numbers of vs_aug_make_views.
 */
#ifndef VS_AUGMENT_INTERNAL_H
#define VS_AUGMENT_INTERNAL_H

#include "core/internal.h"
#include "vidsim/augment.h"

/* RNG streams of one video draw: stream = key * VS__AUG_STREAMS + sub. */
enum {
    VS__AUG_S_TEMPORAL = 0, /* window, crops, TT (shared with make_indices) */
    VS__AUG_S_WEAK = 1,     /* weak RRC + flip */
    VS__AUG_S_STRONG = 2,   /* strong RRC + flip + RandAugment */
    VS__AUG_S_FRAME = 3,    /* per-frame overlays and blur */
    VS__AUG_S_NOISE = 4,    /* pixels of TSD noise frames */
    VS__AUG_S_EDIT = 5,     /* copy edits (p_edit > 0) */
    VS__AUG_STREAMS = 16
};

/* TSD with fixed parameters: segments of w frames (the tail that does not fill a
 * segment is dropped; one segment of n if n < w), emitted in order[n_seg], segment s
 * dropped when code[s] == 1 and replaced frame by frame by fill[position] (a
 * VS_AUG_BLACK / VS_AUG_NOISE code) when code[s] == 2 - but only if
 * 0 < sum(code) < n_seg, else every segment is kept. Returns the output length. */
int vs__aug_tsd_apply(int *out, const int *in, int n, int w, const int *order, const int *code,
                      const int *fill);
int vs__aug_fast(int *out, const int *in, int n, int k);
int vs__aug_slow(int *out, const int *in, int n);
int vs__aug_reverse(int *out, const int *in, int n);
int vs__aug_pause(int *out, const int *in, int n, int start, int dur);

/* Geometric RandAugment op through an inverse affine matrix (torchvision layout). */
void vs__aug_inverse_affine(double m[6], double cx, double cy, double angle, double tx,
                            double ty, double scale, double shear_x, double shear_y);


struct vs_aug_state {
    vs_aug_params p;
    const vs_aug_resources *res;
    void *ft;              /* FT_Library, NULL until first overlay */
    void **faces;          /* FT_Face per text font (lazy) */
    void *emoji_face;      /* FT_Face of the emoji font (lazy) */
    uint8_t *scratch;      /* frame-sized buffers for make_views */
    size_t scratch_bytes;
};

#endif
