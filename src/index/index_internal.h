/*
 * index_internal.h - private pieces of the video index shared by catalogue.c (the
 * SQLite catalogue and the handle), add.c, add_video.c and verify.c. Not installed.
 */
#ifndef VS_INDEX_INTERNAL_H
#define VS_INDEX_INTERNAL_H

#include "core/internal.h"
#include "vidsim/index.h"

#include <pthread.h>
#include <sqlite3.h>

#define VS__INDEX_CATALOGUE "catalogue.sqlite"
#define VS__INDEX_FEATURES "features"
#define VS__INDEX_LOCK "lock"

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
    int format_version;   /* meta: 2, or 1 for a read-only handle on an old index (no extras) */
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
 * VS_INDEX_UNCHANGED with the row's id and frames), 0 if not, <0 on error. Takes mu. */
int vs__index_unchanged(vs_index *idx, const char *abspath, uint64_t size, int64_t mtime_ns,
                        uint64_t hash, const char *model_id, vs_index_add_result *res);

/* Model check against the meta without committing anything. Takes mu. */
vs_status vs__index_check_model(vs_index *idx, const char *model_id, double fps);

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

#endif
