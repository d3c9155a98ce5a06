/*
 * hashmodel.h - self-supervised video hashing (ConMH, Wang et al. AAAI 2023): a video's
 * region features [T,R,D] (features.h) -> a binary code of 64, 128 or 256 bits whose
 * Hamming distance ranks near-duplicates first (hamming.h searches the codes).
 *   input:  per frame, the mean of its R region vectors, L2-normalised, times sqrt(D)
 *           (unit mean square per element); `frames` frames picked uniformly over the
 *           video (centre of each of `frames` equal bins; short videos repeat frames).
 *   model:  transformer encoder (fixed sinusoidal positions) -> per-frame hash layer
 *           Linear -> LayerNorm -> sign; video code = majority vote over frames
 *           (ties, possible only with an even frame count, give bit 1).
 *   training (vs_hashtrain_*): two random temporal masks per video (75 % hidden,
 *           disjoint visible frames), a small decoder reconstructs the hidden frames from
 *           the visible frames' binary codes, plus a debiased contrastive loss between the
 *           two views' averaged codes; Adam. No labels.
 * Model files are VSTF (docs/formats.md) with the official code's state-dict names plus
 * the configuration as metadata; docs/hashing.md has the details and measured figures.
 *
 * Thread safety: a vs_hashmodel is read-only after load/create and may be shared by any
 * number of threads; vs_hashmodel_encode allocates its own scratch per call (no state
 * object needed). A vs_hashtrain is single-threaded (OpenBLAS may use its own threads).
 *
 * Example:
 *     vs_hashmodel *m;
 *     if (vs_hashmodel_load(&m, "models/conmh_64.vstf") != VS_OK) { puts(vs_last_error()); return; }
 *     uint64_t code[4];                                       // bits/64 words
 *     vs_hashmodel_encode(m, code, f->data, f->T, f->R, f->D); // f: vs_features
 *     printf("%s %016llx\n", vs_hashmodel_id(m), (unsigned long long)code[0]);
 *     vs_hashmodel_free(m);
 */
#ifndef VIDSIM_HASHMODEL_H
#define VIDSIM_HASHMODEL_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vs_hashmodel vs_hashmodel; /* read-only, shareable */

/* Architecture of a ConMH model. Head width = dim / heads (rounded down, as the
 * reference: 256 wide with 6 heads gives 6 x 42 = 252 inner width). */
typedef struct vs_hashmodel_config {
    int bits;                           /* code length: 64, 128 or 256 (tests: any >= 1) */
    int dim;                            /* D of the region features (model input width) */
    int frames;                         /* frames per video (default 25, as FCVID/YFCC) */
    int enc_dim, enc_depth, enc_heads;  /* encoder (default 128 x 2 blocks x 4 heads;
                                           reference 256 x 12 x 6) */
    int dec_dim, dec_depth, dec_heads;  /* decoder (default 96 x 1 x 3; reference 192 x 2 x 3) */
} vs_hashmodel_config;

/* Defaults for a bits-bit model over D-dim region features: a compact model (0.6 M
 * parameters at D=256) that trains in minutes on 2 cores; docs/hashing.md compares it
 * with larger ones. */
VS_API vs_hashmodel_config vs_hashmodel_default_config(int bits, int dim);

/* A model with the reference's random initialisation from a seed (untrained). */
VS_API vs_status vs_hashmodel_create(vs_hashmodel **out, const vs_hashmodel_config *cfg,
                                     uint64_t seed);
/* Load a model file (also accepts a training checkpoint). A missing or mis-shaped tensor
 * or bad metadata fails with VS_ERR_FORMAT naming the file and the reason. *out is NULL
 * on failure. */
VS_API vs_status vs_hashmodel_load(vs_hashmodel **out, const char *path);
/* Write the model (weights + configuration) as VSTF, atomically. */
VS_API vs_status vs_hashmodel_save(const vs_hashmodel *m, const char *path);
VS_API void vs_hashmodel_free(vs_hashmodel *m); /* NULL ok */

VS_API int vs_hashmodel_bits(const vs_hashmodel *m);
VS_API int vs_hashmodel_dim(const vs_hashmodel *m);    /* D the model expects */
VS_API int vs_hashmodel_frames(const vs_hashmodel *m); /* frames sampled per video */
VS_API vs_hashmodel_config vs_hashmodel_get_config(const vs_hashmodel *m);
VS_API long vs_hashmodel_n_params(const vs_hashmodel *m);
/* Stable identifier of the weights: "conmh<bits>-<16 hex digits>" (FNV-1a 64 of the
 * configuration and every parameter's bytes). Store it with codes; codes from
 * different ids are not comparable. Owned by the model. */
VS_API const char *vs_hashmodel_id(const vs_hashmodel *m);

/* Encode one video: regions [T,R,D] (T >= 1 frames; D must equal the model's) ->
 * code [bits/64 words, rounded up]; bit i of the code = bit i%64 of word i/64. Unused
 * high bits of the last word are 0. Deterministic. Thread-safe; allocates scratch
 * (~ frames x 20 x enc_dim floats) per call. */
VS_API vs_status vs_hashmodel_encode(const vs_hashmodel *m, uint64_t *code, const float *regions,
                                     int T, int R, int D);

/* The model's input for a video: out [frames, D] frame descriptors (see the top of this
 * header). jitter_seed 0: bin centres (what encode uses); otherwise one random frame
 * per bin (training augmentation). */
VS_API vs_status vs_hash_frame_input(float *out, int frames, const float *regions, int T, int R,
                                     int D, uint64_t jitter_seed);

/* ------------------------------------------------------------------ training */

typedef struct vs_hashtrain vs_hashtrain;

typedef struct vs_hashtrain_params {
    vs_hashmodel_config model; /* architecture of a fresh model */
    int batch;                 /* videos per step (default 32; the DCL needs >= 2) */
    long iters;                /* total steps (default 1000): the cosine schedule's length */
    float lr;                  /* peak learning rate (default 3e-4) */
    float lr_min;              /* floor of the cosine schedule (default 1e-5) */
    long warmup;               /* linear warm-up steps (default 100) */
    float mask_ratio;          /* hidden fraction per view (default 0.75) */
    float alpha;               /* contrastive weight a (default 1) */
    float temperature;         /* DCL temperature t (default 0.5) */
    float tau_plus;            /* DCL class prior tau+ (default 0.1) */
    int jitter;                /* 1 (default): random frame within each bin per step */
    uint64_t seed;             /* initialisation, batches, masks (default 1) */
} vs_hashtrain_params;

VS_API vs_hashtrain_params vs_hashtrain_default_params(int bits, int dim);

/* Statistics of one step. */
typedef struct vs_hashtrain_stats {
    long step;          /* steps done after this one */
    double loss;        /* L_rec + alpha * L_dcl */
    double recon;       /* L_rec: MSE of view 1 + MSE of view 2 */
    double contrastive; /* L_dcl */
    float lr;           /* learning rate used */
} vs_hashtrain_stats;

VS_API vs_status vs_hashtrain_create(vs_hashtrain **out, const vs_hashtrain_params *p);
VS_API void vs_hashtrain_free(vs_hashtrain *t); /* NULL ok */
/* Add a training video (regions [T,R,D], copied as per-frame descriptors). */
VS_API vs_status vs_hashtrain_add(vs_hashtrain *t, const float *regions, int T, int R, int D);
VS_API long vs_hashtrain_n_videos(const vs_hashtrain *t);
/* One optimisation step on a random batch (needs >= 2 videos; batches larger than the
 * collection are capped to it). */
VS_API vs_status vs_hashtrain_step(vs_hashtrain *t, vs_hashtrain_stats *st);
VS_API long vs_hashtrain_steps_done(const vs_hashtrain *t);
/* Checkpoint: model + Adam moments + step + RNG, written atomically in the layout of
 * every vidsim trainer (create / step / save / resume / free; docs/training.md). It is
 * also a loadable model (vs_hashmodel_load). */
VS_API vs_status vs_hashtrain_save(const vs_hashtrain *t, const char *path);
/* A trainer that continues a checkpoint exactly where it stopped: the training
 * parameters are p's (batch, iters, lr, ...); the architecture is the checkpoint's when
 * p->model.bits is 0, else p->model must equal it (VS_ERR_INVALID_ARG naming both
 * otherwise). Add the training videos again before the next step. Checkpoints
 * written before the common layout (flat adam.m / adam.v) load too. */
VS_API vs_status vs_hashtrain_resume(vs_hashtrain **out, const char *path,
                                     const vs_hashtrain_params *p);
/* A copy of the current weights as a model (caller frees). */
VS_API vs_status vs_hashtrain_model(const vs_hashtrain *t, vs_hashmodel **out);

#ifdef __cplusplus
}
#endif

#endif
