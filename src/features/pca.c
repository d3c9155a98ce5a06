/*
 * pca.c - PCA-whitening learner: a streaming scatter matrix in double precision
 * (cblas_dsyrk over chunks of rows), then LAPACK's dsyevd. The recipe is the S2VS
 * reference's train_pca: C = (X-mu)^T (X-mu) (not divided by N; only the global
 * scale differs, which the final L2 normalisation removes), keep the top D
 * eigenvectors, column k of P = v_k / sqrt(d_k + eps).
 * vs_pca_acc_add_files feeds the accumulator from many videos or raw feature files
 * over the core worker pool (core/pool.c); the adds themselves run one at a time.
 * vs_pca_fold_whiten folds a learned map of the whitened vectors into such a file.
 */
#include "core/internal.h"
#include "core/pool.h"
#include "features/xstates.h"
#include "core/tensorfile.h"
#include "vidsim/ann.h"
#include "vidsim/batch.h"
#include "vidsim/features.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CHUNK 512

struct vs_pca_acc {
    int d;
    long n;
    double *sum;     /* [d] */
    double *scatter; /* [d, d], upper triangle valid (row-major) */
    double *buf;     /* [CHUNK, d] */
    int nbuf;
};

vs_status vs_pca_acc_create(vs_pca_acc **out, int dim_in) {
    *out = NULL;
    if (dim_in <= 0 || dim_in > 16384)
        return vs__err(VS_ERR_INVALID_ARG, "pca: input dimension %d out of range", dim_in);
    vs_pca_acc *a = vs__calloc(1, sizeof *a);
    if (!a) return vs__err(VS_ERR_NOMEM, "pca: out of memory");
    a->d = dim_in;
    a->sum = vs__calloc(dim_in, sizeof(double));
    a->scatter = vs__calloc((size_t)dim_in * dim_in, sizeof(double));
    a->buf = vs__malloc((size_t)CHUNK * dim_in * sizeof(double));
    if (!a->sum || !a->scatter || !a->buf) {
        vs_pca_acc_free(a);
        return vs__err(VS_ERR_NOMEM, "pca: cannot allocate a %dx%d scatter matrix", dim_in, dim_in);
    }
    *out = a;
    return VS_OK;
}

void vs_pca_acc_free(vs_pca_acc *a) {
    if (!a) return;
    vs__free(a->sum);
    vs__free(a->scatter);
    vs__free(a->buf);
    vs__free(a);
}

static void flush(vs_pca_acc *a) {
    if (!a->nbuf) return;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, a->d, a->nbuf, 1.0, a->buf, a->d, 1.0,
                a->scatter, a->d);
    a->nbuf = 0;
}

vs_status vs_pca_acc_add(vs_pca_acc *a, const float *x, long n) {
    for (long i = 0; i < n; i++) {
        const float *r = x + (size_t)i * a->d;
        double *b = a->buf + (size_t)a->nbuf * a->d;
        for (int j = 0; j < a->d; j++) {
            b[j] = r[j];
            a->sum[j] += r[j];
        }
        if (++a->nbuf == CHUNK) flush(a);
    }
    a->n += n;
    return VS_OK;
}

long vs_pca_acc_count(const vs_pca_acc *a) { return a->n; }

vs_status vs_pca_fit_save(const vs_pca_acc *acc, int dim_out, double eps, const char *const *meta,
                          const char *path) {
    vs_pca_acc *a = (vs_pca_acc *)acc; /* flushing the pending rows does not change the result */
    int d = a->d;
    if (dim_out <= 0 || dim_out > d)
        return vs__err(VS_ERR_INVALID_ARG, "pca: output dimension %d not in 1..%d", dim_out, d);
    if (a->n < dim_out + 1)
        return vs__err(VS_ERR_INVALID_ARG,
                       "pca: %ld training vectors cannot support %d whitened dimensions (need > %d)",
                       a->n, dim_out, dim_out);
    flush(a);
    vs_status st = VS_OK;
    double *C = vs__malloc((size_t)d * d * sizeof(double));
    double *w = vs__malloc((size_t)d * sizeof(double));
    float *mean = vs__malloc((size_t)d * sizeof(float));
    float *P = vs__malloc((size_t)d * dim_out * sizeof(float));
    float *ev = vs__malloc((size_t)dim_out * sizeof(float));
    vs__tfw *wr = NULL;
    if (!C || !w || !mean || !P || !ev) {
        st = vs__err(VS_ERR_NOMEM, "pca: out of memory");
        goto out;
    }
    double n = (double)a->n;
    for (int i = 0; i < d; i++) mean[i] = (float)(a->sum[i] / n);
    /* C = S - n mu mu^T, upper triangle, with mu in double */
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) {
            double mi = a->sum[i] / n, mj = a->sum[j] / n;
            C[(size_t)i * d + j] = a->scatter[(size_t)i * d + j] - n * mi * mj;
        }
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, C, d, w);
    if (info != 0) {
        st = vs__err(VS_ERR_INTERNAL, "pca: eigendecomposition failed (LAPACK info %d)", (int)info);
        goto out;
    }
    /* eigenvalues ascending in w; eigenvectors in the columns of C */
    for (int k = 0; k < dim_out; k++) {
        int src = d - 1 - k;
        double lam = w[src] > 0 ? w[src] : 0;
        double s = 1.0 / sqrt(lam + eps);
        ev[k] = (float)w[src];
        /* fix the sign so that the largest-magnitude component is positive (determinism) */
        int arg = 0;
        for (int i = 1; i < d; i++)
            if (fabs(C[(size_t)i * d + src]) > fabs(C[(size_t)arg * d + src])) arg = i;
        double sign = C[(size_t)arg * d + src] < 0 ? -1.0 : 1.0;
        for (int i = 0; i < d; i++) P[(size_t)i * dim_out + k] = (float)(sign * C[(size_t)i * d + src] * s);
    }
    if ((st = vs__tfw_create(&wr))) goto out;
    char buf[64];
    if ((st = vs__tfw_meta(wr, "kind", "pca_whitening"))) goto out;
    snprintf(buf, sizeof buf, "%d", d);
    if ((st = vs__tfw_meta(wr, "dim_in", buf))) goto out;
    snprintf(buf, sizeof buf, "%d", dim_out);
    if ((st = vs__tfw_meta(wr, "dim_out", buf))) goto out;
    snprintf(buf, sizeof buf, "%g", eps);
    if ((st = vs__tfw_meta(wr, "eps", buf))) goto out;
    snprintf(buf, sizeof buf, "%ld", a->n);
    if ((st = vs__tfw_meta(wr, "n_samples", buf))) goto out;
    for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2)
        if ((st = vs__tfw_meta(wr, meta[i], meta[i + 1]))) goto out;
    int64_t dm[1] = {d}, dp[2] = {d, dim_out}, de[1] = {dim_out};
    if ((st = vs__tfw_add(wr, "pca.mean", VS_DT_F32, 1, dm, mean))) goto out;
    if ((st = vs__tfw_add(wr, "pca.proj", VS_DT_F32, 2, dp, P))) goto out;
    if ((st = vs__tfw_add(wr, "pca.eigenvalues", VS_DT_F32, 1, de, ev))) goto out;
    st = vs__tfw_save(wr, path);
out:
    vs__tfw_free(wr);
    vs__free(C);
    vs__free(w);
    vs__free(mean);
    vs__free(P);
    vs__free(ev);
    return st;
}

/* ------------------------------------------------------------------ many files */

typedef struct pjob {
    vs_pca_acc *acc;
    const vs_extractor *ex;        /* NULL: files are raw feature files */
    const char *const *files;
    int n, done, n_ok;
    const vs_batch_params *bp;
    pthread_mutex_t mu;            /* guards acc, done, n_ok and the on_item calls */
    vs_extract_state **st;         /* [workers] */
} pjob;

static void p_tell(pjob *j, const vs_batch_item *it) {
    if (j->bp->on_item) j->bp->on_item(it, j->bp->user);
}

static vs_status p_begin(void *ctx, int w) {
    pjob *j = ctx;
    if (!j->ex) return VS_OK;
    vs_status s = vs_extract_state_create(&j->st[w], j->ex);
    if (s) { /* this worker takes no files; the others go on */
        char err[1024];
        snprintf(err, sizeof err, "%s", vs_last_error());
        pthread_mutex_lock(&j->mu);
        vs_batch_item it = {.i = -1, .done = j->done, .total = j->n, .status = s, .error = err};
        p_tell(j, &it);
        pthread_mutex_unlock(&j->mu);
    }
    return s;
}

static void p_end(void *ctx, int w) {
    pjob *j = ctx;
    vs_extract_state_free(j->st[w]);
    j->st[w] = NULL;
}

static vs_status p_one(void *ctx, void *state, long li, int w) {
    (void)state;
    pjob *j = ctx;
    int i = (int)li;
    vs_features *f = NULL;
    char err[1200] = "";
    vs_status s = j->ex ? vs_extract_video(j->st[w], j->files[i], &f) : vs_features_load(&f, j->files[i]);
    int dim = s ? 0 : f->D;
    if (!s && f->D != j->acc->d) {
        s = VS_ERR_FORMAT;
        snprintf(err, sizeof err, "%s: D=%d, expected raw vectors of %d dims (use extract --raw)", j->files[i],
                 f->D, j->acc->d);
    } else if (s) {
        snprintf(err, sizeof err, "%s", vs_last_error());
    }
    pthread_mutex_lock(&j->mu);
    if (!s) {
        vs_pca_acc_add(j->acc, f->data, (long)f->T * f->R);
        j->n_ok++;
    }
    j->done++;
    vs_batch_item it = {.i = i, .done = j->done, .total = j->n, .status = s, .error = err,
                        .n_frames = f ? f->T : 0, .dim = dim};
    p_tell(j, &it);
    pthread_mutex_unlock(&j->mu);
    vs_features_free(f);
    return VS_OK; /* a failed file is skipped; the others go on */
}

vs_status vs_pca_acc_add_files(vs_pca_acc *acc, const vs_extractor *ex, const char *const *files, int n,
                               const vs_batch_params *bp, int *n_ok) {
    vs_batch_params dp = vs_batch_default_params();
    if (!bp) bp = &dp;
    if (n_ok) *n_ok = 0;
    if (!acc || n < 0 || (n > 0 && !files))
        return vs__err(VS_ERR_INVALID_ARG, "vs_pca_acc_add_files: NULL accumulator or file list");
    int nw = vs__xstates_workers(bp->n_jobs, n);
    pjob j;
    memset(&j, 0, sizeof j);
    j.acc = acc;
    j.ex = ex;
    j.files = files;
    j.n = n;
    j.bp = bp;
    j.st = vs__calloc((size_t)nw, sizeof *j.st);
    if (!j.st) return vs__err(VS_ERR_NOMEM, "vs_pca_acc_add_files: out of memory for %d workers", nw);
    vs_status s;
    if (pthread_mutex_init(&j.mu, NULL) != 0) {
        s = vs__err(VS_ERR_INTERNAL, "vs_pca_acc_add_files: cannot create a mutex");
        goto out;
    }
    vs__pool_jobs pj = {.n_jobs = n, .n_threads = nw, .job = p_one, .ctx = &j, .abort_fn = bp->abort_fn,
                        .abort_user = bp->abort_user, .begin = p_begin, .end = p_end};
    s = vs__pool_run(&pj);
    pthread_mutex_destroy(&j.mu);
    if (n_ok) *n_ok = j.n_ok;
out:
    vs__free(j.st);
    return s;
}

/* ------------------------------------------------------------------ a learned map folded in */

vs_status vs_pca_fold_whiten(const char *pca_in, const vs_gvec_whiten *w, const char *out) {
    vs__tf *tf = NULL;
    vs__tfw *wr = NULL;
    float *proj = NULL;
    vs_status st = vs__tf_open(&tf, pca_in);
    if (st) return st;
    const vs__tensor *tm, *tp, *te = vs__tf_find(tf, "pca.eigenvalues");
    if ((st = vs__tf_get(tf, "pca.mean", VS_DT_F32, 1, NULL, &tm)) ||
        (st = vs__tf_get(tf, "pca.proj", VS_DT_F32, 2, NULL, &tp)))
        goto out;
    int din = (int)tp->dims[0], dout = (int)tp->dims[1], d = vs_gvec_whiten_dim(w);
    if (tm->dims[0] != din || d != dout) {
        st = vs__err(VS_ERR_INVALID_ARG, "%s: projection %dx%d, mean %lld, the map is %dx%d", pca_in, din, dout,
                     (long long)tm->dims[0], d, d);
        goto out;
    }
    if (!(proj = vs__malloc(sizeof(float) * (size_t)din * dout))) {
        st = vs__err(VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    const float *P = tp->data, *W = vs_gvec_whiten_matrix(w);
    for (int i = 0; i < din; i++) /* row i of P W, in double */
        for (int k = 0; k < dout; k++) {
            double acc = 0;
            for (int j = 0; j < dout; j++) acc += (double)P[(size_t)i * dout + j] * W[(size_t)j * dout + k];
            proj[(size_t)i * dout + k] = (float)acc;
        }
    if ((st = vs__tfw_create(&wr))) goto out;
    for (int i = 0; i < vs__tf_meta_count(tf) && !st; i++) {
        const char *k, *v;
        vs__tf_meta_at(tf, i, &k, &v);
        if (strcmp(k, "learned_whiten")) st = vs__tfw_meta(wr, k, v);
    }
    if (!st) st = vs__tfw_meta(wr, "learned_whiten", vs_gvec_whiten_id(w));
    int64_t dm[1] = {din}, dp[2] = {din, dout};
    if (!st) st = vs__tfw_add(wr, "pca.mean", VS_DT_F32, 1, dm, tm->data);
    if (!st) st = vs__tfw_add(wr, "pca.proj", VS_DT_F32, 2, dp, proj);
    if (!st && te) st = vs__tfw_add(wr, "pca.eigenvalues", VS_DT_F32, te->ndim, te->dims, te->data);
    if (!st) st = vs__tfw_save(wr, out);
out:
    vs__tfw_free(wr);
    vs__free(proj);
    vs__tf_close(tf);
    return st;
}
