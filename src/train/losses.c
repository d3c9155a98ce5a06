/*
 * losses.c - InfoNCE, hardest-negative and self-similarity losses of S2VS with their
 * gradients w.r.t. the batch similarity matrix (formulas in losses.h). Double
 * precision inside: exp(1/0.03) ~ 3e14 is fine there, and the sums of e over a row
 * lose nothing. InfoNCE's row buffer comes from the allocator hooks (vs__malloc);
 * failure is a status, never a NaN loss.
 */
#include "train/losses.h"

#include <math.h>

static int n_pos(const int32_t *li, int i, int n) {
    int np = 0;
    for (int k = 0; k < n; k++) np += (k != i && li[k]);
    return np;
}

vs_status vs__loss_infonce(double *loss, float *ds, float weight, const float *s,
                           const int32_t *labels, int n, float tau) {
    *loss = 0.0;
    int rows = 0;
    for (int i = 0; i < n; i++) rows += n_pos(labels + (long)i * n, i, n) > 0;
    if (rows == 0) return VS_OK;
    double *e = vs__malloc(sizeof(double) * (size_t)n);
    if (!e) return vs__err(VS_ERR_NOMEM, "train: out of memory for the InfoNCE loss (%d clips)", n);
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *si = s + (long)i * n;
        const int32_t *li = labels + (long)i * n;
        int np = n_pos(li, i, n);
        if (np == 0) continue;
        /* e is shifted by the row max for range; the shift cancels in every ratio,
         * and the 1e-6 term is shifted with it */
        double mx = -INFINITY;
        for (int k = 0; k < n; k++) mx = fmax(mx, (double)si[k] / tau);
        double neg = 0.0;
        for (int k = 0; k < n; k++) {
            e[k] = exp((double)si[k] / tau - mx);
            if (!li[k]) neg += e[k];
        }
        const double eps = 1e-6 * exp(-mx), wr = (double)weight / np / rows;
        double row = 0.0, inv_parts = 0.0;
        for (int k = 0; k < n; k++) {
            if (k == i || !li[k]) continue;
            double part = e[k] + neg + eps;
            row += log(part) - log(e[k]);
            inv_parts += 1.0 / part;
            /* d l_ik / d s_ik = (e_ik/part - 1)/tau */
            if (ds) ds[(long)i * n + k] += (float)(wr * (e[k] / part - 1.0) / tau);
        }
        total += row / np;
        /* d/d s_im for a negative m: sum over positives k of e_im/(part_ik tau) */
        if (ds)
            for (int m = 0; m < n; m++)
                if (!li[m]) ds[(long)i * n + m] += (float)(wr * e[m] * inv_parts / tau);
    }
    vs__free(e);
    *loss = total / rows;
    return VS_OK;
}

double vs__loss_hardneg(float *ds, float weight, const float *s, const int32_t *labels, int n) {
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *si = s + (long)i * n;
        const int32_t *li = labels + (long)i * n;
        int at = -1;
        for (int m = 0; m < n; m++)
            if (!li[m] && (at < 0 || si[m] > si[at])) at = m;
        double h = at < 0 ? -100.0 : (double)si[at];
        double x = 1.0 - h;
        if (x > 1e-3) {
            total += -log(x);
            /* d(-log(1-h))/dh = 1/(1-h) */
            if (ds && at >= 0) ds[(long)i * n + at] += (float)((double)weight / n / x);
        } else {
            total += -log(1e-3);
        }
    }
    return total / n;
}

double vs__loss_calib(float *ds, float weight, const float *s, const int32_t *labels, int n) {
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *si = s + (long)i * n;
        const int32_t *li = labels + (long)i * n;
        int np = 0, nn = 0;
        for (int k = 0; k < n; k++)
            if (k != i) li[k] ? np++ : nn++;
        for (int k = 0; k < n; k++) {
            if (k == i) continue;
            const int pos = li[k] != 0;
            const double x = pos ? (double)si[k] : 1.0 - (double)si[k]; /* probability of the label */
            const int cnt = pos ? np : nn;
            if (x > 1e-3) {
                total += -log(x) / cnt;
                /* d(-log x)/ds = -1/x for a positive (x = s), +1/x for a negative (x = 1 - s) */
                if (ds) ds[(long)i * n + k] += (float)((pos ? -1.0 : 1.0) * (double)weight / n / cnt / x);
            } else {
                total += -log(1e-3) / cnt;
            }
        }
    }
    return total / n;
}

double vs__loss_self(float *ds, float weight, const float *s, int n) {
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        double x = s[(long)i * n + i];
        if (x > 1e-3) {
            total += -log(x);
            if (ds) ds[(long)i * n + i] += (float)(-(double)weight / n / x);
        } else {
            total += -log(1e-3);
        }
    }
    return total / n;
}
