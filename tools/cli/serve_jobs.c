/*
 * serve_jobs.c - the job thread of `vidsim serve`: adding and deleting videos run
 * here, one at a time in submission order, so that no request waits for an
 * extraction. Each job's state is kept (a bounded history) for GET /v1/jobs/{id}.
 * After a job that changed the index the server's generation is bumped, so every
 * searcher is rebuilt before its next query. The extractor is loaded on the first
 * add, for the index's model id. On stop the running job finishes and queued ones
 * are cancelled.
 */
#define _POSIX_C_SOURCE 200809L
#include "serve.h"

#ifdef VS_HAVE_MHD
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Wall-clock seconds (job timestamps, request latencies). */
double serve_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum { MAX_HISTORY = 4096 };

/* The history: every job still remembered, oldest first (under sv->mu). */
static serve_job **hist;
static long n_hist;

static void job_free(serve_job *j) {
    if (!j) return;
    free(j->path);
    free(j->name);
    free(j->error);
    free(j);
}

static vs_extractor *g_ex;
static vs_extract_state *g_est;

static char *dup_msg(const char *s) { return strdup(s && *s ? s : "failed"); }

/* What a job did, filled outside the mutex and copied into the job under it (the
 * job's fields are read by GET /v1/jobs/{id} under sv->mu). */
typedef struct job_out {
    int64_t video_id;
    char outcome[16];
    char *error;
} job_out;

static void run_add(serve *sv, const char *path, job_out *o) {
    vs_index_info info;
    if (vs_index_get_info(sv->idx, &info) != VS_OK) {
        o->error = dup_msg(vs_last_error());
        return;
    }
    if (!info.model_id[0]) {
        o->error = strdup("the index has no model yet: add a first video with `vidsim index add`");
        return;
    }
    if (!g_ex) {
        vs_extract_params ep = vs_extract_default_params();
        if (info.fps > 0) ep.decode.fps = info.fps; /* the index's sampling rate, as `index add` */
        ep.calib_path = sv->calib; /* --calib, read for an int8 index only (load_model.c), and --pca */
        if (vs_extractor_load_for_model(&g_ex, &sv->models, info.model_id, sv->pca, &ep) != VS_OK ||
            vs_extract_state_create(&g_est, g_ex) != VS_OK) {
            o->error = dup_msg(vs_last_error());
            vs_extractor_free(g_ex);
            g_ex = NULL;
            return;
        }
    }
    vs_index_add_result res;
    memset(&res, 0, sizeof res);
    vs_status s = vs_index_add_video(sv->idx, g_ex, g_est, path, 0, &res);
    o->video_id = res.id;
    static const char *const names[] = {"", "added", "replaced", "unchanged", "failed"};
    snprintf(o->outcome, sizeof o->outcome, "%s", res.outcome >= 1 && res.outcome <= 4 ? names[res.outcome] : "");
    if (s != VS_OK) o->error = dup_msg(vs_last_error());
}

static void run_delete(serve *sv, int64_t id, job_out *o) {
    o->video_id = id;
    if (vs_index_remove(sv->idx, id) != VS_OK) o->error = dup_msg(vs_last_error());
}

static void *job_main(void *arg) {
    serve *sv = arg;
    pthread_mutex_lock(&sv->mu);
    for (;;) {
        while (!sv->queue_head && !sv->stopping) pthread_cond_wait(&sv->job_cv, &sv->mu);
        if (sv->stopping) break;
        serve_job *j = sv->queue_head;
        sv->queue_head = j->next;
        if (!sv->queue_head) sv->queue_tail = NULL;
        j->state = JOB_RUNNING;
        j->started = serve_now();
        /* kind, path and video_id are fixed once queued: read without the mutex */
        serve_job_kind kind = j->kind;
        const char *path = j->path;
        int64_t vid = j->video_id;
        pthread_mutex_unlock(&sv->mu);
        job_out o;
        memset(&o, 0, sizeof o);
        if (kind == JOB_ADD) run_add(sv, path, &o);
        else run_delete(sv, vid, &o);
        pthread_mutex_lock(&sv->mu);
        j->video_id = o.video_id;
        memcpy(j->outcome, o.outcome, sizeof j->outcome);
        j->error = o.error;
        j->finished = serve_now();
        j->state = j->error ? JOB_FAILED : JOB_DONE;
        sv->gen++; /* even a failed add may have recorded a failed row */
    }
    /* stopping: what is still queued never runs */
    for (serve_job *j = sv->queue_head; j; j = j->next) {
        j->state = JOB_CANCELLED;
        j->finished = serve_now();
    }
    sv->queue_head = sv->queue_tail = NULL;
    pthread_mutex_unlock(&sv->mu);
    vs_extract_state_free(g_est);
    vs_extractor_free(g_ex);
    g_est = NULL;
    g_ex = NULL;
    return NULL;
}

int serve_jobs_start(serve *sv) { return pthread_create(&sv->job_thread, NULL, job_main, sv) ? -1 : 0; }

void serve_jobs_stop(serve *sv) {
    pthread_mutex_lock(&sv->mu);
    sv->stopping = 1;
    pthread_cond_broadcast(&sv->job_cv);
    pthread_mutex_unlock(&sv->mu);
    pthread_join(sv->job_thread, NULL);
}

void serve_jobs_free(serve *sv) {
    (void)sv;
    for (long k = 0; k < n_hist; k++) job_free(hist[k]);
    free(hist);
    hist = NULL;
    n_hist = 0;
}


long serve_job_submit(serve *sv, serve_job_kind kind, const char *path, int64_t video_id) {
    serve_job *j = calloc(1, sizeof *j);
    if (!j) return -1;
    j->kind = kind;
    j->video_id = video_id;
    j->created = serve_now();
    if (path && !(j->path = strdup(path))) {
        free(j);
        return -1;
    }
    pthread_mutex_lock(&sv->mu);
    if (!hist) hist = calloc(MAX_HISTORY, sizeof *hist);
    if (!hist) {
        pthread_mutex_unlock(&sv->mu);
        job_free(j);
        return -1;
    }
    if (n_hist == MAX_HISTORY) {
        /* forget the oldest finished job (a queued or running one is never dropped) */
        long k = 0;
        while (k < n_hist && (hist[k]->state == JOB_QUEUED || hist[k]->state == JOB_RUNNING)) k++;
        if (k == n_hist) {
            pthread_mutex_unlock(&sv->mu);
            job_free(j);
            return -1;
        }
        job_free(hist[k]);
        memmove(hist + k, hist + k + 1, (size_t)(n_hist - k - 1) * sizeof *hist);
        n_hist--;
    }
    j->id = ++sv->next_job_id;
    hist[n_hist++] = j;
    if (sv->queue_tail) sv->queue_tail->next = j;
    else sv->queue_head = j;
    sv->queue_tail = j;
    pthread_cond_signal(&sv->job_cv);
    long id = j->id;
    pthread_mutex_unlock(&sv->mu);
    return id;
}

long serve_jobs_pending(serve *sv) {
    long n = 0;
    pthread_mutex_lock(&sv->mu);
    for (long k = 0; k < n_hist; k++) n += hist[k]->state == JOB_QUEUED || hist[k]->state == JOB_RUNNING;
    pthread_mutex_unlock(&sv->mu);
    return n;
}

int serve_job_json(serve *sv, long id, FILE *f) {
    static const char *const states[] = {"queued", "running", "done", "failed", "cancelled"};
    int rc = -1;
    pthread_mutex_lock(&sv->mu);
    for (long k = 0; k < n_hist; k++) {
        serve_job *j = hist[k];
        if (j->id != id) continue;
        fprintf(f, "{\"id\": %ld, \"kind\": \"%s\", \"state\": \"%s\", \"video_id\": %lld", j->id,
                j->kind == JOB_ADD ? "add" : "delete", states[j->state], (long long)j->video_id);
        if (j->kind == JOB_ADD && j->path) {
            fputs(", \"file\": ", f);
            cli_json_str(f, cli_basename(j->path));
        }
        if (j->outcome[0]) fprintf(f, ", \"outcome\": \"%s\"", j->outcome);
        if (j->error) {
            fputs(", \"error\": ", f);
            cli_json_str(f, j->error);
        }
        fprintf(f, ", \"created\": %.3f, \"started\": %.3f, \"finished\": %.3f}", j->created, j->started, j->finished);
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&sv->mu);
    return rc;
}
#endif
