/*
 * ann_internal.h - the C face of the FAISS shim (faiss_shim.cc, built only with
 * VS_HAVE_FAISS): opaque index pointers and plain calls that return 0 on success or
 * copy FAISS's message into err [n_err] and return -1. ann.c turns that into a
 * vs_status. Not installed.
 */
#ifndef VS_ANN_INTERNAL_H
#define VS_ANN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void *vs__faiss_create(int d, const char *factory, char *err, size_t n_err);
void vs__faiss_free(void *ix);
int vs__faiss_is_trained(const void *ix);
int vs__faiss_train(void *ix, long n, const float *x, char *err, size_t n_err);
int vs__faiss_add(void *ix, long n, const float *x, char *err, size_t n_err);
int vs__faiss_set(void *ix, const char *params, char *err, size_t n_err);
int vs__faiss_search(const void *ix, long nq, const float *q, long k, float *scores, int64_t *ids, char *err,
                     size_t n_err);
/* Serialise into a new malloc'd buffer *buf [*len] (caller frees with free). */
int vs__faiss_serialize(const void *ix, unsigned char **buf, size_t *len, char *err, size_t n_err);
void *vs__faiss_read(const char *path, char *err, size_t n_err);
int vs__faiss_dim(const void *ix);
long vs__faiss_ntotal(const void *ix);

/* What a scan of a FAISS IVF-SQ8 inner-product index reads (IndexIVFScalarQuantizer with
 * QT_8bit codes, a flat inner-product quantizer and array inverted lists, as
 * "faiss:IVF<L>,SQ8" builds): a vector of list l is scored
 *     (by_residual ? <q, centroid_l> : 0) + sum_j q_j (vmin_j + (code_j + 0.5) / 255 vdiff_j)
 * the same formula as FAISS's own scanner. Pointers stay valid until ix is changed. */
typedef struct vs__ivfsq8 {
    const void *ix;           /* for vs__faiss_list */
    int d;
    long nlist, nprobe;
    int by_residual;
    const float *centroids;   /* [nlist, d] */
    const float *vmin, *vdiff; /* [d] each */
} vs__ivfsq8;
/* 1 and *out filled when ix is such an index (trained), else 0. */
int vs__faiss_ivfsq8(const void *ix, vs__ivfsq8 *out);
/* The codes [n, d] and ids [n] of list l; returns n. */
long vs__faiss_list(const void *ix, long l, const uint8_t **codes, const int64_t **ids);

/* sum_j w[j] * code[j] over d components (the part of an SQ8 score that depends on the code) */
typedef float (*vs__sq8dot_fn)(const uint8_t *code, const float *w, int d);
typedef struct vs__sq8_kernel {
    const char *name;   /* "faiss" (FAISS's own scanner: dot NULL), "ref", "avx2", "avx512" */
    vs__sq8dot_fn dot;
    int supported;      /* this CPU (and build) runs it */
} vs__sq8_kernel;
/* Every scan compiled in, "faiss" and the plain C reference first; *n gets the count. */
const vs__sq8_kernel *vs__sq8_kernels(int *n);
/* The scan IVF-SQ8 searches use: the fastest supported kernel unless vs__sq8_use set one. */
const vs__sq8_kernel *vs__sq8_current(void);
/* Use the named scan for every later search in the process (tests and benchmarks); NULL
 * restores the default. VS_ERR_UNSUPPORTED if this CPU cannot run it. */
int vs__sq8_use(const char *name);

#ifdef __cplusplus
}
#endif

#endif
