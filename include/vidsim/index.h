/*
 * index.h - the video index: a directory holding a SQLite catalogue
 * (catalogue.sqlite: one row per video, plus the model the index was built with)
 * and features/, one feature file (.vsf) per indexed video named by content hash,
 * never by the user's file name. Adds are incremental (unchanged files are skipped)
 * and crash-safe: a process killed at any moment leaves a consistent index holding
 * every video whose add had returned. Layout and schema: docs/formats.md.
 *
 * Thread safety: one vs_index handle may be shared by many threads. Catalogue work is
 * serialized by a mutex inside the handle; extraction and feature-file writes run
 * outside it, so N threads with N extraction states add videos in parallel. A
 * writable handle holds an exclusive lock on the directory until vs_index_close: a
 * second writer (thread or process) gets VS_ERR_IO "locked"; read-only handles may
 * coexist with a writer. vs_index_sweep and vs_index_verify(repair) must not run
 * while adds are in flight on the same handle (they return VS_ERR_INVALID_ARG).
 *
 * Example:
 *     vs_index *idx; vs_index_add_result r; vs_index_entries *es;
 *     if (vs_index_open(&idx, "myindex", VS_INDEX_CREATE) != VS_OK) { puts(vs_last_error()); return; }
 *     vs_index_add_video(idx, ex, st, "clip.mp4", 0, &r);   // ex/st from features.h
 *     vs_index_list(idx, &es);
 *     for (long i = 0; i < es->n; i++) {
 *         vs_features *f;
 *         if (es->v[i].ok && vs_index_load_features(idx, &es->v[i], &f) == VS_OK) { ...; vs_features_free(f); }
 *     }
 *     vs_index_entries_free(es);
 *     vs_index_close(idx);
 */
#ifndef VIDSIM_INDEX_H
#define VIDSIM_INDEX_H

#include "vidsim/base.h"
#include "vidsim/features.h"
#include "vidsim/quant.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The newest index format this build reads, and the one it creates. 2: adds per-video
 * extras (format 1 indexes are upgraded by their first writable open). 3: compressed
 * feature files and the codebook (vs_index_compress upgrades a format-2 index; until
 * then it stays at 2 and older builds keep reading it). */
#define VS_INDEX_FORMAT_VERSION 3

typedef struct vs_index vs_index;

/* vs_index_open flags. */
enum {
    VS_INDEX_CREATE = 1,   /* create the directory and catalogue if missing */
    VS_INDEX_READONLY = 2  /* no writes, no lock; add/remove/sweep/repair refused */
};

/* vs_index_add_* flags. */
enum {
    VS_INDEX_FORCE = 1     /* re-extract even if size, mtime and content hash are unchanged */
};

/* One catalogue row. Strings are owned by the vs_index_entries holding the entry. */
typedef struct vs_index_entry {
    int64_t id;            /* catalogue id (never reused) */
    const char *path;      /* absolute path of the source video */
    const char *name;      /* file name without extension: the id used in search output */
    uint64_t size;         /* source size in bytes */
    int64_t mtime_ns;      /* source mtime, nanoseconds since the epoch */
    uint64_t hash;         /* content fingerprint (vs_file_fingerprint) */
    double duration;       /* seconds (0 for failed rows) */
    int n_frames;          /* sampled frames T (0 for failed rows) */
    int ok;                /* 1: features present; 0: failed, see error */
    const char *error;     /* why the add failed ("" when ok) */
    const char *feature_file; /* relative to the index directory ("" when failed) */
    const char *model_id;  /* model that produced the features */
    int64_t added_ns;      /* when the row was committed, ns since the epoch (UTC) */
} vs_index_entry;

/* A list of rows, ordered by id. Free with vs_index_entries_free. */
typedef struct vs_index_entries {
    long n;
    vs_index_entry *v;     /* [n] */
    void *priv_;           /* internal */
} vs_index_entries;

/* Index-wide facts. */
typedef struct vs_index_info {
    int format_version;    /* 1 to VS_INDEX_FORMAT_VERSION */
    char model_id[64];     /* "" until the first add */
    double fps;            /* sampling rate of the features (0 until the first successful add) */
    long n_ok, n_failed;   /* rows */
    int R, D;              /* regions per frame and dims per region of the features, from the
                              header of the first ok row's feature file that reads (0 when none
                              does); vs_last_error() is left as it was */
    char codec[16];        /* the codebook's codec ("pq64", "int8"), "" when the index has none */
    char codebook_id[33];  /* its id (16 hex digits), "" when none */
} vs_index_info;

/* What vs_index_add_* did. */
typedef enum {
    VS_INDEX_ADDED = 1,     /* new row */
    VS_INDEX_REPLACED = 2,  /* the file had changed (or FORCE), or its feature file was missing or
                               damaged (repair_reason says why): its old row was replaced */
    VS_INDEX_UNCHANGED = 3, /* skipped: size, mtime and content hash match an ok row whose
                               feature file loads (checksum, model id, frame count) */
    VS_INDEX_FAILED = 4     /* the video could not be read/decoded: a failed row was recorded */
} vs_index_outcome;

typedef struct vs_index_add_result {
    vs_index_outcome outcome; /* 0 when the call failed without touching the catalogue */
    int64_t id;               /* row id (0 if none) */
    int n_frames;             /* frames of the features (0 if failed) */
    char repair_reason[1024]; /* "" unless the file was unchanged but its ok row's feature file was
                                 missing, unreadable or damaged, so the video was re-extracted (or
                                 failed now): the load error naming that file (possibly truncated) */
} vs_index_add_result;

/* Open the index in directory dir. With VS_INDEX_CREATE a missing directory and
 * catalogue are created. Errors: VS_ERR_IO (missing without CREATE, not writable,
 * locked by another writer), VS_ERR_FORMAT (catalogue.sqlite is not a vidsim
 * catalogue, or of another format version; the message names the file). On failure
 * *out is NULL. The handle owns a SQLite connection; close it with vs_index_close. */
VS_API vs_status vs_index_open(vs_index **out, const char *dir, int flags);
/* Close (accepts NULL). Releases the directory lock. */
VS_API void vs_index_close(vs_index *idx);

/* The directory as given to vs_index_open (owned by idx). */
VS_API const char *vs_index_dir(const vs_index *idx);
VS_API vs_status vs_index_get_info(vs_index *idx, vs_index_info *out);

/* Extract the video at path with st (a state of ex) and add it. Unchanged files
 * (same absolute path, size, mtime and content hash as an ok row with the same model)
 * are skipped unless flags has VS_INDEX_FORCE, provided that row's feature file still
 * loads and passes its checksum: a missing, truncated or corrupt one is healed by
 * re-extracting (outcome VS_INDEX_REPLACED, res->repair_reason says what was wrong;
 * so an unchanged check reads each feature file once). The feature file is written
 * atomically and made durable before its row is committed in its own transaction;
 * a replaced row's old feature file is deleted after the commit. A video that cannot
 * be decoded gets a failed row (outcome VS_INDEX_FAILED) and the call returns the
 * decode error with vs_last_error() naming the file. Files that cannot be read at
 * all (missing) get no row. Errors that say nothing about the file (out of memory,
 * aborted) record nothing. Returns VS_ERR_INVALID_ARG if ex's model differs from
 * the index's. Blocks for the extraction; thread-safe (one st per thread). */
VS_API vs_status vs_index_add_video(vs_index *idx, const vs_extractor *ex, vs_extract_state *st,
                                    const char *path, int flags, vs_index_add_result *res);

/* Add precomputed features f (borrowed) for the video at path, which need not exist
 * any more: the row's size, mtime, hash, duration and frames come from f. f->model_id
 * and f->fps must match the index's (set by the first add). Same durability as above;
 * flags is unused except that an identical row (same path, hash, size and mtime) whose
 * feature file is intact is left alone unless VS_INDEX_FORCE (a damaged one is
 * replaced, with res->repair_reason set, as above). */
VS_API vs_status vs_index_add_features(vs_index *idx, const char *path, const vs_features *f,
                                       int flags, vs_index_add_result *res);

/* Record a failed row for path (error: the reason, borrowed) replacing any older row
 * for that path. Used by vs_index_add_video; public for tools that extract
 * themselves. */
VS_API vs_status vs_index_add_failed(vs_index *idx, const char *path, const char *model_id,
                                     const char *error, vs_index_add_result *res);

/* Remove row id and then its feature file. VS_ERR_INVALID_ARG if there is no such row. */
VS_API vs_status vs_index_remove(vs_index *idx, int64_t id);

/* All rows (key NULL), or the rows whose absolute path equals key's absolute path or
 * whose name equals key. New object in *out (caller frees with
 * vs_index_entries_free); an empty result is VS_OK with n = 0. */
VS_API vs_status vs_index_list(vs_index *idx, const char *key, vs_index_entries **out);
VS_API void vs_index_entries_free(vs_index_entries *e);

/* Load the features of an ok entry (new object, caller frees with
 * vs_features_free); the file's checksum and model id are checked. A compressed file
 * is decoded into floats with the index's codebook (this video only). */
VS_API vs_status vs_index_load_features(vs_index *idx, const vs_index_entry *e, vs_features **out);

/* ------------------------------------------------------------------ compression
 * Compressed fine features (vidsim/quant.h, docs/compression.md): the region vectors of
 * every ok row are stored as codes of the index's one codebook (DIR/codebook.vstf, its
 * id in the catalogue's meta) instead of float32; vs_index_load_features decodes one
 * video at a time. Adds into a compressed index encode the new video with the stored
 * codebook. */
typedef struct vs_index_compress_params {
    const char *codec;       /* "pq64" (default, VS_QUANT_DEFAULT_CODEC), "int8", "pqM"; NULL: the
                                stored codebook's, else the default. A codec other than the stored
                                codebook's is refused (the float features are gone) */
    vs_quant_params train;   /* k-means iterations, training sample size, seed */
    vs_progress_fn progress_fn; /* optional: videos done / ok videos */
    void *progress_user;
    vs_abort_fn abort_fn;    /* optional: checked before each video (VS_ERR_ABORTED; a rerun finishes) */
    void *abort_user;
} vs_index_compress_params;
VS_API vs_index_compress_params vs_index_compress_default_params(void);

typedef struct vs_index_compress_report {
    char codec[16];          /* the codebook's codec and id */
    char codebook_id[33];
    int trained;             /* 1: learnt by this call from n_train vectors; 0: the stored one */
    long n_train;
    long n_encoded;          /* ok rows re-encoded by this call */
    long n_already;          /* ok rows that were compressed already */
    long n_failed;           /* ok rows whose feature file did not load (left as they are; verify says why) */
    uint64_t bytes_before, bytes_after; /* feature files of the ok rows, before and after */
    double minutes;          /* their total duration */
} vs_index_compress_report;

/* Compress the index: learn its codebook from a deterministic sample of its own region
 * vectors (at most params->train.max_train) unless it has one, save it atomically as
 * DIR/codebook.vstf, record its id and format version 3 in the catalogue (one
 * transaction: the upgrade from format 2), then re-encode each ok row's float feature file:
 * the compressed file is written atomically and durably, the row repointed in its own
 * transaction, the old file deleted. Killed at any moment, every row still names an
 * intact file (float or compressed; a kill may leave one orphan, removed by the next add or
 * verify --repair) and a rerun finishes the rest. Writable handle; no adds in flight. rep
 * (may be NULL) says what was done. */
VS_API vs_status vs_index_compress(vs_index *idx, const vs_index_compress_params *params,
                                   vs_index_compress_report *rep);

/* The default rule (what `vidsim index add` runs after its adds unless --no-compress):
 * an index without a codebook whose ok videos hold at least
 * VS_INDEX_AUTO_COMPRESS_VECTORS region vectors (about 30 minutes of video at 1 frame/s)
 * is compressed with the default codec, as vs_index_compress with default params; a
 * smaller one is left as it is (too little to learn a codebook from), and an index with a
 * codebook already compresses each add. *done (may be NULL): 1 when it compressed now. */
#define VS_INDEX_AUTO_COMPRESS_VECTORS 16384
VS_API vs_status vs_index_compress_auto(vs_index *idx, vs_index_compress_report *rep, int *done);

/* ------------------------------------------------------------------ extras
 * Per-video side data: one array per (video row id, kind, model id), e.g. kind
 * "hash" with a hash model's packed code (VS_INDEX_U64 [1, bits/64]) or kind "clip"
 * with a clip model's vectors (VS_INDEX_F32 [n_clips, d]). Kind and model id are
 * free-form strings chosen by the producer. Stored in the catalogue (table extras,
 * format 2) with a checksum, each put committed in its own transaction like a row;
 * deleted in the same transaction as their video's row (also when the video is
 * replaced, since its features changed); checked by vs_index_verify. */

typedef enum {
    VS_INDEX_U8 = 1,        /* uint8_t */
    VS_INDEX_U64 = 2,       /* uint64_t (packed binary codes) */
    VS_INDEX_F32 = 3        /* float */
} vs_index_dtype;

/* One array, shape [n_rows, n_cols], row-major, host byte order (little-endian on
 * disk; vidsim runs on little-endian machines only). */
typedef struct vs_index_extra {
    vs_index_dtype dtype;
    int64_t n_rows, n_cols;
    const void *data;       /* [n_rows * n_cols] elements of dtype */
} vs_index_extra;

/* Store x (borrowed) for the ok row video_id under (kind, model_id), replacing any
 * previous array there, in its own transaction. Writable handle only.
 * VS_ERR_INVALID_ARG: no such ok row, empty kind/model id, bad dtype or shape. */
VS_API vs_status vs_index_put_extra(vs_index *idx, int64_t video_id, const char *kind, const char *model_id,
                                    const vs_index_extra *x);
/* The same for n videos in one transaction (all or none): video_ids [n], xs [n]. */
VS_API vs_status vs_index_put_extras(vs_index *idx, long n, const int64_t *video_ids, const char *kind,
                                     const char *model_id, const vs_index_extra *xs);

/* Read one array. *out: a new object (free with vs_index_extra_free), or NULL (and
 * VS_OK) when the video has none of this kind and model. VS_ERR_FORMAT, naming the
 * index, video, kind and model, when the stored blob is malformed (unknown dtype,
 * size not matching the shape, checksum mismatch). */
VS_API vs_status vs_index_get_extra(vs_index *idx, int64_t video_id, const char *kind, const char *model_id,
                                    vs_index_extra **out);
VS_API void vs_index_extra_free(vs_index_extra *x);

/* Every array of one kind and model whose video row is ok, ordered by video id: for
 * search, one query instead of one per video. Malformed blobs are skipped and
 * listed in bad_ids (vs_index_verify reports the reason; --repair deletes them). */
typedef struct vs_index_extras {
    long n;
    int64_t *video_ids;     /* [n] ascending */
    vs_index_extra *v;      /* [n]; data point into one block owned by this object */
    const void *packed;     /* when every array has the same dtype and shape: the n arrays
                               back to back, [n, n_rows * n_cols]; else NULL */
    long n_bad;
    int64_t *bad_ids;       /* [n_bad] video ids whose blob was malformed */
    void *priv_;
} vs_index_extras;
VS_API vs_status vs_index_load_extras(vs_index *idx, const char *kind, const char *model_id,
                                      vs_index_extras **out);
VS_API void vs_index_extras_free(vs_index_extras *x);

/* Delete every array of kind (and model_id; NULL = every model) in one transaction.
 * *n_deleted (may be NULL) gets the count. Writable handle only. */
VS_API vs_status vs_index_delete_extras(vs_index *idx, const char *kind, const char *model_id, long *n_deleted);

/* What is stored: one entry per (kind, model id) with its count, sorted. */
typedef struct vs_index_extra_kind {
    char *kind, *model_id;
    long n;
} vs_index_extra_kind;
typedef struct vs_index_extra_kinds {
    long n;
    vs_index_extra_kind *v; /* [n] */
} vs_index_extra_kinds;
VS_API vs_status vs_index_list_extra_kinds(vs_index *idx, vs_index_extra_kinds **out);
VS_API void vs_index_extra_kinds_free(vs_index_extra_kinds *k);

/* ------------------------------------------------------------------ verdicts
 * A reviewer's verdict on a pair of videos, keyed by the two names (unordered: (a, b)
 * and (b, a) are one pair). Stored in the catalogue's verdicts table, created by the
 * first vs_index_set_verdict (an index without it has no verdicts); each set is its
 * own transaction (durable when it returns, absent if the process died first). A
 * verdict is not removed with its videos (names, not row ids); `index rebuild`
 * carries verdicts over. search.h's vs_search_hide_rejected / vs_dedup_hide_rejected
 * drop "not duplicate" pairs from results. */
typedef enum {
    VS_VERDICT_NONE = 0,          /* no verdict (setting it deletes the stored one) */
    VS_VERDICT_DUPLICATE = 1,     /* "duplicate" */
    VS_VERDICT_NOT_DUPLICATE = 2  /* "not_duplicate" */
} vs_verdict;
/* "duplicate", "not_duplicate" or "none" (static strings). */
VS_API const char *vs_verdict_name(vs_verdict v);
/* The inverse of vs_verdict_name; (vs_verdict)-1 for anything else (also NULL). */
VS_API vs_verdict vs_verdict_parse(const char *s);
/* Store (or with VS_VERDICT_NONE delete) the verdict on pair (a, b). Writable handle
 * only. VS_ERR_INVALID_ARG for an empty or over-long name or a == b. The names need
 * not be indexed. */
VS_API vs_status vs_index_set_verdict(vs_index *idx, const char *a, const char *b, vs_verdict v);
/* *out: the stored verdict, VS_VERDICT_NONE when there is none. */
VS_API vs_status vs_index_get_verdict(vs_index *idx, const char *a, const char *b, vs_verdict *out);
typedef struct vs_index_verdict {
    char *a, *b;            /* names, a < b (strcmp) */
    vs_verdict verdict;
    int64_t set_ns;         /* when it was set, ns since the epoch (UTC) */
} vs_index_verdict;
typedef struct vs_index_verdicts {
    long n;
    vs_index_verdict *v;    /* [n], ordered by (a, b) */
} vs_index_verdicts;
/* Every stored verdict (new object, free with vs_index_verdicts_free). */
VS_API vs_status vs_index_list_verdicts(vs_index *idx, vs_index_verdicts **out);
VS_API void vs_index_verdicts_free(vs_index_verdicts *v); /* NULL ok */

/* Problems found by vs_index_verify. */
typedef enum {
    VS_INDEX_BAD_ROW = 1,   /* ok row whose feature file is missing, unreadable, corrupt or of another model */
    VS_INDEX_ORPHAN = 2,    /* feature file no row refers to (a killed add leaves these) */
    VS_INDEX_TMP = 3,       /* temporary file of an interrupted write */
    VS_INDEX_CATALOGUE = 4, /* SQLite integrity check failed (not repairable here) */
    VS_INDEX_BAD_EXTRA = 5  /* extras array that is malformed or whose video is not an ok row
                               (id: the video id; what: "kind/model_id") */
} vs_index_problem_kind;

typedef struct vs_index_problem {
    vs_index_problem_kind kind;
    int64_t id;             /* row id for BAD_ROW, else 0 */
    char *what;             /* source path for BAD_ROW, file (relative to the index dir) otherwise */
    char *detail;           /* the reason */
    int repaired;           /* 1 if --repair removed the row or file */
} vs_index_problem;

typedef struct vs_index_report {
    long n_rows, n_ok, n_failed; /* rows examined */
    long n_problems;
    vs_index_problem *problems;  /* [n_problems] */
} vs_index_report;

/* Check every ok row (feature file loads, checksum valid, model id and frame count
 * match), every extras array, and the features/ folder (orphans, temporary files),
 * and run SQLite's integrity check. With repair (writable handle only), bad rows and
 * bad extras are removed and orphan and temporary files deleted. Returns VS_OK when the check ran (look at
 * report->n_problems); *out is a new report (free with vs_index_report_free). A
 * compressed index whose codebook does not load is refused (the error names it) rather
 * than reporting, or with repair removing, every compressed video. */
VS_API vs_status vs_index_verify(vs_index *idx, int repair, vs_index_report **out);
VS_API void vs_index_report_free(vs_index_report *r);

/* Delete orphan and temporary files in features/ (what a killed add leaves).
 * Writable handle only. *n_removed (may be NULL) gets the count. Cheap: a directory
 * listing and one query. */
VS_API vs_status vs_index_sweep(vs_index *idx, long *n_removed);

/* ------------------------------------------------------------------ damaged catalogue
 * Every writer (add, remove, extras put/delete, sweep, verify with repair) first runs
 * SQLite's quick_check on the catalogue, once per writable handle (it reads every
 * page: about a millisecond for a few hundred rows, see docs/index.md). A damaged
 * catalogue is refused with VS_ERR_FORMAT and a message naming the file, what SQLite
 * said, and `vidsim index rebuild --index DIR`; nothing is written. Readers (list,
 * load, search) are not checked and work as far as SQLite can read.
 *
 * vs_index_check_writable runs (or returns the cached result of) that check now, so a
 * tool can refuse before any costly work. VS_ERR_INVALID_ARG on a read-only handle. */
VS_API vs_status vs_index_check_writable(vs_index *idx);

/* A feature file left out of a rebuild. */
typedef struct vs_index_rebuild_skip {
    char *file;             /* relative to the index dir ("features/....vsf") */
    char *reason;           /* why (the load error, another model, ...) */
    int duplicate;          /* 1: the file loads but another file holds the same video (that one
                               became the row; this one is now an orphan for verify --repair) */
} vs_index_rebuild_skip;

/* What vs_index_rebuild did. Strings and arrays are owned by the report. */
typedef struct vs_index_rebuild_report {
    long n_files;           /* .vsf files found in features/ (temporary files not counted) */
    long n_rows;            /* rows of the new catalogue: one per video */
    long n_rows_matched;    /* of which matched a readable row of the old catalogue (its id, path and
                               add time were kept; the others get new ids and their path from the file) */
    long n_skipped;
    vs_index_rebuild_skip *skipped; /* [n_skipped] files left out, never deleted */
    long n_lost;
    char **lost;            /* [n_lost] source paths of ok rows read from the old catalogue whose
                               feature file is missing or was left out (`index add` them again) */
    long n_failed_dropped;  /* failed rows read from the old catalogue (no features to rebuild
                               from; the next add of those videos retries them) */
    long n_extras_kept;     /* extras copied from the old catalogue (owner restored, blob checked) */
    long n_extras_dropped;  /* extras read but dropped: owner not restored, or malformed */
    char *salvage_error;    /* "" if the old catalogue was read completely, else what SQLite said
                               when reading it stopped (rows or extras after that point are lost;
                               extras can be recomputed with `vidsim index hash`) */
    char *old_check;        /* SQLite's quick_check of the old catalogue: "ok", its first complaint,
                               the open error, or "missing" */
    char *kept_as;          /* the old catalogue's new path, DIR/catalogue.sqlite.damaged-<UTC time>
                               (its -wal file beside it, if it had one); "" if there was none */
    char model_id[64];      /* the index's model id, from the old meta or else from the files */
    double fps;             /* the index's frame rate, likewise */
} vs_index_rebuild_report;

/* Rebuild DIR's catalogue from the feature files in DIR/features. Each file that
 * loads (checksum) and matches the index's model and fps becomes an ok row (path,
 * size, mtime, fingerprint, duration and frames from the file); whatever of the old
 * catalogue SQLite can still read is used to keep row ids, paths and add times, the
 * index's model id and fps (else taken from the files), and extras whose video was
 * restored and whose blob checks out. The new catalogue is written beside the old one
 * (DIR/catalogue.sqlite.rebuild-tmp), made durable, and renamed into place; the old
 * one is kept as DIR/catalogue.sqlite.damaged-<UTC time>, never deleted. Files that
 * fail to load are listed in the report and left where they are. Holds the writer
 * lock (VS_ERR_IO "locked" while another writer, in this process or another, has the
 * index open). Readers keep working on the old catalogue until the rename. Returns
 * VS_OK when the new catalogue is in place (look at report->n_skipped and n_lost);
 * *out is a new report (free with vs_index_rebuild_report_free), NULL on failure, when
 * the old catalogue is left untouched. Blocks: it reads every feature file. */
/* A compressed index (format 3): its files are decoded with DIR/codebook.vstf, whose
 * codec and id the new catalogue records; a codebook.vstf that does not load is refused. */
VS_API vs_status vs_index_rebuild(const char *dir, vs_index_rebuild_report **out);
VS_API void vs_index_rebuild_report_free(vs_index_rebuild_report *r);

#ifdef __cplusplus
}
#endif

#endif
