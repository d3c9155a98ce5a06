/*
 * decoder.c - the light PredMAE decoder (training only, as VideoMAE's): the encoder's
 * visible tokens (after its final LayerNorm) go through Linear C->C, masked positions get
 * a shared learned mask token, every position gets the decoder's own spatial + temporal
 * position embeddings, then dec_depth pre-norm blocks over the full F*R+1 sequence, a
 * LayerNorm and a Linear C->D head that predicts the frozen region feature of each
 * masked token. Forward with caches and backward.
 * Not here: the loss (losses.c), the choice of masks (train.c).
 */
#include "clip/clip_internal.h"

#include "nn/nn.h"

#include <string.h>

vs_status vs__clipdec_cache_create(vs__clipdec_cache *c, const vs_clipmodel_config *cfg, int B,
                                   int Nv, int Nm) {
    memset(c, 0, sizeof *c);
    int C = cfg->width, NF = 1 + cfg->F * cfg->R;
    vs__block_dims bd = vs__clip_block_dims(cfg);
    size_t act = (size_t)B * NF * C, bcf = vs__block_cache_floats(B, NF, &bd);
    size_t total = (size_t)B * (1 + Nv) * C + act * (size_t)(1 + cfg->dec_depth) +
                   bcf * (size_t)cfg->dec_depth + act + 2 * (size_t)B * NF + (size_t)B * Nm * C;
    c->buf = vs__malloc_aligned(sizeof(float) * total);
    if (!c->buf) return vs__err(VS_ERR_NOMEM, "clip model: out of memory for the decoder");
    float *p = c->buf;
    c->de = p, p += (size_t)B * (1 + Nv) * C;
    c->z = p, p += act;
    for (int l = 0; l < cfg->dec_depth; l++) {
        c->hs[l] = p, p += act;
        vs__block_cache_bind(&c->bc[l], p, B, NF, &bd);
        p += bcf;
    }
    c->ln = p, p += act;
    c->ln_mean = p, p += (size_t)B * NF;
    c->ln_rstd = p, p += (size_t)B * NF;
    c->lnm = p;
    return VS_OK;
}

void vs__clipdec_cache_free(vs__clipdec_cache *c) {
    if (!c) return;
    vs__free_aligned(c->buf);
    memset(c, 0, sizeof *c);
}

void vs__clipdec_forward(float *pred, vs__clipdec_cache *c, const float *e, const int *vpos,
                         const int *mpos, const vs__clipw *w, const vs_clipmodel_config *cfg,
                         int B, int Nv, int Nm) {
    int C = cfg->width, R = cfg->R, FR = cfg->F * R, NF = 1 + FR;
    VS__ASSERT(Nv + Nm == FR && cfg->dec_depth > 0);
    vs__block_dims bd = vs__clip_block_dims(cfg);
    vs__linear_forward(c->de, e, w->dembed_w, w->dembed_b, B * (1 + Nv), C, C);
    for (int b = 0; b < B; b++) {
        float *zb = c->z + (size_t)b * NF * C;
        const float *db = c->de + (size_t)b * (1 + Nv) * C;
        memcpy(zb, db, sizeof(float) * (size_t)C);
        for (int p = 0; p < FR; p++) memcpy(zb + (size_t)(1 + p) * C, w->mask_tok, sizeof(float) * C);
        for (int i = 0; i < Nv; i++)
            memcpy(zb + (size_t)(1 + vpos[b * Nv + i]) * C, db + (size_t)(1 + i) * C,
                   sizeof(float) * (size_t)C);
        for (int p = 0; p < FR; p++) {
            float *row = zb + (size_t)(1 + p) * C;
            const float *ps = w->dpos_s + (size_t)(p % R) * C, *pt = w->dpos_t + (size_t)(p / R) * C;
            for (int k = 0; k < C; k++) row[k] += ps[k] + pt[k];
        }
    }
    const float *in = c->z;
    for (int l = 0; l < cfg->dec_depth; l++) {
        vs__block_forward(c->hs[l], &c->bc[l], in, &w->dblk[l], NULL, B, NF, &bd);
        in = c->hs[l];
    }
    vs__layernorm_forward(c->ln, c->ln_mean, c->ln_rstd, in, w->dnorm_w, w->dnorm_b,
                          VS__CLIP_LN_EPS, B * NF, C);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < Nm; j++)
            memcpy(c->lnm + ((size_t)b * Nm + j) * C, c->ln + ((size_t)b * NF + 1 + mpos[b * Nm + j]) * C,
                   sizeof(float) * (size_t)C);
    vs__linear_forward(pred, c->lnm, w->head_w, w->head_b, B * Nm, C, cfg->D);
}

size_t vs__clipdec_scratch_floats(const vs_clipmodel_config *cfg, int B, int Nv, int Nm) {
    int NF = 1 + cfg->F * cfg->R;
    vs__block_dims bd = vs__clip_block_dims(cfg);
    return (size_t)B * Nm * cfg->width + 2 * (size_t)B * NF * cfg->width +
           (size_t)B * (1 + Nv) * cfg->width + vs__block_scratch_floats(B, NF, &bd);
}

void vs__clipdec_backward(float *de_grad, const vs__clipw *g, float *scratch, const float *dpred,
                          const float *e, const int *vpos, const int *mpos,
                          const vs__clipdec_cache *c, const vs__clipw *w,
                          const vs_clipmodel_config *cfg, int B, int Nv, int Nm) {
    int C = cfg->width, R = cfg->R, FR = cfg->F * R, NF = 1 + FR;
    size_t act = (size_t)B * NF * C;
    vs__block_dims bd = vs__clip_block_dims(cfg);
    float *dlnm = scratch, *da = dlnm + (size_t)B * Nm * C, *db = da + act, *dde = db + act;
    float *bscr = dde + (size_t)B * (1 + Nv) * C;
    /* head */
    memset(dlnm, 0, sizeof(float) * (size_t)B * Nm * C);
    vs__linear_backward(dlnm, g->head_w, g->head_b, dpred, c->lnm, w->head_w, B * Nm, C, cfg->D);
    /* scatter to the full sequence, then the final LayerNorm */
    memset(db, 0, sizeof(float) * act);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < Nm; j++) {
            float *dst = db + ((size_t)b * NF + 1 + mpos[b * Nm + j]) * C;
            const float *src = dlnm + ((size_t)b * Nm + j) * C;
            for (int k = 0; k < C; k++) dst[k] += src[k];
        }
    memset(da, 0, sizeof(float) * act);
    vs__layernorm_backward(da, g->dnorm_w, g->dnorm_b, db, c->hs[cfg->dec_depth - 1], w->dnorm_w,
                           c->ln_mean, c->ln_rstd, B * NF, C);
    for (int l = cfg->dec_depth - 1; l >= 0; l--) {
        const float *in = l > 0 ? c->hs[l - 1] : c->z;
        memset(db, 0, sizeof(float) * act);
        vs__block_backward(db, &g->dblk[l], bscr, da, in, &c->bc[l], &w->dblk[l], NULL, B, NF, &bd);
        float *t = da;
        da = db;
        db = t;
    }
    /* da = dL/dz: position embeddings, mask token, and back to the embedded visible tokens */
    memset(dde, 0, sizeof(float) * (size_t)B * (1 + Nv) * C);
    for (int b = 0; b < B; b++) {
        const float *dz = da + (size_t)b * NF * C;
        float *ddb = dde + (size_t)b * (1 + Nv) * C;
        memcpy(ddb, dz, sizeof(float) * (size_t)C);
        for (int p = 0; p < FR; p++) {
            const float *row = dz + (size_t)(1 + p) * C;
            float *ps = g->dpos_s + (size_t)(p % R) * C, *pt = g->dpos_t + (size_t)(p / R) * C;
            for (int k = 0; k < C; k++) {
                ps[k] += row[k];
                pt[k] += row[k];
            }
        }
        for (int j = 0; j < Nm; j++) {
            const float *row = dz + (size_t)(1 + mpos[b * Nm + j]) * C;
            for (int k = 0; k < C; k++) g->mask_tok[k] += row[k];
        }
        for (int i = 0; i < Nv; i++)
            memcpy(ddb + (size_t)(1 + i) * C, dz + (size_t)(1 + vpos[b * Nv + i]) * C,
                   sizeof(float) * (size_t)C);
    }
    vs__linear_backward(de_grad, g->dembed_w, g->dembed_b, dde, e, w->dembed_w, B * (1 + Nv), C, C);
}
