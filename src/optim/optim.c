/*
 * optim.c - Adam / AdamW steps, the warm-up + cosine learning-rate schedule (formulas
 * in optim.h, which follow torch.optim and timm), the optimiser state over a parameter
 * table, and its checkpoint I/O. Not here: any model or loss; the schedule's choice
 * of lengths (each trainer's).
 */
#include "optim/optim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

vs__adam vs__adam_default(int decoupled)
{
    vs__adam o;
    o.lr = 1e-3f;
    o.beta1 = 0.9f;
    o.beta2 = 0.999f;
    o.eps = 1e-8f;
    o.weight_decay = decoupled ? 0.01f : 0.0f;
    o.decoupled = decoupled;
    o.step = 0;
    return o;
}

void vs__adam_step(vs__adam *o, float *p, const float *g, float *m, float *v, long n)
{
    long t = ++o->step;
    /* torch computes the corrections in double (Python floats) then applies them as
     * scalars to float tensors */
    double bc1 = 1.0 - pow((double)o->beta1, (double)t);
    double bc2 = 1.0 - pow((double)o->beta2, (double)t);
    float step_size = (float)((double)o->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps, wd = o->weight_decay;
    float decay = 1.0f - o->lr * wd;
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        if (o->decoupled)
            p[i] *= decay;
        else if (wd != 0.0f)
            gi += wd * p[i];
        m[i] = m[i] * b1 + (1.0f - b1) * gi;
        v[i] = v[i] * b2 + (1.0f - b2) * gi * gi;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

float vs__cosine_lr(long step, float base, float lr_min, long t_initial, long warmup,
                    float warmup_lr_init)
{
    if (step < warmup)
        return warmup_lr_init + (float)step * (base - warmup_lr_init) / (float)warmup;
    if (step < t_initial)
        return lr_min + 0.5f * (base - lr_min) *
                            (1.0f + (float)cos(3.14159265358979323846 * (double)step /
                                               (double)t_initial));
    return lr_min;
}

/* ------------------------------------------------------------------ optimiser state */

vs_status vs__optim_init(vs__optim *o, float *params, long n, const vs__param *tab, int n_tab,
                         vs__adam hp)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < n_tab; i++)
        if (tab[i].offset < 0 || tab[i].numel < 0 || tab[i].offset + tab[i].numel > n)
            return vs__err(VS_ERR_INTERNAL, "optimiser: table entry '%s' lies outside the %ld "
                           "parameters", tab[i].name, n);
    o->grad = vs__malloc_aligned(sizeof(float) * 3 * (size_t)(n > 0 ? n : 1));
    o->tab = vs__malloc(sizeof *tab * (size_t)(n_tab > 0 ? n_tab : 1));
    if (!o->grad || !o->tab) {
        vs__optim_free(o);
        return vs__err(VS_ERR_NOMEM, "optimiser: out of memory (%ld parameters)", n);
    }
    memset(o->grad, 0, sizeof(float) * 3 * (size_t)n);
    memcpy(o->tab, tab, sizeof *tab * (size_t)n_tab);
    o->m = o->grad + n;
    o->v = o->m + n;
    o->params = params;
    o->n = n;
    o->n_tab = n_tab;
    o->adam = hp;
    return VS_OK;
}

void vs__optim_free(vs__optim *o)
{
    if (!o) return;
    vs__free_aligned(o->grad);
    vs__free(o->tab);
    memset(o, 0, sizeof *o);
}

void vs__optim_zero_grad(vs__optim *o) { memset(o->grad, 0, sizeof(float) * (size_t)o->n); }

void vs__optim_reset(vs__optim *o)
{
    memset(o->m, 0, sizeof(float) * 2 * (size_t)o->n);
    o->adam.step = 0;
}

void vs__optim_step(vs__optim *o, float lr)
{
    long step0 = o->adam.step;
    for (int i = 0; i < o->n_tab; i++) {
        const vs__param *e = &o->tab[i];
        if (e->frozen) continue;
        vs__adam a = o->adam;
        a.lr = lr;
        if (e->no_decay) a.weight_decay = 0.0f;
        a.step = step0;
        vs__adam_step(&a, o->params + e->offset, o->grad + e->offset, o->m + e->offset,
                      o->v + e->offset, e->numel);
    }
    o->adam.lr = lr;
    o->adam.step = step0 + 1;
}

int vs__optim_grad_finite(const vs__optim *o, long *bad)
{
    for (long i = 0; i < o->n; i++)
        if (!isfinite(o->grad[i])) {
            if (bad) *bad = i;
            return 0;
        }
    return 1;
}

/* ------------------------------------------------------------------ checkpoints */

vs_status vs__optim_save(const vs__optim *o, vs__tfw *w)
{
    char name[VS__PARAM_NAME + 16], buf[32];
    vs_status s = VS_OK;
    for (int i = 0; i < o->n_tab && s == VS_OK; i++) {
        const vs__param *e = &o->tab[i];
        snprintf(name, sizeof name, "adam.m.%s", e->name);
        s = vs__tfw_add(w, name, VS_DT_F32, e->ndim, e->dims, o->m + e->offset);
        snprintf(name, sizeof name, "adam.v.%s", e->name);
        if (s == VS_OK) s = vs__tfw_add(w, name, VS_DT_F32, e->ndim, e->dims, o->v + e->offset);
    }
    snprintf(buf, sizeof buf, "%ld", o->adam.step);
    if (s == VS_OK) s = vs__tfw_meta(w, "train.adam_step", buf);
    return s;
}

vs_status vs__optim_save_params(const vs__optim *o, vs__tfw *w)
{
    vs_status s = VS_OK;
    for (int i = 0; i < o->n_tab && s == VS_OK; i++) {
        const vs__param *e = &o->tab[i];
        s = vs__tfw_add(w, e->name, VS_DT_F32, e->ndim, e->dims, o->params + e->offset);
    }
    return s;
}

/* Copy the tensors "<prefix><name>" of every entry into dst (same layout as the block),
 * or the flat tensor `flat` of all n floats when the first named one is absent. */
static vs_status load_block(const vs__optim *o, const vs__tf *tf, const char *prefix,
                            const char *flat, float *dst, int check_finite)
{
    char name[VS__PARAM_NAME + 16];
    const vs__tensor *t;
    snprintf(name, sizeof name, "%s%s", prefix, o->n_tab ? o->tab[0].name : "");
    if (flat && (!o->n_tab || !vs__tf_find(tf, name))) {
        int64_t dims[1] = {o->n};
        vs_status s = vs__tf_get(tf, flat, VS_DT_F32, 1, dims, &t);
        if (s != VS_OK) return s;
        const float *src = t->data;
        for (long k = 0; check_finite && k < o->n; k++)
            if (!isfinite(src[k]))
                return vs__err(VS_ERR_FORMAT, "%s: tensor '%s' has a non-finite value at %ld",
                               vs__tf_path(tf), flat, k);
        memcpy(dst, src, sizeof(float) * (size_t)o->n);
        return VS_OK;
    }
    for (int i = 0; i < o->n_tab; i++) {
        const vs__param *e = &o->tab[i];
        snprintf(name, sizeof name, "%s%s", prefix, e->name);
        vs_status s = vs__tf_get(tf, name, VS_DT_F32, e->ndim, e->dims, &t);
        if (s != VS_OK) return s;
        const float *src = t->data;
        for (long k = 0; check_finite && k < e->numel; k++)
            if (!isfinite(src[k]))
                return vs__err(VS_ERR_FORMAT, "%s: tensor '%s' has a non-finite value at %ld",
                               vs__tf_path(tf), name, k);
        memcpy(dst + e->offset, src, sizeof(float) * (size_t)e->numel);
    }
    return VS_OK;
}

vs_status vs__optim_load(vs__optim *o, const vs__tf *tf, const char *legacy_step_key)
{
    const char *key = "train.adam_step";
    const char *v = vs__tf_meta(tf, key);
    if (!v && legacy_step_key) v = vs__tf_meta(tf, key = legacy_step_key);
    char *end = NULL;
    long step = v ? strtol(v, &end, 10) : -1;
    if (!v || !*v || *end || step < 0)
        return vs__err(VS_ERR_FORMAT, "%s: not a training checkpoint (metadata '%s' %s)",
                       vs__tf_path(tf), key, v ? "is not a step count" : "missing");
    vs_status s = load_block(o, tf, "adam.m.", "adam.m", o->m, 1);
    if (s == VS_OK) s = load_block(o, tf, "adam.v.", "adam.v", o->v, 1);
    if (s == VS_OK) o->adam.step = step;
    return s;
}

vs_status vs__optim_load_params(vs__optim *o, const vs__tf *tf, const char *legacy_flat)
{
    return load_block(o, tf, "", legacy_flat, o->params, 1);
}
