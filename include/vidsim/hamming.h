/*
 * hamming.h - binary codes and Hamming-distance search: the first stage of two-stage
 * retrieval (hash codes propose candidates, the similarity network re-ranks them).
 * A code of `bits` bits (a multiple of 64; 64, 128 and 256 have fast paths) is
 * bits/64 uint64 words; bit i is bit i%64 of word i/64. Search returns the K codes
 * nearest to a query, ordered by (distance, id) ascending, so the order is
 * deterministic even with ties. Two methods, both exact: an exhaustive popcount scan
 * (AVX-512 VPOPCNTDQ, AVX2 or POPCNT, picked at run time; a plain C path is the
 * reference) over several threads, and multi-index hashing (Norouzi, Punjani and
 * Fleet, "Fast exact search in Hamming space with multi-index hashing", 2014) for
 * large collections. Also a random-projection LSH encoder (a baseline hash "model"
 * needing no training). Code: src/hamming/. Design and figures: docs/search.md.
 *
 * Thread safety: a vs_hamming_index is read-only after vs_hamming_index_create and
 * may be shared by any number of threads, each with its own vs_hamming_state. A
 * vs_hamming_lsh is read-only and shareable. vs_hamming_search may start
 * params.n_threads - 1 short-lived threads for the exhaustive scan.
 *
 * Example:
 *     vs_hamming_params p = vs_hamming_default_params();
 *     vs_hamming_index *h; vs_hamming_state *st;
 *     if (vs_hamming_index_create(&h, codes, ids, n, 64, &p) != VS_OK) { puts(vs_last_error()); return; }
 *     vs_hamming_state_create(&st, h);
 *     vs_hamming_hit hits[100]; long nh;
 *     vs_hamming_search(st, hits, &nh, query, 100);   // hits[0..nh): nearest first
 *     vs_hamming_state_free(st); vs_hamming_index_free(h);
 */
#ifndef VIDSIM_HAMMING_H
#define VIDSIM_HAMMING_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_HAMMING_MAX_BITS 1024

/* One search result. */
typedef struct vs_hamming_hit {
    int64_t id;    /* the code's id: ids[i] as given to vs_hamming_index_create, or i */
    int32_t dist;  /* Hamming distance to the query, 0..bits */
} vs_hamming_hit;

/* Search methods (vs_hamming_params.method). */
enum {
    VS_HAMMING_AUTO = 0,       /* MIH for large collections, falling back to the scan for a
                                  query whose neighbours are far (same results either way) */
    VS_HAMMING_EXHAUSTIVE = 1, /* popcount scan over every code */
    VS_HAMMING_MIH = 2         /* multi-index hashing, never falls back */
};

typedef struct vs_hamming_params {
    int method;        /* VS_HAMMING_AUTO (default), _EXHAUSTIVE or _MIH */
    int n_substrings;  /* MIH: substrings m (0 = auto: about bits / log2(n), each of at
                          most 24 bits); ignored by the scan */
    int n_threads;     /* threads for one exhaustive scan (default 1) */
} vs_hamming_params;

VS_API vs_hamming_params vs_hamming_default_params(void);

/* Distance between two codes of n_words 64-bit words. */
VS_API int vs_hamming_distance(const uint64_t *a, const uint64_t *b, int n_words);

/* Distances of one query to n codes: dist [n], query [bits/64], codes [n, bits/64].
 * Single-threaded, fastest kernel of this CPU. VS_ERR_INVALID_ARG for bits not a
 * positive multiple of 64 up to VS_HAMMING_MAX_BITS. */
VS_API vs_status vs_hamming_distances(uint16_t *dist, const uint64_t *query, const uint64_t *codes,
                                      long n, int bits);

/* Name of the popcount kernel in use: "avx512", "avx2", "popcnt" or "ref". */
VS_API const char *vs_hamming_kernel_name(void);

typedef struct vs_hamming_index vs_hamming_index; /* read-only after create, shareable */
typedef struct vs_hamming_state vs_hamming_state; /* per-thread scratch for searches */

/* Build a searchable collection of n codes [n, bits/64] (copied; the caller keeps
 * codes and ids), with ids [n] (copied; NULL = 0..n-1). With method AUTO or MIH the
 * substring tables are built (about (n + 2^b) * 4 bytes per substring of b bits).
 * n may be 0. On failure *out is NULL. */
VS_API vs_status vs_hamming_index_create(vs_hamming_index **out, const uint64_t *codes,
                                         const int64_t *ids, long n, int bits,
                                         const vs_hamming_params *p);
VS_API void vs_hamming_index_free(vs_hamming_index *h); /* accepts NULL */
VS_API long vs_hamming_index_size(const vs_hamming_index *h);
VS_API int vs_hamming_index_bits(const vs_hamming_index *h);
/* MIH substrings in use (0 when the index has no tables). */
VS_API int vs_hamming_index_substrings(const vs_hamming_index *h);

/* Scratch for searching h from one thread (about 20 bytes per code). h must outlive it. */
VS_API vs_status vs_hamming_state_create(vs_hamming_state **out, const vs_hamming_index *h);
VS_API void vs_hamming_state_free(vs_hamming_state *st); /* accepts NULL */

/* The K nearest codes to query [bits/64]: hits [K] (caller-allocated) get the first
 * *n_hits = min(K, n) results ordered by distance, then id, then insertion position.
 * Exact with every method. K < 1 is VS_ERR_INVALID_ARG. */
VS_API vs_status vs_hamming_search(vs_hamming_state *st, vs_hamming_hit *hits, long *n_hits,
                                   const uint64_t *query, long K);

/* What the last vs_hamming_search on st did (for benchmarks). */
typedef struct vs_hamming_stats {
    int method;          /* VS_HAMMING_EXHAUSTIVE or VS_HAMMING_MIH: what answered */
    int radius;          /* MIH: last substring radius searched */
    long n_lookups;      /* MIH: bucket lookups */
    long n_candidates;   /* MIH: distinct codes whose full distance was computed */
    int fell_back;       /* AUTO: 1 if MIH gave up and the scan answered */
} vs_hamming_stats;
VS_API void vs_hamming_last_stats(const vs_hamming_state *st, vs_hamming_stats *out);

/* One-shot exhaustive top-K without an index object (allocates scratch per call):
 * same contract as vs_hamming_search over codes [n, bits/64] with ids [n] or NULL. */
VS_API vs_status vs_hamming_topk(vs_hamming_hit *hits, long *n_hits, const uint64_t *query,
                                 const uint64_t *codes, const int64_t *ids, long n, int bits,
                                 long K, int n_threads);

/* ------------------------------------------------------------------ LSH baseline */

/* Random-projection LSH (Charikar's sign of random hyperplanes) of a video's region
 * features: g = mean over frames of the L2-normalised mean over regions, then bit b
 * = (g . w_b >= 0) with w_b ~ N(0, I_D) drawn from a seeded generator. Needs no
 * training; a baseline for learned hashes (ConMH) and a stand-in for tests. */
typedef struct vs_hamming_lsh vs_hamming_lsh;

/* bits: a multiple of 64 up to VS_HAMMING_MAX_BITS; D: feature dimension. */
VS_API vs_status vs_hamming_lsh_create(vs_hamming_lsh **out, int bits, int D, uint64_t seed);
VS_API void vs_hamming_lsh_free(vs_hamming_lsh *l); /* accepts NULL */
VS_API int vs_hamming_lsh_bits(const vs_hamming_lsh *l);
/* Stable id naming bits, D and seed, e.g. "lsh-64-d512-s1" (owned by l). */
VS_API const char *vs_hamming_lsh_id(const vs_hamming_lsh *l);
/* code [bits/64] from regions [T,R,D]. VS_ERR_INVALID_ARG if D differs or T, R < 1. */
VS_API vs_status vs_hamming_lsh_encode(const vs_hamming_lsh *l, uint64_t *code, const float *regions,
                                       int T, int R, int D);

#ifdef __cplusplus
}
#endif

#endif
