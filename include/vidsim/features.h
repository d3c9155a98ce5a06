/*
 * features.h - per-frame region features, the input of every similarity model:
 * backbone maps → 3x3 grid of regional max-pools per chosen layer → L2 per layer →
 * concatenate → L2 → PCA-whitening to D dimensions → L2. Also the PCA learner and
 * the per-video feature file (memory-mappable; byte layout in docs/formats.md).
 *
 * Thread safety: a vs_extractor (backbone + whitening) is read-only after load and
 * shared; each thread creates its own vs_extract_state. vs_pca_acc is single-thread.
 *
 * Example:
 *     vs_extract_params p = vs_extract_default_params();
 *     vs_extractor *ex; vs_extract_state *st; vs_features *f;
 *     vs_extractor_load(&ex, "models/inception_v3.vstf", "models/pca_inception_v3.vstf", &p);
 *     vs_extract_state_create(&st, ex);
 *     if (vs_extract_video(st, "a.mp4", &f) == VS_OK) {
 *         // f->data: [f->T, f->R, f->D] floats, unit-norm region vectors
 *         vs_features_save(f, "a.vsf");
 *         vs_features_free(f);
 *     }
 *     vs_extract_state_free(st); vs_extractor_free(ex);
 */
#ifndef VIDSIM_FEATURES_H
#define VIDSIM_FEATURES_H

#include "vidsim/base.h"
#include "vidsim/decode.h"
#include "vidsim/inset.h"
#include "vidsim/backbone.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_REGIONS 9  /* 3x3 grid */

/* Features of one video. Either owned (loaded/extracted) or a read-only mapping. */
typedef struct vs_features {
    int T, R, D;           /* frames, regions per frame, dims per region */
    float *data;           /* [T, R, D] row-major */
    float *times;          /* [T] seconds of each sampled frame */
    double fps;            /* sampling rate */
    double duration;       /* seconds */
    char model_id[64];     /* which backbone/layers/whitening produced them */
    char *source;          /* source video path (as given at extraction) */
    uint64_t source_size;  /* bytes */
    int64_t source_mtime;  /* nanoseconds since the epoch */
    uint64_t source_hash;  /* content fingerprint, see vs_file_fingerprint */
    long n_damaged;        /* damaged packets skipped while decoding */
    void *priv_;           /* internal */
    float *mirror;         /* [T, R, D] features of the same frames mirrored left-right (the
                              query's second view in search, vs_search_params.mirror_view),
                              or NULL: from vs_extract_video with vs_extract_params.mirror_view,
                              or a loaded file's mirror block (docs/formats.md "VSF version 3").
                              Last, so that the fields before it keep their offsets */
    /* The inset view (vs_search_params.inset_view, docs/formats.md "VSF version 4"): from
     * vs_extract_video with vs_extract_params.inset_view, or a loaded file's inset block.
     * After the fields above, so that theirs keep their offsets. */
    int inset_probed;      /* 1: the video was probed for a picture-in-picture inset (the
                              fields below say what was found); 0: not looked for (a file
                              without the inset block), the fields below are zero */
    vs_inset inset;        /* what the probe found (vs_extract_state_inset); inset.found 0:
                              no inset, the query has no inset view */
    int inset_T;           /* T2: kept frames of the inset view (near-constant frames are left
                              out per view, so T2 and its times may differ from T's); 0 when
                              none was found or none of its frames could be used */
    float *inset_data;     /* [inset_T, R, D] features of the inset rectangle sampled at full
                              resolution (vs_extract_state_set_view), or NULL */
    float *inset_times;    /* [inset_T] seconds of each kept inset frame, or NULL */
    int inset_detector;    /* the detector version that probed it (VS_INSET_DETECTOR when this
                              build extracted it; a file keeps its own: version 5's view table);
                              0: not recorded (a version-4 file, written before versions were
                              recorded), or not probed. Last, so that the fields before it keep
                              their offsets */
} vs_features;

typedef struct vs_extract_params {
    vs_decode_params decode;    /* fps, resize 256, crop 224 by default */
    int n_threads;              /* backbone threads for each state (default 1) */
    int batch;                  /* frames per backbone call (default 16) */
    const char *layers;         /* comma-separated taps (default: from the PCA file, else "mixed0,...,mixed5") */
    float min_frame_std;        /* sampled frames whose luma standard deviation (0..255, over the
                                   crop) is below this are left out: black, white or one-colour
                                   frames (fades, slates, gaps) carry nothing to match and match
                                   every other such frame (default 2; 0 keeps every frame). A
                                   video with only such frames is refused (VS_ERR_DECODE) */
    vs_abort_fn abort_fn;       /* optional */
    void *abort_user;
    vs_progress_fn progress_fn; /* optional: frames done / expected */
    void *progress_user;
    int precision;              /* backbone number format VS_PRECISION_* (default FP32;
                                   part of the model id) */
    const char *calib_path;     /* INT8: calibration file (default: calib_BACKBONE.vstf
                                   next to the backbone weights) */
    int mirror_view;            /* 1: vs_extract_video also computes f->mirror, the features of
                                   every kept frame mirrored left-right, in the same pass (one
                                   decode, the backbone run twice on the same batches: the same
                                   numbers as a separate vs_extract_state_set_mirror pass), and
                                   vs_extract_files writes it as the file's mirror block (an
                                   existing file without one is then out of date). For query
                                   features: search uses the block as the query's mirror view;
                                   references never need it (an index stores the normal view
                                   only). Default 0 */
    int inset_view;             /* 1: vs_extract_video also probes each video for a
                                   picture-in-picture inset (vs_extract_state_set_probe) and,
                                   when one is found, extracts it as a second pass over the
                                   rectangle (vs_extract_state_set_view; never mirrored, no
                                   progress calls): f->inset_probed, f->inset, f->inset_T,
                                   f->inset_data, f->inset_times, the same numbers as search's
                                   inset view of the video. An inset whose frames are all
                                   near-constant gives inset_T 0 (no error). vs_extract_files
                                   writes them as the file's inset block (an existing file
                                   without one is then out of date). For query features:
                                   search uses the block as the query's inset view. Default 0 */
} vs_extract_params;

typedef struct vs_extractor vs_extractor;
typedef struct vs_extract_state vs_extract_state;

VS_API vs_extract_params vs_extract_default_params(void);

/* Load backbone weights and (optionally) a whitening file. With pca_path NULL the
 * extractor produces raw concatenated region vectors (D = sum of layer channels),
 * which is what the PCA learner consumes. */
VS_API vs_status vs_extractor_load(vs_extractor **out, const char *backbone_path,
                                   const char *pca_path, const vs_extract_params *p);
VS_API void vs_extractor_free(vs_extractor *ex);
/* Output dimension D, and the model id written into feature files. */
VS_API int vs_extractor_dim(const vs_extractor *ex);
VS_API const char *vs_extractor_model_id(const vs_extractor *ex);
/* Comma-separated taps in use, and the backbone's name. */
VS_API const char *vs_extractor_layers(const vs_extractor *ex);
VS_API const char *vs_extractor_backbone(const vs_extractor *ex);

/* ---- Model ids: which backbone, precision, crop, whitening (or none) and weights
 * produced features. The string form, stored in feature files and index catalogues, is
 * "BACKBONE/CROP/pcaD/HASH" or "BACKBONE/CROP/rawD/HASH", e.g.
 * "inception_v3/224/pca256/df694736" (HASH: 8 hex digits, FNV-1a of the layers and
 * the whitening, and of the calibration for int8). A backbone run in another number
 * format than fp32 carries it after a dash: "inception_v3-int8/224/pca256/HASH",
 * "inception_v3-bf16/...": binaries that predate precisions refuse such ids (unknown
 * backbone), and features of different precisions never compare equal. */
typedef struct vs_model_id {
    char backbone[32];     /* vs_backbone_name: "inception_v3", "mobilenet_v2" */
    int precision;         /* VS_PRECISION_* (0 = fp32: no suffix) */
    int crop;              /* side of the centre crop, pixels */
    int pca;               /* 1: PCA-whitened; 0: raw region vectors */
    int dim;               /* D, dims per region */
    uint32_t hash;         /* fingerprint of the weights and whitening */
} vs_model_id;

/* Parse s. VS_ERR_FORMAT (message naming s) unless it has the form above; *out is
 * then zeroed. */
VS_API vs_status vs_model_id_parse(vs_model_id *out, const char *s);
/* Write the string form into buf [n] (64 bytes always suffice). Returns the length
 * as snprintf does. */
VS_API int vs_model_id_format(const vs_model_id *id, char *buf, size_t n);
/* File names (no folder) of the bundled backbone weights and whitening of a backbone
 * ("inception_v3" or its short name "inception", "mobilenet_v2" / "mobilenet"):
 * "inception_v3.vstf" and "pca_inception_v3.vstf". VS_ERR_UNSUPPORTED for another
 * name. Either buffer may be NULL. */
VS_API vs_status vs_model_files(const char *backbone, char *weights, size_t nw, char *pca, size_t np);
/* Same, plus the bundled int8 calibration "calib_inception_v3.vstf" (calib may be NULL). */
VS_API vs_status vs_model_files_calib(const char *backbone, char *weights, size_t nw, char *pca, size_t np,
                                      char *calib, size_t nc);

/* Where model files are found: find(user, name, path, n) writes the path of file
 * `name` into path [n] and returns 0 when it exists (else nonzero, with path the best
 * guess); with find NULL the file is dir/name (dir NULL: "models"). Borrowed. */
typedef struct vs_model_locator {
    const char *dir;
    int (*find)(void *user, const char *name, char *path, size_t n);
    void *user;
} vs_model_locator;
/* path [n] of model file name through loc (NULL: "models/NAME"); 0 when it exists. */
VS_API int vs_model_locate(const vs_model_locator *loc, const char *name, char *path, size_t n);

/* The extractor that produces features of model id `model_id`: the bundled weights of
 * its backbone and, unless the id is raw, the whitening file pca_override or else the
 * bundled one, found through models (NULL: ./models). Fails with VS_ERR_UNSUPPORTED
 * ("index model ID: unknown backbone") for an id that does not parse or names an
 * unknown backbone, and VS_ERR_INVALID_ARG when the files found give another model id
 * (the message names both). p as for vs_extractor_load, except that the id's precision
 * wins over p->precision: for an int8 id p->calib_path (when set) is read instead of the
 * bundled calibration. On failure *out is NULL. */
VS_API vs_status vs_extractor_load_for_model(vs_extractor **out, const vs_model_locator *models,
                                             const char *model_id, const char *pca_override,
                                             const vs_extract_params *p);

VS_API vs_status vs_extract_state_create(vs_extract_state **out, const vs_extractor *ex);
VS_API void vs_extract_state_free(vs_extract_state *st);

/* Mirror every frame left-right before the backbone in the following vs_extract_video
 * calls on st (on = 1), or not (0, the default): the features of the video's mirror
 * image, the query's second view in search (vs_search_params.mirror_view). The model
 * id is unchanged: a mirrored video is another video of the same model. (With
 * vs_extract_params.mirror_view f->mirror then holds the unmirrored frames' features.) */
VS_API void vs_extract_state_set_mirror(vs_extract_state *st, int on);

/* Look for a picture-in-picture inset while decoding in the following vs_extract_video
 * calls on st (on = 1; default 0): grey probe pictures VS_PROBE_WIDTH wide, up to 5 a
 * second, of the frames decoded anyway, and their colour copies, go through
 * vs_inset_detect_rgb after the last frame;
 * vs_extract_state_inset gives the result of the last call (zeroed, found = 0, when off
 * or when the call failed). The features are the same either way. */
#define VS_PROBE_WIDTH 96
VS_API void vs_extract_state_set_probe(vs_extract_state *st, int on);
VS_API const vs_inset *vs_extract_state_inset(const vs_extract_state *st);

/* Sample only the rectangle rect = {x0, y0, x1, y1} (fractions of the upright picture,
 * vs_decode_params.view) of every frame in the following vs_extract_video calls on st,
 * or all of it (rect NULL, the default): the inset view. The model id is unchanged. */
VS_API void vs_extract_state_set_view(vs_extract_state *st, const float *rect);
/* With a view set: extract only its frames at times t0 <= t < t1 (seconds; decoding stops
 * at t1), the time span of an inset shown for part of the video (vs_inset.t0, t1);
 * t1 <= t0: every frame (the default; set_view(NULL) resets it). */
VS_API void vs_extract_state_set_view_span(vs_extract_state *st, double t0, double t1);

/* Decode a video and compute its features (new object, caller frees). */
VS_API vs_status vs_extract_video(vs_extract_state *st, const char *path, vs_features **out);

/* Where the time of one vs_extract_video call went, by stage: wall-clock seconds
 * (CLOCK_MONOTONIC) of the calling thread, the stages one after the other
 * (docs/features.md "Stage timing"). Always
 *   decode_s + preprocess_s + backbone_s + pool_s + write_s + other_s = wall_s,
 * every term >= 0. Real-time factor: video_s / wall_s. */
typedef struct vs_extract_stats {
    long frames;         /* frames whose features were computed: T of the features */
    long n_sampled;      /* frames the sampler handed out (frames + near-constant ones left out) */
    long n_decoded;      /* frames the codec decoded (skipped non-reference frames not counted) */
    double video_s;      /* seconds of video (the features' duration) */
    double decode_s;     /* fingerprint read, demux, decode, sampling, rotate/scale/crop to RGB */
    double preprocess_s; /* near-constant check, copy into the batch, uint8 -> float input */
    double backbone_s;   /* the CNN forward passes */
    double pool_s;       /* 3x3 region max-pool, L2 per layer, concatenation, PCA whitening */
    double write_s;      /* 0 from vs_extract_video; the batch calls (batch.h) put here the
                            feature file's save (vs_extract_files) or the rest of
                            vs_index_add_video: checks, save, catalogue commit */
    double other_s;      /* the rest of wall_s (allocation, bookkeeping) */
    double wall_s;       /* the whole call (with write_s when a batch call filled it) */
} vs_extract_stats;

/* Stages of the last vs_extract_video on this state (zeros before the first; after a
 * failed call, the stages up to the failure and its wall_s, other_s 0). Thread
 * safety: as the state's (read it on the thread that uses the state). */
VS_API void vs_extract_state_stats(const vs_extract_state *st, vs_extract_stats *out);
/* Number of vs_extract_video calls made on this state (to tell whether a call that
 * may skip extraction, such as vs_index_add_video, ran one). */
VS_API long vs_extract_state_videos(const vs_extract_state *st);
/* acc += x, field by field (all counts and seconds). */
VS_API void vs_extract_stats_add(vs_extract_stats *acc, const vs_extract_stats *x);

/* Features of n frames already decoded (uint8 RGB, n*S*S*3 with S = crop size):
 * writes n*R*D floats to out. */
VS_API vs_status vs_extract_frames(vs_extract_state *st, const uint8_t *rgb, int n, float *out);

/* Feature files. Save is atomic and writes the normal view only (f->data, f->times: a
 * version-1 file; f->mirror and the inset fields are not read). Load validates magic,
 * version, sizes and checksum; f->mirror is the file's mirror block, or NULL when it has
 * none; the inset fields are its inset block's (version 4), or zero. */
VS_API vs_status vs_features_save(const vs_features *f, const char *path);
/* As vs_features_save, plus f->mirror as the file's mirror block (version 3,
 * docs/formats.md); with f->mirror NULL exactly vs_features_save. Binaries that predate
 * the block refuse such a file by its version, naming it. */
VS_API vs_status vs_features_save_mirror(const vs_features *f, const char *path);
/* As vs_features_save_mirror, plus the inset block when f->inset_probed (version 4,
 * docs/formats.md: the probe's result, and the inset view's features and times when
 * f->inset_T > 0); with f->inset_probed 0 exactly vs_features_save_mirror (version 1 or
 * 3, byte for byte). Binaries that predate version 4 refuse such a file by its version. */
VS_API vs_status vs_features_save_views(const vs_features *f, const char *path);
VS_API vs_status vs_features_load(vs_features **out, const char *path);
/* Read only the header (no checksum pass; f->mirror non-NULL, unverified, when the file has
 * a mirror block; the inset fields set, unverified, when it has an inset block): for "is
 * this up to date?" checks. */
VS_API vs_status vs_features_load_header(vs_features **out, const char *path);
VS_API void vs_features_free(vs_features *f);

/* Content fingerprint of a file: FNV-1a 64 of its size and of up to 1 MiB at the
 * start, middle and end (cheap for huge files, changes with any re-encode). */
VS_API vs_status vs_file_fingerprint(const char *path, uint64_t *hash, uint64_t *size,
                                     int64_t *mtime_ns);

/* ---- INT8 calibration from videos: decode frames as extraction does (decode params,
 * near-constant frames left out), run the fp32 backbone on them and record the range
 * of every activation a convolution reads; save the calibration (backbone.h) to out_path
 * (atomic). Frames are spread over the videos: at most ceil(max_frames / n) per video.
 * A video that fails to decode is skipped (counted in *n_failed); VS_ERR_DECODE if no
 * frame at all could be used. */
typedef struct vs_calibrate_params {
    vs_decode_params decode;    /* default: as vs_extract_default_params (1 fps, 256, crop 224) */
    int max_frames;             /* default 600 */
    double percentile;          /* clip at this percentile of |x| (default 100 = max) */
    int n_threads, batch;       /* backbone threads (default 1), frames per forward (default 16) */
    float min_frame_std;        /* as vs_extract_params (default 2) */
    vs_progress_fn progress_fn; /* optional: videos done / total */
    void *progress_user;
} vs_calibrate_params;
VS_API vs_calibrate_params vs_calibrate_default_params(void);
VS_API vs_status vs_calibrate_videos(const char *backbone_path, const char *const *videos, int n,
                                     const vs_calibrate_params *p, const char *out_path, long *n_frames,
                                     int *n_failed);

/* ---- PCA whitening learner: streaming scatter matrix, then eigendecomposition. */
typedef struct vs_pca_acc vs_pca_acc;
VS_API vs_status vs_pca_acc_create(vs_pca_acc **out, int dim_in);
VS_API void vs_pca_acc_free(vs_pca_acc *acc);
/* Add n row vectors x [n, dim_in]. */
VS_API vs_status vs_pca_acc_add(vs_pca_acc *acc, const float *x, long n);
VS_API long vs_pca_acc_count(const vs_pca_acc *acc);
/* Fit and save the whitening: mean, and P [dim_in, dim_out] with column k =
 * v_k / sqrt(d_k + eps) (eigenvalues descending). `meta` key=value pairs
 * (NULL-terminated array of 2*k strings) go into the file (backbone, layers, ...). */
VS_API vs_status vs_pca_fit_save(const vs_pca_acc *acc, int dim_out, double eps,
                                 const char *const *meta, const char *path);

/* A whitening file with a learned map of the whitened region vectors folded in
 * (docs/features.md "The learned whitening"): the extractor's region vector is
 * normalise(P^T (x - mean)) and the map's normalise(W y), W symmetric, so the two are
 * normalise((P W)^T (x - mean)): out gets pca_in's mean, eigenvalues and metadata, the
 * projection P W, and "learned_whiten" = the map's id. VS_ERR_INVALID_ARG when the map's
 * dimension is not pca_in's output dimension; the files named on any error. */
struct vs_gvec_whiten;
VS_API vs_status vs_pca_fold_whiten(const char *pca_in, const struct vs_gvec_whiten *w, const char *out);

#ifdef __cplusplus
}
#endif

#endif
