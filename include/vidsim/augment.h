/*
 * augment.h - the S2VS training augmentations (spec s2vs.md 3.2-3.5): clip
 * sampling, temporal transformations (TSD, fast-forward, slow-motion, reverse,
 * pause), RandomResizedCrop + flip, RandAugment(2, 9), per-frame text / emoji
 * overlays and Gaussian blur, video-in-video and the batch label matrix.
 * Everything is deterministic from a uint64 seed and a per-video key, so results
 * do not depend on thread count or order. Temporal choices are index lists into
 * the video's frames (VS_AUG_BLACK / VS_AUG_NOISE for replaced frames), so the
 * same code drives pixel augmentation and feature-space ("bank") augmentation.
 *
 * Thread safety: a vs_aug_resources (loaded fonts) is read-only after load and
 * may be shared by any number of threads; a vs_aug_state (FreeType faces,
 * scratch) belongs to one thread at a time. The other functions are pure.
 *
 * Example (one training video; frames from vs_decode_all, n x H x W x 3):
 *     vs_aug_resources *res; vs_aug_state *st;
 *     if (vs_aug_resources_load(&res, NULL, 0, vs_aug_default_emoji_font()) != VS_OK)
 *         puts(vs_last_error());          // e.g. names the missing font file
 *     vs_aug_params p = vs_aug_default_params();
 *     vs_aug_state_create(&st, res, &p);
 *     uint8_t *weak = malloc(vs_aug_clip_bytes(&p)), *strong = malloc(vs_aug_clip_bytes(&p));
 *     vs_aug_views v;
 *     vs_aug_make_views(st, weak, strong, &v, frames, n, H, W, seed, video_key);
 *     ... v.weak[t], v.strong[t] are the source frame of each output frame ...
 *     vs_aug_state_free(st); vs_aug_resources_free(res);
 */
#ifndef VIDSIM_AUGMENT_H
#define VIDSIM_AUGMENT_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_AUG_CLIP 32    /* frames per training clip (T_B): the default and the largest */
#define VS_AUG_WINDOW 64  /* frames per sampled window (2 T_B), the largest */
#define VS_AUG_MAX_TT 128 /* longest index list a temporal transformation yields (slow-motion) */
#define VS_AUG_BLACK (-1) /* index code: an all-black frame (TSD content replacement) */
#define VS_AUG_NOISE (-2) /* index code: a uniform-noise frame (TSD content replacement) */

/* ---- random numbers: xoshiro256** seeded by splitmix64 ---------------------------- */

typedef struct vs_aug_rng {
    uint64_t s[4];
} vs_aug_rng;

/* Seed the stream `stream` of `seed` (distinct streams are independent). */
VS_API void vs_aug_rng_init(vs_aug_rng *r, uint64_t seed, uint64_t stream);
VS_API uint64_t vs_aug_rng_next(vs_aug_rng *r);
/* Uniform double in [0, 1) (53 bits). */
VS_API double vs_aug_rng_uniform(vs_aug_rng *r);
/* Uniform integer in {0, ..., n-1} (n >= 1; unbiased). */
VS_API int vs_aug_rng_below(vs_aug_rng *r, int n);

/* ---- temporal (index lists) --------------------------------------------------------- */

typedef enum {
    VS_AUG_TT_TSD = 0,     /* temporal shuffle-dropout, p 0.5 */
    VS_AUG_TT_FAST = 1,    /* keep every k-th frame, k in {2,3}, p 0.1 */
    VS_AUG_TT_SLOW = 2,    /* every frame twice, p 0.1 */
    VS_AUG_TT_REVERSE = 3, /* p 0.1 */
    VS_AUG_TT_PAUSE = 4,   /* repeat one frame 0..7 times, p 0.1 */
    VS_AUG_TT_NONE = 5,    /* p 0.1 */
    VS_AUG_TT_COUNT = 6
} vs_aug_tt;

/* Random temporal crop with the reference's doubling rule: the list is doubled by
 * self-concatenation until it has >= size entries, then out = in'[o, o+size) with
 * o ~ U{0 .. max(len-size, 1) - 1}. out has `size` entries; n_in >= 1. */
VS_API vs_status vs_aug_temporal_crop(int *out, int size, const int *in, int n_in, vs_aug_rng *r);

/* The window of `size` frames (2 T_B, <= VS_AUG_WINDOW) of a video of n_frames (>= 1):
 * frame indices [size]. */
VS_API vs_status vs_aug_window(int *out, int size, int n_frames, vs_aug_rng *r);

/* One temporal transformation drawn with the reference probabilities and applied to
 * in[n_in] (1 <= n_in <= VS_AUG_WINDOW); clip is T_B (a pause lasts 0 .. clip/4 - 1
 * frames, the reference's randint(window_sz // 4)). out has room for VS_AUG_MAX_TT entries;
 * *n_out gets its length (>= 1), *kind (may be NULL) the branch taken. Entries of out
 * are entries of in, or VS_AUG_BLACK / VS_AUG_NOISE for TSD-replaced frames. */
VS_API vs_status vs_aug_temporal(int *out, int *n_out, vs_aug_tt *kind, const int *in, int n_in,
                                 int clip, vs_aug_rng *r);

/* ---- spatial, per clip ---------------------------------------------------------------- */

typedef struct vs_aug_box {
    int top, left, height, width; /* pixels of the input frame */
} vs_aug_box;

/* torchvision RandomResizedCrop.get_params: 10 tries of area ~ U(scale) and log-uniform
 * aspect ratio, then the centre-crop fallback. */
VS_API vs_aug_box vs_aug_rrc_box(int H, int W, double scale_min, double scale_max,
                                 double ratio_min, double ratio_max, vs_aug_rng *r);

/* Crop box from in [H,W,3] and resize it bilinearly to out [oh,ow,3] (uint8 RGB).
 * antialias = false: torch interpolate(bilinear, align_corners=False) as torchvision's
 * tensor resize with antialias False (the 0.14/0.15 default); true: the PIL-style
 * triangle filter of antialias=True. Results rounded half to even. */
VS_API vs_status vs_aug_resized_crop(uint8_t *out, int oh, int ow, const uint8_t *in, int H, int W,
                                     vs_aug_box box, bool antialias);

/* Mirror img [H,W,3] left-right in place. */
VS_API void vs_aug_hflip(uint8_t *img, int H, int W);

typedef enum {
    VS_AUG_RA_IDENTITY = 0,
    VS_AUG_RA_SHEAR_X,
    VS_AUG_RA_SHEAR_Y,
    VS_AUG_RA_TRANSLATE_X,
    VS_AUG_RA_TRANSLATE_Y,
    VS_AUG_RA_ROTATE,
    VS_AUG_RA_BRIGHTNESS,
    VS_AUG_RA_COLOR,
    VS_AUG_RA_CONTRAST,
    VS_AUG_RA_SHARPNESS,
    VS_AUG_RA_POSTERIZE,
    VS_AUG_RA_SOLARIZE,
    VS_AUG_RA_AUTOCONTRAST,
    VS_AUG_RA_EQUALIZE,
    VS_AUG_RA_COUNT /* 14, torchvision's RandAugment op list in its order */
} vs_aug_ra_op;

#define VS_AUG_RA_MAX_OPS 4
typedef struct vs_aug_ra {
    int n_ops;                            /* ops applied in order */
    vs_aug_ra_op op[VS_AUG_RA_MAX_OPS];
    double magnitude[VS_AUG_RA_MAX_OPS];  /* signed, torchvision's value for the op */
} vs_aug_ra;

/* torchvision's magnitude table value (unsigned) of op at `bin` of num_bins for an
 * image of H x W; *is_signed (may be NULL) says whether a random sign is drawn. */
VS_API double vs_aug_ra_magnitude(vs_aug_ra_op op, int bin, int num_bins, int H, int W,
                                  bool *is_signed);
/* Draw RandAugment(num_ops, magnitude, 31 bins) parameters: ops uniform with
 * replacement, sign 50/50 for signed ops. */
VS_API void vs_aug_ra_draw(vs_aug_ra *ra, int num_ops, int magnitude, int H, int W, vs_aug_rng *r);
/* Apply one op with the given (signed) magnitude to every frame of frames [T,H,W,3]
 * in place (nearest interpolation, fill 0, as torchvision on a uint8 tensor). */
VS_API vs_status vs_aug_ra_apply(uint8_t *frames, int T, int H, int W, vs_aug_ra_op op,
                                 double magnitude);
VS_API const char *vs_aug_ra_name(vs_aug_ra_op op);

/* ---- per-frame ops ----------------------------------------------------------------------- */

/* PIL ImageFilter.GaussianBlur(radius) on img [H,W,3] in place: three extended box
 * blurs per direction in PIL's 8.24 fixed point (bit-exact with Pillow 9.4). */
VS_API vs_status vs_aug_gaussian_blur(uint8_t *img, int H, int W, double radius);

/* ---- copy edits (beyond the reference; vs_aug_params.p_edit, default 0) ------------------ */

/* Rotate the hue of frames [T,H,W,3] in place by `degrees` (rotation of the chroma
 * plane of YIQ, luma kept; 0 is the identity up to rounding). */
VS_API void vs_aug_hue_rotate(uint8_t *frames, int T, int H, int W, double degrees);
/* Replace every pixel by its luma 0.299 R + 0.587 G + 0.114 B (rounded). */
VS_API void vs_aug_grayscale(uint8_t *frames, int T, int H, int W);
/* Add N(0, sigma^2) noise to every channel value (Box-Muller draws from r), clamped. */
VS_API void vs_aug_gaussian_noise(uint8_t *frames, int T, int H, int W, double sigma,
                                  vs_aug_rng *r);
/* Shrink every frame into box (antialiased bilinear) on a plain rgb background. */
VS_API vs_status vs_aug_pad(uint8_t *frames, int T, int H, int W, vs_aug_box box,
                            const uint8_t rgb[3]);
/* Low quality: down-scale every frame to lh x lw (antialiased) and back up to H x W
 * with nearest-neighbour blocks. */
VS_API vs_status vs_aug_low_quality(uint8_t *frames, int T, int H, int W, int lh, int lw);

enum {
    VS_AUG_EDIT_PAD = 1,   /* side 0.5-0.9 of the frame, random place and colour */
    VS_AUG_EDIT_HUE = 2,   /* 30-330 degrees */
    VS_AUG_EDIT_GRAY = 4,
    VS_AUG_EDIT_NOISE = 8, /* sigma 4-20 */
    VS_AUG_EDIT_LOWQ = 16  /* down-scaled to 0.15-0.5 of each side */
};
/* Each of the five edits above, in that order, with probability p for the whole clip
 * frames [T,H,W,3] (one draw per clip, as a re-encoded copy has one edit throughout).
 * *applied (may be NULL) gets the VS_AUG_EDIT_* bits of the edits made. p = 0 leaves
 * the frames and r untouched. */
VS_API vs_status vs_aug_copy_edits(uint8_t *frames, int T, int H, int W, double p,
                                   vs_aug_rng *r, unsigned *applied);

/* Fonts for text and the colour emoji font, loaded once, read-only afterwards. */
typedef struct vs_aug_resources vs_aug_resources;

/* The default TrueType fonts (NULL-terminated list, Debian fonts-dejavu-core and
 * fonts-liberation2 paths) and colour emoji font (fonts-noto-color-emoji). */
VS_API const char *const *vs_aug_default_fonts(void);
VS_API const char *vs_aug_default_emoji_font(void);

/* Load fonts (font_paths[n_fonts]; NULL and 0 = the default list) and the emoji font
 * (NULL = no emoji). A file that is missing or not a font fails with VS_ERR_IO /
 * VS_ERR_FORMAT naming it. n_fonts < 0 means no text fonts at all. */
VS_API vs_status vs_aug_resources_load(vs_aug_resources **out, const char *const *font_paths,
                                       int n_fonts, const char *emoji_path);
VS_API void vs_aug_resources_free(vs_aug_resources *res);
VS_API int vs_aug_resources_n_fonts(const vs_aug_resources *res);
VS_API int vs_aug_resources_n_emoji(const vs_aug_resources *res); /* 0 if none loaded */

typedef struct vs_aug_params {
    int size;                  /* output side (224) */
    int clip;                  /* frames per clip T_B, 4 .. VS_AUG_CLIP (32); the window is 2 T_B */
    double weak_scale_min;     /* RandomResizedCrop scale (0.8, 1) of the weak view */
    double strong_scale_min;   /* (0.5, 1) of the strong view */
    bool temporal;             /* TT on the strong view (true) */
    bool global;               /* GT: RandAugment on the strong view (true) */
    int ra_num_ops;            /* 2 */
    int ra_magnitude;          /* 9 (of 31 bins) */
    double p_text;             /* FT text overlay probability per frame (0.3) */
    double p_emoji;            /* FT emoji overlay probability per frame (0.3) */
    double p_blur;             /* FT Gaussian blur probability per frame (0.5) */
    bool antialias;            /* resize with antialias (false, torchvision 0.14 tensors) */
    double p_edit;             /* copy edits (vs_aug_copy_edits) of the strong clip after
                                  RandAugment, each with this probability (0: the reference) */
} vs_aug_params;

VS_API vs_aug_params vs_aug_default_params(void);

/* Per-thread state: params, FreeType faces, scratch. res may be NULL when p_text and
 * p_emoji are 0; otherwise the needed fonts must be loaded (VS_ERR_INVALID_ARG). */
typedef struct vs_aug_state vs_aug_state;
VS_API vs_status vs_aug_state_create(vs_aug_state **out, const vs_aug_resources *res,
                                     const vs_aug_params *p);
VS_API void vs_aug_state_free(vs_aug_state *st);

/* AugLy-style overlays on img [H,W,3] in place, parameters drawn from r. */
VS_API vs_status vs_aug_text_overlay(vs_aug_state *st, uint8_t *img, int H, int W, vs_aug_rng *r);
VS_API vs_status vs_aug_emoji_overlay(vs_aug_state *st, uint8_t *img, int H, int W,
                                      vs_aug_rng *r);

/* ---- the two views of one video ------------------------------------------------------------- */

typedef struct vs_aug_views {
    int window[VS_AUG_WINDOW];     /* video frame of each window position */
    int weak[VS_AUG_CLIP];         /* video frame of each weak-clip frame */
    int strong[VS_AUG_CLIP];       /* video frame, or VS_AUG_BLACK / VS_AUG_NOISE */
    vs_aug_tt tt;                  /* temporal transformation of the strong view */
    /* below: filled by vs_aug_make_views only */
    vs_aug_box weak_box, strong_box; /* crop boxes in input pixels */
    int weak_flip, strong_flip;    /* 1 if mirrored */
    vs_aug_ra ra;                  /* RandAugment ops of the strong clip (n_ops 0 if off) */
    uint8_t text[VS_AUG_CLIP];     /* 1 where a strong frame got a text overlay */
    uint8_t emoji[VS_AUG_CLIP];    /* 1 where it got an emoji */
    float blur[VS_AUG_CLIP];       /* blur radius, 0 = not blurred */
    unsigned edits;                /* VS_AUG_EDIT_* bits of the strong clip's copy edits */
} vs_aug_views;

/* Bytes of one output clip: clip * size * size * 3. */
VS_API size_t vs_aug_clip_bytes(const vs_aug_params *p);

/* Temporal part only (feature-space / bank mode): window, weak and strong index
 * lists and the TT kind, exactly those that vs_aug_make_views draws for the same
 * (seed, key, params). p may be NULL (defaults). */
VS_API vs_status vs_aug_make_indices(vs_aug_views *v, const vs_aug_params *p, int n_frames,
                                     uint64_t seed, uint64_t key);

/* The weak and strong clip of one video. frames [n_frames,H,W,3] uint8 RGB (any H,W
 * >= 1); weak and strong [clip,size,size,3] are the caller's buffers; v (may
 * be NULL) receives every parameter used. key identifies the video draw (e.g.
 * epoch * n_videos + video id); the same (seed, key) gives the same bytes. */
VS_API vs_status vs_aug_make_views(vs_aug_state *st, uint8_t *weak, uint8_t *strong,
                                   vs_aug_views *v, const uint8_t *frames, int n_frames, int H,
                                   int W, uint64_t seed, uint64_t key);

/* ---- video-in-video and labels -------------------------------------------------------------- */

typedef struct vs_aug_viv {
    int host;     /* clip whose copy receives this clip, -1 = not mixed */
    float lambda; /* λ ~ U(0.3, 0.7) (label weight; only > 0 matters) */
    int y0, y1, x0, x1; /* box [y0,y1) x [x0,x1) in the host, pixels */
} vs_aug_viv;

/* Draw the ViV plan of a batch of B strong clips of side `size`: clip i is mixed with
 * probability p into a random host j != i (never when B < 2). */
VS_API vs_status vs_aug_viv_plan(vs_aug_viv *plan, int B, int size, double p, uint64_t seed,
                                 uint64_t key);
/* out [B,T,S,S,3] = the mixed batch of clips [B,T,S,S,3] (must not overlap): out_i =
 * clips_i when plan[i].host < 0, else a copy of clips_host with clips_i resized
 * bilinearly into the box. */
VS_API vs_status vs_aug_viv_apply(uint8_t *out, const uint8_t *clips, const vs_aug_viv *plan, int B,
                                  int T, int S, bool antialias);
/* L_viv [B,B]: identity with L_viv[i, host_i] = λ_i. */
VS_API void vs_aug_viv_matrix(float *L_viv, const vs_aug_viv *plan, int B);
/* labels [2B,2B] int32 = (L·Lᵀ > 0) with L = [I_B; L_viv] (2B x B): rows/columns
 * ordered weak_0..weak_{B-1}, strong_0..strong_{B-1}. */
VS_API vs_status vs_aug_labels(int32_t *labels, const float *L_viv, int B);

#ifdef __cplusplus
}
#endif

#endif /* VIDSIM_AUGMENT_H */
