/*
 * extract_many.c - vs_extract_files (include/vidsim/batch.h): feature files for many videos
 * over the core worker pool (core/pool.c), each worker with its own extraction state
 * made on its own thread, up-to-date outputs left alone, every finished file told to
 * the caller's callback under one lock (with the mirror block when the extractor's
 * params ask for the mirror view, the inset block when they ask for the inset view; a
 * file without the block asked for is then out of date). Also
 * vs_batch_default_params. The PCA
 * counterpart, vs_pca_acc_add_files, is in pca.c; the index one in index/add_many.c.
 * It prints nothing and keeps no state between calls.
 */
#include "vidsim/batch.h"

#include "core/internal.h"
#include "core/pool.h"
#include "features/featfile.h"
#include "features/xstates.h"

#include <stdio.h>
#include <string.h>

vs_batch_params vs_batch_default_params(void) {
    vs_batch_params p;
    memset(&p, 0, sizeof p);
    p.n_jobs = 1;
    return p;
}

typedef struct xjob {
    const vs_extractor *ex;
    const char *const *in, *const *out;
    int n, force, done;
    const vs_batch_params *bp;
    pthread_mutex_t mu;            /* guards done and the on_item calls */
    vs__xstates xs;                /* per-worker extraction states */
} xjob;

static vs_status x_begin(void *ctx, int w) {
    vs__xstates_begin(&((xjob *)ctx)->xs, w);
    return VS_OK; /* a worker without a state still claims files, and fails each */
}

static void x_end(void *ctx, int w) { vs__xstates_end(&((xjob *)ctx)->xs, w); }

/* An up-to-date header is not enough to skip a video: a feature file truncated or
 * damaged after it was written (its data no longer matching its checksum) is
 * re-extracted, as `index add` heals its own (one read of the file, as the index does). */
static int features_intact(const char *path) {
    vs_features *f = NULL;
    int ok = vs_features_load(&f, path) == VS_OK;
    vs_features_free(f);
    return ok;
}

static vs_status x_one(void *ctx, void *state, long li, int w) {
    (void)state;
    xjob *j = ctx;
    int i = (int)li;
    const char *in = j->in[i];
    char err[1200] = "";
    vs_status s = j->xs.status[w];
    int skipped = 0;
    long frames = 0;
    vs_extract_stats stats, *sp = NULL;
    if (s) {
        snprintf(err, sizeof err, "%s", j->xs.err[w]);
    } else {
        vs_features *old = NULL;
        uint64_t h = 0, sz = 0;
        int64_t mt = 0;
        if (!j->force && vs_features_load_header(&old, j->out[i]) == VS_OK &&
            vs_file_fingerprint(in, &h, &sz, &mt) == VS_OK &&
            !strcmp(old->model_id, vs_extractor_model_id(j->ex)) && old->source_hash == h &&
            old->source_size == sz && (old->mirror || !vs__extractor_mirror_view(j->ex)) &&
            (!vs__extractor_inset_view(j->ex) || vs__inset_current(old)) &&
            features_intact(j->out[i])) {
            skipped = 1;
            frames = old->T;
        } else {
            vs_features *f = NULL;
            s = vs_extract_video(j->xs.st[w], in, &f);
            if (!s) {
                double t0 = vs__now();
                s = vs_features_save_views(f, j->out[i]); /* the blocks f has (mirror_view, inset_view) */
                frames = f->T;
                vs_extract_state_stats(j->xs.st[w], &stats);
                stats.write_s = vs__now() - t0;
                stats.wall_s += stats.write_s;
                if (!s) sp = &stats;
            }
            if (s) snprintf(err, sizeof err, "%s", vs_last_error());
            vs_features_free(f);
        }
        vs_features_free(old);
    }
    pthread_mutex_lock(&j->mu);
    j->done++;
    if (j->bp->on_item) {
        vs_batch_item it = {.i = i, .done = j->done, .total = j->n, .status = s, .error = err,
                            .skipped = skipped, .n_frames = frames, .stats = sp};
        j->bp->on_item(&it, j->bp->user);
    }
    pthread_mutex_unlock(&j->mu);
    return VS_OK; /* a failed file is the callback's to record; the others go on */
}

vs_status vs_extract_files(const vs_extractor *ex, const char *const *inputs, const char *const *outputs, int n,
                           int force, const vs_batch_params *bp) {
    vs_batch_params dp = vs_batch_default_params();
    if (!bp) bp = &dp;
    if (!ex || n < 0 || (n > 0 && (!inputs || !outputs)))
        return vs__err(VS_ERR_INVALID_ARG, "vs_extract_files: NULL extractor or file list");
    int nw = vs__xstates_workers(bp->n_jobs, n);
    xjob j;
    memset(&j, 0, sizeof j);
    j.ex = ex;
    j.in = inputs;
    j.out = outputs;
    j.n = n;
    j.force = force;
    j.bp = bp;
    vs_status s = vs__xstates_init(&j.xs, ex, nw, "vs_extract_files");
    if (s) return s;
    if (pthread_mutex_init(&j.mu, NULL) != 0) {
        s = vs__err(VS_ERR_INTERNAL, "vs_extract_files: cannot create a mutex");
        goto out;
    }
    vs__pool_jobs pj = {.n_jobs = n, .n_threads = nw, .job = x_one, .ctx = &j, .abort_fn = bp->abort_fn,
                        .abort_user = bp->abort_user, .begin = x_begin, .end = x_end};
    s = vs__pool_run(&pj);
    pthread_mutex_destroy(&j.mu);
out:
    vs__xstates_free(&j.xs);
    return s;
}
