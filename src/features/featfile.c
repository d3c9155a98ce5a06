/*
 * featfile.c - the per-video feature file (".vsf"): a 64-byte aligned header with
 * the model id, sampling rate, shape, source identity and a checksum, then the
 * [T,R,D] float32 region features and the [T] frame times. Loaded by mapping the
 * file (copy-on-write, the file itself is never modified). Byte layout:
 * docs/formats.md. Writes are atomic. Version 2 files hold compressed codes
 * (written and decoded by the index with its codebook, src/index/cfeat.c): here only
 * their header is read; a full load refuses them, naming the file and the codebook.
 */
#define _POSIX_C_SOURCE 200809L
#include "features/featfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FF_VERSION 1u
#define FF_FIXED 156 /* bytes before the source path */
#define FF_VERSION_Q 2u /* compressed codes (src/index/cfeat.c) */
#define FF_FIXED_Q 208  /* version 2: bytes before the source path */

typedef struct { void *map; size_t size; } ff_priv;

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

uint64_t vs__ff_checksum(const unsigned char *hdr, size_t hsize, const void *data, size_t n1, const void *times,
                         size_t n2) {
    uint64_t h = vs__fnv1a(VS__FNV_INIT, hdr, VS__FF_HASH_OFF);
    h = vs__fnv1a(h, hdr + VS__FF_HASH_OFF + 8, hsize - VS__FF_HASH_OFF - 8);
    h = vs__fnv1a(h, data, n1);
    return vs__fnv1a(h, times, n2);
}

void vs__ff_put_common(unsigned char *hdr, uint32_t version, size_t hsize, uint32_t dtype, const vs_features *f,
                       size_t plen) {
    memcpy(hdr, VS__FF_MAGIC, 8);
    put32(hdr + 8, version);
    put32(hdr + 12, (uint32_t)hsize);
    put32(hdr + 16, (uint32_t)f->T);
    put32(hdr + 20, (uint32_t)f->R);
    put32(hdr + 24, (uint32_t)f->D);
    put32(hdr + 28, dtype);
    memcpy(hdr + 32, &f->fps, 8);
    memcpy(hdr + 40, &f->duration, 8);
    put64(hdr + 48, f->source_size);
    put64(hdr + 56, (uint64_t)f->source_mtime);
    put64(hdr + 64, f->source_hash);
    put64(hdr + 80, (uint64_t)f->n_damaged);
    memcpy(hdr + 88, f->model_id, strnlen(f->model_id, 63));
    put32(hdr + 152, (uint32_t)plen);
}

void vs__ff_get_common(vs_features *f, const unsigned char *m) {
    memcpy(&f->fps, m + 32, 8);
    memcpy(&f->duration, m + 40, 8);
    f->source_size = get64(m + 48);
    f->source_mtime = (int64_t)get64(m + 56);
    f->source_hash = get64(m + 64);
    f->n_damaged = (long)get64(m + 80);
    memcpy(f->model_id, m + 88, 63);
    f->model_id[63] = 0;
}

vs_status vs_features_save(const vs_features *f, const char *path) {
    if (!f || f->T <= 0 || f->R <= 0 || f->D <= 0)
        return vs__err(VS_ERR_INVALID_ARG, "%s: refusing to save empty features", path);
    const char *src = f->source ? f->source : "";
    size_t plen = strlen(src);
    size_t hdr_size = (FF_FIXED + plen + 63) & ~(size_t)63;
    unsigned char *hdr = vs__calloc(1, hdr_size);
    if (!hdr) return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    vs__ff_put_common(hdr, FF_VERSION, hdr_size, 0, f, plen);
    memcpy(hdr + FF_FIXED, src, plen);
    size_t n1 = (size_t)f->T * f->R * f->D * sizeof(float), n2 = (size_t)f->T * sizeof(float);
    put64(hdr + VS__FF_HASH_OFF, vs__ff_checksum(hdr, hdr_size, f->data, n1, f->times, n2));
    vs__afile a;
    vs_status st = vs__afile_open(&a, path);
    if (!st) st = vs__afile_write(&a, hdr, hdr_size);
    if (!st) st = vs__afile_write(&a, f->data, n1);
    if (!st) st = vs__afile_write(&a, f->times, n2);
    vs__free(hdr);
    if (st) {
        if (a.f) vs__afile_abort(&a);
        return st;
    }
    return vs__afile_commit(&a);
}

void vs_features_free(vs_features *f) {
    if (!f) return;
    ff_priv *p = f->priv_;
    if (p && p->map) munmap(p->map, p->size);
    else {
        vs__free(f->data);
        vs__free(f->times);
    }
    vs__free(p);
    vs__free(f->source);
    vs__free(f);
}

static vs_status load(vs_features **out, const char *path, int header_only) {
    *out = NULL;
    vs_status st = VS_OK;
    int fd;
    uint64_t fsize;
    vs_status os = vs__open_regular(path, &fd, &fsize, NULL);
    if (os) return os;
    size_t size = (size_t)fsize;
    if (size < FF_FIXED) { /* the smallest valid file (T=R=D=1, short path) has 200 bytes */
        close(fd);
        return vs__err(VS_ERR_FORMAT, "%s: not a vidsim feature file (%zu bytes)", path, size);
    }
    unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return vs__err(VS_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
    vs_features *f = vs__calloc(1, sizeof *f);
    ff_priv *p = vs__calloc(1, sizeof *p);
    if (!f || !p) {
        vs__free(f);
        vs__free(p);
        munmap(m, size);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    p->map = m;
    p->size = size;
    f->priv_ = p;
    if (memcmp(m, VS__FF_MAGIC, 8) != 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: not a vidsim feature file (bad magic)", path);
        goto fail;
    }
    uint32_t ver = get32(m + 8), hdr_size = get32(m + 12);
    if (ver != FF_VERSION && ver != FF_VERSION_Q) {
        st = vs__err(VS_ERR_FORMAT, "%s: feature file version %u, this build reads %u and %u", path, ver,
                     FF_VERSION, FF_VERSION_Q);
        goto fail;
    }
    int q = ver == FF_VERSION_Q;
    if (q && size < FF_FIXED_Q) {
        st = vs__err(VS_ERR_FORMAT, "%s: truncated compressed feature file (%zu bytes)", path, size);
        goto fail;
    }
    if (q && !header_only) {
        st = vs__err(VS_ERR_FORMAT, "%s: compressed feature file (codec %.15s, codebook %.32s): read it through "
                     "its index (vs_index_load_features)", path, (const char *)m + 160, (const char *)m + 176);
        goto fail;
    }
    f->T = (int)get32(m + 16);
    f->R = (int)get32(m + 20);
    f->D = (int)get32(m + 24);
    uint32_t dtype = get32(m + 28), plen = get32(m + 152), fixed = q ? FF_FIXED_Q : FF_FIXED;
    uint64_t csize = q ? get32(m + 156) : 0;
    size_t n1 = q ? (size_t)((f->T * (uint64_t)f->R * csize + 3) & ~(uint64_t)3) : (size_t)f->T * f->R * f->D * 4,
           n2 = (size_t)f->T * 4;
    if ((q ? (dtype != 1 && dtype != 2) || csize < 1 || csize > 1u << 20 : dtype != 0) || f->T <= 0 ||
        f->R <= 0 || f->D <= 0 || f->T > 10000000 || f->R > 4096 ||
        f->D > 65536 || hdr_size % 64 || hdr_size < fixed + (uint64_t)plen || hdr_size > size ||
        (uint64_t)hdr_size + n1 + n2 != size) {
        st = vs__err(VS_ERR_FORMAT, "%s: corrupt or truncated feature file (header says T=%d R=%d D=%d, file has %zu bytes)",
                     path, f->T, f->R, f->D, size);
        goto fail;
    }
    vs__ff_get_common(f, m);
    f->source = vs__malloc(plen + 1);
    if (!f->source) {
        st = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    memcpy(f->source, m + fixed, plen);
    f->source[plen] = 0;
    if (q) { /* header only: no float data to point at */
        *out = f;
        return VS_OK;
    }
    f->data = (float *)(m + hdr_size);
    f->times = (float *)(m + hdr_size + n1);
    if (!header_only &&
        get64(m + VS__FF_HASH_OFF) != vs__ff_checksum(m, hdr_size, f->data, n1, f->times, n2)) {
        st = vs__err(VS_ERR_FORMAT, "%s: checksum mismatch (feature file is corrupt)", path);
        goto fail;
    }
    *out = f;
    return VS_OK;
fail:
    vs_features_free(f);
    return st;
}

vs_status vs_features_load(vs_features **out, const char *path) { return load(out, path, 0); }
vs_status vs_features_load_header(vs_features **out, const char *path) { return load(out, path, 1); }

vs_status vs_file_fingerprint(const char *path, uint64_t *hash, uint64_t *size, int64_t *mtime_ns) {
    int fd;
    uint64_t sz;
    int64_t mt;
    vs_status os = vs__open_regular(path, &fd, &sz, &mt);
    if (os) return os;
    uint64_t h = vs__fnv1a(VS__FNV_INIT, &sz, 8);
    enum { CH = 1 << 20 };
    unsigned char *buf = vs__malloc(CH);
    if (!buf) {
        close(fd);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    uint64_t offs[3] = {0, sz > CH ? sz / 2 - CH / 2 : 0, sz > CH ? sz - CH : 0};
    int parts = sz > 3ull * CH ? 3 : 1;
    for (int i = 0; i < parts; i++) {
        ssize_t r = pread(fd, buf, CH, (off_t)offs[i]);
        if (r < 0) {
            vs__free(buf);
            close(fd);
            return vs__err(VS_ERR_IO, "%s: read error: %s", path, strerror(errno));
        }
        h = vs__fnv1a(h, buf, (size_t)r);
    }
    vs__free(buf);
    close(fd);
    if (hash) *hash = h;
    if (size) *size = sz;
    if (mtime_ns) *mtime_ns = mt;
    return VS_OK;
}
