/*
 * cfeat.c - compressed feature files (VSF version 2: the VSF header, then one code
 * of vs_quant_code_size bytes per region vector, then the frame times; layout in
 * docs/formats.md) and the index's codebook: written by `index compress` and by
 * adds into a compressed index, read back one video at a time by decoding its codes
 * into floats (vs_index_load_features); never a decompressed copy of the index.
 */
#define _POSIX_C_SOURCE 200809L
#include "index/index_internal.h"
#include "features/featfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CF_VERSION 2u
#define CF_FIXED 208    /* bytes before the source path */

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

vs_status vs__cfeat_save(const vs_features *f, const vs_quant *q, const char *path) {
    if (!f || f->T <= 0 || f->R <= 0 || f->D <= 0 || !f->data || !f->times)
        return vs__err(VS_ERR_INVALID_ARG, "%s: refusing to save empty features", path);
    if (f->D != vs_quant_dim(q))
        return vs__err(VS_ERR_INVALID_ARG, "%s: features of %d dimensions, the codebook has %d", path, f->D,
                       vs_quant_dim(q));
    const char *src = f->source ? f->source : "";
    size_t plen = strlen(src), cs = (size_t)vs_quant_code_size(q);
    size_t hsize = (CF_FIXED + plen + 63) & ~(size_t)63;
    size_t nvec = (size_t)f->T * f->R, n1 = (nvec * cs + 3) & ~(size_t)3, n2 = (size_t)f->T * sizeof(float);
    unsigned char *hdr = vs__calloc(1, hsize);
    unsigned char *codes = vs__calloc(1, n1);
    if (!hdr || !codes) {
        vs__free(hdr);
        vs__free(codes);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    vs_quant_encode(q, f->data, (long)nvec, codes);
    vs__ff_put_common(hdr, CF_VERSION, hsize, vs_quant_codec(q)[0] == 'p' ? 1 : 2, f, plen);
    put32(hdr + 156, (uint32_t)cs);
    memcpy(hdr + 160, vs_quant_codec(q), strnlen(vs_quant_codec(q), 15));
    memcpy(hdr + 176, vs_quant_id(q), strnlen(vs_quant_id(q), 31));
    memcpy(hdr + CF_FIXED, src, plen);
    put64(hdr + VS__FF_HASH_OFF, vs__ff_checksum(hdr, hsize, codes, n1, f->times, n2));
    vs__afile a;
    vs_status st = vs__afile_open(&a, path);
    if (!st) st = vs__afile_write(&a, hdr, hsize);
    if (!st) st = vs__afile_write(&a, codes, n1);
    if (!st) st = vs__afile_write(&a, f->times, n2);
    vs__free(hdr);
    vs__free(codes);
    if (st) {
        if (a.f) vs__afile_abort(&a);
        return st;
    }
    return vs__afile_commit(&a);
}

int vs__feat_file_version(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    unsigned char b[12];
    ssize_t r = pread(fd, b, sizeof b, 0);
    close(fd);
    if (r != (ssize_t)sizeof b || memcmp(b, VS__FF_MAGIC, 8) != 0) return 0;
    return (int)get32(b + 8);
}

vs_status vs__cfeat_load(vs_features **out, const char *path, const vs_quant *q) {
    *out = NULL;
    unsigned char *m = NULL;
    size_t size = 0;
    vs_status s = vs__read_file(path, &m, &size);
    if (s) return s;
    vs_features *f = vs__calloc(1, sizeof *f);
    if (!f) {
        vs__free(m);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    if (size < CF_FIXED || memcmp(m, VS__FF_MAGIC, 8) != 0 || get32(m + 8) != CF_VERSION) {
        s = vs__err(VS_ERR_FORMAT, "%s: not a compressed vidsim feature file", path);
        goto fail;
    }
    uint32_t hsize = get32(m + 12), dtype = get32(m + 28), plen = get32(m + 152), cs = get32(m + 156);
    f->T = (int)get32(m + 16);
    f->R = (int)get32(m + 20);
    f->D = (int)get32(m + 24);
    char codec[16] = "", id[33] = "";
    memcpy(codec, m + 160, 15);
    memcpy(id, m + 176, 32);
    uint64_t nvec = (uint64_t)(f->T > 0 ? f->T : 0) * (uint64_t)(f->R > 0 ? f->R : 0);
    uint64_t n1 = (nvec * cs + 3) & ~(uint64_t)3, n2 = (uint64_t)(f->T > 0 ? f->T : 0) * 4;
    if ((dtype != 1 && dtype != 2) || cs < 1 || cs > 1u << 20 || f->T <= 0 || f->R <= 0 || f->D <= 0 ||
        f->T > 10000000 || f->R > 4096 || f->D > 65536 || hsize % 64 || hsize < CF_FIXED + (uint64_t)plen ||
        hsize > size || (uint64_t)hsize + n1 + n2 != size) {
        s = vs__err(VS_ERR_FORMAT, "%s: corrupt or truncated compressed feature file (header says T=%d R=%d D=%d, "
                    "%u bytes per code, file has %zu bytes)", path, f->T, f->R, f->D, cs, size);
        goto fail;
    }
    if (get64(m + VS__FF_HASH_OFF) != vs__ff_checksum(m, hsize, m + hsize, (size_t)n1, m + hsize + n1, (size_t)n2)) {
        s = vs__err(VS_ERR_FORMAT, "%s: checksum mismatch (feature file is corrupt)", path);
        goto fail;
    }
    if (!q) {
        s = vs__err(VS_ERR_FORMAT, "%s: compressed with codebook %s (%s), but the index has no codebook", path, id,
                    codec);
        goto fail;
    }
    if (strcmp(id, vs_quant_id(q)) != 0 || strcmp(codec, vs_quant_codec(q)) != 0 ||
        (int)cs != vs_quant_code_size(q) || f->D != vs_quant_dim(q)) {
        s = vs__err(VS_ERR_FORMAT, "%s: compressed with codebook %s (%s), the index's codebook is %s (%s)", path, id,
                    codec, vs_quant_id(q), vs_quant_codec(q));
        goto fail;
    }
    vs__ff_get_common(f, m);
    f->source = vs__malloc(plen + 1);
    f->data = vs__malloc((size_t)nvec * f->D * sizeof(float));
    f->times = vs__malloc((size_t)n2);
    if (!f->source || !f->data || !f->times) {
        s = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    memcpy(f->source, m + CF_FIXED, plen);
    f->source[plen] = 0;
    memcpy(f->times, m + hsize + n1, (size_t)n2);
    vs_quant_decode(q, m + hsize, (long)nvec, f->data);
    vs__free(m);
    *out = f;
    return VS_OK;
fail:
    vs__free(m);
    vs_features_free(f); /* no mapping: frees data, times and source */
    return s;
}

vs_status vs__feat_load_any(vs_features **out, const char *path, const vs_quant *q) {
    if (vs__feat_file_version(path) == (int)CF_VERSION) return vs__cfeat_load(out, path, q);
    return vs_features_load(out, path);
}

vs_status vs__index_quant(vs_index *idx, const vs_quant **out) {
    *out = NULL;
    pthread_mutex_lock(&idx->mu);
    vs_status s = VS_OK;
    if (!idx->quant && idx->codebook_id[0]) {
        char *p = vs__index_join(idx->dir, VS__INDEX_CODEBOOK);
        vs_quant *q = NULL;
        if (!p) s = vs__err(VS_ERR_NOMEM, "out of memory");
        else if ((s = vs_quant_load(&q, p))) vs__err_prefix(s, "index %s: its codebook", idx->dir);
        else if (strcmp(vs_quant_id(q), idx->codebook_id) != 0)
            s = vs__err(VS_ERR_FORMAT, "%s: codebook %s, the catalogue says %s", p, vs_quant_id(q), idx->codebook_id);
        else if (idx->model_id[0] && strcmp(vs_quant_model_id(q), idx->model_id) != 0)
            s = vs__err(VS_ERR_FORMAT, "%s: codebook for model %s, the index's model is %s", p, vs_quant_model_id(q),
                        idx->model_id);
        if (s) vs_quant_free(q);
        else idx->quant = q;
        vs__free(p);
    }
    *out = idx->quant;
    pthread_mutex_unlock(&idx->mu);
    return s;
}

vs_status vs__index_load_file(vs_index *idx, const char *path, vs_features **out) {
    *out = NULL;
    if (vs__feat_file_version(path) != (int)CF_VERSION) return vs_features_load(out, path);
    pthread_mutex_lock(&idx->mu);
    if (!idx->quant && !idx->codebook_id[0]) {
        /* a compressed file but no codebook known: another process may have compressed
         * the index since this handle read the meta */
        vs_status ms = vs__index_load_meta(idx);
        if (ms) {
            pthread_mutex_unlock(&idx->mu);
            return ms;
        }
    }
    pthread_mutex_unlock(&idx->mu);
    const vs_quant *q;
    vs_status s = vs__index_quant(idx, &q);
    if (s) return s;
    return vs__cfeat_load(out, path, q);
}

vs_status vs__index_save_file(vs_index *idx, const vs_features *f, const char *path) {
    const vs_quant *q;
    vs_status s = vs__index_quant(idx, &q);
    if (s) return s;
    return q ? vs__cfeat_save(f, q, path) : vs_features_save(f, path);
}
