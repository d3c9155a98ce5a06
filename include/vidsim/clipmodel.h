/*
 * clipmodel.h - 3D-CSL-F: clip-level video descriptors from a small spatio-temporal
 * transformer over frozen region features (features.h), trained without labels
 * (PredMAE, then ShotMix + the FCS triplet loss). A video's 1-fps frames are cut into
 * non-overlapping clips of F = 8 frames; each clip's F x R (frame, region) tokens plus a
 * CLS token go through the transformer and the final-LayerNorm CLS, L2-normalised, is
 * the clip vector. Two videos compare by 3D-CSL's top-k Chamfer similarity: for each
 * query clip the best cosine over the target's clips, then the mean of the k = 3
 * largest of those maxima. Design and measured figures: docs/clip.md.
 *
 * Thread safety: a vs_clipmodel is read-only after load and may be shared by any number
 * of threads; vs_clipmodel_encode allocates its own scratch per call. A vs_cliptrain is
 * single-threaded (one trainer per thread); OpenBLAS may use its own threads inside.
 *
 * Example:
 *     vs_clipmodel *m; vs_features *f;             // f from vs_features_load
 *     if (vs_clipmodel_load(&m, "models/clip_inception_v3.vstf") != VS_OK) { puts(vs_last_error()); return; }
 *     int n = vs_clipmodel_n_clips(m, f->T), d = vs_clipmodel_dim(m);
 *     float *v = malloc(sizeof(float) * n * d);
 *     vs_clipmodel_encode(m, v, f->data, f->T, f->R, f->D);   // v [n, d], unit rows
 *     float s = vs_clip_similarity(v, n, v, n, d, 3);          // 1.0 with itself
 *     free(v); vs_clipmodel_free(m);
 */
#ifndef VIDSIM_CLIPMODEL_H
#define VIDSIM_CLIPMODEL_H

#include "vidsim/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VS_CLIP_FRAMES 8 /* frames per clip (1 fps: 8 s) */
#define VS_CLIP_TOPK 3   /* k of the top-k Chamfer similarity */

/* Architecture. vs_clipmodel_default_config() gives the shipped sizes. */
typedef struct vs_clipmodel_config {
    int D;         /* input region dims (256) */
    int R;         /* regions per frame (9) */
    int F;         /* frames per clip (VS_CLIP_FRAMES) */
    int width;     /* transformer width C = clip vector dims (128) */
    int depth;     /* encoder blocks (4) */
    int heads;     /* attention heads (4; head width = width / heads) */
    int mlp;       /* MLP hidden width (4 * width) */
    int dec_depth; /* PredMAE decoder blocks (1; training only, not in exported models) */
    int pool;      /* clip vector: VS_CLIP_POOL_CLS (3D-CSL's) or VS_CLIP_POOL_MEAN */
} vs_clipmodel_config;

/* How the clip vector is read off the encoder's final LayerNorm outputs: the CLS token
 * (3D-CSL, TimeSformer), or the mean of the F*R (frame, region) tokens (timm's
 * global_pool='avg'); then L2-normalised. docs/clip.md compares them. */
enum { VS_CLIP_POOL_CLS = 0, VS_CLIP_POOL_MEAN = 1 };

VS_API vs_clipmodel_config vs_clipmodel_default_config(void);

typedef struct vs_clipmodel vs_clipmodel; /* read-only, shareable */

/* A model with the initialisation used for training (truncated-normal 0.02 weights,
 * zero biases, unit LayerNorms) from a fixed seed. */
VS_API vs_status vs_clipmodel_create(vs_clipmodel **out, const vs_clipmodel_config *c,
                                     uint64_t seed);
/* Load a VSTF model file (metadata clip.* gives the config; tensors named as in
 * docs/clip.md). A file that is not a clip model, or a missing, mis-shaped or non-finite
 * tensor fails with VS_ERR_FORMAT and a message naming the file. *out NULL on failure. */
VS_API vs_status vs_clipmodel_load(vs_clipmodel **out, const char *path);
/* Builtin training-free clip model "mean": a clip's vector is the mean of its F x R
 * region features, L2-normalised (dim = D). The baseline the trained models are
 * measured against (docs/clip.md). No parameters; cannot be saved. */
VS_API vs_status vs_clipmodel_builtin(vs_clipmodel **out, const char *name, int D, int R);
/* Write the encoder (no decoder) as VSTF, atomically. */
VS_API vs_status vs_clipmodel_save(const vs_clipmodel *m, const char *path);
VS_API void vs_clipmodel_free(vs_clipmodel *m); /* NULL ok */

VS_API vs_clipmodel_config vs_clipmodel_get_config(const vs_clipmodel *m);
VS_API int vs_clipmodel_dim(const vs_clipmodel *m);        /* clip vector dims (width) */
VS_API long vs_clipmodel_n_params(const vs_clipmodel *m);  /* encoder parameters */
/* Identity of the weights: "3dcsl-f/" + 16 hex digits of a hash of config and parameters
 * (owned by m). Index extras of kind "clip" are stored under this model id. */
VS_API const char *vs_clipmodel_id(const vs_clipmodel *m);

/* Clips of a T-frame video: max(1, round(T / F)) with Python's round (half to even), as
 * the 3D-CSL code (F = the model's frames per clip, 8). Clip c covers frames
 * [cF, cF + F); frames past the last clip are dropped, a short last clip is padded by
 * repeating its own frames cyclically. 0 if T < 1. */
VS_API int vs_clipmodel_n_clips(const vs_clipmodel *m, int T);

/* Clip vectors of one video: out [n_clips(T), dim] (caller allocates), unit L2 rows;
 * x [T, R, D] region features (R, D must match the model). Thread-safe; allocates
 * scratch per call (about 0.2 MB per clip). */
VS_API vs_status vs_clipmodel_encode(const vs_clipmodel *m, float *out, const float *x, int T,
                                     int R, int D);

/* Top-k Chamfer similarity of two clip-vector sets (rows assumed unit-norm):
 *   s = mean of the min(k, nq) largest of  max_j <q_i, t_j>,  i < nq.
 * q [nq, d], t [nt, d]. Asymmetric (query -> target), in [-1, 1]; 0 if nq or nt is 0. */
VS_API float vs_clip_similarity(const float *q, int nq, const float *t, int nt, int d, int k);

/* ------------------------------------------------------------------ training */

typedef enum { VS_CLIP_STAGE_PREDMAE = 1, VS_CLIP_STAGE_FCS = 2 } vs_clip_stage;

typedef struct vs_cliptrain_params {
    int stages;          /* bit set of vs_clip_stage (default both: PredMAE, then FCS) */
    long iters_predmae;  /* iterations of stage 1 (default 300) */
    long iters_fcs;      /* iterations of stage 2 (default 300) */
    int batch;           /* stage 1: clips per step (default 32); stage 2: videos per step (default 16) */
    float lr;            /* peak learning rate (default 5e-4), AdamW, cosine, 5% warm-up */
    float weight_decay;  /* default 0.05 (none on biases, norms, embeddings, tokens) */
    float mask_ratio;    /* PredMAE: fraction of tokens masked (default 0.75, incl. the last frames) */
    int mask_last;       /* PredMAE: trailing frames masked entirely (default 2) */
    int predmae_mse;     /* PredMAE loss: 0 = mean(1 - cos) (default), 1 = MSE */
    int seg_clips;       /* FCS: clips per segment m (default 4) */
    float margin;        /* FCS triplet margin (default 0.3) */
    float clip_weight;   /* FCS: weight of the single-clip triplet term (default 1) */
    float shotmix_p;     /* ShotMix: probability per positive clip (default 0.5) */
    float pip_p;         /* spatial ShotMix (2x2 regions from another video) (default 0.25) */
    uint64_t seed;       /* data sampling and initialisation (default 1) */
} vs_cliptrain_params;

VS_API vs_cliptrain_params vs_cliptrain_default_params(void);

typedef struct vs_cliptrain vs_cliptrain;

/* A trainer for a new model of config c (NULL = default). p NULL = defaults. */
VS_API vs_status vs_cliptrain_create(vs_cliptrain **out, const vs_clipmodel_config *c,
                                     const vs_cliptrain_params *p);
/* Resume from a checkpoint written by vs_cliptrain_save (config, parameters,
 * optimiser moments, step and sampler state; checkpoints written before the common
 * layout load too). The training set is checked at the next step: the same number of
 * videos and frames as the checkpoint's, else VS_ERR_INVALID_ARG. p NULL = the checkpoint's own params;
 * else p's iteration counts replace the checkpoint's (the rest is kept). */
VS_API vs_status vs_cliptrain_resume(vs_cliptrain **out, const char *path,
                                     const vs_cliptrain_params *p);
VS_API void vs_cliptrain_free(vs_cliptrain *t); /* NULL ok */

/* Add a training video (copied): x [T, R, D] with the trainer's R and D. */
VS_API vs_status vs_cliptrain_add_video(vs_cliptrain *t, const float *x, int T, int R, int D);

/* Add a frame-aligned augmented copy ("view") of training video `video` (0-based, in
 * add order): x [T, R, D] with that video's T, e.g. the features of its frames after a
 * pixel-level crop / flip / colour / overlay edit (copied). FCS positives then take
 * their frames from a random view of the anchor's video (80%) or from the clean
 * features (20%) before the feature-level augmentations. Views are not checkpointed:
 * add the same ones again after vs_cliptrain_resume. */
VS_API vs_status vs_cliptrain_add_view(vs_cliptrain *t, int video, const float *x, int T, int R,
                                       int D);

/* One optimisation step of the current stage. *loss gets the step's loss, *stage the
 * stage it belonged to (either may be NULL). VS_ERR_INVALID_ARG when finished or when no
 * video was added. Not reproducible across BLAS thread counts (summation order). */
VS_API vs_status vs_cliptrain_step(vs_cliptrain *t, float *loss, vs_clip_stage *stage);
/* Steps done and total (all stages). */
VS_API long vs_cliptrain_done(const vs_cliptrain *t);
VS_API long vs_cliptrain_total(const vs_cliptrain *t);

/* Checkpoint (atomic VSTF: everything vs_cliptrain_resume needs, in the layout of
 * every vidsim trainer: create / step / save / resume / free; docs/training.md). */
VS_API vs_status vs_cliptrain_save(const vs_cliptrain *t, const char *path);
/* The trained encoder as a model (new object, caller frees). */
VS_API vs_status vs_cliptrain_model(const vs_cliptrain *t, vs_clipmodel **out);

#ifdef __cplusplus
}
#endif

#endif
