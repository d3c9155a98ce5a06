/*
 * s2vs.c - the S2VS trainer: batch forward (vs_simmodel_forward_batch), the InfoNCE /
 * hard-negative / self / regularisation losses, the backward pass into one gradient
 * block parallel to the model's parameter block, and AdamW with the reference's
 * warm-up + cosine schedule (the optimiser core, src/optim). The model is reached
 * only through its public API and the narrow training interface (simmodel_train.h).
 * Checkpoints are VSTF files in the trainers' common layout (model tensors under their
 * state-dict names, "adam.m.<name>" / "adam.v.<name>", train.* metadata, user.*
 * metadata of the caller).
 */
#include "vidsim/train.h"

#include "core/tensorfile.h"
#include "optim/optim.h"
#include "simmodel/simmodel_train.h"
#include "train/losses.h"

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
    vs__optim opt;           /* gradient and AdamW moments, parallel to m's block */
    int D;                   /* the model's feature dimension */
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
    vs__optim_free(&t->opt);
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
    vs_simmodel *m;
    vs_status s = vs__simmodel_train_copy(&m, init);
    if (s != VS_OK) return s;
    vs_s2vs_trainer *t = vs__calloc(1, sizeof *t);
    if (!t) {
        vs_simmodel_free(m);
        return vs__err(VS_ERR_NOMEM, "train: out of memory");
    }
    t->m = m;
    t->D = vs_simmodel_dim(m);
    t->p = p ? *p : vs_s2vs_train_default_params();
    if (t->p.n_threads < 1) t->p.n_threads = 1;
    /* AdamW on every tensor; a frozen part is skipped (no weight decay, no moments) */
    vs__param tab[VS__SIM_TRAIN_MAXPARAM];
    int ntab = vs__simmodel_train_table(tab, m, t->p.frozen);
    vs__adam hp = vs__adam_default(1);
    hp.beta1 = t->p.beta1;
    hp.beta2 = t->p.beta2;
    hp.eps = t->p.eps;
    hp.weight_decay = t->p.weight_decay;
    s = vs__optim_init(&t->opt, vs__simmodel_train_params(m), vs_simmodel_n_params(m), tab, ntab, hp);
    if (s != VS_OK) goto fail;
    vs_simmodel_params sp = vs_simmodel_default_params();
    sp.n_threads = t->p.n_threads;
    s = vs_simmodel_state_create(&t->st, t->m, &sp);
    if (s != VS_OK) goto fail;
    *out = t;
    return VS_OK;
fail:
    vs_s2vs_trainer_free(t);
    return s;
}

const vs_simmodel *vs_s2vs_trainer_model(const vs_s2vs_trainer *t) { return t->m; }
long vs_s2vs_trainer_steps(const vs_s2vs_trainer *t) { return t->opt.adam.step; }
const float *vs_s2vs_trainer_grad(const vs_s2vs_trainer *t) { return t->opt.grad; }

static vs_status check_batch(vs_s2vs_trainer *t, const int32_t *labels, int n, int D) {
    if (n < 2)
        return vs__err(VS_ERR_INVALID_ARG, "train: a batch needs at least 2 clips (got %d)", n);
    if (D != t->D)
        return vs__err(VS_ERR_INVALID_ARG, "train: features have D=%d, the model D=%d", D, t->D);
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
 * made steps several times slower). It is put at one thread once and never switched
 * back (core/blas.c, docs/threading.md); nothing is restored after the step. */
static int blas_single(const vs_s2vs_trainer *t) {
    if (t->p.n_threads > 1) vs__blas_pool_started();
    return 0;
}
static void blas_restore(const vs_s2vs_trainer *t, int prev) {
    (void)t;
    (void)prev;
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
    s = vs__loss_infonce(&L->infonce, ds, 1.0f, t->sims, labels, n, t->p.tau);
    if (s != VS_OK) return s;
    L->hardneg = vs__loss_hardneg(ds, t->p.lambda, t->sims, labels, n);
    L->self = vs__loss_self(ds, t->p.lambda, t->sims, n);
    L->calib = vs__loss_calib(t->p.gamma > 0 ? ds : NULL, t->p.gamma, t->sims, labels, n);
    L->reg = reg;
    L->total = L->infonce + t->p.lambda * (L->hardneg + L->self) + t->p.r * L->reg + t->p.gamma * L->calib;
    L->gamma = t->p.gamma;
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
        vs__optim_zero_grad(&t->opt);
        s = vs__simmodel_train_backward(t->st, t->opt.grad, t->dsims, t->p.r, x);
    }
    blas_restore(t, prev);
    if (s != VS_OK) return s;
    long bad;
    if (!vs__optim_grad_finite(&t->opt, &bad))
        return vs__err(VS_ERR_INTERNAL, "train: a gradient is not finite (parameter %ld)", bad);
    L.lr = vs__cosine_lr(t->opt.adam.step, t->p.lr, t->p.lr_min, t->p.t_initial, t->p.warmup,
                         t->p.warmup_lr_init);
    vs__optim_step(&t->opt, L.lr);
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
    snprintf(buf, sizeof buf, "%d", t->D);
    s = vs__tfw_meta(w, "simmodel.kind", "visil");
    if (s == VS_OK) s = vs__tfw_meta(w, "simmodel.D", buf);
    if (s == VS_OK) s = vs__tfw_meta(w, "train.kind", "s2vs");
    if (s == VS_OK) s = vs__tfw_meta(w, "train.layout", "2");
    snprintf(buf, sizeof buf, "%ld", t->opt.adam.step);
    if (s == VS_OK) s = vs__tfw_meta(w, "train.step", buf);
    /* one key per parameter (what resume restores), and all of them in train.params,
     * the run's description that every trainer's checkpoint carries */
    char all[640] = "";
    size_t used = 0;
    for (int i = 0; i < NPKEYS && s == VS_OK; i++) {
        const char *base = (const char *)&t->p + PKEYS[i].off;
        if (PKEYS[i].is_long)
            snprintf(buf, sizeof buf, "%ld", *(const long *)(const void *)base);
        else
            snprintf(buf, sizeof buf, "%.9g", (double)*(const float *)(const void *)base);
        s = vs__tfw_meta(w, PKEYS[i].key, buf);
        if (used < sizeof all)
            used += (size_t)snprintf(all + used, sizeof all - used, "%s%s=%s", i ? " " : "",
                                     PKEYS[i].key + 6, buf);
    }
    if (s == VS_OK) s = vs__tfw_meta(w, "train.params", all);
    for (int i = 0; i < t->n_meta && s == VS_OK; i++) {
        snprintf(name, sizeof name, "user.%s", t->meta_k[i]);
        s = vs__tfw_meta(w, name, t->meta_v[i]);
    }
    if (s == VS_OK) s = vs__optim_save_params(&t->opt, w);
    if (s == VS_OK) s = vs__optim_save(&t->opt, w);
    if (s == VS_OK) s = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return s;
}

/* The data parameters a run must share with the checkpoint it resumes, as the user
 * metadata that records them (the forms vs_s2vs_trainer_set_data stores). */
static void data_meta(const vs_s2vs_data_params *dp, char *clip, size_t nc, char *p_edit, size_t np) {
    snprintf(clip, nc, "%d", dp->aug.clip);
    /* %g: --resume compares in this form, so a value that %g rounds still matches its
     * own checkpoint */
    snprintf(p_edit, np, "%g", dp->aug.p_edit);
}

vs_status vs_s2vs_trainer_set_data(vs_s2vs_trainer *t, const vs_s2vs_data_params *dp) {
    char clip[32], p_edit[32];
    data_meta(dp, clip, sizeof clip, p_edit, sizeof p_edit);
    vs_status s = vs_s2vs_trainer_set_meta(t, "data.clip", clip);
    if (s == VS_OK) s = vs_s2vs_trainer_set_meta(t, "data.p_edit", p_edit);
    return s;
}

/* A resumed run must build its clips as the checkpoint's did: the same clip length
 * and the same copy-edit probability (absent in older checkpoints: 0). */
static vs_status check_data(const vs_s2vs_trainer *t, const char *path, const vs_s2vs_data_params *dp) {
    char clip[32], p_edit[32];
    data_meta(dp, clip, sizeof clip, p_edit, sizeof p_edit);
    const char *c0 = vs_s2vs_trainer_get_meta(t, "data.clip");
    if (c0 && atoi(c0) != dp->aug.clip)
        return vs__err(VS_ERR_INVALID_ARG,
                       "%s was trained with --clip %s; resume it with the same --clip (not %d)", path, c0,
                       dp->aug.clip);
    const char *e0 = vs_s2vs_trainer_get_meta(t, "data.p_edit");
    if ((e0 ? atof(e0) : 0.0) != atof(p_edit))
        return vs__err(VS_ERR_INVALID_ARG,
                       "%s was trained with --copy-edits %s; resume it with the same value (not %g)", path,
                       e0 ? e0 : "0", dp->aug.p_edit);
    return VS_OK;
}

vs_status vs_s2vs_trainer_resume(vs_s2vs_trainer **out, const char *path, int n_threads,
                                 const vs_s2vs_data_params *data) {
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
    /* moments and step (before the common layout the step was train.step only) */
    s = vs__optim_load(&t->opt, tf, "train.step");
    /* user metadata: every "user.*" key, as the caller stored it */
    for (int i = 0; i < vs__tf_meta_count(tf) && s == VS_OK; i++) {
        const char *k, *v;
        vs__tf_meta_at(tf, i, &k, &v);
        if (strncmp(k, "user.", 5) == 0) s = vs_s2vs_trainer_set_meta(t, k + 5, v);
    }
    if (s == VS_OK && data) s = check_data(t, path, data);
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
