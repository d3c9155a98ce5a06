/*
 * hamming_internal.h - private pieces of the Hamming search module shared by
 * kernels.c (popcount distance kernels and their run-time dispatch), search.c (the
 * index, states, exhaustive top-K), mih.c (multi-index hashing), hits.c (candidates
 * sorted into hits, called by both searches) and lsh.c. Tests and
 * bench/bench_hamming.c include it to run every kernel against the reference.
 */
#ifndef VS_HAMMING_INTERNAL_H
#define VS_HAMMING_INTERNAL_H

#include "core/internal.h"
#include "vidsim/hamming.h"

/* Distances of n codes [n,W] to q [W]: out [n]. W >= 1 (any; 1, 2, 4 vectorised). */
typedef void (*vs__hamdist_fn)(uint16_t *out, const uint64_t *codes, long n, const uint64_t *q, int W);

typedef struct vs__hamming_kernel {
    const char *name;     /* "ref", "popcnt", "avx2", "avx512" */
    vs__hamdist_fn dist;
    int supported;        /* this CPU runs it */
} vs__hamming_kernel;

/* Every kernel compiled in (supported or not), reference first; *n gets the count. */
const vs__hamming_kernel *vs__hamming_kernels(int *n);
/* The kernel in use (the fastest supported, unless vs__hamming_use_kernel chose). */
const vs__hamming_kernel *vs__hamming_current(void);
/* Use the named kernel for every later call in the process (benchmarks and tests);
 * NULL restores the default. VS_ERR_UNSUPPORTED if this CPU cannot run it. */
vs_status vs__hamming_use_kernel(const char *name);

struct vs_hamming_index {
    int bits, W;          /* W = bits / 64 words per code */
    long n;
    uint64_t *codes;      /* [n, W] */
    int64_t *ids;         /* [n] */
    int method;           /* as created */
    int n_threads;
    /* multi-index hashing (m == 0: none) */
    int m;                /* substrings */
    int sub_off[64], sub_len[64]; /* bit offset and length of substring j (len <= 24) */
    uint32_t *starts[64]; /* [2^len + 1] bucket starts into items[j] */
    uint32_t *items[64];  /* [n] code positions, grouped by substring value, ascending within */
};

/* A candidate: its distance, id and position. */
typedef struct vs__hamcand {
    int64_t id;
    uint32_t pos;
    uint32_t dist;
} vs__hamcand;

struct vs_hamming_state {
    const vs_hamming_index *h;
    uint32_t *mark;       /* [n] MIH visited generation */
    uint32_t gen;
    vs__hamcand *cand;    /* [n] candidates (scan: range r's from cand + lo[r]) */
    long *hist;           /* [bits + 1] */
    vs_hamming_stats stats;
};

/* Substring of len bits (1..32) starting at bit off of code c. */
static inline uint32_t vs__ham_sub(const uint64_t *c, int off, int len) {
    int w = off >> 6, sh = off & 63;
    uint64_t v = c[w] >> sh;
    if (sh + len > 64) v |= c[w + 1] << (64 - sh);
    return (uint32_t)(v & ((1ULL << len) - 1));
}

/* Exhaustive top-K into hits (see vs_hamming_search). */
vs_status vs__hamming_scan_topk(vs_hamming_state *st, vs_hamming_hit *hits, long *n_hits,
                                const uint64_t *query, long K);
/* MIH top-K; with budget (AUTO) returns 1 without results when the work exceeds it,
 * 0 when hits are filled. */
int vs__hamming_mih_topk(vs_hamming_state *st, vs_hamming_hit *hits, long *n_hits, const uint64_t *query,
                         long K, int budget);
/* Build the substring tables of h (h->codes, n, bits set). m = 0: auto. */
vs_status vs__hamming_mih_build(vs_hamming_index *h, int m);
void vs__hamming_mih_free(vs_hamming_index *h);
/* Sort cand[0..n) by (dist, id, pos) and write the first min(K, n) as hits. */
void vs__hamming_emit(const vs_hamming_index *h, vs__hamcand *cand, long n, vs_hamming_hit *hits, long K,
                      long *n_hits);

#endif
