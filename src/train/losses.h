/*
 * losses.h - the S2VS training losses on the batch similarity matrix (s2vs.md §3.7,
 * model/losses.py + train.py of the reference), with their gradients w.r.t. the
 * similarities. s [n,n] (row = query, training scale [0,1]), labels [n,n] (1 =
 * positive pair, the diagonal is 1). Computed in double; gradients ACCUMULATE (+=)
 * into ds [n,n] scaled by the given weight. Only InfoNCE needs memory (a row of
 * exponentials, through the allocator hooks): it returns a status and the loss in
 * *loss; the others cannot fail and return the loss.
 */
#ifndef VS_TRAIN_LOSSES_H
#define VS_TRAIN_LOSSES_H

#include "core/internal.h"

#include <stdint.h>

/* InfoNCE: for each row i and positive k != i,
 *   l_ik = -log( e_ik / (e_ik + sum_{m: lab_im = 0} e_im + 1e-6) ),  e = exp(s/tau);
 * L = mean_i mean_{k in P(i)} l_ik (rows without positives are skipped in the mean
 * over i, which the reference never meets). VS_ERR_NOMEM (ds untouched, *loss 0) when
 * the row buffer cannot be had. */
vs_status vs__loss_infonce(double *loss, float *ds, float weight, const float *s,
                           const int32_t *labels, int n, float tau);
/* Hard negative: L = mean_i -log(max(1 - max_{m: lab_im = 0} s_im, 1e-3)); a row with
 * no negative uses -100 as its maximum (no gradient). */
double vs__loss_hardneg(float *ds, float weight, const float *s, const int32_t *labels, int n);
/* Calibration (not in S2VS): the binary cross-entropy of every off-diagonal pair against
 * its label, balanced per row,
 *   L = mean_i [ mean_{k != i, lab_ik = 1} -log(max(s_ik, 1e-3))
 *              + mean_{m: lab_im = 0} -log(max(1 - s_im, 1e-3)) ],
 * a part skipped in a row that has no such pairs. Unlike InfoNCE, which is unchanged when
 * a row's similarities shift together, it ties every row to the same absolute scale, which
 * is what uAP (all queries' pairs ranked together) measures. */
double vs__loss_calib(float *ds, float weight, const float *s, const int32_t *labels, int n);
/* Self-similarity: L = mean_i -log(max(s_ii, 1e-3)). */
double vs__loss_self(float *ds, float weight, const float *s, int n);

#endif
