/*
 * ann.h - nearest neighbours of float vectors by inner product (cosine for unit
 * vectors): the global-vector first stage of two-stage search (search.h, docs/search.md
 * "Global-vector first stage") and bench/scale. Two back ends behind one handle: an
 * exact flat index in plain C, always built and the reference the other is tested
 * against, and FAISS indexes named by FAISS's factory string (flat, HNSW, IVF-Flat,
 * IVF-PQ, ...) when vidsim was built with FAISS (vs_ann_have_faiss()). Also the global
 * vector of a video, the L2-normalised mean of its region vectors, and its segment
 * vectors, the global vectors of S equal temporal parts.
 *
 * Thread safety: build (train, add, set) from one thread; vs_ann_search is then safe
 * from several threads at once. FAISS parallelises build and batch search with its own
 * OpenMP threads; a single query runs on the calling thread.
 *
 * Example:
 *     vs_ann *a;
 *     if (vs_ann_create(&a, 256, "faiss:IVF1024,Flat") != VS_OK) puts(vs_last_error());
 *     vs_ann_train(a, x, n); vs_ann_add(a, x, n); vs_ann_set(a, "nprobe=32");
 *     float sc[10]; int64_t id[10];
 *     vs_ann_search(a, q, 1, 10, sc, id);   // id[k] = row of x, best first, -1 past the end
 *     vs_ann_free(a);
 */
#ifndef VIDSIM_ANN_H
#define VIDSIM_ANN_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this build has FAISS ("faiss:..." specs), else 0. */
VS_API int vs_ann_have_faiss(void);

typedef struct vs_ann vs_ann;

/* An empty index of d-dim vectors. spec: "flat" (exact, plain C), or "faiss:FACTORY"
 * with a FAISS index_factory string, e.g. "faiss:Flat", "faiss:HNSW32",
 * "faiss:IVF1024,Flat", "faiss:IVF4096,PQ32" (inner-product metric). VS_ERR_UNSUPPORTED
 * for a faiss spec in a build without FAISS; VS_ERR_INVALID_ARG for a bad spec. */
VS_API vs_status vs_ann_create(vs_ann **out, int d, const char *spec);
VS_API void vs_ann_free(vs_ann *a); /* NULL ok */

VS_API int vs_ann_dim(const vs_ann *a);
VS_API long vs_ann_size(const vs_ann *a);           /* vectors added */
VS_API const char *vs_ann_spec(const vs_ann *a);
VS_API int vs_ann_is_trained(const vs_ann *a);      /* 0: call vs_ann_train before adding */

/* Train (IVF, PQ) on x [n, d]; a no-op for indexes that need none. */
VS_API vs_status vs_ann_train(vs_ann *a, const float *x, long n);
/* Append x [n, d]: they get ids size, size+1, ... */
VS_API vs_status vs_ann_add(vs_ann *a, const float *x, long n);
/* Search-time parameters, FAISS ParameterSpace syntax: "nprobe=32", "efSearch=128",
 * comma-separated. The flat index takes none ("" ok). */
VS_API vs_status vs_ann_set(vs_ann *a, const char *params);
/* The k best of each query q [nq, d]: scores [nq, k] (inner products, best first) and
 * ids [nq, k] (-1 and -inf past the last vector). The flat index reads its vectors once
 * for all nq queries, on the calling thread; FAISS runs a batch (nq > 1) on its OpenMP
 * threads. */
VS_API vs_status vs_ann_search(const vs_ann *a, const float *q, long nq, long k, float *scores, int64_t *ids);

/* Write the index to path (atomically; FAISS's own format for faiss specs, a small
 * VSTF for flat) and read one back. Written for its size (bench/scale's disk figure) and
 * for reuse; load checks d. */
VS_API vs_status vs_ann_save(const vs_ann *a, const char *path);
VS_API vs_status vs_ann_load(vs_ann **out, const char *path, const char *spec, int d);

/* The global vector of a video: out [D] = the L2-normalised mean of x [n, D] (its
 * T x R region vectors); zero when the mean is zero or n is 0. */
VS_API void vs_ann_mean_vector(float *out, const float *x, long n, int D);

/* The segment vectors of a video (the gvec first stage, docs/search.md): out [P, D] =
 * the global vectors (vs_ann_mean_vector) of P equal temporal parts of x [T, R, D],
 * part j the frames [j T / P, (j + 1) T / P). P = S when T >= S; a video of fewer
 * frames than S gives P = T parts, one per frame (no part repeated, so the ANN index
 * holds no duplicate rows), and T <= 0 gives one zero vector (P = 1). S = 1 is exactly
 * vs_ann_mean_vector over all T x R rows. Returns P (1 <= P <= S); out must hold S x D
 * floats. S < 1 is taken as 1. */
VS_API int vs_ann_segment_vectors(float *out, const float *x, int T, int R, int D, int S);

/* ------------------------------------------------------------------ learned whitening
 * A learned whitening of global and segment vectors (docs/scale.md "A learned whitening
 * of the first stage"): y = normalise(W x) with W = (C + shrink * tr(C)/d * I)^(-1/2),
 * C the mean outer product of the differences a_i - b_i of matching pairs (the learned
 * whitening of Radenović, Tolias and Chum, without its centring). The pairs are two
 * augmented views of the same frames (vs_s2vs_data_view_pairs, train.h): no labels.
 * Directions in which copies of one video differ are shrunk, directions they keep
 * are kept, so after the map a copy's vector sits closer to its source's than to an
 * unrelated video's. Read-only once made: apply is safe from several threads. */
typedef struct vs_gvec_whiten vs_gvec_whiten;

/* Learn from n pairs a [n, d], b [n, d] (rows need not be unit vectors). shrink > 0
 * (0.5 to 2 is reasonable; 1: the docs' measurements). VS_ERR_INVALID_ARG for n < 1, d
 * out of 1..4096, shrink <= 0 or not finite, a non-finite value, or pairs that never
 * differ (C = 0). meta: optional NULL-terminated key, value list stored with it
 * ("features", "features_int8": the model ids of the features it was learned on, at fp32
 * and through the bundled int8 calibration; search applies it to an index of either). */
VS_API vs_status vs_gvec_whiten_learn(vs_gvec_whiten **out, const float *a, const float *b, long n, int d,
                                      double shrink, const char *const *meta);
/* Save (VSTF kind gvec_whitening, atomically) and load: load checks the kind, the shape
 * and that every value is finite, naming the file (VS_ERR_IO, VS_ERR_FORMAT). */
VS_API vs_status vs_gvec_whiten_save(const vs_gvec_whiten *w, const char *path);
VS_API vs_status vs_gvec_whiten_load(vs_gvec_whiten **out, const char *path);
VS_API void vs_gvec_whiten_free(vs_gvec_whiten *w); /* NULL ok */
VS_API int vs_gvec_whiten_dim(const vs_gvec_whiten *w);
/* A stored metadata value ("features", "shrink", "n_pairs", ...) or NULL. */
VS_API const char *vs_gvec_whiten_meta(const vs_gvec_whiten *w, const char *key);
/* 16 hex digits naming the map (FNV-1a of W), for notes and model ids. */
VS_API const char *vs_gvec_whiten_id(const vs_gvec_whiten *w);
/* The map [d, d] (symmetric, row-major), for tests. */
VS_API const float *vs_gvec_whiten_matrix(const vs_gvec_whiten *w);
/* x [n, d] := normalise(x W) row by row, in place; a zero row stays zero. VS_ERR_NOMEM
 * only. The same row gives the same floats whatever n and the other rows. */
VS_API vs_status vs_gvec_whiten_apply(const vs_gvec_whiten *w, float *x, long n);

#ifdef __cplusplus
}
#endif

#endif
