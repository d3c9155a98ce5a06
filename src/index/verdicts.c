/*
 * verdicts.c - a reviewer's verdict on a pair of indexed videos ("duplicate" or
 * "not duplicate"), stored in the catalogue's verdicts table (created by the first
 * writable open, catalogue.c). A pair is unordered and keyed by the two video names
 * (what search and dedup print), so a verdict survives re-adding a changed file and
 * is not removed with a video. Writes follow the rows' discipline: one BEGIN
 * IMMEDIATE ... COMMIT under the handle's mutex, WAL with synchronous=FULL, so a
 * verdict is either durable or never happened. Not here: what the verdicts hide
 * (search/verdicts.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "index/index_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_NAME = 4096 };

const char *const vs__index_verdicts_sql =
    "CREATE TABLE IF NOT EXISTS verdicts("
    " a TEXT NOT NULL,"
    " b TEXT NOT NULL,"
    " verdict TEXT NOT NULL CHECK(verdict IN ('duplicate','not_duplicate')),"
    " set_ns INTEGER NOT NULL,"
    " PRIMARY KEY(a, b));";

const char *vs_verdict_name(vs_verdict v) {
    return v == VS_VERDICT_DUPLICATE ? "duplicate" : v == VS_VERDICT_NOT_DUPLICATE ? "not_duplicate" : "none";
}

vs_verdict vs_verdict_parse(const char *s) {
    if (s && !strcmp(s, "duplicate")) return VS_VERDICT_DUPLICATE;
    if (s && !strcmp(s, "not_duplicate")) return VS_VERDICT_NOT_DUPLICATE;
    if (s && !strcmp(s, "none")) return VS_VERDICT_NONE;
    return (vs_verdict)-1;
}

static vs_status check_pair(vs_index *idx, const char *a, const char *b) {
    if (!a || !b || !a[0] || !b[0] || strlen(a) > MAX_NAME || strlen(b) > MAX_NAME)
        return vs__err(VS_ERR_INVALID_ARG, "%s: a verdict needs two video names of 1 to %d bytes", idx->dir, MAX_NAME);
    if (!strcmp(a, b)) return vs__err(VS_ERR_INVALID_ARG, "%s: a verdict needs two different videos, got '%s' twice", idx->dir, a);
    return VS_OK;
}

/* 1 when the table exists (an index last opened writable by an older build, opened
 * read-only now, has none: no verdicts), 0 if not, or a negative status. Under mu. */
static int have_table(vs_index *idx) {
    sqlite3_stmt *st = NULL;
    vs_status s = vs__index_prepare(idx, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='verdicts'", &st);
    if (s) return s;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return vs__index_db_err(idx, rc, "looking for the verdicts table");
}

vs_status vs_index_set_verdict(vs_index *idx, const char *a, const char *b, vs_verdict v) {
    if (!idx) return vs__err(VS_ERR_INVALID_ARG, "vs_index_set_verdict: NULL index");
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    vs_status s = check_pair(idx, a, b);
    if (s) return s;
    if (v != VS_VERDICT_NONE && v != VS_VERDICT_DUPLICATE && v != VS_VERDICT_NOT_DUPLICATE)
        return vs__err(VS_ERR_INVALID_ARG, "%s: unknown verdict %d", idx->dir, (int)v);
    if (strcmp(a, b) > 0) {
        const char *t = a;
        a = b;
        b = t;
    }
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&idx->mu);
    if ((s = vs__index_check_writable_locked(idx))) goto out; /* never into a damaged catalogue */
    if ((s = vs__index_exec(idx, "BEGIN IMMEDIATE"))) goto out;
    if (!(s = vs__index_exec(idx, vs__index_verdicts_sql)) &&
        !(s = vs__index_prepare(idx,
                                v == VS_VERDICT_NONE
                                    ? "DELETE FROM verdicts WHERE a = ?1 AND b = ?2"
                                    : "INSERT OR REPLACE INTO verdicts(a, b, verdict, set_ns) VALUES(?1, ?2, ?3, ?4)",
                                &st))) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
        if (v != VS_VERDICT_NONE) {
            sqlite3_bind_text(st, 3, vs_verdict_name(v), -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, vs__index_now_ns());
        }
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) s = vs__index_db_err(idx, rc, "storing a verdict");
    }
    sqlite3_finalize(st);
    if (!s) s = vs__index_exec(idx, "COMMIT");
    if (s) vs__index_rollback(idx);
out:
    pthread_mutex_unlock(&idx->mu);
    return s;
}

vs_status vs_index_get_verdict(vs_index *idx, const char *a, const char *b, vs_verdict *out) {
    *out = VS_VERDICT_NONE;
    if (!idx) return vs__err(VS_ERR_INVALID_ARG, "vs_index_get_verdict: NULL index");
    vs_status s = check_pair(idx, a, b);
    if (s) return s;
    if (strcmp(a, b) > 0) {
        const char *t = a;
        a = b;
        b = t;
    }
    pthread_mutex_lock(&idx->mu);
    int have = have_table(idx);
    if (have < 0) s = (vs_status)have;
    if (have > 0) {
        sqlite3_stmt *st = NULL;
        if (!(s = vs__index_prepare(idx, "SELECT verdict FROM verdicts WHERE a = ?1 AND b = ?2", &st))) {
            sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
            int rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                vs_verdict v = vs_verdict_parse((const char *)sqlite3_column_text(st, 0));
                *out = (int)v < 0 ? VS_VERDICT_NONE : v;
            } else if (rc != SQLITE_DONE)
                s = vs__index_db_err(idx, rc, "reading a verdict");
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&idx->mu);
    return s;
}

void vs_index_verdicts_free(vs_index_verdicts *v) {
    if (!v) return;
    for (long i = 0; i < v->n; i++) {
        vs__free(v->v[i].a);
        vs__free(v->v[i].b);
    }
    vs__free(v->v);
    vs__free(v);
}

vs_status vs_index_list_verdicts(vs_index *idx, vs_index_verdicts **out) {
    *out = NULL;
    if (!idx) return vs__err(VS_ERR_INVALID_ARG, "vs_index_list_verdicts: NULL index");
    vs_index_verdicts *r = vs__calloc(1, sizeof *r);
    if (!r) return vs__err(VS_ERR_NOMEM, "out of memory");
    vs_status s = VS_OK;
    long cap = 0;
    pthread_mutex_lock(&idx->mu);
    int have = have_table(idx);
    if (have < 0) s = (vs_status)have;
    if (have > 0) {
        sqlite3_stmt *st = NULL;
        if (!(s = vs__index_prepare(idx, "SELECT a, b, verdict, set_ns FROM verdicts ORDER BY a, b", &st))) {
            int rc;
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (r->n == cap) {
                    long nc = cap ? 2 * cap : 16;
                    vs_index_verdict *nv = vs__realloc(r->v, (size_t)nc * sizeof *nv);
                    if (!nv) {
                        s = vs__err(VS_ERR_NOMEM, "out of memory");
                        break;
                    }
                    r->v = nv;
                    cap = nc;
                }
                vs_index_verdict *e = &r->v[r->n];
                const char *a = (const char *)sqlite3_column_text(st, 0), *b = (const char *)sqlite3_column_text(st, 1);
                vs_verdict v = vs_verdict_parse((const char *)sqlite3_column_text(st, 2));
                e->a = vs__strdup(a ? a : "");
                e->b = vs__strdup(b ? b : "");
                e->verdict = (int)v < 0 ? VS_VERDICT_NONE : v;
                e->set_ns = sqlite3_column_int64(st, 3);
                r->n++;
                if (!e->a || !e->b) {
                    s = vs__err(VS_ERR_NOMEM, "out of memory");
                    break;
                }
            }
            if (!s && rc != SQLITE_DONE) s = vs__index_db_err(idx, rc, "listing verdicts");
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&idx->mu);
    if (s) {
        vs_index_verdicts_free(r);
        return s;
    }
    *out = r;
    return VS_OK;
}
