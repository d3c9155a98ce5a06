/*
 * hashtrain.c - ConMH training (vidsim/hashmodel.h vs_hashtrain_*): the collection of
 * per-frame descriptors, random batches, the two masks per video as the reference's
 * RandomMaskingGenerator draws them (shuffle the frames; view 1 shows the first
 * n_vis, view 2 the last n_vis), Adam with warm-up + cosine learning rate (the
 * optimiser core, src/optim), and checkpoints in the trainers' common layout (model
 * tensors + adam.m/v.<name> + train.step / adam_step / rng, one atomic VSTF write).
 *
 * Deviations from the reference, all documented in docs/hashing.md: the learning-rate
 * schedule (the reference uses StepLR x0.9 every 20 epochs from 1e-4 over hundreds of
 * epochs), and the optional per-step frame jitter (the reference's features are
 * sampled once).
 */
#include "hash/conmh.h"
#include "optim/optim.h"
#include "vidsim/hashmodel.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hvideo {
    float *desc; /* [T,D] frame descriptors (mean of regions, L2, x sqrt(D)) */
    int T;
} hvideo;

struct vs_hashtrain {
    vs_hashtrain_params p;
    vs__conmh m;
    vs__optim opt;          /* gradient + moment blocks parallel to m.params */
    vs__conmh_p g;          /* views into opt.grad */
    vs__conmh_ws ws;        /* sized for ws_B videos */
    int ws_B, nv;
    float *x;               /* [B,T,F] batch input */
    uint8_t *masks;         /* [B,2,T] */
    int *pick;              /* [pick_cap] scratch for sampling videos */
    long pick_cap;
    int *perm;              /* [T] */
    hvideo *v;
    long n, cap;
    uint64_t rng;
    long step;
};

vs_hashtrain_params vs_hashtrain_default_params(int bits, int dim) {
    vs_hashtrain_params p;
    memset(&p, 0, sizeof p);
    p.model = vs_hashmodel_default_config(bits, dim);
    p.batch = 32;
    p.iters = 1000;
    p.lr = 3e-4f;
    p.lr_min = 1e-5f;
    p.warmup = 100;
    p.mask_ratio = 0.75f;
    p.alpha = 1.0f;
    p.temperature = 0.5f;
    p.tau_plus = 0.1f;
    p.jitter = 1;
    p.seed = 1;
    return p;
}

/* The optimiser over the model's parameter table (Adam, L2 weight decay 0: one step
 * over every tensor is the reference's single step over the whole block). */
static vs_status optim_create(vs_hashtrain *t, const vs__conmh_cfg *c) {
    vs__param *pt = vs__malloc(sizeof *pt * VS__CONMH_MAX_PARAMS);
    vs_status st = VS_OK;
    if (!pt) {
        st = vs__err(VS_ERR_NOMEM, "hash training: out of memory");
        goto out;
    }
    long total = 0;
    int n = vs__conmh_table(c, pt, NULL);
    for (int i = 0; i < n; i++) total += pt[i].numel;
    if (total != t->m.n_params) {
        st = vs__err(VS_ERR_INTERNAL, "hash training: the parameter table covers %ld of %ld floats",
                     total, t->m.n_params);
        goto out;
    }
    st = vs__optim_init(&t->opt, t->m.params, t->m.n_params, pt, n, vs__adam_default(0));
out:
    vs__free(pt);
    return st;
}

vs_status vs_hashtrain_create(vs_hashtrain **out, const vs_hashtrain_params *p) {
    *out = NULL;
    if (!p)
        return vs__err(VS_ERR_INVALID_ARG, "hash training: no parameters");
    vs__conmh_cfg c = vs__conmh_cfg_from(&p->model);
    int n_mask = (int)(p->mask_ratio * (float)c.T); /* Python int(): truncation */
    int nv = c.T - n_mask;
    if (p->batch < 2 || p->iters < 1 || !(p->lr > 0) || !(p->mask_ratio > 0) ||
        !(p->mask_ratio < 1) || n_mask < 1 || nv < 1 || !(p->temperature > 0) ||
        !(p->tau_plus >= 0) || !(p->tau_plus < 1) || p->warmup < 0)
        return vs__err(VS_ERR_INVALID_ARG,
                       "hash training: bad parameters (batch %d >= 2, iters %ld >= 1, lr %g > 0, "
                       "mask ratio %g in (0,1) leaving >= 1 visible and masked frame of %d, "
                       "temperature %g > 0, tau+ %g in [0,1))",
                       p->batch, p->iters, (double)p->lr, (double)p->mask_ratio, c.T,
                       (double)p->temperature, (double)p->tau_plus);
    vs_hashtrain *t = vs__calloc(1, sizeof *t);
    if (!t)
        return vs__err(VS_ERR_NOMEM, "hash training: out of memory");
    t->p = *p;
    t->nv = nv;
    vs_status st = vs__conmh_create(&t->m, &c);
    if (st != VS_OK) {
        vs__free(t);
        return st;
    }
    vs__conmh_init(t->m.params, &c, p->seed);
    st = optim_create(t, &c);
    if (st != VS_OK) {
        vs_hashtrain_free(t);
        return st;
    }
    t->perm = vs__malloc(sizeof(int) * (size_t)c.T);
    if (!t->perm) {
        vs_hashtrain_free(t);
        return vs__err(VS_ERR_NOMEM, "hash training: out of memory (%ld parameters)",
                       t->m.n_params);
    }
    vs__conmh_bind(&t->g, t->opt.grad, &c);
    t->rng = p->seed ^ 0x5deece66dULL;
    *out = t;
    return VS_OK;
}

void vs_hashtrain_free(vs_hashtrain *t) {
    if (!t)
        return;
    for (long i = 0; i < t->n; i++) vs__free(t->v[i].desc);
    vs__free(t->v);
    vs__optim_free(&t->opt);
    vs__free(t->x);
    vs__free(t->masks);
    vs__free(t->pick);
    vs__free(t->perm);
    vs__conmh_ws_free(&t->ws);
    vs__conmh_destroy(&t->m);
    vs__free(t);
}

vs_status vs_hashtrain_add(vs_hashtrain *t, const float *regions, int T, int R, int D) {
    if (D != t->m.cfg.F)
        return vs__err(VS_ERR_INVALID_ARG, "hash training: video has D=%d, the model D=%d", D,
                       t->m.cfg.F);
    if (T < 1 || R < 1 || !regions)
        return vs__err(VS_ERR_INVALID_ARG, "hash training: empty video (T=%d, R=%d)", T, R);
    if (t->n == t->cap) {
        long cap = t->cap ? 2 * t->cap : 64;
        hvideo *nvid = vs__realloc(t->v, sizeof(hvideo) * (size_t)cap);
        if (!nvid)
            return vs__err(VS_ERR_NOMEM, "hash training: out of memory");
        t->v = nvid;
        t->cap = cap;
    }
    float *desc = vs__malloc(sizeof(float) * (size_t)T * (size_t)D);
    if (!desc)
        return vs__err(VS_ERR_NOMEM, "hash training: out of memory");
    /* every frame's descriptor: frame_input with frames = T picks each frame once */
    vs_status st = vs_hash_frame_input(desc, T, regions, T, R, D, 0);
    if (st != VS_OK) {
        vs__free(desc);
        return st;
    }
    t->v[t->n].desc = desc;
    t->v[t->n].T = T;
    t->n++;
    return VS_OK;
}

long vs_hashtrain_n_videos(const vs_hashtrain *t) { return t->n; }
long vs_hashtrain_steps_done(const vs_hashtrain *t) { return t->step; }

static vs_status ensure_batch(vs_hashtrain *t, int B) {
    if (t->ws_B == B)
        return VS_OK;
    const vs__conmh_cfg *c = &t->m.cfg;
    vs__conmh_ws_free(&t->ws);
    vs__free(t->x);
    vs__free(t->masks);
    t->ws_B = 0;
    t->x = vs__malloc(sizeof(float) * (size_t)B * (size_t)c->T * (size_t)c->F);
    t->masks = vs__malloc((size_t)B * 2 * (size_t)c->T);
    if (!t->x || !t->masks)
        return vs__err(VS_ERR_NOMEM, "hash training: out of memory (batch %d)", B);
    vs_status st = vs__conmh_ws_create(&t->ws, c, B, t->nv, 1);
    if (st != VS_OK)
        return st;
    t->ws_B = B;
    return VS_OK;
}

vs_status vs_hashtrain_step(vs_hashtrain *t, vs_hashtrain_stats *out) {
    if (t->n < 2)
        return vs__err(VS_ERR_INVALID_ARG,
                       "hash training: needs at least 2 videos (the contrastive loss compares "
                       "videos within a batch), have %ld", t->n);
    int B = t->p.batch < t->n ? t->p.batch : (int)t->n;
    vs_status st = ensure_batch(t, B);
    if (st != VS_OK)
        return st;
    if (t->pick_cap < t->n) { /* videos may be added between steps */
        int *np = vs__realloc(t->pick, sizeof(int) * (size_t)t->cap);
        if (!np)
            return vs__err(VS_ERR_NOMEM, "hash training: out of memory");
        t->pick = np;
        t->pick_cap = t->cap;
    }
    const vs__conmh_cfg *c = &t->m.cfg;
    const int T = c->T, F = c->F, nv = t->nv;
    /* B distinct videos: partial Fisher-Yates */
    for (long i = 0; i < t->n; i++) t->pick[i] = (int)i;
    for (int b = 0; b < B; b++) {
        long j = b + (long)(vs__conmh_uniform(&t->rng) * (double)(t->n - b));
        int tmp = t->pick[b];
        t->pick[b] = t->pick[j];
        t->pick[j] = tmp;
        const hvideo *v = &t->v[t->pick[b]];
        /* frames: uniform bins over the video, a random frame in each with jitter */
        uint64_t js = t->p.jitter ? (vs__conmh_rng(&t->rng) | 1) : 0;
        for (int i = 0; i < T; i++) {
            double u = js ? vs__conmh_uniform(&js) : 0.5;
            long idx = (long)floor(((double)i + u) * (double)v->T / (double)T);
            if (idx >= v->T)
                idx = v->T - 1;
            memcpy(t->x + ((long)b * T + i) * F, v->desc + idx * (long)F,
                   sizeof(float) * (size_t)F);
        }
        /* masks: shuffle; view 1 shows the first nv, view 2 the last nv */
        for (int i = 0; i < T; i++) t->perm[i] = i;
        for (int i = T - 1; i > 0; i--) {
            int k = (int)(vs__conmh_uniform(&t->rng) * (double)(i + 1));
            int s = t->perm[i];
            t->perm[i] = t->perm[k];
            t->perm[k] = s;
        }
        uint8_t *m1 = t->masks + ((long)b * 2 + 0) * T, *m2 = m1 + T;
        for (int i = 0; i < T; i++) {
            m1[t->perm[i]] = i >= nv;
            m2[t->perm[i]] = i < T - nv;
        }
    }
    vs__conmh_loss_cfg lc = {t->p.alpha, t->p.temperature, t->p.tau_plus, 1.0f, 0};
    vs__conmh_loss L;
    vs__optim_zero_grad(&t->opt);
    vs__conmh_loss_backward(&t->m, &t->g, &t->ws, t->x, t->masks, &lc, &L);
    if (!isfinite(L.total))
        return vs__err(VS_ERR_INTERNAL,
                       "hash training: loss is not finite at step %ld (recon %g, dcl %g); lower "
                       "the learning rate", t->step, L.recon, L.dcl);
    float lr = vs__cosine_lr(t->step, t->p.lr, t->p.lr_min, t->p.iters, t->p.warmup,
                             t->p.lr_min);
    vs__optim_step(&t->opt, lr);
    t->step++;
    if (out) {
        out->step = t->step;
        out->loss = L.total;
        out->recon = L.recon;
        out->contrastive = L.dcl;
        out->lr = lr;
    }
    return VS_OK;
}

/* ------------------------------------------------------------------ checkpoints */
vs_status vs_hashtrain_save(const vs_hashtrain *t, const char *path) {
    vs__tfw *w;
    vs_status st = vs__tfw_create(&w);
    if (st != VS_OK)
        return st;
    char buf[64];
    st = vs__conmh_write(&t->m, w);
    if (st == VS_OK)
        st = vs__tfw_meta(w, "train.kind", "conmh");
    if (st == VS_OK)
        st = vs__tfw_meta(w, "train.layout", "2");
    if (st == VS_OK)
        st = vs__optim_save(&t->opt, w);
    if (st == VS_OK) {
        snprintf(buf, sizeof buf, "%ld", t->step);
        st = vs__tfw_meta(w, "train.step", buf);
    }
    if (st == VS_OK) {
        snprintf(buf, sizeof buf, "%016" PRIx64, t->rng);
        st = vs__tfw_meta(w, "train.rng", buf);
    }
    if (st == VS_OK) {
        snprintf(buf, sizeof buf, "%ld", t->n);
        st = vs__tfw_meta(w, "train.videos", buf);
    }
    if (st == VS_OK) {
        char hp[256];
        snprintf(hp, sizeof hp,
                 "batch=%d iters=%ld lr=%g lr_min=%g warmup=%ld mask_ratio=%g alpha=%g t=%g "
                 "tau+=%g jitter=%d seed=%" PRIu64,
                 t->p.batch, t->p.iters, (double)t->p.lr, (double)t->p.lr_min, t->p.warmup,
                 (double)t->p.mask_ratio, (double)t->p.alpha, (double)t->p.temperature,
                 (double)t->p.tau_plus, t->p.jitter, t->p.seed);
        st = vs__tfw_meta(w, "train.params", hp);
    }
    if (st == VS_OK)
        st = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return st;
}

static vs_status meta_long(const vs__tf *tf, const char *key, int base, unsigned long long *out) {
    const char *v = vs__tf_meta(tf, key);
    char *end;
    if (!v || !*v)
        return vs__err(VS_ERR_FORMAT, "%s: not a hash training checkpoint (metadata '%s' "
                       "missing)", vs__tf_path(tf), key);
    *out = strtoull(v, &end, base);
    if (*end)
        return vs__err(VS_ERR_FORMAT, "%s: metadata '%s' = '%s' is not a number",
                       vs__tf_path(tf), key, v);
    return VS_OK;
}

vs_status vs_hashtrain_resume(vs_hashtrain **out, const char *path, const vs_hashtrain_params *p) {
    *out = NULL;
    if (!p)
        return vs__err(VS_ERR_INVALID_ARG, "hash training: no parameters");
    vs__tf *tf;
    vs_status st = vs__tf_open(&tf, path);
    if (st != VS_OK)
        return st;
    vs__conmh m;
    vs_hashtrain *t = NULL;
    st = vs__conmh_read(&m, tf);
    if (st != VS_OK)
        goto out_close;
    /* the architecture: the checkpoint's (bits 0), or the requested one, which must match */
    vs_hashtrain_params q = *p;
    if (q.model.bits == 0)
        q.model = vs__conmh_cfg_to(&m.cfg);
    st = vs_hashtrain_create(&t, &q);
    if (st != VS_OK)
        goto out_model;
    if (memcmp(&m.cfg, &t->m.cfg, sizeof m.cfg) != 0) {
        st = vs__err(VS_ERR_INVALID_ARG,
                     "%s: checkpoint architecture (bits %d, D %d, frames %d, encoder %dx%d/%d, "
                     "decoder %dx%d/%d) differs from the requested one (bits %d, D %d, frames "
                     "%d, encoder %dx%d/%d, decoder %dx%d/%d)",
                     path, m.cfg.nbits, m.cfg.F, m.cfg.T, m.cfg.enc_depth, m.cfg.enc_C,
                     m.cfg.enc_H, m.cfg.dec_depth, m.cfg.dec_C, m.cfg.dec_H, t->m.cfg.nbits,
                     t->m.cfg.F, t->m.cfg.T, t->m.cfg.enc_depth, t->m.cfg.enc_C, t->m.cfg.enc_H,
                     t->m.cfg.dec_depth, t->m.cfg.dec_C, t->m.cfg.dec_H);
        goto out_model;
    }
    unsigned long long step, rng;
    st = meta_long(tf, "train.step", 10, &step);
    if (st == VS_OK)
        st = meta_long(tf, "train.rng", 16, &rng);
    if (st == VS_OK)
        st = vs__optim_load(&t->opt, tf, NULL);
    if (st != VS_OK)
        goto out_model;
    memcpy(t->m.params, m.params, sizeof(float) * (size_t)m.n_params);
    t->step = (long)step;
    t->rng = rng;
out_model:
    vs__conmh_destroy(&m);
out_close:
    vs__tf_close(tf);
    if (st != VS_OK) {
        vs_hashtrain_free(t);
        return st;
    }
    *out = t;
    return VS_OK;
}

vs_status vs_hashtrain_model(const vs_hashtrain *t, vs_hashmodel **out) {
    *out = NULL;
    vs_hashmodel_config c = vs__conmh_cfg_to(&t->m.cfg);
    vs_status st = vs_hashmodel_create(out, &c, 0);
    if (st != VS_OK)
        return st;
    return vs__hashmodel_set_params(*out, t->m.params, t->m.n_params);
}
