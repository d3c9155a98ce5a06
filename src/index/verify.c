/*
 * verify.c - reading an entry's features (decoding a compressed file with the
 * index's codebook, cfeat.c), and checking an index: SQLite's
 * integrity check, every ok row's feature file (loads, checksum, model id, frame
 * count), every extras array (extras.c), and the features/ folder (orphans a killed add leaves, temporary files of
 * interrupted writes). Repair removes bad rows and deletes orphans; it never edits
 * a feature file.
 */
#define _POSIX_C_SOURCE 200809L
#include "index/index_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

vs_status vs_index_load_features(vs_index *idx, const vs_index_entry *e, vs_features **out) {
    *out = NULL;
    if (!e->ok || !e->feature_file || !e->feature_file[0])
        return vs__err(VS_ERR_INVALID_ARG, "%s: no features (the add failed: %s)", e->path,
                       e->error ? e->error : "");
    char *p = vs__index_join(idx->dir, e->feature_file);
    if (!p) return vs__err(VS_ERR_NOMEM, "out of memory");
    vs_features *f = NULL;
    vs_status s = vs__index_load_file(idx, p, &f); /* float or compressed (decoded here) */
    if (s) {
        vs__err_prefix(s, "index entry %s", e->name);
        goto out;
    }
    if (strcmp(f->model_id, e->model_id) != 0) {
        s = vs__err(VS_ERR_FORMAT, "%s: model %s, the catalogue says %s", p, f->model_id, e->model_id);
        goto out;
    }
    if (f->T != e->n_frames) {
        s = vs__err(VS_ERR_FORMAT, "%s: %d frames, the catalogue says %d", p, f->T, e->n_frames);
        goto out;
    }
    *out = f;
    f = NULL;
out:
    vs_features_free(f);
    vs__free(p);
    return s;
}

void vs_index_report_free(vs_index_report *r) {
    if (!r) return;
    for (long i = 0; i < r->n_problems; i++) {
        vs__free(r->problems[i].what);
        vs__free(r->problems[i].detail);
    }
    vs__free(r->problems);
    vs__free(r);
}

static vs_status add_problem(vs_index_report *r, long *cap, vs_index_problem_kind kind, int64_t id,
                             const char *what, const char *detail) {
    if (r->n_problems == *cap) {
        long nc = *cap ? *cap * 2 : 16;
        vs_index_problem *v = vs__realloc(r->problems, (size_t)nc * sizeof *v);
        if (!v) return vs__err(VS_ERR_NOMEM, "out of memory");
        r->problems = v;
        *cap = nc;
    }
    vs_index_problem *p = &r->problems[r->n_problems];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->id = id;
    p->what = vs__strdup(what);
    p->detail = vs__strdup(detail);
    r->n_problems++;
    if (!p->what || !p->detail) return vs__err(VS_ERR_NOMEM, "out of memory");
    return VS_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted feature-file names (without the "features/" prefix) of every row. */
static vs_status referenced(const vs_index_entries *es, char ***out, long *n) {
    *out = NULL;
    *n = 0;
    char **v = vs__calloc((size_t)es->n + 1, sizeof *v);
    if (!v) return vs__err(VS_ERR_NOMEM, "out of memory");
    size_t pre = strlen(VS__INDEX_FEATURES) + 1;
    long k = 0;
    for (long i = 0; i < es->n; i++) {
        const char *ff = es->v[i].feature_file;
        if (ff && strlen(ff) > pre && !strncmp(ff, VS__INDEX_FEATURES "/", pre)) v[k++] = (char *)ff + pre;
    }
    qsort(v, (size_t)k, sizeof *v, cmp_str);
    *out = v;
    *n = k;
    return VS_OK;
}

/* Walk features/: report (and with del, delete) files no row refers to. Caller holds
 * no lock; with del the handle's in_flight must be 0 (checked by the callers). */
static vs_status scan_files(vs_index *idx, const vs_index_entries *es, vs_index_report *r, long *cap,
                            int del, long *n_removed) {
    char **ref;
    long nref;
    vs_status s = referenced(es, &ref, &nref);
    if (s) return s;
    DIR *d = opendir(idx->feat_dir);
    if (!d) {
        vs__free(ref);
        if (errno == ENOENT) return VS_OK; /* read-only handle on an index never written */
        return vs__err(VS_ERR_IO, "%s: cannot list: %s", idx->feat_dir, strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, "..")) continue;
        const char *key = nm;
        if (bsearch(&key, ref, (size_t)nref, sizeof *ref, cmp_str)) continue;
        char *full = vs__index_join(idx->feat_dir, nm);
        if (!full) {
            s = vs__err(VS_ERR_NOMEM, "out of memory");
            break;
        }
        struct stat sb;
        if (lstat(full, &sb) != 0 || S_ISDIR(sb.st_mode)) {
            vs__free(full);
            continue;
        }
        int tmp = strstr(nm, ".tmp.") != NULL;
        char rel[1200];
        snprintf(rel, sizeof rel, "%s/%.1000s", VS__INDEX_FEATURES, nm);
        if (r) {
            s = add_problem(r, cap, tmp ? VS_INDEX_TMP : VS_INDEX_ORPHAN, 0, rel,
                            tmp ? "temporary file of an interrupted write" : "no catalogue row refers to this file");
        }
        if (!s && del) {
            if (unlink(full) == 0) {
                if (r) r->problems[r->n_problems - 1].repaired = 1;
                if (n_removed) (*n_removed)++;
            }
        }
        vs__free(full);
        if (s) break;
    }
    closedir(d);
    vs__free(ref);
    return s;
}

/* Sweep and repair delete files by what the catalogue lists: on a damaged catalogue
 * that list can miss rows, and their feature files (all vs_index_rebuild has to
 * work from) would be deleted as orphans. So both first pass the writers' check. */
static vs_status begin_maintenance(vs_index *idx) {
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    pthread_mutex_lock(&idx->mu);
    int busy = idx->in_flight;
    vs_status s = busy ? VS_OK : vs__index_check_writable_locked(idx);
    pthread_mutex_unlock(&idx->mu);
    if (busy) return vs__err(VS_ERR_INVALID_ARG, "%s: %d adds in progress on this handle", idx->dir, busy);
    return s;
}

vs_status vs_index_sweep(vs_index *idx, long *n_removed) {
    long dummy = 0;
    if (!n_removed) n_removed = &dummy;
    *n_removed = 0;
    vs_status s = begin_maintenance(idx);
    if (s) return s;
    vs_index_entries *es;
    if ((s = vs_index_list(idx, NULL, &es))) return s;
    s = scan_files(idx, es, NULL, NULL, 1, n_removed);
    vs_index_entries_free(es);
    return s;
}

static vs_status integrity(vs_index *idx, vs_index_report *r, long *cap) {
    sqlite3_stmt *st;
    pthread_mutex_lock(&idx->mu);
    int rc = sqlite3_prepare_v2(idx->db, "PRAGMA integrity_check", -1, &st, NULL);
    vs_status s = VS_OK;
    if (rc != SQLITE_OK) {
        s = vs__index_db_err(idx, rc, "integrity check");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok") != 0 && (s = add_problem(r, cap, VS_INDEX_CATALOGUE, 0, VS__INDEX_CATALOGUE, t)))
            break;
    }
    sqlite3_finalize(st);
    if (!s && rc != SQLITE_DONE) {
        /* SQLite stops its check at some damaged pages: that is the finding, not a failure */
        int base = rc & 0xff;
        s = base == SQLITE_CORRUPT || base == SQLITE_NOTADB
                ? add_problem(r, cap, VS_INDEX_CATALOGUE, 0, VS__INDEX_CATALOGUE, sqlite3_errmsg(idx->db))
                : vs__index_db_err(idx, rc, "integrity check");
    }
out:
    pthread_mutex_unlock(&idx->mu);
    return s;
}

vs_status vs_index_verify(vs_index *idx, int repair, vs_index_report **out) {
    *out = NULL;
    vs_status s;
    if (repair && (s = begin_maintenance(idx))) return s;
    vs_index_report *r = vs__calloc(1, sizeof *r);
    if (!r) return vs__err(VS_ERR_NOMEM, "out of memory");
    long cap = 0;
    vs_index_entries *es = NULL;
    vs_index_info info;
    if ((s = vs_index_get_info(idx, &info))) goto fail;
    if (info.codebook_id[0]) {
        /* without its codebook no compressed file reads: that is one problem, not a bad
         * row per video (which --repair would delete) */
        const vs_quant *q;
        if ((s = vs__index_quant(idx, &q))) {
            vs__err_prefix(s, "%s: cannot check a compressed index without its codebook (restore %s; nothing was "
                              "changed)", idx->dir, VS__INDEX_CODEBOOK);
            goto fail;
        }
    }
    if ((s = integrity(idx, r, &cap))) goto fail;
    if ((s = vs_index_list(idx, NULL, &es))) goto fail;
    r->n_rows = es->n;
    for (long i = 0; i < es->n; i++) {
        const vs_index_entry *e = &es->v[i];
        if (!e->ok) {
            r->n_failed++;
            continue;
        }
        r->n_ok++;
        char why[2048] = "";
        vs_features *f = NULL;
        if (info.model_id[0] && strcmp(e->model_id, info.model_id) != 0)
            snprintf(why, sizeof why, "row model %s differs from the index model %s", e->model_id, info.model_id);
        else if (vs_index_load_features(idx, e, &f) != VS_OK)
            snprintf(why, sizeof why, "%s", vs_last_error());
        vs_features_free(f);
        if (!why[0]) continue;
        if ((s = add_problem(r, &cap, VS_INDEX_BAD_ROW, e->id, e->path, why))) goto fail;
        if (repair) {
            /* vs_index_remove deletes the row, then the (corrupt) file */
            if ((s = vs_index_remove(idx, e->id))) goto fail;
            r->problems[r->n_problems - 1].repaired = 1;
        }
    }
    {   /* extras (after the rows: removing a bad row removed its extras) */
        vs__index_bad_extra *bx = NULL;
        long nbx = 0;
        if ((s = vs__index_check_extras(idx, repair, &bx, &nbx))) goto fail;
        for (long i = 0; i < nbx && !s; i++) {
            char what[600];
            snprintf(what, sizeof what, "%.290s/%.290s", bx[i].kind, bx[i].model_id);
            s = add_problem(r, &cap, VS_INDEX_BAD_EXTRA, bx[i].video_id, what, bx[i].detail);
            if (!s && repair) r->problems[r->n_problems - 1].repaired = 1;
        }
        vs__index_bad_extras_free(bx, nbx);
        if (s) goto fail;
    }
    if (repair) {
        /* rows removed above no longer refer to their files: list again */
        vs_index_entries_free(es);
        es = NULL;
        if ((s = vs_index_list(idx, NULL, &es))) goto fail;
    }
    if ((s = scan_files(idx, es, r, &cap, repair, NULL))) goto fail;
    vs_index_entries_free(es);
    *out = r;
    return VS_OK;
fail:
    vs_index_entries_free(es);
    vs_index_report_free(r);
    return s;
}
