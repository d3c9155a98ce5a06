/*
 * conmh.h - private interface of the ConMH hash model (Wang et al., AAAI 2023; official
 * code huangmozhi9527/ConMH, model/conmh.py, Loss/conmh_loss.py): configuration, the
 * parameter table (state-dict names, one contiguous float block), the masked-view
 * forward/backward, the debiased contrastive loss and the per-frame encoder used at
 * inference. docs/hashing.md describes the model; the public face is vidsim/hashmodel.h.
 *
 * Dimension letters: B videos, T frames per video (max_frames), F frame-feature width,
 * nv visible / nm masked frames of a view (nv + nm = T), Ce / Cd encoder / decoder width,
 * nb code bits.
 */
#ifndef VS_HASH_CONMH_H
#define VS_HASH_CONMH_H

#include "core/internal.h"
#include "core/tensorfile.h"
#include "nn/transformer.h"
#include "optim/optim.h"
#include "vidsim/hashmodel.h"

#include <stdint.h>

#define VS__CONMH_MAX_DEPTH 24
#define VS__CONMH_MAX_PARAMS (8 + 13 * 2 * VS__CONMH_MAX_DEPTH + 16)

typedef struct vs__conmh_cfg {
    int F;               /* frame feature width (feature_size) */
    int T;               /* frames per video (max_frames): position-table length */
    int nbits;           /* code bits */
    int enc_C, enc_depth, enc_H; /* encoder width, blocks, heads (head dim = C / H) */
    int dec_C, dec_depth, dec_H; /* decoder */
    int mlp_ratio;       /* 4 */
    float ln_eps;        /* block / final LayerNorm eps: 1e-6 */
    float hash_eps;      /* hash LayerNorm eps: 1e-5 (PyTorch default) */
} vs__conmh_cfg;

/* Named views into one float block (parameters, gradients or Adam moments). */
typedef struct vs__conmh_p {
    float *mask_token;                /* mask_token [1,1,Cd] */
    float *pe_w, *pe_b;               /* encoder.patch_embed [Ce,F], [Ce] */
    vs__block_w enc[VS__CONMH_MAX_DEPTH]; /* encoder.blocks.i.* (k bias NULL) */
    float *en_w, *en_b;               /* encoder.norm [Ce] */
    float *eh_w, *eh_b;               /* encoder.head [Ce,Ce], [Ce] */
    vs__block_w dec[VS__CONMH_MAX_DEPTH]; /* decoder.blocks.i.* */
    float *dn_w, *dn_b;               /* decoder.norm [Cd] */
    float *dh_w, *dh_b;               /* decoder.head [F,Cd], [F] */
    float *e2d_w;                     /* encoder_to_decoder.weight [Cd,nb] (no bias) */
    float *bin_w, *bin_b;             /* binary [nb,Ce], [nb] */
    float *ln_w, *ln_b;               /* ln [nb] */
} vs__conmh_p;

/* One tensor of the block: the optimiser core's parameter-table entry (name = the
 * state-dict key, e.g. "encoder.blocks.0.attn.qkv.weight"; ndim <= 3; offset and numel
 * in floats; no_decay and frozen 0), so the table goes to the optimiser as it is. */
typedef vs__param vs__conmh_entry;

/* Validate a configuration (sizes positive, depth <= MAX, C % H == 0 not required). */
vs_status vs__conmh_cfg_check(const vs__conmh_cfg *c);
/* Parameter table in state-dict order: fills tab (may be NULL), returns the count and
 * *n_floats the block size. */
int vs__conmh_table(const vs__conmh_cfg *c, vs__conmh_entry *tab, long *n_floats);
/* Point p's fields into base (a block of n_floats). */
void vs__conmh_bind(vs__conmh_p *p, float *base, const vs__conmh_cfg *c);
/* The reference initialisation (xavier-uniform Linear in encoder/decoder, zero biases,
 * LayerNorm 1/0, PyTorch default for binary / encoder_to_decoder, truncated-normal
 * mask_token) from a seed. */
void vs__conmh_init(float *params, const vs__conmh_cfg *c, uint64_t seed);

/* A model: configuration, the parameter block with named views, the fixed position
 * tables. Read-only after creation (shareable between threads). */
typedef struct vs__conmh {
    vs__conmh_cfg cfg;
    long n_params;   /* floats in params */
    float *params;   /* the block (state-dict order) */
    vs__conmh_p p;   /* views into params */
    float *pos_e;    /* [T,Ce] encoder sinusoid table */
    float *pos_d;    /* [T,Cd] decoder sinusoid table */
} vs__conmh;

/* Allocate a model for c (parameters zeroed; call vs__conmh_init or fill m->params). */
vs_status vs__conmh_create(vs__conmh *m, const vs__conmh_cfg *c);
void vs__conmh_destroy(vs__conmh *m);
vs__block_dims vs__conmh_enc_dims(const vs__conmh_cfg *c);
vs__block_dims vs__conmh_dec_dims(const vs__conmh_cfg *c);

/* splitmix64 and uniform [0,1) double, for masks, init and batch order. */
uint64_t vs__conmh_rng(uint64_t *s);
double vs__conmh_uniform(uint64_t *s);

/* ---- masked view: activations kept for backward */
typedef struct vs__conmh_view {
    int B, nv, nm, with_dec;
    int32_t *vis, *msk;      /* [B,nv], [B,nm] frame positions, temporal order */
    float *xv;               /* [B,nv,F] visible input frames */
    float *enc_x;            /* [enc_depth+1][B,nv,Ce]: block inputs, last = encoder blocks out */
    vs__block_cache enc_c[VS__CONMH_MAX_DEPTH];
    float *enorm, *enorm_mean, *enorm_rstd; /* [B,nv,Ce], [B*nv] x2: encoder.norm */
    float *enc_out;          /* [B,nv,Ce] encoder.head output */
    float *hlin;             /* [B,nv,nb] binary Linear */
    float *hpre, *h_mean, *h_rstd; /* [B,nv,nb] after ln (pre-binarisation) */
    float *code;             /* [B,nv,nb] +-1 (or hpre itself with relax) */
    float *e2d;              /* [B,nv,Cd] encoder_to_decoder(code) */
    float *dec_x;            /* [dec_depth+1][B,T,Cd]: decoder input, block outputs */
    vs__block_cache dec_c[VS__CONMH_MAX_DEPTH];
    float *dtail;            /* [B,nm,Cd] last nm decoder tokens */
    float *dnorm, *dn_mean, *dn_rstd; /* [B,nm,Cd] decoder.norm */
    float *rec;              /* [B,nm,F] reconstruction */
    float *tgt;              /* [B,nm,F] masked input frames, temporal order */
    float *vcode;            /* [B,nb] mean over visible frames of code */
    float *dcode, *dpre;     /* [B,nv,nb] dL/dcode, dL/dhpre (after the STE) */
    double mse;              /* mean squared error of rec vs tgt */
} vs__conmh_view;

/* Shared backward scratch. */
typedef struct vs__conmh_ws {
    vs__conmh_view view[2];
    float *buf;              /* everything above and below lives here */
    float *d_rec, *d_dnorm, *d_dtail, *d_dx[2], *d_e2d, *d_hlin, *d_encout, *d_enorm,
        *d_ex[2], *scr;
    float *dh[2];            /* [B,nb] dL/d(video code) per view */
    uint8_t *mask[2];        /* [B,T] per-view masks (1 = masked) */
    double *dcl_scr;         /* vs__conmh_dcl scratch */
    int B, T;
} vs__conmh_ws;

/* Workspace for B videos with views of nv visible frames (nv = T, with_dec = 0 for
 * encoder-only inference; then only view[0] exists). */
vs_status vs__conmh_ws_create(vs__conmh_ws *ws, const vs__conmh_cfg *c, int B, int nv,
                              int with_dec);
void vs__conmh_ws_free(vs__conmh_ws *ws);

/* Loss settings. */
typedef struct vs__conmh_loss_cfg {
    float alpha;        /* contrastive weight a (1.0) */
    float temperature;  /* 0.5 */
    float tau_plus;     /* 0.1 */
    float recon_scale;  /* multiplies L_rec (1 = reference) */
    int relax;          /* 1: code = hpre and identity STE (finite-difference tests only) */
} vs__conmh_loss_cfg;

typedef struct vs__conmh_loss {
    double total, recon, dcl; /* recon = scale * (mse1 + mse2), total = recon + a * dcl */
} vs__conmh_loss;

/* Forward of one view into v: x [B,T,F]; mask [B,T] (1 = masked; every row exactly
 * v->nm ones), NULL = all visible (encoder-only view). Decoder runs if v->with_dec. */
void vs__conmh_view_forward(const vs__conmh *m, vs__conmh_view *v, const float *x,
                            const uint8_t *mask, int relax);

/* DCL (Chuang et al. 2020) as conmh_loss.dcl: h1, h2 [B,nb] (not normalised); returns
 * the loss; d1, d2 [B,nb] (may be NULL) receive dL/dh * scale (overwritten). Computed in
 * double; scr: vs__conmh_dcl_scratch(B, nb) doubles. */
double vs__conmh_dcl(float *d1, float *d2, double *scr, const float *h1, const float *h2, int B,
                     int nb, double temperature, double tau_plus, double scale);
size_t vs__conmh_dcl_scratch(int B, int nb);

/* The training objective: both views forward (masks [B,2,T], 1 = masked), L_rec, DCL,
 * and, if g != NULL, the backward pass ACCUMULATING into g (zero it first). */
void vs__conmh_loss_backward(const vs__conmh *m, const vs__conmh_p *g, vs__conmh_ws *ws,
                             const float *x,
                             const uint8_t *masks, const vs__conmh_loss_cfg *lc,
                             vs__conmh_loss *out);

/* Reference binarisation of one value (binary_tanh_unit: y = clamp((x+1)/2, 0, 1),
 * 2*round_half_even(y) - 1), and its straight-through gradient mask (-1 < x <= 1). */
float vs__conmh_binarize(float x);
int vs__conmh_ste_pass(float x);

/* ---- files (hashmodel.c): the configuration as metadata ("conmh.*" keys), the
 * parameters under their state-dict names. */
vs_status vs__conmh_write(const vs__conmh *m, vs__tfw *w);
/* Create m from an open file (configuration from its metadata, then every tensor,
 * checked for shape and finiteness). Messages name the file. */
vs_status vs__conmh_read(vs__conmh *m, const vs__tf *tf);
/* "conmh<bits>-<16 hex>" of the configuration and the parameter bytes. */
void vs__conmh_id(const vs__conmh *m, char *buf, size_t n);

/* Public configuration <-> internal (mlp ratio 4, eps 1e-6 / 1e-5 fixed). */
vs__conmh_cfg vs__conmh_cfg_from(const vs_hashmodel_config *c);
vs_hashmodel_config vs__conmh_cfg_to(const vs__conmh_cfg *k);
/* Replace a model's weights (n floats, must match) and refresh its id. */
vs_status vs__hashmodel_set_params(vs_hashmodel *m, const float *params, long n);

/* Video code from per-frame +-1 codes frame_codes [T,nb] (a view's code for one video):
 * sign_out [nb] (may be NULL) = the reference's sign(mean over frames), 0 on a tie;
 * bits [ceil(nb/64)] (may be NULL) = vidsim's code: bit k = 1 iff the frame sum >= 0
 * (ties go to 1, so codes are strictly binary and deterministic; no ties when T is odd). */
void vs__conmh_video_code(float *sign_out, uint64_t *bits, const float *frame_codes, int T,
                          int nb);

#endif
