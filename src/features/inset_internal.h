/*
 * inset_internal.h - the inset detector's rectangle search (step 2 of src/features/inset.c),
 * for the test that holds its pruned search to the exhaustive reference.
 */
#ifndef VIDSIM_FEATURES_INSET_INTERNAL_H
#define VIDSIM_FEATURES_INSET_INTERNAL_H

#include "vidsim/inset.h"

/* The best rectangle on edge maps ev (h rows of w - 2 vertical boundaries) and eh (h - 2
 * rows of w horizontal boundaries), 1 = edge: r = x0, y0, x1, y1 and *side its weakest
 * side's coverage (0: none). exhaustive 1: every rectangle scored; 0: pruned, the same
 * result. VS_ERR_NOMEM. */
vs_status vs__inset_rect(const uint8_t *ev, const uint8_t *eh, int w, int h, const vs_inset_params *p, int exhaustive,
                         int r[4], double *side);

#endif
