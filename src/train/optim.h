/*
 * optim.h - optimisers and learning-rate schedules shared by every trainer in vidsim
 * (S2VS similarity network, ConMH hashing, 3D-CSL clip model): Adam / AdamW exactly as
 * torch.optim implements them, and timm's CosineLRScheduler with linear warm-up as
 * stepped per iteration by the S2VS reference.
 */
#ifndef VS_TRAIN_OPTIM_H
#define VS_TRAIN_OPTIM_H

typedef struct vs__adam {
    float lr;           /* current learning rate (set per step by the caller's schedule) */
    float beta1, beta2; /* 0.9, 0.999 */
    float eps;          /* 1e-8 */
    float weight_decay; /* AdamW: decoupled, p -= lr*wd*p before the Adam update;
                           Adam (decoupled = 0): L2, g += wd*p */
    int decoupled;      /* 1 = AdamW, 0 = Adam */
    long step;          /* steps taken so far (bias correction uses step+1 on the next) */
} vs__adam;

/* Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0 (Adam) / 0.01 (AdamW). */
vs__adam vs__adam_default(int decoupled);

/* One optimiser step over n parameters: p [n] updated in place from grad g [n] with the
 * first and second moments m [n], v [n] (zero before the first step). Increments
 * o->step. Matches torch.optim.Adam / AdamW (amsgrad off, maximize off):
 *   AdamW:  p *= 1 - lr*wd;  Adam: g += wd*p
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)                            */
void vs__adam_step(vs__adam *o, float *p, const float *g, float *m, float *v, long n);

/* timm CosineLRScheduler(t_initial, lr_min, warmup_t, warmup_lr_init), t_in_epochs=False:
 *   step < warmup:   warmup_lr_init + step*(base - warmup_lr_init)/warmup
 *   step < t_initial: lr_min + 0.5*(base - lr_min)*(1 + cos(pi*step/t_initial))
 *   else             lr_min                                                          */
float vs__cosine_lr(long step, float base, float lr_min, long t_initial, long warmup,
                    float warmup_lr_init);

#endif
