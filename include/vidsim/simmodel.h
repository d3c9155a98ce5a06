/*
 * simmodel.h - the ViSiL video similarity network as S2VS uses it, and the untrained
 * ViSiL_f baseline. Input: per-frame region features [T, R, D] (features.h).
 *   index:       x' = sigmoid(u . tanh(W x + b)) * x per region (attention) -> [T,R,D]
 *   similarity:  f2f[i,j] = mean over query regions of max over target regions of <q,t>
 *                -> 4-layer CNN comparator (zero pad, conv3x3 32/64/128 + ReLU, two 2x2
 *                max-pools, 1x1 conv) -> Hardtanh -> mean over query rows of max over
 *                target columns. Evaluation scale [-1, 1]; asymmetric (query -> target).
 *   visil_f:     no learned parts: f2f of the raw features, then the same video Chamfer.
 * Model files are VSTF (docs/formats.md) with the reference's state-dict names and
 * layouts; docs/simmodel.md has the details, parity figures and speed.
 *
 * Thread safety: a vs_simmodel is read-only after load and may be shared by any number
 * of threads. Each thread uses its own vs_simmodel_state (scratch, cached activations).
 * A state with n_threads > 1 starts that many worker threads inside a call (none live
 * between calls). Creating a state with n_threads > 1 puts OpenBLAS at one thread
 * (once, process-wide, unless the application chose with vs_blas_set_threads;
 * docs/threading.md), so the workers' GEMMs do not oversubscribe the cores.
 *
 * Example:
 *     vs_simmodel *m; vs_simmodel_state *st;
 *     vs_simmodel_params p = vs_simmodel_default_params();
 *     if (vs_simmodel_load(&m, "s2vs_dns.vstf") != VS_OK) { puts(vs_last_error()); return; }
 *     vs_simmodel_state_create(&st, m, &p);
 *     vs_simmodel_index(st, q, NULL, q, Tq, 9, 512);          // in place, [Tq,9,512]
 *     vs_simmodel_index(st, t, NULL, t, Tt, 9, 512);
 *     vs_simvideo target = { t, Tt };
 *     float sim;
 *     vs_simmodel_similarity(st, &sim, q, Tq, &target, 1, 9, 512);
 *     vs_simmodel_state_free(st); vs_simmodel_free(m);
 */
#ifndef VIDSIM_SIMMODEL_H
#define VIDSIM_SIMMODEL_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vs_simmodel vs_simmodel;             /* read-only, shareable */
typedef struct vs_simmodel_state vs_simmodel_state; /* one per thread */

/* Shortest video the comparator accepts; shorter ones are repeated (concatenated with
 * themselves, doubling) until at least this long, as the reference does. */
#define VS_SIMMODEL_MIN_FRAMES 4

typedef struct vs_simmodel_params {
    int n_threads;      /* worker threads per call (default 1); targets are shared out,
                           or, with fewer targets than threads, each pair is split */
    int target_chunk;   /* frames; 0 = off (default). >0: targets longer than this are cut
                           into chunks scored separately and averaged (the S2VS evaluation
                           uses 2048); a tail shorter than 4 frames is dropped (DnS's
                           choice; S2VS would fail on it). */
    long gemm_chunk;    /* max floats of one f2f GEMM block [Tb*R, Ub*R] (default 2M = 8 MB);
                           the full T*R x U*R product is never materialised */
    long band_floats;   /* max floats of comparator activations per worker in
                           vs_simmodel_similarity (default 16M = 64 MB); larger pairs run
                           the comparator in bands of rows with a halo (same result).
                           vs_simmodel_pair always keeps every map (~80*T*U floats). */
    int precision;      /* VS_PRECISION_FP32 (default) or VS_PRECISION_BF16 (base.h): the
                           frame-to-frame region dot products (the f2f GEMM) with the features
                           rounded to bfloat16 and float32 sums, through oneDNN (AMX or AVX-512
                           BF16): about 2x faster, similarities within ~1e-3 (docs/simmodel.md).
                           State creation fails with VS_ERR_UNSUPPORTED where the CPU or the
                           build lacks it. Training always runs in float32. */
    float temporal;     /* ViSiL_f only: weight w of temporal consistency in its score, 0..1
                           (default 0: the published ViSiL_f). Each cell of the f2f map is
                           mixed with the mean of its diagonal run before the video Chamfer:
                           S'[i,j] = (1-w) S[i,j] + w (S[i-1,j-1] + S[i,j] + S[i+1,j+1]) / n,
                           n the run's cells inside the map. A copy keeps its frames in order,
                           so its matches line up along a diagonal and keep their value; a
                           lone frame that happens to look alike loses up to w 2/3 of it. On
                           the pair's own frames (a video under 4 frames is not repeated for
                           it, as ViSiL's comparator needs), and only when both videos have 3
                           frames or more (a shorter one has no run to check). The
                           training-free stand-in for ViSiL's comparator, which learns such
                           patterns (docs/hard_copies.md "Temporal consistency"). Search,
                           dedup and compare use VS_TEMPORAL_DEFAULT (below). Ignored by
                           ViSiL models and by training */
} vs_simmodel_params;

/* The temporal weight that search, dedup, compare and the stored background levels use
 * (vs_search_default_params, vs_norm_default_params; docs/hard_copies.md "Temporal
 * consistency"). */
#define VS_TEMPORAL_DEFAULT 0.5f

VS_API vs_simmodel_params vs_simmodel_default_params(void);
/* VS_PRECISION_BF16 where this build and CPU run the bf16 f2f (oneDNN, AMX or AVX-512
 * BF16), else VS_PRECISION_FP32: what search, dedup and compare use unless told
 * (vs_search_default_params; the library's simmodel default above stays float32). */
VS_API int vs_simmodel_default_precision(void);

/* ------------------------------------------------------------------ model */

/* Load a VSTF model file. Tensors (PyTorch state-dict names and layouts, float32):
 *   attention.transform.weight [D,D], attention.transform.bias [D],
 *   attention.context_vector.weight [1,D],
 *   visil_head.conv1.weight [32,1,3,3], .bias [32]; conv2 [64,32,3,3], [64];
 *   conv3 [128,64,3,3], [128]; visil_head.fconv.weight [1,128,1,1], .bias [1].
 * D comes from the file. Without the three attention tensors the model indexes with
 * the identity (any D). A missing or mis-shaped tensor fails with VS_ERR_FORMAT and a
 * message naming the file and the tensor. A file whose metadata says
 * simmodel.kind=visil_f loads the builtin baseline. *out is NULL on failure. */
VS_API vs_status vs_simmodel_load(vs_simmodel **out, const char *path);

/* Builtin models: "visil_f" (no learned parts, any D). */
VS_API vs_status vs_simmodel_builtin(vs_simmodel **out, const char *name);

/* A ViSiL model with the reference's initialisation (xavier-uniform weights, zero
 * biases) from a fixed seed: for benchmarks and as a training start. */
VS_API vs_status vs_simmodel_create_random(vs_simmodel **out, int D, uint64_t seed);

/* A ViSiL model that starts out computing (almost) the ViSiL_f Chamfer similarity:
 * attention weights 1/2 everywhere (context vector u = 0, transform W random so that
 * attention still gets a gradient), and an identity path through channel 0 of the
 * comparator, so the output map is the f2f map max-pooled 4x4 (ReLU'd); the other
 * channels are random (xavier, seed) and read by nothing until training moves the
 * 1x1 output weights. A training start that does not have to rediscover the
 * Chamfer similarity (docs/training.md). */
VS_API vs_status vs_simmodel_create_chamfer_init(vs_simmodel **out, int D, uint64_t seed);

/* Write the model as VSTF (atomic). visil_f writes a tensor-less file. */
VS_API vs_status vs_simmodel_save(const vs_simmodel *m, const char *path);
VS_API void vs_simmodel_free(vs_simmodel *m); /* NULL ok */

VS_API const char *vs_simmodel_kind(const vs_simmodel *m); /* "visil" or "visil_f" */
VS_API int vs_simmodel_dim(const vs_simmodel *m);          /* D, 0 = any */
VS_API long vs_simmodel_n_params(const vs_simmodel *m);    /* 0 for visil_f */

/* ------------------------------------------------------------------ state */

/* Per-thread state: scratch grows with the largest pair seen. p may be NULL
 * (defaults). The state borrows m, which must outlive it. */
VS_API vs_status vs_simmodel_state_create(vs_simmodel_state **out, const vs_simmodel *m,
                                          const vs_simmodel_params *p);
VS_API void vs_simmodel_state_free(vs_simmodel_state *st); /* NULL ok */

/* ------------------------------------------------------------------ inference */

/* Index a video: out [T,R,D] = attention-weighted features (copy for models without
 * attention). out may alias x. weights [T,R] (optional, NULL) receives the attention
 * weights (1 without attention). D must match the model's. */
VS_API vs_status vs_simmodel_index(vs_simmodel_state *st, float *out, float *weights,
                                   const float *x, int T, int R, int D);

/* An indexed video, borrowed: x [T,R,D] (R and D given per call). lev [T] (optional,
 * NULL = none; ViSiL_f only, ViSiL models ignore it): frame levels, subtracted from every
 * cell of the f2f map that belongs to the frame before the video Chamfer (and before the
 * temporal mix), in both directions: a target's for vs_simmodel_similarity, a query's for
 * vs_simmodel_similarity_to. Search sets it to the reference side's frame levels
 * (norm.h "Frame levels"). */
typedef struct vs_simvideo {
    const float *x;
    int T;
    const float *lev;
} vs_simvideo;

/* Similarity of one indexed query [T,R,D] against n indexed targets: sims [n],
 * evaluation scale [-1,1] (ViSiL) or [-1,1] Chamfer (visil_f). Work is spread over the
 * state's n_threads. An empty target (T == 0) fails the call with VS_ERR_INVALID_ARG. */
VS_API vs_status vs_simmodel_similarity(vs_simmodel_state *st, float *sims, const float *query,
                                        int T, const vs_simvideo *targets, int n, int R, int D);

/* The reverse direction: n indexed queries against one indexed target [U,R,D], sims [n]
 * (sims[k] = vs_simmodel_similarity of queries[k] against the target alone), whole
 * pairs spread over the state's n_threads. Every score of either call is the same
 * float for any n_threads and any n. */
VS_API vs_status vs_simmodel_similarity_to(vs_simmodel_state *st, float *sims, const vs_simvideo *queries,
                                           int n, const float *target, int U, int R, int D);

/* Sizes of a pair's maps for lengths T (query) and U (target), after the doubling of
 * short videos: f2f [*f2f_rows, *f2f_cols], comparator map [*map_rows, *map_cols]
 * (= f2f size for visil_f). Any pointer may be NULL. */
VS_API void vs_simmodel_pair_dims(const vs_simmodel *m, int T, int U, int *f2f_rows,
                                  int *f2f_cols, int *map_rows, int *map_cols);

/* The frame-to-frame map of one pair of indexed videos, f2f [T,U] (caller-owned):
 * f2f[i,j] = mean over query regions of max over target regions of <q,t>, with no
 * doubling of short videos and no comparator (what localize.h aligns). Uses the
 * state's GEMM scratch (bounded by gemm_chunk). */
VS_API vs_status vs_simmodel_f2f(vs_simmodel_state *st, float *f2f, const float *query, int T,
                                 const float *target, int U, int R, int D);
/* The row maxima of the frame-to-frame maps of one query [T,R,D] against n targets:
 * out [n * T], out[k * T + i] = max_j f2f(query, target k)[i, j] (vs_simmodel_f2f's map,
 * the same floats), pairs spread over the state's n_threads (norm.h's frame levels; the
 * targets' lev is not used). */
VS_API vs_status vs_simmodel_f2f_rowmax(vs_simmodel_state *st, float *out, const float *query, int T,
                                        const vs_simvideo *targets, int n, int R, int D);
/* The symmetric map: (f2f(query, target) + f2f(target, query)^T) / 2, [T,U], from
 * one pass of region dot products (half the work of two vs_simmodel_f2f calls).
 * R <= 256. */
VS_API vs_status vs_simmodel_f2f_sym(vs_simmodel_state *st, float *f2f, const float *query, int T,
                                     const float *target, int U, int R, int D);
/* Both directions from the same pass: f2f = f2f(query, target) [T,U] and
 * f2f_rev_t = f2f(target, query) transposed [T,U]. With visil_f the pair's two
 * scores are vs_simmodel_chamfer(f2f, T, U, 0) and vs_simmodel_chamfer(f2f_rev_t,
 * T, U, 1): half the work of scoring both directions separately. R <= 256. */
VS_API vs_status vs_simmodel_f2f_both(vs_simmodel_state *st, float *f2f, float *f2f_rev_t,
                                      const float *query, int T, const float *target, int U,
                                      int R, int D);
/* ViSiL_f's video Chamfer of a map [T,U]: mean over rows of the row maxima, or with
 * by_cols the mean over columns of the column maxima (the reverse direction of a
 * transposed map). NaN for an empty map. */
VS_API float vs_simmodel_chamfer(const float *map, int T, int U, int by_cols);
/* The same score as st gives it: vs_simmodel_chamfer of the map with the frame levels of
 * its rows row_lev [T] and columns col_lev [U] (vs_simvideo.lev; NULL = none) subtracted and
 * st's temporal weight applied first (vs_simmodel_params.temporal; both for a ViSiL_f state).
 * With temporal 0 and no levels it equals vs_simmodel_chamfer. */
VS_API float vs_simmodel_state_chamfer(const vs_simmodel_state *st, const float *map, int T, int U,
                                       int by_cols, const float *row_lev, const float *col_lev);

/* Everything about one pair, for visualisation and checks. Output buffers are
 * caller-owned and optional (NULL = not wanted); sizes from vs_simmodel_pair_dims. */
typedef struct vs_simmodel_pair_out {
    float sim;        /* out: evaluation scale, mean_i max_j Hardtanh(raw) */
    float sim_train;  /* out: training scale, mean_i max_j (Hardtanh(raw)/2 + 0.5) */
    float reg_loss;   /* out: sum |min(raw+1,0)| + |max(raw-1,0)| (0 for visil_f) */
    float *f2f;       /* in: buffer [f2f_rows*f2f_cols] or NULL */
    float *map_raw;   /* in: buffer [map_rows*map_cols] comparator output before Hardtanh */
    float *map;       /* in: buffer [map_rows*map_cols] after Hardtanh */
} vs_simmodel_pair_out;

VS_API vs_status vs_simmodel_pair(vs_simmodel_state *st, vs_simmodel_pair_out *out,
                                  const float *query, int T, const float *target, int U, int R,
                                  int D);

/* Training-path forward (ViSiL.forward): raw features x [B,T,R,D] of B videos padded
 * to T frames, frame masks [B,T] (1 = real frame, NULL = all real), T >= 4. Applies
 * attention, zeroes padded frames, compares all B*B ordered pairs with the reference's
 * mask semantics (masks max-pooled with the maps) and writes sims [B,B] (row = query,
 * training scale Hardtanh/2+0.5, masked Chamfer) and *reg_loss (sum over all pairs).
 * Pairs are shared among the state's n_threads workers. Activations stay cached in
 * the state for the backward pass (~80*T*T floats per pair). */
VS_API vs_status vs_simmodel_forward_batch(vs_simmodel_state *st, float *sims, float *reg_loss,
                                           const float *x, const int32_t *mask, int B, int T,
                                           int R, int D);

/* ------------------------------------------------------------------ visualisation */

/* Write a rows x cols matrix (row-major) as an 8-bit RGB PNG with a viridis-like
 * colour map: vmin -> dark blue, vmax -> yellow, NaN -> grey. Small matrices are
 * enlarged (each cell a square of up to 16 px, image side up to ~512 px). */
VS_API vs_status vs_heatmap_write_png(const char *path, const float *matrix, int rows, int cols,
                                      float vmin, float vmax);
/* The same with outlined boxes (e.g. copied segments): boxes [n_boxes][4] =
 * first row, first column, last row, last column (cells, inclusive), drawn red. */
VS_API vs_status vs_heatmap_write_png_boxes(const char *path, const float *matrix, int rows,
                                            int cols, float vmin, float vmax, const int *boxes,
                                            int n_boxes);

#ifdef __cplusplus
}
#endif

#endif /* VIDSIM_SIMMODEL_H */
