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

#ifdef __cplusplus
}
#endif

#endif
