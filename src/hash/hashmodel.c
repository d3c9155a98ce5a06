/*
 * hashmodel.c - the public ConMH hash model (vidsim/hashmodel.h): configuration, model
 * files (VSTF: state-dict tensors + "conmh.*" metadata), the weights' id, the frame
 * descriptors the model reads (mean of a frame's region vectors, L2-normalised, times
 * sqrt(D); frames picked uniformly) and encoding a video into bits.
 * Training lives in hashtrain.c; the network in conmh.c.
 */
#include "hash/conmh.h"
#include "vidsim/hashmodel.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vs_hashmodel {
    vs__conmh m;
    char id[48];
};

#define CONMH_FORMAT "vidsim.hashmodel.conmh"
#define CONMH_INPUT "frame=mean(regions),l2,x sqrt(D); uniform bin centres"

vs_hashmodel_config vs_hashmodel_default_config(int bits, int dim) {
    vs_hashmodel_config c;
    c.bits = bits;
    c.dim = dim;
    c.frames = 25;
    c.enc_dim = 128;
    c.enc_depth = 2;
    c.enc_heads = 4;
    c.dec_dim = 96;
    c.dec_depth = 1;
    c.dec_heads = 3;
    return c;
}

vs__conmh_cfg vs__conmh_cfg_from(const vs_hashmodel_config *c) {
    vs__conmh_cfg k;
    memset(&k, 0, sizeof k);
    k.F = c->dim;
    k.T = c->frames;
    k.nbits = c->bits;
    k.enc_C = c->enc_dim;
    k.enc_depth = c->enc_depth;
    k.enc_H = c->enc_heads;
    k.dec_C = c->dec_dim;
    k.dec_depth = c->dec_depth;
    k.dec_H = c->dec_heads;
    k.mlp_ratio = 4;
    k.ln_eps = 1e-6f;
    k.hash_eps = 1e-5f;
    return k;
}

vs_hashmodel_config vs__conmh_cfg_to(const vs__conmh_cfg *k) {
    vs_hashmodel_config c;
    c.bits = k->nbits;
    c.dim = k->F;
    c.frames = k->T;
    c.enc_dim = k->enc_C;
    c.enc_depth = k->enc_depth;
    c.enc_heads = k->enc_H;
    c.dec_dim = k->dec_C;
    c.dec_depth = k->dec_depth;
    c.dec_heads = k->dec_H;
    return c;
}

/* ------------------------------------------------------------------ files */
static const struct {
    const char *key;
    size_t off;
} INT_KEYS[] = {
    {"conmh.feature_size", offsetof(vs__conmh_cfg, F)},
    {"conmh.max_frames", offsetof(vs__conmh_cfg, T)},
    {"conmh.nbits", offsetof(vs__conmh_cfg, nbits)},
    {"conmh.encoder_embed_dim", offsetof(vs__conmh_cfg, enc_C)},
    {"conmh.encoder_depth", offsetof(vs__conmh_cfg, enc_depth)},
    {"conmh.encoder_num_heads", offsetof(vs__conmh_cfg, enc_H)},
    {"conmh.decoder_embed_dim", offsetof(vs__conmh_cfg, dec_C)},
    {"conmh.decoder_depth", offsetof(vs__conmh_cfg, dec_depth)},
    {"conmh.decoder_num_heads", offsetof(vs__conmh_cfg, dec_H)},
    {"conmh.mlp_ratio", offsetof(vs__conmh_cfg, mlp_ratio)},
};
#define N_INT_KEYS ((int)(sizeof INT_KEYS / sizeof INT_KEYS[0]))

vs_status vs__conmh_write(const vs__conmh *m, vs__tfw *w) {
    char buf[64];
    vs_status st = vs__tfw_meta(w, "format", CONMH_FORMAT);
    if (st == VS_OK)
        st = vs__tfw_meta(w, "conmh.version", "1");
    for (int i = 0; i < N_INT_KEYS && st == VS_OK; i++) {
        snprintf(buf, sizeof buf, "%d", *(const int *)((const char *)&m->cfg + INT_KEYS[i].off));
        st = vs__tfw_meta(w, INT_KEYS[i].key, buf);
    }
    if (st == VS_OK) {
        snprintf(buf, sizeof buf, "%.9g", (double)m->cfg.ln_eps);
        st = vs__tfw_meta(w, "conmh.ln_eps", buf);
    }
    if (st == VS_OK) {
        snprintf(buf, sizeof buf, "%.9g", (double)m->cfg.hash_eps);
        st = vs__tfw_meta(w, "conmh.hash_ln_eps", buf);
    }
    if (st == VS_OK)
        st = vs__tfw_meta(w, "conmh.input", CONMH_INPUT);
    if (st == VS_OK)
        st = vs__tfw_meta(w, "conmh.ties", "sum of frame codes >= 0 -> bit 1");
    if (st == VS_OK) {
        vs__conmh_id(m, buf, sizeof buf);
        st = vs__tfw_meta(w, "conmh.id", buf);
    }
    if (st != VS_OK)
        return st;
    vs__conmh_entry *t = vs__malloc(sizeof(vs__conmh_entry) * VS__CONMH_MAX_PARAMS);
    if (!t)
        return vs__err(VS_ERR_NOMEM, "ConMH model: out of memory");
    int n = vs__conmh_table(&m->cfg, t, NULL);
    for (int i = 0; i < n && st == VS_OK; i++)
        st = vs__tfw_add(w, t[i].name, VS_DT_F32, t[i].ndim, t[i].dims, m->params + t[i].offset);
    vs__free(t);
    return st;
}

static vs_status meta_int(const vs__tf *tf, const char *key, int *out) {
    const char *v = vs__tf_meta(tf, key);
    char *end;
    if (!v)
        return vs__err(VS_ERR_FORMAT, "%s: not a ConMH hash model (metadata '%s' missing)",
                       vs__tf_path(tf), key);
    long x = strtol(v, &end, 10);
    if (*v == 0 || *end != 0 || x < 0 || x > 1000000)
        return vs__err(VS_ERR_FORMAT, "%s: metadata '%s' = '%s' is not a valid integer",
                       vs__tf_path(tf), key, v);
    *out = (int)x;
    return VS_OK;
}

static vs_status meta_float(const vs__tf *tf, const char *key, float *out) {
    const char *v = vs__tf_meta(tf, key);
    char *end;
    if (!v)
        return vs__err(VS_ERR_FORMAT, "%s: metadata '%s' missing", vs__tf_path(tf), key);
    double x = strtod(v, &end);
    if (*v == 0 || *end != 0 || !(x > 0) || x > 1)
        return vs__err(VS_ERR_FORMAT, "%s: metadata '%s' = '%s' is not a valid eps",
                       vs__tf_path(tf), key, v);
    *out = (float)x;
    return VS_OK;
}

vs_status vs__conmh_read(vs__conmh *m, const vs__tf *tf) {
    const char *path = vs__tf_path(tf);
    memset(m, 0, sizeof *m);
    const char *fmt = vs__tf_meta(tf, "format");
    if (!fmt || strcmp(fmt, CONMH_FORMAT) != 0)
        return vs__err(VS_ERR_FORMAT, "%s: not a ConMH hash model (format '%s', expected '%s')",
                       path, fmt ? fmt : "(none)", CONMH_FORMAT);
    const char *ver = vs__tf_meta(tf, "conmh.version");
    if (!ver || strcmp(ver, "1") != 0)
        return vs__err(VS_ERR_FORMAT, "%s: ConMH model version '%s' not supported (this build "
                       "reads 1)", path, ver ? ver : "(none)");
    vs__conmh_cfg c;
    memset(&c, 0, sizeof c);
    vs_status st = VS_OK;
    for (int i = 0; i < N_INT_KEYS && st == VS_OK; i++)
        st = meta_int(tf, INT_KEYS[i].key, (int *)((char *)&c + INT_KEYS[i].off));
    if (st == VS_OK)
        st = meta_float(tf, "conmh.ln_eps", &c.ln_eps);
    if (st == VS_OK)
        st = meta_float(tf, "conmh.hash_ln_eps", &c.hash_eps);
    if (st != VS_OK)
        return st;
    if (vs__conmh_cfg_check(&c) != VS_OK)
        return vs__err_prefix(VS_ERR_FORMAT, "%s", path);
    vs__conmh_entry *tab = vs__malloc(sizeof(vs__conmh_entry) * VS__CONMH_MAX_PARAMS);
    if (!tab)
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    int n = vs__conmh_table(&c, tab, NULL);
    /* every tensor present and shaped before allocating: the metadata alone could
     * ask for terabytes, the tensors are bounded by the file's size */
    for (int i = 0; i < n && st == VS_OK; i++) {
        const vs__tensor *t;
        st = vs__tf_get(tf, tab[i].name, VS_DT_F32, tab[i].ndim, tab[i].dims, &t);
    }
    if (st == VS_OK)
        st = vs__conmh_create(m, &c);
    if (st != VS_OK) {
        vs__free(tab);
        return st;
    }
    for (int i = 0; i < n && st == VS_OK; i++) {
        const vs__tensor *t;
        st = vs__tf_get(tf, tab[i].name, VS_DT_F32, tab[i].ndim, tab[i].dims, &t);
        if (st != VS_OK)
            break;
        const float *src = t->data;
        for (long k = 0; k < tab[i].numel; k++)
            if (!isfinite(src[k])) {
                st = vs__err(VS_ERR_FORMAT, "%s: tensor '%s' has a non-finite value at %ld",
                             path, tab[i].name, k);
                break;
            }
        if (st == VS_OK)
            memcpy(m->params + tab[i].offset, src, sizeof(float) * (size_t)tab[i].numel);
    }
    vs__free(tab);
    if (st != VS_OK)
        vs__conmh_destroy(m);
    return st;
}

void vs__conmh_id(const vs__conmh *m, char *buf, size_t n) {
    char cfgs[256];
    const vs__conmh_cfg *c = &m->cfg;
    int len = snprintf(cfgs, sizeof cfgs, "conmh1 %d %d %d %d %d %d %d %d %d %d %.9g %.9g", c->F,
                       c->T, c->nbits, c->enc_C, c->enc_depth, c->enc_H, c->dec_C, c->dec_depth,
                       c->dec_H, c->mlp_ratio, (double)c->ln_eps, (double)c->hash_eps);
    uint64_t h = vs__fnv1a(VS__FNV_INIT, cfgs, (size_t)len);
    h = vs__fnv1a(h, m->params, sizeof(float) * (size_t)m->n_params);
    snprintf(buf, n, "conmh%d-%016llx", c->nbits, (unsigned long long)h);
}

/* ------------------------------------------------------------------ public model */
static vs_status wrap(vs_hashmodel **out, vs__conmh *m) {
    vs_hashmodel *h = vs__calloc(1, sizeof *h);
    if (!h) {
        vs__conmh_destroy(m);
        return vs__err(VS_ERR_NOMEM, "hash model: out of memory");
    }
    h->m = *m;
    vs__conmh_id(&h->m, h->id, sizeof h->id);
    *out = h;
    return VS_OK;
}

vs_status vs_hashmodel_create(vs_hashmodel **out, const vs_hashmodel_config *cfg, uint64_t seed) {
    *out = NULL;
    if (!cfg)
        return vs__err(VS_ERR_INVALID_ARG, "vs_hashmodel_create: no configuration");
    vs__conmh_cfg c = vs__conmh_cfg_from(cfg);
    vs__conmh m;
    vs_status st = vs__conmh_create(&m, &c);
    if (st != VS_OK)
        return st;
    vs__conmh_init(m.params, &c, seed);
    return wrap(out, &m);
}

vs_status vs_hashmodel_load(vs_hashmodel **out, const char *path) {
    *out = NULL;
    vs__tf *tf;
    vs_status st = vs__tf_open(&tf, path);
    if (st != VS_OK)
        return st;
    vs__conmh m;
    st = vs__conmh_read(&m, tf);
    vs__tf_close(tf);
    if (st != VS_OK)
        return st;
    return wrap(out, &m);
}

vs_status vs_hashmodel_save(const vs_hashmodel *m, const char *path) {
    vs__tfw *w;
    vs_status st = vs__tfw_create(&w);
    if (st != VS_OK)
        return st;
    st = vs__conmh_write(&m->m, w);
    if (st == VS_OK)
        st = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return st;
}

vs_status vs__hashmodel_set_params(vs_hashmodel *m, const float *params, long n) {
    if (n != m->m.n_params)
        return vs__err(VS_ERR_INVALID_ARG, "hash model: %ld parameters given, model has %ld", n,
                       m->m.n_params);
    memcpy(m->m.params, params, sizeof(float) * (size_t)n);
    vs__conmh_id(&m->m, m->id, sizeof m->id);
    return VS_OK;
}

void vs_hashmodel_free(vs_hashmodel *m) {
    if (!m)
        return;
    vs__conmh_destroy(&m->m);
    vs__free(m);
}

int vs_hashmodel_bits(const vs_hashmodel *m) { return m->m.cfg.nbits; }
int vs_hashmodel_dim(const vs_hashmodel *m) { return m->m.cfg.F; }
int vs_hashmodel_frames(const vs_hashmodel *m) { return m->m.cfg.T; }
long vs_hashmodel_n_params(const vs_hashmodel *m) { return m->m.n_params; }
const char *vs_hashmodel_id(const vs_hashmodel *m) { return m->id; }
vs_hashmodel_config vs_hashmodel_get_config(const vs_hashmodel *m) { return vs__conmh_cfg_to(&m->m.cfg); }

/* ------------------------------------------------------------------ input */
vs_status vs_hash_frame_input(float *out, int frames, const float *regions, int T, int R, int D,
                              uint64_t jitter_seed) {
    if (!out || !regions || frames < 1 || T < 1 || R < 1 || D < 1)
        return vs__err(VS_ERR_INVALID_ARG,
                       "hash input: bad sizes (frames=%d, T=%d, R=%d, D=%d)", frames, T, R, D);
    uint64_t s = jitter_seed;
    const float scale = sqrtf((float)D);
    for (int i = 0; i < frames; i++) {
        double u = jitter_seed ? vs__conmh_uniform(&s) : 0.5;
        long idx = (long)floor(((double)i + u) * (double)T / (double)frames);
        if (idx >= T)
            idx = T - 1;
        float *o = out + (long)i * D;
        memset(o, 0, sizeof(float) * (size_t)D);
        for (int r = 0; r < R; r++) {
            const float *x = regions + (idx * R + r) * (long)D;
            for (int d = 0; d < D; d++) o[d] += x[d];
        }
        double n2 = 0.0;
        for (int d = 0; d < D; d++) n2 += (double)o[d] * o[d];
        float k = n2 > 0.0 ? (float)(scale / sqrt(n2)) : 0.0f;
        for (int d = 0; d < D; d++) o[d] *= k;
    }
    return VS_OK;
}

vs_status vs_hashmodel_encode(const vs_hashmodel *h, uint64_t *code, const float *regions, int T,
                              int R, int D) {
    const vs__conmh *m = &h->m;
    if (!code || !regions || T < 1 || R < 1)
        return vs__err(VS_ERR_INVALID_ARG, "hash encode: bad arguments (T=%d, R=%d)", T, R);
    if (D != m->cfg.F)
        return vs__err(VS_ERR_INVALID_ARG,
                       "hash encode: features have D=%d, the model %s expects D=%d", D, h->id,
                       m->cfg.F);
    const int Tm = m->cfg.T;
    float *x = vs__malloc(sizeof(float) * (size_t)Tm * (size_t)D);
    if (!x)
        return vs__err(VS_ERR_NOMEM, "hash encode: out of memory");
    vs__conmh_ws ws;
    vs_status st = vs__conmh_ws_create(&ws, &m->cfg, 1, Tm, 0);
    if (st == VS_OK)
        st = vs_hash_frame_input(x, Tm, regions, T, R, D, 0);
    if (st == VS_OK) {
        vs__conmh_view_forward(m, &ws.view[0], x, NULL, 0);
        vs__conmh_video_code(NULL, code, ws.view[0].code, Tm, m->cfg.nbits);
    }
    vs__conmh_ws_free(&ws);
    vs__free(x);
    return st;
}
