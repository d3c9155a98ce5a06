/*
 * extras.c - per-video side data in the index catalogue: one typed array per (video
 * row id, kind, model id) in the extras table (format 2, docs/formats.md), e.g. the
 * packed codes of a hash model or the clip vectors of a clip model. Each blob carries
 * its dtype, shape and an FNV-1a checksum, checked on every read. Writes follow the
 * rows' discipline: one BEGIN IMMEDIATE ... COMMIT per call under the handle's mutex,
 * WAL with synchronous=FULL, so a put either is durable or never happened; a video's
 * extras are deleted by a trigger in the same transaction as its row (catalogue.c).
 * Not here: computing the arrays (hash and clip models; the CLI glues them).
 */
#define _POSIX_C_SOURCE 200809L
#include "index/index_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_NAME = 256 };
#define MAX_BLOB ((int64_t)1 << 30) /* SQLite's default blob limit is 1e9 bytes */

static const char *dtype_name(vs_index_dtype t) {
    return t == VS_INDEX_U8 ? "u8" : t == VS_INDEX_U64 ? "u64" : t == VS_INDEX_F32 ? "f32" : NULL;
}

static int dtype_size(vs_index_dtype t) { return t == VS_INDEX_U8 ? 1 : t == VS_INDEX_U64 ? 8 : t == VS_INDEX_F32 ? 4 : 0; }

static vs_index_dtype dtype_parse(const char *s) {
    if (!s) return 0;
    if (!strcmp(s, "u8")) return VS_INDEX_U8;
    if (!strcmp(s, "u64")) return VS_INDEX_U64;
    if (!strcmp(s, "f32")) return VS_INDEX_F32;
    return 0;
}

static vs_status check_names(vs_index *idx, const char *kind, const char *model_id) {
    if (!kind || !kind[0] || strlen(kind) > MAX_NAME)
        return vs__err(VS_ERR_INVALID_ARG, "%s: extras need a kind of 1 to %d characters", idx->dir, MAX_NAME);
    if (!model_id || !model_id[0] || strlen(model_id) > MAX_NAME)
        return vs__err(VS_ERR_INVALID_ARG, "%s: extras of kind %s need a model id of 1 to %d characters", idx->dir,
                       kind, MAX_NAME);
    return VS_OK;
}

static vs_status check_array(vs_index *idx, int64_t vid, const char *kind, const vs_index_extra *x) {
    int es = x ? dtype_size(x->dtype) : 0;
    if (!es) return vs__err(VS_ERR_INVALID_ARG, "%s: extra %s of video %lld: unknown dtype", idx->dir, kind, (long long)vid);
    if (x->n_rows < 1 || x->n_cols < 1 || x->n_rows > MAX_BLOB / x->n_cols / es || !x->data)
        return vs__err(VS_ERR_INVALID_ARG, "%s: extra %s of video %lld: bad shape [%lld, %lld] (at most %lld bytes)",
                       idx->dir, kind, (long long)vid, (long long)x->n_rows, (long long)x->n_cols,
                       (long long)MAX_BLOB);
    return VS_OK;
}

/* Why a stored blob is malformed, or "" when it is fine. */
void vs__index_blob_problem(char *why, size_t n, const char *dtype, int64_t rows, int64_t cols, const char *checksum,
                         const void *data, int64_t bytes) {
    why[0] = 0;
    vs_index_dtype t = dtype_parse(dtype);
    if (!t) {
        snprintf(why, n, "unknown dtype '%.32s'", dtype ? dtype : "");
        return;
    }
    int es = dtype_size(t);
    if (rows < 1 || cols < 1 || rows > MAX_BLOB / cols / es) {
        snprintf(why, n, "bad shape [%lld, %lld]", (long long)rows, (long long)cols);
        return;
    }
    if (bytes != rows * cols * es) {
        snprintf(why, n, "blob of %lld bytes, shape [%lld, %lld] of %s needs %lld", (long long)bytes, (long long)rows,
                 (long long)cols, dtype, (long long)(rows * cols * es));
        return;
    }
    char h[24];
    snprintf(h, sizeof h, "%016llx", (unsigned long long)vs__fnv1a(VS__FNV_INIT, data, (size_t)bytes));
    if (!checksum || strcmp(h, checksum) != 0)
        snprintf(why, n, "checksum mismatch (stored %.20s, data %s)", checksum ? checksum : "", h);
}

/* Body of a put, inside the transaction. */
static vs_status put_one(vs_index *idx, sqlite3_stmt *chk, sqlite3_stmt *ins, int64_t vid, const char *kind,
                         const char *model_id, const vs_index_extra *x) {
    vs_status s = check_array(idx, vid, kind, x);
    if (s) return s;
    sqlite3_reset(chk);
    sqlite3_bind_int64(chk, 1, vid);
    int rc = sqlite3_step(chk);
    if (rc == SQLITE_DONE) return vs__err(VS_ERR_INVALID_ARG, "%s: no video with id %lld", idx->dir, (long long)vid);
    if (rc != SQLITE_ROW) return vs__index_db_err(idx, rc, "looking up the video");
    const char *status = (const char *)sqlite3_column_text(chk, 0);
    if (!status || strcmp(status, "ok") != 0)
        return vs__err(VS_ERR_INVALID_ARG, "%s: video %lld has no features (a failed row): no extras for it", idx->dir,
                       (long long)vid);
    size_t bytes = (size_t)(x->n_rows * x->n_cols * dtype_size(x->dtype));
    char h[24];
    snprintf(h, sizeof h, "%016llx", (unsigned long long)vs__fnv1a(VS__FNV_INIT, x->data, bytes));
    sqlite3_reset(ins);
    sqlite3_bind_int64(ins, 1, vid);
    sqlite3_bind_text(ins, 2, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, model_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 4, dtype_name(x->dtype), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 5, x->n_rows);
    sqlite3_bind_int64(ins, 6, x->n_cols);
    sqlite3_bind_text(ins, 7, h, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob64(ins, 8, x->data, (sqlite3_uint64)bytes, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 9, vs__index_now_ns());
    rc = sqlite3_step(ins);
    if (rc != SQLITE_DONE) return vs__index_db_err(idx, rc, "storing an extra");
    return VS_OK;
}

vs_status vs_index_put_extras(vs_index *idx, long n, const int64_t *video_ids, const char *kind, const char *model_id,
                              const vs_index_extra *xs) {
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    vs_status s = check_names(idx, kind, model_id);
    if (s) return s;
    if (n < 0 || (n > 0 && (!video_ids || !xs))) return vs__err(VS_ERR_INVALID_ARG, "vs_index_put_extras: bad arguments");
    if (n == 0) return VS_OK;
    sqlite3_stmt *chk = NULL, *ins = NULL;
    pthread_mutex_lock(&idx->mu);
    if ((s = vs__index_check_writable_locked(idx))) goto out; /* never into a damaged catalogue */
    if ((s = vs__index_exec(idx, "BEGIN IMMEDIATE"))) goto out;
    if (!(s = vs__index_prepare(idx, "SELECT status FROM videos WHERE id = ?1", &chk)) &&
        !(s = vs__index_prepare(idx,
                      "INSERT OR REPLACE INTO extras(video_id, kind, model_id, dtype, n_rows, n_cols, checksum, data,"
                      " added_ns) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                      &ins))) {
        for (long i = 0; i < n && !s; i++) s = put_one(idx, chk, ins, video_ids[i], kind, model_id, &xs[i]);
    }
    sqlite3_finalize(chk);
    sqlite3_finalize(ins);
    if (!s) s = vs__index_exec(idx, "COMMIT");
    if (s) vs__index_rollback(idx);
out:
    pthread_mutex_unlock(&idx->mu);
    return s;
}

vs_status vs_index_put_extra(vs_index *idx, int64_t video_id, const char *kind, const char *model_id,
                             const vs_index_extra *x) {
    return vs_index_put_extras(idx, 1, &video_id, kind, model_id, x);
}

void vs_index_extra_free(vs_index_extra *x) { vs__free(x); }

vs_status vs_index_get_extra(vs_index *idx, int64_t video_id, const char *kind, const char *model_id,
                             vs_index_extra **out) {
    *out = NULL;
    vs_status s = check_names(idx, kind, model_id);
    if (s) return s;
    if (idx->format_version < 2) return VS_OK; /* read-only handle on a format-1 index: none stored */
    sqlite3_stmt *st;
    pthread_mutex_lock(&idx->mu);
    if ((s = vs__index_prepare(idx,
                     "SELECT dtype, n_rows, n_cols, checksum, data FROM extras WHERE video_id = ?1 AND kind = ?2"
                     " AND model_id = ?3",
                     &st)))
        goto out;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, model_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *dt = (const char *)sqlite3_column_text(st, 0);
        int64_t rows = sqlite3_column_int64(st, 1), cols = sqlite3_column_int64(st, 2);
        const char *ck = (const char *)sqlite3_column_text(st, 3);
        const void *data = sqlite3_column_blob(st, 4);
        int64_t bytes = sqlite3_column_bytes(st, 4);
        char why[200];
        vs__index_blob_problem(why, sizeof why, dt, rows, cols, ck, data, bytes);
        if (why[0]) {
            s = vs__err(VS_ERR_FORMAT, "%s: extra %s/%s of video %lld is malformed: %s (run `vidsim index verify --repair`)",
                        idx->cat_path, kind, model_id, (long long)video_id, why);
        } else {
            vs_index_extra *x = vs__malloc(sizeof *x + (size_t)bytes + 16);
            if (!x) {
                s = vs__err(VS_ERR_NOMEM, "out of memory");
            } else {
                unsigned char *d = (unsigned char *)x + ((sizeof *x + 15) & ~(size_t)15);
                memcpy(d, data, (size_t)bytes);
                x->dtype = dtype_parse(dt);
                x->n_rows = rows;
                x->n_cols = cols;
                x->data = d;
                *out = x;
            }
        }
    } else if (rc != SQLITE_DONE) {
        s = vs__index_db_err(idx, rc, "reading an extra");
    }
    sqlite3_finalize(st);
out:
    pthread_mutex_unlock(&idx->mu);
    return s;
}

void vs_index_extras_free(vs_index_extras *x) {
    if (!x) return;
    vs__free(x->video_ids);
    vs__free(x->v);
    vs__free(x->bad_ids);
    vs__free(x->priv_);
    vs__free(x);
}

/* Append to a growable array of elements of size es. */
static int grow(void **p, long *cap, long need, size_t es) {
    if (need <= *cap) return 0;
    long nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *q = vs__realloc(*p, (size_t)nc * es);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

vs_status vs_index_load_extras(vs_index *idx, const char *kind, const char *model_id, vs_index_extras **out) {
    *out = NULL;
    vs_status s = check_names(idx, kind, model_id);
    if (s) return s;
    vs_index_extras *x = vs__calloc(1, sizeof *x);
    if (!x) return vs__err(VS_ERR_NOMEM, "out of memory");
    if (idx->format_version < 2) {
        *out = x;
        return VS_OK;
    }
    long cap = 0, cap_bad = 0;
    size_t used = 0, cap_data = 0;
    size_t *offs = NULL;
    unsigned char *block = NULL;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&idx->mu);
    if ((s = vs__index_prepare(idx,
                     "SELECT e.video_id, e.dtype, e.n_rows, e.n_cols, e.checksum, e.data FROM extras e"
                     " JOIN videos v ON v.id = e.video_id WHERE e.kind = ?1 AND e.model_id = ?2 AND v.status = 'ok'"
                     " ORDER BY e.video_id",
                     &st)))
        goto out;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, model_id, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t vid = sqlite3_column_int64(st, 0);
        const char *dt = (const char *)sqlite3_column_text(st, 1);
        int64_t rows = sqlite3_column_int64(st, 2), cols = sqlite3_column_int64(st, 3);
        const char *ck = (const char *)sqlite3_column_text(st, 4);
        const void *data = sqlite3_column_blob(st, 5);
        int64_t bytes = sqlite3_column_bytes(st, 5);
        char why[200];
        vs__index_blob_problem(why, sizeof why, dt, rows, cols, ck, data, bytes);
        if (why[0]) {
            if (grow((void **)&x->bad_ids, &cap_bad, x->n_bad + 1, sizeof *x->bad_ids)) goto nomem;
            x->bad_ids[x->n_bad++] = vid;
            continue;
        }
        long n = x->n;
        if (n == cap) { /* video_ids, v and offs share one capacity */
            long c1 = cap, c2 = cap, c3 = cap;
            if (grow((void **)&x->video_ids, &c1, n + 1, sizeof *x->video_ids) ||
                grow((void **)&x->v, &c2, n + 1, sizeof *x->v) || grow((void **)&offs, &c3, n + 1, sizeof *offs))
                goto nomem;
            cap = c1;
        }
        size_t need = used + (((size_t)bytes + 15) & ~(size_t)15);
        if (need > cap_data) {
            size_t nc = cap_data ? cap_data : 4096;
            while (nc < need) nc *= 2;
            unsigned char *b = vs__realloc(block, nc);
            if (!b) goto nomem;
            block = b;
            cap_data = nc;
        }
        memcpy(block + used, data, (size_t)bytes);
        offs[n] = used;
        used = need;
        x->video_ids[n] = vid;
        x->v[n] = (vs_index_extra){dtype_parse(dt), rows, cols, NULL};
        x->n = n + 1;
    }
    if (rc != SQLITE_DONE) s = vs__index_db_err(idx, rc, "loading extras");
    goto out;
nomem:
    s = vs__err(VS_ERR_NOMEM, "out of memory loading the %s/%s extras of %s", kind, model_id, idx->dir);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&idx->mu);
    if (s) {
        vs__free(offs);
        vs__free(block);
        vs_index_extras_free(x);
        return s;
    }
    /* pointers into the final block; packed when every array has one dtype and shape
     * (then, with sizes a multiple of 16 bytes or one array, the block is contiguous) */
    x->priv_ = block;
    int same = x->n > 0;
    for (long i = 0; i < x->n; i++) {
        x->v[i].data = block + offs[i];
        if (i && (x->v[i].dtype != x->v[0].dtype || x->v[i].n_rows != x->v[0].n_rows ||
                  x->v[i].n_cols != x->v[0].n_cols))
            same = 0;
    }
    if (same) {
        size_t es = (size_t)(x->v[0].n_rows * x->v[0].n_cols * dtype_size(x->v[0].dtype));
        if (es % 16) {
            /* padded in the block: repack tightly */
            for (long i = 1; i < x->n; i++) memmove(block + i * es, block + offs[i], es);
            for (long i = 0; i < x->n; i++) x->v[i].data = block + i * es;
        }
        x->packed = block;
    }
    vs__free(offs);
    *out = x;
    return VS_OK;
}

vs_status vs_index_delete_extras(vs_index *idx, const char *kind, const char *model_id, long *n_deleted) {
    long dummy;
    if (!n_deleted) n_deleted = &dummy;
    *n_deleted = 0;
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    if (!kind || !kind[0]) return vs__err(VS_ERR_INVALID_ARG, "%s: delete extras: empty kind", idx->dir);
    sqlite3_stmt *st;
    pthread_mutex_lock(&idx->mu);
    vs_status s = vs__index_check_writable_locked(idx);
    if (!s) s = vs__index_exec(idx, "BEGIN IMMEDIATE");
    if (s) goto out;
    if ((s = vs__index_prepare(idx, model_id ? "DELETE FROM extras WHERE kind = ?1 AND model_id = ?2" : "DELETE FROM extras WHERE kind = ?1",
                     &st))) {
        vs__index_rollback(idx);
        goto out;
    }
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
    if (model_id) sqlite3_bind_text(st, 2, model_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) s = vs__index_db_err(idx, rc, "deleting extras");
    else *n_deleted = (long)sqlite3_changes(idx->db);
    if (!s) s = vs__index_exec(idx, "COMMIT");
    if (s) {
        vs__index_rollback(idx);
        *n_deleted = 0;
    }
out:
    pthread_mutex_unlock(&idx->mu);
    return s;
}

void vs_index_extra_kinds_free(vs_index_extra_kinds *k) {
    if (!k) return;
    for (long i = 0; i < k->n; i++) {
        vs__free(k->v[i].kind);
        vs__free(k->v[i].model_id);
    }
    vs__free(k->v);
    vs__free(k);
}

vs_status vs_index_list_extra_kinds(vs_index *idx, vs_index_extra_kinds **out) {
    *out = NULL;
    vs_index_extra_kinds *k = vs__calloc(1, sizeof *k);
    if (!k) return vs__err(VS_ERR_NOMEM, "out of memory");
    if (idx->format_version < 2) {
        *out = k;
        return VS_OK;
    }
    long cap = 0;
    sqlite3_stmt *st;
    pthread_mutex_lock(&idx->mu);
    vs_status s = vs__index_prepare(idx, "SELECT kind, model_id, count(*) FROM extras GROUP BY kind, model_id ORDER BY kind, model_id", &st);
    if (!s) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (grow((void **)&k->v, &cap, k->n + 1, sizeof *k->v)) {
                rc = SQLITE_NOMEM;
                break;
            }
            vs_index_extra_kind *e = &k->v[k->n++];
            const char *a = (const char *)sqlite3_column_text(st, 0), *b = (const char *)sqlite3_column_text(st, 1);
            e->kind = vs__strdup(a ? a : "");
            e->model_id = vs__strdup(b ? b : "");
            e->n = (long)sqlite3_column_int64(st, 2);
            if (!e->kind || !e->model_id) {
                rc = SQLITE_NOMEM;
                break;
            }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            s = rc == SQLITE_NOMEM ? vs__err(VS_ERR_NOMEM, "out of memory") : vs__index_db_err(idx, rc, "listing extras");
    }
    pthread_mutex_unlock(&idx->mu);
    if (s) {
        vs_index_extra_kinds_free(k);
        return s;
    }
    *out = k;
    return VS_OK;
}

void vs__index_bad_extras_free(vs__index_bad_extra *v, long n) {
    if (!v) return;
    for (long i = 0; i < n; i++) {
        vs__free(v[i].kind);
        vs__free(v[i].model_id);
        vs__free(v[i].detail);
    }
    vs__free(v);
}

vs_status vs__index_check_extras(vs_index *idx, int repair, vs__index_bad_extra **out, long *n_out) {
    *out = NULL;
    *n_out = 0;
    if (idx->format_version < 2) return VS_OK;
    vs__index_bad_extra *v = NULL;
    long n = 0, cap = 0;
    sqlite3_stmt *st;
    pthread_mutex_lock(&idx->mu);
    vs_status s = vs__index_prepare(idx,
                          "SELECT e.video_id, e.kind, e.model_id, e.dtype, e.n_rows, e.n_cols, e.checksum, e.data,"
                          " v.status FROM extras e LEFT JOIN videos v ON v.id = e.video_id ORDER BY e.video_id, e.kind,"
                          " e.model_id",
                          &st);
    if (s) goto out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 8);
        char why[240];
        if (!status) snprintf(why, sizeof why, "no video row with this id");
        else if (strcmp(status, "ok") != 0) snprintf(why, sizeof why, "its video is a failed row");
        else
            vs__index_blob_problem(why, sizeof why, (const char *)sqlite3_column_text(st, 3), sqlite3_column_int64(st, 4),
                         sqlite3_column_int64(st, 5), (const char *)sqlite3_column_text(st, 6),
                         sqlite3_column_blob(st, 7), sqlite3_column_bytes(st, 7));
        if (!why[0]) continue;
        if (grow((void **)&v, &cap, n + 1, sizeof *v)) {
            rc = SQLITE_NOMEM;
            break;
        }
        const char *k = (const char *)sqlite3_column_text(st, 1), *m = (const char *)sqlite3_column_text(st, 2);
        vs__index_bad_extra *b = &v[n++];
        b->video_id = sqlite3_column_int64(st, 0);
        b->kind = vs__strdup(k ? k : "");
        b->model_id = vs__strdup(m ? m : "");
        b->detail = vs__strdup(why);
        if (!b->kind || !b->model_id || !b->detail) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        s = rc == SQLITE_NOMEM ? vs__err(VS_ERR_NOMEM, "out of memory") : vs__index_db_err(idx, rc, "checking extras");
        goto out;
    }
    if (repair && n) {
        if (idx->readonly) {
            s = vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
            goto out;
        }
        if ((s = vs__index_check_writable_locked(idx))) goto out;
        if ((s = vs__index_exec(idx, "BEGIN IMMEDIATE"))) goto out;
        if (!(s = vs__index_prepare(idx, "DELETE FROM extras WHERE video_id = ?1 AND kind = ?2 AND model_id = ?3", &st))) {
            for (long i = 0; i < n && !s; i++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, v[i].video_id);
                sqlite3_bind_text(st, 2, v[i].kind, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(st, 3, v[i].model_id, -1, SQLITE_TRANSIENT);
                rc = sqlite3_step(st);
                if (rc != SQLITE_DONE) s = vs__index_db_err(idx, rc, "deleting a bad extra");
            }
            sqlite3_finalize(st);
        }
        if (!s) s = vs__index_exec(idx, "COMMIT");
        if (s) vs__index_rollback(idx);
    }
out:
    pthread_mutex_unlock(&idx->mu);
    if (s) {
        vs__index_bad_extras_free(v, n);
        return s;
    }
    *out = v;
    *n_out = n;
    return VS_OK;
}
