/*
 * status.c - status strings, the thread-local last-error message, log hook, version.
 * The library never prints; messages reach the user through vs_last_error() and
 * the optional log callback.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char tl_msg[2048];
static vs_log_fn g_log_fn;
static void *g_log_user;

const char *vs_version(void) { return "0.1.0"; }

const char *vs_strerror(vs_status st) {
    switch (st) {
    case VS_OK: return "ok";
    case VS_ERR_NOMEM: return "out of memory";
    case VS_ERR_IO: return "input/output error";
    case VS_ERR_FORMAT: return "bad or corrupt file";
    case VS_ERR_UNSUPPORTED: return "unsupported";
    case VS_ERR_INVALID_ARG: return "invalid argument";
    case VS_ERR_DECODE: return "video decode error";
    case VS_ERR_CUDA: return "GPU error";
    case VS_ERR_ABORTED: return "aborted";
    case VS_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *vs_last_error(void) { return tl_msg; }

void vs__err_clear(void) { tl_msg[0] = 0; }

vs_status vs__err(vs_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
    va_end(ap);
    return code;
}

vs_status vs__err_prefix(vs_status code, const char *fmt, ...) {
    char pre[1024], old[sizeof tl_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, tl_msg, sizeof old);
    if (old[0])
        snprintf(tl_msg, sizeof tl_msg, "%.1000s: %.1000s", pre, old);
    else
        snprintf(tl_msg, sizeof tl_msg, "%.1000s: %s", pre, vs_strerror(code));
    return code;
}

void vs__assert_fail(const char *expr, const char *file, int line) {
    /* An internal invariant failed: a bug in vidsim, never bad input. */
    fprintf(stderr, "vidsim: internal assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

void vs_log_set(vs_log_fn fn, void *user) {
    g_log_fn = fn;
    g_log_user = user;
}

void vs__log(int level, const char *fmt, ...) {
    if (!g_log_fn) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g_log_fn(level, buf, g_log_user);
}

uint64_t vs__fnv1a(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

double vs__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
