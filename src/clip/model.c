/*
 * model.c - the 3D-CSL-F clip model object: configuration, the parameter table (names,
 * shapes, offsets in one contiguous block, encoder first, then the training-only PredMAE
 * decoder), the training initialisation, VSTF load/save with validation, clip counting
 * and gathering (with cyclic padding of a short last clip), and the small seeded RNG.
 * Not here: the forward/backward passes (encoder.c, decoder.c), losses, training.
 */
#include "clip/clip_internal.h"

#include "core/tensorfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIP_KIND "3dcsl-f"

vs_clipmodel_config vs_clipmodel_default_config(void) {
    vs_clipmodel_config c;
    c.D = 256;
    c.R = 9;
    c.F = VS_CLIP_FRAMES;
    c.width = 128;
    c.depth = 4;
    c.heads = 4;
    c.mlp = 512;
    c.dec_depth = 1;
    c.pool = VS_CLIP_POOL_CLS;
    return c;
}

vs_status vs__clip_check_config(const vs_clipmodel_config *c) {
    if (c->D < 1 || c->D > 65536 || c->R < 1 || c->R > 256 || c->F < 1 || c->F > 64 ||
        c->width < 1 || c->width > 4096 || c->depth < 1 || c->depth > VS__CLIP_MAX_DEPTH ||
        c->heads < 1 || c->width % c->heads != 0 || c->mlp < 1 || c->mlp > 65536 ||
        c->dec_depth < 0 || c->dec_depth > VS__CLIP_MAX_DEPTH ||
        (c->pool != VS_CLIP_POOL_CLS && c->pool != VS_CLIP_POOL_MEAN))
        return vs__err(VS_ERR_INVALID_ARG,
                       "clip model: bad config D=%d R=%d F=%d width=%d depth=%d heads=%d mlp=%d "
                       "dec_depth=%d (width must be a multiple of heads, depth 1..%d)",
                       c->D, c->R, c->F, c->width, c->depth, c->heads, c->mlp, c->dec_depth,
                       VS__CLIP_MAX_DEPTH);
    return VS_OK;
}

vs__block_dims vs__clip_block_dims(const vs_clipmodel_config *c) {
    vs__block_dims d;
    d.C = c->width;
    d.H = c->heads;
    d.hd = c->width / c->heads;
    d.M = c->mlp;
    d.eps = VS__CLIP_LN_EPS;
    return d;
}

/* ------------------------------------------------------------------ table */

typedef struct {
    vs__clipparam *tab;
    int n;
    long off;
    float *block; /* bind target or NULL */
} builder;

static void add(builder *b, float **slot, const char *name, int64_t d0, int64_t d1, int decay,
                int dec, int init) {
    long numel = (long)d0 * (d1 > 0 ? (long)d1 : 1);
    if (b->tab) {
        vs__clipparam *p = &b->tab[b->n];
        snprintf(p->name, sizeof p->name, "%s", name);
        p->ndim = d1 > 0 ? 2 : 1;
        p->dims[0] = d0;
        p->dims[1] = d1 > 0 ? d1 : 0;
        p->numel = numel;
        p->offset = b->off;
        p->decay = decay;
        p->decoder = dec;
        p->init = init;
    }
    if (slot) *slot = b->block ? b->block + b->off : NULL;
    b->n++;
    b->off += numel;
}

static void add_block(builder *b, vs__block_w *w, const char *prefix, int C, int M, int dec) {
    char nm[48];
#define P(field, suffix, d0, d1, decay, init)                     \
    do {                                                          \
        snprintf(nm, sizeof nm, "%s.%s", prefix, suffix);         \
        add(b, w ? &w->field : NULL, nm, d0, d1, decay, dec, init); \
    } while (0)
    P(ln1_w, "norm1.weight", C, 0, 0, 1);
    P(ln1_b, "norm1.bias", C, 0, 0, 0);
    P(qkv_w, "attn.qkv.weight", 3 * C, C, 1, 2);
    P(q_b, "attn.qkv.bias", 3 * C, 0, 0, 0);
    P(proj_w, "attn.proj.weight", C, C, 1, 2);
    P(proj_b, "attn.proj.bias", C, 0, 0, 0);
    P(ln2_w, "norm2.weight", C, 0, 0, 1);
    P(ln2_b, "norm2.bias", C, 0, 0, 0);
    P(fc1_w, "mlp.fc1.weight", M, C, 1, 2);
    P(fc1_b, "mlp.fc1.bias", M, 0, 0, 0);
    P(fc2_w, "mlp.fc2.weight", C, M, 1, 2);
    P(fc2_b, "mlp.fc2.bias", C, 0, 0, 0);
#undef P
    if (w && w->q_b) {
        /* the contiguous timm qkv bias [3C] = q | k | v */
        w->k_b = w->q_b + C;
        w->v_b = w->q_b + 2 * C;
    } else if (w) {
        w->k_b = w->v_b = NULL;
    }
}

static int build(builder *b, const vs_clipmodel_config *c, int decoder, vs__clipw *w) {
    int C = c->width, M = c->mlp, D = c->D, R = c->R, F = c->F;
    char pre[32];
    if (w) memset(w, 0, sizeof *w);
    add(b, w ? &w->embed_w : NULL, "embed.weight", C, D, 1, 0, 2);
    add(b, w ? &w->embed_b : NULL, "embed.bias", C, 0, 0, 0, 0);
    add(b, w ? &w->pos_s : NULL, "pos_space", R, C, 0, 0, 2);
    add(b, w ? &w->pos_t : NULL, "pos_time", F, C, 0, 0, 2);
    add(b, w ? &w->cls : NULL, "cls_token", C, 0, 0, 0, 2);
    for (int l = 0; l < c->depth; l++) {
        snprintf(pre, sizeof pre, "blocks.%d", l);
        add_block(b, w ? &w->blk[l] : NULL, pre, C, M, 0);
    }
    add(b, w ? &w->norm_w : NULL, "norm.weight", C, 0, 0, 0, 1);
    add(b, w ? &w->norm_b : NULL, "norm.bias", C, 0, 0, 0, 0);
    if (decoder && c->dec_depth > 0) {
        add(b, w ? &w->dembed_w : NULL, "decoder.embed.weight", C, C, 1, 1, 2);
        add(b, w ? &w->dembed_b : NULL, "decoder.embed.bias", C, 0, 0, 1, 0);
        add(b, w ? &w->mask_tok : NULL, "decoder.mask_token", C, 0, 0, 1, 2);
        add(b, w ? &w->dpos_s : NULL, "decoder.pos_space", R, C, 0, 1, 2);
        add(b, w ? &w->dpos_t : NULL, "decoder.pos_time", F, C, 0, 1, 2);
        for (int l = 0; l < c->dec_depth; l++) {
            snprintf(pre, sizeof pre, "decoder.blocks.%d", l);
            add_block(b, w ? &w->dblk[l] : NULL, pre, C, M, 1);
        }
        add(b, w ? &w->dnorm_w : NULL, "decoder.norm.weight", C, 0, 0, 1, 1);
        add(b, w ? &w->dnorm_b : NULL, "decoder.norm.bias", C, 0, 0, 1, 0);
        add(b, w ? &w->head_w : NULL, "decoder.head.weight", D, C, 1, 1, 2);
        add(b, w ? &w->head_b : NULL, "decoder.head.bias", D, 0, 0, 1, 0);
    }
    return b->n;
}

int vs__clip_param_table(vs__clipparam *tab, const vs_clipmodel_config *c, int decoder,
                         long *total) {
    builder b = {tab, 0, 0, NULL};
    int n = build(&b, c, decoder, NULL);
    if (total) *total = b.off;
    return n;
}

void vs__clip_bind(vs__clipw *w, float *block, const vs_clipmodel_config *c, int decoder) {
    builder b = {NULL, 0, 0, block};
    build(&b, c, decoder, w);
}

/* ------------------------------------------------------------------ rng and init */

uint64_t vs__clip_rng(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double vs__clip_uniform(uint64_t *s) {
    return (double)(vs__clip_rng(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* N(0, 0.02) truncated at +-2 std (timm's trunc_normal_(std=.02) cuts at +-2 absolute,
 * which is no cut at all at this std; we cut at 2 std to avoid rare large weights). */
static float trunc_normal(uint64_t *s) {
    for (;;) {
        double u1 = vs__clip_uniform(s), u2 = vs__clip_uniform(s);
        if (u1 < 1e-300) continue;
        double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        if (fabs(z) <= 2.0) return (float)(0.02 * z);
    }
}

vs_status vs__clip_init(float *block, const vs_clipmodel_config *c, int decoder, uint64_t seed) {
    int n = vs__clip_param_table(NULL, c, decoder, NULL);
    vs__clipparam *tab = vs__malloc(sizeof *tab * (size_t)n);
    uint64_t s = seed ^ 0x3d3c5ull;
    if (!tab) return vs__err(VS_ERR_NOMEM, "clip model: out of memory");
    vs__clip_param_table(tab, c, decoder, NULL);
    for (int i = 0; i < n; i++) {
        float *p = block + tab[i].offset;
        for (long k = 0; k < tab[i].numel; k++)
            p[k] = tab[i].init == 0 ? 0.0f : tab[i].init == 1 ? 1.0f : trunc_normal(&s);
    }
    vs__free(tab);
    return VS_OK;
}

/* ------------------------------------------------------------------ model object */

static vs_status model_alloc(vs_clipmodel **out, const vs_clipmodel_config *c) {
    *out = NULL;
    vs_status st = vs__clip_check_config(c);
    if (st != VS_OK) return st;
    vs_clipmodel *m = vs__calloc(1, sizeof *m);
    if (!m) return vs__err(VS_ERR_NOMEM, "clip model: out of memory");
    m->cfg = *c;
    m->cfg.dec_depth = 0; /* a model object is the encoder */
    vs__clip_param_table(NULL, &m->cfg, 0, &m->n_params);
    m->params = vs__malloc_aligned(sizeof(float) * (size_t)m->n_params);
    if (!m->params) {
        vs__free(m);
        return vs__err(VS_ERR_NOMEM, "clip model: out of memory");
    }
    vs__clip_bind(&m->w, m->params, &m->cfg, 0);
    *out = m;
    return VS_OK;
}

/* The id hashes the config and the parameters: set whenever the parameters are final. */
static void set_id(vs_clipmodel *m) {
    uint64_t h = vs__fnv1a(VS__FNV_INIT, &m->cfg, sizeof m->cfg);
    h = vs__fnv1a(h, m->params, sizeof(float) * (size_t)m->n_params);
    snprintf(m->id, sizeof m->id, "%s/%016llx", CLIP_KIND, (unsigned long long)h);
}

void vs_clipmodel_free(vs_clipmodel *m) {
    if (!m) return;
    vs__free_aligned(m->params);
    vs__free(m);
}

vs_status vs__clipmodel_from_block(vs_clipmodel **out, const vs_clipmodel_config *c,
                                   const float *block, int decoder) {
    (void)decoder; /* the encoder comes first in both layouts */
    vs_status st = model_alloc(out, c);
    if (st != VS_OK) return st;
    memcpy((*out)->params, block, sizeof(float) * (size_t)(*out)->n_params);
    set_id(*out);
    return VS_OK;
}

vs_status vs_clipmodel_create(vs_clipmodel **out, const vs_clipmodel_config *c, uint64_t seed) {
    vs_clipmodel_config cfg = c ? *c : vs_clipmodel_default_config();
    vs_status st = model_alloc(out, &cfg);
    if (st != VS_OK) return st;
    st = vs__clip_init((*out)->params, &(*out)->cfg, 0, seed);
    if (st != VS_OK) {
        vs_clipmodel_free(*out);
        *out = NULL;
        return st;
    }
    set_id(*out);
    return VS_OK;
}

const char *vs_clipmodel_id(const vs_clipmodel *m) { return m->id; }

vs_clipmodel_config vs_clipmodel_get_config(const vs_clipmodel *m) { return m->cfg; }
int vs_clipmodel_dim(const vs_clipmodel *m) { return m->meanpool ? m->cfg.D : m->cfg.width; }

vs_status vs_clipmodel_builtin(vs_clipmodel **out, const char *name, int D, int R) {
    *out = NULL;
    if (!name || strcmp(name, "mean") != 0)
        return vs__err(VS_ERR_INVALID_ARG, "clip model: unknown builtin '%s' (known: mean)",
                       name ? name : "(null)");
    if (D < 1 || D > 65536 || R < 1 || R > 256)
        return vs__err(VS_ERR_INVALID_ARG, "clip model: builtin mean: bad D=%d R=%d", D, R);
    vs_clipmodel *m = vs__calloc(1, sizeof *m);
    if (!m) return vs__err(VS_ERR_NOMEM, "clip model: out of memory");
    m->cfg = vs_clipmodel_default_config();
    m->cfg.D = D;
    m->cfg.R = R;
    m->cfg.width = D;
    m->cfg.depth = 0;
    m->cfg.dec_depth = 0;
    m->meanpool = 1;
    snprintf(m->id, sizeof m->id, "mean/F%d", m->cfg.F);
    *out = m;
    return VS_OK;
}
long vs_clipmodel_n_params(const vs_clipmodel *m) { return m->n_params; }

static const char *const CFG_KEYS[7] = {"clip.D",     "clip.R",     "clip.F",  "clip.width",
                                        "clip.depth", "clip.heads", "clip.mlp"};

static int *cfg_field(vs_clipmodel_config *c, int i) {
    int *f[7] = {&c->D, &c->R, &c->F, &c->width, &c->depth, &c->heads, &c->mlp};
    return f[i];
}

vs_status vs_clipmodel_load(vs_clipmodel **out, const char *path) {
    *out = NULL;
    vs__tf *tf;
    vs_status st = vs__tf_open(&tf, path);
    if (st != VS_OK) return st;
    vs_clipmodel *m = NULL;
    const char *kind = vs__tf_meta(tf, "clip.kind");
    if (!kind || strcmp(kind, CLIP_KIND) != 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: not a clip model (metadata clip.kind is %s%s%s, expected '%s')",
                     path, kind ? "'" : "", kind ? kind : "missing", kind ? "'" : "", CLIP_KIND);
        goto out_close;
    }
    vs_clipmodel_config c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 7; i++) {
        const char *v = vs__tf_meta(tf, CFG_KEYS[i]);
        char *end = NULL;
        long x = v ? strtol(v, &end, 10) : 0;
        if (!v || !*v || *end || x < 1 || x > 65536) {
            st = vs__err(VS_ERR_FORMAT, "%s: metadata %s is %s", path, CFG_KEYS[i],
                         v ? "not a positive integer" : "missing");
            goto out_close;
        }
        *cfg_field(&c, i) = (int)x;
    }
    const char *pool = vs__tf_meta(tf, "clip.pool"); /* absent: cls */
    if (pool && strcmp(pool, "cls") && strcmp(pool, "mean")) {
        st = vs__err(VS_ERR_FORMAT, "%s: metadata clip.pool is '%s', expected cls or mean", path, pool);
        goto out_close;
    }
    c.pool = pool && !strcmp(pool, "mean") ? VS_CLIP_POOL_MEAN : VS_CLIP_POOL_CLS;
    if (vs__clip_check_config(&c) != VS_OK) {
        st = vs__err_prefix(VS_ERR_FORMAT, "%s", path);
        goto out_close;
    }
    /* c.dec_depth is 0, as in the model's own config: the same table */
    int n = vs__clip_param_table(NULL, &c, 0, NULL);
    vs__clipparam *tab = vs__malloc(sizeof *tab * (size_t)n);
    if (!tab) {
        st = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
        goto out_close;
    }
    vs__clip_param_table(tab, &c, 0, NULL);
    /* every tensor present and shaped before allocating: the metadata alone could
     * ask for tens of GB, the tensors are bounded by the file's size */
    for (int i = 0; i < n && st == VS_OK; i++) {
        const vs__tensor *t;
        st = vs__tf_get(tf, tab[i].name, VS_DT_F32, tab[i].ndim, tab[i].dims, &t);
    }
    if (st == VS_OK) st = model_alloc(&m, &c);
    if (st != VS_OK) {
        vs__free(tab);
        goto out_close;
    }
    for (int i = 0; i < n && st == VS_OK; i++) {
        const vs__tensor *t;
        st = vs__tf_get(tf, tab[i].name, VS_DT_F32, tab[i].ndim, tab[i].dims, &t);
        if (st != VS_OK) break;
        const float *src = t->data;
        for (long k = 0; k < tab[i].numel; k++)
            if (!isfinite(src[k])) {
                st = vs__err(VS_ERR_FORMAT, "%s: tensor '%s' has a non-finite value at %ld", path,
                             tab[i].name, k);
                break;
            }
        if (st == VS_OK)
            memcpy(m->params + tab[i].offset, src, sizeof(float) * (size_t)tab[i].numel);
    }
    vs__free(tab);
    if (st != VS_OK) goto out_free;
    vs__tf_close(tf);
    set_id(m);
    *out = m;
    return VS_OK;
out_free:
    vs_clipmodel_free(m);
out_close:
    vs__tf_close(tf);
    return st;
}

vs_status vs_clipmodel_save(const vs_clipmodel *m, const char *path) {
    if (m->meanpool)
        return vs__err(VS_ERR_INVALID_ARG, "%s: the builtin mean clip model has nothing to save", path);
    vs__tfw *w;
    vs_status st = vs__tfw_create(&w);
    if (st != VS_OK) return st;
    vs_clipmodel_config c = m->cfg;
    st = vs__tfw_meta(w, "clip.kind", CLIP_KIND);
    for (int i = 0; i < 7 && st == VS_OK; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", *cfg_field(&c, i));
        st = vs__tfw_meta(w, CFG_KEYS[i], buf);
    }
    if (st == VS_OK) st = vs__tfw_meta(w, "clip.pool", c.pool == VS_CLIP_POOL_MEAN ? "mean" : "cls");
    if (st == VS_OK) st = vs__tfw_meta(w, "clip.similarity", "topk_chamfer k=3");
    int n = vs__clip_param_table(NULL, &c, 0, NULL);
    vs__clipparam *tab = st == VS_OK ? vs__malloc(sizeof *tab * (size_t)n) : NULL;
    if (st == VS_OK && !tab) st = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    if (st == VS_OK) {
        vs__clip_param_table(tab, &c, 0, NULL);
        for (int i = 0; i < n && st == VS_OK; i++)
            st = vs__tfw_add(w, tab[i].name, VS_DT_F32, tab[i].ndim, tab[i].dims,
                             m->params + tab[i].offset);
    }
    vs__free(tab);
    if (st == VS_OK) st = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return st;
}

/* ------------------------------------------------------------------ clips */

int vs__clip_count(int T, int F) {
    if (T < 1) return 0;
    /* Python round(T / F): half to even */
    int q = T / F, r = T % F;
    if (2 * r > F || (2 * r == F && (q & 1))) q++;
    return q < 1 ? 1 : q;
}

int vs_clipmodel_n_clips(const vs_clipmodel *m, int T) { return vs__clip_count(T, m->cfg.F); }

void vs__clip_gather(float *out, const float *x, int T, int R, int D, int F, int c) {
    int start = c * F;
    int len = T - start < F ? T - start : F;
    VS__ASSERT(len >= 1);
    size_t fr = (size_t)R * D;
    for (int f = 0; f < F; f++)
        memcpy(out + (size_t)f * fr, x + (size_t)(start + f % len) * fr, sizeof(float) * fr);
}
