/*
 * hasher.c - vs_hasher (search.h): one encode call over the LSH baseline and trained
 * hash models, and the pass that fills an index's stored codes (extras kind "hash",
 * model id = the hasher's id) with a small pool of threads, committing in batches so
 * that a killed run keeps what it finished.
 */
#define _POSIX_C_SOURCE 200809L
#include "search/search_internal.h"
#include "core/internal.h"
#include "vidsim/hashmodel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vs_hasher {
    vs_hamming_lsh *lsh;   /* LSH baseline, or NULL */
    vs_hashmodel *model;   /* or a trained model */
    int bits;
    char id[128];          /* model id stored with the codes */
    char spec[PATH_MAX];   /* as given (or the file found) */
};

void vs_hasher_free(vs_hasher *h) {
    if (!h) return;
    vs_hamming_lsh_free(h->lsh);
    vs_hashmodel_free(h->model);
    vs__free(h);
}

int vs_hasher_bits(const vs_hasher *h) { return h->bits; }
const char *vs_hasher_id(const vs_hasher *h) { return h->id; }
const char *vs_hasher_spec(const vs_hasher *h) { return h->spec; }

/* D of the index's features (vs_index_info, from a feature file's header). */
static vs_status index_dim(vs_index *idx, int *D, vs_index_info *info) {
    vs_status st = vs_index_get_info(idx, info);
    if (st) return st;
    if (!info->D)
        return vs__err(VS_ERR_FORMAT, "%s has no readable video to take the feature size from", vs_index_dir(idx));
    *D = info->D;
    return VS_OK;
}

vs_status vs_hasher_open(vs_hasher **out, const char *spec, vs_index *idx, const vs_model_locator *models) {
    *out = NULL;
    vs_hasher *h = vs__calloc(1, sizeof *h);
    if (!h) return vs__err(VS_ERR_NOMEM, "out of memory");
    vs_index_info info;
    int bits = 0, D = 0;
    vs_status st;
    if (spec && !strncmp(spec, "lsh", 3)) {
        bits = !strcmp(spec, "lsh") || !strcmp(spec, "lsh64") ? 64 : !strcmp(spec, "lsh128") ? 128
               : !strcmp(spec, "lsh256")                          ? 256
                                                                  : 0;
    }
    if (bits) {
        if ((st = index_dim(idx, &D, &info)) || (st = vs_hamming_lsh_create(&h->lsh, bits, D, 1))) goto fail;
        h->bits = bits;
        snprintf(h->id, sizeof h->id, "%s", vs_hamming_lsh_id(h->lsh));
        snprintf(h->spec, sizeof h->spec, "%s", spec);
        *out = h;
        return VS_OK;
    }
    char path[PATH_MAX];
    if (!spec) {
        if (vs_model_locate(models, VS_HASH_DEFAULT, path, sizeof path)) {
            st = vs__err(VS_ERR_IO, "no default hash model (%s not found; train one with `vidsim train-hash`), "
                                    "pass --hash-model FILE or --hash-model lsh64", VS_HASH_DEFAULT);
            goto fail;
        }
    } else if (!strchr(spec, '/') && vs_model_locate(models, spec, path, sizeof path) == 0) {
        /* a bare name found in the models folder */
    } else {
        snprintf(path, sizeof path, "%s", spec);
    }
    snprintf(h->spec, sizeof h->spec, "%s", path);
    if ((st = vs_hashmodel_load(&h->model, path))) goto fail;
    h->bits = vs_hashmodel_bits(h->model);
    if ((st = index_dim(idx, &D, &info))) goto fail;
    if (D != vs_hashmodel_dim(h->model)) {
        st = vs__err(VS_ERR_INVALID_ARG, "hash model %s (%s) takes %d-dim features; %s has %d-dim features (%s): use "
                                         "a hash model trained on features of the index's model, or --hash-model lsh64",
                     path, vs_hashmodel_id(h->model), vs_hashmodel_dim(h->model), vs_index_dir(idx), D, info.model_id);
        goto fail;
    }
    if (h->bits < 64 || h->bits % 64 || h->bits > VS_HAMMING_MAX_BITS) {
        st = vs__err(VS_ERR_UNSUPPORTED, "%s: %d-bit codes; search needs 64, 128, ... %d bits", path, h->bits,
                     VS_HAMMING_MAX_BITS);
        goto fail;
    }
    snprintf(h->id, sizeof h->id, "%s", vs_hashmodel_id(h->model));
    *out = h;
    return VS_OK;
fail:
    vs_hasher_free(h);
    return st;
}

vs_status vs_hasher_encode(const vs_hasher *h, uint64_t *code, const vs_features *f) {
    if (h->lsh) return vs_hamming_lsh_encode(h->lsh, code, f->data, f->T, f->R, f->D);
    return vs_hashmodel_encode(h->model, code, f->data, f->T, f->R, f->D);
}

/* ------------------------------------------------------------------ stored codes */

enum { CHUNK = 256 };

typedef struct hash_job {
    vs_index *idx;
    const vs_hasher *h;
    const vs_index_entry **todo; /* [n] */
    long n, lo, hi, next;        /* current chunk [lo, hi) */
    uint64_t *codes;             /* [CHUNK, W] */
    int *ok;                     /* [CHUNK] */
    char **err;                  /* [CHUNK] */
    pthread_mutex_t mu;
} hash_job;

static void *hash_worker(void *arg) {
    hash_job *j = arg;
    int W = j->h->bits / 64;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        long i = j->next < j->hi ? j->next++ : -1;
        pthread_mutex_unlock(&j->mu);
        if (i < 0) break;
        long k = i - j->lo;
        vs_features *f = NULL;
        vs_status s = vs_index_load_features(j->idx, j->todo[i], &f);
        if (!s) s = vs_hasher_encode(j->h, j->codes + k * W, f);
        vs_features_free(f);
        j->ok[k] = s == VS_OK;
        if (s) j->err[k] = vs__strdup(vs_last_error());
    }
    return NULL;
}

vs_status vs_hasher_store_codes(vs_index *idx, const vs_hasher *h, const vs_hash_store_params *p,
                                vs_hash_store_stats *stats) {
    memset(stats, 0, sizeof *stats);
    vs_index_entries *es = NULL;
    vs_index_extras *have = NULL;
    vs_status st = vs_index_list(idx, NULL, &es);
    if (!st && !p->force) st = vs_index_load_extras(idx, VS_HASH_KIND, h->id, &have);
    if (st) {
        vs_index_entries_free(es);
        return st;
    }
    int W = h->bits / 64, jobs = p->n_threads > 0 ? p->n_threads : 1;
    hash_job j;
    memset(&j, 0, sizeof j);
    pthread_mutex_init(&j.mu, NULL);
    j.idx = idx;
    j.h = h;
    j.todo = vs__calloc((size_t)es->n + 1, sizeof *j.todo);
    j.codes = vs__calloc((size_t)CHUNK * W, sizeof *j.codes);
    j.ok = vs__calloc(CHUNK, sizeof *j.ok);
    j.err = vs__calloc(CHUNK, sizeof *j.err);
    int64_t *ids = vs__calloc(CHUNK, sizeof *ids);
    vs_index_extra *xs = vs__calloc(CHUNK, sizeof *xs);
    pthread_t *th = vs__calloc((size_t)jobs, sizeof *th);
    if (!j.todo || !j.codes || !j.ok || !j.err || !ids || !xs || !th) {
        st = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (long i = 0, k = 0; i < es->n; i++) {
        const vs_index_entry *e = &es->v[i];
        if (!e->ok) continue;
        stats->n_ok++;
        /* both lists are ordered by id: skip rows that already have a code */
        while (have && k < have->n && have->video_ids[k] < e->id) k++;
        if (have && k < have->n && have->video_ids[k] == e->id) {
            stats->kept++;
            continue;
        }
        j.todo[j.n++] = e;
    }
    for (j.lo = 0; j.lo < j.n; j.lo = j.hi) {
        j.hi = j.lo + CHUNK < j.n ? j.lo + CHUNK : j.n;
        j.next = j.lo;
        /* threads that fail to start leave their share to the others (or to this one) */
        int started = 0;
        for (int t = 0; t < jobs; t++)
            if (pthread_create(&th[started], NULL, hash_worker, &j) == 0) started++;
        if (!started) hash_worker(&j);
        for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
        long m = 0;
        for (long i = j.lo; i < j.hi; i++) {
            long k = i - j.lo;
            if (!j.ok[k]) {
                if (p->failed) p->failed(p->user, j.todo[i]->path, j.err[k] ? j.err[k] : "failed");
                vs__free(j.err[k]);
                j.err[k] = NULL;
                stats->failed++;
                continue;
            }
            ids[m] = j.todo[i]->id;
            xs[m] = (vs_index_extra){VS_INDEX_U64, 1, W, j.codes + k * W};
            m++;
        }
        if ((st = vs_index_put_extras(idx, m, ids, VS_HASH_KIND, h->id, xs)) != VS_OK) goto out;
        stats->computed += m;
        if (p->progress) p->progress(p->user, j.hi, j.n);
    }
out:
    if (j.err)
        for (int k = 0; k < CHUNK; k++) vs__free(j.err[k]);
    vs__free(j.err);
    vs__free(j.ok);
    vs__free(j.codes);
    vs__free(j.todo);
    vs__free(ids);
    vs__free(xs);
    vs__free(th);
    pthread_mutex_destroy(&j.mu);
    vs_index_extras_free(have);
    vs_index_entries_free(es);
    return st;
}
