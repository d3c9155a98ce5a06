/*
 * xstates.c - per-worker extraction states for pools over many files (xstates.h).
 */
#include "features/xstates.h"

#include "core/internal.h"
#include "core/pool.h"

#include <stdio.h>
#include <string.h>

int vs__xstates_workers(int n_jobs, int n) {
    int nw = n_jobs < 1 ? 1 : n_jobs;
    if (nw > n) nw = n > 0 ? n : 1;
    if (nw > VS__POOL_MAX_WORKERS) nw = VS__POOL_MAX_WORKERS;
    return nw;
}

vs_status vs__xstates_init(vs__xstates *x, const vs_extractor *ex, int n, const char *who) {
    memset(x, 0, sizeof *x);
    x->ex = ex;
    x->n = n;
    x->st = vs__calloc((size_t)n, sizeof *x->st);
    x->status = vs__calloc((size_t)n, sizeof *x->status);
    x->err = vs__calloc((size_t)n, sizeof *x->err);
    if (!x->st || !x->status || !x->err) {
        vs__xstates_free(x);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory for %d workers", who, n);
    }
    return VS_OK;
}

void vs__xstates_free(vs__xstates *x) {
    if (x->st)
        for (int w = 0; w < x->n; w++) vs_extract_state_free(x->st[w]);
    vs__free(x->st);
    vs__free(x->status);
    vs__free(x->err);
    memset(x, 0, sizeof *x);
}

void vs__xstates_begin(vs__xstates *x, int w) {
    x->status[w] = vs_extract_state_create(&x->st[w], x->ex);
    if (x->status[w]) snprintf(x->err[w], sizeof x->err[w], "%s", vs_last_error());
}

void vs__xstates_end(vs__xstates *x, int w) {
    vs_extract_state_free(x->st[w]);
    x->st[w] = NULL;
}
