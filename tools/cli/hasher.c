/*
 * hasher.c - see hasher.h: one encode call over the LSH baseline and trained hash
 * models, and the pass that fills the index's stored codes (extras kind "hash",
 * model id = the hasher's id) in parallel, committing in batches so that a killed
 * run keeps what it finished.
 */
#define _POSIX_C_SOURCE 200809L
#include "hasher.h"
#include "cli.h"
#include "vidsim/hashmodel.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* D of the index's features, from its first ok row. */
static int index_dim(vs_index *idx, const char *cmd, int *D) {
    vs_index_entries *es;
    if (vs_index_list(idx, NULL, &es) != VS_OK) {
        fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
        return 1;
    }
    int rc = 1;
    for (long i = 0; i < es->n && rc; i++) {
        vs_features *f;
        if (!es->v[i].ok || vs_index_load_features(idx, &es->v[i], &f) != VS_OK) continue;
        *D = f->D;
        vs_features_free(f);
        rc = 0;
    }
    if (rc) fprintf(stderr, "vidsim %s: %s has no readable video to take the feature size from\n", cmd, vs_index_dir(idx));
    vs_index_entries_free(es);
    return rc;
}

int cli_hasher_open(cli_hasher *h, const char *cmd, const char *spec, vs_index *idx) {
    memset(h, 0, sizeof *h);
    int bits = 0;
    if (spec && !strncmp(spec, "lsh", 3)) {
        bits = !strcmp(spec, "lsh") || !strcmp(spec, "lsh64") ? 64 : !strcmp(spec, "lsh128") ? 128
               : !strcmp(spec, "lsh256")                          ? 256
                                                                  : 0;
    }
    if (bits) {
        int D = 0;
        if (index_dim(idx, cmd, &D)) return 1;
        if (vs_hamming_lsh_create(&h->lsh, bits, D, 1) != VS_OK) {
            fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
            return 1;
        }
        h->bits = bits;
        snprintf(h->id, sizeof h->id, "%s", vs_hamming_lsh_id(h->lsh));
        snprintf(h->spec, sizeof h->spec, "%s", spec);
        return 0;
    }
    char path[PATH_MAX];
    if (!spec) {
        if (cli_model_path(CLI_HASH_DEFAULT, path, sizeof path)) {
            fprintf(stderr, "vidsim %s: no default hash model (%s not found; train one with `vidsim train-hash`), "
                            "pass --hash-model FILE or --hash-model lsh64\n",
                    cmd, CLI_HASH_DEFAULT);
            return 1;
        }
    } else if (!strchr(spec, '/') && cli_model_path(spec, path, sizeof path) == 0) {
        /* a bare name found in the models folder */
    } else {
        snprintf(path, sizeof path, "%s", spec);
    }
    snprintf(h->spec, sizeof h->spec, "%s", path);
    vs_hashmodel *m;
    if (vs_hashmodel_load(&m, path) != VS_OK) {
        fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
        return 1;
    }
    h->model = m;
    h->bits = vs_hashmodel_bits(m);
    int D = 0;
    if (index_dim(idx, cmd, &D)) {
        cli_hasher_close(h);
        return 1;
    }
    if (D != vs_hashmodel_dim(m)) {
        vs_index_info info;
        if (vs_index_get_info(idx, &info) != VS_OK) info.model_id[0] = 0;
        fprintf(stderr, "vidsim %s: hash model %s (%s) takes %d-dim features; %s has %d-dim features (%s): use a hash "
                        "model trained on features of the index's model, or --hash-model lsh64\n",
                cmd, path, vs_hashmodel_id(m), vs_hashmodel_dim(m), vs_index_dir(idx), D, info.model_id);
        cli_hasher_close(h);
        return 1;
    }
    if (h->bits < 64 || h->bits % 64 || h->bits > VS_HAMMING_MAX_BITS) {
        fprintf(stderr, "vidsim %s: %s: %d-bit codes; search needs 64, 128, ... %d bits\n", cmd, path, h->bits,
                VS_HAMMING_MAX_BITS);
        cli_hasher_close(h);
        return 1;
    }
    snprintf(h->id, sizeof h->id, "%s", vs_hashmodel_id(m));
    return 0;
}

void cli_hasher_close(cli_hasher *h) {
    vs_hamming_lsh_free(h->lsh);
    vs_hashmodel_free(h->model);
    memset(h, 0, sizeof *h);
}

vs_status cli_hasher_encode(const cli_hasher *h, uint64_t *code, const vs_features *f) {
    if (h->lsh) return vs_hamming_lsh_encode(h->lsh, code, f->data, f->T, f->R, f->D);
    return vs_hashmodel_encode(h->model, code, f->data, f->T, f->R, f->D);
}

/* ------------------------------------------------------------------ index hash */

enum { CHUNK = 256 };

typedef struct hash_job {
    vs_index *idx;
    const cli_hasher *h;
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
        if (!s) s = cli_hasher_encode(j->h, j->codes + k * W, f);
        vs_features_free(f);
        j->ok[k] = s == VS_OK;
        if (s) j->err[k] = strdup(vs_last_error());
    }
    return NULL;
}

int cli_hash_index(vs_index *idx, const char *cmd, const cli_hasher *h, int jobs, int force) {
    vs_index_entries *es = NULL;
    vs_index_extras *have = NULL;
    if (vs_index_list(idx, NULL, &es) != VS_OK ||
        (!force && vs_index_load_extras(idx, CLI_HASH_KIND, h->id, &have) != VS_OK)) {
        fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
        vs_index_entries_free(es);
        return 1;
    }
    int W = h->bits / 64, rc = 1;
    hash_job j;
    memset(&j, 0, sizeof j);
    pthread_mutex_init(&j.mu, NULL);
    j.idx = idx;
    j.h = h;
    j.todo = calloc(es->n + 1, sizeof *j.todo);
    j.codes = calloc((size_t)CHUNK * W, sizeof *j.codes);
    j.ok = calloc(CHUNK, sizeof *j.ok);
    j.err = calloc(CHUNK, sizeof *j.err);
    int64_t *ids = calloc(CHUNK, sizeof *ids);
    vs_index_extra *xs = calloc(CHUNK, sizeof *xs);
    pthread_t *th = calloc(jobs > 0 ? jobs : 1, sizeof *th);
    if (!j.todo || !j.codes || !j.ok || !j.err || !ids || !xs || !th) {
        fprintf(stderr, "vidsim %s: out of memory\n", cmd);
        goto out;
    }
    long n_ok = 0, kept = 0;
    for (long i = 0, k = 0; i < es->n; i++) {
        const vs_index_entry *e = &es->v[i];
        if (!e->ok) continue;
        n_ok++;
        /* both lists are ordered by id: skip rows that already have a code */
        while (have && k < have->n && have->video_ids[k] < e->id) k++;
        if (have && k < have->n && have->video_ids[k] == e->id) {
            kept++;
            continue;
        }
        j.todo[j.n++] = e;
    }
    cli_progress prog;
    cli_progress_init(&prog, "videos");
    long done = 0, failed = 0;
    double t0 = cli_now();
    for (j.lo = 0; j.lo < j.n; j.lo = j.hi) {
        j.hi = j.lo + CHUNK < j.n ? j.lo + CHUNK : j.n;
        j.next = j.lo;
        int started = 0;
        for (int t = 0; t < jobs; t++)
            if (pthread_create(&th[t], NULL, hash_worker, &j) == 0) started++;
        if (!started) hash_worker(&j);
        for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
        long m = 0;
        for (long i = j.lo; i < j.hi; i++) {
            long k = i - j.lo;
            if (!j.ok[k]) {
                cli_progress_end(&prog);
                fprintf(stderr, "vidsim %s: %s: %s\n", cmd, j.todo[i]->path, j.err[k] ? j.err[k] : "failed");
                free(j.err[k]);
                j.err[k] = NULL;
                failed++;
                continue;
            }
            ids[m] = j.todo[i]->id;
            xs[m] = (vs_index_extra){VS_INDEX_U64, 1, W, j.codes + k * W};
            m++;
        }
        if (vs_index_put_extras(idx, m, ids, CLI_HASH_KIND, h->id, xs) != VS_OK) {
            cli_progress_end(&prog);
            fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
            goto out;
        }
        done += m;
        cli_progress_update(&prog, (double)j.hi, (double)j.n, "");
    }
    cli_progress_end(&prog);
    fprintf(stderr, "%s: %s codes (%d bits): %ld computed, %ld already stored, %ld failed of %ld videos in %.1f s\n",
            vs_index_dir(idx), h->id, h->bits, done, kept, failed, n_ok, cli_now() - t0);
    rc = failed ? 1 : 0;
out:
    if (j.err)
        for (int k = 0; k < CHUNK; k++) free(j.err[k]);
    free(j.err);
    free(j.ok);
    free(j.codes);
    free(j.todo);
    free(ids);
    free(xs);
    free(th);
    pthread_mutex_destroy(&j.mu);
    vs_index_extras_free(have);
    vs_index_entries_free(es);
    return rc;
}
