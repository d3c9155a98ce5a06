/*
 * featfile.c - the per-video feature file (".vsf"): a 64-byte aligned header with
 * the model id, sampling rate, shape, source identity and a checksum, then the
 * [T,R,D] float32 region features and the [T] frame times. Loaded by mapping the
 * file (copy-on-write, the file itself is never modified). Byte layout:
 * docs/formats.md. Writes are atomic. Version 3 is version 1 plus the mirror block
 * (the features of the mirrored frames, a query's second view), after the times at the
 * next 64-byte boundary; the checksum covers it. Version 4 is version 1 plus a view table
 * (which blocks follow), the mirror block when there is one and the inset block (the
 * probe's result and the inset view's features and times, a query's third view).
 * Version 5 is version 4 with the inset detector's version in the view table (a file
 * without it, version 4, was probed by a detector before versions were recorded).
 * Version 2 files hold compressed codes (written and decoded by the index with its
 * codebook, src/index/cfeat.c): here only their header is read; a full load refuses
 * them, naming the file and the codebook.
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
#define FF_VERSION_M 3u /* version 1 plus the mirror block */
#define FF_VERSION_V 4u /* version 1 plus the view table, an optional mirror block and the inset block */
#define FF_VERSION_D 5u /* version 4 with the inset detector's version in the view table */
#define FF_TABLE 64     /* bytes of version 4's view table */
#define FF_VIEWS_MAGIC "VSVIEWS" /* 8 bytes with its NUL */
#define FF_HAS_MIRROR 1u
#define FF_HAS_INSET 2u
#define FF_MAX_T 10000000

/* x rounded up to 64 bytes: where the mirror block (version 3) or the view table
 * (version 4) starts after the times. */
static uint64_t align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

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

typedef struct { const void *p; size_t n; } ff_seg; /* bytes written after the times */
static const unsigned char ff_zeros[64];

static vs_status saveable(const vs_features *f, const char *path) {
    if (!f || f->T <= 0 || f->R <= 0 || f->D <= 0)
        return vs__err(VS_ERR_INVALID_ARG, "%s: refusing to save empty features", path);
    return VS_OK;
}

/* Header size of f's file: the fixed part and the source path, rounded up to 64 bytes. */
static size_t hdr_bytes(const vs_features *f) { return (FF_FIXED + strlen(f->source ? f->source : "") + 63) & ~(size_t)63; }

/* Atomically write f as version `version`: the header, the features [T, R, D], the times
 * [T], then the n_extra segments; the checksum covers every byte after the header (for
 * version 1, the features and the times). f must be saveable. */
static vs_status write_ff(const vs_features *f, uint32_t version, const ff_seg *extra, int n_extra,
                          const char *path) {
    const char *src = f->source ? f->source : "";
    size_t plen = strlen(src), hdr_size = hdr_bytes(f);
    unsigned char *hdr = vs__calloc(1, hdr_size);
    if (!hdr) return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    vs__ff_put_common(hdr, version, hdr_size, 0, f, plen);
    memcpy(hdr + FF_FIXED, src, plen);
    size_t n1 = (size_t)f->T * f->R * f->D * sizeof(float), n2 = (size_t)f->T * sizeof(float);
    uint64_t h = vs__ff_checksum(hdr, hdr_size, f->data, n1, f->times, n2);
    for (int i = 0; i < n_extra; i++) h = vs__fnv1a(h, extra[i].p, extra[i].n);
    put64(hdr + VS__FF_HASH_OFF, h);
    vs__afile a;
    vs_status st = vs__afile_open(&a, path);
    if (!st) st = vs__afile_write(&a, hdr, hdr_size);
    if (!st) st = vs__afile_write(&a, f->data, n1);
    if (!st) st = vs__afile_write(&a, f->times, n2);
    for (int i = 0; i < n_extra && !st; i++)
        if (extra[i].n) st = vs__afile_write(&a, extra[i].p, extra[i].n);
    vs__free(hdr);
    if (st) {
        if (a.f) vs__afile_abort(&a);
        return st;
    }
    return vs__afile_commit(&a);
}

/* Version 1 (mirror NULL) or 3 (mirror [T, R, D]: zero padding to the next 64-byte
 * boundary after the times, then the block). */
static vs_status save(const vs_features *f, const float *mirror, const char *path) {
    vs_status st = saveable(f, path);
    if (st || !mirror) return st ? st : write_ff(f, FF_VERSION, NULL, 0, path);
    size_t n1 = (size_t)f->T * f->R * f->D * sizeof(float), end = hdr_bytes(f) + n1 + (size_t)f->T * sizeof(float);
    const ff_seg extra[2] = {{ff_zeros, (size_t)align64(end) - end}, {mirror, n1}};
    return write_ff(f, FF_VERSION_M, extra, 2, path);
}

static void put_f32(unsigned char *p, float v) { memcpy(p, &v, 4); }

/* Version 4: version 1, zero padding to X (64-byte boundary), the view table [64], the
 * mirror block [T, R, D] when there is one, zero padding to the next 64-byte boundary I,
 * the inset view's features [T2, R, D] and its times [T2]. Version 5 when f records the
 * detector's version (f->inset_detector > 0): the same, with it at X+52; a file loaded
 * from version 4 (0) is written back as version 4. */
static vs_status save_v4(const vs_features *f, const char *path) {
    vs_status st = saveable(f, path);
    if (st) return st;
    const vs_inset *in = &f->inset;
    const int t2 = f->inset_T;
    if (t2 < 0 || t2 > FF_MAX_T || (t2 > 0 && (!in->found || !f->inset_data || !f->inset_times)))
        return vs__err(VS_ERR_INVALID_ARG, "%s: refusing to save an inset view of %d frames%s", path, t2,
                       in->found ? "" : " without an inset");
    if (f->inset_detector < 0)
        return vs__err(VS_ERR_INVALID_ARG, "%s: refusing to save inset detector version %d", path, f->inset_detector);
    const float *mirror = f->mirror;
    size_t n1 = (size_t)f->T * f->R * f->D * sizeof(float), end = hdr_bytes(f) + n1 + (size_t)f->T * sizeof(float);
    size_t n3 = (size_t)t2 * f->R * f->D * sizeof(float), n4 = (size_t)t2 * sizeof(float);
    size_t x = (size_t)align64(end), mend = x + FF_TABLE + (mirror ? n1 : 0);
    unsigned char tab[FF_TABLE];
    memset(tab, 0, sizeof tab);
    memcpy(tab, FF_VIEWS_MAGIC, 8);
    put32(tab + 8, FF_HAS_INSET | (mirror ? FF_HAS_MIRROR : 0));
    put32(tab + 12, in->found ? 1u : 0u);
    put32(tab + 16, (uint32_t)t2);
    put_f32(tab + 20, in->x0);
    put_f32(tab + 24, in->y0);
    put_f32(tab + 28, in->x1);
    put_f32(tab + 32, in->y1);
    put_f32(tab + 36, in->side);
    put_f32(tab + 40, in->corr);
    if (in->found && in->t1 > in->t0) { /* an inset of part of the video: its time span */
        put_f32(tab + 44, in->t0);
        put_f32(tab + 48, in->t1);
    }
    if (f->inset_detector > 0) put32(tab + 52, (uint32_t)f->inset_detector);
    const ff_seg extra[6] = {{ff_zeros, x - end},
                             {tab, sizeof tab},
                             {mirror, mirror ? n1 : 0},
                             {ff_zeros, (size_t)align64(mend) - mend},
                             {f->inset_data, n3},
                             {f->inset_times, n4}};
    return write_ff(f, f->inset_detector > 0 ? FF_VERSION_D : FF_VERSION_V, extra, 6, path);
}

vs_status vs_features_save(const vs_features *f, const char *path) { return save(f, NULL, path); }
vs_status vs_features_save_mirror(const vs_features *f, const char *path) {
    return save(f, f ? f->mirror : NULL, path);
}
vs_status vs_features_save_views(const vs_features *f, const char *path) {
    return f && f->inset_probed ? save_v4(f, path) : vs_features_save_mirror(f, path);
}

void vs_features_free(vs_features *f) {
    if (!f) return;
    ff_priv *p = f->priv_;
    if (p && p->map) munmap(p->map, p->size);
    else {
        vs__free(f->data);
        vs__free(f->times);
        vs__free(f->mirror);
        vs__free(f->inset_data);
        vs__free(f->inset_times);
    }
    vs__free(p);
    vs__free(f->source);
    vs__free(f);
}

static float get_f32(const unsigned char *p) { float v; memcpy(&v, p, 4); return v; }
static int frac_ok(float a, float b) { return a >= 0.0f && a < b && b <= 1.0f; }

/* Version 4's view table at x (a 64-byte boundary after the times) and the blocks it
 * names: sets f's inset fields, *m_at (0: no mirror block) and *in_at, or fails naming
 * the file and what is wrong. The sizes must add up to the file's exactly. Version 5
 * (det): the detector's version at X+52, at least 1. */
static vs_status read_views(vs_features *f, const unsigned char *m, size_t size, size_t x, size_t n1, int det,
                            const char *path, size_t *m_at, size_t *in_at) {
    if ((uint64_t)x + FF_TABLE > size)
        return vs__err(VS_ERR_FORMAT, "%s: truncated feature file: its view table (version 4 or 5) ends at byte %llu, the "
                       "file has %zu", path, (unsigned long long)x + FF_TABLE, size);
    const unsigned char *t = m + x;
    uint32_t flags = get32(t + 8), found = get32(t + 12), t2 = get32(t + 16);
    float r[8];
    for (int i = 0; i < 8; i++) r[i] = get_f32(t + 20 + 4 * i);
    const uint32_t dv = det ? get32(t + 52) : 0;
    int zero = 1;
    for (int i = det ? 56 : 52; i < FF_TABLE; i++) zero &= t[i] == 0;
    const int whole = r[6] == 0 && r[7] == 0, span_ok = whole || (found && r[6] >= 0 && r[7] > r[6] && r[7] < 1e9f);
    const char *why = memcmp(t, FF_VIEWS_MAGIC, 8) ? "bad view table magic"
                      : flags & ~(FF_HAS_MIRROR | FF_HAS_INSET) ? "unknown flags in the view table"
                      : !(flags & FF_HAS_INSET) ? "no inset block in a version-4 or 5 file"
                      : !zero ? "non-zero reserved bytes in the view table"
                      : det && (dv < 1 || dv > INT32_MAX) ? "detector version out of range in a version-5 file"
                      : found > 1 ? "inset flag neither 0 nor 1"
                      : t2 > FF_MAX_T ? "inset view frame count out of range"
                      : t2 && !found ? "inset view frames without an inset"
                      : found && !(frac_ok(r[0], r[2]) && frac_ok(r[1], r[3])) ? "inset rectangle outside the picture"
                      : !span_ok ? "bad inset time span"
                      : NULL;
    if (why) return vs__err(VS_ERR_FORMAT, "%s: damaged inset block (%s)", path, why);
    uint64_t mend = (uint64_t)x + FF_TABLE + (flags & FF_HAS_MIRROR ? n1 : 0), at = align64(mend);
    uint64_t need = at + (uint64_t)t2 * f->R * f->D * 4 + (uint64_t)t2 * 4;
    if (need != size)
        return vs__err(VS_ERR_FORMAT, "%s: truncated or damaged inset block (view table: %s%u inset frames of R=%d "
                       "D=%d: %llu bytes with the blocks, the file has %zu)", path,
                       flags & FF_HAS_MIRROR ? "a mirror block, " : "", t2, f->R, f->D, (unsigned long long)need, size);
    *m_at = flags & FF_HAS_MIRROR ? x + FF_TABLE : 0;
    *in_at = (size_t)at;
    f->inset_probed = 1;
    f->inset.found = (int)found;
    f->inset.x0 = r[0], f->inset.y0 = r[1], f->inset.x1 = r[2], f->inset.y1 = r[3];
    f->inset.side = r[4], f->inset.corr = r[5];
    f->inset.t0 = r[6], f->inset.t1 = r[7];
    f->inset_T = (int)t2;
    f->inset_detector = (int)dv;
    return VS_OK;
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
    if (ver != FF_VERSION && ver != FF_VERSION_Q && ver != FF_VERSION_M && ver != FF_VERSION_V && ver != FF_VERSION_D) {
        st = vs__err(VS_ERR_FORMAT, "%s: feature file version %u, this build reads %u to %u", path, ver,
                     FF_VERSION, FF_VERSION_D);
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
    int mv = ver == FF_VERSION_M; /* a mirror block of n1 bytes at align64(end of the times) */
    int vv = ver == FF_VERSION_V || ver == FF_VERSION_D; /* the view table at align64(end of the times), then the
                                                              blocks it names */
    if ((q ? (dtype != 1 && dtype != 2) || csize < 1 || csize > 1u << 20 : dtype != 0) || f->T <= 0 ||
        f->R <= 0 || f->D <= 0 || f->T > FF_MAX_T || f->R > 4096 ||
        f->D > 65536 || hdr_size % 64 || hdr_size < fixed + (uint64_t)plen || hdr_size > size ||
        (uint64_t)hdr_size + n1 + n2 > size || (!mv && !vv && (uint64_t)hdr_size + n1 + n2 != size)) {
        st = vs__err(VS_ERR_FORMAT, "%s: corrupt or truncated feature file (header says T=%d R=%d D=%d, file has %zu bytes)",
                     path, f->T, f->R, f->D, size);
        goto fail;
    }
    size_t m_at = mv ? (size_t)align64((uint64_t)hdr_size + n1 + n2) : 0;
    if (mv && (uint64_t)m_at + n1 != size) {
        st = vs__err(VS_ERR_FORMAT, "%s: truncated or damaged mirror block (header says T=%d R=%d D=%d: %zu bytes with "
                     "the block, the file has %zu)", path, f->T, f->R, f->D, m_at + n1, size);
        goto fail;
    }
    size_t in_at = 0; /* versions 4 and 5: where the inset view's features start */
    if (vv && (st = read_views(f, m, size, (size_t)align64((uint64_t)hdr_size + n1 + n2), n1, ver == FF_VERSION_D,
                               path, &m_at, &in_at)))
        goto fail;
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
    if (mv || (vv && m_at)) f->mirror = (float *)(m + m_at);
    if (vv && f->inset_T) {
        f->inset_data = (float *)(m + in_at);
        f->inset_times = (float *)(m + in_at + (size_t)f->inset_T * f->R * f->D * 4);
    }
    /* versions 3 to 5: every byte after the header, the padding and the blocks with them */
    if (!header_only &&
        get64(m + VS__FF_HASH_OFF) != vs__ff_checksum(m, hdr_size, f->data, n1, m + hdr_size + n1, size - hdr_size - n1)) {
        st = vs__err(VS_ERR_FORMAT, "%s: checksum mismatch (feature file is corrupt%s)", path,
                     mv ? ": its features, frame times or mirror block"
                     : vv ? ": its features, frame times, view table, mirror or inset block" : "");
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
