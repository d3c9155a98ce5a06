/*
 * add_many.c - vs_index_add_files (include/vidsim/batch.h): many videos added to an
 * index over the core worker pool (core/pool.c). Each worker makes its own
 * extraction state on its own thread and hands every video to vs_index_add_video
 * (add_video.c), which commits it under the index's catalogue mutex; each finished
 * video is told to the caller's callback under this call's lock, after its commit.
 * It prints nothing; recording and listing failures is the caller's business.
 */
#include "index/index_internal.h"

#include "core/pool.h"
#include "features/xstates.h"
#include "vidsim/batch.h"

#include <stdio.h>
#include <string.h>

typedef struct ajob {
    vs_index *idx;
    const vs_extractor *ex;
    const char *const *files;
    int n, flags, done;
    const vs_batch_params *bp;
    pthread_mutex_t mu;            /* guards done and the on_item calls */
    vs__xstates xs;                /* per-worker extraction states */
} ajob;

static vs_status a_begin(void *ctx, int w) {
    vs__xstates_begin(&((ajob *)ctx)->xs, w);
    return VS_OK; /* a worker without a state still claims videos, and fails each */
}

static void a_end(void *ctx, int w) { vs__xstates_end(&((ajob *)ctx)->xs, w); }

static vs_status a_one(void *ctx, void *state, long li, int w) {
    (void)state;
    ajob *j = ctx;
    int i = (int)li;
    const char *in = j->files[i];
    vs_index_add_result res;
    memset(&res, 0, sizeof res);
    char err[2100] = "";
    vs_status s = j->xs.status[w];
    vs_extract_stats stats, *sp = NULL;
    if (s) snprintf(err, sizeof err, "%s: %s", in, j->xs.err[w]);
    else {
        long nv = vs_extract_state_videos(j->xs.st[w]);
        double t0 = vs__now();
        if ((s = vs_index_add_video(j->idx, j->ex, j->xs.st[w], in, j->flags, &res)))
            snprintf(err, sizeof err, "%s", vs_last_error());
        double wall = vs__now() - t0;
        if (!s && vs_extract_state_videos(j->xs.st[w]) != nv &&
            (res.outcome == VS_INDEX_ADDED || res.outcome == VS_INDEX_REPLACED)) {
            /* it extracted: the rest of the call is checks, save and commit */
            vs_extract_state_stats(j->xs.st[w], &stats);
            stats.write_s = wall > stats.wall_s ? wall - stats.wall_s : 0;
            stats.wall_s += stats.write_s;
            sp = &stats;
        }
    }
    if (s == VS_ERR_ABORTED) err[0] = 0; /* interrupted, not a failure of the video */
    pthread_mutex_lock(&j->mu);
    j->done++;
    if (j->bp->on_item) {
        vs_batch_item it = {.i = i, .done = j->done, .total = j->n, .status = s, .error = err,
                            .n_frames = res.n_frames, .add = &res, .stats = sp};
        j->bp->on_item(&it, j->bp->user);
    }
    pthread_mutex_unlock(&j->mu);
    return VS_OK; /* a failed video is the callback's to record; the others go on */
}

vs_status vs_index_add_files(vs_index *idx, const vs_extractor *ex, const char *const *files, int n, int flags,
                             const vs_batch_params *bp) {
    vs_batch_params dp = vs_batch_default_params();
    if (!bp) bp = &dp;
    if (!idx || !ex || n < 0 || (n > 0 && !files))
        return vs__err(VS_ERR_INVALID_ARG, "vs_index_add_files: NULL index, extractor or file list");
    int nw = vs__xstates_workers(bp->n_jobs, n);
    ajob j;
    memset(&j, 0, sizeof j);
    j.idx = idx;
    j.ex = ex;
    j.files = files;
    j.n = n;
    j.flags = flags;
    j.bp = bp;
    vs_status s = vs__xstates_init(&j.xs, ex, nw, "vs_index_add_files");
    if (s) return s;
    if (pthread_mutex_init(&j.mu, NULL) != 0) {
        s = vs__err(VS_ERR_INTERNAL, "vs_index_add_files: cannot create a mutex");
        goto out;
    }
    vs__pool_jobs pj = {.n_jobs = n, .n_threads = nw, .job = a_one, .ctx = &j, .abort_fn = bp->abort_fn,
                        .abort_user = bp->abort_user, .begin = a_begin, .end = a_end};
    s = vs__pool_run(&pj);
    pthread_mutex_destroy(&j.mu);
out:
    vs__xstates_free(&j.xs);
    return s;
}
