/*
 * quant.h - compressed region features: codecs that turn D-dimensional unit region
 * vectors into a few bytes each and back. Two codecs:
 *   "pqM"  product quantisation: the vector is cut into M sub-vectors of D/M dims,
 *          each replaced by the index (one byte) of its nearest of 256 centroids
 *          learnt by k-means on a sample of the collection's own features (no labels).
 *          M bytes per vector; "pq64" (64 B for D=256) is the index default.
 *   "int8" one float32 scale (max |x| / 127) and D int8 values: D+4 bytes, near-lossless.
 * Decoded vectors are L2-normalised again (the features are unit vectors).
 * A codebook is tied to the features' model id and saved as a VSTF file (atomic,
 * checksummed; docs/formats.md "Codebook"); its id (16 hex digits, a hash of the codec
 * and its centroids) is written into every feature file encoded with it.
 *
 * Thread safety: a vs_quant is read-only after train/load and may be shared.
 *
 * Example:
 *     vs_quant *q;
 *     vs_quant_params p = vs_quant_default_params();
 *     vs_quant_train(&q, "pq64", x, n, 256, "inception_v3/224/pca256/df694736", &p);
 *     uint8_t *codes = malloc(n * vs_quant_code_size(q));
 *     vs_quant_encode(q, x, n, codes);
 *     vs_quant_decode(q, codes, n, y);          // y [n, 256] unit vectors
 *     vs_quant_save(q, "codebook.vstf"); vs_quant_free(q);
 */
#ifndef VIDSIM_QUANT_H
#define VIDSIM_QUANT_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_QUANT_DEFAULT_CODEC "pq64"

typedef struct vs_quant vs_quant;

typedef struct vs_quant_params {
    int iters;            /* k-means iterations per sub-space (default 25) */
    long max_train;       /* at most this many vectors are used, a deterministic sample (default 32768) */
    uint64_t seed;        /* sample and initial centroids (default 1) */
} vs_quant_params;

VS_API vs_quant_params vs_quant_default_params(void);

/* Check a codec name for vectors of dim dimensions: "int8", or "pqM" with M dividing
 * dim (and 1 <= M <= dim). *code_size (may be NULL) gets the bytes per vector.
 * VS_ERR_INVALID_ARG naming the codec otherwise. */
VS_API vs_status vs_quant_check_codec(const char *codec, int dim, int *code_size);

/* Learn a codebook for codec from x [n, dim] (borrowed; n >= 1). model_id: the
 * features' model id, stored with the codebook. int8 needs no training data (x may be
 * NULL, n 0). PQ with fewer than 256 distinct training vectors per sub-space keeps
 * duplicate centroids (valid, just wasteful). On failure *out is NULL. */
VS_API vs_status vs_quant_train(vs_quant **out, const char *codec, const float *x, long n, int dim,
                                const char *model_id, const vs_quant_params *p);
VS_API void vs_quant_free(vs_quant *q); /* NULL ok */

/* Save atomically as a VSTF file (kind=vidsim-codebook). */
VS_API vs_status vs_quant_save(const vs_quant *q, const char *path);
/* Load and check (magic, checksum, kind, codec, shapes, that the stored id matches the
 * content). VS_ERR_FORMAT naming the file otherwise. */
VS_API vs_status vs_quant_load(vs_quant **out, const char *path);

VS_API const char *vs_quant_codec(const vs_quant *q);    /* "pq64", "int8" */
VS_API const char *vs_quant_id(const vs_quant *q);       /* 16 lower-case hex digits */
VS_API const char *vs_quant_model_id(const vs_quant *q); /* the features' model id */
VS_API int vs_quant_dim(const vs_quant *q);
VS_API int vs_quant_code_size(const vs_quant *q);        /* bytes per vector */

/* Encode x [n, dim] into codes [n, code_size]. */
VS_API void vs_quant_encode(const vs_quant *q, const float *x, long n, uint8_t *codes);
/* Decode codes [n, code_size] into x [n, dim], each row L2-normalised. */
VS_API void vs_quant_decode(const vs_quant *q, const uint8_t *codes, long n, float *x);
/* Plain reference versions of both (straightforward loops; the tests check the fast
 * ones against them). */
VS_API void vs_quant_encode_ref(const vs_quant *q, const float *x, long n, uint8_t *codes);
VS_API void vs_quant_decode_ref(const vs_quant *q, const uint8_t *codes, long n, float *x);

#ifdef __cplusplus
}
#endif

#endif
