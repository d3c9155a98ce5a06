/*
 * rebuild.c - vs_index_rebuild: a new catalogue from the feature files, for when the
 * old one is damaged (writers refuse it, catalogue.c). Every .vsf file carries the
 * source path, size, mtime, fingerprint, model id, fps, frames and duration, so the
 * rows can be written again from features/ alone; what SQLite can still read of the
 * old catalogue (meta, rows, extras, verdicts, the id sequence) is salvaged first,
 * read-only, to keep ids, paths, add times, the model, the extras of restored videos
 * and the reviewers' verdicts (keyed by names, kept as read). Compressed feature files
 * (format 3) are read with DIR/codebook.vstf, whose codec and id go into the new meta;
 * a codebook that does not load makes the rebuild refuse (it would drop every video).
 *
 * Steps, under the writer lock: salvage; load every feature file (checksum) and pick
 * one per video; write DIR/catalogue.sqlite.rebuild-tmp in one transaction, fsync;
 * hard-link the old catalogue (and its -wal) to catalogue.sqlite.damaged-<UTC time>;
 * drop the old -wal/-shm names (a WAL must never be replayed onto the new file);
 * rename the new file over catalogue.sqlite; fsync the directory. catalogue.sqlite
 * names a complete catalogue at every moment, so a kill leaves the old one (and a
 * temp file the next rebuild removes) or the new one.
 *
 * Not here: it never deletes or edits a feature file (bad ones are reported and left
 * in place; verify --repair deletes orphans), and it does not re-extract anything.
 */
#define _POSIX_C_SOURCE 200809L
#include "index/index_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_NAME VS__INDEX_CATALOGUE ".rebuild-tmp"

/* ------------------------------------------------------------------ salvage */

typedef struct {
    int64_t id, added_ns;
    char *path, *ff;        /* ff: feature file relative to the dir, "" for failed rows */
    int ok;
} old_row;

typedef struct {
    int64_t video_id, n_rows, n_cols, added_ns;
    char *kind, *model_id, *dtype, *checksum;
    void *data;
    int64_t bytes;
} old_extra;

typedef struct {
    char model_id[64];
    double fps;
    int64_t created_ns, seq;
    old_row *rows;          /* [n_rows] by id */
    long n_rows;
    old_row **by_ff;        /* [n_rows] the rows by feature file */
    old_extra *x;
    long n_x;
    char **verdicts;        /* [n_v][3]: a, b, verdict (reviewers' verdicts, names: kept as they are) */
    int64_t *verdict_ns;    /* [n_v] */
    long n_v;
    char err[1024];         /* first read error, "" if everything was read */
    char check[700];        /* quick_check verdict */
} salvage;

static void salvage_free(salvage *sv) {
    for (long i = 0; i < sv->n_rows; i++) {
        vs__free(sv->rows[i].path);
        vs__free(sv->rows[i].ff);
    }
    vs__free(sv->rows);
    vs__free(sv->by_ff);
    for (long i = 0; i < sv->n_x; i++) {
        old_extra *e = &sv->x[i];
        vs__free(e->kind);
        vs__free(e->model_id);
        vs__free(e->dtype);
        vs__free(e->checksum);
        vs__free(e->data);
    }
    vs__free(sv->x);
    for (long i = 0; i < 3 * sv->n_v; i++) vs__free(sv->verdicts[i]);
    vs__free(sv->verdicts);
    vs__free(sv->verdict_ns);
}

static int grow(void **v, long *cap, long need, size_t es) {
    if (need <= *cap) return 0;
    long nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    void *p = vs__realloc(*v, (size_t)nc * es);
    if (!p) return -1;
    *v = p;
    *cap = nc;
    return 0;
}

static char *col(sqlite3_stmt *st, int i) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    return vs__strdup(t ? t : "");
}

static int cmp_row_id(const void *a, const void *b) {
    const old_row *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_row_ff(const void *a, const void *b) {
    return strcmp((*(const old_row *const *)a)->ff, (*(const old_row *const *)b)->ff);
}

/* Note the first read error (what SQLite said, and where). */
static void note_err(salvage *sv, sqlite3 *db, int rc, const char *what) {
    if (!sv->err[0])
        snprintf(sv->err, sizeof sv->err, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* Read what can be read of the old catalogue, read-only (the file is kept as found).
 * Only out of memory is an error; everything else is noted in sv->err. */
static vs_status salvage_old(const char *cat, salvage *sv) {
    struct stat sb;
    if (stat(cat, &sb) != 0) {
        snprintf(sv->check, sizeof sv->check, "missing");
        return VS_OK;
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(cat, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        snprintf(sv->check, sizeof sv->check, "cannot open: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        snprintf(sv->err, sizeof sv->err, "%s", sv->check);
        sqlite3_close(db);
        return VS_OK;
    }
    sqlite3_busy_timeout(db, 10000);
    vs_status s = VS_OK;
    sqlite3_stmt *st;
    long cap;
    /* verdict */
    if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL)) == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (!sv->check[0]) {
                const char *t = (const char *)sqlite3_column_text(st, 0);
                snprintf(sv->check, sizeof sv->check, "%s", t ? t : "");
            }
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE && !sv->check[0]) snprintf(sv->check, sizeof sv->check, "%s", sqlite3_errmsg(db));
    for (char *c = sv->check; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    /* meta */
    if ((rc = sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &st, NULL)) == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *k = (const char *)sqlite3_column_text(st, 0), *v = (const char *)sqlite3_column_text(st, 1);
            if (!k || !v) continue;
            if (!strcmp(k, "model_id")) snprintf(sv->model_id, sizeof sv->model_id, "%s", v);
            else if (!strcmp(k, "fps")) sv->fps = atof(v);
            else if (!strcmp(k, "created_ns")) sv->created_ns = strtoll(v, NULL, 10);
        }
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE) note_err(sv, db, rc, "reading meta");
    /* rows, in rowid order: a scan that hits a damaged page stops there */
    cap = 0;
    if ((rc = sqlite3_prepare_v2(db, "SELECT id, path, feature_file, added_ns, status FROM videos", -1, &st, NULL)) ==
        SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (grow((void **)&sv->rows, &cap, sv->n_rows + 1, sizeof *sv->rows)) {
                s = vs__err(VS_ERR_NOMEM, "out of memory");
                break;
            }
            old_row *r = &sv->rows[sv->n_rows++];
            const char *stt = (const char *)sqlite3_column_text(st, 4);
            r->id = sqlite3_column_int64(st, 0);
            r->path = col(st, 1);
            r->ff = col(st, 2);
            r->added_ns = sqlite3_column_int64(st, 3);
            r->ok = stt && !strcmp(stt, "ok");
            if (!r->path || !r->ff) {
                s = vs__err(VS_ERR_NOMEM, "out of memory");
                break;
            }
        }
        sqlite3_finalize(st);
    }
    if (!s && rc != SQLITE_DONE) note_err(sv, db, rc, "reading the videos table");
    /* extras (format 2; a format-1 catalogue has none) */
    cap = 0;
    if (!s && (rc = sqlite3_prepare_v2(db,
                                       "SELECT video_id, kind, model_id, dtype, n_rows, n_cols, checksum, data, added_ns"
                                       " FROM extras",
                                       -1, &st, NULL)) == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (grow((void **)&sv->x, &cap, sv->n_x + 1, sizeof *sv->x)) {
                s = vs__err(VS_ERR_NOMEM, "out of memory");
                break;
            }
            old_extra *e = &sv->x[sv->n_x++];
            memset(e, 0, sizeof *e);
            e->video_id = sqlite3_column_int64(st, 0);
            e->kind = col(st, 1);
            e->model_id = col(st, 2);
            e->dtype = col(st, 3);
            e->n_rows = sqlite3_column_int64(st, 4);
            e->n_cols = sqlite3_column_int64(st, 5);
            e->checksum = col(st, 6);
            e->bytes = sqlite3_column_bytes(st, 7);
            e->data = vs__malloc(e->bytes > 0 ? (size_t)e->bytes : 1);
            if (e->data && e->bytes > 0) memcpy(e->data, sqlite3_column_blob(st, 7), (size_t)e->bytes);
            e->added_ns = sqlite3_column_int64(st, 8);
            if (!e->kind || !e->model_id || !e->dtype || !e->checksum || !e->data) {
                s = vs__err(VS_ERR_NOMEM, "out of memory");
                break;
            }
        }
        sqlite3_finalize(st);
    }
    if (!s && rc != SQLITE_DONE && !strstr(sqlite3_errmsg(db), "no such table")) note_err(sv, db, rc, "reading the extras table");
    /* reviewers' verdicts (verdicts.c; the table exists once a verdict was set) */
    cap = 0;
    long vcap = 0;
    if (!s && (rc = sqlite3_prepare_v2(db, "SELECT a, b, verdict, set_ns FROM verdicts", -1, &st, NULL)) == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (grow((void **)&sv->verdicts, &cap, 3 * (sv->n_v + 1), sizeof *sv->verdicts) ||
                grow((void **)&sv->verdict_ns, &vcap, sv->n_v + 1, sizeof *sv->verdict_ns)) {
                s = vs__err(VS_ERR_NOMEM, "out of memory");
                break;
            }
            char **v = &sv->verdicts[3 * sv->n_v];
            v[0] = col(st, 0);
            v[1] = col(st, 1);
            v[2] = col(st, 2);
            sv->verdict_ns[sv->n_v++] = sqlite3_column_int64(st, 3);
            if (!v[0] || !v[1] || !v[2]) {
                s = vs__err(VS_ERR_NOMEM, "out of memory");
                break;
            }
        }
        sqlite3_finalize(st);
    }
    if (!s && rc != SQLITE_DONE && !strstr(sqlite3_errmsg(db), "no such table")) note_err(sv, db, rc, "reading the verdicts table");
    /* the id sequence, so that ids stay never reused */
    if (!s && (rc = sqlite3_prepare_v2(db, "SELECT seq FROM sqlite_sequence WHERE name = 'videos'", -1, &st, NULL)) ==
                  SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) sv->seq = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    if (!s && rc != SQLITE_DONE) note_err(sv, db, rc, "reading the id sequence");
    sqlite3_close(db);
    if (s) return s;
    /* lookups by id (extras) and by feature file (each file's old row) */
    if (sv->n_rows > 0) qsort(sv->rows, (size_t)sv->n_rows, sizeof *sv->rows, cmp_row_id);
    if (!(sv->by_ff = vs__malloc(((size_t)sv->n_rows + 1) * sizeof *sv->by_ff))) return vs__err(VS_ERR_NOMEM, "out of memory");
    for (long i = 0; i < sv->n_rows; i++) sv->by_ff[i] = &sv->rows[i];
    qsort(sv->by_ff, (size_t)sv->n_rows, sizeof *sv->by_ff, cmp_row_ff);
    return VS_OK;
}

/* The old row with this id, or -1. */
static long row_by_id(const salvage *sv, int64_t id) {
    long lo = 0, hi = sv->n_rows - 1;
    while (lo <= hi) {
        long m = lo + (hi - lo) / 2;
        if (sv->rows[m].id == id) return m;
        if (sv->rows[m].id < id) lo = m + 1;
        else hi = m - 1;
    }
    return -1;
}

/* The old ok row naming feature file rel, or -1. */
static long row_by_ff(const salvage *sv, const char *rel) {
    long lo = 0, hi = sv->n_rows - 1;
    while (lo <= hi) {
        long m = lo + (hi - lo) / 2;
        const old_row *x = sv->by_ff[m];
        int c = strcmp(x->ff, rel);
        if (!c) return x->ok ? (long)(x - sv->rows) : -1;
        if (c < 0) lo = m + 1;
        else hi = m - 1;
    }
    return -1;
}

/* ------------------------------------------------------------------ feature files */

typedef struct {
    char *rel;              /* "features/NAME.vsf" */
    char *path;             /* absolute source path (the old row's, else the file's) */
    uint64_t size, hash;
    int64_t mtime_ns, file_mtime_ns;
    double duration, fps;
    int T;
    char model_id[64];
    long old;               /* index into salvage rows, -1 if none */
    int64_t id;             /* assigned id */
    int keep;
} cand;

static int cmp_cand_path(const void *a, const void *b) {
    const cand *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : strcmp(x->rel, y->rel);
}

static int cmp_cand_id(const void *a, const void *b) {
    const cand *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static vs_status add_skip(vs_index_rebuild_report *r, long *cap, const char *rel, const char *why, int dup) {
    if (grow((void **)&r->skipped, cap, r->n_skipped + 1, sizeof *r->skipped))
        return vs__err(VS_ERR_NOMEM, "out of memory");
    vs_index_rebuild_skip *k = &r->skipped[r->n_skipped++];
    k->file = vs__strdup(rel);
    k->reason = vs__strdup(why);
    k->duplicate = dup;
    if (!k->file || !k->reason) return vs__err(VS_ERR_NOMEM, "out of memory");
    return VS_OK;
}

/* Sorted names of the .vsf files in features/ (temporary files of interrupted writes,
 * "*.tmp.*", are not features). */
static vs_status list_vsf(const char *feat_dir, char ***out, long *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(feat_dir);
    if (!d) return vs__err(VS_ERR_IO, "%s: cannot list (nothing to rebuild from): %s", feat_dir, strerror(errno));
    char **v = NULL;
    long cap = 0, k = 0;
    vs_status s = VS_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        if (len < 5 || strcmp(nm + len - 4, ".vsf") != 0 || strstr(nm, ".tmp.")) continue;
        if (grow((void **)&v, &cap, k + 1, sizeof *v) || !(v[k] = vs__strdup(nm))) {
            s = vs__err(VS_ERR_NOMEM, "out of memory");
            break;
        }
        k++;
    }
    closedir(d);
    if (v) qsort(v, (size_t)k, sizeof *v, cmp_str);
    *out = v;
    *n = k;
    return s;
}

/* The most common model id (ties: the smallest) among the loaded files. */
static vs_status majority_model(const cand *c, long n, char *out, size_t cap) {
    out[0] = 0;
    if (n == 0) return VS_OK;
    const char **v = vs__malloc((size_t)n * sizeof *v);
    if (!v) return vs__err(VS_ERR_NOMEM, "out of memory");
    for (long i = 0; i < n; i++) v[i] = c[i].model_id;
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    long best = 0;
    for (long i = 0, j; i < n; i = j) {
        for (j = i; j < n && !strcmp(v[j], v[i]); j++) {}
        if (j - i > best) {
            best = j - i;
            snprintf(out, cap, "%s", v[i]);
        }
    }
    vs__free(v);
    return VS_OK;
}

static int same_fps(double a, double b) { return a >= b * 0.999 && a <= b * 1.001; }

/* ------------------------------------------------------------------ writing */

static vs_status db_fail(sqlite3 *db, int rc, const char *path, const char *what) {
    return vs__err((rc & 0xff) == SQLITE_NOMEM ? VS_ERR_NOMEM : VS_ERR_IO, "%s: %s: %s", path, what,
                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static vs_status exec(sqlite3 *db, const char *path, const char *sql) {
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? VS_OK : db_fail(db, rc, path, sql);
}

static void stem_of(const char *path, char *out, size_t n) {
    const char *b = strrchr(path, '/');
    snprintf(out, n, "%s", b ? b + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

static vs_status set_meta(sqlite3 *db, const char *tmp, const char *key, const char *value) {
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", -1, &st, NULL);
    if (rc != SQLITE_OK) return db_fail(db, rc, tmp, "writing meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VS_OK : db_fail(db, rc, tmp, "writing meta");
}

/* The body of the new catalogue's one transaction. c: the kept candidates, by id. */
static vs_status write_body(sqlite3 *db, const char *tmp, const cand *c, long n, const salvage *sv,
                            const vs_index_rebuild_report *r, const char *restored_old, long *kept, long *dropped,
                            const vs_quant *q) {
    vs_status s;
    char b[64];
    if ((s = exec(db, tmp, vs__index_schema_sql)) || (s = exec(db, tmp, vs__index_extras_sql))) return s;
    if (q && ((s = set_meta(db, tmp, "codec", vs_quant_codec(q))) || (s = set_meta(db, tmp, "codebook_id", vs_quant_id(q)))))
        return s;
    if ((s = set_meta(db, tmp, "model_id", r->model_id))) return s;
    snprintf(b, sizeof b, "%.17g", r->fps);
    if ((s = set_meta(db, tmp, "fps", b))) return s;
    snprintf(b, sizeof b, "%lld", (long long)(sv->created_ns ? sv->created_ns : vs__index_now_ns()));
    if ((s = set_meta(db, tmp, "created_ns", b))) return s;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db,
                                "INSERT INTO videos(id, path, name, size, mtime_ns, hash, duration, n_frames, status,"
                                " error, feature_file, model_id, added_ns) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,'ok','',?9,?10,?11)",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) return db_fail(db, rc, tmp, "inserting rows");
    for (long i = 0; i < n && !s; i++) {
        const cand *x = &c[i];
        char name[1024], hash[24];
        stem_of(x->path, name, sizeof name);
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)x->hash);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, x->id);
        sqlite3_bind_text(st, 2, x->path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)x->size);
        sqlite3_bind_int64(st, 5, x->mtime_ns);
        sqlite3_bind_text(st, 6, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 7, x->duration);
        sqlite3_bind_int(st, 8, x->T);
        sqlite3_bind_text(st, 9, x->rel, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 10, x->model_id, -1, SQLITE_TRANSIENT);
        /* the old add time where the row was readable, else the feature file's mtime (when it was written) */
        sqlite3_bind_int64(st, 11, x->old >= 0 ? sv->rows[x->old].added_ns : x->file_mtime_ns);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) s = db_fail(db, rc, tmp, "inserting a row");
    }
    sqlite3_finalize(st);
    if (s) return s;
    /* extras: only for videos whose old row was read and restored under the same id
     * (an extra whose row was unreadable could belong to any video), blob checked */
    rc = sqlite3_prepare_v2(db,
                            "INSERT OR REPLACE INTO extras(video_id, kind, model_id, dtype, n_rows, n_cols, checksum, data,"
                            " added_ns) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) return db_fail(db, rc, tmp, "inserting extras");
    for (long i = 0; i < sv->n_x && !s; i++) {
        const old_extra *e = &sv->x[i];
        long k = row_by_id(sv, e->video_id);
        char why[240] = "";
        if (k >= 0 && restored_old[k])
            vs__index_blob_problem(why, sizeof why, e->dtype, e->n_rows, e->n_cols, e->checksum, e->data, e->bytes);
        if (k < 0 || !restored_old[k] || why[0]) {
            (*dropped)++;
            continue;
        }
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, e->video_id);
        sqlite3_bind_text(st, 2, e->kind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, e->model_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, e->dtype, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 5, e->n_rows);
        sqlite3_bind_int64(st, 6, e->n_cols);
        sqlite3_bind_text(st, 7, e->checksum, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob64(st, 8, e->data, (sqlite3_uint64)e->bytes, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, e->added_ns);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) s = db_fail(db, rc, tmp, "inserting an extra");
        else (*kept)++;
    }
    sqlite3_finalize(st);
    if (s) return s;
    /* reviewers' verdicts, keyed by names: carried over as read (the CHECK constraint
     * drops a malformed one) */
    if (sv->n_v > 0) {
        if ((s = exec(db, tmp, vs__index_verdicts_sql))) return s;
        rc = sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO verdicts(a, b, verdict, set_ns) VALUES(?1,?2,?3,?4)", -1, &st, NULL);
        if (rc != SQLITE_OK) return db_fail(db, rc, tmp, "inserting verdicts");
        for (long i = 0; i < sv->n_v && !s; i++) {
            sqlite3_reset(st);
            for (int k = 0; k < 3; k++) sqlite3_bind_text(st, k + 1, sv->verdicts[3 * i + k], -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 4, sv->verdict_ns[i]);
            rc = sqlite3_step(st);
            if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT) s = db_fail(db, rc, tmp, "inserting a verdict");
        }
        sqlite3_finalize(st);
        if (s) return s;
    }
    /* ids are never reused: the sequence continues after the old one */
    if (sv->seq > 0) {
        snprintf(b, sizeof b, "%lld", (long long)sv->seq);
        char sql[256];
        snprintf(sql, sizeof sql, "UPDATE sqlite_sequence SET seq = max(seq, %s) WHERE name = 'videos'", b);
        if ((s = exec(db, tmp, sql))) return s;
        if (sqlite3_changes(db) == 0) {
            snprintf(sql, sizeof sql, "INSERT INTO sqlite_sequence(name, seq) VALUES('videos', %s)", b);
            if ((s = exec(db, tmp, sql))) return s;
        }
    }
    return VS_OK;
}

static vs_status fsync_path(const char *p, int dir) {
    int fd = open(p, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return vs__err(VS_ERR_IO, "%s: cannot open to sync: %s", p, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    return r == 0 ? VS_OK : vs__err(VS_ERR_IO, "%s: fsync: %s", p, strerror(e));
}

static char *suffixed(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = vs__malloc(n);
    if (s) snprintf(s, n, "%s%s", a, b);
    return s;
}

static void unlink_db(const char *p) {
    static const char *sfx[] = {"", "-journal", "-wal", "-shm"};
    for (int i = 0; i < 4; i++) {
        char *q = suffixed(p, sfx[i]);
        if (q) unlink(q);
        vs__free(q);
    }
}

/* Keep src as dst: a hard link (src stays in place until renamed over), or a rename
 * where the file system has no hard links. */
static int keep_link(const char *src, const char *dst, int *renamed) {
    *renamed = 0;
    if (link(src, dst) == 0) return 0;
    if (errno != EPERM && errno != ENOTSUP && errno != EXDEV && errno != EMLINK) return -1;
    *renamed = 1;
    return rename(src, dst);
}

/* Build tmp from the kept candidates (by id) and make it durable. */
static vs_status write_new(const char *tmp, const cand *c, long n, const salvage *sv, vs_index_rebuild_report *r,
                           const char *restored_old, const vs_quant *q) {
    sqlite3 *db = NULL;
    unlink_db(tmp);
    int rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    vs_status s = VS_OK;
    if (rc != SQLITE_OK) {
        s = db_fail(db, rc, tmp, "cannot create");
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);
    if ((s = exec(db, tmp, "PRAGMA journal_mode=DELETE")) || (s = exec(db, tmp, "PRAGMA synchronous=FULL")) ||
        (s = exec(db, tmp, "BEGIN IMMEDIATE")))
        goto out;
    s = write_body(db, tmp, c, n, sv, r, restored_old, &r->n_extras_kept, &r->n_extras_dropped, q);
    if (!s) s = exec(db, tmp, "COMMIT");
    if (s) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    /* the index runs in WAL mode; switching now keeps the first writer from doing it */
    if ((s = exec(db, tmp, "PRAGMA journal_mode=WAL"))) goto out;
    char check[300] = "";
    sqlite3_stmt *st;
    if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL)) == SQLITE_OK) {
        if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            snprintf(check, sizeof check, "%s", t ? t : "");
        }
        sqlite3_finalize(st);
    }
    if (strcmp(check, "ok") != 0) {
        s = vs__err(VS_ERR_IO, "%s: the new catalogue fails its own check (%s)", tmp, check[0] ? check : sqlite3_errmsg(db));
        goto out;
    }
out:
    if (db && sqlite3_close(db) != SQLITE_OK && !s) s = vs__err(VS_ERR_IO, "%s: cannot close", tmp);
    if (!s) s = fsync_path(tmp, 0);
    return s;
}

/* Swap the new catalogue in, keeping the old one (and its WAL) under kept. */
static vs_status swap_in(const char *dir, const char *cat, const char *tmp, vs_index_rebuild_report *r) {
    struct stat sb;
    vs_status s = VS_OK;
    char *kept = NULL, *kept_wal = NULL, *wal = suffixed(cat, "-wal"), *shm = suffixed(cat, "-shm");
    if (!wal || !shm) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    int had_old = lstat(cat, &sb) == 0;
    if (had_old) {
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
        size_t n = strlen(cat) + 64;
        if (!(kept = vs__malloc(n))) {
            s = vs__err(VS_ERR_NOMEM, "out of memory");
            goto out;
        }
        snprintf(kept, n, "%s.damaged-%s", cat, ts);
        for (int k = 2; lstat(kept, &sb) == 0 && k < 1000; k++) snprintf(kept, n, "%s.damaged-%s-%d", cat, ts, k);
        int renamed;
        if (keep_link(cat, kept, &renamed) != 0) {
            s = vs__err(VS_ERR_IO, "%s: cannot keep the old catalogue as %s: %s", cat, kept, strerror(errno));
            goto out;
        }
        if (lstat(wal, &sb) == 0 && sb.st_size == 0) {
            unlink(wal); /* empty (our read-only salvage may have created it): nothing to keep */
        } else if (lstat(wal, &sb) == 0) {
            /* catalogue.sqlite.damaged-T-wal pairs with catalogue.sqlite.damaged-T, as SQLite names it */
            if (!(kept_wal = suffixed(kept, "-wal"))) {
                s = vs__err(VS_ERR_NOMEM, "out of memory");
                goto out;
            }
            int rw;
            if (keep_link(wal, kept_wal, &rw) != 0) {
                s = vs__err(VS_ERR_IO, "%s: cannot keep the old write-ahead log as %s: %s", wal, kept_wal, strerror(errno));
                goto out;
            }
            if (!rw) unlink(wal);
        }
        unlink(shm); /* a shared-memory index of the old WAL: new connections rebuild their own */
    }
    if (rename(tmp, cat) != 0) {
        s = vs__err(VS_ERR_IO, "%s: cannot rename the new catalogue into place: %s", tmp, strerror(errno));
        goto out;
    }
    s = fsync_path(dir, 1);
    if (!(r->kept_as = vs__strdup(kept ? kept : ""))) s = vs__err(VS_ERR_NOMEM, "out of memory");
out:
    vs__free(kept);
    vs__free(kept_wal);
    vs__free(wal);
    vs__free(shm);
    return s;
}

/* ------------------------------------------------------------------ the call */

void vs_index_rebuild_report_free(vs_index_rebuild_report *r) {
    if (!r) return;
    for (long i = 0; i < r->n_skipped; i++) {
        vs__free(r->skipped[i].file);
        vs__free(r->skipped[i].reason);
    }
    vs__free(r->skipped);
    for (long i = 0; i < r->n_lost; i++) vs__free(r->lost[i]);
    vs__free(r->lost);
    vs__free(r->salvage_error);
    vs__free(r->old_check);
    vs__free(r->kept_as);
    vs__free(r);
}

/* Load every feature file into c[] (those that load); the others go to r->skipped. */
static vs_status load_all(const char *feat_dir, char **names, long n_names, const salvage *sv,
                          vs_index_rebuild_report *r, long *skip_cap, cand **out, long *n_out, const vs_quant *q) {
    cand *c = vs__calloc((size_t)n_names + 1, sizeof *c);
    if (!c) return vs__err(VS_ERR_NOMEM, "out of memory");
    long n = 0;
    vs_status s = VS_OK;
    for (long i = 0; i < n_names && !s; i++) {
        char rel[1200];
        snprintf(rel, sizeof rel, "%s/%.1100s", VS__INDEX_FEATURES, names[i]);
        char *full = vs__index_join(feat_dir, names[i]);
        if (!full) {
            s = vs__err(VS_ERR_NOMEM, "out of memory");
            break;
        }
        vs_features *f = NULL;
        vs_status ls = vs__feat_load_any(&f, full, q); /* float, or compressed with the codebook */
        struct stat sb;
        if (ls == VS_ERR_NOMEM) {
            s = ls;
        } else if (ls) {
            s = add_skip(r, skip_cap, rel, vs_last_error(), 0);
        } else if (f->T <= 0) {
            s = add_skip(r, skip_cap, rel, "no frames", 0);
        } else {
            cand *x = &c[n];
            memset(x, 0, sizeof *x);
            x->old = row_by_ff(sv, rel);
            /* the old row's path is what the user added (vs_index_add_features may name a
             * path other than f->source); else the file's source, made absolute */
            if (x->old >= 0) {
                if (!(x->path = vs__strdup(sv->rows[x->old].path))) s = vs__err(VS_ERR_NOMEM, "out of memory");
            } else if (!f->source || !f->source[0]) {
                s = add_skip(r, skip_cap, rel, "the file names no source video", 0);
            } else {
                s = vs__index_abspath(f->source, &x->path);
            }
            if (!s && x->path) {
                x->rel = vs__strdup(rel);
                if (!x->rel) s = vs__err(VS_ERR_NOMEM, "out of memory");
                x->size = f->source_size;
                x->hash = f->source_hash;
                x->mtime_ns = f->source_mtime;
                x->duration = f->duration;
                x->fps = f->fps;
                x->T = f->T;
                snprintf(x->model_id, sizeof x->model_id, "%s", f->model_id);
                x->file_mtime_ns = stat(full, &sb) == 0 ? (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec : 0;
                n++;
            } else if (!s) {
                vs__free(x->path);
                x->path = NULL;
            }
        }
        vs_features_free(f);
        vs__free(full);
    }
    *out = c;
    *n_out = n;
    return s;
}

static void cands_free(cand *c, long n) {
    if (!c) return;
    for (long i = 0; i < n; i++) {
        vs__free(c[i].rel);
        vs__free(c[i].path);
    }
    vs__free(c);
}

vs_status vs_index_rebuild(const char *dir, vs_index_rebuild_report **out) {
    *out = NULL;
    if (!dir || !dir[0]) return vs__err(VS_ERR_INVALID_ARG, "vs_index_rebuild: empty directory name");
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) return vs__err(VS_ERR_IO, "%s: no such index directory", dir);
    vs_status s;
    int lock_fd = -1;
    char *cat = vs__index_join(dir, VS__INDEX_CATALOGUE), *tmp = vs__index_join(dir, TMP_NAME);
    char *feat_dir = vs__index_join(dir, VS__INDEX_FEATURES);
    char **names = NULL, *restored_old = NULL;
    long n_names = 0, n_c = 0, skip_cap = 0;
    cand *c = NULL;
    vs_quant *quant = NULL;
    salvage sv;
    memset(&sv, 0, sizeof sv);
    vs_index_rebuild_report *r = vs__calloc(1, sizeof *r);
    if (!cat || !tmp || !feat_dir || !r) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((s = vs__index_lock(dir, &lock_fd))) goto out;
    unlink_db(tmp); /* left by a killed rebuild (we hold the lock: nobody is writing it) */
    if ((s = list_vsf(feat_dir, &names, &n_names))) goto out;
    if ((s = salvage_old(cat, &sv))) goto out;
    r->n_files = n_names;
    {   /* a compressed index's codebook (format 3): its files decode with it, and the new
         * catalogue names it; without one, compressed files are left out (listed) */
        char *cb = vs__index_join(dir, VS__INDEX_CODEBOOK);
        if (!cb) {
            s = vs__err(VS_ERR_NOMEM, "out of memory");
            goto out;
        }
        if (stat(cb, &sb) == 0 && (s = vs_quant_load(&quant, cb))) {
            /* every compressed file would be left out: refuse instead, changing nothing */
            vs__err_prefix(s, "the index's codebook does not load (restore it; nothing was changed)");
            vs__free(cb);
            goto out;
        }
        vs__free(cb);
    }
    if ((s = load_all(feat_dir, names, n_names, &sv, r, &skip_cap, &c, &n_c, quant))) goto out;

    /* the index's model and rate: the old meta's where readable, else the files' */
    snprintf(r->model_id, sizeof r->model_id, "%s", sv.model_id);
    if (!r->model_id[0] && (s = majority_model(c, n_c, r->model_id, sizeof r->model_id))) goto out;
    r->fps = sv.fps;
    for (long i = 0; i < n_c && r->fps <= 0; i++)
        if (!strcmp(c[i].model_id, r->model_id)) r->fps = c[i].fps;
    for (long i = 0; i < n_c && !s; i++) {
        char why[300] = "";
        if (strcmp(c[i].model_id, r->model_id) != 0)
            snprintf(why, sizeof why, "model %.64s; the index's is %.64s", c[i].model_id, r->model_id);
        else if (!same_fps(c[i].fps, r->fps))
            snprintf(why, sizeof why, "%g frames/s; the index's rate is %g", c[i].fps, r->fps);
        c[i].keep = !why[0];
        if (why[0]) s = add_skip(r, &skip_cap, c[i].rel, why, 0);
    }
    if (s) goto out;

    /* one file per video (path): the one the old catalogue named, else the newest source,
     * else the newest file; the others are left out as duplicates */
    qsort(c, (size_t)n_c, sizeof *c, cmp_cand_path);
    for (long i = 0; i < n_c && !s; i++) {
        if (!c[i].keep) continue;
        long best = i;
        for (long j = i + 1; j < n_c && !strcmp(c[j].path, c[i].path); j++) {
            if (!c[j].keep) continue;
            const cand *a = &c[best], *b = &c[j];
            int better = (b->old >= 0) != (a->old >= 0) ? b->old >= 0
                         : b->mtime_ns != a->mtime_ns     ? b->mtime_ns > a->mtime_ns
                                                          : b->file_mtime_ns > a->file_mtime_ns;
            if (better) best = j;
        }
        for (long j = i; j < n_c && !strcmp(c[j].path, c[i].path) && !s; j++) {
            if (j == best || !c[j].keep) continue;
            c[j].keep = 0;
            char why[1400];
            snprintf(why, sizeof why, "%s is also in %.1100s, which was kept", c[j].path, c[best].rel);
            s = add_skip(r, &skip_cap, c[j].rel, why, 1);
        }
        while (i + 1 < n_c && !strcmp(c[i + 1].path, c[i].path)) i++;
    }
    if (s) goto out;

    /* ids: the old row's where it was read, then new ones after every id ever used */
    int64_t next = sv.seq;
    for (long k = 0; k < sv.n_rows; k++)
        if (sv.rows[k].id > next) next = sv.rows[k].id;
    if (!(restored_old = vs__calloc((size_t)sv.n_rows + 1, 1))) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    long k = 0;
    for (long i = 0; i < n_c; i++) {
        if (!c[i].keep) continue;
        cand t = c[k]; /* compact: kept ones to the front, left-out ones (and their strings) behind */
        c[k] = c[i];
        c[i] = t;
        if (c[k].old >= 0) {
            c[k].id = sv.rows[c[k].old].id;
            restored_old[c[k].old] = 1;
            r->n_rows_matched++;
        } else {
            c[k].id = ++next;
        }
        k++;
    }
    for (long i = k; i < n_c; i++) { /* the left-out ones */
        vs__free(c[i].rel);
        vs__free(c[i].path);
        c[i].rel = c[i].path = NULL;
    }
    n_c = k;
    r->n_rows = n_c;
    qsort(c, (size_t)n_c, sizeof *c, cmp_cand_id);

    /* what of the old catalogue cannot come back */
    long lost_cap = 0;
    for (long j = 0; j < sv.n_rows && !s; j++) {
        if (!sv.rows[j].ok) {
            r->n_failed_dropped++;
            continue;
        }
        if (restored_old[j]) continue;
        if (grow((void **)&r->lost, &lost_cap, r->n_lost + 1, sizeof *r->lost) ||
            !(r->lost[r->n_lost++] = vs__strdup(sv.rows[j].path)))
            s = vs__err(VS_ERR_NOMEM, "out of memory");
    }
    if (s) goto out;

    if ((s = write_new(tmp, c, n_c, &sv, r, restored_old, quant))) goto out;
    if ((s = swap_in(dir, cat, tmp, r))) goto out;
    r->salvage_error = vs__strdup(sv.err);
    r->old_check = vs__strdup(sv.check[0] ? sv.check : "ok");
    if (!r->salvage_error || !r->old_check) {
        /* the new catalogue is in place; only the report is short of memory */
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    *out = r;
    r = NULL;
out:
    if (s && tmp) unlink_db(tmp);
    if (s && !*out) vs__err_prefix(s, "%s: rebuilding the catalogue", dir ? dir : "");
    vs_index_rebuild_report_free(r);
    cands_free(c, n_c);
    vs__free(restored_old);
    vs_quant_free(quant);
    salvage_free(&sv);
    for (long i = 0; i < n_names; i++) vs__free(names[i]);
    vs__free(names);
    if (lock_fd >= 0) close(lock_fd);
    vs__free(cat);
    vs__free(tmp);
    vs__free(feat_dir);
    return s;
}
