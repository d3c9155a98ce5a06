/*
 * train.h - self-supervised training of the S2VS similarity network (attention and
 * comparator; the backbone and the whitening stay frozen), as in s2vs.md §3: one step
 * takes a batch of 2B clips' region features [2B, T, R, D] (weak views then strong
 * views) and their positive-label matrix, computes the batch similarity matrix (all
 * ordered pairs, training scale [0,1]), the losses
 *     L = InfoNCE(tau) + lambda * (L_hardneg + L_self) + r * L_reg,
 * backpropagates through the whole network and takes one AdamW step with the
 * warm-up + cosine learning rate of the reference. Where the clips come from
 * (decoded + augmented videos, or a bank of precomputed augmented views) is the
 * data pipeline's business (vs_s2vs_bank_* below; docs/training.md).
 *
 * A trainer owns a private copy of the model; vs_s2vs_trainer_model() gives a
 * read-only view for evaluation between steps. Checkpoints are VSTF files holding the
 * model tensors under their usual names (so a checkpoint loads as a model with
 * vs_simmodel_load) plus the AdamW moments and the step; written atomically. The API
 * has the shape of every vidsim trainer (vs_hashtrain_*, vs_cliptrain_* too):
 * create / step / save / resume / free, and one checkpoint layout (docs/training.md).
 *
 * Example:
 *     vs_s2vs_trainer *t;
 *     vs_s2vs_train_params p = vs_s2vs_train_default_params();
 *     vs_simmodel *m0; vs_simmodel_create_random(&m0, 256, 1);
 *     vs_s2vs_trainer_create(&t, m0, &p);
 *     for (...) { vs_s2vs_losses l; vs_s2vs_trainer_step(t, x, labels, 2*B, 32, 9, 256, &l); }
 *     vs_s2vs_trainer_save(t, "ckpt.vstf");
 *     vs_simmodel_save(vs_s2vs_trainer_model(t), "model.vstf");
 */
#ifndef VIDSIM_TRAIN_H
#define VIDSIM_TRAIN_H

#include "vidsim/base.h"
#include "vidsim/simmodel.h"
#include "vidsim/augment.h"
#include "vidsim/features.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { VS_S2VS_FREEZE_ATTENTION = 1, VS_S2VS_FREEZE_COMPARATOR = 2 };

typedef struct vs_s2vs_train_params {
    float lr;             /* peak learning rate (5e-5) */
    float lr_min;         /* end of the cosine (0.1 * lr) */
    float warmup_lr_init; /* start of the warm-up (0.01 * lr) */
    long warmup;          /* warm-up steps (reference 1000 of 30000) */
    long t_initial;       /* cosine length in steps (reference 30000) */
    float weight_decay;   /* AdamW, every parameter (0.01) */
    float beta1, beta2, eps; /* 0.9, 0.999, 1e-8 */
    float tau;            /* InfoNCE temperature (0.03) */
    float lambda;         /* weight of L_hardneg + L_self (3) */
    float r;              /* weight of L_reg (1, sum reduction) */
    float gamma;          /* weight of L_calib, a pairwise calibration term that S2VS does
                             not have (0: the reference; vidsim train --calib) */
    long frozen;          /* VS_S2VS_FREEZE_* bits: parts not updated (0, the reference) */
    int n_threads;        /* pairs of the batch spread over this many threads */
} vs_s2vs_train_params;

/* The reference's values (s2vs.md §3.7-3.8) with a schedule of 30000 steps. */
VS_API vs_s2vs_train_params vs_s2vs_train_default_params(void);

typedef struct vs_s2vs_losses {
    double infonce, hardneg, self, reg; /* the terms (reg: sum over pairs and cells) */
    double calib;                       /* L_calib (computed whatever gamma is) */
    double total;                       /* infonce + lambda*(hardneg + self) + r*reg + gamma*calib */
    float lr;                           /* learning rate of the step (0 for eval) */
    float gamma;                        /* the calibration weight in use (0: the term is off) */
} vs_s2vs_losses;

typedef struct vs_s2vs_trainer vs_s2vs_trainer;
struct vs_s2vs_data_params; /* below: the data pipeline's parameters */

/* A trainer starting from a copy of init (a ViSiL model with attention). */
VS_API vs_status vs_s2vs_trainer_create(vs_s2vs_trainer **out, const vs_simmodel *init,
                                        const vs_s2vs_train_params *p);
VS_API void vs_s2vs_trainer_free(vs_s2vs_trainer *t); /* NULL ok */

/* One training step on n clips x [n,T,R,D] (raw region features; weak views first,
 * then strong views, by convention) with labels [n,n] (1 = same source; diagonal 1).
 * Fills *out (may be NULL) with the losses before the update. */
VS_API vs_status vs_s2vs_trainer_step(vs_s2vs_trainer *t, const float *x, const int32_t *labels,
                                      int n, int T, int R, int D, vs_s2vs_losses *out);
/* Losses only (no gradient, no update): for validation. */
VS_API vs_status vs_s2vs_trainer_eval(vs_s2vs_trainer *t, const float *x, const int32_t *labels,
                                      int n, int T, int R, int D, vs_s2vs_losses *out);

/* The current model (owned by t, valid until the next step or free). */
VS_API const vs_simmodel *vs_s2vs_trainer_model(const vs_s2vs_trainer *t);
/* Steps taken so far. */
VS_API long vs_s2vs_trainer_steps(const vs_s2vs_trainer *t);
/* The gradient of the last step's loss w.r.t. every parameter, in the model's
 * parameter order (vs_simmodel_n_params floats; owned by t). */
VS_API const float *vs_s2vs_trainer_grad(const vs_s2vs_trainer *t);

/* Checkpoint: model tensors + AdamW moments + step + params, atomic write. Resuming
 * restores everything (params from the file, except n_threads; checkpoints written
 * before the common layout load too). Extra metadata (key=value strings, e.g. the
 * data pipeline's seed and position) may be stored with the checkpoint and read back.
 * With data given, resume also checks that the run builds its clips as the
 * checkpoint's did (clip length, copy-edit probability, as stored by
 * vs_s2vs_trainer_set_data): VS_ERR_INVALID_ARG naming the file and the setting when
 * not. */
VS_API vs_status vs_s2vs_trainer_save(const vs_s2vs_trainer *t, const char *path);
VS_API vs_status vs_s2vs_trainer_resume(vs_s2vs_trainer **out, const char *path, int n_threads,
                                        const struct vs_s2vs_data_params *data);
VS_API vs_status vs_s2vs_trainer_set_meta(vs_s2vs_trainer *t, const char *key, const char *value);
VS_API const char *vs_s2vs_trainer_get_meta(const vs_s2vs_trainer *t, const char *key);
/* Record the data parameters a resumed run must share (data.clip, data.p_edit). */
VS_API vs_status vs_s2vs_trainer_set_data(vs_s2vs_trainer *t, const struct vs_s2vs_data_params *dp);

/* ------------------------------------------------------------------ training data
 * Clips for the trainer from a set of unlabeled videos (s2vs.md §3.2-3.5):
 *   VS_S2VS_BANK (default): an augmentation bank. Each video is decoded once (1 fps,
 *     256x256 centre) and the features of n_weak weak views (RandomResizedCrop 0.8-1 +
 *     flip), n_strong strong views (RandomResizedCrop 0.5-1 + flip, RandAugment(2,9)
 *     per view, text / emoji overlays and blur drawn per frame) and n_viv
 *     video-in-video views (a strong view pasted into frames of another video) are
 *     computed for all its frames. A batch then samples B videos, a 64-frame window
 *     and the weak / strong T_B-frame crops (aug.clip, 32) with the temporal transformations of the
 *     reference applied to frame indices (TSD black / noise frames use the features of
 *     a black / noise frame), picks one stored view for each, and builds the labels.
 *   VS_S2VS_ONLINE: exact: every batch decodes nothing (frames are cached at add
 *     time) but augments the pixels of both views afresh and runs the backbone on all
 *     2*B*T_B frames, with video-in-video across the batch as the reference does.
 * Everything is deterministic from the seed and the iteration number.
 */
typedef enum { VS_S2VS_BANK = 0, VS_S2VS_ONLINE = 1 } vs_s2vs_data_mode;

typedef struct vs_s2vs_data_params {
    vs_s2vs_data_mode mode;
    int n_weak, n_strong, n_viv; /* bank views per video (2, 4, 1) */
    double p_viv;                /* probability a strong clip is video-in-video (0.3) */
    int max_frames;              /* frames kept per video (1 fps), 0 = all (default 300) */
    uint64_t seed;
    vs_aug_params aug;           /* vs_aug_default_params() */
    const char *features;        /* optional, borrowed: the model id of the extractor's features;
                                    a saved bank records it ("bank.features") and a bank that
                                    records another is refused on load (NULL: not checked) */
} vs_s2vs_data_params;

VS_API vs_s2vs_data_params vs_s2vs_data_default_params(void);

typedef struct vs_s2vs_data vs_s2vs_data;

/* ex: an extraction state whose output is the model's features (R x D per frame);
 * aug: an augmentation state (fonts loaded for overlays). Both are borrowed and must
 * outlive d; they are used only from the calling thread. */
VS_API vs_status vs_s2vs_data_create(vs_s2vs_data **out, const vs_s2vs_data_params *p,
                                     vs_extract_state *ex, vs_aug_state *aug, int R, int D);
VS_API void vs_s2vs_data_free(vs_s2vs_data *d);

/* Add one video: decode it and (bank mode) compute its views. A video that cannot be
 * decoded fails with the decoder's error naming it and leaves d unchanged. */
VS_API vs_status vs_s2vs_data_add_video(vs_s2vs_data *d, const char *path);
VS_API int vs_s2vs_data_n_videos(const vs_s2vs_data *d);
/* Frames of backbone work done so far (bank building / online batches). */
VS_API long vs_s2vs_data_frames_done(const vs_s2vs_data *d);

/* Pairs of window vectors for a learned whitening of global vectors (ann.h
 * vs_gvec_whiten_learn; bank mode only): per bank video, n_per_video pairs, each two
 * different stored views (weak, strong or video-in-video, drawn uniformly) of the same
 * frames [t, t + w), w uniform in 1..max(1, n/2) of its n frames, reduced to their
 * L2-normalised mean region vector (vs_ann_mean_vector). a, b [n_videos * n_per_video, D],
 * allocated here (free with vs_free); *n the pair count. Deterministic from seed. A bank
 * with one view per video has no pairs: VS_ERR_INVALID_ARG. */
VS_API vs_status vs_s2vs_data_view_pairs(const vs_s2vs_data *d, int n_per_video, uint64_t seed, float **a, float **b,
                                         long *n);

/* The batch of iteration iter: B distinct videos (B <= n_videos), x [2B, aug.clip, R, D]
 * (weak views, then strong views), labels [2B, 2B]. */
VS_API vs_status vs_s2vs_data_batch(vs_s2vs_data *d, float *x, int32_t *labels, int B, long iter);

/* Bank files (VSTF; bank mode only): save atomically / load. Loading checks R, D
 * and the parameters the views were built with. */
VS_API vs_status vs_s2vs_data_save(const vs_s2vs_data *d, const char *path);
VS_API vs_status vs_s2vs_data_load(vs_s2vs_data *d, const char *path);

/* ------------------------------------------------------------------ after training
 * Is the trained model better than the training-free ViSiL_f on the user's own videos?
 * vs_holdout_compare builds a small copy-detection benchmark from videos that were held
 * out of training: each video (at most max_frames frames at 1 fps) is a reference, and
 * `copies` edited copies of it are queries (a random 50-100 % segment, then one of the
 * edits named by vs_holdout_edit_name: mirror, crop, blur, grey, hue, noise,
 * low_quality, border). Both models score every query against every reference
 * (symmetric); μAP over all pairs and mAP over queries as vidsim eval computes them
 * (vs_eval_ap, pessimistic ties). Deterministic for a seed. A video that cannot be
 * decoded to 2 frames is left out (n_failed). st: an extraction state giving R x D
 * features per frame (of the model's feature space); borrowed, calling thread only. */
#define VS_HOLDOUT_N_EDITS 8
typedef struct vs_holdout_params {
    int copies;                 /* edited copies per video (default 3) */
    uint64_t seed;              /* (default 1) */
    int max_frames;             /* frames per video at 1 fps (default 60) */
    int n_threads;              /* similarity threads (default 1) */
    vs_progress_fn progress_fn; /* optional: videos done / n */
    void *progress_user;
} vs_holdout_params;
typedef struct vs_holdout_report {
    int n_videos, n_queries, n_failed;
    double uap_baseline, map_baseline; /* ViSiL_f */
    double uap_model, map_model;       /* the model given */
    int edits[VS_HOLDOUT_N_EDITS];     /* queries made with each edit */
} vs_holdout_report;
VS_API vs_holdout_params vs_holdout_default_params(void);
VS_API const char *vs_holdout_edit_name(int k);
VS_API vs_status vs_holdout_compare(vs_extract_state *st, int R, int D, const char *const *videos, int n,
                                    const vs_simmodel *model, const vs_holdout_params *p, vs_holdout_report *out);

#ifdef __cplusplus
}
#endif

#endif /* VIDSIM_TRAIN_H */
