/*
 * conmh_model.c - the ConMH parameter table (state-dict names and shapes of the
 * official model/conmh.py Transformer, in its named_parameters order), the binding of
 * named views onto one contiguous float block, the reference initialisation and the
 * fixed sinusoid position tables. No compute here (see conmh.c).
 */
#include "hash/conmh.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

uint64_t vs__conmh_rng(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double vs__conmh_uniform(uint64_t *s) { return (double)(vs__conmh_rng(s) >> 11) * 0x1.0p-53; }

vs__block_dims vs__conmh_enc_dims(const vs__conmh_cfg *c) {
    vs__block_dims d = {c->enc_C, c->enc_H, c->enc_C / c->enc_H, c->enc_C * c->mlp_ratio,
                        c->ln_eps};
    return d;
}

vs__block_dims vs__conmh_dec_dims(const vs__conmh_cfg *c) {
    vs__block_dims d = {c->dec_C, c->dec_H, c->dec_C / c->dec_H, c->dec_C * c->mlp_ratio,
                        c->ln_eps};
    return d;
}

vs_status vs__conmh_cfg_check(const vs__conmh_cfg *c) {
    if (c->F < 1 || c->T < 2 || c->nbits < 1 || c->enc_C < 1 || c->dec_C < 1 || c->enc_H < 1 ||
        c->dec_H < 1 || c->mlp_ratio < 1 || c->enc_depth < 0 || c->dec_depth < 0 ||
        c->enc_depth > VS__CONMH_MAX_DEPTH || c->dec_depth > VS__CONMH_MAX_DEPTH ||
        c->enc_C / c->enc_H < 1 || c->dec_C / c->dec_H < 1 || !(c->ln_eps > 0) ||
        !(c->hash_eps > 0) || c->F > (1 << 16) || c->T > 4096 || c->nbits > 4096 ||
        c->enc_C > 8192 || c->dec_C > 8192 || c->mlp_ratio > 64 /* C * mlp_ratio fits an int */)
        return vs__err(VS_ERR_INVALID_ARG,
                       "ConMH configuration out of range (F=%d T=%d bits=%d encoder %dx%d/%d "
                       "decoder %dx%d/%d)",
                       c->F, c->T, c->nbits, c->enc_depth, c->enc_C, c->enc_H, c->dec_depth,
                       c->dec_C, c->dec_H);
    return VS_OK;
}

/* ---- the table walker: one pass assigns names, shapes, offsets and (optionally)
 * pointers into a base block */
typedef struct walker {
    vs__conmh_entry *tab; /* may be NULL */
    int n;
    long off;
    float *base;          /* may be NULL: no pointers */
} walker;

static float *add(walker *w, const char *name, int ndim, long d0, long d1, long d2) {
    long numel = d0 * (ndim > 1 ? d1 : 1) * (ndim > 2 ? d2 : 1);
    if (w->tab) {
        vs__conmh_entry *e = &w->tab[w->n];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", name);
        e->ndim = ndim;
        e->dims[0] = d0;
        e->dims[1] = ndim > 1 ? d1 : 0;
        e->dims[2] = ndim > 2 ? d2 : 0;
        e->offset = w->off;
        e->numel = numel;
    }
    float *p = w->base ? w->base + w->off : NULL;
    w->off += numel;
    w->n++;
    return p;
}

static void walk_block(walker *w, vs__block_w *b, const char *prefix, const vs__block_dims *d) {
    char nm[64];
    long C = d->C, HD = (long)d->H * d->hd, M = d->M;
#define NAME(s) (snprintf(nm, sizeof nm, "%s%s", prefix, s), nm)
    b->ln1_w = add(w, NAME("norm1.weight"), 1, C, 0, 0);
    b->ln1_b = add(w, NAME("norm1.bias"), 1, C, 0, 0);
    b->q_b = add(w, NAME("attn.q_bias"), 1, HD, 0, 0);
    b->k_b = NULL;
    b->v_b = add(w, NAME("attn.v_bias"), 1, HD, 0, 0);
    b->qkv_w = add(w, NAME("attn.qkv.weight"), 2, 3 * HD, C, 0);
    b->proj_w = add(w, NAME("attn.proj.weight"), 2, C, HD, 0);
    b->proj_b = add(w, NAME("attn.proj.bias"), 1, C, 0, 0);
    b->ln2_w = add(w, NAME("norm2.weight"), 1, C, 0, 0);
    b->ln2_b = add(w, NAME("norm2.bias"), 1, C, 0, 0);
    b->fc1_w = add(w, NAME("mlp.fc1.weight"), 2, M, C, 0);
    b->fc1_b = add(w, NAME("mlp.fc1.bias"), 1, M, 0, 0);
    b->fc2_w = add(w, NAME("mlp.fc2.weight"), 2, C, M, 0);
    b->fc2_b = add(w, NAME("mlp.fc2.bias"), 1, C, 0, 0);
#undef NAME
}

static void walk(walker *w, vs__conmh_p *p, const vs__conmh_cfg *c) {
    vs__block_dims ed = vs__conmh_enc_dims(c), dd = vs__conmh_dec_dims(c);
    long F = c->F, Ce = c->enc_C, Cd = c->dec_C, nb = c->nbits;
    char prefix[48];
    p->mask_token = add(w, "mask_token", 3, 1, 1, Cd);
    p->pe_w = add(w, "encoder.patch_embed.weight", 2, Ce, F, 0);
    p->pe_b = add(w, "encoder.patch_embed.bias", 1, Ce, 0, 0);
    for (int l = 0; l < c->enc_depth; l++) {
        snprintf(prefix, sizeof prefix, "encoder.blocks.%d.", l);
        walk_block(w, &p->enc[l], prefix, &ed);
    }
    p->en_w = add(w, "encoder.norm.weight", 1, Ce, 0, 0);
    p->en_b = add(w, "encoder.norm.bias", 1, Ce, 0, 0);
    p->eh_w = add(w, "encoder.head.weight", 2, Ce, Ce, 0);
    p->eh_b = add(w, "encoder.head.bias", 1, Ce, 0, 0);
    for (int l = 0; l < c->dec_depth; l++) {
        snprintf(prefix, sizeof prefix, "decoder.blocks.%d.", l);
        walk_block(w, &p->dec[l], prefix, &dd);
    }
    p->dn_w = add(w, "decoder.norm.weight", 1, Cd, 0, 0);
    p->dn_b = add(w, "decoder.norm.bias", 1, Cd, 0, 0);
    p->dh_w = add(w, "decoder.head.weight", 2, F, Cd, 0);
    p->dh_b = add(w, "decoder.head.bias", 1, F, 0, 0);
    p->e2d_w = add(w, "encoder_to_decoder.weight", 2, Cd, nb, 0);
    p->bin_w = add(w, "binary.weight", 2, nb, Ce, 0);
    p->bin_b = add(w, "binary.bias", 1, nb, 0, 0);
    p->ln_w = add(w, "ln.weight", 1, nb, 0, 0);
    p->ln_b = add(w, "ln.bias", 1, nb, 0, 0);
}

int vs__conmh_table(const vs__conmh_cfg *c, vs__conmh_entry *tab, long *n_floats) {
    walker w = {tab, 0, 0, NULL};
    vs__conmh_p dummy;
    walk(&w, &dummy, c);
    if (n_floats)
        *n_floats = w.off;
    return w.n;
}

void vs__conmh_bind(vs__conmh_p *p, float *base, const vs__conmh_cfg *c) {
    walker w = {NULL, 0, 0, base};
    memset(p, 0, sizeof *p);
    walk(&w, p, c);
}

vs_status vs__conmh_create(vs__conmh *m, const vs__conmh_cfg *c) {
    memset(m, 0, sizeof *m);
    vs_status st = vs__conmh_cfg_check(c);
    if (st != VS_OK)
        return st;
    m->cfg = *c;
    vs__conmh_table(c, NULL, &m->n_params);
    m->params = vs__calloc((size_t)m->n_params, sizeof(float));
    m->pos_e = vs__malloc(sizeof(float) * (size_t)c->T * (size_t)c->enc_C);
    m->pos_d = vs__malloc(sizeof(float) * (size_t)c->T * (size_t)c->dec_C);
    if (!m->params || !m->pos_e || !m->pos_d) {
        vs__conmh_destroy(m);
        return vs__err(VS_ERR_NOMEM, "ConMH model: out of memory (%ld parameters)",
                       m->n_params);
    }
    vs__conmh_bind(&m->p, m->params, c);
    vs__sinusoid_table(m->pos_e, c->T, c->enc_C);
    vs__sinusoid_table(m->pos_d, c->T, c->dec_C);
    return VS_OK;
}

void vs__conmh_destroy(vs__conmh *m) {
    if (!m)
        return;
    vs__free(m->params);
    vs__free(m->pos_e);
    vs__free(m->pos_d);
    memset(m, 0, sizeof *m);
}

/* ---- initialisation */
static void uniform(float *x, long n, double bound, uint64_t *s) {
    for (long i = 0; i < n; i++) x[i] = (float)((2.0 * vs__conmh_uniform(s) - 1.0) * bound);
}
static void constant(float *x, long n, float v) {
    for (long i = 0; i < n; i++) x[i] = v;
}
static void xavier(float *w, long n_out, long n_in, uint64_t *s) {
    uniform(w, n_out * n_in, sqrt(6.0 / (double)(n_in + n_out)), s);
}
static void init_block(vs__block_w *b, const vs__block_dims *d, uint64_t *s) {
    long C = d->C, HD = (long)d->H * d->hd, M = d->M;
    constant(b->ln1_w, C, 1.0f);
    constant(b->ln1_b, C, 0.0f);
    constant(b->q_b, HD, 0.0f);
    constant(b->v_b, HD, 0.0f);
    xavier(b->qkv_w, 3 * HD, C, s);
    xavier(b->proj_w, C, HD, s);
    constant(b->proj_b, C, 0.0f);
    constant(b->ln2_w, C, 1.0f);
    constant(b->ln2_b, C, 0.0f);
    xavier(b->fc1_w, M, C, s);
    constant(b->fc1_b, M, 0.0f);
    xavier(b->fc2_w, C, M, s);
    constant(b->fc2_b, C, 0.0f);
}

void vs__conmh_init(float *params, const vs__conmh_cfg *c, uint64_t seed) {
    vs__conmh_p p;
    vs__conmh_bind(&p, params, c);
    vs__block_dims ed = vs__conmh_enc_dims(c), dd = vs__conmh_dec_dims(c);
    long F = c->F, Ce = c->enc_C, Cd = c->dec_C, nb = c->nbits;
    uint64_t s = seed;
    /* mask_token: trunc_normal_(std=.02) truncated at +-1 std, by rejection */
    for (long i = 0; i < Cd; i++) {
        double z;
        do {
            double u1 = vs__conmh_uniform(&s), u2 = vs__conmh_uniform(&s);
            z = sqrt(-2.0 * log(u1 > 1e-300 ? u1 : 1e-300)) * cos(6.283185307179586 * u2);
        } while (z < -1.0 || z > 1.0);
        p.mask_token[i] = (float)(0.02 * z);
    }
    xavier(p.pe_w, Ce, F, &s);
    constant(p.pe_b, Ce, 0.0f);
    for (int l = 0; l < c->enc_depth; l++) init_block(&p.enc[l], &ed, &s);
    constant(p.en_w, Ce, 1.0f);
    constant(p.en_b, Ce, 0.0f);
    xavier(p.eh_w, Ce, Ce, &s);
    constant(p.eh_b, Ce, 0.0f);
    for (int l = 0; l < c->dec_depth; l++) init_block(&p.dec[l], &dd, &s);
    constant(p.dn_w, Cd, 1.0f);
    constant(p.dn_b, Cd, 0.0f);
    xavier(p.dh_w, F, Cd, &s);
    constant(p.dh_b, F, 0.0f);
    /* PyTorch's default Linear init: U(+-1/sqrt(fan_in)) for weight and bias */
    uniform(p.e2d_w, Cd * nb, 1.0 / sqrt((double)nb), &s);
    uniform(p.bin_w, nb * Ce, 1.0 / sqrt((double)Ce), &s);
    uniform(p.bin_b, nb, 1.0 / sqrt((double)Ce), &s);
    constant(p.ln_w, nb, 1.0f);
    constant(p.ln_b, nb, 0.0f);
}
