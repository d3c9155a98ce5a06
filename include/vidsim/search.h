/*
 * search.h - the search engine over an open index: score queries against every ok
 * video (exhaustive, with a similarity network: the builtin ViSiL_f or a trained
 * file), against the K nearest by binary code (two-stage, or the hash stage alone),
 * or with 3D-CSL-F clip vectors; optionally localise the copied segments of each
 * listed pair. A query is an indexed video (name or path: it never matches itself),
 * a feature file (.vsf) or a video file, extracted with the index's model. Also the
 * duplicate pairs inside an index (dedup), and the hash codes stored in an index
 * (vs_hasher, `vidsim index hash`). docs/search.md, docs/localize.md.
 *
 * Thread safety: a vs_searcher is used by one thread at a time (it holds caches and
 * model states); it runs params.n_threads threads inside a call. Results are plain
 * data owned by the caller. The library prints nothing: failures come back as a
 * status with vs_last_error(), and notes worth showing a user (an entry that
 * vanished during the search, codes computed on the fly, a query that failed in
 * part) go to params.note when set.
 *
 * Example:
 *     vs_index *idx; vs_searcher *s; vs_search_result *r;
 *     vs_index_open(&idx, "myindex", VS_INDEX_READONLY);
 *     vs_search_params p = vs_search_default_params();
 *     if (vs_searcher_create(&s, idx, &p) != VS_OK) { puts(vs_last_error()); return; }
 *     if (vs_searcher_query(s, "copy.mp4", &r) == VS_OK) {
 *         for (long k = 0; k < r->n; k++) printf("%s,%s,%.6f\n", r->query_id, r->hits[k].name, r->hits[k].score);
 *         vs_search_result_free(r);
 *     }
 *     vs_searcher_free(s);   // then the skipped entries, if any, are gone too
 *     vs_index_close(idx);
 */
#ifndef VIDSIM_SEARCH_H
#define VIDSIM_SEARCH_H

#include "vidsim/base.h"
#include "vidsim/features.h"
#include "vidsim/index.h"
#include "vidsim/localize.h"
#include "vidsim/norm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vs_search_mode {
    VS_SEARCH_EXHAUSTIVE = 0, /* every ok video scored by the similarity network */
    VS_SEARCH_TWO_STAGE = 1,  /* K nearest by Hamming distance, re-scored by the network */
    VS_SEARCH_HASH_ONLY = 2,  /* the hash stage's ranking, score 1 - d/bits */
    VS_SEARCH_CLIP = 3        /* 3D-CSL-F clip vectors, top-k Chamfer (clipmodel.h) */
} vs_search_mode;

/* A message for the user (no trailing newline), e.g. "x.mp4 was removed from the index
 * during the search; left out". */
typedef void (*vs_search_note_fn)(void *user, const char *msg);

typedef struct vs_search_params {
    vs_search_mode mode;        /* default VS_SEARCH_EXHAUSTIVE */
    int top;                    /* best `top` hits per query (default 10; 0 = all) */
    double threshold;           /* only scores >= threshold (default -1e30: all) */
    int symmetric;              /* 1 (default): mean of query->ref and ref->query; 0: query->ref */
    const char *model;          /* "visil_f" (default) or a similarity-model file; CLIP mode:
                                   "clip" or "clip:mean" (training-free), "clip:bundled"
                                   (the bundled clip_<backbone>.vstf) or "clip:FILE" */
    long two_stage_k;           /* candidates re-scored per query (default 100) */
    const char *hash_model;     /* NULL: VS_HASH_DEFAULT; lsh64|lsh128|lsh256; a file; or a name
                                   found through models (vs_hasher_open) */
    const char *first_stage;    /* TWO_STAGE / HASH_ONLY stage 1: NULL or "hash" (binary codes of
                                   hash_model, Hamming distance), "gvec" (global vectors, the mean
                                   region vector, by inner product; ANN index chosen by size) or
                                   "gvec:SPEC" with a vs_ann spec (ann.h: "flat", "faiss:HNSW32",
                                   "faiss:IVF1024,Flat"), optionally "|PARAMS" ("|nprobe=32");
                                   docs/search.md "Global-vector first stage" */
    int gvec_segments;          /* gvec first stage: vectors per video, the global vectors of S equal
                                   temporal parts (vs_ann_segment_vectors); a pair's stage-1 score is
                                   its best (query part, reference part) inner product. 0 (the
                                   default): VS_GVEC_SEGMENTS (4); 1 = the one mean vector; at most
                                   VS_GVEC_MAX_SEGMENTS; other than 0 only with a gvec first stage
                                   (vs_search_params_check) */
    const char *gvec_whiten;    /* gvec first stage: the learned whitening of the global vectors (ann.h
                                   vs_gvec_whiten_*, `vidsim train-gvec`; docs/scale.md "A learned
                                   whitening of the first stage"), applied to the references' and the
                                   query's vectors before the ANN index. NULL (the default): the bundled
                                   gvec_whiten_<backbone>.vstf found through models, when one is
                                   installed for the index's backbone (none: the vectors stay as they
                                   are) and was learned on features of the index's kind (else a note
                                   says so and the vectors stay as they are); "off": none; else a file,
                                   which must load and match the index's features (VS_ERR_IO /
                                   VS_ERR_FORMAT / VS_ERR_INVALID_ARG naming it). The stage-1 spec
                                   (vs_search_timing.hash_id, --timing) ends " whiten=ID" when in use.
                                   Only with a gvec first stage */
    int n_threads;              /* threads (default 1) */
    int sim_precision;          /* VS_PRECISION_BF16 or VS_PRECISION_FP32: the similarity model's
                                   frame-to-frame products in bfloat16 (simmodel.h): about 1.6x the
                                   pairs/s of ViSiL_f, scores within ~1e-4, the same benchmark figures
                                   (docs/simmodel.md). Default vs_simmodel_default_precision(): bf16
                                   where the CPU has AMX or AVX-512 BF16, else fp32 */
    float temporal;             /* ViSiL_f: weight of temporal consistency in the score, 0..1
                                   (vs_simmodel_params.temporal: each frame pair's similarity mixed
                                   with the mean of its diagonal run). Default VS_TEMPORAL_DEFAULT
                                   (0.5); 0: the published ViSiL_f. Exhaustive and two-stage modes,
                                   vs_dedup and vs_pair_compare; the background levels are those of
                                   the same weight (vs_norm_params.temporal). Ignored by ViSiL model
                                   files (docs/hard_copies.md "Temporal consistency") */
    float frame_levels;         /* ViSiL_f with normalisation on: weight beta of the references' frame
                                   levels, 0..1 (norm.h "Frame levels": beta times each reference
                                   frame's level against the index's members is taken off that
                                   frame's cells before the Chamfer). Default VS_FRAME_LEVELS_DEFAULT
                                   (0.5); 0: none. Exhaustive and two-stage searches; not vs_dedup
                                   or vs_pair_compare, which score pairs without it */
    int mirror_view;            /* 1 (default): also score a video query's mirror image (left-right, extracted
                                   mirrored) and, when its best match beats the first view's best,
                                   keep per reference the better of the two views, each normalised
                                   on its own list; otherwise the view is dropped (docs/hard_copies.md
                                   "A mirrored query view", "Extra views join when they find a
                                   better match"). A feature-file query's view is its mirror block
                                   (vs_extract_params.mirror_view; the same results as its video);
                                   a .vsf without one and an indexed query have one view.
                                   Exhaustive and two-stage modes, and over MPI ranks
                                   (vs_dist_search). 0: the query as it is */
    int inset_view;             /* 1 (default): look for a picture-in-picture inset in a video query while it
                                   is extracted (vs_inset_detect: a rectangle of persistent edges whose
                                   inside changes independently of the outside) and, when one is found,
                                   also score the inset, cut at full resolution, over the span it is on
                                   screen (vs_inset.t0, t1), as a third view; when its best match beats
                                   the other views' best, each reference keeps its best view, otherwise
                                   the view is dropped (docs/hard_copies.md "The inset view").
                                   A feature-file query's inset and view are its inset block
                                   (vs_extract_params.inset_view; the same results as its video); a
                                   .vsf without one and an indexed query have none. Exhaustive and
                                   two-stage modes and over MPI ranks (vs_dist_search); a view that
                                   cannot be extracted (all of it flat) is dropped. 0: no inset view */
    int segments;               /* also localise each listed pair (not HASH_ONLY, not CLIP) */
    vs_localize_params localize;
    const char *pca;            /* whitening file for video queries (NULL: the bundled one) */
    const char *calib;          /* int8 calibration file for video queries of an int8 index
                                   (vs_extract_params.calib_path, `vidsim calibrate`; NULL: the
                                   bundled calib_BACKBONE.vstf). Part of an int8 model id, so an
                                   index added with one (`index add --calib FILE`) needs the same
                                   file here; loaded with the first video query, whose error
                                   (VS_ERR_IO/FORMAT) names a missing or damaged file; not read
                                   for an fp32 or bf16 index. Copied by vs_searcher_create */
    int store_clip;             /* CLIP, and the gvec first stage: store computed reference vectors
                                   in the index (the index must be writable) */
    int normalize;              /* 1 (default): scores normalised against the background (norm.h,
                                   docs/search.md "Score normalisation"): s - bg(query) - bg(ref);
                                   exhaustive and two-stage modes, and vs_dedup (s - bg(a) - bg(b));
                                   hash-only and clip print raw scores. 0: raw similarity */
    vs_norm_params norm;        /* default vs_norm_default_params() */
    const char *cmd;            /* the command named in notes about vanished entries ("search") */
    vs_model_locator models;    /* where model files are found (default: ./models) */
    int shard, n_shards;        /* exhaustive mode: score only the ok references whose position
                                   among the ok rows is shard mod n_shards (default 0 of 1: all);
                                   the MPI layer's split (dist.h, docs/mpi.md) */
    vs_search_note_fn note;     /* optional */
    void *note_user;
} vs_search_params;

VS_API vs_search_params vs_search_default_params(void);

/* Whether the engine takes p: VS_OK, or VS_ERR_INVALID_ARG with a message that starts
 * with the offending field's name (vs_last_error(), e.g. "segments needs the similarity
 * model's re-ranking, not mode hash_only"), so that a front end may put its own option
 * name in its place. The one home of the rules about values and combinations; the
 * defaults pass. vs_searcher_create, vs_dedup and vs_pair_compare call it first, the
 * front ends (`vidsim search`, `vidsim serve`, bindings/python) before they open
 * anything. The rules, in the order checked:
 *   mode           one of vs_search_mode
 *   top            >= 0 (0: all)
 *   threshold      not NaN
 *   sim_precision  VS_PRECISION_FP32 or VS_PRECISION_BF16
 *   temporal       0 to 1
 *   frame_levels   0 to 1
 *   two_stage_k    >= 1 in mode two_stage
 *   gvec_segments  0 (the default) to VS_GVEC_MAX_SEGMENTS
 *   first_stage    NULL, "hash", "gvec" or "gvec:SPEC" (SPEC not empty), and only in mode
 *                  two_stage or hash_only
 *   gvec_segments  other than 0 only with first_stage gvec or gvec:SPEC
 *   gvec_whiten    NULL, or not empty and only with first_stage gvec or gvec:SPEC
 *   store_clip     only in mode clip or with first_stage gvec[:SPEC]
 *   segments       not in mode hash_only or clip (it localises the network's pairs)
 *   model          in mode clip: clip, clip:mean, clip:bundled or clip:FILE
 *   n_shards       >= 0; shard 0 to n_shards - 1 when n_shards > 1
 * Values a field's own code reads (a model or hash model file, a gvec:SPEC's index, pca
 * and calib files) are checked when they are opened. */
VS_API vs_status vs_search_params_check(const vs_search_params *p);
/* 1 when p scores pairs as the named thresholds were measured (vs_norm_operating_point,
 * docs/search.md "Operating points"): normalised, symmetric, the builtin visil_f, mode
 * exhaustive or two_stage, temporal VS_TEMPORAL_DEFAULT, frame_levels
 * VS_FRAME_LEVELS_DEFAULT; else 0. The front ends refuse a
 * named threshold otherwise, in their own option names. */
VS_API int vs_search_params_operating_points_hold(const vs_search_params *p);

/* Entries left out because their feature file could not be loaded (missing,
 * truncated, corrupt). Entries that vanished from the index during the search (a
 * concurrent `index rm` or replacement) are not listed here: they are noted. */
typedef struct vs_search_skip {
    char *path, *name, *why;    /* owned by the list */
} vs_search_skip;
typedef struct vs_search_skips {
    long n;
    vs_search_skip *v;          /* [n] */
} vs_search_skips;

typedef struct vs_search_hit {
    int64_t video_id;           /* catalogue id */
    const char *name;           /* the video's name (owned by the result) */
    float score;
    int n_segments;             /* with params.segments: segments of the pair, best first; 0 when the
                                   pair's map had no signal (print one whole-video box); -1 when
                                   the pair's localisation failed (noted, counted in n_failed) */
    vs_segment *segments;       /* [n_segments] (owned by the result) */
    double query_duration, ref_duration; /* seconds, for that whole-video box */
    float raw;                  /* the similarity before normalisation (= score without it) */
    float query_level, ref_level; /* the background levels subtracted: score = raw - query_level
                                   - ref_level (0 without normalisation; docs/search.md) */
} vs_search_hit;

typedef struct vs_search_result {
    char *query_id;             /* the query's id: indexed name, or file name without extension(s) */
    long n;
    vs_search_hit *hits;        /* [n], best first, ties in catalogue order */
    int n_failed;               /* parts of the query that failed after scoring (reverse direction,
                                   a pair's localisation): noted, hits still valid */
    long n_skipped;             /* entries left out of the search so far as damaged (the list:
                                   vs_searcher_skipped); > 0: the results are partial */
} vs_search_result;
VS_API void vs_search_result_free(vs_search_result *r); /* NULL ok */

typedef struct vs_searcher vs_searcher;

/* A searcher over idx (borrowed; must outlive it). p must pass vs_search_params_check
 * (else VS_ERR_INVALID_ARG with its message). Loads the models and the corpus
 * (every ok video's features, or its codes, or its clip vectors, as the mode needs;
 * entries that fail to load are skipped, see vs_searcher_skipped). In every mode but
 * CLIP an index without any ok video gives VS_ERR_INVALID_ARG ("DIR has no
 * successfully indexed videos ...: nothing to search"). A video query's extractor is
 * loaded on its first use (vs_extractor_load_for_model with params.models and
 * params.pca); every query's features must be of the index's model id. Blocks; may
 * run n_threads threads. */
VS_API vs_status vs_searcher_create(vs_searcher **out, vs_index *idx, const vs_search_params *p);
VS_API void vs_searcher_free(vs_searcher *s); /* NULL ok */

/* Search one query (an indexed name or path, a .vsf file or a video file). On failure
 * *out is NULL and the reason went to params.note (naming the query where the cause
 * needs it). vs_last_error() then holds the last library error of the call, which is
 * not set for a query refused by its model id or R/D alone (kept so for the CLI's
 * JSON error rows). Later queries still work. Parts that fail after scoring (reverse
 * direction, a pair's localisation) are noted and counted in (*out)->n_failed. */
VS_API vs_status vs_searcher_query(vs_searcher *s, const char *query, vs_search_result **out);

/* The id of the query last passed to vs_searcher_query, also when it failed (owned by s). */
VS_API const char *vs_searcher_query_name(const vs_searcher *s);
/* The inset found in the last query (a video, or a .vsf's inset block;
 * vs_search_params.inset_view): found = 0 when none, or when the query had no way to
 * tell (an indexed query, a .vsf without the block). Valid until the next query. */
VS_API const vs_inset *vs_searcher_inset(const vs_searcher *s);

/* The query id of a file path: its name without folder and last extension. out [n]. */
VS_API void vs_search_query_id(const char *q, char *out, size_t n);

/* Entries skipped so far (grows during a two-stage search). Owned by s. */
VS_API const vs_search_skips *vs_searcher_skipped(const vs_searcher *s);

/* Two-stage/hash-only facts for --timing: codes searched, their bits and model id, and
 * the summed seconds of each stage over the queries so far. */
typedef struct vs_search_timing {
    long n_queries, n_codes;
    long k;                     /* candidates per query (two_stage_k, or top for HASH_ONLY, at most n_codes) */
    int bits;
    const char *hash_id;
    double hash_s, rerank_s, localize_s;
} vs_search_timing;
VS_API void vs_searcher_timing(const vs_searcher *s, vs_search_timing *out);

/* Duplicate pairs inside the index: every pair of ok videos (a before b in catalogue
 * order) whose score, the mean of both directions with p->model, is >= p->threshold,
 * best first. pairs [n] are owned by the result. Skipped entries are in skipped. */
typedef struct vs_dedup_pair {
    const char *a, *b;          /* names */
    float score;
    int exact;                  /* VS_DEDUP_SAME_BYTES, VS_DEDUP_SAME_FRAMES, or 0 */
} vs_dedup_pair;
/* Exact duplicates among the pairs, found without the network: the same bytes (sizes and
 * content fingerprints equal, then the two files compared in full) or, failing that, the
 * same decoded frames (identical features: another container or a copy of the stream). */
enum { VS_DEDUP_SAME_BYTES = 1, VS_DEDUP_SAME_FRAMES = 2 };
typedef struct vs_dedup_result {
    long n;
    vs_dedup_pair *pairs;
    vs_search_skips skipped;
    void *priv_;
} vs_dedup_result;
VS_API vs_status vs_dedup(vs_index *idx, const vs_search_params *p, vs_dedup_result **out);
VS_API void vs_dedup_result_free(vs_dedup_result *r); /* NULL ok */

/* ---- Review (`vidsim serve`, `vidsim dedup --groups/--hide-rejected`; index.h verdicts). */

/* Drop from r the hits whose pair (r->query_id, hit name) has the verdict
 * VS_VERDICT_NOT_DUPLICATE in idx; *n_hidden (may be NULL) gets how many. Order kept. */
VS_API vs_status vs_search_hide_rejected(vs_index *idx, vs_search_result *r, long *n_hidden);
/* The same for the pairs of a dedup result. */
VS_API vs_status vs_dedup_hide_rejected(vs_index *idx, vs_dedup_result *r, long *n_hidden);

/* Duplicate groups: the connected components of a dedup result's pairs (videos linked
 * by a chain of pairs scoring >= the threshold). Groups best first (by their best
 * pair's score, ties by that pair's rank); members sorted by name. */
typedef struct vs_dedup_group {
    long n_members;
    char **members;             /* [n_members] names (owned) */
    long n_pairs;               /* pairs of the result inside the group */
    float best_score;           /* its best pair's score */
} vs_dedup_group;
typedef struct vs_dedup_groups {
    long n;
    vs_dedup_group *v;          /* [n] */
} vs_dedup_groups;
VS_API vs_status vs_dedup_groups_make(const vs_dedup_result *r, vs_dedup_groups **out);
VS_API void vs_dedup_groups_free(vs_dedup_groups *g); /* NULL ok */

/* One pair of indexed videos a and b (names or paths of ok rows) with p->model
 * (p->n_threads threads, p->localize): the raw similarity both ways, the score
 * (their mean with p->symmetric, else a_to_b; not normalised), the T x U map the
 * localisation reads (vs_localize_pair_matrix) and its segments, rescored by the
 * score. VS_ERR_INVALID_ARG when a name is not an ok row. Blocks. */
typedef struct vs_pair_result {
    int64_t a_id, b_id;         /* catalogue ids */
    char *a, *b;                /* names (owned) */
    float a_to_b, b_to_a, score;
    int T, U;                   /* frames of a (rows) and b (columns) */
    float *matrix;              /* [T*U] row-major (owned) */
    int n_segments;
    vs_segment *segments;       /* [n_segments], best first (owned) */
    double a_duration, b_duration; /* seconds */
} vs_pair_result;
VS_API vs_status vs_pair_compare(vs_index *idx, const char *a, const char *b, const vs_search_params *p,
                                 vs_pair_result **out);
VS_API void vs_pair_result_free(vs_pair_result *r); /* NULL ok */

/* ---- Hash codes of videos (two-stage search, `vidsim index hash`). */
#define VS_HASH_KIND "hash"              /* extras kind of stored codes */
#define VS_HASH_DEFAULT "conmh_64.vstf"  /* default hash model, found through the locator */
#define VS_GVEC_KIND "gvec"              /* extras kind of stored global vectors ([P, D] F32) */
#define VS_GVEC_ID "mean1"               /* model id of the one vector per video (gvec_segments 1,
                                            [1, D]): the L2-normalised mean region vector; with
                                            S > 1 segments the model id is "segS" ("seg4"), [P, D],
                                            P = min(S, T) (vs_ann_segment_vectors) */
#define VS_GVEC_SEGMENTS 4               /* default gvec_segments (docs/scale.md measures it) */
#define VS_GVEC_MAX_SEGMENTS 64

typedef struct vs_hasher vs_hasher;
/* The code maker named by spec: NULL = VS_HASH_DEFAULT; "lsh64|lsh128|lsh256" (and
 * "lsh" = lsh64): the LSH baseline over the index's D (seed 1); a name without '/'
 * found through models; else a model file. A trained model's D must be the index's.
 * Read-only after open: encode is thread-safe. */
VS_API vs_status vs_hasher_open(vs_hasher **out, const char *spec, vs_index *idx, const vs_model_locator *models);
VS_API void vs_hasher_free(vs_hasher *h); /* NULL ok */
VS_API int vs_hasher_bits(const vs_hasher *h);
VS_API const char *vs_hasher_id(const vs_hasher *h);   /* model id stored with the codes */
VS_API const char *vs_hasher_spec(const vs_hasher *h); /* as given, or the file found */
/* code [bits/64] of f. */
VS_API vs_status vs_hasher_encode(const vs_hasher *h, uint64_t *code, const vs_features *f);

typedef struct vs_hash_store_params {
    int n_threads;              /* default 1 */
    int force;                  /* recompute stored codes too */
    void (*progress)(void *user, long done, long total); /* after each batch, optional */
    void (*failed)(void *user, const char *path, const char *why); /* per video, optional */
    void *user;
} vs_hash_store_params;
typedef struct vs_hash_store_stats {
    long computed, kept, failed, n_ok;
} vs_hash_store_stats;
/* Compute and store the code of every ok video lacking one (all with force) in idx
 * (writable), n_threads threads, committing every 256 videos so that an interrupted
 * run keeps what it finished. Returns VS_OK when the pass ran (stats->failed may be
 * > 0), else the error that stopped it. */
VS_API vs_status vs_hasher_store_codes(vs_index *idx, const vs_hasher *h, const vs_hash_store_params *p,
                                       vs_hash_store_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
