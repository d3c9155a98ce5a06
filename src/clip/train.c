/*
 * train.c - self-supervised training of the 3D-CSL-F clip model on frozen region features:
 *   stage 1, PredMAE-F: random clips; the last `mask_last` frames are masked entirely
 *     (prediction) and random region tubes of the earlier frames up to `mask_ratio`; the
 *     encoder sees the visible tokens only, the light decoder predicts the masked tokens'
 *     frozen features (loss: 1 - cos, or MSE);
 *   stage 2, ShotMix + FCS: K distinct videos per step; per video an anchor segment of m
 *     clean clips and a positive view (temporal offset, speed change, frame dropout,
 *     ShotMix: foreign frames spliced in / a 2x2 block of regions from another video,
 *     region dropout, noise); loss = FCS (losses.c) on the L2-normalised clip vectors.
 * AdamW (the optimiser core, src/optim) with warm-up + cosine per stage, no decay on
 * biases, norms, embeddings and tokens; moments reset between stages. Checkpoints are
 * VSTF files in the trainers' common layout: the parameters and adam.m/v.<name> per
 * tensor, train.step / adam_step / rng, and the sampler state.
 * Not here: reading feature files (the caller adds videos), the CLI.
 */
#include "clip/clip_internal.h"

#include "core/tensorfile.h"
#include "optim/optim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OFFSET 4      /* stage 2: positive clips start within +-4 s of the anchor's */
#define SPEED_P 0.3       /* stage 2: probability of a speed change of a positive clip */
#define FRAME_DROP_P 0.1  /* ... of a frame replaced by its predecessor */
#define REGION_DROP_P 0.1 /* ... of a token zeroed */
#define NOISE_SIGMA 0.02f /* ... Gaussian noise on every token */

typedef struct {
    float *x;      /* [T,R,D] */
    int T;
    float **views; /* [n_views] frame-aligned augmented copies [T,R,D] */
    int n_views;
} video;

#define VIEW_P 0.8 /* stage 2: probability a positive clip reads an augmented view */

/* Step buffers of one stage (allocated at its first step). */
typedef struct {
    int stage;                 /* 0 = none */
    int B, Nv, Nm;             /* stage 1: clips, visible and masked tokens per clip */
    int Bc;                    /* stage 2: clips encoded per step (capacity) */
    float *xs;                 /* tokens fed to the encoder */
    int *tpos, *rpos, *vpos, *mpos;
    float *tgt, *pred, *dpred; /* stage 1 */
    float *de;                 /* stage 1: dL/d(encoder output) */
    float *V, *norms, *dV, *dln, *dpool; /* stage 2 */
    float *scratch;
    vs__clipenc_cache enc;
    vs__clipdec_cache dec;
} bufs;

struct vs_cliptrain {
    vs_clipmodel_config cfg;
    vs_cliptrain_params p;
    long n, n_enc;             /* floats with / without the decoder */
    float *params;             /* [n] the block (encoder then decoder) */
    vs__optim opt;             /* gradients and moments, parallel to params */
    vs__clipw w, g;
    vs__clipparam *tab;
    int ntab;
    long done;
    uint64_t rng;
    video *vids;
    int nv, cap;
    long expect_videos, expect_frames; /* from a checkpoint: the training set it saw */
    bufs b;
};

vs_cliptrain_params vs_cliptrain_default_params(void) {
    vs_cliptrain_params p;
    p.stages = VS_CLIP_STAGE_PREDMAE | VS_CLIP_STAGE_FCS;
    p.iters_predmae = 300;
    p.iters_fcs = 300;
    p.batch = 16;
    p.lr = 5e-4f;
    p.weight_decay = 0.05f;
    p.mask_ratio = 0.75f;
    p.mask_last = 2;
    p.predmae_mse = 0;
    p.seg_clips = 4;
    p.margin = 0.3f;
    p.clip_weight = 1.0f;
    p.shotmix_p = 0.5f;
    p.pip_p = 0.25f;
    p.seed = 1;
    return p;
}

static vs_status check_params(const vs_cliptrain_params *p, const vs_clipmodel_config *c) {
    if (!(p->stages & 3) || (p->stages & ~3) || p->iters_predmae < 0 || p->iters_fcs < 0 ||
        p->batch < 1 || p->batch > 1024 || !(p->lr > 0) || p->weight_decay < 0 ||
        !(p->mask_ratio >= 0 && p->mask_ratio < 1) || p->mask_last < 0 || p->mask_last >= c->F ||
        p->seg_clips < 1 || p->seg_clips > 64 || p->margin < 0 || p->clip_weight < 0 ||
        p->shotmix_p < 0 || p->shotmix_p > 1 || p->pip_p < 0 || p->pip_p > 1)
        return vs__err(VS_ERR_INVALID_ARG, "clip training: bad parameters");
    if ((p->stages & VS_CLIP_STAGE_PREDMAE) && c->dec_depth < 1)
        return vs__err(VS_ERR_INVALID_ARG, "clip training: PredMAE needs dec_depth >= 1");
    return VS_OK;
}

/* ------------------------------------------------------------------ buffers */

static void bufs_free(bufs *b) {
    vs__free_aligned(b->xs);
    vs__free(b->tpos);
    vs__free_aligned(b->tgt);
    vs__free_aligned(b->V);
    vs__free_aligned(b->scratch);
    vs__clipenc_cache_free(&b->enc);
    vs__clipdec_cache_free(&b->dec);
    memset(b, 0, sizeof *b);
}

/* Tubes masked in the first F - mask_last frames so the total ratio is about mask_ratio. */
static int n_tubes(const vs_clipmodel_config *c, const vs_cliptrain_params *p) {
    int F = c->F, R = c->R, early = F - p->mask_last;
    double want = p->mask_ratio * F * R - (double)p->mask_last * R;
    int nt = early > 0 ? (int)floor(want / early + 0.5) : 0;
    if (nt < 0) nt = 0;
    if (nt > R - 1) nt = R - 1;
    return nt;
}

static vs_status bufs_stage1(vs_cliptrain *t) {
    bufs *b = &t->b;
    const vs_clipmodel_config *c = &t->cfg;
    int B = t->p.batch, R = c->R, D = c->D, C = c->width;
    b->stage = VS_CLIP_STAGE_PREDMAE;
    b->B = B;
    b->Nv = (c->F - t->p.mask_last) * (R - n_tubes(c, &t->p));
    b->Nm = c->F * R - b->Nv;
    int Nv = b->Nv, Nm = b->Nm;
    b->xs = vs__malloc_aligned(sizeof(float) * (size_t)B * Nv * D);
    b->tpos = vs__malloc(sizeof(int) * (size_t)B * (3 * Nv + Nm));
    b->tgt = vs__malloc_aligned(sizeof(float) * ((size_t)3 * B * Nm * D + (size_t)B * (1 + Nv) * C));
    size_t sc = vs__clipenc_scratch_floats(c, B, 1 + Nv);
    size_t sd = vs__clipdec_scratch_floats(c, B, Nv, Nm);
    b->scratch = vs__malloc_aligned(sizeof(float) * (sc > sd ? sc : sd));
    if (!b->xs || !b->tpos || !b->tgt || !b->scratch) goto nomem;
    b->rpos = b->tpos + (size_t)B * Nv;
    b->vpos = b->rpos + (size_t)B * Nv;
    b->mpos = b->vpos + (size_t)B * Nv;
    b->pred = b->tgt + (size_t)B * Nm * D;
    b->dpred = b->pred + (size_t)B * Nm * D;
    b->de = b->dpred + (size_t)B * Nm * D;
    if (vs__clipenc_cache_create(&b->enc, c, B, 1 + Nv) != VS_OK) goto nomem;
    if (vs__clipdec_cache_create(&b->dec, c, B, Nv, Nm) != VS_OK) goto nomem;
    return VS_OK;
nomem:
    bufs_free(b);
    return vs__err(VS_ERR_NOMEM, "clip training: out of memory for stage 1 buffers");
}

static vs_status bufs_stage2(vs_cliptrain *t) {
    bufs *b = &t->b;
    const vs_clipmodel_config *c = &t->cfg;
    int K = t->p.batch < t->nv ? t->p.batch : t->nv;
    int Bc = 2 * K * t->p.seg_clips, FR = c->F * c->R, C = c->width;
    b->stage = VS_CLIP_STAGE_FCS;
    b->Bc = Bc;
    b->xs = vs__malloc_aligned(sizeof(float) * (size_t)Bc * FR * c->D);
    b->tpos = vs__malloc(sizeof(int) * 2 * (size_t)Bc * FR);
    b->V = vs__malloc_aligned(sizeof(float) * ((size_t)3 * Bc * C + Bc + (size_t)Bc * (1 + FR) * C));
    b->scratch = vs__malloc_aligned(sizeof(float) * vs__clipenc_scratch_floats(c, Bc, 1 + FR));
    if (!b->xs || !b->tpos || !b->V || !b->scratch) goto nomem;
    b->rpos = b->tpos + (size_t)Bc * FR;
    for (int i = 0; i < Bc * FR; i++) {
        b->tpos[i] = (i % FR) / c->R;
        b->rpos[i] = i % c->R;
    }
    b->dV = b->V + (size_t)Bc * C;
    b->norms = b->dV + (size_t)Bc * C;
    b->dln = b->norms + Bc;
    b->dpool = b->dln + (size_t)Bc * (1 + FR) * C;
    if (vs__clipenc_cache_create(&b->enc, c, Bc, 1 + FR) != VS_OK) goto nomem;
    return VS_OK;
nomem:
    bufs_free(b);
    return vs__err(VS_ERR_NOMEM, "clip training: out of memory for stage 2 buffers");
}

/* ------------------------------------------------------------------ create / free */

static vs_status trainer_alloc(vs_cliptrain **out, const vs_clipmodel_config *c,
                               const vs_cliptrain_params *p) {
    *out = NULL;
    vs_status st = vs__clip_check_config(c);
    if (st == VS_OK) st = check_params(p, c);
    if (st != VS_OK) return st;
    vs_cliptrain *t = vs__calloc(1, sizeof *t);
    if (!t) return vs__err(VS_ERR_NOMEM, "clip training: out of memory");
    t->cfg = *c;
    t->p = *p;
    t->ntab = vs__clip_param_table(NULL, c, 1, &t->n);
    vs_clipmodel_config enc = *c;
    enc.dec_depth = 0;
    vs__clip_param_table(NULL, &enc, 0, &t->n_enc);
    t->tab = vs__malloc(sizeof *t->tab * (size_t)t->ntab);
    t->params = vs__malloc_aligned(sizeof(float) * (size_t)t->n);
    vs__param *pt = vs__calloc((size_t)t->ntab, sizeof *pt);
    if (!t->tab || !t->params || !pt) {
        vs__free(pt);
        vs_cliptrain_free(t);
        return vs__err(VS_ERR_NOMEM, "clip training: out of memory");
    }
    vs__clip_param_table(t->tab, c, 1, NULL);
    for (int i = 0; i < t->ntab; i++) {
        const vs__clipparam *e = &t->tab[i];
        snprintf(pt[i].name, sizeof pt[i].name, "%s", e->name);
        pt[i].ndim = e->ndim;
        for (int k = 0; k < e->ndim; k++) pt[i].dims[k] = e->dims[k];
        pt[i].offset = e->offset;
        pt[i].numel = e->numel;
        pt[i].no_decay = !e->decay;
    }
    vs__adam hp = vs__adam_default(1);
    hp.beta2 = 0.95f; /* MAE's betas (0.9, 0.95) */
    hp.weight_decay = p->weight_decay;
    st = vs__optim_init(&t->opt, t->params, t->n, pt, t->ntab, hp);
    vs__free(pt);
    if (st != VS_OK) {
        vs_cliptrain_free(t);
        return st;
    }
    vs__clip_bind(&t->w, t->params, c, 1);
    vs__clip_bind(&t->g, t->opt.grad, c, 1);
    t->rng = p->seed * 0x2545f4914f6cdd1dULL + 17;
    *out = t;
    return VS_OK;
}

vs_status vs_cliptrain_create(vs_cliptrain **out, const vs_clipmodel_config *c,
                              const vs_cliptrain_params *p) {
    vs_clipmodel_config cfg = c ? *c : vs_clipmodel_default_config();
    vs_cliptrain_params prm = p ? *p : vs_cliptrain_default_params();
    vs_status st = trainer_alloc(out, &cfg, &prm);
    if (st != VS_OK) return st;
    st = vs__clip_init((*out)->params, &cfg, 1, prm.seed);
    if (st != VS_OK) {
        vs_cliptrain_free(*out);
        *out = NULL;
    }
    return st;
}

void vs_cliptrain_free(vs_cliptrain *t) {
    if (!t) return;
    bufs_free(&t->b);
    for (int i = 0; i < t->nv; i++) {
        vs__free_aligned(t->vids[i].x);
        for (int k = 0; k < t->vids[i].n_views; k++) vs__free_aligned(t->vids[i].views[k]);
        vs__free(t->vids[i].views);
    }
    vs__free(t->vids);
    vs__free(t->tab);
    vs__optim_free(&t->opt);
    vs__free_aligned(t->params);
    vs__free(t);
}

vs_status vs_cliptrain_add_video(vs_cliptrain *t, const float *x, int T, int R, int D) {
    if (T < 1 || R != t->cfg.R || D != t->cfg.D)
        return vs__err(VS_ERR_INVALID_ARG,
                       "clip training: video has T=%d R=%d D=%d, the model expects R=%d D=%d", T,
                       R, D, t->cfg.R, t->cfg.D);
    if (t->nv == t->cap) {
        int nc = t->cap ? 2 * t->cap : 64;
        video *nvid = vs__realloc(t->vids, sizeof *nvid * (size_t)nc);
        if (!nvid) return vs__err(VS_ERR_NOMEM, "clip training: out of memory");
        t->vids = nvid;
        t->cap = nc;
    }
    size_t n = (size_t)T * R * D;
    float *copy = vs__malloc_aligned(sizeof(float) * n);
    if (!copy) return vs__err(VS_ERR_NOMEM, "clip training: out of memory for a %d-frame video", T);
    memcpy(copy, x, sizeof(float) * n);
    t->vids[t->nv++] = (video){copy, T, NULL, 0};
    return VS_OK;
}

vs_status vs_cliptrain_add_view(vs_cliptrain *t, int vi, const float *x, int T, int R, int D) {
    if (vi < 0 || vi >= t->nv)
        return vs__err(VS_ERR_INVALID_ARG, "clip training: no video %d (have %d)", vi, t->nv);
    video *v = &t->vids[vi];
    if (T != v->T || R != t->cfg.R || D != t->cfg.D)
        return vs__err(VS_ERR_INVALID_ARG,
                       "clip training: view of video %d has T=%d R=%d D=%d, the video T=%d R=%d D=%d",
                       vi, T, R, D, v->T, t->cfg.R, t->cfg.D);
    float **nvw = vs__realloc(v->views, sizeof *nvw * (size_t)(v->n_views + 1));
    if (!nvw) return vs__err(VS_ERR_NOMEM, "clip training: out of memory");
    v->views = nvw;
    size_t n = (size_t)T * R * D;
    float *copy = vs__malloc_aligned(sizeof(float) * n);
    if (!copy) return vs__err(VS_ERR_NOMEM, "clip training: out of memory for a view");
    memcpy(copy, x, sizeof(float) * n);
    v->views[v->n_views++] = copy;
    return VS_OK;
}

long vs_cliptrain_done(const vs_cliptrain *t) { return t->done; }

long vs_cliptrain_total(const vs_cliptrain *t) {
    return ((t->p.stages & VS_CLIP_STAGE_PREDMAE) ? t->p.iters_predmae : 0) +
           ((t->p.stages & VS_CLIP_STAGE_FCS) ? t->p.iters_fcs : 0);
}

vs_status vs_cliptrain_model(const vs_cliptrain *t, vs_clipmodel **out) {
    return vs__clipmodel_from_block(out, &t->cfg, t->params, 1);
}

/* ------------------------------------------------------------------ sampling helpers */

static int rand_int(uint64_t *s, int n) { return n <= 1 ? 0 : (int)(vs__clip_uniform(s) * n); }

static float gauss(uint64_t *s) {
    double u1 = vs__clip_uniform(s), u2 = vs__clip_uniform(s);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* A video drawn with probability proportional to its clip count. */
static int pick_video(vs_cliptrain *t) {
    long tot = 0;
    for (int i = 0; i < t->nv; i++) tot += vs__clip_count(t->vids[i].T, t->cfg.F);
    long r = (long)(vs__clip_uniform(&t->rng) * (double)tot);
    for (int i = 0; i < t->nv; i++) {
        r -= vs__clip_count(t->vids[i].T, t->cfg.F);
        if (r < 0) return i;
    }
    return t->nv - 1;
}

/* Frame index idx of a video, wrapped cyclically into [lo, T) as a short clip is padded. */
static int wrap_frame(long idx, int lo, int T) {
    if (idx < lo) idx = lo;
    if (idx < T) return (int)idx;
    return lo + (int)((idx - lo) % (T - lo));
}

static const float *token(const video *v, int frame, int r, int R, int D) {
    return v->x + ((size_t)frame * R + r) * D;
}

/* ------------------------------------------------------------------ stage 1: PredMAE */

static double step_predmae(vs_cliptrain *t) {
    bufs *b = &t->b;
    const vs_clipmodel_config *c = &t->cfg;
    int B = b->B, Nv = b->Nv, Nm = b->Nm, F = c->F, R = c->R, D = c->D, C = c->width;
    int ntube = n_tubes(c, &t->p), early = F - t->p.mask_last;
    for (int bi = 0; bi < B; bi++) {
        const video *v = &t->vids[pick_video(t)];
        int s = rand_int(&t->rng, v->T > F ? v->T - F + 1 : 1);
        /* tubes: a random subset of ntube regions, masked in every early frame */
        int perm[256];
        for (int r = 0; r < R; r++) perm[r] = r;
        for (int r = 0; r < ntube; r++) {
            int j = r + rand_int(&t->rng, R - r), tmp = perm[r];
            perm[r] = perm[j], perm[j] = tmp;
        }
        unsigned char masked[256] = {0};
        for (int r = 0; r < ntube; r++) masked[perm[r]] = 1;
        int iv = 0, im = 0;
        for (int f = 0; f < F; f++) {
            int fr = wrap_frame((long)s + f, s, v->T);
            for (int r = 0; r < R; r++) {
                int p = f * R + r;
                if (f < early && !masked[r]) {
                    b->vpos[bi * Nv + iv] = p;
                    b->tpos[bi * Nv + iv] = f;
                    b->rpos[bi * Nv + iv] = r;
                    memcpy(b->xs + ((size_t)bi * Nv + iv) * D, token(v, fr, r, R, D), sizeof(float) * D);
                    iv++;
                } else {
                    b->mpos[bi * Nm + im] = p;
                    memcpy(b->tgt + ((size_t)bi * Nm + im) * D, token(v, fr, r, R, D), sizeof(float) * D);
                    im++;
                }
            }
        }
        VS__ASSERT(iv == Nv && im == Nm);
    }
    vs__clipenc_forward(&b->enc, b->xs, b->tpos, b->rpos, &t->w, c, B, Nv);
    vs__clipdec_forward(b->pred, &b->dec, b->enc.ln, b->vpos, b->mpos, &t->w, c, B, Nv, Nm);
    memset(b->dpred, 0, sizeof(float) * (size_t)B * Nm * D);
    double L = vs__predmae_loss(b->dpred, b->pred, b->tgt, (long)B * Nm, D, t->p.predmae_mse);
    memset(b->de, 0, sizeof(float) * (size_t)B * (1 + Nv) * C);
    vs__clipdec_backward(b->de, &t->g, b->scratch, b->dpred, b->enc.ln, b->vpos, b->mpos, &b->dec,
                         &t->w, c, B, Nv, Nm);
    vs__clipenc_backward(&t->g, b->scratch, b->de, b->xs, b->tpos, b->rpos, &b->enc, &t->w, c, B,
                         Nv);
    return L;
}

/* ------------------------------------------------------------------ stage 2: ShotMix + FCS */

/* Positive view of one clip (out [F*R, D]): anchor clip frames a0 .. a0+F-1 of video v,
 * then offset, speed, frame dropout, ShotMix (temporal and spatial), region dropout, noise. */
static void positive_clip(vs_cliptrain *t, float *out, const video *v, long a0, int lo,
                          const video *other, const video *other2) {
    int F = t->cfg.F, R = t->cfg.R, D = t->cfg.D;
    uint64_t *s = &t->rng;
    int off = rand_int(s, 2 * MAX_OFFSET + 1) - MAX_OFFSET;
    double speed = vs__clip_uniform(s) < SPEED_P ? 0.5 + 1.5 * vs__clip_uniform(s) : 1.0;
    int frames[64];
    for (int f = 0; f < F; f++) {
        long idx = a0 + off + lround(f * speed);
        frames[f] = wrap_frame(idx < 0 ? 0 : idx, idx < 0 ? 0 : lo, v->T);
        if (f > 0 && vs__clip_uniform(s) < FRAME_DROP_P) frames[f] = frames[f - 1];
    }
    /* pixel-level edit: read the frames from an augmented view of the same video */
    video src = *v;
    if (v->n_views > 0 && vs__clip_uniform(s) < VIEW_P) src.x = v->views[rand_int(s, v->n_views)];
    for (int f = 0; f < F; f++)
        memcpy(out + (size_t)f * R * D, token(&src, frames[f], 0, R, D), sizeof(float) * (size_t)R * D);
    /* ShotMix: a run of L in [1, min(4, F/2)] frames from another video */
    if (other && vs__clip_uniform(s) < t->p.shotmix_p) {
        int Lmax = F / 2 < 4 ? F / 2 : 4;
        if (Lmax < 1) Lmax = 1;
        int L = 1 + rand_int(s, Lmax), p0 = rand_int(s, F - L + 1);
        int s0 = rand_int(s, other->T);
        for (int f = p0; f < p0 + L; f++)
            memcpy(out + (size_t)f * R * D, token(other, wrap_frame((long)s0 + f - p0, 0, other->T), 0, R, D),
                   sizeof(float) * (size_t)R * D);
    }
    /* spatial ShotMix: a 2x2 block of the 3x3 grid from another video, in every frame */
    if (other2 && R == 9 && vs__clip_uniform(s) < t->p.pip_p) {
        static const int corner[4] = {0, 1, 3, 4};
        int r0 = corner[rand_int(s, 4)], s0 = rand_int(s, other2->T);
        const int rs[4] = {r0, r0 + 1, r0 + 3, r0 + 4};
        for (int f = 0; f < F; f++) {
            int fo = wrap_frame((long)s0 + f, 0, other2->T);
            for (int k = 0; k < 4; k++)
                memcpy(out + ((size_t)f * R + rs[k]) * D, token(other2, fo, rs[k], R, D), sizeof(float) * D);
        }
    }
    for (int i = 0; i < F * R; i++) {
        float *x = out + (size_t)i * D;
        if (vs__clip_uniform(s) < REGION_DROP_P) {
            memset(x, 0, sizeof(float) * D);
            continue;
        }
        for (int k = 0; k < D; k++) x[k] += NOISE_SIGMA * gauss(s);
    }
}

static vs_status step_fcs(vs_cliptrain *t, double *loss, double *seg_l, double *clip_l) {
    bufs *b = &t->b;
    const vs_clipmodel_config *c = &t->cfg;
    int F = c->F, R = c->R, D = c->D, C = c->width, FR = F * R;
    int K = t->p.batch < t->nv ? t->p.batch : t->nv;
    int order[1024], off[2 * 1024 + 1], vid[2 * 1024], mseg[1024]; /* batch <= 1024 */
    long a0s[1024];
    /* K distinct videos */
    int *perm = vs__malloc(sizeof(int) * (size_t)t->nv);
    if (!perm) return vs__err(VS_ERR_NOMEM, "clip training: out of memory");
    for (int i = 0; i < t->nv; i++) perm[i] = i;
    for (int i = 0; i < K; i++) {
        int j = i + rand_int(&t->rng, t->nv - i), tmp = perm[i];
        perm[i] = perm[j], perm[j] = tmp;
        order[i] = perm[i];
    }
    vs__free(perm);
    /* segment lengths and offsets: anchors first, then positives of the same sizes */
    int n = 0;
    for (int i = 0; i < K; i++) {
        const video *v = &t->vids[order[i]];
        int avail = vs__clip_count(v->T, F);
        mseg[i] = avail < t->p.seg_clips ? avail : t->p.seg_clips;
        off[i] = n;
        vid[i] = vid[K + i] = order[i];
        n += mseg[i];
        long span = (long)mseg[i] * F;
        a0s[i] = v->T > span ? rand_int(&t->rng, (int)(v->T - span + 1)) : 0;
    }
    for (int i = 0; i < K; i++) {
        off[K + i] = n;
        n += mseg[i];
    }
    off[2 * K] = n;
    VS__ASSERT(n <= b->Bc);
    for (int i = 0; i < K; i++) {
        const video *v = &t->vids[order[i]];
        const video *o1 = K > 1 ? &t->vids[order[(i + 1 + rand_int(&t->rng, K - 1)) % K]] : NULL;
        const video *o2 = K > 1 ? &t->vids[order[(i + 1 + rand_int(&t->rng, K - 1)) % K]] : NULL;
        for (int cc = 0; cc < mseg[i]; cc++) {
            long a0 = a0s[i] + (long)cc * F;
            float *xa = b->xs + (size_t)(off[i] + cc) * FR * D;
            for (int f = 0; f < F; f++)
                memcpy(xa + (size_t)f * R * D, token(v, wrap_frame(a0 + f, (int)a0s[i], v->T), 0, R, D),
                       sizeof(float) * (size_t)R * D);
            positive_clip(t, b->xs + (size_t)(off[K + i] + cc) * FR * D, v, a0, (int)a0s[i], o1, o2);
        }
    }
    vs__clipenc_forward(&b->enc, b->xs, b->tpos, b->rpos, &t->w, c, n, FR);
    /* clip vectors: CLS (or mean) of the final LayerNorm, L2-normalised */
    vs__clip_pool_forward(b->dpool, b->enc.ln, n, 1 + FR, C, c->pool); /* staging */
    vs__l2norm_forward(b->V, b->norms, b->dpool, n, C);
    memset(b->dV, 0, sizeof(float) * (size_t)n * C);
    *loss = vs__fcs_loss(b->dV, b->V, off, vid, K, C, t->p.margin, t->p.clip_weight, seg_l, clip_l);
    /* dL/d(pooled vector), then spread over the LayerNorm rows it was read from */
    memset(b->dpool, 0, sizeof(float) * (size_t)n * C);
    vs__l2norm_backward(b->dpool, b->dV, b->V, b->norms, n, C);
    memset(b->dln, 0, sizeof(float) * (size_t)n * (1 + FR) * C);
    vs__clip_pool_backward(b->dln, b->dpool, n, 1 + FR, C, c->pool);
    vs__clipenc_backward(&t->g, b->scratch, b->dln, b->xs, b->tpos, b->rpos, &b->enc, &t->w, c, n,
                         FR);
    return VS_OK;
}

/* ------------------------------------------------------------------ step */

static void stage_of(const vs_cliptrain *t, long step, vs_clip_stage *stage, long *local,
                     long *len) {
    long n1 = (t->p.stages & VS_CLIP_STAGE_PREDMAE) ? t->p.iters_predmae : 0;
    if (step < n1) {
        *stage = VS_CLIP_STAGE_PREDMAE, *local = step, *len = n1;
    } else {
        *stage = VS_CLIP_STAGE_FCS, *local = step - n1, *len = t->p.iters_fcs;
    }
}

vs_status vs_cliptrain_step(vs_cliptrain *t, float *loss, vs_clip_stage *stage_out) {
    if (t->done >= vs_cliptrain_total(t))
        return vs__err(VS_ERR_INVALID_ARG, "clip training: all %ld steps are done", t->done);
    if (t->nv < 1) return vs__err(VS_ERR_INVALID_ARG, "clip training: no training videos");
    if (t->expect_videos > 0) {
        long frames = 0;
        for (int i = 0; i < t->nv; i++) frames += t->vids[i].T;
        if (t->nv != t->expect_videos || frames != t->expect_frames)
            return vs__err(VS_ERR_INVALID_ARG,
                           "clip training: the checkpoint was trained on %ld videos (%ld frames), "
                           "this run has %d videos (%ld frames)",
                           t->expect_videos, t->expect_frames, t->nv, frames);
    }
    vs_clip_stage stage;
    long local, len;
    stage_of(t, t->done, &stage, &local, &len);
    if (stage == VS_CLIP_STAGE_FCS && t->nv < 2)
        return vs__err(VS_ERR_INVALID_ARG, "clip training: the FCS stage needs at least 2 videos");
    if (t->b.stage != (int)stage) {
        bufs_free(&t->b);
        vs_status st = stage == VS_CLIP_STAGE_PREDMAE ? bufs_stage1(t) : bufs_stage2(t);
        if (st != VS_OK) return st;
    }
    if (local == 0) /* a stage starts: fresh moments */
        vs__optim_reset(&t->opt);
    vs__optim_zero_grad(&t->opt);
    double seg_l = 0, clip_l = 0;
    double L = 0;
    if (stage == VS_CLIP_STAGE_PREDMAE) {
        L = step_predmae(t);
    } else {
        vs_status st = step_fcs(t, &L, &seg_l, &clip_l);
        if (st != VS_OK) return st;
    }
    if (!isfinite(L)) return vs__err(VS_ERR_INTERNAL, "clip training: loss is not finite at step %ld", t->done);
    long warm = len / 20 > 1 ? len / 20 : 1;
    float lr = vs__cosine_lr(local, t->p.lr, t->p.lr * 0.01f, len, warm, 0.0f);
    /* AdamW per tensor: decay only on matrices; the decoder is frozen in stage 2 */
    for (int i = 0; i < t->ntab; i++)
        t->opt.tab[i].frozen = t->tab[i].decoder && stage != VS_CLIP_STAGE_PREDMAE;
    vs__optim_step(&t->opt, lr);
    t->done++;
    if (loss) *loss = (float)L;
    if (stage_out) *stage_out = stage;
    return VS_OK;
}

/* ------------------------------------------------------------------ checkpoints */

static vs_status meta_long(vs__tfw *w, const char *key, long long v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return vs__tfw_meta(w, key, buf);
}

static vs_status meta_float(vs__tfw *w, const char *key, float v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", (double)v);
    return vs__tfw_meta(w, key, buf);
}

vs_status vs_cliptrain_save(const vs_cliptrain *t, const char *path) {
    vs__tfw *w;
    vs_status st = vs__tfw_create(&w);
    if (st != VS_OK) return st;
    const vs_clipmodel_config *c = &t->cfg;
    const vs_cliptrain_params *p = &t->p;
    long frames = 0;
    for (int i = 0; i < t->nv; i++) frames += t->vids[i].T;
    char rng[32];
    snprintf(rng, sizeof rng, "%016" PRIx64, t->rng);
    st = vs__tfw_meta(w, "clip.kind", "3dcsl-f-checkpoint");
    if (!st) st = vs__tfw_meta(w, "train.kind", "3dcsl");
    if (!st) st = vs__tfw_meta(w, "train.layout", "2");
    long long ci[9] = {c->D, c->R, c->F, c->width, c->depth, c->heads, c->mlp, c->dec_depth, c->pool};
    const char *ck[9] = {"clip.D", "clip.R", "clip.F", "clip.width", "clip.depth", "clip.heads", "clip.mlp",
                         "clip.dec_depth", "clip.pool_id"};
    for (int i = 0; i < 9 && !st; i++) st = meta_long(w, ck[i], ci[i]);
    long long ti[9] = {p->stages, p->iters_predmae, p->iters_fcs, p->batch, p->mask_last, p->predmae_mse,
                       p->seg_clips, t->done, (long long)t->nv};
    const char *tk[9] = {"train.stages", "train.iters_predmae", "train.iters_fcs", "train.batch",
                         "train.mask_last", "train.predmae_mse", "train.seg_clips", "train.step",
                         "train.n_videos"};
    for (int i = 0; i < 9 && !st; i++) st = meta_long(w, tk[i], ti[i]);
    float tf[8] = {p->lr, p->weight_decay, p->mask_ratio, p->margin, p->clip_weight, p->shotmix_p, p->pip_p, 0};
    const char *tfk[7] = {"train.lr", "train.weight_decay", "train.mask_ratio", "train.margin",
                          "train.clip_weight", "train.shotmix_p", "train.pip_p"};
    for (int i = 0; i < 7 && !st; i++) st = meta_float(w, tfk[i], tf[i]);
    if (!st) st = meta_long(w, "train.frames", frames);
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, p->seed);
    if (!st) st = vs__tfw_meta(w, "train.seed", seed);
    if (!st) { /* the run's description that every trainer's checkpoint carries */
        char all[320];
        snprintf(all, sizeof all,
                 "stages=%d iters_predmae=%ld iters_fcs=%ld batch=%d lr=%.9g weight_decay=%.9g "
                 "mask_ratio=%.9g mask_last=%d mse=%d seg_clips=%d margin=%.9g clip_weight=%.9g "
                 "shotmix=%.9g pip=%.9g seed=%s",
                 p->stages, p->iters_predmae, p->iters_fcs, p->batch, (double)p->lr,
                 (double)p->weight_decay, (double)p->mask_ratio, p->mask_last, p->predmae_mse,
                 p->seg_clips, (double)p->margin, (double)p->clip_weight, (double)p->shotmix_p,
                 (double)p->pip_p, seed);
        st = vs__tfw_meta(w, "train.params", all);
    }
    if (!st) st = vs__tfw_meta(w, "train.rng", rng);
    if (!st) st = vs__optim_save_params(&t->opt, w);
    if (!st) st = vs__optim_save(&t->opt, w);
    if (!st) st = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return st;
}

static int get_ll(const vs__tf *tf, const char *key, long long *out) {
    const char *v = vs__tf_meta(tf, key);
    char *end = NULL;
    if (!v || !*v) return -1;
    *out = strtoll(v, &end, 10);
    return *end ? -1 : 0;
}

static int get_f(const vs__tf *tf, const char *key, float *out) {
    const char *v = vs__tf_meta(tf, key);
    char *end = NULL;
    if (!v || !*v) return -1;
    *out = strtof(v, &end);
    return *end ? -1 : 0;
}

vs_status vs_cliptrain_resume(vs_cliptrain **out, const char *path, const vs_cliptrain_params *pp) {
    *out = NULL;
    vs__tf *tf;
    vs_status st = vs__tf_open(&tf, path);
    if (st != VS_OK) return st;
    const char *kind = vs__tf_meta(tf, "clip.kind");
    if (!kind || strcmp(kind, "3dcsl-f-checkpoint") != 0) {
        st = vs__err(VS_ERR_FORMAT, "%s: not a clip training checkpoint (clip.kind %s)", path,
                     kind ? kind : "missing");
        goto out;
    }
    vs_clipmodel_config c;
    vs_cliptrain_params p = vs_cliptrain_default_params();
    long long ci[9], ti[9], frames;
    /* train.layout 2: the common layout (train.step, hex train.rng, per-tensor moments);
     * absent: written before it (train.done, decimal train.rng, flat tensors) */
    const int layout2 = vs__tf_meta(tf, "train.layout") != NULL;
    const char *ck[9] = {"clip.D", "clip.R", "clip.F", "clip.width", "clip.depth", "clip.heads", "clip.mlp",
                         "clip.dec_depth", "clip.pool_id"};
    const char *tk[9] = {"train.stages", "train.iters_predmae", "train.iters_fcs", "train.batch",
                         "train.mask_last", "train.predmae_mse", "train.seg_clips",
                         layout2 ? "train.step" : "train.done", "train.n_videos"};
    const char *tfk[7] = {"train.lr", "train.weight_decay", "train.mask_ratio", "train.margin",
                          "train.clip_weight", "train.shotmix_p", "train.pip_p"};
    float *tfv[7] = {&p.lr, &p.weight_decay, &p.mask_ratio, &p.margin, &p.clip_weight, &p.shotmix_p, &p.pip_p};
    for (int i = 0; i < 9; i++)
        if (get_ll(tf, ck[i], &ci[i]) || ci[i] < 0 || ci[i] > 65536) {
            st = vs__err(VS_ERR_FORMAT, "%s: metadata %s missing or bad", path, ck[i]);
            goto out;
        }
    for (int i = 0; i < 9; i++)
        if (get_ll(tf, tk[i], &ti[i]) || ti[i] < 0) {
            st = vs__err(VS_ERR_FORMAT, "%s: metadata %s missing or bad", path, tk[i]);
            goto out;
        }
    for (int i = 0; i < 7; i++)
        if (get_f(tf, tfk[i], tfv[i])) {
            st = vs__err(VS_ERR_FORMAT, "%s: metadata %s missing or bad", path, tfk[i]);
            goto out;
        }
    const char *rng = vs__tf_meta(tf, "train.rng"), *seed = vs__tf_meta(tf, "train.seed");
    if (get_ll(tf, "train.frames", &frames) || !rng || !seed) {
        st = vs__err(VS_ERR_FORMAT, "%s: metadata train.frames/rng/seed missing", path);
        goto out;
    }
    c = (vs_clipmodel_config){(int)ci[0], (int)ci[1], (int)ci[2], (int)ci[3],
                              (int)ci[4], (int)ci[5], (int)ci[6], (int)ci[7], (int)ci[8]};
    p.stages = (int)ti[0];
    p.iters_predmae = ti[1];
    p.iters_fcs = ti[2];
    p.batch = (int)ti[3];
    p.mask_last = (int)ti[4];
    p.predmae_mse = (int)ti[5];
    p.seg_clips = (int)ti[6];
    p.seed = strtoull(seed, NULL, 10);
    if (pp) { /* the caller may extend or shorten the run, nothing else */
        p.iters_predmae = pp->iters_predmae;
        p.iters_fcs = pp->iters_fcs;
    }
    vs_cliptrain *t = NULL;
    st = trainer_alloc(&t, &c, &p);
    if (st != VS_OK) {
        vs__err_prefix(st, "%s", path);
        goto out;
    }
    st = vs__optim_load_params(&t->opt, tf, "params");
    if (st == VS_OK) st = vs__optim_load(&t->opt, tf, NULL);
    if (st != VS_OK) {
        vs_cliptrain_free(t);
        goto out;
    }
    t->done = ti[7];
    t->expect_videos = ti[8];
    t->expect_frames = frames;
    t->rng = strtoull(rng, NULL, layout2 ? 16 : 10);
    *out = t;
out:
    vs__tf_close(tf);
    return st;
}
