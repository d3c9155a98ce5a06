/*
 * whiten.c - the learned whitening of global and segment vectors (ann.h "learned
 * whitening", docs/scale.md "A learned whitening of the first stage"): the scatter of
 * the differences of matching pairs in double precision (cblas_dsyrk over chunks),
 * LAPACK's dsyevd, W = U diag(1 / sqrt(ev + shrink * mean(ev))) U^T; applied one row at
 * a time (cblas_sgemv of the same shape for every row, so a row's result does not
 * depend on the others), then L2-normalised. Saved as a VSTF of kind gvec_whitening.
 */
#include "vidsim/ann.h"

#include "core/internal.h"
#include "core/tensorfile.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 512
#define MAX_META 16

struct vs_gvec_whiten {
    int d;
    float *W; /* [d, d], symmetric */
    char id[17];
    int n_meta;
    char *meta[2 * MAX_META];
};

static void set_id(vs_gvec_whiten *w) {
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *p = (const unsigned char *)w->W;
    for (size_t i = 0; i < sizeof(float) * (size_t)w->d * w->d; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    snprintf(w->id, sizeof w->id, "%016llx", (unsigned long long)h);
}

static vs_status add_meta(vs_gvec_whiten *w, const char *k, const char *v) {
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->meta[2 * i], k)) { /* a later value replaces an earlier one */
            char *nv = vs__strdup(v);
            if (!nv) return vs__err(VS_ERR_NOMEM, "out of memory");
            vs__free(w->meta[2 * i + 1]);
            w->meta[2 * i + 1] = nv;
            return VS_OK;
        }
    if (w->n_meta >= MAX_META) return vs__err(VS_ERR_INVALID_ARG, "gvec whitening: more than %d metadata keys", MAX_META);
    char *nk = vs__strdup(k), *nv = vs__strdup(v);
    if (!nk || !nv) {
        vs__free(nk);
        vs__free(nv);
        return vs__err(VS_ERR_NOMEM, "out of memory");
    }
    w->meta[2 * w->n_meta] = nk;
    w->meta[2 * w->n_meta + 1] = nv;
    w->n_meta++;
    return VS_OK;
}

void vs_gvec_whiten_free(vs_gvec_whiten *w) {
    if (!w) return;
    for (int i = 0; i < 2 * w->n_meta; i++) vs__free(w->meta[i]);
    vs__free(w->W);
    vs__free(w);
}

static vs_status alloc_w(vs_gvec_whiten **out, int d) {
    vs_gvec_whiten *w = vs__calloc(1, sizeof *w);
    if (!w || !(w->W = vs__malloc(sizeof(float) * (size_t)d * d))) {
        vs__free(w);
        return vs__err(VS_ERR_NOMEM, "gvec whitening: out of memory for a %dx%d map", d, d);
    }
    w->d = d;
    *out = w;
    return VS_OK;
}

vs_status vs_gvec_whiten_learn(vs_gvec_whiten **out, const float *a, const float *b, long n, int d, double shrink,
                               const char *const *meta) {
    *out = NULL;
    if (n < 1) return vs__err(VS_ERR_INVALID_ARG, "gvec whitening: no pairs to learn from");
    if (d < 1 || d > 4096) return vs__err(VS_ERR_INVALID_ARG, "gvec whitening: dimension %d out of 1..4096", d);
    if (!(shrink > 0) || !isfinite(shrink))
        return vs__err(VS_ERR_INVALID_ARG, "gvec whitening: shrink must be > 0, got %g", shrink);
    double *C = vs__calloc((size_t)d * d, sizeof(double));
    double *buf = vs__malloc(sizeof(double) * (size_t)CHUNK * d);
    double *ev = vs__malloc(sizeof(double) * (size_t)d);
    double *tmp = vs__malloc(sizeof(double) * (size_t)d * d);
    vs_gvec_whiten *w = NULL;
    vs_status st = VS_OK;
    if (!C || !buf || !ev || !tmp) {
        st = vs__err(VS_ERR_NOMEM, "gvec whitening: out of memory");
        goto out;
    }
    /* C = sum of (a_i - b_i)(a_i - b_i)^T over chunks of rows (upper triangle) */
    for (long i0 = 0; i0 < n; i0 += CHUNK) {
        long m = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (long i = 0; i < m; i++)
            for (int j = 0; j < d; j++) {
                float x = a[(size_t)(i0 + i) * d + j], y = b[(size_t)(i0 + i) * d + j];
                if (!isfinite(x) || !isfinite(y)) {
                    st = vs__err(VS_ERR_INVALID_ARG, "gvec whitening: pair %ld has a non-finite value", i0 + i);
                    goto out;
                }
                buf[(size_t)i * d + j] = (double)x - (double)y;
            }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)m, 1.0, buf, d, 1.0, C, d);
    }
    double tr = 0;
    for (int j = 0; j < d; j++) tr += C[(size_t)j * d + j];
    if (!(tr > 0)) {
        st = vs__err(VS_ERR_INVALID_ARG, "gvec whitening: the %ld pairs never differ: nothing to learn", n);
        goto out;
    }
    for (size_t k = 0; k < (size_t)d * d; k++) C[k] /= (double)n;
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, C, d, ev);
    if (info != 0) {
        st = vs__err(VS_ERR_INTERNAL, "gvec whitening: eigendecomposition failed (LAPACK info %d)", (int)info);
        goto out;
    }
    /* W = U diag(s_k) U^T, s_k = 1 / sqrt(max(ev_k, 0) + shrink * tr / d); tr / d is the
     * mean eigenvalue (of C / n) */
    double reg = shrink * (tr / (double)n) / d;
    for (int k = 0; k < d; k++) {
        double s = 1.0 / sqrt((ev[k] > 0 ? ev[k] : 0) + reg);
        for (int i = 0; i < d; i++) tmp[(size_t)i * d + k] = C[(size_t)i * d + k] * s; /* U diag(s) */
    }
    if ((st = alloc_w(&w, d))) goto out;
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) {
            double acc = 0;
            for (int k = 0; k < d; k++) acc += tmp[(size_t)i * d + k] * C[(size_t)j * d + k];
            w->W[(size_t)i * d + j] = w->W[(size_t)j * d + i] = (float)acc;
        }
    set_id(w);
    char v[64];
    snprintf(v, sizeof v, "%.17g", shrink);
    if ((st = add_meta(w, "shrink", v))) goto out;
    snprintf(v, sizeof v, "%ld", n);
    if ((st = add_meta(w, "n_pairs", v))) goto out;
    for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2)
        if ((st = add_meta(w, meta[i], meta[i + 1]))) goto out;
    *out = w;
    w = NULL;
out:
    vs_gvec_whiten_free(w);
    vs__free(C);
    vs__free(buf);
    vs__free(ev);
    vs__free(tmp);
    return st;
}

vs_status vs_gvec_whiten_save(const vs_gvec_whiten *w, const char *path) {
    vs__tfw *wr = NULL;
    vs_status st = vs__tfw_create(&wr);
    char v[32];
    snprintf(v, sizeof v, "%d", w->d);
    if (!st) st = vs__tfw_meta(wr, "kind", "gvec_whitening");
    if (!st) st = vs__tfw_meta(wr, "dim", v);
    for (int i = 0; i < w->n_meta && !st; i++) st = vs__tfw_meta(wr, w->meta[2 * i], w->meta[2 * i + 1]);
    int64_t dims[2] = {w->d, w->d};
    if (!st) st = vs__tfw_add(wr, "whiten.W", VS_DT_F32, 2, dims, w->W);
    if (!st) st = vs__tfw_save(wr, path);
    vs__tfw_free(wr);
    return st;
}

vs_status vs_gvec_whiten_load(vs_gvec_whiten **out, const char *path) {
    *out = NULL;
    vs__tf *tf;
    vs_status st = vs__tf_open(&tf, path);
    if (st) return st;
    vs_gvec_whiten *w = NULL;
    const char *kind = vs__tf_meta(tf, "kind"), *dim = vs__tf_meta(tf, "dim");
    int d = dim ? atoi(dim) : 0;
    const vs__tensor *t;
    if (!kind || strcmp(kind, "gvec_whitening")) {
        st = vs__err(VS_ERR_FORMAT, "%s: not a global-vector whitening file (kind %s)", path, kind ? kind : "missing");
        goto out;
    }
    if (d < 1 || d > 4096) {
        st = vs__err(VS_ERR_FORMAT, "%s: bad dim '%s'", path, dim ? dim : "(missing)");
        goto out;
    }
    int64_t dims[2] = {d, d};
    if ((st = vs__tf_get(tf, "whiten.W", VS_DT_F32, 2, dims, &t))) goto out;
    if ((st = alloc_w(&w, d))) goto out;
    memcpy(w->W, t->data, sizeof(float) * (size_t)d * d);
    for (size_t k = 0; k < (size_t)d * d; k++)
        if (!isfinite(w->W[k])) {
            st = vs__err(VS_ERR_FORMAT, "%s: whiten.W has a non-finite value", path);
            goto out;
        }
    for (int i = 0; i < vs__tf_meta_count(tf); i++) {
        const char *k, *v;
        vs__tf_meta_at(tf, i, &k, &v);
        if (strcmp(k, "kind") && strcmp(k, "dim") && (st = add_meta(w, k, v))) goto out;
    }
    set_id(w);
    *out = w;
    w = NULL;
out:
    vs_gvec_whiten_free(w);
    vs__tf_close(tf);
    return st;
}

int vs_gvec_whiten_dim(const vs_gvec_whiten *w) { return w->d; }
const char *vs_gvec_whiten_id(const vs_gvec_whiten *w) { return w->id; }
const float *vs_gvec_whiten_matrix(const vs_gvec_whiten *w) { return w->W; }

const char *vs_gvec_whiten_meta(const vs_gvec_whiten *w, const char *key) {
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->meta[2 * i], key)) return w->meta[2 * i + 1];
    return NULL;
}

vs_status vs_gvec_whiten_apply(const vs_gvec_whiten *w, float *x, long n) {
    int d = w->d;
    float *y = vs__malloc(sizeof(float) * (size_t)d);
    if (!y) return vs__err(VS_ERR_NOMEM, "out of memory");
    for (long i = 0; i < n; i++) {
        float *r = x + (size_t)i * d;
        cblas_sgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0f, w->W, d, r, 1, 0.0f, y, 1);
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)y[j] * y[j];
        float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (int j = 0; j < d; j++) r[j] = y[j] * inv;
    }
    vs__free(y);
    return VS_OK;
}
