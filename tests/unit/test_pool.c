/*
 * test_pool.c - the core worker pool (src/core/pool.c): every worker runs exactly
 * once, also when thread creation fails (the test hook makes pthread_create fail,
 * the caller then runs those workers); every job runs exactly once over 1..8
 * threads; abort stops the claiming with VS_ERR_ABORTED; stop-on-error returns the
 * first failure with its message on the caller's thread; a worker whose begin fails
 * claims nothing while the others finish; the BLAS policy hook is callable.
 */
#include "test.h"
#include "core/internal.h"
#include "core/pool.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct {
    atomic_int runs[64];
    atomic_int n;
    pthread_t caller;
    atomic_int on_caller;
} each_ctx;

static void each_fn(void *p, int w) {
    each_ctx *c = p;
    atomic_fetch_add(&c->runs[w], 1);
    atomic_fetch_add(&c->n, 1);
    if (pthread_equal(pthread_self(), c->caller)) atomic_fetch_add(&c->on_caller, 1);
}

static void test_each(int nw, int may_start) {
    each_ctx c;
    memset(&c, 0, sizeof c);
    c.caller = pthread_self();
    vs__pool_test_fail_create(may_start);
    int started = vs__pool_each(nw, each_fn, &c);
    vs__pool_test_fail_create(-1);
    int want_started = may_start < 0 || may_start > nw - 1 ? nw - 1 : may_start;
    CHECK_EQ(started, want_started);
    CHECK_EQ(atomic_load(&c.n), nw);
    for (int w = 0; w < nw; w++) CHECK_MSG(atomic_load(&c.runs[w]) == 1, "worker %d ran %d times", w, atomic_load(&c.runs[w]));
    CHECK_EQ(atomic_load(&c.on_caller), nw - want_started);
}

typedef struct {
    atomic_int hits[1000];
    long fail_at;            /* job that fails, or -1 */
    atomic_long abort_after; /* abort once this many claims were polled */
    atomic_int begun, ended;
    int begin_fails_w;       /* worker whose begin fails, or -1 */
    atomic_int claimed_by_failed;
} job_ctx;

static vs_status job_fn(void *p, void *state, long i, int w) {
    job_ctx *c = p;
    (void)state;
    if (w == c->begin_fails_w) atomic_fetch_add(&c->claimed_by_failed, 1);
    atomic_fetch_add(&c->hits[i], 1);
    if (i == c->fail_at) return vs__err(VS_ERR_FORMAT, "job %ld failed on purpose", i);
    return VS_OK;
}

static bool abort_fn(void *p) {
    job_ctx *c = p;
    return atomic_fetch_sub(&c->abort_after, 1) <= 0;
}

static vs_status begin_fn(void *p, int w) {
    job_ctx *c = p;
    atomic_fetch_add(&c->begun, 1);
    return w == c->begin_fails_w ? VS_ERR_NOMEM : VS_OK;
}

static void end_fn(void *p, int w) {
    (void)w;
    atomic_fetch_add(&((job_ctx *)p)->ended, 1);
}

static job_ctx *new_ctx(void) {
    job_ctx *c = calloc(1, sizeof *c);
    c->fail_at = -1;
    c->begin_fails_w = -1;
    atomic_store(&c->abort_after, 1L << 40);
    return c;
}

int main(void) {
    for (int nw = 1; nw <= 8; nw++) test_each(nw, -1);
    test_each(6, 0); /* no thread starts: the caller runs all six */
    test_each(6, 2); /* two start, the caller runs the other four */

    for (int nt = 1; nt <= 8; nt++) {
        job_ctx *c = new_ctx();
        vs__pool_jobs j = {.n_jobs = 1000, .n_threads = nt, .job = job_fn, .ctx = c, .begin = begin_fn, .end = end_fn};
        CHECK_EQ(vs__pool_run(&j), VS_OK);
        int bad = 0;
        for (int i = 0; i < 1000; i++) bad += atomic_load(&c->hits[i]) != 1;
        CHECK_EQ(bad, 0);
        CHECK_EQ(atomic_load(&c->begun), nt);
        CHECK_EQ(atomic_load(&c->ended), nt);
        free(c);
    }
    { /* more threads than jobs: capped at the job count */
        job_ctx *c = new_ctx();
        vs__pool_jobs j = {.n_jobs = 3, .n_threads = 8, .job = job_fn, .ctx = c, .begin = begin_fn, .end = end_fn};
        CHECK_EQ(vs__pool_run(&j), VS_OK);
        CHECK_EQ(atomic_load(&c->begun), 3);
        free(c);
    }
    { /* a failure without stop_on_error: every job still runs, VS_OK */
        job_ctx *c = new_ctx();
        c->fail_at = 10;
        vs__pool_jobs j = {.n_jobs = 100, .n_threads = 3, .job = job_fn, .ctx = c};
        CHECK_EQ(vs__pool_run(&j), VS_OK);
        int total = 0;
        for (int i = 0; i < 100; i++) total += atomic_load(&c->hits[i]);
        CHECK_EQ(total, 100);
        free(c);
    }
    { /* stop_on_error, one worker: jobs after the failure are not run; the message comes back */
        job_ctx *c = new_ctx();
        c->fail_at = 10;
        vs__pool_jobs j = {.n_jobs = 100, .n_threads = 1, .job = job_fn, .ctx = c, .stop_on_error = 1};
        CHECK_EQ(vs__pool_run(&j), VS_ERR_FORMAT);
        CHECK(strstr(vs_last_error(), "job 10 failed on purpose") != NULL);
        CHECK_EQ(atomic_load(&c->hits[11]), 0);
        free(c);
    }
    { /* abort after 5 claims, one worker: exactly jobs 0..4 ran */
        job_ctx *c = new_ctx();
        atomic_store(&c->abort_after, 5);
        vs__pool_jobs j = {.n_jobs = 100, .n_threads = 1, .job = job_fn, .ctx = c, .abort_fn = abort_fn,
                           .abort_user = c};
        CHECK_EQ(vs__pool_run(&j), VS_ERR_ABORTED);
        int total = 0;
        for (int i = 0; i < 100; i++) total += atomic_load(&c->hits[i]);
        CHECK_EQ(total, 5);
        free(c);
    }
    { /* abort with several workers: stops, and no job runs twice */
        job_ctx *c = new_ctx();
        atomic_store(&c->abort_after, 50);
        vs__pool_jobs j = {.n_jobs = 1000, .n_threads = 4, .job = job_fn, .ctx = c, .abort_fn = abort_fn,
                           .abort_user = c};
        CHECK_EQ(vs__pool_run(&j), VS_ERR_ABORTED);
        int total = 0, twice = 0;
        for (int i = 0; i < 1000; i++) {
            total += atomic_load(&c->hits[i]);
            twice += atomic_load(&c->hits[i]) > 1;
        }
        CHECK(total <= 50);
        CHECK_EQ(twice, 0);
        free(c);
    }
    { /* worker 1's begin fails: it claims nothing, the others run every job, end runs for all */
        job_ctx *c = new_ctx();
        c->begin_fails_w = 1;
        vs__pool_jobs j = {.n_jobs = 200, .n_threads = 3, .job = job_fn, .ctx = c, .begin = begin_fn, .end = end_fn};
        CHECK_EQ(vs__pool_run(&j), VS_OK);
        int bad = 0;
        for (int i = 0; i < 200; i++) bad += atomic_load(&c->hits[i]) != 1;
        CHECK_EQ(bad, 0);
        CHECK_EQ(atomic_load(&c->claimed_by_failed), 0);
        CHECK_EQ(atomic_load(&c->ended), 3);
        free(c);
    }
    { /* thread creation fails for every thread: the caller runs all workers, all jobs run */
        job_ctx *c = new_ctx();
        vs__pool_test_fail_create(0);
        vs__pool_jobs j = {.n_jobs = 300, .n_threads = 4, .job = job_fn, .ctx = c, .begin = begin_fn, .end = end_fn};
        CHECK_EQ(vs__pool_run(&j), VS_OK);
        vs__pool_test_fail_create(-1);
        int bad = 0;
        for (int i = 0; i < 300; i++) bad += atomic_load(&c->hits[i]) != 1;
        CHECK_EQ(bad, 0);
        CHECK_EQ(atomic_load(&c->begun), 4);
        CHECK_EQ(atomic_load(&c->ended), 4);
        free(c);
    }
    CHECK_EQ(vs__pool_run(NULL), VS_ERR_INVALID_ARG);
    vs__blas_pool_started(); /* idempotent, safe to call again */
    vs__blas_pool_started();
    return vs_test_done();
}
