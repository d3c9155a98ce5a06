/*
 * search.c - the searchable code collection (vs_hamming_index), per-thread search
 * states, and the exhaustive top-K scan. The scan splits the collection over
 * n_threads threads; each computes the distances of its range block by block with
 * the popcount kernel (kernels.c) and keeps the codes within a running bound, which
 * falls to the K-th smallest distance kept whenever the kept ones pass a cap. The
 * ranges' survivors are merged, cut to the K-th smallest distance and sorted by
 * (distance, id, position). Exact, deterministic, one pass over the codes, no heap.
 * Multi-index hashing is in mih.c; sorting candidates into hits in hits.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "hamming/hamming_internal.h"

#include "core/pool.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_THREADS = 64, BLOCK = 4096, AUTO_MIH_MIN_N = 65536 };

vs_hamming_params vs_hamming_default_params(void) {
    vs_hamming_params p;
    memset(&p, 0, sizeof p);
    p.method = VS_HAMMING_AUTO;
    p.n_threads = 1;
    return p;
}

static vs_status check_bits(int bits) {
    if (bits < 64 || bits % 64 || bits > VS_HAMMING_MAX_BITS)
        return vs__err(VS_ERR_INVALID_ARG, "hamming: %d bits (need a multiple of 64 up to %d)", bits,
                       VS_HAMMING_MAX_BITS);
    return VS_OK;
}

vs_status vs_hamming_index_create(vs_hamming_index **out, const uint64_t *codes, const int64_t *ids, long n,
                                  int bits, const vs_hamming_params *p) {
    *out = NULL;
    vs_hamming_params dp = vs_hamming_default_params();
    if (!p) p = &dp;
    vs_status s = check_bits(bits);
    if (s) return s;
    if (n < 0 || n > (long)UINT32_MAX - 1 || (n > 0 && !codes))
        return vs__err(VS_ERR_INVALID_ARG, "hamming: bad collection size %ld", n);
    if (p->method < VS_HAMMING_AUTO || p->method > VS_HAMMING_MIH)
        return vs__err(VS_ERR_INVALID_ARG, "hamming: unknown method %d", p->method);
    vs_hamming_index *h = vs__calloc(1, sizeof *h);
    if (!h) return vs__err(VS_ERR_NOMEM, "out of memory");
    h->bits = bits;
    h->W = bits / 64;
    h->n = n;
    h->method = p->method;
    h->n_threads = p->n_threads < 1 ? 1 : p->n_threads > MAX_THREADS ? MAX_THREADS : p->n_threads;
    h->codes = vs__malloc_aligned(((size_t)n * h->W + 8) * sizeof(uint64_t));
    h->ids = vs__malloc(((size_t)n + 1) * sizeof(int64_t));
    if (!h->codes || !h->ids) {
        s = vs__err(VS_ERR_NOMEM, "hamming: out of memory for %ld codes", n);
        goto fail;
    }
    if (n) memcpy(h->codes, codes, (size_t)n * h->W * sizeof(uint64_t));
    for (long i = 0; i < n; i++) h->ids[i] = ids ? ids[i] : i;
    if (n > 0 && (p->method == VS_HAMMING_MIH || (p->method == VS_HAMMING_AUTO && n >= AUTO_MIH_MIN_N))) {
        if ((s = vs__hamming_mih_build(h, p->n_substrings))) goto fail;
    } else if (p->n_substrings < 0 || p->n_substrings > 64) {
        s = vs__err(VS_ERR_INVALID_ARG, "hamming: %d substrings", p->n_substrings);
        goto fail;
    }
    *out = h;
    return VS_OK;
fail:
    vs_hamming_index_free(h);
    return s;
}

void vs_hamming_index_free(vs_hamming_index *h) {
    if (!h) return;
    vs__hamming_mih_free(h);
    vs__free_aligned(h->codes);
    vs__free(h->ids);
    vs__free(h);
}

long vs_hamming_index_size(const vs_hamming_index *h) { return h->n; }
int vs_hamming_index_bits(const vs_hamming_index *h) { return h->bits; }
int vs_hamming_index_substrings(const vs_hamming_index *h) { return h->m; }

vs_status vs_hamming_state_create(vs_hamming_state **out, const vs_hamming_index *h) {
    *out = NULL;
    vs_hamming_state *st = vs__calloc(1, sizeof *st);
    if (!st) return vs__err(VS_ERR_NOMEM, "out of memory");
    size_t n = (size_t)h->n + 1;
    st->h = h;
    st->cand = vs__malloc(n * sizeof *st->cand);
    st->hist = vs__calloc((size_t)MAX_THREADS * (h->bits + 1), sizeof *st->hist);
    st->mark = h->m ? vs__calloc(n, sizeof *st->mark) : NULL;
    if (!st->cand || !st->hist || (h->m && !st->mark)) {
        vs_hamming_state_free(st);
        return vs__err(VS_ERR_NOMEM, "hamming: out of memory for a search state of %ld codes", h->n);
    }
    *out = st;
    return VS_OK;
}

void vs_hamming_state_free(vs_hamming_state *st) {
    if (!st) return;
    vs__free(st->cand);
    vs__free(st->hist);
    vs__free(st->mark);
    vs__free(st);
}

void vs_hamming_last_stats(const vs_hamming_state *st, vs_hamming_stats *out) { *out = st->stats; }

/* ------------------------------------------------------------------ scan */

typedef struct scan_job {
    vs_hamming_state *st;
    const uint64_t *q;
    long K;
    int nt;
    long lo[MAX_THREADS], hi[MAX_THREADS], n_cand[MAX_THREADS];
} scan_job;

/* Keep the candidates within the K-th smallest distance among them: cand[0..n) is
 * compacted in place, *bound lowered to that distance. hist: [bits + 1] scratch. */
static long tighten(vs__hamcand *cand, long n, long K, int bits, long *hist, unsigned *bound) {
    memset(hist, 0, (size_t)(bits + 1) * sizeof *hist);
    for (long i = 0; i < n; i++) hist[cand[i].dist]++;
    long cum = 0;
    unsigned t = (unsigned)bits;
    for (int d = 0; d <= bits; d++) {
        cum += hist[d];
        if (cum >= K) {
            t = (unsigned)d;
            break;
        }
    }
    long k = 0;
    for (long i = 0; i < n; i++)
        if (cand[i].dist <= t) cand[k++] = cand[i];
    *bound = t;
    return k;
}

/* Range r: distances block by block (the popcount kernel into an L1-sized buffer),
 * keeping every code within the running bound; when the kept ones pass a cap they
 * are cut back to those within the K-th smallest distance (the bound only falls, and
 * never below the range's K-th smallest, so every code within the final answer's
 * distance stays, ties included). Kept codes go to cand + lo[r]. */
static void scan_range(scan_job *j, int r) {
    vs_hamming_state *st = j->st;
    const vs_hamming_index *h = st->h;
    const vs__hamming_kernel *kern = vs__hamming_current();
    const int W = h->W, bits = h->bits;
    long *hist = st->hist + (size_t)r * (bits + 1);
    vs__hamcand *out = st->cand + j->lo[r];
    long room = j->hi[r] - j->lo[r], cap = 4 * j->K > 1024 ? 4 * j->K : 1024, nc = 0;
    if (cap > room) cap = room;
    unsigned bound = (unsigned)bits;
    uint16_t dbuf[BLOCK];
    for (long b = j->lo[r]; b < j->hi[r]; b += BLOCK) {
        long e = b + BLOCK < j->hi[r] ? b + BLOCK : j->hi[r];
        kern->dist(dbuf, h->codes + (size_t)b * W, e - b, j->q, W);
        for (long i = 0; i < e - b; i++) {
            unsigned d = dbuf[i];
            if (d > bound) continue;
            out[nc++] = (vs__hamcand){h->ids[b + i], (uint32_t)(b + i), d};
            if (nc == cap) {
                nc = tighten(out, nc, j->K, bits, hist, &bound);
                if (nc > cap / 2) cap = 2 * cap < room ? 2 * cap : room; /* many ties: room to grow */
            }
        }
    }
    j->n_cand[r] = nc;
}

static void scan_worker(void *ctx, int r) { scan_range(ctx, r); }

vs_status vs__hamming_scan_topk(vs_hamming_state *st, vs_hamming_hit *hits, long *n_hits, const uint64_t *query,
                                long K) {
    const vs_hamming_index *h = st->h;
    scan_job job;
    memset(&job, 0, sizeof job);
    job.st = st;
    job.q = query;
    job.K = K < h->n ? K : h->n;
    long per_min = 32768; /* below this a thread costs more than it saves */
    long nt = h->n_threads;
    if (nt > h->n / per_min) nt = h->n / per_min > 0 ? h->n / per_min : 1;
    job.nt = (int)nt;
    for (int r = 0; r < job.nt; r++) {
        job.lo[r] = h->n * r / job.nt;
        job.hi[r] = h->n * (r + 1) / job.nt;
    }
    vs__pool_each(job.nt, scan_worker, &job); /* a range whose thread cannot start runs here */
    /* merge the ranges' candidates (range r starts at cand + lo[r]) */
    long nc = job.n_cand[0];
    for (int r = 1; r < job.nt; r++) {
        memmove(st->cand + nc, st->cand + job.lo[r], (size_t)job.n_cand[r] * sizeof *st->cand);
        nc += job.n_cand[r];
    }
    unsigned bound;
    nc = tighten(st->cand, nc, job.K, h->bits, st->hist, &bound);
    vs__hamming_emit(h, st->cand, nc, hits, job.K, n_hits);
    st->stats.method = VS_HAMMING_EXHAUSTIVE;
    return VS_OK;
}

vs_status vs_hamming_search(vs_hamming_state *st, vs_hamming_hit *hits, long *n_hits, const uint64_t *query,
                            long K) {
    *n_hits = 0;
    memset(&st->stats, 0, sizeof st->stats);
    if (K < 1) return vs__err(VS_ERR_INVALID_ARG, "hamming: K = %ld (need >= 1)", K);
    const vs_hamming_index *h = st->h;
    if (h->n == 0) return VS_OK;
    if (h->m && h->method != VS_HAMMING_EXHAUSTIVE) {
        /* AUTO: a K that is a large part of the collection is a scan anyway */
        int budget = h->method == VS_HAMMING_AUTO;
        if (!(budget && K > h->n / 64) && vs__hamming_mih_topk(st, hits, n_hits, query, K, budget) == 0)
            return VS_OK;
        st->stats.fell_back = 1;
    }
    return vs__hamming_scan_topk(st, hits, n_hits, query, K);
}

vs_status vs_hamming_topk(vs_hamming_hit *hits, long *n_hits, const uint64_t *query, const uint64_t *codes,
                          const int64_t *ids, long n, int bits, long K, int n_threads) {
    *n_hits = 0;
    vs_hamming_params p = vs_hamming_default_params();
    p.method = VS_HAMMING_EXHAUSTIVE;
    p.n_threads = n_threads;
    vs_hamming_index *h;
    vs_hamming_state *st = NULL;
    vs_status s = vs_hamming_index_create(&h, codes, ids, n, bits, &p);
    if (s) return s;
    if (!(s = vs_hamming_state_create(&st, h))) s = vs_hamming_search(st, hits, n_hits, query, K);
    vs_hamming_state_free(st);
    vs_hamming_index_free(h);
    return s;
}
