/*
 * internal.h - private support shared by every module: error setting, allocation
 * wrappers, logging, checked file I/O, atomic writes. Never installed; tools/ must
 * not include it.
 */
#ifndef VS_CORE_INTERNAL_H
#define VS_CORE_INTERNAL_H

#include "vidsim/base.h"
#include <stdio.h>

#if defined(__GNUC__)
#define VS__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VS__PRINTF(a, b)
#endif

/* Internal invariants only (never bad input). Active unless VS_NO_ASSERT. */
#ifndef VS_NO_ASSERT
#define VS__ASSERT(x) \
    do { if (!(x)) vs__assert_fail(#x, __FILE__, __LINE__); } while (0)
#else
#define VS__ASSERT(x) ((void)0)
#endif
void vs__assert_fail(const char *expr, const char *file, int line);

/* Function multiversioning: hot loops get AVX-512 / AVX2 clones picked at load time
 * (the default build targets baseline x86-64). Off under sanitizers: the ifunc
 * resolvers run before the sanitizer runtime is up (TSan crashes there). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define VS__CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VS__CLONES
#endif

/* Set the thread-local message and return code: `return vs__err(VS_ERR_IO, "%s: ...", p);` */
vs_status vs__err(vs_status code, const char *fmt, ...) VS__PRINTF(2, 3);
/* Prefix the current message with "prefix: " (keeps the code). */
vs_status vs__err_prefix(vs_status code, const char *fmt, ...) VS__PRINTF(2, 3);
void vs__err_clear(void);

void *vs__malloc(size_t n);
void *vs__calloc(size_t n, size_t size);
void *vs__realloc(void *p, size_t n);
void vs__free(void *p);
char *vs__strdup(const char *s);
/* 64-byte aligned allocation (for SIMD/BLAS buffers); free with vs__free_aligned. */
void *vs__malloc_aligned(size_t n);
void vs__free_aligned(void *p);

void vs__log(int level, const char *fmt, ...) VS__PRINTF(2, 3);

/* Read a whole file into a new buffer (NUL-terminated past len). */
vs_status vs__read_file(const char *path, unsigned char **out, size_t *len);
/* Open path read-only; it must be a regular file. Returns its size and mtime (ns),
 * either pointer may be NULL. On failure nothing is left open and the message names
 * the file. */
vs_status vs__open_regular(const char *path, int *fd, uint64_t *size, int64_t *mtime_ns);
/* Write data atomically: path.tmp.<pid>, fsync, rename, fsync the directory. */
vs_status vs__write_file_atomic(const char *path, const void *data, size_t len);

/* Atomic writer for streamed output. */
typedef struct vs__afile {
    FILE *f;
    char *tmp_path;
    char *final_path;
    int failed;
} vs__afile;
vs_status vs__afile_open(vs__afile *a, const char *path);
vs_status vs__afile_write(vs__afile *a, const void *data, size_t len);
vs_status vs__afile_commit(vs__afile *a); /* fsync + rename; frees */
void vs__afile_abort(vs__afile *a);       /* unlink tmp; frees */

/* FNV-1a 64-bit hash, incremental. Start with VS__FNV_INIT. */
#define VS__FNV_INIT 0xcbf29ce484222325ULL
uint64_t vs__fnv1a(uint64_t h, const void *data, size_t len);

/* A library pool whose workers call BLAS is starting: unless the application chose
 * with vs_blas_set_threads(), put OpenBLAS at one thread (once, process-wide, never
 * restored). The threading policy: docs/threading.md; the code: core/blas.c. */
void vs__blas_pool_started(void);

/* Monotonic time in seconds. */
double vs__now(void);

#endif
