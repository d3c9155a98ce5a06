/*
 * catalogue.c - the index handle and its SQLite catalogue: open/create (directory
 * lock, schema, WAL, format checks that name the file), the meta table (format
 * version, model id, fps), committing one row per transaction, listing rows and
 * removing them. Feature-file writing lives in add.c; checking in verify.c.
 *
 * Durability: WAL with synchronous=FULL, so a committed row survives a crash of the
 * process or the machine; a row is committed only after its feature file has been
 * fsynced and renamed into place (add.c), and a replaced or removed row's file is
 * deleted only after the commit. A kill in between leaves an orphan file, which
 * vs_index_sweep / vs_index_verify remove; never a row without its file.
 */
#define _POSIX_C_SOURCE 200809L
#include "index/index_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const vs__index_schema_sql =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE videos("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " path TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " hash TEXT NOT NULL,"
    " duration REAL NOT NULL,"
    " n_frames INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK(status IN ('ok','failed')),"
    " error TEXT NOT NULL DEFAULT '',"
    " feature_file TEXT,"
    " model_id TEXT NOT NULL,"
    " added_ns INTEGER NOT NULL);"
    "CREATE INDEX videos_name ON videos(name);"
    "CREATE UNIQUE INDEX videos_feature_file ON videos(feature_file);"
    "INSERT INTO meta VALUES('kind','vidsim-index');"
    "INSERT INTO meta VALUES('format_version','3');"
    "INSERT INTO meta VALUES('model_id','');"
    "INSERT INTO meta VALUES('fps','0');";

/* Format 2 adds per-video side data (extras.c); a format-1 catalogue gets these on
 * its first writable open, in one transaction. The trigger removes a video's extras
 * in the transaction that deletes (or replaces) its row, whoever deletes it. */
const char *const vs__index_extras_sql =
    "CREATE TABLE extras("
    " video_id INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " model_id TEXT NOT NULL,"
    " dtype TEXT NOT NULL,"
    " n_rows INTEGER NOT NULL,"
    " n_cols INTEGER NOT NULL,"
    " checksum TEXT NOT NULL,"
    " data BLOB NOT NULL,"
    " added_ns INTEGER NOT NULL,"
    " PRIMARY KEY(video_id, kind, model_id));"
    "CREATE INDEX extras_kind ON extras(kind, model_id, video_id);"
    "CREATE TRIGGER videos_drop_extras AFTER DELETE ON videos"
    " BEGIN DELETE FROM extras WHERE video_id = old.id; END;";

char *vs__index_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = vs__malloc(n);
    if (s) snprintf(s, n, "%s/%s", a, b);
    return s;
}

vs_status vs__index_db_err(vs_index *idx, int rc, const char *what) {
    int base = rc & 0xff;
    vs_status code = base == SQLITE_NOMEM                            ? VS_ERR_NOMEM
                     : base == SQLITE_NOTADB || base == SQLITE_CORRUPT ? VS_ERR_FORMAT
                                                                       : VS_ERR_IO;
    const char *msg = idx->db ? sqlite3_errmsg(idx->db) : sqlite3_errstr(rc);
    int os_err = idx->db ? sqlite3_system_errno(idx->db) : 0;
    char msg_os[512];
    if (os_err && (base == SQLITE_IOERR || base == SQLITE_FULL || base == SQLITE_CANTOPEN)) {
        snprintf(msg_os, sizeof msg_os, "%s (%s)", msg, strerror(os_err)); /* the disk's own reason */
        msg = msg_os;
    }
    if (base == SQLITE_CORRUPT) /* a damaged page: the feature files still hold every video */
        return vs__err(code, "%s: the catalogue is damaged (%s: %s); rebuild it from the feature files with "
                             "`vidsim index rebuild --index %s`", idx->cat_path, what, msg, idx->dir);
    if (code == VS_ERR_FORMAT)
        return vs__err(code, "%s: not a valid vidsim index catalogue (%s: %s)", idx->cat_path, what, msg);
    return vs__err(code, "%s: %s: %s", idx->cat_path, what, msg);
}

vs_status vs__index_abspath(const char *path, char **out) {
    *out = NULL;
    if (!path || !path[0]) return vs__err(VS_ERR_INVALID_ARG, "empty path");
    char cwd[4096] = "";
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd))
        return vs__err(VS_ERR_IO, "%s: cannot get the current directory: %s", path, strerror(errno));
    size_t n = strlen(cwd) + strlen(path) + 3;
    char *in = vs__malloc(n), *o = vs__malloc(n);
    if (!in || !o) {
        vs__free(in);
        vs__free(o);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    snprintf(in, n, "%s/%s", cwd, path);
    /* walk components; o holds "/a/b" without a trailing slash ("" = root) */
    size_t len = 0;
    o[0] = 0;
    char *save = NULL;
    for (char *c = strtok_r(in, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, ".")) continue;
        if (!strcmp(c, "..")) {
            while (len > 0 && o[len - 1] != '/') len--;
            if (len > 0) len--;
            o[len] = 0;
            continue;
        }
        o[len++] = '/';
        size_t k = strlen(c);
        memcpy(o + len, c, k);
        len += k;
        o[len] = 0;
    }
    if (!len) strcpy(o, "/");
    vs__free(in);
    *out = o;
    return VS_OK;
}

int64_t vs__index_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

vs_status vs__index_exec(vs_index *idx, const char *sql) {
    int rc = sqlite3_exec(idx->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? VS_OK : vs__index_db_err(idx, rc, sql);
}

void vs__index_rollback(vs_index *idx) { sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL); }

vs_status vs__index_prepare(vs_index *idx, const char *sql, sqlite3_stmt **st) {
    int rc = sqlite3_prepare_v2(idx->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? VS_OK : vs__index_db_err(idx, rc, "prepare");
}

/* Read meta into the handle (under mu or before the handle is shared). */
static vs_status load_meta(vs_index *idx) {
    sqlite3_stmt *st;
    vs_status s = vs__index_prepare(idx, "SELECT key, value FROM meta", &st);
    if (s) return s;
    int version = -1, kind = 0, rc;
    idx->model_id[0] = 0;
    idx->fps = 0;
    idx->codec[0] = idx->codebook_id[0] = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        if (!k || !v) continue;
        if (!strcmp(k, "kind")) kind = !strcmp(v, "vidsim-index");
        else if (!strcmp(k, "format_version")) version = atoi(v);
        else if (!strcmp(k, "model_id")) snprintf(idx->model_id, sizeof idx->model_id, "%s", v);
        else if (!strcmp(k, "fps")) idx->fps = atof(v);
        else if (!strcmp(k, "codec")) snprintf(idx->codec, sizeof idx->codec, "%s", v);
        else if (!strcmp(k, "codebook_id")) snprintf(idx->codebook_id, sizeof idx->codebook_id, "%s", v);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return vs__index_db_err(idx, rc, "reading meta");
    if (!kind) return vs__err(VS_ERR_FORMAT, "%s: not a vidsim index catalogue (meta kind missing)", idx->cat_path);
    if (version < 1 || version > VS_INDEX_FORMAT_VERSION)
        return vs__err(VS_ERR_FORMAT, "%s: index format version %d, this build reads 1 to %d%s", idx->cat_path,
                       version, VS_INDEX_FORMAT_VERSION,
                       version > VS_INDEX_FORMAT_VERSION ? " (written by a newer vidsim)" : "");
    idx->format_version = version; /* 1: no extras table until a writable open upgrades it */
    return VS_OK;
}

/* Count tables; detects "file is not a database" on the first read. */
static vs_status count_tables(vs_index *idx, int *n_tables, int *has_meta, int *has_videos) {
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(idx->db, "SELECT name FROM sqlite_master WHERE type='table'", -1, &st, NULL);
    if (rc != SQLITE_OK) return vs__index_db_err(idx, rc, "reading the schema");
    *n_tables = *has_meta = *has_videos = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 0);
        (*n_tables)++;
        if (n && !strcmp(n, "meta")) *has_meta = 1;
        if (n && !strcmp(n, "videos")) *has_videos = 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return vs__index_db_err(idx, rc, "reading the schema");
    return VS_OK;
}

static int mkdirs(const char *path) {
    char *t = vs__strdup(path);
    if (!t) return -1;
    for (char *p = t + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(t, 0755) != 0 && errno != EEXIST) { vs__free(t); return -1; }
        *p = '/';
    }
    int r = mkdir(t, 0755) != 0 && errno != EEXIST ? -1 : 0;
    vs__free(t);
    return r;
}

vs_status vs__index_lock(const char *dir, int *fd) {
    *fd = -1;
    char *lp = vs__index_join(dir, VS__INDEX_LOCK);
    if (!lp) return vs__err(VS_ERR_NOMEM, "out of memory");
    vs_status s = VS_OK;
    int f = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) {
        s = vs__err(VS_ERR_IO, "%s: cannot open the lock file: %s", lp, strerror(errno));
    } else if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        s = vs__err(VS_ERR_IO, "%s: index is locked by another writer (%s)", dir,
                    errno == EWOULDBLOCK ? "another vidsim index add/rm/verify/rebuild is running" : strerror(errno));
        close(f);
    } else {
        *fd = f;
    }
    vs__free(lp);
    return s;
}

/* Writers refuse a damaged catalogue. SQLite happily commits new rows into a file
 * with a damaged inner page as long as the pages it touches look fine, burying the
 * damage under fresh writes (the hardening issue: 6 rows committed into a catalogue
 * that verify called malformed). So before a handle's first write we run SQLite's
 * quick_check (the structure of every b-tree page, cell order, freelist; not the
 * index-versus-table cross-check that vs_index_verify's full integrity_check adds),
 * once per handle: it reads every page, about 1 ms for a few hundred rows. The
 * verdict is cached; a damaged catalogue is refused with VS_ERR_FORMAT until it is
 * rebuilt (vs_index_rebuild). Errors that say nothing about the file (busy, I/O,
 * out of memory) are returned and not cached. Under mu. */
static vs_status check_writable_locked(vs_index *idx) {
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    if (idx->wcheck > 0) return VS_OK;
    if (idx->wcheck < 0) return vs__err(VS_ERR_FORMAT, "%s", idx->wcheck_msg);
    char first[600] = "";
    long n_bad = 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(idx->db, "PRAGMA quick_check", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            if (t && strcmp(t, "ok") != 0 && !n_bad++) snprintf(first, sizeof first, "%s", t);
        }
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE) {
        int base = rc & 0xff;
        if (base != SQLITE_CORRUPT && base != SQLITE_NOTADB) return vs__index_db_err(idx, rc, "quick_check");
        if (!n_bad++) snprintf(first, sizeof first, "%s", sqlite3_errmsg(idx->db));
    }
    if (!n_bad) {
        idx->wcheck = 1;
        return VS_OK;
    }
    for (char *c = first; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    char more[48] = "";
    if (n_bad > 1) snprintf(more, sizeof more, " (and %ld more)", n_bad - 1);
    snprintf(idx->wcheck_msg, sizeof idx->wcheck_msg,
             "%s: the catalogue is damaged, nothing was written to it (SQLite quick_check: %.600s%s); rebuild it "
             "from the feature files with `vidsim index rebuild --index %.500s` (the damaged file is kept)",
             idx->cat_path, first, more, idx->dir);
    idx->wcheck = -1;
    return vs__err(VS_ERR_FORMAT, "%s", idx->wcheck_msg);
}

vs_status vs__index_check_writable_locked(vs_index *idx) { return check_writable_locked(idx); }

vs_status vs_index_check_writable(vs_index *idx) {
    if (!idx) return vs__err(VS_ERR_INVALID_ARG, "vs_index_check_writable: NULL index");
    pthread_mutex_lock(&idx->mu);
    vs_status s = check_writable_locked(idx);
    pthread_mutex_unlock(&idx->mu);
    return s;
}

static vs_status set_meta(vs_index *idx, const char *key, const char *value);

/* fsync a file or directory by path; 0 on success. */
static int sync_path(const char *path, int dir) {
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

/* Create a new catalogue atomically, under the writer lock: the schema and the
 * creation time are written into catalogue.sqlite.new, synced, and renamed into
 * place. A reader therefore finds no catalogue or a complete one, never a file
 * whose schema is not written yet (the race of a reader beside the first `index
 * add`, bench/race_ls_add.sh). */
static vs_status create_catalogue(vs_index *idx) {
    size_t n = strlen(idx->cat_path) + 16;
    char *tmp = vs__malloc(n), *jr = vs__malloc(n + 8);
    if (!tmp || !jr) {
        vs__free(tmp);
        vs__free(jr);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    snprintf(tmp, n, "%s.new", idx->cat_path);
    snprintf(jr, n + 8, "%s-journal", tmp);
    unlink(tmp); /* left by a killed creation: we hold the lock, nobody else writes it */
    unlink(jr);
    sqlite3 *db = NULL;
    vs_status s = VS_OK;
    int rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO meta VALUES('created_ns','%lld')", (long long)vs__index_now_ns());
    char *err = NULL;
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA synchronous=FULL; BEGIN IMMEDIATE", NULL, NULL, &err);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, vs__index_schema_sql, NULL, NULL, &err);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, vs__index_extras_sql, NULL, NULL, &err);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &err);
    if (rc != SQLITE_OK)
        s = vs__err(VS_ERR_IO, "%s: cannot create the catalogue: %s", tmp,
                    err ? err : (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_free(err);
    if (db && sqlite3_close(db) != SQLITE_OK && s == VS_OK)
        s = vs__err(VS_ERR_IO, "%s: cannot close the new catalogue", tmp);
    if (s == VS_OK && sync_path(tmp, 0) != 0)
        s = vs__err(VS_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
    if (s == VS_OK && rename(tmp, idx->cat_path) != 0)
        s = vs__err(VS_ERR_IO, "%s: cannot rename into place: %s", idx->cat_path, strerror(errno));
    if (s == VS_OK && sync_path(idx->dir, 1) != 0)
        s = vs__err(VS_ERR_IO, "%s: fsync: %s", idx->dir, strerror(errno));
    if (s != VS_OK) {
        unlink(tmp);
        unlink(jr);
    }
    vs__free(tmp);
    vs__free(jr);
    return s;
}

/* Number of *.vsf files in a features folder (0 if it cannot be read). */
static long count_feature_files(const char *feat_dir) {
    DIR *d = opendir(feat_dir);
    if (!d) return 0;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > 4 && !strcmp(de->d_name + l - 4, ".vsf")) n++;
    }
    closedir(d);
    return n;
}

vs_status vs_index_open(vs_index **out, const char *dir, int flags) {
    *out = NULL;
    if (!dir || !dir[0]) return vs__err(VS_ERR_INVALID_ARG, "vs_index_open: empty directory name");
    int create = (flags & VS_INDEX_CREATE) != 0, ro = (flags & VS_INDEX_READONLY) != 0;
    if (create && ro) return vs__err(VS_ERR_INVALID_ARG, "%s: cannot create a read-only index", dir);
    vs_status s = VS_OK;
    vs_index *idx = vs__calloc(1, sizeof *idx);
    if (!idx) return vs__err(VS_ERR_NOMEM, "out of memory");
    idx->lock_fd = -1;
    idx->readonly = ro;
    pthread_mutex_init(&idx->mu, NULL);
    idx->dir = vs__strdup(dir);
    idx->cat_path = vs__index_join(dir, VS__INDEX_CATALOGUE);
    idx->feat_dir = vs__index_join(dir, VS__INDEX_FEATURES);
    if (!idx->dir || !idx->cat_path || !idx->feat_dir) {
        s = vs__err(VS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (!create) {
            s = vs__err(VS_ERR_IO, "%s: no such index directory", dir);
            goto fail;
        }
        if (mkdirs(dir) != 0) {
            s = vs__err(VS_ERR_IO, "%s: cannot create the index directory: %s", dir, strerror(errno));
            goto fail;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        s = vs__err(VS_ERR_IO, "%s: not a directory (an index is a directory)", dir);
        goto fail;
    }
    if (!ro) {
        if ((s = vs__index_lock(dir, &idx->lock_fd))) goto fail;
        if (mkdir(idx->feat_dir, 0755) != 0 && errno != EEXIST) {
            s = vs__err(VS_ERR_IO, "%s: cannot create: %s", idx->feat_dir, strerror(errno));
            goto fail;
        }
    }
    int exists = stat(idx->cat_path, &sb) == 0;
    if (!exists && !create) {
        s = vs__err(VS_ERR_IO, "%s: not an index (no %s)", dir, VS__INDEX_CATALOGUE);
        goto fail;
    }
    if (!exists) {
        /* A missing catalogue beside feature files is a lost catalogue, not a new
         * index: a fresh empty one would make every feature file an orphan, which the
         * writers' clean-up deletes. Refuse, and say how to get it back. */
        long nvsf = count_feature_files(idx->feat_dir);
        if (nvsf > 0) {
            s = vs__err(VS_ERR_FORMAT,
                        "%s: the catalogue %s is missing but %s holds %ld feature file%s; nothing was written "
                        "(rebuild the catalogue from them with `vidsim index rebuild --index %s`)",
                        dir, VS__INDEX_CATALOGUE, idx->feat_dir, nvsf, nvsf == 1 ? "" : "s", dir);
            goto fail;
        }
        if ((s = create_catalogue(idx))) goto fail;
        exists = stat(idx->cat_path, &sb) == 0;
    }
    if (exists && !S_ISREG(sb.st_mode)) {
        s = vs__err(VS_ERR_FORMAT, "%s: not a regular file", idx->cat_path);
        goto fail;
    }
    int oflags = (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)) |
                 SQLITE_OPEN_FULLMUTEX;
    int rc = sqlite3_open_v2(idx->cat_path, &idx->db, oflags, NULL);
    if (rc != SQLITE_OK) {
        s = vs__index_db_err(idx, rc, "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(idx->db, 10000);
    sqlite3_extended_result_codes(idx->db, 1);
    int n_tables = 0, has_meta = 0, has_videos = 0;
    if ((s = count_tables(idx, &n_tables, &has_meta, &has_videos))) goto fail;
    if (n_tables && !(has_meta && has_videos)) {
        s = vs__err(VS_ERR_FORMAT, "%s: not a vidsim index catalogue (an SQLite database without the meta and videos tables)",
                    idx->cat_path);
        goto fail;
    }
    if (!ro) {
        if ((s = vs__index_exec(idx, "PRAGMA journal_mode=WAL"))) goto fail;
        if ((s = vs__index_exec(idx, "PRAGMA synchronous=FULL"))) goto fail;
    }
    if (!n_tables) {
        /* a new catalogue, or one whose creation was killed before its commit */
        if (ro) {
            s = vs__err(VS_ERR_FORMAT, "%s: empty catalogue (the index was never initialized)", idx->cat_path);
            goto fail;
        }
        if ((s = vs__index_exec(idx, "BEGIN IMMEDIATE"))) goto fail;
        if ((s = vs__index_exec(idx, vs__index_schema_sql)) || (s = vs__index_exec(idx, vs__index_extras_sql))) {
            vs__index_rollback(idx);
            goto fail;
        }
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO meta VALUES('created_ns','%lld')", (long long)vs__index_now_ns());
        if ((s = vs__index_exec(idx, sql)) || (s = vs__index_exec(idx, "COMMIT"))) {
            vs__index_rollback(idx);
            goto fail;
        }
    }
    if ((s = load_meta(idx))) goto fail;
    if (!ro && idx->format_version < 2) {
        /* upgrade 1 -> 2: add the extras table, in one transaction (re-checked inside it);
         * never into a damaged catalogue */
        if ((s = check_writable_locked(idx))) goto fail;
        if ((s = vs__index_exec(idx, "BEGIN IMMEDIATE"))) goto fail;
        if (!(s = load_meta(idx)) && idx->format_version < 2 && !(s = vs__index_exec(idx, vs__index_extras_sql)))
            s = set_meta(idx, "format_version", "2");
        if (!s) s = vs__index_exec(idx, "COMMIT");
        if (s) {
            vs__index_rollback(idx);
            vs__err_prefix(s, "%s: upgrading the index from format 1 to 2", idx->dir);
            goto fail;
        }
        if ((s = load_meta(idx))) goto fail;
    }
    *out = idx;
    return VS_OK;
fail:
    vs_index_close(idx);
    return s;
}

void vs_index_close(vs_index *idx) {
    if (!idx) return;
    if (idx->db) sqlite3_close_v2(idx->db);
    if (idx->lock_fd >= 0) close(idx->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&idx->mu);
    vs__free(idx->dir);
    vs__free(idx->cat_path);
    vs__free(idx->feat_dir);
    vs_quant_free(idx->quant);
    vs__free(idx);
}

const char *vs_index_dir(const vs_index *idx) { return idx->dir; }

/* R and D of the index's features: the header of the first ok row's feature file
 * that reads (no data is loaded). Failures are not errors here, and the thread's
 * last-error message is kept as it was. */
static void info_dims(vs_index *idx, vs_index_info *out) {
    char saved[2048];
    snprintf(saved, sizeof saved, "%s", vs_last_error());
    vs_index_entries *es = NULL;
    if (vs_index_list(idx, NULL, &es) == VS_OK) {
        for (long i = 0; i < es->n && !out->D; i++) {
            if (!es->v[i].ok || !es->v[i].feature_file[0]) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", idx->dir, es->v[i].feature_file);
            vs_features *f = NULL;
            if (vs_features_load_header(&f, path) == VS_OK) {
                out->R = f->R;
                out->D = f->D;
            }
            vs_features_free(f);
        }
    }
    vs_index_entries_free(es);
    vs__err(VS_OK, "%s", saved);
}

vs_status vs_index_get_info(vs_index *idx, vs_index_info *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&idx->mu);
    sqlite3_stmt *st;
    vs_status s = load_meta(idx); /* another process may have set the model since open */
    if (!s) s = vs__index_prepare(idx, "SELECT status, count(*) FROM videos GROUP BY status", &st);
    if (!s) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *k = (const char *)sqlite3_column_text(st, 0);
            long n = (long)sqlite3_column_int64(st, 1);
            if (k && !strcmp(k, "ok")) out->n_ok = n;
            else out->n_failed += n;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) s = vs__index_db_err(idx, rc, "counting rows");
    }
    out->format_version = idx->format_version;
    snprintf(out->codec, sizeof out->codec, "%s", idx->codec);
    snprintf(out->codebook_id, sizeof out->codebook_id, "%s", idx->codebook_id);
    snprintf(out->model_id, sizeof out->model_id, "%s", idx->model_id);
    out->fps = idx->fps;
    pthread_mutex_unlock(&idx->mu);
    if (!s && out->n_ok > 0) info_dims(idx, out);
    return s;
}

/* Model check under mu. */
static vs_status check_model_locked(vs_index *idx, const char *model_id, double fps) {
    if (idx->model_id[0] && model_id && model_id[0] && strcmp(idx->model_id, model_id) != 0)
        return vs__err(VS_ERR_INVALID_ARG,
                       "%s: index was built with model %s; these features are from model %s "
                       "(use another index, or the same --backbone)",
                       idx->dir, idx->model_id, model_id);
    if (idx->fps > 0 && fps > 0 && (fps < idx->fps * 0.999 || fps > idx->fps * 1.001))
        return vs__err(VS_ERR_INVALID_ARG, "%s: index was built at %g frames/s; these features are at %g (use the same --fps)",
                       idx->dir, idx->fps, fps);
    return VS_OK;
}

vs_status vs__index_check_model(vs_index *idx, const char *model_id, double fps) {
    pthread_mutex_lock(&idx->mu);
    vs_status s = check_model_locked(idx, model_id, fps);
    pthread_mutex_unlock(&idx->mu);
    return s;
}

static vs_status set_meta(vs_index *idx, const char *key, const char *value) {
    sqlite3_stmt *st;
    vs_status s = vs__index_prepare(idx, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", &st);
    if (s) return s;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VS_OK : vs__index_db_err(idx, rc, "writing meta");
}

vs_status vs__index_set_meta(vs_index *idx, const char *key, const char *value) { return set_meta(idx, key, value); }
vs_status vs__index_load_meta(vs_index *idx) { return load_meta(idx); }

static void stem_of(const char *path, char *out, size_t n) {
    const char *b = strrchr(path, '/');
    snprintf(out, n, "%s", b ? b + 1 : path);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

/* Body of vs__index_commit_row, inside BEGIN IMMEDIATE under mu. *old gets the
 * feature file of a replaced row (to delete after the commit). */
static vs_status commit_body(vs_index *idx, const vs__index_row *r, vs_index_add_result *res, char **old,
                             int *meta_changed) {
    vs_status s;
    sqlite3_stmt *st;
    /* another writer may have run since we read meta: re-read inside the transaction */
    if ((s = load_meta(idx))) return s;
    if ((s = check_model_locked(idx, r->model_id, r->ok ? r->fps : 0))) return s;
    if (!idx->model_id[0] && r->model_id && r->model_id[0]) {
        if ((s = set_meta(idx, "model_id", r->model_id))) return s;
        *meta_changed = 1;
    }
    if (r->ok && idx->fps <= 0 && r->fps > 0) {
        char b[64];
        snprintf(b, sizeof b, "%.17g", r->fps);
        if ((s = set_meta(idx, "fps", b))) return s;
        *meta_changed = 1;
    }
    if ((s = vs__index_prepare(idx, "SELECT id, feature_file FROM videos WHERE path = ?1", &st))) return s;
    sqlite3_bind_text(st, 1, r->path, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st), replaced = 0;
    if (rc == SQLITE_ROW) {
        replaced = 1;
        const char *ff = (const char *)sqlite3_column_text(st, 1);
        if (ff && ff[0] && !(*old = vs__strdup(ff))) rc = SQLITE_NOMEM;
        else rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return vs__index_db_err(idx, rc, "looking up the path");
    if (replaced) {
        if ((s = vs__index_prepare(idx, "DELETE FROM videos WHERE path = ?1", &st))) return s;
        sqlite3_bind_text(st, 1, r->path, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) return vs__index_db_err(idx, rc, "deleting the old row");
    }
    if ((s = vs__index_prepare(idx,
                     "INSERT INTO videos(path, name, size, mtime_ns, hash, duration, n_frames, status, error,"
                     " feature_file, model_id, added_ns) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
                     &st)))
        return s;
    char name[1024], hash[24];
    stem_of(r->path, name, sizeof name);
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->hash);
    sqlite3_bind_text(st, 1, r->path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)r->size);
    sqlite3_bind_int64(st, 4, r->mtime_ns);
    sqlite3_bind_text(st, 5, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 6, r->duration);
    sqlite3_bind_int(st, 7, r->n_frames);
    sqlite3_bind_text(st, 8, r->ok ? "ok" : "failed", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, r->ok || !r->error ? "" : r->error, -1, SQLITE_TRANSIENT);
    if (r->ok) sqlite3_bind_text(st, 10, r->feature_file, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 10);
    sqlite3_bind_text(st, 11, r->model_id ? r->model_id : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 12, vs__index_now_ns());
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return vs__index_db_err(idx, rc, "inserting the row");
    res->id = (int64_t)sqlite3_last_insert_rowid(idx->db);
    res->n_frames = r->ok ? r->n_frames : 0;
    res->outcome = !r->ok ? VS_INDEX_FAILED : replaced ? VS_INDEX_REPLACED : VS_INDEX_ADDED;
    return VS_OK;
}

vs_status vs__index_commit_row(vs_index *idx, const vs__index_row *r, vs_index_add_result *res) {
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    char *old = NULL;
    int meta_changed = 0;
    vs_index_add_result tmp = {0};
    pthread_mutex_lock(&idx->mu);
    vs_status s = check_writable_locked(idx);
    if (!s) s = vs__index_exec(idx, "BEGIN IMMEDIATE");
    if (!s) {
        s = commit_body(idx, r, &tmp, &old, &meta_changed);
        if (!s) s = vs__index_exec(idx, "COMMIT");
        if (s) vs__index_rollback(idx);
        if (meta_changed) { /* the first add set the model: refresh the cached copy */
            char keep[2048];
            snprintf(keep, sizeof keep, "%s", vs_last_error());
            load_meta(idx);
            if (s) vs__err(s, "%s", keep);
        }
    }
    pthread_mutex_unlock(&idx->mu);
    if (!s) {
        *res = tmp;
        if (old) { /* after the commit: a kill before this leaves an orphan, never a dangling row */
            char *p = vs__index_join(idx->dir, old);
            if (p) unlink(p);
            vs__free(p);
        }
    }
    vs__free(old);
    return s;
}

int vs__index_unchanged(vs_index *idx, const char *abspath, uint64_t size, int64_t mtime_ns,
                        uint64_t hash, const char *model_id, vs_index_add_result *res,
                        char **feature_file) {
    char h[24];
    if (feature_file) *feature_file = NULL;
    snprintf(h, sizeof h, "%016llx", (unsigned long long)hash);
    pthread_mutex_lock(&idx->mu);
    sqlite3_stmt *st;
    int r = VS_ERR_IO;
    if (vs__index_prepare(idx,
                "SELECT id, n_frames, feature_file FROM videos WHERE path=?1 AND size=?2 AND mtime_ns=?3 AND hash=?4"
                " AND model_id=?5 AND status='ok'",
                &st) == VS_OK) {
        sqlite3_bind_text(st, 1, abspath, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
        sqlite3_bind_int64(st, 3, mtime_ns);
        sqlite3_bind_text(st, 4, h, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, model_id ? model_id : "", -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            res->outcome = VS_INDEX_UNCHANGED;
            res->id = sqlite3_column_int64(st, 0);
            res->n_frames = sqlite3_column_int(st, 1);
            r = 1;
            if (feature_file) {
                const char *ff = (const char *)sqlite3_column_text(st, 2);
                if (!(*feature_file = vs__strdup(ff ? ff : ""))) {
                    memset(res, 0, sizeof *res);
                    r = vs__err(VS_ERR_NOMEM, "out of memory");
                }
            }
        } else if (rc == SQLITE_DONE) {
            r = 0;
        } else {
            vs__index_db_err(idx, rc, "looking up the path");
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&idx->mu);
    return r;
}

vs_status vs_index_remove(vs_index *idx, int64_t id) {
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    char *old = NULL;
    pthread_mutex_lock(&idx->mu);
    sqlite3_stmt *st;
    vs_status s = check_writable_locked(idx);
    if (!s) s = vs__index_exec(idx, "BEGIN IMMEDIATE");
    if (s) goto out;
    if ((s = vs__index_prepare(idx, "SELECT feature_file FROM videos WHERE id = ?1", &st))) goto out_rollback;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *ff = (const char *)sqlite3_column_text(st, 0);
        if (ff && ff[0]) old = vs__strdup(ff);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        s = vs__err(VS_ERR_INVALID_ARG, "%s: no video with id %lld", idx->dir, (long long)id);
        goto out_rollback;
    }
    if (rc != SQLITE_ROW) {
        s = vs__index_db_err(idx, rc, "looking up the row");
        goto out_rollback;
    }
    if ((s = vs__index_prepare(idx, "DELETE FROM videos WHERE id = ?1", &st))) goto out_rollback;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        s = vs__index_db_err(idx, rc, "deleting the row");
        goto out_rollback;
    }
    if ((s = vs__index_exec(idx, "COMMIT"))) goto out_rollback;
    goto out;
out_rollback:
    vs__index_rollback(idx);
out:
    pthread_mutex_unlock(&idx->mu);
    if (!s && old) {
        char *p = vs__index_join(idx->dir, old);
        if (p) unlink(p);
        vs__free(p);
    }
    vs__free(old);
    return s;
}

void vs_index_entries_free(vs_index_entries *e) {
    if (!e) return;
    for (long i = 0; i < e->n; i++) {
        vs_index_entry *x = &e->v[i];
        vs__free((char *)x->path);
        vs__free((char *)x->name);
        vs__free((char *)x->error);
        vs__free((char *)x->feature_file);
        vs__free((char *)x->model_id);
    }
    vs__free(e->v);
    vs__free(e);
}

static char *col_dup(sqlite3_stmt *st, int i) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    return vs__strdup(t ? t : "");
}

vs_status vs_index_list(vs_index *idx, const char *key, vs_index_entries **out) {
    *out = NULL;
    char *abs = NULL;
    vs_status s;
    if (key && (s = vs__index_abspath(key, &abs))) return s;
    vs_index_entries *e = vs__calloc(1, sizeof *e);
    if (!e) {
        vs__free(abs);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    long cap = 0;
    sqlite3_stmt *st;
    pthread_mutex_lock(&idx->mu);
    s = vs__index_prepare(idx,
                key ? "SELECT id, path, name, size, mtime_ns, hash, duration, n_frames, status, error,"
                      " feature_file, model_id, added_ns FROM videos WHERE path = ?1 OR name = ?2 ORDER BY id"
                    : "SELECT id, path, name, size, mtime_ns, hash, duration, n_frames, status, error,"
                      " feature_file, model_id, added_ns FROM videos ORDER BY id",
                &st);
    if (s) goto out;
    if (key) {
        sqlite3_bind_text(st, 1, abs, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (e->n == cap) {
            long nc = cap ? cap * 2 : 64;
            vs_index_entry *v = vs__realloc(e->v, (size_t)nc * sizeof *v);
            if (!v) {
                rc = SQLITE_NOMEM;
                break;
            }
            e->v = v;
            cap = nc;
        }
        vs_index_entry *x = &e->v[e->n];
        memset(x, 0, sizeof *x);
        x->id = sqlite3_column_int64(st, 0);
        x->path = col_dup(st, 1);
        x->name = col_dup(st, 2);
        x->size = (uint64_t)sqlite3_column_int64(st, 3);
        x->mtime_ns = sqlite3_column_int64(st, 4);
        const char *h = (const char *)sqlite3_column_text(st, 5);
        x->hash = h ? strtoull(h, NULL, 16) : 0;
        x->duration = sqlite3_column_double(st, 6);
        x->n_frames = sqlite3_column_int(st, 7);
        const char *stt = (const char *)sqlite3_column_text(st, 8);
        x->ok = stt && !strcmp(stt, "ok");
        x->error = col_dup(st, 9);
        x->feature_file = col_dup(st, 10);
        x->model_id = col_dup(st, 11);
        x->added_ns = sqlite3_column_int64(st, 12);
        e->n++;
        if (!x->path || !x->name || !x->error || !x->feature_file || !x->model_id) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) s = rc == SQLITE_NOMEM ? vs__err(VS_ERR_NOMEM, "out of memory")
                                                  : vs__index_db_err(idx, rc, "listing rows");
out:
    pthread_mutex_unlock(&idx->mu);
    vs__free(abs);
    if (s) {
        vs_index_entries_free(e);
        return s;
    }
    *out = e;
    return VS_OK;
}
