/*
 * mih.c - multi-index hashing (Norouzi, Punjani, Fleet, TPAMI 2014): exact K-nearest
 * neighbour search in Hamming space without touching every code. A code of `bits`
 * bits is cut into m disjoint substrings; substring j of every code goes into a
 * direct-addressed table (bucket = substring value, 2^len_j buckets, len_j <= 24,
 * code positions ascending in each bucket). By the pigeonhole principle a code at
 * distance d from the query has some substring within floor(d/m) of the query's, so
 * probing, for s = 0, 1, 2, ..., every bucket at exactly distance s in substring j
 * = 0..m-1 finds every code at distance <= m*s + j by the time substring j of round
 * s is done. The search stops as soon as the K-th smallest distance found is within
 * that bound, which makes the result exact, ties included (every code at the K-th
 * distance has been seen). Each found code's full distance is computed once (a
 * per-state generation mark dedupes). Under VS_HAMMING_AUTO the search gives up
 * (and the caller scans) when its work passes a budget relative to n, so a query
 * with only far neighbours costs at most a small multiple of a scan.
 */
#include "hamming/hamming_internal.h"

#include <math.h>
#include <string.h>

enum { MAX_SUBLEN = 24, MIN_SUBLEN = 8 };

void vs__hamming_mih_free(vs_hamming_index *h) {
    for (int j = 0; j < h->m; j++) {
        vs__free(h->starts[j]);
        vs__free(h->items[j]);
        h->starts[j] = NULL;
        h->items[j] = NULL;
    }
    h->m = 0;
}

vs_status vs__hamming_mih_build(vs_hamming_index *h, int m) {
    int bits = h->bits;
    int m_min = (bits + MAX_SUBLEN - 1) / MAX_SUBLEN, m_max = bits / MIN_SUBLEN;
    if (m_max > 64) m_max = 64;
    if (m < 0 || m > 64 || (m && (bits + m - 1) / m > MAX_SUBLEN) || (m && m > bits))
        return vs__err(VS_ERR_INVALID_ARG, "hamming: %d substrings of %d bits (each must be 1..%d bits, m <= 64)", m,
                       bits, MAX_SUBLEN);
    if (m == 0) {
        double lg = h->n > 2 ? log2((double)h->n) : 1.0;
        m = (int)floor(bits / lg + 0.5);
        if (m < m_min) m = m_min;
        if (m > m_max) m = m_max;
        if (m < 1) m = 1;
    }
    int base = bits / m, extra = bits % m, off = 0;
    h->m = m;
    for (int j = 0; j < m; j++) {
        int len = base + (j < extra);
        h->sub_off[j] = off;
        h->sub_len[j] = len;
        off += len;
        size_t nbk = (size_t)1 << len;
        h->starts[j] = vs__calloc(nbk + 1, sizeof(uint32_t));
        h->items[j] = vs__malloc(((size_t)h->n + 1) * sizeof(uint32_t));
        if (!h->starts[j] || !h->items[j]) {
            vs__hamming_mih_free(h);
            return vs__err(VS_ERR_NOMEM, "hamming: out of memory for the multi-index tables (%ld codes, %d-bit substrings)",
                           h->n, len);
        }
        uint32_t *st = h->starts[j], *it = h->items[j];
        for (long i = 0; i < h->n; i++) st[vs__ham_sub(h->codes + (size_t)i * h->W, off - len, len) + 1]++;
        for (size_t v = 1; v <= nbk; v++) st[v] += st[v - 1];
        /* st[v] = start of bucket v; fill (advancing st[v] to the bucket's end), then shift back */
        for (long i = 0; i < h->n; i++) it[st[vs__ham_sub(h->codes + (size_t)i * h->W, off - len, len)]++] = (uint32_t)i;
        for (size_t v = nbk; v > 0; v--) st[v] = st[v - 1];
        st[0] = 0;
    }
    return VS_OK;
}

/* Sum of the histogram up to d (inclusive). */
static long cum_upto(const long *hist, int d) {
    long c = 0;
    for (int k = 0; k <= d; k++) c += hist[k];
    return c;
}

VS__CLONES
static int mih_run(vs_hamming_state *st, const uint64_t *q, long K, long max_cand, long max_lookup, long *n_found) {
    const vs_hamming_index *h = st->h;
    const int W = h->W, m = h->m, bits = h->bits;
    const uint64_t *codes = h->codes;
    uint32_t *mark = st->mark, gen = st->gen;
    long *hist = st->hist;
    vs__hamcand *cand = st->cand;
    uint32_t qs[64];
    int maxlen = 0;
    for (int j = 0; j < m; j++) {
        qs[j] = vs__ham_sub(q, h->sub_off[j], h->sub_len[j]);
        if (h->sub_len[j] > maxlen) maxlen = h->sub_len[j];
    }
    long nc = 0, lookups = 0;
    for (int s = 0; s <= maxlen; s++) {
        st->stats.radius = s;
        for (int j = 0; j < m; j++) {
            int len = h->sub_len[j];
            if (s <= len) {
                const uint32_t *starts = h->starts[j], *items = h->items[j];
                uint64_t mask = s ? (1ULL << s) - 1 : 0, end = 1ULL << len;
                for (;;) {
                    uint32_t v = qs[j] ^ (uint32_t)mask;
                    lookups++;
                    for (uint32_t k = starts[v], e = starts[v + 1]; k < e; k++) {
                        uint32_t pos = items[k];
                        if (mark[pos] == gen) continue;
                        mark[pos] = gen;
                        const uint64_t *c = codes + (size_t)pos * W;
                        int d = 0;
                        for (int w = 0; w < W; w++) d += __builtin_popcountll(c[w] ^ q[w]);
                        cand[nc++] = (vs__hamcand){h->ids[pos], pos, (uint32_t)d};
                        hist[d]++;
                    }
                    if (max_cand && (nc > max_cand || lookups > max_lookup)) {
                        st->stats.n_lookups = lookups;
                        st->stats.n_candidates = nc;
                        return 1;
                    }
                    if (!s) break;
                    /* next s-subset of len bits (Gosper's hack) */
                    uint64_t c = mask & (~mask + 1), r = mask + c;
                    mask = (((r ^ mask) >> 2) / c) | r;
                    if (mask >= end) break;
                }
            }
            /* every code within m*s + j has been found */
            int bound = m * s + j;
            if (bound >= bits || cum_upto(hist, bound) >= K) {
                st->stats.n_lookups = lookups;
                st->stats.n_candidates = nc;
                *n_found = nc;
                return 0;
            }
        }
    }
    st->stats.n_lookups = lookups;
    st->stats.n_candidates = nc;
    *n_found = nc;
    return 0;
}

int vs__hamming_mih_topk(vs_hamming_state *st, vs_hamming_hit *hits, long *n_hits, const uint64_t *query, long K,
                         int budget) {
    const vs_hamming_index *h = st->h;
    if (K > h->n) K = h->n;
    if (++st->gen == 0) { /* wrapped: clear the marks once every 2^32 searches */
        memset(st->mark, 0, (size_t)h->n * sizeof *st->mark);
        st->gen = 1;
    }
    memset(st->hist, 0, (size_t)(h->bits + 1) * sizeof *st->hist);
    long max_cand = 0, max_lookup = 0;
    if (budget) {
        /* a found code costs a few cache misses, a scanned one a few ns: a scan of n
         * codes is worth about n/64 candidates (bench/bench_hamming.c) */
        max_cand = h->n / 64 > 256 ? h->n / 64 : 256;
        max_lookup = h->n / 16 > 1024 ? h->n / 16 : 1024;
    }
    long nc = 0;
    if (mih_run(st, query, K, max_cand, max_lookup, &nc)) return 1;
    /* keep the candidates within the K-th smallest distance found */
    long cum = 0;
    int dk = h->bits;
    for (int d = 0; d <= h->bits; d++) {
        cum += st->hist[d];
        if (cum >= K) {
            dk = d;
            break;
        }
    }
    long k = 0;
    for (long i = 0; i < nc; i++)
        if (st->cand[i].dist <= (uint32_t)dk) st->cand[k++] = st->cand[i];
    vs__hamming_emit(h, st->cand, k, hits, K, n_hits);
    st->stats.method = VS_HAMMING_MIH;
    return 0;
}
