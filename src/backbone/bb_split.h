/*
 * bb_split.h - the one backbone entry that the feature extractor (src/features/)
 * uses besides the public API: a forward pass that reports its input preprocessing
 * (uint8 -> float) and the network itself as separate times, for the stage timing
 * of vs_extract_stats. Internal to the library.
 */
#ifndef VS_BACKBONE_BB_SPLIT_H
#define VS_BACKBONE_BB_SPLIT_H

#include "vidsim/backbone.h"

/* vs_backbone_forward, adding the seconds spent preprocessing to *pre_s and in the
 * network to *net_s. */
vs_status vs__backbone_forward_split(vs_backbone_state *st, const uint8_t *rgb, int n, double *pre_s,
                                     double *net_s);

#endif
