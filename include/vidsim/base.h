/*
 * base.h - what every vidsim module header stands on: version, status codes, the
 * per-thread error message, log and allocator hooks, vs_free, the BLAS thread count,
 * the abort and progress callback types. Module headers include this one (never the
 * umbrella vidsim/vidsim.h, so that no header includes itself in a circle);
 * applications usually include vidsim/vidsim.h.
 *
 * vidsim finds near-duplicate and copied videos. Every call returns a vs_status;
 * on failure vs_last_error() gives a message that names the input and the reason.
 *
 * Thread safety: every function may be called from any thread. vs_last_error() is
 * thread-local. vs_log_set(), vs_alloc_set() and vs_blas_set_threads() must be called
 * before any other call. Who starts threads, and how many BLAS and OpenMP use:
 * docs/threading.md.
 *
 * Example:
 *     vs_status st = vs_some_call(...);
 *     if (st != VS_OK) fprintf(stderr, "error: %s\n", vs_last_error());
 */
#ifndef VIDSIM_BASE_H
#define VIDSIM_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define VS_API __declspec(dllexport)
#else
#define VS_API __attribute__((visibility("default")))
#endif

#define VS_VERSION_MAJOR 0
#define VS_VERSION_MINOR 1
#define VS_VERSION_PATCH 0

/* Status codes. Callers must tolerate codes added later. */
typedef enum {
    VS_OK = 0,
    VS_ERR_NOMEM = -1,       /* an allocation failed */
    VS_ERR_IO = -2,          /* a file could not be opened, read or written */
    VS_ERR_FORMAT = -3,      /* a file is corrupt, truncated or of the wrong kind */
    VS_ERR_UNSUPPORTED = -4, /* feature not built in, or input kind not supported */
    VS_ERR_INVALID_ARG = -5, /* API misuse: bad argument */
    VS_ERR_DECODE = -6,      /* the video could not be decoded */
    VS_ERR_CUDA = -7,        /* GPU backend failure */
    VS_ERR_ABORTED = -8,     /* the abort callback asked to stop */
    VS_ERR_INTERNAL = -9     /* an internal invariant failed (a bug) */
} vs_status;

/* "0.1.0"; static string. */
VS_API const char *vs_version(void);

/* Static one-line description of a status code. */
VS_API const char *vs_strerror(vs_status st);

/* Detail of the last failure on this thread ("" if none). Valid until the next
 * vidsim call on this thread. */
VS_API const char *vs_last_error(void);

/* Log levels and hook. The default hook is silent: the library never prints. */
enum { VS_LOG_ERROR = 0, VS_LOG_WARN = 1, VS_LOG_INFO = 2, VS_LOG_DEBUG = 3 };
typedef void (*vs_log_fn)(int level, const char *msg, void *user);
VS_API void vs_log_set(vs_log_fn fn, void *user);

/* Allocator hooks (set before any other call). NULL restores the libc allocator. */
typedef struct vs_allocator {
    void *(*malloc_fn)(size_t n, void *user);
    void *(*realloc_fn)(void *p, size_t n, void *user);
    void (*free_fn)(void *p, void *user);
    void *user;
} vs_allocator;
VS_API void vs_alloc_set(const vs_allocator *a);

/* Test hook: make the n-th allocation from now fail (n >= 1); 0 disables. */
VS_API void vs_alloc_fail_after(long n);

/* Free memory that a vidsim call handed to the caller with "free with vs_free" (for
 * example the frames of vs_decode_all). NULL is a no-op. */
VS_API void vs_free(void *p);

/* Write data [len] to path atomically and durably: a temporary file beside it, fsync,
 * rename over path, fsync of the folder. A reader sees the old file or the whole new
 * one, never a part; on failure path is untouched (or, when only the folder's sync
 * failed, holds the new file: the message says so). VS_ERR_IO names path and why. */
VS_API vs_status vs_write_file_atomic(const char *path, const void *data, size_t len);

/* The BLAS (OpenBLAS) thread count for the whole process, n >= 1 (smaller counts as
 * 1). Optional; call once at startup, before any other call and before starting
 * threads. Without it the library leaves OpenBLAS at its default until one of its
 * own pools of BLAS-calling workers is created (a backbone state on the OpenBLAS
 * engine, a similarity-model state or training step with n_threads > 1), which puts
 * it at 1 once; the library
 * never sets it back or switches it around a call (docs/threading.md). */
VS_API void vs_blas_set_threads(int n);

/* Abort callback for long calls: return true to stop; the call returns VS_ERR_ABORTED. */
typedef bool (*vs_abort_fn)(void *user);

/* Progress callback for long calls: done and total in the call's unit. */
typedef void (*vs_progress_fn)(double done, double total, void *user);

/* Number formats: of the backbone's convolutions (vs_extract_params.precision,
 * backbone.h) and of the similarity model's frame-to-frame products
 * (vs_simmodel_params.precision, simmodel.h). */
enum { VS_PRECISION_FP32 = 0, VS_PRECISION_INT8 = 1, VS_PRECISION_BF16 = 2 };

#ifdef __cplusplus
}
#endif

#endif /* VIDSIM_BASE_H */
