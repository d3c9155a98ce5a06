/*
 * region.h - private: regional max pooling and normalisation of backbone maps, and the
 * flat-frame measure that extraction and calibration use to leave out blank frames.
 */
#ifndef VS_FEATURES_REGION_H
#define VS_FEATURES_REGION_H

#include "core/internal.h"

/* Grid geometry along one axis of length len: 3 windows of size k at stride s,
 * s = round(len/4), k = len - 2s (they tile the axis exactly). */
void vs__region_grid(int len, int *k, int *s);

/* out [n, 9, c] (row stride out_stride floats per region, so layers can be written
 * side by side into a concatenated vector) = 3x3 grid max pool of map [n, h, w, c]. */
void vs__region_maxpool(float *out, int out_stride, const float *map, int n, int h, int w, int c);

/* L2-normalise each of n vectors of length d (row stride `stride`), eps 1e-12. */
void vs__l2norm_rows(float *x, long n, int d, int stride);

/* Luma standard deviation of an RGB frame [h, w, 3] over every second pixel of every
 * second row: about 0 for a black, white or one-colour frame (vs_extract_params
 * min_frame_std). */
double vs__frame_luma_std(const uint8_t *rgb, int w, int h);

#endif
