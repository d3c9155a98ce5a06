/*
 * table.c - the two hash tables of the evaluation code: a string interner (ids of
 * videos) and a map from (query id, ref id) pairs to an int32 slot. Open
 * addressing with linear probing, grown at half load. Not thread-safe for writes.
 */
#include "eval/eval_internal.h"

#include <string.h>

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t str_hash(const char *s) { return vs__fnv1a(VS__FNV_INIT, s, strlen(s)); }

void vs__strtab_free(vs__strtab *t) {
    for (size_t i = 0; i < t->n; i++) vs__free(t->strs[i]);
    vs__free(t->strs);
    vs__free(t->slots);
    memset(t, 0, sizeof *t);
}

int32_t vs__strtab_find(const vs__strtab *t, const char *s) {
    if (!t->n_slots) return -1;
    size_t mask = t->n_slots - 1;
    for (size_t i = str_hash(s) & mask;; i = (i + 1) & mask) {
        int32_t id = t->slots[i];
        if (id < 0) return -1;
        if (strcmp(t->strs[id], s) == 0) return id;
    }
}

static vs_status strtab_grow(vs__strtab *t) {
    size_t ns = t->n_slots ? 2 * t->n_slots : 64;
    int32_t *slots = vs__malloc(ns * sizeof *slots);
    if (!slots) return vs__err(VS_ERR_NOMEM, "out of memory (id table)");
    memset(slots, 0xff, ns * sizeof *slots);
    for (size_t k = 0; k < t->n; k++) {
        size_t i = str_hash(t->strs[k]) & (ns - 1);
        while (slots[i] >= 0) i = (i + 1) & (ns - 1);
        slots[i] = (int32_t)k;
    }
    vs__free(t->slots);
    t->slots = slots;
    t->n_slots = ns;
    return VS_OK;
}

vs_status vs__strtab_intern(vs__strtab *t, const char *s, int32_t *id) {
    int32_t f = vs__strtab_find(t, s);
    if (f >= 0) {
        *id = f;
        return VS_OK;
    }
    if (t->n >= INT32_MAX - 1) return vs__err(VS_ERR_UNSUPPORTED, "more than 2^31 distinct ids");
    if (2 * (t->n + 1) > t->n_slots) {
        vs_status st = strtab_grow(t);
        if (st != VS_OK) return st;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 64;
        char **ns = vs__realloc(t->strs, nc * sizeof *ns);
        if (!ns) return vs__err(VS_ERR_NOMEM, "out of memory (id table)");
        t->strs = ns;
        t->cap = nc;
    }
    char *copy = vs__strdup(s);
    if (!copy) return vs__err(VS_ERR_NOMEM, "out of memory (id table)");
    size_t mask = t->n_slots - 1, i = str_hash(s) & mask;
    while (t->slots[i] >= 0) i = (i + 1) & mask;
    t->slots[i] = (int32_t)t->n;
    t->strs[t->n] = copy;
    *id = (int32_t)t->n++;
    return VS_OK;
}

static uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

void vs__pairmap_free(vs__pairmap *m) {
    vs__free(m->keys);
    vs__free(m->vals);
    memset(m, 0, sizeof *m);
}

int32_t vs__pairmap_get(const vs__pairmap *m, int32_t a, int32_t b) {
    if (!m->n_slots) return -1;
    uint64_t k = pair_key(a, b);
    size_t mask = m->n_slots - 1;
    for (size_t i = mix64(k) & mask;; i = (i + 1) & mask) {
        if (m->vals[i] < 0) return -1;
        if (m->keys[i] == k) return m->vals[i];
    }
}

static vs_status pairmap_grow(vs__pairmap *m) {
    size_t ns = m->n_slots ? 2 * m->n_slots : 64;
    uint64_t *keys = vs__malloc(ns * sizeof *keys);
    int32_t *vals = vs__malloc(ns * sizeof *vals);
    if (!keys || !vals) {
        vs__free(keys);
        vs__free(vals);
        return vs__err(VS_ERR_NOMEM, "out of memory (pair table)");
    }
    memset(vals, 0xff, ns * sizeof *vals);
    for (size_t j = 0; j < m->n_slots; j++) {
        if (m->vals[j] < 0) continue;
        size_t i = mix64(m->keys[j]) & (ns - 1);
        while (vals[i] >= 0) i = (i + 1) & (ns - 1);
        keys[i] = m->keys[j];
        vals[i] = m->vals[j];
    }
    vs__free(m->keys);
    vs__free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->n_slots = ns;
    return VS_OK;
}

vs_status vs__pairmap_put(vs__pairmap *m, int32_t a, int32_t b, int32_t v, int32_t *existing) {
    int32_t old = vs__pairmap_get(m, a, b);
    if (existing) *existing = old;
    if (old >= 0) return VS_OK;
    if (2 * (m->n + 1) > m->n_slots) {
        vs_status st = pairmap_grow(m);
        if (st != VS_OK) return st;
    }
    uint64_t k = pair_key(a, b);
    size_t mask = m->n_slots - 1, i = mix64(k) & mask;
    while (m->vals[i] >= 0) i = (i + 1) & mask;
    m->keys[i] = k;
    m->vals[i] = v;
    m->n++;
    return VS_OK;
}
