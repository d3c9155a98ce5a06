/*
 * optim.c - Adam / AdamW steps and the warm-up + cosine learning-rate schedule
 * (see optim.h for the exact formulas, which follow torch.optim and timm).
 */
#include "train/optim.h"

#include <math.h>

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
