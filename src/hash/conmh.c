/*
 * conmh.c - ConMH compute: one masked view through encoder, hash layer and decoder
 * (Transformer.forward of the official model/conmh.py), the debiased contrastive loss
 * (Loss/conmh_loss.py dcl) and the training objective with its backward pass
 * (conmh_criterion: L = mse(view 1) + mse(view 2) + a * dcl(mean codes)).
 *
 * The encoder embeds only the visible frames (the reference embeds all and then drops
 * the masked rows: the same numbers). The binarisation and its straight-through
 * gradient follow the reference exactly, including its corner cases (see
 * vs__conmh_binarize). All activations live in one workspace block sized up front.
 */
#include "hash/conmh.h"
#include "nn/nn.h"

#include <math.h>
#include <string.h>

float vs__conmh_binarize(float x) {
    /* hard_sigmoid then 2*Round3 - 1; torch.round rounds half to even (rintf) */
    float y = (x + 1.0f) / 2.0f;
    if (y > 1.0f)
        y = 1.0f;
    if (y < 0.0f)
        y = 0.0f;
    return 2.0f * rintf(y) - 1.0f;
}

int vs__conmh_ste_pass(float x) {
    /* the in-place clamps zero the gradient where y > 1 or y < 0; Round3.backward zeroes
     * it where the (clamped) y == 0 */
    float y = (x + 1.0f) / 2.0f;
    return y > 0.0f && y <= 1.0f;
}

/* ------------------------------------------------------------------ workspace */
typedef struct carve {
    float *base;
    size_t n;
} carve;

static float *take(carve *cv, size_t n) {
    float *p = cv->base ? cv->base + cv->n : NULL;
    cv->n += (n + 15) & ~(size_t)15; /* 64-byte granules */
    return p;
}

static void layout_view(vs__conmh_view *v, carve *cv, const vs__conmh_cfg *c, int B, int nv,
                        int with_dec) {
    vs__block_dims ed = vs__conmh_enc_dims(c), dd = vs__conmh_dec_dims(c);
    size_t T = (size_t)c->T, F = (size_t)c->F, Ce = (size_t)c->enc_C, Cd = (size_t)c->dec_C,
           nb = (size_t)c->nbits, Bn = (size_t)B * (size_t)nv;
    int nm = with_dec ? c->T - nv : 0;
    size_t Bm = (size_t)B * (size_t)nm;
    v->B = B;
    v->nv = nv;
    v->nm = nm;
    v->with_dec = with_dec;
    v->vis = (int32_t *)take(cv, Bn);
    v->msk = (int32_t *)take(cv, Bm);
    v->xv = take(cv, Bn * F);
    v->enc_x = take(cv, (size_t)(c->enc_depth + 1) * Bn * Ce);
    for (int l = 0; l < c->enc_depth; l++) {
        float *b = take(cv, vs__block_cache_floats(B, nv, &ed));
        if (b)
            vs__block_cache_bind(&v->enc_c[l], b, B, nv, &ed);
    }
    v->enorm = take(cv, Bn * Ce);
    v->enorm_mean = take(cv, Bn);
    v->enorm_rstd = take(cv, Bn);
    v->enc_out = take(cv, Bn * Ce);
    v->hlin = take(cv, Bn * nb);
    v->hpre = take(cv, Bn * nb);
    v->h_mean = take(cv, Bn);
    v->h_rstd = take(cv, Bn);
    v->code = take(cv, Bn * nb);
    v->vcode = take(cv, (size_t)B * nb);
    if (!with_dec)
        return;
    v->dcode = take(cv, Bn * nb);
    v->dpre = take(cv, Bn * nb);
    v->e2d = take(cv, Bn * Cd);
    v->dec_x = take(cv, (size_t)(c->dec_depth + 1) * (size_t)B * T * Cd);
    for (int l = 0; l < c->dec_depth; l++) {
        float *b = take(cv, vs__block_cache_floats(B, c->T, &dd));
        if (b)
            vs__block_cache_bind(&v->dec_c[l], b, B, c->T, &dd);
    }
    v->dtail = take(cv, Bm * Cd);
    v->dnorm = take(cv, Bm * Cd);
    v->dn_mean = take(cv, Bm);
    v->dn_rstd = take(cv, Bm);
    v->rec = take(cv, Bm * F);
    v->tgt = take(cv, Bm * F);
}

static void layout(vs__conmh_ws *ws, carve *cv, const vs__conmh_cfg *c, int B, int nv,
                   int with_dec) {
    layout_view(&ws->view[0], cv, c, B, nv, with_dec);
    if (!with_dec)
        return;
    layout_view(&ws->view[1], cv, c, B, nv, with_dec);
    vs__block_dims ed = vs__conmh_enc_dims(c), dd = vs__conmh_dec_dims(c);
    size_t T = (size_t)c->T, F = (size_t)c->F, Ce = (size_t)c->enc_C, Cd = (size_t)c->dec_C,
           nb = (size_t)c->nbits, Bn = (size_t)B * (size_t)nv,
           Bm = (size_t)B * (size_t)(c->T - nv);
    ws->d_rec = take(cv, Bm * F);
    ws->d_dnorm = take(cv, Bm * Cd);
    ws->d_dtail = take(cv, Bm * Cd);
    ws->d_dx[0] = take(cv, (size_t)B * T * Cd);
    ws->d_dx[1] = take(cv, (size_t)B * T * Cd);
    ws->d_e2d = take(cv, Bn * Cd);
    ws->d_hlin = take(cv, Bn * nb);
    ws->d_encout = take(cv, Bn * Ce);
    ws->d_enorm = take(cv, Bn * Ce);
    ws->d_ex[0] = take(cv, Bn * Ce);
    ws->d_ex[1] = take(cv, Bn * Ce);
    size_t se = vs__block_scratch_floats(B, nv, &ed), sd = vs__block_scratch_floats(B, c->T, &dd);
    ws->scr = take(cv, se > sd ? se : sd);
    ws->dh[0] = take(cv, (size_t)B * nb);
    ws->dh[1] = take(cv, (size_t)B * nb);
    ws->mask[0] = (uint8_t *)take(cv, ((size_t)B * T + 3) / 4);
    ws->mask[1] = (uint8_t *)take(cv, ((size_t)B * T + 3) / 4);
}

vs_status vs__conmh_ws_create(vs__conmh_ws *ws, const vs__conmh_cfg *c, int B, int nv,
                              int with_dec) {
    memset(ws, 0, sizeof *ws);
    if (B < 1 || nv < 1 || nv > c->T || (with_dec && nv == c->T))
        return vs__err(VS_ERR_INVALID_ARG, "ConMH workspace: bad sizes B=%d visible=%d T=%d", B,
                       nv, c->T);
    carve cv = {NULL, 0};
    layout(ws, &cv, c, B, nv, with_dec);
    ws->buf = vs__calloc(cv.n, sizeof(float));
    if (with_dec)
        ws->dcl_scr = vs__malloc(sizeof(double) * vs__conmh_dcl_scratch(B, c->nbits));
    if (!ws->buf || (with_dec && !ws->dcl_scr)) {
        vs__conmh_ws_free(ws);
        return vs__err(VS_ERR_NOMEM, "ConMH workspace: out of memory (%zu MB)",
                       cv.n * sizeof(float) >> 20);
    }
    cv.base = ws->buf;
    cv.n = 0;
    layout(ws, &cv, c, B, nv, with_dec);
    ws->B = B;
    ws->T = c->T;
    return VS_OK;
}

void vs__conmh_ws_free(vs__conmh_ws *ws) {
    if (!ws)
        return;
    vs__free(ws->buf);
    vs__free(ws->dcl_scr);
    memset(ws, 0, sizeof *ws);
}

/* ------------------------------------------------------------------ forward */
void vs__conmh_view_forward(const vs__conmh *m, vs__conmh_view *v, const float *x,
                            const uint8_t *mask, int relax) {
    const vs__conmh_cfg *c = &m->cfg;
    const vs__conmh_p *p = &m->p;
    vs__block_dims ed = vs__conmh_enc_dims(c), dd = vs__conmh_dec_dims(c);
    const int B = v->B, nv = v->nv, nm = v->nm, T = c->T, F = c->F, Ce = c->enc_C,
              Cd = c->dec_C, nb = c->nbits;
    const long Bn = (long)B * nv, Bm = (long)B * nm;
    /* visible / masked positions in temporal order */
    for (int b = 0; b < B; b++) {
        int iv = 0, im = 0;
        for (int t = 0; t < T; t++) {
            if (mask && mask[(long)b * T + t]) {
                if (im < nm)
                    v->msk[(long)b * nm + im] = t;
                im++;
            } else {
                if (iv < nv)
                    v->vis[(long)b * nv + iv] = t;
                iv++;
            }
        }
        VS__ASSERT(iv == nv && (!v->with_dec || im == nm));
    }
    /* encoder: patch_embed on the visible frames + their position codes */
    for (long r = 0; r < Bn; r++) {
        long b = r / nv;
        memcpy(v->xv + r * F, x + (b * T + v->vis[r]) * (long)F, sizeof(float) * (size_t)F);
    }
    vs__linear_forward(v->enc_x, v->xv, p->pe_w, p->pe_b, (int)Bn, F, Ce);
    for (long r = 0; r < Bn; r++) {
        const float *pe = m->pos_e + (long)v->vis[r] * Ce;
        float *e = v->enc_x + r * Ce;
        for (int i = 0; i < Ce; i++) e[i] += pe[i];
    }
    for (int l = 0; l < c->enc_depth; l++)
        vs__block_forward(v->enc_x + (l + 1) * Bn * Ce, &v->enc_c[l], v->enc_x + l * Bn * Ce,
                          &p->enc[l], NULL, B, nv, &ed);
    vs__layernorm_forward(v->enorm, v->enorm_mean, v->enorm_rstd,
                          v->enc_x + (long)c->enc_depth * Bn * Ce, p->en_w, p->en_b, c->ln_eps,
                          (int)Bn, Ce);
    vs__linear_forward(v->enc_out, v->enorm, p->eh_w, p->eh_b, (int)Bn, Ce, Ce);
    /* hash layer */
    vs__linear_forward(v->hlin, v->enc_out, p->bin_w, p->bin_b, (int)Bn, Ce, nb);
    vs__layernorm_forward(v->hpre, v->h_mean, v->h_rstd, v->hlin, p->ln_w, p->ln_b, c->hash_eps,
                          (int)Bn, nb);
    for (long i = 0; i < Bn * nb; i++)
        v->code[i] = relax ? v->hpre[i] : vs__conmh_binarize(v->hpre[i]);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < nb; k++) {
            float s = 0.0f;
            for (int i = 0; i < nv; i++) s += v->code[((long)b * nv + i) * nb + k];
            v->vcode[(long)b * nb + k] = s / (float)nv;
        }
    if (!v->with_dec)
        return;
    /* decoder input: [codes.W + PE(visible) ; mask_token + PE(masked)] */
    vs__linear_forward(v->e2d, v->code, p->e2d_w, NULL, (int)Bn, nb, Cd);
    float *dx = v->dec_x;
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < nv; i++) {
            float *o = dx + ((long)b * T + i) * Cd;
            const float *e = v->e2d + ((long)b * nv + i) * Cd;
            const float *pe = m->pos_d + (long)v->vis[(long)b * nv + i] * Cd;
            for (int k = 0; k < Cd; k++) o[k] = e[k] + pe[k];
        }
        for (int j = 0; j < nm; j++) {
            float *o = dx + ((long)b * T + nv + j) * Cd;
            const float *pe = m->pos_d + (long)v->msk[(long)b * nm + j] * Cd;
            for (int k = 0; k < Cd; k++) o[k] = p->mask_token[k] + pe[k];
        }
    }
    const long BTd = (long)B * T * Cd;
    for (int l = 0; l < c->dec_depth; l++)
        vs__block_forward(dx + (l + 1) * BTd, &v->dec_c[l], dx + l * BTd, &p->dec[l], NULL, B, T,
                          &dd);
    const float *dlast = dx + (long)c->dec_depth * BTd;
    for (int b = 0; b < B; b++)
        memcpy(v->dtail + (long)b * nm * Cd, dlast + ((long)b * T + nv) * Cd,
               sizeof(float) * (size_t)nm * (size_t)Cd);
    vs__layernorm_forward(v->dnorm, v->dn_mean, v->dn_rstd, v->dtail, p->dn_w, p->dn_b,
                          c->ln_eps, (int)Bm, Cd);
    vs__linear_forward(v->rec, v->dnorm, p->dh_w, p->dh_b, (int)Bm, Cd, F);
    double se = 0.0;
    for (long r = 0; r < Bm; r++) {
        long b = r / nm;
        const float *t = x + (b * T + v->msk[r]) * (long)F;
        memcpy(v->tgt + r * F, t, sizeof(float) * (size_t)F);
        const float *rr = v->rec + r * F;
        for (int k = 0; k < F; k++) {
            double d = (double)rr[k] - t[k];
            se += d * d;
        }
    }
    v->mse = se / ((double)Bm * F);
}

/* ------------------------------------------------------------------ DCL */
size_t vs__conmh_dcl_scratch(int B, int nb) {
    size_t n2 = 2 * (size_t)B;
    return n2 * (size_t)nb * 2 + n2 * n2 + n2 * 5;
}

double vs__conmh_dcl(float *d1, float *d2, double *scr, const float *h1, const float *h2, int B,
                     int nb, double t, double tau, double scale) {
    const int n2 = 2 * B;
    double *u = scr;                      /* [2B,nb] normalised codes */
    double *du = u + (size_t)n2 * nb;     /* [2B,nb] */
    double *S = du + (size_t)n2 * nb;     /* [2B,2B] cosine similarities */
    double *nrm = S + (size_t)n2 * n2;    /* [2B] */
    double *pos = nrm + n2, *ng = pos + n2, *clamped = ng + n2, *den = clamped + n2;
    for (int i = 0; i < n2; i++) {
        const float *h = i < B ? h1 + (long)i * nb : h2 + (long)(i - B) * nb;
        double s = 0.0;
        for (int k = 0; k < nb; k++) s += (double)h[k] * h[k];
        double n = sqrt(s);
        nrm[i] = n > 1e-12 ? n : 1e-12;
        for (int k = 0; k < nb; k++) u[(long)i * nb + k] = h[k] / nrm[i];
    }
    for (int i = 0; i < n2; i++)
        for (int j = 0; j < n2; j++) {
            double s = 0.0;
            for (int k = 0; k < nb; k++) s += u[(long)i * nb + k] * u[(long)j * nb + k];
            S[(long)i * n2 + j] = s;
        }
    const double N = (double)(n2 - 2), floor_ng = N * exp(-1.0 / t);
    double loss = 0.0;
    for (int i = 0; i < n2; i++) {
        int pi = i < B ? i + B : i - B;
        pos[i] = exp(S[(long)(i < B ? i : pi) * n2 + (i < B ? pi : i)] / t);
        double neg = 0.0;
        for (int j = 0; j < n2; j++)
            if (j != i && j != pi)
                neg += exp(S[(long)i * n2 + j] / t);
        double g = (-tau * N * pos[i] + neg) / (1.0 - tau);
        clamped[i] = g < floor_ng;
        ng[i] = clamped[i] ? floor_ng : g;
        den[i] = pos[i] + ng[i];
        loss += log(den[i]) - log(pos[i]);
    }
    loss /= n2;
    if (!d1 && !d2)
        return loss;
    /* backward: dL/dpos_i, dL/dneg_i, then through S = u u^T and the normalisation */
    const double gl = scale / n2;
    memset(du, 0, sizeof(double) * (size_t)n2 * nb);
    for (int i = 0; i < n2; i++) {
        int pi = i < B ? i + B : i - B;
        double dneg = clamped[i] ? 0.0 : gl / ((1.0 - tau) * den[i]);
        if (dneg != 0.0)
            for (int j = 0; j < n2; j++) {
                if (j == i || j == pi)
                    continue;
                double gij = dneg * exp(S[(long)i * n2 + j] / t) / t;
                /* S_ij = u_i . u_j */
                for (int k = 0; k < nb; k++) {
                    du[(long)i * nb + k] += gij * u[(long)j * nb + k];
                    du[(long)j * nb + k] += gij * u[(long)i * nb + k];
                }
            }
    }
    for (int b = 0; b < B; b++) {
        /* pos_b (shared by anchors b and b+B) = exp(u_b . u_{b+B} / t) */
        double dp = 0.0;
        for (int r = 0; r < 2; r++) {
            int i = b + r * B;
            double dng_dpos = clamped[i] ? 0.0 : -tau * N / (1.0 - tau);
            dp += gl * ((1.0 + dng_dpos) / den[i] - 1.0 / pos[i]);
        }
        double gs = dp * pos[b] / t;
        for (int k = 0; k < nb; k++) {
            du[(long)b * nb + k] += gs * u[(long)(b + B) * nb + k];
            du[(long)(b + B) * nb + k] += gs * u[(long)b * nb + k];
        }
    }
    for (int i = 0; i < n2; i++) {
        float *d = i < B ? (d1 ? d1 + (long)i * nb : NULL) : (d2 ? d2 + (long)(i - B) * nb : NULL);
        if (!d)
            continue;
        const double *ui = u + (long)i * nb, *dui = du + (long)i * nb;
        double dot = 0.0;
        for (int k = 0; k < nb; k++) dot += ui[k] * dui[k];
        int tiny = nrm[i] <= 1e-12;
        for (int k = 0; k < nb; k++)
            d[k] = (float)((tiny ? dui[k] : dui[k] - ui[k] * dot) / nrm[i]);
    }
    return loss;
}

/* ------------------------------------------------------------------ backward */
static void view_backward(const vs__conmh *m, const vs__conmh_p *g, vs__conmh_ws *ws,
                          vs__conmh_view *v, const float *dh, const vs__conmh_loss_cfg *lc) {
    const vs__conmh_cfg *c = &m->cfg;
    const vs__conmh_p *p = &m->p;
    vs__block_dims ed = vs__conmh_enc_dims(c), dd = vs__conmh_dec_dims(c);
    const int B = v->B, nv = v->nv, nm = v->nm, T = c->T, F = c->F, Ce = c->enc_C,
              Cd = c->dec_C, nb = c->nbits;
    const long Bn = (long)B * nv, Bm = (long)B * nm, BTd = (long)B * T * Cd;
    /* L_rec = scale * mean((rec - tgt)^2) */
    const float k = (float)(2.0 * lc->recon_scale / ((double)Bm * F));
    for (long i = 0; i < Bm * F; i++) ws->d_rec[i] = k * (v->rec[i] - v->tgt[i]);
    memset(ws->d_dnorm, 0, sizeof(float) * (size_t)(Bm * Cd));
    vs__linear_backward(ws->d_dnorm, g->dh_w, g->dh_b, ws->d_rec, v->dnorm, p->dh_w, (int)Bm, Cd,
                        F);
    memset(ws->d_dtail, 0, sizeof(float) * (size_t)(Bm * Cd));
    vs__layernorm_backward(ws->d_dtail, g->dn_w, g->dn_b, ws->d_dnorm, v->dtail, p->dn_w,
                           v->dn_mean, v->dn_rstd, (int)Bm, Cd);
    /* gradient w.r.t. the last decoder activation: only the masked tail rows */
    float *dcur = ws->d_dx[0], *dprev = ws->d_dx[1];
    memset(dcur, 0, sizeof(float) * (size_t)BTd);
    for (int b = 0; b < B; b++)
        memcpy(dcur + ((long)b * T + nv) * Cd, ws->d_dtail + (long)b * nm * Cd,
               sizeof(float) * (size_t)nm * (size_t)Cd);
    for (int l = c->dec_depth - 1; l >= 0; l--) {
        memset(dprev, 0, sizeof(float) * (size_t)BTd);
        vs__block_backward(dprev, &g->dec[l], ws->scr, dcur, v->dec_x + l * BTd, &v->dec_c[l],
                           &p->dec[l], NULL, B, T, &dd);
        float *t = dcur;
        dcur = dprev;
        dprev = t;
    }
    /* decoder input: visible rows came from e2d, masked rows from mask_token */
    for (int b = 0; b < B; b++) {
        memcpy(ws->d_e2d + (long)b * nv * Cd, dcur + (long)b * T * Cd,
               sizeof(float) * (size_t)nv * (size_t)Cd);
        if (g->mask_token)
            for (int j = 0; j < nm; j++) {
                const float *d = dcur + ((long)b * T + nv + j) * Cd;
                for (int q = 0; q < Cd; q++) g->mask_token[q] += d[q];
            }
    }
    memset(v->dcode, 0, sizeof(float) * (size_t)(Bn * nb));
    vs__linear_backward(v->dcode, g->e2d_w, NULL, ws->d_e2d, v->code, p->e2d_w, (int)Bn, nb, Cd);
    /* contrastive term: video code = mean over the visible frames */
    for (int b = 0; b < B; b++)
        for (int i = 0; i < nv; i++)
            for (int q = 0; q < nb; q++)
                v->dcode[((long)b * nv + i) * nb + q] += dh[(long)b * nb + q] / (float)nv;
    /* straight-through estimator */
    for (long i = 0; i < Bn * nb; i++)
        v->dpre[i] = (lc->relax || vs__conmh_ste_pass(v->hpre[i])) ? v->dcode[i] : 0.0f;
    memset(ws->d_hlin, 0, sizeof(float) * (size_t)(Bn * nb));
    vs__layernorm_backward(ws->d_hlin, g->ln_w, g->ln_b, v->dpre, v->hlin, p->ln_w, v->h_mean,
                           v->h_rstd, (int)Bn, nb);
    memset(ws->d_encout, 0, sizeof(float) * (size_t)(Bn * Ce));
    vs__linear_backward(ws->d_encout, g->bin_w, g->bin_b, ws->d_hlin, v->enc_out, p->bin_w,
                        (int)Bn, Ce, nb);
    memset(ws->d_enorm, 0, sizeof(float) * (size_t)(Bn * Ce));
    vs__linear_backward(ws->d_enorm, g->eh_w, g->eh_b, ws->d_encout, v->enorm, p->eh_w, (int)Bn,
                        Ce, Ce);
    float *ecur = ws->d_ex[0], *eprev = ws->d_ex[1];
    memset(ecur, 0, sizeof(float) * (size_t)(Bn * Ce));
    vs__layernorm_backward(ecur, g->en_w, g->en_b, ws->d_enorm,
                           v->enc_x + (long)c->enc_depth * Bn * Ce, p->en_w, v->enorm_mean,
                           v->enorm_rstd, (int)Bn, Ce);
    for (int l = c->enc_depth - 1; l >= 0; l--) {
        memset(eprev, 0, sizeof(float) * (size_t)(Bn * Ce));
        vs__block_backward(eprev, &g->enc[l], ws->scr, ecur, v->enc_x + l * Bn * Ce,
                           &v->enc_c[l], &p->enc[l], NULL, B, nv, &ed);
        float *t = ecur;
        ecur = eprev;
        eprev = t;
    }
    vs__linear_backward(NULL, g->pe_w, g->pe_b, ecur, v->xv, p->pe_w, (int)Bn, F, Ce);
}

void vs__conmh_loss_backward(const vs__conmh *m, const vs__conmh_p *g, vs__conmh_ws *ws,
                             const float *x, const uint8_t *masks, const vs__conmh_loss_cfg *lc,
                             vs__conmh_loss *out) {
    const int B = ws->B, T = ws->T, nb = m->cfg.nbits;
    for (int v = 0; v < 2; v++) {
        for (int b = 0; b < B; b++)
            memcpy(ws->mask[v] + (long)b * T, masks + ((long)b * 2 + v) * T, (size_t)T);
        vs__conmh_view_forward(m, &ws->view[v], x, ws->mask[v], lc->relax);
    }
    double recon = lc->recon_scale * (ws->view[0].mse + ws->view[1].mse);
    double dcl = vs__conmh_dcl(g ? ws->dh[0] : NULL, g ? ws->dh[1] : NULL, ws->dcl_scr,
                               ws->view[0].vcode, ws->view[1].vcode, B, nb, lc->temperature,
                               lc->tau_plus, lc->alpha);
    out->recon = recon;
    out->dcl = dcl;
    out->total = recon + lc->alpha * dcl;
    if (!g)
        return;
    for (int v = 0; v < 2; v++) view_backward(m, g, ws, &ws->view[v], ws->dh[v], lc);
}

void vs__conmh_video_code(float *sign_out, uint64_t *bits, const float *frame_codes, int T,
                          int nb) {
    if (bits)
        memset(bits, 0, sizeof(uint64_t) * (size_t)((nb + 63) / 64));
    for (int k = 0; k < nb; k++) {
        float s = 0.0f; /* sums of +-1: exact */
        for (int t = 0; t < T; t++) s += frame_codes[(long)t * nb + k];
        if (sign_out)
            sign_out[k] = s > 0.0f ? 1.0f : (s < 0.0f ? -1.0f : 0.0f);
        if (bits && s >= 0.0f)
            bits[k / 64] |= 1ULL << (k % 64);
    }
}
