/*
 * optim.h - the training core shared by every trainer in vidsim (S2VS similarity
 * network, ConMH hashing, 3D-CSL clip model): Adam / AdamW exactly as torch.optim
 * implements them, timm's CosineLRScheduler with linear warm-up as stepped per
 * iteration, one parameter-table type (name, shape, place in a contiguous block,
 * decay / frozen flags), the optimiser state over such a table (gradient and moment
 * blocks parallel to the parameter block) and its checkpoint I/O.
 *
 * Checkpoint layout (the same for every trainer, docs/training.md "Checkpoints"):
 *   <name>           the parameters, one tensor per table entry (written by the model
 *                    or by vs__optim_save_params)
 *   adam.m.<name>    first moment of that tensor, same shape
 *   adam.v.<name>    second moment
 *   train.adam_step  optimiser steps taken (bias correction)
 * plus the trainer's own train.* metadata (train.step, train.rng, train.params, ...).
 * Moments written before this layout as one flat tensor "adam.m" / "adam.v" of all the
 * block's floats still load.
 *
 * Depends on core only; simmodel, hash, clip and train sit above it.
 */
#ifndef VS_OPTIM_OPTIM_H
#define VS_OPTIM_OPTIM_H

#include "core/internal.h"
#include "core/tensorfile.h"

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

/* ------------------------------------------------------------------ parameter table */

#define VS__PARAM_NAME 64
#define VS__PARAM_DIMS 4

/* One named tensor of a model's contiguous parameter block. */
typedef struct vs__param {
    char name[VS__PARAM_NAME]; /* tensor name in model files and checkpoints */
    int ndim;
    int64_t dims[VS__PARAM_DIMS];
    long offset;               /* floats from the block start */
    long numel;
    int no_decay;              /* 1 = weight decay does not apply (biases, norms, ...) */
    int frozen;                /* 1 = not updated: no step, no decay, moments kept */
} vs__param;

/* The optimiser state of one trainer: the model's parameter block (borrowed) and the
 * gradient and moment blocks (owned, same layout), the table and Adam's settings. */
typedef struct vs__optim {
    vs__adam adam;   /* hyperparameters and the step count */
    float *params;   /* [n] borrowed: the model's block */
    float *grad;     /* [n] owned; the three blocks are one allocation */
    float *m, *v;    /* [n] each: first and second moments */
    long n;
    vs__param *tab;  /* [n_tab] owned copy */
    int n_tab;
} vs__optim;

/* Set o up over params [n] with a copy of tab [n_tab] (entries inside [0, n)) and the
 * settings hp; grad and moments start at zero. On failure o is left empty (freeable). */
vs_status vs__optim_init(vs__optim *o, float *params, long n, const vs__param *tab, int n_tab,
                         vs__adam hp);
void vs__optim_free(vs__optim *o); /* the owned blocks; o may be zeroed or half set up */
void vs__optim_zero_grad(vs__optim *o);
/* Moments to zero and the step count to 0 (a new training stage). */
void vs__optim_reset(vs__optim *o);
/* One step at learning rate lr over every entry that is not frozen (weight decay
 * o->adam.weight_decay, 0 for no_decay entries); the step count advances by one even
 * when every entry is frozen. Per entry, the update is exactly vs__adam_step's. */
void vs__optim_step(vs__optim *o, float lr);
/* 1 when every gradient is finite, else 0 and *bad the first bad index. */
int vs__optim_grad_finite(const vs__optim *o, long *bad);

/* Checkpoint I/O in the layout above: the moments and train.adam_step. */
vs_status vs__optim_save(const vs__optim *o, vs__tfw *w);
/* The parameters themselves under the table's names (for trainers whose model writer
 * does not store them). */
vs_status vs__optim_save_params(const vs__optim *o, vs__tfw *w);
/* Restore the moments and the step (per-tensor layout, or the legacy flat "adam.m" /
 * "adam.v"; a missing train.adam_step uses legacy_step_key when given). Errors name
 * the file and the tensor or key. */
vs_status vs__optim_load(vs__optim *o, const vs__tf *tf, const char *legacy_step_key);
/* Restore the parameters from the table's names (or the legacy flat tensor
 * legacy_flat when given and the named ones are absent); non-finite values refused. */
vs_status vs__optim_load_params(vs__optim *o, const vs__tf *tf, const char *legacy_flat);

#endif
