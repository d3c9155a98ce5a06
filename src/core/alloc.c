/*
 * alloc.c - every heap allocation of the library goes through here, so that users
 * can install their own allocator and tests can inject failures (fail the n-th
 * allocation) to prove that every error path frees what it took.
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static vs_allocator g_alloc;
static atomic_long g_fail_after; /* 0: off; n: the n-th allocation from now fails */

void vs_alloc_set(const vs_allocator *a) {
    if (a) g_alloc = *a;
    else memset(&g_alloc, 0, sizeof g_alloc);
}

void vs_alloc_fail_after(long n) { atomic_store(&g_fail_after, n); }

static int inject_failure(void) {
    long v = atomic_load(&g_fail_after);
    if (v <= 0) return 0;
    v = atomic_fetch_sub(&g_fail_after, 1);
    return v == 1;
}

void *vs__malloc(size_t n) {
    if (inject_failure()) return NULL;
    if (n == 0) n = 1;
    return g_alloc.malloc_fn ? g_alloc.malloc_fn(n, g_alloc.user) : malloc(n);
}

void *vs__calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = vs__malloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void *vs__realloc(void *p, size_t n) {
    if (inject_failure()) return NULL;
    if (n == 0) n = 1;
    return g_alloc.realloc_fn ? g_alloc.realloc_fn(p, n, g_alloc.user) : realloc(p, n);
}

void vs__free(void *p) {
    if (!p) return;
    if (g_alloc.free_fn) g_alloc.free_fn(p, g_alloc.user);
    else free(p);
}

char *vs__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = vs__malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Aligned blocks store the original pointer just below the aligned address. */
void *vs__malloc_aligned(size_t n) {
    unsigned char *raw = vs__malloc(n + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t a = ((uintptr_t)(raw + sizeof(void *)) + 63) & ~(uintptr_t)63;
    ((void **)a)[-1] = raw;
    return (void *)a;
}

void vs__free_aligned(void *p) {
    if (p) vs__free(((void **)p)[-1]);
}

/* Public: free a buffer the library allocated for the caller. */
void vs_free(void *p) { vs__free(p); }
