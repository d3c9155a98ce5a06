/*
 * index_internal.h - private pieces of the video index shared by catalogue.c (the
 * SQLite catalogue and the handle), add.c, add_video.c and verify.c. Not installed.
 */
#ifndef VS_INDEX_INTERNAL_H
#define VS_INDEX_INTERNAL_H

#include "core/internal.h"
#include "vidsim/index.h"
#include "vidsim/quant.h"

#include <pthread.h>
#include <sqlite3.h>

#define VS__INDEX_CATALOGUE "catalogue.sqlite"
#define VS__INDEX_FEATURES "features"
#define VS__INDEX_LOCK "lock"
#define VS__INDEX_CODEBOOK "codebook.vstf"

struct vs_index {
    char *dir;            /* as given to vs_index_open */
    char *cat_path;       /* dir/catalogue.sqlite */
    char *feat_dir;       /* dir/features */
    sqlite3 *db;          /* one connection, used under mu only */
    pthread_mutex_t mu;   /* serializes every catalogue access and the fields below */
    int readonly;
    int lock_fd;          /* flock(LOCK_EX) on dir/lock for writable handles, else -1 */
    int in_flight;        /* adds that have started writing a feature file */
    char model_id[64];    /* meta: "" until the first add */
    double fps;           /* meta: 0 until the first successful add */
    int format_version;   /* meta: 3 or 2, or 1 for a read-only handle on an old index (no extras) */
    int wcheck;           /* quick_check before the first write: 0 not run yet, 1 passed, -1 damaged */
    char wcheck_msg[1536];/* the refusal when wcheck is -1 */
    char codec[16];       /* meta (format 3): codec of the codebook, "" when the index has none */
    char codebook_id[33]; /* meta (format 3): its id, "" when none */
    vs_quant *quant;      /* the codebook, loaded on first use (vs__index_quant), read-only */
};

/* A row to commit. Strings borrowed. */
typedef struct vs__index_row {
    const char *path;         /* absolute */
    uint64_t size;
    int64_t mtime_ns;
    uint64_t hash;
    double duration;
    int n_frames;
    int ok;
    const char *error;        /* failed rows */
    const char *feature_file; /* ok rows: relative to the index dir */
    const char *model_id;
    double fps;               /* ok rows */
} vs__index_row;

/* Absolute, lexically normalized path (".", ".." and "//" removed; symlinks kept).
 * New string. */
vs_status vs__index_abspath(const char *path, char **out);

/* Commit one row in its own transaction, replacing any row with the same path; the
 * replaced row's feature file is deleted after the commit. Checks the model (and fps
 * for ok rows) against the index meta, setting them on the first add. Takes mu. */
vs_status vs__index_commit_row(vs_index *idx, const vs__index_row *r, vs_index_add_result *res);

/* 1 if an ok row for path has this size, mtime, hash and model (then res says
 * VS_INDEX_UNCHANGED with the row's id and frames, and *feature_file, if not NULL,
 * gets the row's feature file relative to the index dir, a new string), 0 if not,
 * or on error the (negative) status with the message set. Catalogue only: the
 * feature file is not looked at. Takes mu. */
int vs__index_unchanged(vs_index *idx, const char *abspath, uint64_t size, int64_t mtime_ns,
                        uint64_t hash, const char *model_id, vs_index_add_result *res,
                        char **feature_file);

/* vs__index_unchanged, then the row's feature file is loaded and checked as
 * vs_index_load_features does (checksum, model id, frame count), outside mu.
 * 1: unchanged and intact (res says VS_INDEX_UNCHANGED). 0: must be (re)extracted;
 * when the row matched but its feature file is missing or damaged, res is cleared
 * and res->repair_reason says why. On error (out of memory, catalogue) the negative
 * status, with the message set. */
int vs__index_unchanged_intact(vs_index *idx, const char *abspath, uint64_t size, int64_t mtime_ns,
                               uint64_t hash, const char *model_id, vs_index_add_result *res);

/* Model check against the meta without committing anything. Takes mu. */
vs_status vs__index_check_model(vs_index *idx, const char *model_id, double fps);

/* Take the index's writer lock: flock(LOCK_EX | LOCK_NB) on dir/lock, *fd the open
 * descriptor (close it to release). VS_ERR_IO "locked by another writer" if held. */
vs_status vs__index_lock(const char *dir, int *fd);

/* Before a handle's first catalogue write: SQLite's quick_check, once per handle
 * (cached). VS_ERR_FORMAT naming the catalogue, what SQLite said and `vidsim index
 * rebuild` when the catalogue is damaged; VS_ERR_INVALID_ARG on a read-only handle.
 * Called under mu (the public vs_index_check_writable takes it). */
vs_status vs__index_check_writable_locked(vs_index *idx);

/* The catalogue schema (tables, indexes, meta rows with format_version 2, empty
 * model id, fps 0) and the format-2 extras table with its trigger; rebuild.c
 * creates a fresh catalogue from them. */
extern const char *const vs__index_schema_sql;
extern const char *const vs__index_extras_sql;
/* The verdicts table (verdicts.c: CREATE TABLE IF NOT EXISTS, run by the first verdict
 * set and by rebuild.c when it carries verdicts over). */
extern const char *const vs__index_verdicts_sql;

/* Why a stored extras blob is malformed (unknown dtype, bad shape, size not matching
 * the shape, checksum mismatch), into why[n]; "" when it is fine. */
void vs__index_blob_problem(char *why, size_t n, const char *dtype, int64_t rows, int64_t cols,
                            const char *checksum, const void *data, int64_t bytes);

/* Map a SQLite result code to a status with a message naming the catalogue. */
vs_status vs__index_db_err(vs_index *idx, int rc, const char *what);

/* Small SQLite helpers shared by catalogue.c and extras.c: run sql (errors name the
 * catalogue and the statement), roll back the open transaction, prepare a statement;
 * and the wall clock in nanoseconds for the catalogue's timestamps. */
vs_status vs__index_exec(vs_index *idx, const char *sql);
void vs__index_rollback(vs_index *idx);
vs_status vs__index_prepare(vs_index *idx, const char *sql, sqlite3_stmt **st);
int64_t vs__index_now_ns(void);

/* Join dir and a relative name into a new string. */
char *vs__index_join(const char *a, const char *b);

/* One extras row that failed its check (extras.c, for vs_index_verify). */
typedef struct vs__index_bad_extra {
    int64_t video_id;
    char *kind, *model_id;
    char *detail;
} vs__index_bad_extra;

/* Check every extras row (dtype, shape against the blob size, checksum, owner row
 * exists and is ok); *out a new array of the bad ones (free with
 * vs__index_bad_extras_free). With repair, bad rows are deleted in one transaction. */
vs_status vs__index_check_extras(vs_index *idx, int repair, vs__index_bad_extra **out, long *n_out);
void vs__index_bad_extras_free(vs__index_bad_extra *v, long n);

/* ---- compressed feature files and the codebook (cfeat.c, compress.c) */

/* Write f (borrowed) encoded with q as a compressed feature file (VSF version 2), atomically. */
vs_status vs__cfeat_save(const vs_features *f, const vs_quant *q, const char *path);
/* Load a compressed feature file: checks and decodes every code with q (q NULL: refused,
 * naming the file and its codebook; another codebook than q: refused likewise). */
vs_status vs__cfeat_load(vs_features **out, const char *path, const vs_quant *q);
/* The VSF version of a feature file (1 float, 2 compressed), 0 when unreadable or not one. */
int vs__feat_file_version(const char *path);
/* Either kind of feature file: version 2 through q, anything else through vs_features_load. */
vs_status vs__feat_load_any(vs_features **out, const char *path, const vs_quant *q);
/* The index's codebook (loaded from dir/codebook.vstf on first use and checked against the
 * meta's id and model id), *out NULL when the index has none. Takes mu. */
vs_status vs__index_quant(vs_index *idx, const vs_quant **out);
/* A feature file of this index, either kind (the codebook is loaded when needed). */
vs_status vs__index_load_file(vs_index *idx, const char *path, vs_features **out);
/* Save f for this index: compressed with its codebook when it has one, else float (VSF 1). */
vs_status vs__index_save_file(vs_index *idx, const vs_features *f, const char *path);
/* Set (or change) one meta value in the open transaction (catalogue.c). */
vs_status vs__index_set_meta(vs_index *idx, const char *key, const char *value);
/* Re-read meta into the handle (under mu or before the handle is shared). */
vs_status vs__index_load_meta(vs_index *idx);
/* A fresh feature file name "features/<hash>-<nonce>.vsf" (new string). */
char *vs__index_new_feature_name(uint64_t source_hash);

#endif
