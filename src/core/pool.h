/*
 * pool.h - the library's one worker-pool helper (src/core/pool.c). Every module that
 * runs work on several threads (simmodel, hamming, backbone, the many-file calls of
 * features and index) starts its threads here, so thread creation is checked in one
 * place and a failed pthread_create never loses work. Private: never installed.
 * The threading policy as a whole (who starts threads, BLAS and OpenMP thread
 * counts, per-thread state) is docs/threading.md.
 */
#ifndef VS_CORE_POOL_H
#define VS_CORE_POOL_H

#include "vidsim/base.h"

#include <pthread.h>

/* Upper bound on the workers of one call (more are clamped). */
enum { VS__POOL_MAX_WORKERS = 256 };

/* One worker's body: fn(ctx, w) for w = 0..n_workers-1. */
typedef void (*vs__worker_fn)(void *ctx, int w);

/*
 * Run fn(ctx, w) once for every worker w in 0..n_workers-1 and return when all have
 * returned. Worker 0 runs on the calling thread, the others on threads started for
 * this call. A worker whose thread cannot be started (pthread_create fails) is run on
 * the calling thread after worker 0, so every w runs exactly once whatever happens;
 * work claimed through counters in ctx is then simply done by fewer threads.
 * Returns the number of threads actually started (0..n_workers-1). n_workers < 1
 * counts as 1; more than VS__POOL_MAX_WORKERS are clamped to it. Never fails.
 */
int vs__pool_each(int n_workers, vs__worker_fn fn, void *ctx);

/* Test hook: from now on only n more worker threads start (n >= 0), every later
 * pthread_create counts as failed; n < 0 turns the hook off. Process-wide; tests only. */
void vs__pool_test_fail_create(int n);

/* One job: the status of job i run by worker w (state: states[w], or NULL). */
typedef vs_status (*vs__job_fn)(void *ctx, void *state, long i, int w);

/* The jobs of vs__pool_run. */
typedef struct vs__pool_jobs {
    long n_jobs;            /* jobs 0..n_jobs-1, claimed in increasing order */
    int n_threads;          /* workers (>= 1; capped at n_jobs when n_jobs > 0) */
    vs__job_fn job;         /* the job body */
    void *ctx;              /* passed to every job */
    void *const *states;    /* [n_threads] per-worker state, or NULL */
    int stop_on_error;      /* a failed job stops the claiming of new ones */
    vs_abort_fn abort_fn;   /* polled before each claim; true stops the claiming */
    void *abort_user;
    /* Optional, per worker, on the worker's thread: begin before its first claim (a
     * non-OK status: this worker claims nothing, the others go on), end after its
     * last, whatever begin returned. For per-thread state made on its own thread. */
    vs_status (*begin)(void *ctx, int w);
    void (*end)(void *ctx, int w);
} vs__pool_jobs;

/*
 * Run jobs 0..n_jobs-1 over n_threads workers (vs__pool_each). Jobs are claimed one
 * at a time in index order from a shared counter, so with one worker they run in
 * order. Returns VS_OK when every job returned VS_OK; VS_ERR_ABORTED when abort_fn
 * stopped the claiming (jobs not started are not run); otherwise, with
 * stop_on_error, the status of the first failed job (its thread-local message is
 * copied to the caller's thread). Without stop_on_error failures are the jobs'
 * business (they record them) and the call returns VS_OK.
 */
vs_status vs__pool_run(const vs__pool_jobs *jobs);

#endif
