/*
 * encoder.c - the 3D-CSL-F encoder: token embedding (Linear D->C of each (frame, region)
 * feature + learned spatial and temporal position embeddings, factorised as TimeSformer,
 * + a learned CLS token in front), `depth` pre-norm ViT blocks with JOINT space-time
 * attention over all tokens (src/nn/transformer.h), and a final LayerNorm; forward with
 * caches, backward, and the public vs_clipmodel_encode (clip vector = final-LN CLS,
 * L2-normalised).
 * Not here: dropout / drop-path (the model is small and trained briefly), divided
 * attention, key masks (short clips are padded with their own frames instead).
 */
#include "clip/clip_internal.h"

#include "nn/nn.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ embedding */

void vs__clip_embed_forward(float *h, const float *x, const int *tpos, const int *rpos,
                            const vs__clipw *w, int B, int Nt, int D, int C) {
    int N = Nt + 1;
    for (int b = 0; b < B; b++) {
        float *hb = h + (size_t)b * N * C;
        memcpy(hb, w->cls, sizeof(float) * (size_t)C);
        vs__linear_forward(hb + C, x + (size_t)b * Nt * D, w->embed_w, w->embed_b, Nt, D, C);
        for (int i = 0; i < Nt; i++) {
            float *row = hb + (size_t)(1 + i) * C;
            const float *ps = w->pos_s + (size_t)rpos[b * Nt + i] * C;
            const float *pt = w->pos_t + (size_t)tpos[b * Nt + i] * C;
            for (int k = 0; k < C; k++) row[k] += ps[k] + pt[k];
        }
    }
}

void vs__clip_embed_backward(const vs__clipw *g, const float *dh, const float *x,
                             const int *tpos, const int *rpos, int B, int Nt, int D, int C) {
    int N = Nt + 1;
    for (int b = 0; b < B; b++) {
        const float *db = dh + (size_t)b * N * C;
        if (g->cls)
            for (int k = 0; k < C; k++) g->cls[k] += db[k];
        vs__linear_backward(NULL, g->embed_w, g->embed_b, db + C, x + (size_t)b * Nt * D, NULL, Nt,
                            D, C);
        for (int i = 0; i < Nt; i++) {
            const float *row = db + (size_t)(1 + i) * C;
            float *ps = g->pos_s ? g->pos_s + (size_t)rpos[b * Nt + i] * C : NULL;
            float *pt = g->pos_t ? g->pos_t + (size_t)tpos[b * Nt + i] * C : NULL;
            for (int k = 0; k < C; k++) {
                if (ps) ps[k] += row[k];
                if (pt) pt[k] += row[k];
            }
        }
    }
}

/* ------------------------------------------------------------------ cache */

static vs_status enc_cache_create(vs__clipenc_cache *c, const vs_clipmodel_config *cfg, int B,
                                  int N, int train) {
    memset(c, 0, sizeof *c);
    vs__block_dims bd = vs__clip_block_dims(cfg);
    size_t act = (size_t)B * N * cfg->width;
    size_t bcf = vs__block_cache_floats(B, N, &bd);
    int nblk = train ? cfg->depth : 1;            /* inference reuses one block cache */
    int nh = train ? cfg->depth : 2;              /* ... and ping-pongs two activations */
    size_t total = act /*h0*/ + (size_t)nh * act + (size_t)nblk * bcf + act + 2 * (size_t)B * N;
    c->buf = vs__malloc_aligned(sizeof(float) * total);
    if (!c->buf) return vs__err(VS_ERR_NOMEM, "clip model: out of memory for %d clips", B);
    float *p = c->buf;
    c->h0 = p, p += act;
    for (int l = 0; l < cfg->depth; l++) c->hs[l] = train ? p + (size_t)l * act : p + (size_t)(l & 1) * act;
    p += (size_t)nh * act;
    for (int l = 0; l < cfg->depth; l++)
        vs__block_cache_bind(&c->bc[l], p + (size_t)(train ? l : 0) * bcf, B, N, &bd);
    p += (size_t)nblk * bcf;
    c->ln = p, p += act;
    c->ln_mean = p, p += (size_t)B * N;
    c->ln_rstd = p;
    c->Bmax = B;
    c->Nmax = N;
    return VS_OK;
}

vs_status vs__clipenc_cache_create(vs__clipenc_cache *c, const vs_clipmodel_config *cfg, int B,
                                   int N) {
    return enc_cache_create(c, cfg, B, N, 1);
}

void vs__clipenc_cache_free(vs__clipenc_cache *c) {
    if (!c) return;
    vs__free_aligned(c->buf);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------ encoder */

void vs__clipenc_forward(vs__clipenc_cache *c, const float *x, const int *tpos, const int *rpos,
                         const vs__clipw *w, const vs_clipmodel_config *cfg, int B, int Nt) {
    int N = Nt + 1, C = cfg->width;
    VS__ASSERT(B <= c->Bmax && N <= c->Nmax);
    vs__block_dims bd = vs__clip_block_dims(cfg);
    vs__clip_embed_forward(c->h0, x, tpos, rpos, w, B, Nt, cfg->D, C);
    const float *in = c->h0;
    for (int l = 0; l < cfg->depth; l++) {
        vs__block_forward(c->hs[l], &c->bc[l], in, &w->blk[l], NULL, B, N, &bd);
        in = c->hs[l];
    }
    vs__layernorm_forward(c->ln, c->ln_mean, c->ln_rstd, in, w->norm_w, w->norm_b,
                          VS__CLIP_LN_EPS, B * N, C);
}

size_t vs__clipenc_scratch_floats(const vs_clipmodel_config *cfg, int B, int N) {
    vs__block_dims bd = vs__clip_block_dims(cfg);
    return 2 * (size_t)B * N * cfg->width + vs__block_scratch_floats(B, N, &bd);
}

void vs__clipenc_backward(const vs__clipw *g, float *scratch, const float *dln, const float *x,
                          const int *tpos, const int *rpos, const vs__clipenc_cache *c,
                          const vs__clipw *w, const vs_clipmodel_config *cfg, int B, int Nt) {
    int N = Nt + 1, C = cfg->width;
    size_t act = (size_t)B * N * C;
    vs__block_dims bd = vs__clip_block_dims(cfg);
    float *da = scratch, *db = scratch + act, *bscr = scratch + 2 * act;
    const float *last = c->hs[cfg->depth - 1];
    memset(da, 0, sizeof(float) * act);
    vs__layernorm_backward(da, g->norm_w, g->norm_b, dln, last, w->norm_w, c->ln_mean, c->ln_rstd,
                           B * N, C);
    for (int l = cfg->depth - 1; l >= 0; l--) {
        const float *in = l > 0 ? c->hs[l - 1] : c->h0;
        memset(db, 0, sizeof(float) * act);
        vs__block_backward(db, &g->blk[l], bscr, da, in, &c->bc[l], &w->blk[l], NULL, B, N, &bd);
        float *t = da;
        da = db;
        db = t;
    }
    vs__clip_embed_backward(g, da, x, tpos, rpos, B, Nt, cfg->D, C);
}

/* ------------------------------------------------------------------ pooling */

void vs__clip_pool_forward(float *out, const float *ln, int B, int N, int C, int pool) {
    for (int b = 0; b < B; b++) {
        const float *lb = ln + (size_t)b * N * C;
        float *o = out + (size_t)b * C;
        if (pool == VS_CLIP_POOL_CLS || N < 2) {
            memcpy(o, lb, sizeof(float) * (size_t)C);
            continue;
        }
        memset(o, 0, sizeof(float) * (size_t)C);
        for (int i = 1; i < N; i++)
            for (int k = 0; k < C; k++) o[k] += lb[(size_t)i * C + k];
        float inv = 1.0f / (float)(N - 1);
        for (int k = 0; k < C; k++) o[k] *= inv;
    }
}

void vs__clip_pool_backward(float *dln, const float *dout, int B, int N, int C, int pool) {
    for (int b = 0; b < B; b++) {
        float *db = dln + (size_t)b * N * C;
        const float *g = dout + (size_t)b * C;
        if (pool == VS_CLIP_POOL_CLS || N < 2) {
            for (int k = 0; k < C; k++) db[k] += g[k];
            continue;
        }
        float inv = 1.0f / (float)(N - 1);
        for (int i = 1; i < N; i++)
            for (int k = 0; k < C; k++) db[(size_t)i * C + k] += g[k] * inv;
    }
}

/* ------------------------------------------------------------------ inference */

#define ENCODE_CHUNK 16 /* clips per forward pass: bounds scratch to ~10 MB */

vs_status vs_clipmodel_encode(const vs_clipmodel *m, float *out, const float *x, int T, int R,
                              int D) {
    const vs_clipmodel_config *cfg = &m->cfg;
    if (T < 1) return vs__err(VS_ERR_INVALID_ARG, "clip model: video has no frames");
    if (R != cfg->R || D != cfg->D)
        return vs__err(VS_ERR_INVALID_ARG,
                       "clip model: features have R=%d D=%d, the model expects R=%d D=%d", R, D,
                       cfg->R, cfg->D);
    int F = cfg->F, Nt = F * R, C = cfg->width;
    int n = vs__clip_count(T, F);
    if (m->meanpool) { /* training-free: mean of the clip's tokens (with the same padding) */
        for (int c = 0; c < n; c++) {
            int start = c * F, len = T - start < F ? T - start : F;
            float *o = out + (size_t)c * D;
            memset(o, 0, sizeof(float) * (size_t)D);
            for (int f = 0; f < F; f++) {
                const float *xf = x + (size_t)(start + f % len) * R * D;
                for (int i = 0; i < R * D; i++) o[i % D] += xf[i];
            }
            double ss = 0;
            for (int k = 0; k < D; k++) ss += (double)o[k] * o[k];
            float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
            for (int k = 0; k < D; k++) o[k] *= inv;
        }
        return VS_OK;
    }
    int B = n < ENCODE_CHUNK ? n : ENCODE_CHUNK;
    vs__clipenc_cache c;
    vs_status st = enc_cache_create(&c, cfg, B, Nt + 1, 0);
    if (st != VS_OK) return st;
    float *xs = vs__malloc_aligned(sizeof(float) * (size_t)B * Nt * D);
    int *pos = vs__malloc(sizeof(int) * 2 * (size_t)B * Nt);
    if (!xs || !pos) {
        st = vs__err(VS_ERR_NOMEM, "clip model: out of memory");
        goto out;
    }
    int *tpos = pos, *rpos = pos + (size_t)B * Nt;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < Nt; i++) {
            tpos[b * Nt + i] = i / R;
            rpos[b * Nt + i] = i % R;
        }
    for (int c0 = 0; c0 < n; c0 += B) {
        int nb = n - c0 < B ? n - c0 : B;
        for (int b = 0; b < nb; b++)
            vs__clip_gather(xs + (size_t)b * Nt * D, x, T, R, D, F, c0 + b);
        vs__clipenc_forward(&c, xs, tpos, rpos, &m->w, cfg, nb, Nt);
        float *o0 = out + (size_t)c0 * C;
        vs__clip_pool_forward(o0, c.ln, nb, Nt + 1, C, cfg->pool);
        for (int b = 0; b < nb; b++) {
            const float *cls = o0 + (size_t)b * C;
            double ss = 0;
            for (int k = 0; k < C; k++) ss += (double)cls[k] * cls[k];
            float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
            float *o = out + (size_t)(c0 + b) * C;
            for (int k = 0; k < C; k++) o[k] = cls[k] * inv;
        }
    }
out:
    vs__free(pos);
    vs__free_aligned(xs);
    vs__clipenc_cache_free(&c);
    return st;
}
