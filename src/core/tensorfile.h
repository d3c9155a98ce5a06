/*
 * tensorfile.h - vidsim's named-tensor container ("VSTF"): backbone weights,
 * similarity/hash model files, checkpoints and fixtures. One header of key/value
 * metadata and a tensor table, then 64-byte aligned data, then a checksum trailer.
 * The byte layout is in docs/formats.md. Readers map the file read-only and verify
 * magic, version, bounds and checksum before handing out any tensor.
 */
#ifndef VS_CORE_TENSORFILE_H
#define VS_CORE_TENSORFILE_H

#include "internal.h"

enum { VS_DT_F32 = 0, VS_DT_I32 = 1, VS_DT_U8 = 2, VS_DT_F64 = 3, VS_DT_I64 = 4 };
#define VS_TF_MAX_DIMS 8

typedef struct vs__tensor {
    const char *name;
    int dtype;                     /* VS_DT_* */
    int ndim;
    int64_t dims[VS_TF_MAX_DIMS];
    int64_t numel;
    const void *data;              /* points into the mapping; 64-byte aligned */
    uint64_t nbytes;
} vs__tensor;

typedef struct vs__tf vs__tf;

/* Open and verify a tensor file. */
vs_status vs__tf_open(vs__tf **out, const char *path);
void vs__tf_close(vs__tf *tf);
int vs__tf_count(const vs__tf *tf);
const vs__tensor *vs__tf_at(const vs__tf *tf, int i);
const vs__tensor *vs__tf_find(const vs__tf *tf, const char *name);
/* Metadata value for key, or NULL. */
const char *vs__tf_meta(const vs__tf *tf, const char *key);
/* Metadata iterator: the number of key/value pairs, and pair i (0 <= i < count) in file
 * order; *key and *value point into tf (valid until vs__tf_close). Returns 0, or -1
 * when i is out of range (then *key and *value are NULL).
 *     for (int i = 0; i < vs__tf_meta_count(tf); i++) { vs__tf_meta_at(tf, i, &k, &v); ... } */
int vs__tf_meta_count(const vs__tf *tf);
int vs__tf_meta_at(const vs__tf *tf, int i, const char **key, const char **value);
const char *vs__tf_path(const vs__tf *tf);
/* Find a tensor and check its dtype and shape (ndim dims; -1 = any). */
vs_status vs__tf_get(const vs__tf *tf, const char *name, int dtype, int ndim,
                     const int64_t *dims, const vs__tensor **out);

/* Writer: collect tensors (copied) and metadata, then save atomically. */
typedef struct vs__tfw vs__tfw;
vs_status vs__tfw_create(vs__tfw **out);
void vs__tfw_free(vs__tfw *w);
vs_status vs__tfw_meta(vs__tfw *w, const char *key, const char *value);
vs_status vs__tfw_add(vs__tfw *w, const char *name, int dtype, int ndim, const int64_t *dims,
                      const void *data);
vs_status vs__tfw_save(vs__tfw *w, const char *path);

size_t vs__dtype_size(int dtype);

#endif
