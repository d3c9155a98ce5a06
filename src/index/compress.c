/*
 * compress.c - vs_index_compress: learn the index's codebook from a sample of its
 * own features (or reuse the stored one), upgrade the catalogue to format 3, then
 * re-encode every ok row's float feature file as a compressed one, one video at a
 * time: write the new file atomically and durably, repoint the row in its own
 * transaction, delete the old file. A kill at any moment leaves every row naming an
 * intact file (float or compressed); a rerun carries on where it stopped.
 */
#define _POSIX_C_SOURCE 200809L
#include "index/index_internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

vs_index_compress_params vs_index_compress_default_params(void) {
    vs_index_compress_params p;
    memset(&p, 0, sizeof p);
    p.train = vs_quant_default_params();
    return p;
}

static uint64_t file_bytes(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* A sample of the ok rows' region vectors: every stride-th vector in catalogue order,
 * about max_train of them in all (all of them when there are fewer). */
static vs_status train_sample(vs_index *idx, const vs_index_entries *es, long max_train, float **out, long *n_out,
                              int *dim_out) {
    *out = NULL;
    *n_out = 0;
    *dim_out = 0;
    long total = 0;
    int R = 0, D = 0;
    for (long i = 0; i < es->n; i++) {
        const vs_index_entry *e = &es->v[i];
        if (!e->ok || !e->feature_file[0]) continue;
        if (!D) {
            char *p = vs__index_join(idx->dir, e->feature_file);
            vs_features *h = NULL;
            if (p && vs_features_load_header(&h, p) == VS_OK) R = h->R, D = h->D;
            vs_features_free(h);
            vs__free(p);
        }
        total += e->n_frames;
    }
    if (!D || total <= 0) return vs__err(VS_ERR_INVALID_ARG, "%s: no readable features to learn a codebook from", idx->dir);
    total *= R;
    long stride = max_train > 0 && total > max_train ? (total + max_train - 1) / max_train : 1;
    long cap = total / stride + 1;
    float *x = vs__malloc((size_t)cap * D * sizeof(float));
    if (!x) return vs__err(VS_ERR_NOMEM, "out of memory (%ld training vectors)", cap);
    long n = 0, g = 0;
    vs_status s = VS_OK;
    for (long i = 0; i < es->n && !s; i++) {
        const vs_index_entry *e = &es->v[i];
        if (!e->ok || !e->feature_file[0]) continue;
        vs_features *f = NULL;
        if (vs_index_load_features(idx, e, &f) != VS_OK) continue; /* verify reports it; compress skips it */
        if (f->D != D) {
            s = vs__err(VS_ERR_FORMAT, "%s: %d dimensions, the index's first file has %d", e->feature_file, f->D, D);
        } else {
            long nv = (long)f->T * f->R;
            for (long k = 0; k < nv; k++, g++)
                if (g % stride == 0 && n < cap) memcpy(x + (size_t)n++ * D, f->data + (size_t)k * D, D * sizeof(float));
        }
        vs_features_free(f);
    }
    if (s || n == 0) {
        vs__free(x);
        return s ? s : vs__err(VS_ERR_INVALID_ARG, "%s: no readable features to learn a codebook from", idx->dir);
    }
    *out = x;
    *n_out = n;
    *dim_out = D;
    return VS_OK;
}

/* The codebook: the stored one (codec must agree), else learnt now, saved, and the
 * catalogue moved to format 3 naming it (one transaction). */
static vs_status get_codebook(vs_index *idx, const vs_index_entries *es, const vs_index_compress_params *p,
                              vs_index_compress_report *rep, const vs_quant **q) {
    vs_status s = vs__index_quant(idx, q);
    if (s) return s;
    if (*q) {
        if (p->codec && p->codec[0] && strcmp(p->codec, vs_quant_codec(*q)) != 0)
            return vs__err(VS_ERR_INVALID_ARG,
                           "%s: the index is compressed with %s; re-encoding with %s is not supported (the float "
                           "features are gone: rebuild the index from the videos with `index add` into a new one)",
                           idx->dir, vs_quant_codec(*q), p->codec);
        return VS_OK;
    }
    const char *codec = p->codec && p->codec[0] ? p->codec : VS_QUANT_DEFAULT_CODEC;
    float *x = NULL;
    long n = 0;
    int D = 0;
    if ((s = train_sample(idx, es, p->train.max_train, &x, &n, &D))) return s;
    if ((s = vs_quant_check_codec(codec, D, NULL))) {
        vs__free(x);
        return s;
    }
    vs_quant *nq = NULL;
    s = vs_quant_train(&nq, codec, x, n, D, idx->model_id, &p->train);
    vs__free(x);
    if (s) return s;
    rep->trained = 1;
    rep->n_train = n;
    char *path = vs__index_join(idx->dir, VS__INDEX_CODEBOOK);
    if (!path) s = vs__err(VS_ERR_NOMEM, "out of memory");
    /* the file first (durable), then the catalogue: a kill between leaves a codebook no
     * row uses and no meta names, which the rerun overwrites */
    if (!s) s = vs_quant_save(nq, path);
    vs__free(path);
    if (!s) {
        pthread_mutex_lock(&idx->mu);
        if (!(s = vs__index_exec(idx, "BEGIN IMMEDIATE"))) {
            if (!(s = vs__index_load_meta(idx)) && idx->codebook_id[0])
                s = vs__err(VS_ERR_INVALID_ARG, "%s: another writer set a codebook meanwhile", idx->dir);
            if (!s) s = vs__index_set_meta(idx, "codec", vs_quant_codec(nq));
            if (!s) s = vs__index_set_meta(idx, "codebook_id", vs_quant_id(nq));
            if (!s) s = vs__index_set_meta(idx, "format_version", "3");
            if (!s) s = vs__index_exec(idx, "COMMIT");
            if (s) vs__index_rollback(idx);
        }
        if (!s) s = vs__index_load_meta(idx);
        if (!s) {
            idx->quant = nq;
            nq = NULL;
        }
        pthread_mutex_unlock(&idx->mu);
        if (s) vs__err_prefix(s, "%s: recording the codebook (upgrading the index to format 3)", idx->dir);
    }
    vs_quant_free(nq);
    if (s) return s;
    return vs__index_quant(idx, q);
}

/* Repoint row id from old_rel to new_rel in its own transaction. */
static vs_status repoint(vs_index *idx, int64_t id, const char *old_rel, const char *new_rel) {
    pthread_mutex_lock(&idx->mu);
    sqlite3_stmt *st = NULL;
    vs_status s = vs__index_exec(idx, "BEGIN IMMEDIATE");
    if (!s) s = vs__index_prepare(idx, "UPDATE videos SET feature_file = ?1 WHERE id = ?2 AND feature_file = ?3", &st);
    if (!s) {
        sqlite3_bind_text(st, 1, new_rel, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
        sqlite3_bind_text(st, 3, old_rel, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) s = vs__index_db_err(idx, rc, "repointing a row");
        else if (sqlite3_changes(idx->db) != 1)
            s = vs__err(VS_ERR_INVALID_ARG, "%s: row %lld changed meanwhile", idx->dir, (long long)id);
    }
    sqlite3_finalize(st);
    if (!s) s = vs__index_exec(idx, "COMMIT");
    if (s) vs__index_rollback(idx);
    pthread_mutex_unlock(&idx->mu);
    return s;
}

vs_status vs_index_compress(vs_index *idx, const vs_index_compress_params *params, vs_index_compress_report *rep) {
    vs_index_compress_params dp = vs_index_compress_default_params();
    const vs_index_compress_params *p = params ? params : &dp;
    vs_index_compress_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    if (!idx) return vs__err(VS_ERR_INVALID_ARG, "vs_index_compress: NULL index");
    if (idx->readonly) return vs__err(VS_ERR_INVALID_ARG, "%s: index opened read-only", idx->dir);
    pthread_mutex_lock(&idx->mu);
    int busy = idx->in_flight;
    vs_status s = busy ? VS_OK : vs__index_check_writable_locked(idx);
    pthread_mutex_unlock(&idx->mu);
    if (busy) return vs__err(VS_ERR_INVALID_ARG, "%s: %d adds in progress on this handle", idx->dir, busy);
    if (s) return s;
    vs_index_entries *es = NULL;
    if ((s = vs_index_list(idx, NULL, &es))) return s;
    long n_ok = 0;
    for (long i = 0; i < es->n; i++) n_ok += es->v[i].ok;
    if (n_ok == 0) {
        vs_index_entries_free(es);
        return vs__err(VS_ERR_INVALID_ARG, "%s: no videos to compress (add some first)", idx->dir);
    }
    const vs_quant *q = NULL;
    if ((s = get_codebook(idx, es, p, rep, &q))) goto out;
    snprintf(rep->codec, sizeof rep->codec, "%s", vs_quant_codec(q));
    snprintf(rep->codebook_id, sizeof rep->codebook_id, "%s", vs_quant_id(q));
    long done = 0;
    for (long i = 0; i < es->n && !s; i++) {
        const vs_index_entry *e = &es->v[i];
        if (!e->ok || !e->feature_file[0]) continue;
        if (p->abort_fn && p->abort_fn(p->abort_user)) {
            s = vs__err(VS_ERR_ABORTED, "%s: compression stopped (%ld of %ld videos done; run it again to finish)",
                        idx->dir, done, n_ok);
            break;
        }
        char *full = vs__index_join(idx->dir, e->feature_file), *rel = NULL, *nfull = NULL;
        vs_features *f = NULL;
        if (!full) {
            s = vs__err(VS_ERR_NOMEM, "out of memory");
            break;
        }
        uint64_t before = file_bytes(full);
        rep->bytes_before += before;
        rep->minutes += e->duration / 60.0;
        if (vs__feat_file_version(full) == 2) {
            rep->n_already++;
            rep->bytes_after += before;
        } else if (vs_index_load_features(idx, e, &f) != VS_OK) {
            rep->n_failed++; /* left as it is: verify reports it */
            rep->bytes_after += before;
        } else if (!(rel = vs__index_new_feature_name(e->hash)) || !(nfull = vs__index_join(idx->dir, rel))) {
            s = vs__err(VS_ERR_NOMEM, "out of memory");
        } else if ((s = vs__cfeat_save(f, q, nfull))) {
            vs__err_prefix(s, "%s: writing its compressed features", e->path);
            unlink(nfull);
        } else if ((s = repoint(idx, e->id, e->feature_file, rel))) {
            unlink(nfull); /* never named by a row */
        } else {
            unlink(full); /* the row names the new file now; a kill before this leaves an orphan */
            rep->n_encoded++;
            rep->bytes_after += file_bytes(nfull);
        }
        vs_features_free(f);
        vs__free(full);
        vs__free(nfull);
        vs__free(rel);
        done++;
        if (p->progress_fn) p->progress_fn((double)done, (double)n_ok, p->progress_user);
    }
out:
    vs_index_entries_free(es);
    return s;
}

vs_status vs_index_compress_auto(vs_index *idx, vs_index_compress_report *rep, int *done) {
    vs_index_compress_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    int d0;
    if (!done) done = &d0;
    *done = 0;
    if (!idx) return vs__err(VS_ERR_INVALID_ARG, "vs_index_compress_auto: NULL index");
    pthread_mutex_lock(&idx->mu);
    vs_status s = vs__index_load_meta(idx);
    int has = idx->codebook_id[0] != 0;
    pthread_mutex_unlock(&idx->mu);
    if (s || has) return s; /* a compressed index encodes each add already */
    vs_index_entries *es = NULL;
    if ((s = vs_index_list(idx, NULL, &es))) return s;
    long frames = 0;
    int R = 0;
    for (long i = 0; i < es->n; i++) {
        const vs_index_entry *e = &es->v[i];
        if (!e->ok || !e->feature_file[0]) continue;
        frames += e->n_frames;
        if (!R) {
            char *p = vs__index_join(idx->dir, e->feature_file);
            vs_features *h = NULL;
            if (p && vs_features_load_header(&h, p) == VS_OK) R = h->R;
            vs_features_free(h);
            vs__free(p);
        }
    }
    vs_index_entries_free(es);
    vs__err_clear();
    if ((long long)frames * R < VS_INDEX_AUTO_COMPRESS_VECTORS) return VS_OK;
    s = vs_index_compress(idx, NULL, rep);
    if (!s) *done = 1;
    return s;
}
