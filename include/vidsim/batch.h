/*
 * batch.h - many-file calls over a pool of workers: feature files for many videos,
 * a PCA-whitening accumulator fed from many videos or raw feature files (features),
 * and many videos added to an index (index: include vidsim/index.h too for the
 * outcome's fields). Each call runs n_jobs workers (each with its own
 * extraction state over one shared extractor), reports every finished file through
 * a callback, and stops claiming files when the abort callback says so. The library
 * prints nothing: the callback is where a tool shows progress and records failures.
 *
 * Thread safety: each call starts and joins its own threads (docs/threading.md); the
 * extractor, accumulator and index are used as their own headers allow (shared
 * extractor, index under its catalogue mutex, accumulator under the call's lock).
 * on_item is called from worker threads, one call at a time (under the call's lock),
 * in the order files finish, which with n_jobs > 1 is not the input order.
 *
 * Example:
 *     static void shown(const vs_batch_item *it, void *u) { (void)u;
 *         if (it->error[0]) fprintf(stderr, "%s\n", it->error); }
 *     vs_batch_params bp = vs_batch_default_params();
 *     bp.n_jobs = 4; bp.on_item = shown;
 *     vs_extract_files(ex, inputs, outputs, n, 0, &bp);   // inputs[i] -> outputs[i]
 */
#ifndef VIDSIM_BATCH_H
#define VIDSIM_BATCH_H

#include "vidsim/base.h"
#include "vidsim/features.h"

#ifdef __cplusplus
extern "C" {
#endif

/* From vidsim/index.h, named here so that this header stands at the features level
 * (index includes it, not the other way round). */
typedef struct vs_index vs_index;
struct vs_index_add_result;

/* What on_item is told about one finished file. Pointers are valid during the call. */
typedef struct vs_batch_item {
    int i;                  /* the file's index 0..n-1; -1: a worker could not make its state
                               (vs_pca_acc_add_files only; error says why, it takes no files) */
    int done, total;        /* files finished so far, this one included; n */
    vs_status status;       /* VS_OK, or why this file failed (VS_ERR_ABORTED: stopped midway) */
    const char *error;      /* "" or the failure text; "" when stopped midway */
    int skipped;            /* vs_extract_files: the feature file was up to date, left alone */
    long n_frames;          /* frames of the video or of the feature file (0 if none) */
    int dim;                /* vs_pca_acc_add_files: D of the vectors read (0: none read) */
    const struct vs_index_add_result *add; /* vs_index_add_files: the outcome; else NULL */
    const vs_extract_stats *stats; /* vs_extract_files, vs_index_add_files: where this file's time
                               went (features.h; write_s: its save or commit, wall_s includes it)
                               when it was extracted without error; NULL otherwise (up to date,
                               unchanged, failed) */
} vs_batch_item;

typedef void (*vs_batch_item_fn)(const vs_batch_item *it, void *user);

typedef struct vs_batch_params {
    int n_jobs;             /* files in parallel, >= 1 (capped at the number of files) */
    vs_batch_item_fn on_item; /* after each file, or NULL */
    void *user;             /* for on_item */
    vs_abort_fn abort_fn;   /* polled before each file is claimed; true: claim no more */
    void *abort_user;
} vs_batch_params;

/* n_jobs 1, no callbacks. */
VS_API vs_batch_params vs_batch_default_params(void);

/* Features of inputs[i] into outputs[i] (a .vsf file, written atomically) for
 * i = 0..n-1; an output whose header names the same model and whose source
 * fingerprint (hash, size) matches inputs[i] is left alone (item.skipped) unless
 * force. Per-file failures go to on_item and do not stop the others. Returns VS_OK,
 * VS_ERR_ABORTED when abort_fn stopped it, VS_ERR_INVALID_ARG. Blocks; starts
 * n_jobs - 1 threads. */
VS_API vs_status vs_extract_files(const vs_extractor *ex, const char *const *inputs,
                                  const char *const *outputs, int n, int force, const vs_batch_params *bp);

/* Add the region vectors of files[i] (i = 0..n-1) to acc: videos extracted with ex,
 * or, with ex NULL, raw feature files (`vidsim extract --raw`) loaded. A file whose
 * vectors are not acc's dim_in is skipped with VS_ERR_FORMAT (item.dim says what it
 * had); any failed file is skipped. Vectors are added in the order files finish.
 * *n_ok (may be NULL) gets the number of files added. Returns VS_OK, VS_ERR_ABORTED,
 * VS_ERR_INVALID_ARG. Blocks; starts n_jobs - 1 threads. */
VS_API vs_status vs_pca_acc_add_files(vs_pca_acc *acc, const vs_extractor *ex, const char *const *files, int n,
                                      const vs_batch_params *bp, int *n_ok);

/* vs_index_add_video for files[i], i = 0..n-1, with flags (VS_INDEX_FORCE), each
 * worker with its own extraction state; item.add has each file's outcome (a file
 * stopped midway by the extractor's own abort callback has status VS_ERR_ABORTED,
 * an empty error and outcome 0). Returns VS_OK, VS_ERR_ABORTED when abort_fn
 * stopped the claiming, VS_ERR_INVALID_ARG. Blocks; starts n_jobs - 1 threads. */
VS_API vs_status vs_index_add_files(vs_index *idx, const vs_extractor *ex, const char *const *files, int n,
                                    int flags, const vs_batch_params *bp);

#ifdef __cplusplus
}
#endif

#endif /* VIDSIM_BATCH_H */
