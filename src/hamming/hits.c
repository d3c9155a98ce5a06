/*
 * hits.c - the last step shared by both Hamming searches: candidates sorted by
 * (distance, id, position) and cut to the K best as hits. Its own file so that the
 * exhaustive scan (search.c) and multi-index hashing (mih.c) both call down into it
 * instead of into each other. It does not search.
 */
#include "hamming/hamming_internal.h"

#include <stdlib.h>

static int cmp_cand(const void *a, const void *b) {
    const vs__hamcand *x = a, *y = b;
    if (x->dist != y->dist) return x->dist < y->dist ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void vs__hamming_emit(const vs_hamming_index *h, vs__hamcand *cand, long n, vs_hamming_hit *hits, long K,
                      long *n_hits) {
    (void)h;
    qsort(cand, (size_t)n, sizeof *cand, cmp_cand);
    long k = n < K ? n : K;
    for (long i = 0; i < k; i++) hits[i] = (vs_hamming_hit){cand[i].id, (int32_t)cand[i].dist};
    *n_hits = k;
}
