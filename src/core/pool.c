/*
 * pool.c - the worker-pool helper of src/core/pool.h: fork-join over pthreads with
 * the calling thread as worker 0, checked thread creation (a worker whose thread
 * cannot start runs on the caller), and a job counter with abort and stop-on-error
 * on top. It keeps no threads between calls and no global state (but the tests'
 * thread-creation failure hook); what each worker owns (scratch, an extraction
 * state) is the caller's per-worker state.
 * It does not touch BLAS or OpenMP thread counts (src/core/blas.c does, once).
 */
#include "core/pool.h"

#include "core/internal.h"

#include <stdatomic.h>
#include <string.h>

typedef struct each_arg {
    vs__worker_fn fn;
    void *ctx;
    int w;
} each_arg;

static void *each_tramp(void *p) {
    each_arg *a = p;
    a->fn(a->ctx, a->w);
    return NULL;
}

static atomic_int g_fail_create = -1; /* test hook: threads that may still start */

void vs__pool_test_fail_create(int n) { atomic_store(&g_fail_create, n < 0 ? -1 : n); }

/* pthread_create, unless the test hook says this one fails. */
static int start_thread(pthread_t *th, each_arg *a) {
    int left = atomic_load(&g_fail_create);
    while (left >= 0) {
        if (left == 0) return -1;
        if (atomic_compare_exchange_weak(&g_fail_create, &left, left - 1)) break;
    }
    return pthread_create(th, NULL, each_tramp, a);
}

int vs__pool_each(int n_workers, vs__worker_fn fn, void *ctx) {
    if (n_workers < 1) n_workers = 1;
    if (n_workers > VS__POOL_MAX_WORKERS) n_workers = VS__POOL_MAX_WORKERS;
    each_arg args[VS__POOL_MAX_WORKERS];
    pthread_t th[VS__POOL_MAX_WORKERS];
    unsigned char started[VS__POOL_MAX_WORKERS];
    int n_started = 0;
    for (int w = 1; w < n_workers; w++) {
        args[w] = (each_arg){fn, ctx, w};
        started[w] = start_thread(&th[w], &args[w]) == 0;
        n_started += started[w];
    }
    fn(ctx, 0);
    for (int w = 1; w < n_workers; w++) {
        if (started[w]) pthread_join(th[w], NULL);
        else fn(ctx, w); /* its thread did not start: run it here */
    }
    return n_started;
}

typedef struct run_ctx {
    const vs__pool_jobs *j;
    atomic_long next;
    atomic_int stop;        /* 1: abort asked, 2: a job failed */
    pthread_mutex_t mu;     /* guards err, msg */
    vs_status err;          /* first failure */
    char msg[1024];
} run_ctx;

static void run_worker(void *p, int w) {
    run_ctx *r = p;
    const vs__pool_jobs *j = r->j;
    void *state = j->states ? j->states[w] : NULL;
    int ok = !j->begin || j->begin(j->ctx, w) == VS_OK;
    while (ok) {
        if (atomic_load(&r->stop)) break;
        if (j->abort_fn && j->abort_fn(j->abort_user)) {
            atomic_store(&r->stop, 1);
            break;
        }
        long i = atomic_fetch_add(&r->next, 1);
        if (i >= j->n_jobs) break;
        vs_status s = j->job(j->ctx, state, i, w);
        if (s && j->stop_on_error) {
            pthread_mutex_lock(&r->mu);
            if (!r->err) {
                r->err = s;
                snprintf(r->msg, sizeof r->msg, "%s", vs_last_error());
            }
            pthread_mutex_unlock(&r->mu);
            atomic_store(&r->stop, 2);
            break;
        }
    }
    if (j->end) j->end(j->ctx, w);
}

vs_status vs__pool_run(const vs__pool_jobs *j) {
    if (!j || !j->job || j->n_jobs < 0) return vs__err(VS_ERR_INVALID_ARG, "pool: bad job set");
    run_ctx r;
    memset(&r, 0, sizeof r);
    r.j = j;
    atomic_init(&r.next, 0);
    atomic_init(&r.stop, 0);
    if (pthread_mutex_init(&r.mu, NULL) != 0) return vs__err(VS_ERR_INTERNAL, "pool: cannot create a mutex");
    int nt = j->n_threads < 1 ? 1 : j->n_threads;
    if (j->n_jobs > 0 && nt > j->n_jobs) nt = (int)j->n_jobs;
    vs__pool_each(nt, run_worker, &r);
    pthread_mutex_destroy(&r.mu);
    if (r.err) return vs__err(r.err, "%s", r.msg);
    if (atomic_load(&r.stop) == 1) return vs__err(VS_ERR_ABORTED, "stopped by the abort callback");
    return VS_OK;
}
