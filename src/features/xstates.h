/*
 * xstates.h - per-worker extraction states for the pools that extract many files
 * (extract_many.c, pca.c, index/add_many.c): each worker makes its own state on its
 * own thread (vs__xstates_begin); a worker whose state could not be made keeps the
 * reason, still claims files and fails each with it, so no file is silently dropped.
 * Internal to the library.
 */
#ifndef VS_FEATURES_XSTATES_H
#define VS_FEATURES_XSTATES_H

#include "vidsim/features.h"

typedef struct vs__xstates {
    const vs_extractor *ex;
    int n;                     /* workers */
    vs_extract_state **st;     /* [n] */
    vs_status *status;         /* [n] why st[w] could not be made (VS_OK when it was) */
    char (*err)[1200];         /* [n] its message */
} vs__xstates;

/* Workers for n files with n_jobs asked: at least 1, at most n and the pool's limit. */
int vs__xstates_workers(int n_jobs, int n);
/* Arrays for n workers; who names the caller in the out-of-memory message. */
vs_status vs__xstates_init(vs__xstates *x, const vs_extractor *ex, int n, const char *who);
void vs__xstates_free(vs__xstates *x);
/* On worker w's thread: make its state (a failure is kept in status[w] / err[w]). */
void vs__xstates_begin(vs__xstates *x, int w);
void vs__xstates_end(vs__xstates *x, int w);

#endif
