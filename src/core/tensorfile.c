/*
 * tensorfile.c - reader and writer of the VSTF named-tensor container (see
 * tensorfile.h and docs/formats.md). The reader never trusts the file: every
 * length and offset is bounds-checked, and the FNV-1a trailer must match.
 */
#define _POSIX_C_SOURCE 200809L
#include "tensorfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TF_MAGIC "VIDSIMTF"
#define TF_END "VSTFEND1"
#define TF_VERSION 1u

struct vs__tf {
    char *path;
    unsigned char *map;
    size_t size;
    int n_meta;
    char **meta_k, **meta_v;
    int n;
    vs__tensor *t;
};

size_t vs__dtype_size(int dtype) {
    switch (dtype) {
    case VS_DT_F32: case VS_DT_I32: return 4;
    case VS_DT_U8: return 1;
    case VS_DT_F64: case VS_DT_I64: return 8;
    }
    return 0;
}

typedef struct { const unsigned char *p; size_t n, off; int bad; } rd;

static uint32_t rd_u32(rd *r) {
    uint32_t v = 0;
    if (r->off + 4 > r->n) { r->bad = 1; return 0; }
    memcpy(&v, r->p + r->off, 4);
    r->off += 4;
    return v;
}
static uint64_t rd_u64(rd *r) {
    uint64_t v = 0;
    if (r->off + 8 > r->n) { r->bad = 1; return 0; }
    memcpy(&v, r->p + r->off, 8);
    r->off += 8;
    return v;
}
static char *rd_str(rd *r) {
    uint32_t len = rd_u32(r);
    if (r->bad || len > 65536 || r->off + len > r->n) { r->bad = 1; return NULL; }
    char *s = vs__malloc(len + 1);
    if (!s) { r->bad = 2; return NULL; }
    memcpy(s, r->p + r->off, len);
    s[len] = 0;
    r->off += len;
    return s;
}

void vs__tf_close(vs__tf *tf) {
    if (!tf) return;
    for (int i = 0; i < tf->n_meta; i++) {
        vs__free(tf->meta_k ? tf->meta_k[i] : NULL);
        vs__free(tf->meta_v ? tf->meta_v[i] : NULL);
    }
    vs__free(tf->meta_k);
    vs__free(tf->meta_v);
    for (int i = 0; i < tf->n; i++) vs__free((void *)tf->t[i].name);
    vs__free(tf->t);
    if (tf->map) munmap(tf->map, tf->size);
    vs__free(tf->path);
    vs__free(tf);
}

vs_status vs__tf_open(vs__tf **out, const char *path) {
    *out = NULL;
    vs_status st = VS_OK;
    vs__tf *tf = vs__calloc(1, sizeof *tf);
    if (!tf || !(tf->path = vs__strdup(path))) {
        vs__free(tf);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    int fd;
    uint64_t fsize;
    if ((st = vs__open_regular(path, &fd, &fsize, NULL))) goto fail;
    tf->size = (size_t)fsize;
    if (tf->size < 56) {
        close(fd);
        st = vs__err(VS_ERR_FORMAT, "%s: not a vidsim tensor file (%zu bytes, too short)", path,
                     tf->size);
        goto fail;
    }
    tf->map = mmap(NULL, tf->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (tf->map == MAP_FAILED) {
        tf->map = NULL;
        st = vs__err(VS_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        goto fail;
    }
    if (memcmp(tf->map, TF_MAGIC, 8) != 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: not a vidsim tensor file (bad magic)", path);
        goto fail;
    }
    if (memcmp(tf->map + tf->size - 8, TF_END, 8) != 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: truncated tensor file (no end marker)", path);
        goto fail;
    }
    uint64_t want;
    memcpy(&want, tf->map + tf->size - 16, 8);
    uint64_t got = vs__fnv1a(VS__FNV_INIT, tf->map, tf->size - 16);
    if (got != want) {
        st = vs__err(VS_ERR_FORMAT, "%s: checksum mismatch (file is corrupt)", path);
        goto fail;
    }
    rd r = {tf->map, tf->size - 16, 8, 0};
    uint32_t ver = rd_u32(&r);
    if (ver != TF_VERSION) {
        st = vs__err(VS_ERR_FORMAT, "%s: tensor file version %u, this build reads %u", path, ver,
                     TF_VERSION);
        goto fail;
    }
    uint32_t n_meta = rd_u32(&r), n_t = rd_u32(&r);
    (void)rd_u32(&r);
    uint64_t data_off = rd_u64(&r), data_size = rd_u64(&r);
    if (r.bad || n_meta > 100000 || n_t > 1000000 || data_off > r.n || data_size > r.n - data_off ||
        data_off % 64) {
        st = vs__err(VS_ERR_FORMAT, "%s: corrupt tensor file header", path);
        goto fail;
    }
    tf->meta_k = vs__calloc(n_meta + 1, sizeof(char *));
    tf->meta_v = vs__calloc(n_meta + 1, sizeof(char *));
    tf->t = vs__calloc(n_t + 1, sizeof(vs__tensor));
    if (!tf->meta_k || !tf->meta_v || !tf->t) {
        st = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (uint32_t i = 0; i < n_meta; i++) {
        tf->meta_k[i] = rd_str(&r);
        if (!r.bad) tf->meta_v[i] = rd_str(&r);
        tf->n_meta = (int)i + 1;
        if (r.bad) break;
    }
    for (uint32_t i = 0; i < n_t && !r.bad; i++) {
        vs__tensor *t = &tf->t[i];
        t->name = rd_str(&r);
        tf->n = (int)i + 1;
        if (r.bad) break;
        t->dtype = (int)rd_u32(&r);
        t->ndim = (int)rd_u32(&r);
        if (r.bad || t->ndim > VS_TF_MAX_DIMS || vs__dtype_size(t->dtype) == 0) { r.bad = 1; break; }
        t->numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            t->dims[d] = (int64_t)rd_u64(&r);
            if (t->dims[d] < 0 || (t->dims[d] && t->numel > INT64_MAX / t->dims[d])) r.bad = 1;
            else t->numel *= t->dims[d];
        }
        uint64_t off = rd_u64(&r), nb = rd_u64(&r);
        if (r.bad) break;
        /* offsets must be 64-byte aligned (docs/formats.md): data is used in place */
        if (nb != (uint64_t)t->numel * vs__dtype_size(t->dtype) || off > data_size ||
            nb > data_size - off || off % 64) {
            r.bad = 1;
            break;
        }
        t->data = tf->map + data_off + off;
        t->nbytes = nb;
    }
    if (r.bad) {
        st = r.bad == 2 ? vs__err(VS_ERR_NOMEM, "%s: out of memory", path)
                        : vs__err(VS_ERR_FORMAT, "%s: corrupt tensor table", path);
        goto fail;
    }
    *out = tf;
    return VS_OK;
fail:
    vs__tf_close(tf);
    return st;
}

int vs__tf_count(const vs__tf *tf) { return tf->n; }
const vs__tensor *vs__tf_at(const vs__tf *tf, int i) { return &tf->t[i]; }
const char *vs__tf_path(const vs__tf *tf) { return tf->path; }

const vs__tensor *vs__tf_find(const vs__tf *tf, const char *name) {
    for (int i = 0; i < tf->n; i++)
        if (strcmp(tf->t[i].name, name) == 0) return &tf->t[i];
    return NULL;
}

int vs__tf_meta_count(const vs__tf *tf) { return tf->n_meta; }

int vs__tf_meta_at(const vs__tf *tf, int i, const char **key, const char **value) {
    if (i < 0 || i >= tf->n_meta) {
        *key = *value = NULL;
        return -1;
    }
    *key = tf->meta_k[i];
    *value = tf->meta_v[i];
    return 0;
}

const char *vs__tf_meta(const vs__tf *tf, const char *key) {
    for (int i = 0; i < tf->n_meta; i++)
        if (strcmp(tf->meta_k[i], key) == 0) return tf->meta_v[i];
    return NULL;
}

vs_status vs__tf_get(const vs__tf *tf, const char *name, int dtype, int ndim,
                     const int64_t *dims, const vs__tensor **out) {
    const vs__tensor *t = vs__tf_find(tf, name);
    *out = NULL;
    if (!t) return vs__err(VS_ERR_FORMAT, "%s: tensor '%s' missing", tf->path, name);
    if (t->dtype != dtype)
        return vs__err(VS_ERR_FORMAT, "%s: tensor '%s' has dtype %d, expected %d", tf->path, name,
                       t->dtype, dtype);
    if (ndim >= 0) {
        int ok = t->ndim == ndim;
        for (int d = 0; ok && d < ndim; d++)
            if (dims && dims[d] >= 0 && dims[d] != t->dims[d]) ok = 0;
        if (!ok) {
            char have[128] = "", wantb[128] = "";
            size_t o = 0;
            for (int d = 0; d < t->ndim && o < sizeof have - 24; d++)
                o += snprintf(have + o, sizeof have - o, "%s%lld", d ? "x" : "", (long long)t->dims[d]);
            o = 0;
            for (int d = 0; d < ndim && o < sizeof wantb - 24; d++)
                o += snprintf(wantb + o, sizeof wantb - o, "%s%lld", d ? "x" : "",
                              dims ? (long long)dims[d] : -1LL);
            return vs__err(VS_ERR_FORMAT, "%s: tensor '%s' has shape [%s], expected [%s]",
                           tf->path, name, have, wantb);
        }
    }
    *out = t;
    return VS_OK;
}

/* ------------------------------------------------------------------ writer */

typedef struct { char *name; int dtype, ndim; int64_t dims[VS_TF_MAX_DIMS]; void *data; uint64_t nb; } wt;

struct vs__tfw {
    int n_meta, cap_meta;
    char **mk, **mv;
    int n, cap;
    wt *t;
};

vs_status vs__tfw_create(vs__tfw **out) {
    *out = vs__calloc(1, sizeof(vs__tfw));
    return *out ? VS_OK : vs__err(VS_ERR_NOMEM, "tensor writer: out of memory");
}

void vs__tfw_free(vs__tfw *w) {
    if (!w) return;
    for (int i = 0; i < w->n_meta; i++) { vs__free(w->mk[i]); vs__free(w->mv[i]); }
    for (int i = 0; i < w->n; i++) { vs__free(w->t[i].name); vs__free(w->t[i].data); }
    vs__free(w->mk);
    vs__free(w->mv);
    vs__free(w->t);
    vs__free(w);
}

vs_status vs__tfw_meta(vs__tfw *w, const char *key, const char *value) {
    if (w->n_meta == w->cap_meta) {
        int cap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **k = vs__realloc(w->mk, cap * sizeof(char *));
        if (!k) return vs__err(VS_ERR_NOMEM, "tensor writer: out of memory");
        w->mk = k;
        char **v = vs__realloc(w->mv, cap * sizeof(char *));
        if (!v) return vs__err(VS_ERR_NOMEM, "tensor writer: out of memory");
        w->mv = v;
        w->cap_meta = cap;
    }
    char *k = vs__strdup(key), *v = vs__strdup(value);
    if (!k || !v) {
        vs__free(k);
        vs__free(v);
        return vs__err(VS_ERR_NOMEM, "tensor writer: out of memory");
    }
    w->mk[w->n_meta] = k;
    w->mv[w->n_meta++] = v;
    return VS_OK;
}

vs_status vs__tfw_add(vs__tfw *w, const char *name, int dtype, int ndim, const int64_t *dims,
                      const void *data) {
    if (ndim < 0 || ndim > VS_TF_MAX_DIMS || !vs__dtype_size(dtype))
        return vs__err(VS_ERR_INVALID_ARG, "tensor '%s': bad dtype or rank", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        wt *t = vs__realloc(w->t, cap * sizeof(wt));
        if (!t) return vs__err(VS_ERR_NOMEM, "tensor writer: out of memory");
        w->t = t;
        w->cap = cap;
    }
    wt *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    uint64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        t->dims[d] = dims[d];
        numel *= (uint64_t)dims[d];
    }
    t->nb = numel * vs__dtype_size(dtype);
    t->name = vs__strdup(name);
    t->data = vs__malloc(t->nb);
    if (!t->name || !t->data) {
        vs__free(t->name);
        vs__free(t->data);
        return vs__err(VS_ERR_NOMEM, "tensor '%s': out of memory", name);
    }
    if (t->nb) memcpy(t->data, data, t->nb);
    t->dtype = dtype;
    t->ndim = ndim;
    w->n++;
    return VS_OK;
}

typedef struct { vs__afile *a; uint64_t h; vs_status st; } ww;

static void ww_put(ww *x, const void *p, size_t n) {
    if (x->st) return;
    x->h = vs__fnv1a(x->h, p, n);
    x->st = vs__afile_write(x->a, p, n);
}
static void ww_u32(ww *x, uint32_t v) { ww_put(x, &v, 4); }
static void ww_u64(ww *x, uint64_t v) { ww_put(x, &v, 8); }
static void ww_str(ww *x, const char *s) {
    uint32_t n = (uint32_t)strlen(s);
    ww_u32(x, n);
    ww_put(x, s, n);
}

vs_status vs__tfw_save(vs__tfw *w, const char *path) {
    /* header size first, to place the data section */
    uint64_t hdr = 40;
    for (int i = 0; i < w->n_meta; i++) hdr += 8 + strlen(w->mk[i]) + strlen(w->mv[i]);
    for (int i = 0; i < w->n; i++) hdr += 4 + strlen(w->t[i].name) + 8 + 8 * w->t[i].ndim + 16;
    uint64_t data_off = (hdr + 63) & ~63ULL, data_size = 0;
    uint64_t *offs = vs__calloc(w->n + 1, sizeof(uint64_t));
    if (!offs) return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < w->n; i++) {
        offs[i] = data_size;
        data_size = (data_size + w->t[i].nb + 63) & ~63ULL;
    }
    vs__afile a;
    vs_status st = vs__afile_open(&a, path);
    if (st) { vs__free(offs); return st; }
    ww x = {&a, VS__FNV_INIT, VS_OK};
    static const unsigned char zeros[64];
    ww_put(&x, TF_MAGIC, 8);
    ww_u32(&x, TF_VERSION);
    ww_u32(&x, (uint32_t)w->n_meta);
    ww_u32(&x, (uint32_t)w->n);
    ww_u32(&x, 0);
    ww_u64(&x, data_off);
    ww_u64(&x, data_size);
    for (int i = 0; i < w->n_meta; i++) { ww_str(&x, w->mk[i]); ww_str(&x, w->mv[i]); }
    for (int i = 0; i < w->n; i++) {
        ww_str(&x, w->t[i].name);
        ww_u32(&x, (uint32_t)w->t[i].dtype);
        ww_u32(&x, (uint32_t)w->t[i].ndim);
        for (int d = 0; d < w->t[i].ndim; d++) ww_u64(&x, (uint64_t)w->t[i].dims[d]);
        ww_u64(&x, offs[i]);
        ww_u64(&x, w->t[i].nb);
    }
    ww_put(&x, zeros, data_off - hdr);
    uint64_t pos = 0;
    for (int i = 0; i < w->n; i++) {
        ww_put(&x, w->t[i].data, w->t[i].nb);
        pos = offs[i] + w->t[i].nb;
        uint64_t next = (pos + 63) & ~63ULL;
        ww_put(&x, zeros, next - pos);
    }
    vs__free(offs);
    uint64_t h = x.h;
    if (!x.st) x.st = vs__afile_write(&a, &h, 8);
    if (!x.st) x.st = vs__afile_write(&a, TF_END, 8);
    if (x.st) { vs__afile_abort(&a); return x.st; }
    return vs__afile_commit(&a);
}
