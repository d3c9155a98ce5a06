/*
 * s2vs.c - the S2VS trainer: batch forward (vs_simmodel_forward_batch), the InfoNCE /
 * hard-negative / self / regularisation losses, the backward pass into one gradient
 * block parallel to the model's parameter block, and AdamW with the reference's
 * warm-up + cosine schedule. Checkpoints are VSTF files (model tensors under their
 * state-dict names, "adam.m.<name>" / "adam.v.<name>", and train.* metadata).
 */
#include "vidsim/train.h"

#include "core/tensorfile.h"
#include "simmodel/simmodel_internal.h"
#include "train/losses.h"
#include "train/optim.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_META 16

struct vs_s2vs_trainer {
    vs_s2vs_train_params p;
    vs_simmodel *m;          /* private copy */
    vs_simmodel_state *st;
    float *grad, *adam_m, *adam_v; /* [n_params] each */
    vs__adam opt;
    float *sims, *dsims;     /* [n,n] */
    size_t sims_cap;
    char *meta_k[MAX_META], *meta_v[MAX_META];
    int n_meta;
};

vs_s2vs_train_params vs_s2vs_train_default_params(void) {
    vs_s2vs_train_params p;
    memset(&p, 0, sizeof p);
    p.lr = 5e-5f;
    p.lr_min = 5e-6f;
    p.warmup_lr_init = 5e-7f;
    p.warmup = 1000;
    p.t_initial = 30000;
    p.weight_decay = 0.01f;
    p.beta1 = 0.9f;
    p.beta2 = 0.999f;
    p.eps = 1e-8f;
    p.tau = 0.03f;
    p.lambda = 3.0f;
    p.r = 1.0f;
    p.n_threads = 1;
    return p;
}

void vs_s2vs_trainer_free(vs_s2vs_trainer *t) {
    if (!t) return;
    vs_simmodel_state_free(t->st);
    vs_simmodel_free(t->m);
    vs__free_aligned(t->grad);
    vs__free_aligned(t->adam_m);
    vs__free_aligned(t->adam_v);
    vs__free(t->sims);
    vs__free(t->dsims);
    for (int i = 0; i < t->n_meta; i++) {
        vs__free(t->meta_k[i]);
        vs__free(t->meta_v[i]);
    }
    vs__free(t);
}

vs_status vs_s2vs_trainer_create(vs_s2vs_trainer **out, const vs_simmodel *init,
                                 const vs_s2vs_train_params *p) {
    *out = NULL;
    if (!init || init->kind != VS__SIM_VISIL || !init->attention)
        return vs__err(VS_ERR_INVALID_ARG, "train: the initial model must be a ViSiL model with attention");
    vs_s2vs_trainer *t = vs__calloc(1, sizeof *t);
    if (!t) return vs__err(VS_ERR_NOMEM, "train: out of memory");
    t->p = p ? *p : vs_s2vs_train_default_params();
    if (t->p.n_threads < 1) t->p.n_threads = 1;
    vs_status s = vs_simmodel_create_random(&t->m, init->D, 0);
    if (s != VS_OK) goto fail;
    memcpy(t->m->params, init->params, sizeof(float) * (size_t)init->n_params);
    size_t bytes = sizeof(float) * (size_t)t->m->n_params;
    t->grad = vs__malloc_aligned(bytes);
    t->adam_m = vs__malloc_aligned(bytes);
    t->adam_v = vs__malloc_aligned(bytes);
    if (!t->grad || !t->adam_m || !t->adam_v) {
        s = vs__err(VS_ERR_NOMEM, "train: out of memory for optimiser state");
        goto fail;
    }
    memset(t->grad, 0, bytes);
    memset(t->adam_m, 0, bytes);
    memset(t->adam_v, 0, bytes);
    vs_simmodel_params sp = vs_simmodel_default_params();
    sp.n_threads = t->p.n_threads;
    s = vs_simmodel_state_create(&t->st, t->m, &sp);
    if (s != VS_OK) goto fail;
    t->opt = vs__adam_default(1);
    t->opt.beta1 = t->p.beta1;
    t->opt.beta2 = t->p.beta2;
    t->opt.eps = t->p.eps;
    t->opt.weight_decay = t->p.weight_decay;
    *out = t;
    return VS_OK;
fail:
    vs_s2vs_trainer_free(t);
    return s;
}

const vs_simmodel *vs_s2vs_trainer_model(const vs_s2vs_trainer *t) { return t->m; }
long vs_s2vs_trainer_steps(const vs_s2vs_trainer *t) { return t->opt.step; }
const float *vs_s2vs_trainer_grad(const vs_s2vs_trainer *t) { return t->grad; }

static vs_status check_batch(vs_s2vs_trainer *t, const int32_t *labels, int n, int D) {
    if (n < 2)
        return vs__err(VS_ERR_INVALID_ARG, "train: a batch needs at least 2 clips (got %d)", n);
    if (D != t->m->D)
        return vs__err(VS_ERR_INVALID_ARG, "train: features have D=%d, the model D=%d", D, t->m->D);
    for (int i = 0; i < n; i++) {
        int pos = 0;
        for (int k = 0; k < n; k++) pos += k != i && labels[(long)i * n + k];
        if (!pos)
            return vs__err(VS_ERR_INVALID_ARG, "train: clip %d of the batch has no positive", i);
    }
    size_t need = (size_t)n * n;
    if (t->sims_cap < need) {
        vs__free(t->sims);
        vs__free(t->dsims);
        t->sims = vs__malloc(sizeof(float) * need);
        t->dsims = vs__malloc(sizeof(float) * need);
        t->sims_cap = t->sims && t->dsims ? need : 0;
        if (!t->sims_cap) return vs__err(VS_ERR_NOMEM, "train: out of memory");
    }
    return VS_OK;
}

/* The batch's pairs run on the state's worker threads, each calling sgemm: OpenBLAS
 * must not start threads of its own meanwhile (oversubscription and lock contention
 * made steps several times slower). Returns the previous setting. */
static int blas_single(const vs_s2vs_trainer *t) {
    int prev = openblas_get_num_threads();
    if (t->p.n_threads > 1 && prev != 1) openblas_set_num_threads(1);
    return prev;
}
static void blas_restore(const vs_s2vs_trainer *t, int prev) {
    if (t->p.n_threads > 1 && prev != 1) openblas_set_num_threads(prev);
}

/* Forward + losses; with grad, also dL/dsims into t->dsims. */
static vs_status forward_losses(vs_s2vs_trainer *t, const float *x, const int32_t *labels, int n,
                                int T, int R, int D, int grad, vs_s2vs_losses *L) {
    vs_status s = check_batch(t, labels, n, D);
    if (s != VS_OK) return s;
    float reg = 0.0f;
    s = vs_simmodel_forward_batch(t->st, t->sims, &reg, x, NULL, n, T, R, D);
    if (s != VS_OK) return s;
    float *ds = grad ? t->dsims : NULL;
    if (ds) memset(ds, 0, sizeof(float) * (size_t)n * n);
    L->infonce = vs__loss_infonce(ds, 1.0f, t->sims, labels, n, t->p.tau);
    L->hardneg = vs__loss_hardneg(ds, t->p.lambda, t->sims, labels, n);
    L->self = vs__loss_self(ds, t->p.lambda, t->sims, n);
    L->calib = vs__loss_calib(t->p.gamma > 0 ? ds : NULL, t->p.gamma, t->sims, labels, n);
    L->reg = reg;
    L->total = L->infonce + t->p.lambda * (L->hardneg + L->self) + t->p.r * L->reg + t->p.gamma * L->calib;
    L->lr = 0.0f;
    if (!isfinite(L->total))
        return vs__err(VS_ERR_INTERNAL, "train: the loss is not finite (infonce %g, hardneg %g, self %g, reg %g)",
                       L->infonce, L->hardneg, L->self, L->reg);
    return VS_OK;
}

vs_status vs_s2vs_trainer_eval(vs_s2vs_trainer *t, const float *x, const int32_t *labels, int n,
                               int T, int R, int D, vs_s2vs_losses *out) {
    vs_s2vs_losses L;
    int prev = blas_single(t);
    vs_status s = forward_losses(t, x, labels, n, T, R, D, 0, &L);
    blas_restore(t, prev);
    if (s == VS_OK && out) *out = L;
    return s;
}

vs_status vs_s2vs_trainer_step(vs_s2vs_trainer *t, const float *x, const int32_t *labels, int n,
                               int T, int R, int D, vs_s2vs_losses *out) {
    vs_s2vs_losses L;
    int prev = blas_single(t);
    vs_status s = forward_losses(t, x, labels, n, T, R, D, 1, &L);
    if (s == VS_OK) {
        memset(t->grad, 0, sizeof(float) * (size_t)t->m->n_params);
        s = vs__simmodel_backward_batch(t->st, t->grad, t->dsims, t->p.r, x);
    }
    blas_restore(t, prev);
    if (s != VS_OK) return s;
    for (long i = 0; i < t->m->n_params; i++)
        if (!isfinite(t->grad[i]))
            return vs__err(VS_ERR_INTERNAL, "train: a gradient is not finite (parameter %ld)", i);
    t->opt.lr = vs__cosine_lr(t->opt.step, t->p.lr, t->p.lr_min, t->p.t_initial, t->p.warmup,
                              t->p.warmup_lr_init);
    L.lr = t->opt.lr;
    /* the parameters are [attention (D*D + 2D) | comparator]; a frozen part is skipped
     * (no weight decay, no moments) */
    const long na = (long)t->m->D * t->m->D + 2L * t->m->D;
    long lo = (t->p.frozen & VS_S2VS_FREEZE_ATTENTION) ? na : 0;
    long hi = (t->p.frozen & VS_S2VS_FREEZE_COMPARATOR) ? na : t->m->n_params;
    if (hi > lo)
        vs__adam_step(&t->opt, t->m->params + lo, t->grad + lo, t->adam_m + lo, t->adam_v + lo, hi - lo);
    else
        t->opt.step++;
    if (out) *out = L;
    return VS_OK;
}

/* ------------------------------------------------------------------ checkpoints */

static const struct {
    const char *key;
    size_t off;
    int is_long;
    int optional; /* absent in checkpoints from before it: the default value */
} PKEYS[] = {
#define F(k) {"train." #k, offsetof(vs_s2vs_train_params, k), 0, 0}
#define L(k) {"train." #k, offsetof(vs_s2vs_train_params, k), 1, 0}
    F(lr), F(lr_min), F(warmup_lr_init), L(warmup), L(t_initial), F(weight_decay), F(beta1),
    F(beta2), F(eps), F(tau), F(lambda), F(r), L(frozen),
    {"train.gamma", offsetof(vs_s2vs_train_params, gamma), 0, 1},
#undef F
#undef L
};
#define NPKEYS (int)(sizeof PKEYS / sizeof PKEYS[0])

vs_status vs_s2vs_trainer_set_meta(vs_s2vs_trainer *t, const char *key, const char *value) {
    for (int i = 0; i < t->n_meta; i++)
        if (strcmp(t->meta_k[i], key) == 0) {
            char *v = vs__strdup(value);
            if (!v) return vs__err(VS_ERR_NOMEM, "train: out of memory");
            vs__free(t->meta_v[i]);
            t->meta_v[i] = v;
            return VS_OK;
        }
    if (t->n_meta == MAX_META)
        return vs__err(VS_ERR_INVALID_ARG, "train: at most %d metadata entries", MAX_META);
    char *k = vs__strdup(key), *v = vs__strdup(value);
    if (!k || !v) {
        vs__free(k);
        vs__free(v);
        return vs__err(VS_ERR_NOMEM, "train: out of memory");
    }
    t->meta_k[t->n_meta] = k;
    t->meta_v[t->n_meta++] = v;
    return VS_OK;
}

const char *vs_s2vs_trainer_get_meta(const vs_s2vs_trainer *t, const char *key) {
    for (int i = 0; i < t->n_meta; i++)
        if (strcmp(t->meta_k[i], key) == 0) return t->meta_v[i];
    return NULL;
}

vs_status vs_s2vs_trainer_save(const vs_s2vs_trainer *t, const char *path) {
    vs__tfw *w;
    vs_status s = vs__tfw_create(&w);
    if (s != VS_OK) return s;
    char buf[64], name[160];
    snprintf(buf, sizeof buf, "%d", t->m->D);
    s = vs__tfw_meta(w, "simmodel.kind", "visil");
    if (s == VS_OK) s = vs__tfw_meta(w, "simmodel.D", buf);
    snprintf(buf, sizeof buf, "%ld", t->opt.step);
    if (s == VS_OK) s = vs__tfw_meta(w, "train.step", buf);
    for (int i = 0; i < NPKEYS && s == VS_OK; i++) {
        const char *base = (const char *)&t->p + PKEYS[i].off;
        if (PKEYS[i].is_long)
            snprintf(buf, sizeof buf, "%ld", *(const long *)(const void *)base);
        else
            snprintf(buf, sizeof buf, "%.9g", (double)*(const float *)(const void *)base);
        s = vs__tfw_meta(w, PKEYS[i].key, buf);
    }
    for (int i = 0; i < t->n_meta && s == VS_OK; i++) {
        snprintf(name, sizeof name, "user.%s", t->meta_k[i]);
        s = vs__tfw_meta(w, name, t->meta_v[i]);
    }
    vs__simparam tab[VS__SIM_NPARAM];
    int n = vs__simmodel_param_table(tab, t->m->D, 1, NULL);
    for (int i = 0; i < n && s == VS_OK; i++) {
        s = vs__tfw_add(w, tab[i].name, VS_DT_F32, tab[i].ndim, tab[i].dims,
                        t->m->params + tab[i].offset);
        snprintf(name, sizeof name, "adam.m.%s", tab[i].name);
        if (s == VS_OK)
            s = vs__tfw_add(w, name, VS_DT_F32, tab[i].ndim, tab[i].dims, t->adam_m + tab[i].offset);
        snprintf(name, sizeof name, "adam.v.%s", tab[i].name);
        if (s == VS_OK)
            s = vs__tfw_add(w, name, VS_DT_F32, tab[i].ndim, tab[i].dims, t->adam_v + tab[i].offset);
    }
    if (s == VS_OK) s = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return s;
}

vs_status vs_s2vs_trainer_load(vs_s2vs_trainer **out, const char *path, int n_threads) {
    *out = NULL;
    vs_simmodel *m;
    vs_status s = vs_simmodel_load(&m, path);
    if (s != VS_OK) return s;
    vs__tf *tf;
    s = vs__tf_open(&tf, path);
    if (s != VS_OK) {
        vs_simmodel_free(m);
        return s;
    }
    vs_s2vs_train_params p = vs_s2vs_train_default_params();
    p.n_threads = n_threads;
    const char *stp = vs__tf_meta(tf, "train.step");
    if (!stp) {
        s = vs__err(VS_ERR_FORMAT, "%s: not a training checkpoint (no train.step; a model file?)", path);
        goto done;
    }
    for (int i = 0; i < NPKEYS; i++) {
        const char *v = vs__tf_meta(tf, PKEYS[i].key);
        if (!v && PKEYS[i].optional) continue;
        if (!v) {
            s = vs__err(VS_ERR_FORMAT, "%s: checkpoint lacks '%s'", path, PKEYS[i].key);
            goto done;
        }
        char *base = (char *)&p + PKEYS[i].off;
        if (PKEYS[i].is_long)
            *(long *)(void *)base = strtol(v, NULL, 10);
        else
            *(float *)(void *)base = strtof(v, NULL);
    }
    vs_s2vs_trainer *t;
    s = vs_s2vs_trainer_create(&t, m, &p);
    if (s != VS_OK) goto done;
    t->opt.step = strtol(stp, NULL, 10);
    vs__simparam tab[VS__SIM_NPARAM];
    int n = vs__simmodel_param_table(tab, m->D, 1, NULL);
    char name[160];
    for (int i = 0; i < n && s == VS_OK; i++) {
        const vs__tensor *ten;
        for (int which = 0; which < 2 && s == VS_OK; which++) {
            snprintf(name, sizeof name, "adam.%c.%s", which ? 'v' : 'm', tab[i].name);
            s = vs__tf_get(tf, name, VS_DT_F32, tab[i].ndim, tab[i].dims, &ten);
            if (s == VS_OK)
                memcpy((which ? t->adam_v : t->adam_m) + tab[i].offset, ten->data,
                       sizeof(float) * (size_t)tab[i].numel);
        }
    }
    /* user metadata: the keys the data pipeline stores (the reader has no key listing) */
    if (s == VS_OK) {
        static const char *const UKEYS[] = {"data.seed", "data.position", "data.source",
                                            "data.batch", "data.mode", "data.iters", "data.clip",
                                            "data.p_edit"};
        for (size_t k = 0; k < sizeof UKEYS / sizeof UKEYS[0] && s == VS_OK; k++) {
            snprintf(name, sizeof name, "user.%s", UKEYS[k]);
            const char *v = vs__tf_meta(tf, name);
            if (v) s = vs_s2vs_trainer_set_meta(t, UKEYS[k], v);
        }
    }
    if (s != VS_OK) {
        vs_s2vs_trainer_free(t);
        goto done;
    }
    *out = t;
done:
    vs__tf_close(tf);
    vs_simmodel_free(m);
    return s;
}
