/*
 * ap.c - average precision of one ranking (non-interpolated, with missed positives
 * in the denominator), the hashing papers' K-normalised mAP@K, and EVVE's
 * trapezoidal AP. Pure functions over caller arrays; no I/O.
 */
#include "eval/eval_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct ap_item {
    double s;
    unsigned char rel;
    size_t i;
} ap_item;

static int cmp_pessimistic(const void *a, const void *b) {
    const ap_item *x = a, *y = b;
    if (x->s > y->s) return -1;
    if (x->s < y->s) return 1;
    if (x->rel != y->rel) return x->rel ? 1 : -1;
    return 0;
}

static int cmp_input_order(const void *a, const void *b) {
    const ap_item *x = a, *y = b;
    if (x->s > y->s) return -1;
    if (x->s < y->s) return 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

vs_status vs_eval_ap(double *ap, const double *scores, const unsigned char *rel, size_t n,
                     size_t n_pos, vs_eval_ties ties) {
    *ap = NAN;
    if (n && (!scores || !rel)) return vs__err(VS_ERR_INVALID_ARG, "vs_eval_ap: NULL array");
    size_t n_rel = 0;
    for (size_t i = 0; i < n; i++) {
        if (scores[i] != scores[i]) return vs__err(VS_ERR_INVALID_ARG, "vs_eval_ap: NaN score at %zu", i);
        n_rel += rel[i] != 0;
    }
    if (n_rel > n_pos)
        return vs__err(VS_ERR_INVALID_ARG, "vs_eval_ap: %zu relevant items but n_pos = %zu", n_rel,
                       n_pos);
    if (n_pos == 0) return VS_OK;
    ap_item *it = vs__malloc((n ? n : 1) * sizeof *it);
    if (!it) return vs__err(VS_ERR_NOMEM, "vs_eval_ap: out of memory");
    for (size_t i = 0; i < n; i++) {
        it[i].s = scores[i];
        it[i].rel = rel[i] != 0;
        it[i].i = i;
    }
    qsort(it, n, sizeof *it, ties == VS_EVAL_TIES_INPUT_ORDER ? cmp_input_order : cmp_pessimistic);
    double sum = 0;
    size_t tp = 0;
    for (size_t k = 0; k < n; k++)
        if (it[k].rel) {
            tp++;
            sum += (double)tp / (double)(k + 1);
        }
    vs__free(it);
    *ap = sum / (double)n_pos;
    return VS_OK;
}

double vs_eval_map_at_k(const unsigned char *rel, size_t n_queries, size_t n_ranked, size_t k) {
    if (n_queries == 0 || k == 0) return NAN;
    double total = 0;
    size_t lim = n_ranked < k ? n_ranked : k;
    for (size_t q = 0; q < n_queries; q++) {
        const unsigned char *row = rel + q * n_ranked;
        double s = 0;
        size_t hits = 0;
        for (size_t r = 0; r < lim; r++)
            if (row[r]) {
                hits++;
                s += (double)hits / (double)(r + 1);
            }
        total += s / (double)k;
    }
    return total / (double)n_queries;
}

double vs_eval_ap_trapezoid(const double *ranks, size_t n_ranks, size_t n_pos) {
    if (n_pos == 0 || n_ranks == 0) return 0.0;
    double ap = 0, step = 1.0 / (double)n_pos;
    for (size_t k = 0; k < n_ranks; k++) {
        double r = ranks[k];
        double p0 = r == 0 ? 1.0 : (double)k / r;
        double p1 = ((double)k + 1) / (r + 1);
        ap += (p1 + p0) * step / 2.0;
    }
    return ap;
}
