/*
 * data.c - training clips for the S2VS trainer from unlabeled videos: the
 * augmentation bank (features of several augmented views per video computed once;
 * temporal augmentations applied to frame indices per batch) and the exact online
 * mode (pixels augmented and the backbone run for every batch). See train.h for the
 * contract and docs/training.md for the choices and their measured effect.
 */
#include "vidsim/train.h"

#include "core/internal.h"
#include "core/tensorfile.h"
#include "vidsim/ann.h"
#include "vidsim/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRC 256      /* decoded frames: short side 256, centre 256x256 */
#define OUT 224      /* backbone input */
#define N_NOISE 4    /* distinct noise frames for TSD replacements */
#define RESERVOIR 4  /* recent videos kept as video-in-video hosts while building */

/* RNG stream numbers (per video key, see stream()). */
enum { S_WEAK = 1, S_STRONG = 2, S_FRAME = 3, S_VIV = 4, S_BATCH = 5, S_NOISE = 6, S_EDIT = 7, S_PAIRS = 8 };

typedef struct video {
    char *path;
    int n;            /* frames */
    uint8_t *frames;  /* [n, SRC, SRC, 3] (online mode, and hosts while building) */
    float **views;    /* [n_weak + n_strong + n_viv] of [n, R, D] (bank) */
    int viv_host;     /* video whose frames host the ViV view (-1 = none) */
    float viv_lambda;
} video;

struct vs_s2vs_data {
    vs_s2vs_data_params p;
    vs_extract_state *ex;
    vs_aug_state *aug;
    int R, D;
    video *v;
    int n, cap;
    float *black, *noise; /* [R*D], [N_NOISE, R*D] */
    long frames_done;
    int reservoir[RESERVOIR];
    int n_res;
    uint8_t *buf;  /* scratch [max(n)*2, OUT, OUT, 3] */
    size_t buf_cap;
};

static uint64_t stream(uint64_t a, uint64_t b, uint64_t c) {
    return ((a * 1000003ULL + b) * 1000033ULL + c) * 16ULL;
}

vs_s2vs_data_params vs_s2vs_data_default_params(void) {
    vs_s2vs_data_params p;
    memset(&p, 0, sizeof p);
    p.mode = VS_S2VS_BANK;
    p.n_weak = 2;
    p.n_strong = 4;
    p.n_viv = 1;
    p.p_viv = 0.3;
    p.max_frames = 300;
    p.seed = 1;
    p.aug = vs_aug_default_params();
    return p;
}

static int n_views(const vs_s2vs_data *d) { return d->p.n_weak + d->p.n_strong + d->p.n_viv; }

static void video_free(vs_s2vs_data *d, video *v) {
    vs__free(v->path);
    vs_free(v->frames);
    if (v->views)
        for (int k = 0; k < n_views(d); k++) vs__free(v->views[k]);
    vs__free(v->views);
}

void vs_s2vs_data_free(vs_s2vs_data *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) video_free(d, &d->v[i]);
    vs__free(d->v);
    vs__free(d->black);
    vs__free(d->noise);
    vs__free(d->buf);
    vs__free(d);
}

vs_status vs_s2vs_data_create(vs_s2vs_data **out, const vs_s2vs_data_params *p,
                              vs_extract_state *ex, vs_aug_state *aug, int R, int D) {
    *out = NULL;
    vs_s2vs_data *d = vs__calloc(1, sizeof *d);
    if (!d) return vs__err(VS_ERR_NOMEM, "train data: out of memory");
    d->p = p ? *p : vs_s2vs_data_default_params();
    if (d->p.n_weak < 1) d->p.n_weak = 1;
    if (d->p.n_strong < 1) d->p.n_strong = 1;
    if (d->p.n_viv < 0) d->p.n_viv = 0;
    d->ex = ex;
    d->aug = aug;
    d->R = R;
    d->D = D;
    *out = d;
    return VS_OK;
}

int vs_s2vs_data_n_videos(const vs_s2vs_data *d) { return d->n; }
long vs_s2vs_data_frames_done(const vs_s2vs_data *d) { return d->frames_done; }

static vs_status grow_buf(vs_s2vs_data *d, size_t bytes) {
    if (d->buf_cap >= bytes) return VS_OK;
    vs__free(d->buf);
    d->buf = vs__malloc(bytes);
    d->buf_cap = d->buf ? bytes : 0;
    return d->buf ? VS_OK : vs__err(VS_ERR_NOMEM, "train data: out of memory for %zu bytes", bytes);
}

/* Features of n frames [n, OUT, OUT, 3] into out [n, R, D]. */
static vs_status features(vs_s2vs_data *d, float *out, const uint8_t *px, int n) {
    vs_status s = vs_extract_frames(d->ex, px, n, out);
    if (s == VS_OK) d->frames_done += n;
    return s;
}

/* Features of a black frame and of N_NOISE uniform-noise frames (TSD replacements). */
static vs_status specials(vs_s2vs_data *d) {
    if (d->black) return VS_OK;
    const size_t fb = (size_t)OUT * OUT * 3, rd = (size_t)d->R * d->D;
    vs_status s = grow_buf(d, fb * (1 + N_NOISE));
    if (s != VS_OK) return s;
    memset(d->buf, 0, fb);
    vs_aug_rng r;
    vs_aug_rng_init(&r, d->p.seed, stream(0, S_NOISE, 0));
    for (size_t i = fb; i < fb * (1 + N_NOISE); i++)
        d->buf[i] = (uint8_t)(vs_aug_rng_uniform(&r) * 255.0);
    float *f = vs__malloc(sizeof(float) * rd * (1 + N_NOISE));
    if (!f) return vs__err(VS_ERR_NOMEM, "train data: out of memory");
    s = features(d, f, d->buf, 1 + N_NOISE);
    if (s != VS_OK) {
        vs__free(f);
        return s;
    }
    d->black = f;
    d->noise = vs__malloc(sizeof(float) * rd * N_NOISE);
    if (!d->noise) return vs__err(VS_ERR_NOMEM, "train data: out of memory");
    memcpy(d->noise, f + rd, sizeof(float) * rd * N_NOISE);
    return VS_OK;
}

/* Crop box of every frame from src [n,SRC,SRC,3] resized to dst [n,OUT,OUT,3], flipped. */
static vs_status crop_all(vs_s2vs_data *d, uint8_t *dst, const uint8_t *src, int n,
                          vs_aug_box box, int flip) {
    const size_t sb = (size_t)SRC * SRC * 3, ob = (size_t)OUT * OUT * 3;
    for (int t = 0; t < n; t++) {
        vs_status s = vs_aug_resized_crop(dst + t * ob, OUT, OUT, src + t * sb, SRC, SRC, box,
                                          d->p.aug.antialias);
        if (s != VS_OK) return s;
        if (flip) vs_aug_hflip(dst + t * ob, OUT, OUT);
    }
    return VS_OK;
}

/* A strong view's pixels of video vi into dst [n, OUT, OUT, 3]: RandomResizedCrop
 * (0.5-1) + flip + RandAugment (+ copy edits when p_edit > 0) for the whole view,
 * overlays and blur per frame. */
static vs_status strong_pixels(vs_s2vs_data *d, uint8_t *dst, const video *v, int vi, int k) {
    const vs_aug_params *a = &d->p.aug;
    const size_t ob = (size_t)OUT * OUT * 3;
    vs_aug_rng r;
    vs_aug_rng_init(&r, d->p.seed, stream((uint64_t)vi, S_STRONG, (uint64_t)k));
    vs_aug_box box = vs_aug_rrc_box(SRC, SRC, a->strong_scale_min, 1.0, 3.0 / 4.0, 4.0 / 3.0, &r);
    int flip = vs_aug_rng_uniform(&r) < 0.5;
    vs_status s = crop_all(d, dst, v->frames, v->n, box, flip);
    if (s != VS_OK) return s;
    if (a->global) {
        vs_aug_ra ra;
        vs_aug_ra_draw(&ra, a->ra_num_ops, a->ra_magnitude, OUT, OUT, &r);
        for (int o = 0; o < ra.n_ops && s == VS_OK; o++)
            s = vs_aug_ra_apply(dst, v->n, OUT, OUT, ra.op[o], ra.magnitude[o]);
        if (s != VS_OK) return s;
    }
    if (a->p_edit > 0) {
        vs_aug_rng_init(&r, d->p.seed, stream((uint64_t)vi, S_EDIT, (uint64_t)k));
        if ((s = vs_aug_copy_edits(dst, v->n, OUT, OUT, a->p_edit, &r, NULL)) != VS_OK) return s;
    }
    for (int t = 0; t < v->n; t++) {
        vs_aug_rng rf;
        vs_aug_rng_init(&rf, d->p.seed, stream((uint64_t)vi, S_FRAME, (uint64_t)k * 100003ULL + t));
        uint8_t *img = dst + t * ob;
        if (vs_aug_rng_uniform(&rf) < a->p_text && (s = vs_aug_text_overlay(d->aug, img, OUT, OUT, &rf)) != VS_OK)
            return s;
        if (vs_aug_rng_uniform(&rf) < a->p_emoji && (s = vs_aug_emoji_overlay(d->aug, img, OUT, OUT, &rf)) != VS_OK)
            return s;
        if (vs_aug_rng_uniform(&rf) < a->p_blur) {
            double radius = 0.1 + 1.9 * vs_aug_rng_uniform(&rf);
            if ((s = vs_aug_gaussian_blur(img, OUT, OUT, radius)) != VS_OK) return s;
        }
    }
    return VS_OK;
}

static vs_status build_views(vs_s2vs_data *d, video *v, int vi) {
    const int nv = n_views(d);
    const size_t ob = (size_t)OUT * OUT * 3, rd = (size_t)d->R * d->D;
    vs_status s = grow_buf(d, ob * (size_t)v->n * 4); /* ViV: clips [2,n] + mixed [2,n] */
    if (s != VS_OK) return s;
    v->views = vs__calloc((size_t)nv, sizeof *v->views);
    if (!v->views) return vs__err(VS_ERR_NOMEM, "train data: out of memory");
    v->viv_host = -1;
    for (int k = 0; k < nv; k++) {
        v->views[k] = vs__malloc(sizeof(float) * rd * (size_t)v->n);
        if (!v->views[k]) return vs__err(VS_ERR_NOMEM, "train data: out of memory for views");
    }
    uint8_t *px = d->buf;
    for (int k = 0; k < d->p.n_weak; k++) {
        vs_aug_rng r;
        vs_aug_rng_init(&r, d->p.seed, stream((uint64_t)vi, S_WEAK, (uint64_t)k));
        vs_aug_box box = vs_aug_rrc_box(SRC, SRC, d->p.aug.weak_scale_min, 1.0, 3.0 / 4.0, 4.0 / 3.0, &r);
        int flip = vs_aug_rng_uniform(&r) < 0.5;
        if ((s = crop_all(d, px, v->frames, v->n, box, flip)) != VS_OK) return s;
        if ((s = features(d, v->views[k], px, v->n)) != VS_OK) return s;
    }
    for (int k = 0; k < d->p.n_strong; k++) {
        if ((s = strong_pixels(d, px, v, vi, k)) != VS_OK) return s;
        if ((s = features(d, v->views[d->p.n_weak + k], px, v->n)) != VS_OK) return s;
    }
    for (int k = 0; k < d->p.n_viv; k++) {
        float *dst = v->views[d->p.n_weak + d->p.n_strong + k];
        if (d->n_res == 0) { /* no host yet: a plain strong view stands in */
            if ((s = strong_pixels(d, px, v, vi, 1000 + k)) != VS_OK) return s;
            if ((s = features(d, dst, px, v->n)) != VS_OK) return s;
            continue;
        }
        vs_aug_rng r;
        vs_aug_rng_init(&r, d->p.seed, stream((uint64_t)vi, S_VIV, (uint64_t)k));
        int host = d->reservoir[vs_aug_rng_below(&r, d->n_res)];
        const video *h = &d->v[host];
        /* clips [2, n]: the donor's strong pixels, the host's frames (whole 256 box) */
        uint8_t *clips = px, *mixed = px + ob * (size_t)v->n * 2;
        if ((s = strong_pixels(d, clips, v, vi, 2000 + k)) != VS_OK) return s;
        vs_aug_box whole = {0, 0, SRC, SRC};
        for (int t = 0; t < v->n; t++) {
            s = vs_aug_resized_crop(clips + ob * ((size_t)v->n + t), OUT, OUT,
                                    h->frames + (size_t)SRC * SRC * 3 * (t % h->n), SRC, SRC,
                                    whole, d->p.aug.antialias);
            if (s != VS_OK) return s;
        }
        vs_aug_viv plan[2];
        s = vs_aug_viv_plan(plan, 2, OUT, 1.0, d->p.seed, stream((uint64_t)vi, S_VIV, 100 + k));
        if (s != VS_OK) return s;
        plan[0].host = 1;
        plan[1].host = -1;
        if ((s = vs_aug_viv_apply(mixed, clips, plan, 2, v->n, OUT, d->p.aug.antialias)) != VS_OK)
            return s;
        if ((s = features(d, dst, mixed, v->n)) != VS_OK) return s;
        v->viv_host = host;
        v->viv_lambda = plan[0].lambda;
    }
    return VS_OK;
}

vs_status vs_s2vs_data_add_video(vs_s2vs_data *d, const char *path) {
    vs_status s = specials(d);
    if (s != VS_OK) return s;
    if (d->n == d->cap) {
        int nc = d->cap ? d->cap * 2 : 64;
        video *nvv = vs__calloc((size_t)nc, sizeof *nvv);
        if (!nvv) return vs__err(VS_ERR_NOMEM, "train data: out of memory");
        if (d->n) memcpy(nvv, d->v, sizeof *nvv * (size_t)d->n);
        vs__free(d->v);
        d->v = nvv;
        d->cap = nc;
    }
    vs_decode_params dp = vs_decode_default_params();
    dp.resize = SRC;
    dp.crop = SRC;
    dp.max_frames = d->p.max_frames;
    video v;
    memset(&v, 0, sizeof v);
    v.viv_host = -1;
    s = vs_decode_all(path, &dp, &v.frames, &v.n, NULL);
    if (s != VS_OK) return s;
    v.path = vs__strdup(path);
    if (!v.path) {
        vs_free(v.frames);
        return vs__err(VS_ERR_NOMEM, "train data: out of memory");
    }
    if (d->p.mode == VS_S2VS_BANK) {
        s = build_views(d, &v, d->n);
        if (s != VS_OK) {
            video_free(d, &v);
            return vs__err_prefix(s, "%s: ", path);
        }
        /* keep the frames of the last RESERVOIR videos as ViV hosts, drop the rest */
        if (d->p.n_viv > 0) {
            if (d->n_res == RESERVOIR) {
                video *old = &d->v[d->reservoir[0]];
                vs_free(old->frames);
                old->frames = NULL;
                memmove(d->reservoir, d->reservoir + 1, sizeof(int) * (RESERVOIR - 1));
                d->n_res--;
            }
            d->reservoir[d->n_res++] = d->n;
        } else {
            vs_free(v.frames);
            v.frames = NULL;
        }
    }
    d->v[d->n++] = v;
    return VS_OK;
}

/* ------------------------------------------------------------------ batches */

static void gather(const vs_s2vs_data *d, float *x, const float *view, const int *idx, int n) {
    const size_t rd = (size_t)d->R * d->D;
    for (int t = 0; t < n; t++) {
        const float *src = idx[t] == VS_AUG_BLACK ? d->black
                           : idx[t] == VS_AUG_NOISE ? d->noise + rd * (size_t)(t % N_NOISE)
                                                    : view + rd * (size_t)idx[t];
        memcpy(x + rd * t, src, sizeof(float) * rd);
    }
}

static vs_status batch_online(vs_s2vs_data *d, float *x, int32_t *labels, const int *vid, int B,
                              long iter) {
    const size_t cb = vs_aug_clip_bytes(&d->p.aug), rd = (size_t)d->R * d->D;
    vs_status s = grow_buf(d, cb * (size_t)B * 3);
    if (s != VS_OK) return s;
    uint8_t *weak = d->buf, *strong = weak + cb * B, *mixed = strong + cb * B;
    for (int b = 0; b < B; b++) {
        const video *v = &d->v[vid[b]];
        s = vs_aug_make_views(d->aug, weak + cb * b, strong + cb * b, NULL, v->frames, v->n, SRC,
                              SRC, d->p.seed, (uint64_t)iter * (uint64_t)d->n + (uint64_t)vid[b]);
        if (s != VS_OK) return vs__err_prefix(s, "%s: ", v->path);
    }
    vs_aug_viv *plan = vs__malloc(sizeof *plan * (size_t)B);
    float *L = vs__malloc(sizeof(float) * (size_t)B * B);
    if (!plan || !L) {
        vs__free(plan);
        vs__free(L);
        return vs__err(VS_ERR_NOMEM, "train data: out of memory");
    }
    s = vs_aug_viv_plan(plan, B, d->p.aug.size, d->p.p_viv, d->p.seed, (uint64_t)iter);
    if (s == VS_OK) s = vs_aug_viv_apply(mixed, strong, plan, B, d->p.aug.clip, d->p.aug.size, d->p.aug.antialias);
    if (s == VS_OK) {
        vs_aug_viv_matrix(L, plan, B);
        s = vs_aug_labels(labels, L, B);
    }
    vs__free(plan);
    vs__free(L);
    if (s == VS_OK) s = features(d, x, weak, B * d->p.aug.clip);
    if (s == VS_OK) s = features(d, x + rd * d->p.aug.clip * B, mixed, B * d->p.aug.clip);
    return s;
}

vs_status vs_s2vs_data_batch(vs_s2vs_data *d, float *x, int32_t *labels, int B, long iter) {
    if (B < 1 || B > d->n)
        return vs__err(VS_ERR_INVALID_ARG, "train data: batch of %d videos from %d videos", B, d->n);
    int *perm = vs__malloc(sizeof(int) * (size_t)d->n);
    float *L = vs__malloc(sizeof(float) * (size_t)B * B);
    if (!perm || !L) {
        vs__free(perm);
        vs__free(L);
        return vs__err(VS_ERR_NOMEM, "train data: out of memory");
    }
    vs_aug_rng r;
    vs_aug_rng_init(&r, d->p.seed, stream((uint64_t)iter, S_BATCH, 0));
    for (int i = 0; i < d->n; i++) perm[i] = i;
    for (int i = 0; i < B; i++) { /* partial Fisher-Yates: B distinct videos */
        int j = i + vs_aug_rng_below(&r, d->n - i);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    vs_status s = VS_OK;
    if (d->p.mode == VS_S2VS_ONLINE) {
        s = batch_online(d, x, labels, perm, B, iter);
        vs__free(perm);
        vs__free(L);
        return s;
    }
    const size_t clip = (size_t)d->p.aug.clip * d->R * d->D;
    memset(L, 0, sizeof(float) * (size_t)B * B);
    for (int b = 0; b < B && s == VS_OK; b++) {
        const video *v = &d->v[perm[b]];
        vs_aug_views av;
        s = vs_aug_make_indices(&av, &d->p.aug, v->n, d->p.seed,
                                (uint64_t)iter * (uint64_t)d->n + (uint64_t)perm[b]);
        if (s != VS_OK) break;
        L[b * B + b] = 1.0f;
        int wk = vs_aug_rng_below(&r, d->p.n_weak);
        gather(d, x + clip * b, v->views[wk], av.weak, d->p.aug.clip);
        int sk;
        if (d->p.n_viv > 0 && vs_aug_rng_uniform(&r) < d->p.p_viv) {
            sk = d->p.n_weak + d->p.n_strong + vs_aug_rng_below(&r, d->p.n_viv);
            for (int c = 0; c < B && v->viv_host >= 0; c++)
                if (perm[c] == v->viv_host && c != b) L[b * B + c] = v->viv_lambda;
        } else {
            sk = d->p.n_weak + vs_aug_rng_below(&r, d->p.n_strong);
        }
        gather(d, x + clip * (B + b), v->views[sk], av.strong, d->p.aug.clip);
    }
    if (s == VS_OK) s = vs_aug_labels(labels, L, B);
    vs__free(perm);
    vs__free(L);
    return s;
}

/* ------------------------------------------------------------------ bank files */

static const char *const PKEY[] = {"bank.R", "bank.D", "bank.n_weak", "bank.n_strong",
                                   "bank.n_viv", "bank.max_frames", "bank.seed"};

static void pvals(const vs_s2vs_data *d, long long *v) {
    v[0] = d->R;
    v[1] = d->D;
    v[2] = d->p.n_weak;
    v[3] = d->p.n_strong;
    v[4] = d->p.n_viv;
    v[5] = d->p.max_frames;
    v[6] = (long long)d->p.seed;
}

vs_status vs_s2vs_data_save(const vs_s2vs_data *d, const char *path) {
    if (d->p.mode != VS_S2VS_BANK)
        return vs__err(VS_ERR_INVALID_ARG, "train data: only a bank can be saved");
    vs__tfw *w;
    vs_status s = vs__tfw_create(&w);
    if (s != VS_OK) return s;
    char key[64], val[64];
    long long pv[7];
    pvals(d, pv);
    s = vs__tfw_meta(w, "kind", "s2vs_bank");
    for (int i = 0; i < 7 && s == VS_OK; i++) {
        snprintf(val, sizeof val, "%lld", pv[i]);
        s = vs__tfw_meta(w, PKEY[i], val);
    }
    snprintf(val, sizeof val, "%.17g", d->p.aug.p_edit);
    if (s == VS_OK) s = vs__tfw_meta(w, "bank.p_edit", val);
    snprintf(val, sizeof val, "%d", d->n);
    if (s == VS_OK) s = vs__tfw_meta(w, "bank.n_videos", val);
    if (s == VS_OK && d->p.features) s = vs__tfw_meta(w, "bank.features", d->p.features);
    int64_t sd[2] = {1 + N_NOISE, (int64_t)d->R * d->D};
    if (s == VS_OK && d->black) s = vs__tfw_add(w, "specials", VS_DT_F32, 2, sd, d->black);
    for (int i = 0; i < d->n && s == VS_OK; i++) {
        const video *v = &d->v[i];
        snprintf(key, sizeof key, "video.%d.path", i);
        s = vs__tfw_meta(w, key, v->path);
        snprintf(key, sizeof key, "video.%d.viv", i);
        snprintf(val, sizeof val, "%d %.9g", v->viv_host, (double)v->viv_lambda);
        if (s == VS_OK) s = vs__tfw_meta(w, key, val);
        int64_t dims[3] = {v->n, d->R, d->D};
        for (int k = 0; k < n_views(d) && s == VS_OK; k++) {
            snprintf(key, sizeof key, "video.%d.view.%d", i, k);
            s = vs__tfw_add(w, key, VS_DT_F32, 3, dims, v->views[k]);
        }
    }
    if (s == VS_OK) s = vs__tfw_save(w, path);
    vs__tfw_free(w);
    return s;
}

vs_status vs_s2vs_data_load(vs_s2vs_data *d, const char *path) {
    if (d->p.mode != VS_S2VS_BANK || d->n)
        return vs__err(VS_ERR_INVALID_ARG, "train data: load a bank into an empty bank-mode object");
    vs__tf *tf;
    vs_status s = vs__tf_open(&tf, path);
    if (s != VS_OK) return s;
    const char *kind = vs__tf_meta(tf, "kind");
    long long pv[7];
    pvals(d, pv);
    if (!kind || strcmp(kind, "s2vs_bank") != 0) {
        s = vs__err(VS_ERR_FORMAT, "%s: not a training bank file", path);
        goto out;
    }
    for (int i = 0; i < 7; i++) {
        const char *v = vs__tf_meta(tf, PKEY[i]);
        if (!v || strtoll(v, NULL, 10) != pv[i]) {
            s = vs__err(VS_ERR_INVALID_ARG, "%s: bank built with %s=%s, this run wants %lld", path,
                        PKEY[i], v ? v : "(missing)", pv[i]);
            goto out;
        }
    }
    const char *pe = vs__tf_meta(tf, "bank.p_edit"); /* absent: a bank from before p_edit, 0 */
    if ((pe ? strtod(pe, NULL) : 0.0) != d->p.aug.p_edit) {
        s = vs__err(VS_ERR_INVALID_ARG, "%s: bank built with copy edits p_edit=%s, this run wants %g", path,
                    pe ? pe : "0", d->p.aug.p_edit);
        goto out;
    }
    const char *bf = vs__tf_meta(tf, "bank.features"); /* absent: a bank from before it was recorded */
    if (bf && d->p.features && strcmp(bf, d->p.features)) {
        s = vs__err(VS_ERR_INVALID_ARG, "%s: bank built from %s features, this run extracts %s", path, bf,
                    d->p.features);
        goto out;
    }
    const char *nvs = vs__tf_meta(tf, "bank.n_videos");
    int nvid = nvs ? atoi(nvs) : -1;
    if (nvid < 0 || nvid > 100000000) {
        s = vs__err(VS_ERR_FORMAT, "%s: bad bank.n_videos", path);
        goto out;
    }
    const vs__tensor *t;
    int64_t sd[2] = {1 + N_NOISE, (int64_t)d->R * d->D};
    if ((s = vs__tf_get(tf, "specials", VS_DT_F32, 2, sd, &t)) != VS_OK) goto out;
    d->black = vs__malloc(sizeof(float) * (size_t)sd[0] * sd[1]);
    d->noise = vs__malloc(sizeof(float) * (size_t)N_NOISE * sd[1]);
    if (!d->black || !d->noise) {
        s = vs__err(VS_ERR_NOMEM, "train data: out of memory");
        goto out;
    }
    memcpy(d->black, t->data, sizeof(float) * (size_t)sd[0] * sd[1]);
    memcpy(d->noise, d->black + sd[1], sizeof(float) * (size_t)N_NOISE * sd[1]);
    d->v = vs__calloc((size_t)(nvid ? nvid : 1), sizeof *d->v);
    if (!d->v) {
        s = vs__err(VS_ERR_NOMEM, "train data: out of memory");
        goto out;
    }
    d->cap = nvid ? nvid : 1;
    char key[64];
    for (int i = 0; i < nvid && s == VS_OK; i++) {
        video *v = &d->v[i];
        d->n = i + 1;
        snprintf(key, sizeof key, "video.%d.path", i);
        const char *pth = vs__tf_meta(tf, key);
        snprintf(key, sizeof key, "video.%d.viv", i);
        const char *viv = vs__tf_meta(tf, key);
        if (!pth || !viv || sscanf(viv, "%d %f", &v->viv_host, &v->viv_lambda) != 2 ||
            v->viv_host >= nvid) {
            s = vs__err(VS_ERR_FORMAT, "%s: video %d lacks its path or ViV record", path, i);
            break;
        }
        v->path = vs__strdup(pth);
        v->views = vs__calloc((size_t)n_views(d), sizeof *v->views);
        if (!v->path || !v->views) {
            s = vs__err(VS_ERR_NOMEM, "train data: out of memory");
            break;
        }
        for (int k = 0; k < n_views(d) && s == VS_OK; k++) {
            snprintf(key, sizeof key, "video.%d.view.%d", i, k);
            int64_t dims[3] = {-1, d->R, d->D};
            s = vs__tf_get(tf, key, VS_DT_F32, 3, dims, &t);
            if (s != VS_OK) break;
            if (k == 0) v->n = (int)t->dims[0];
            if (t->dims[0] != v->n || v->n < 1) {
                s = vs__err(VS_ERR_FORMAT, "%s: %s has %lld frames, expected %d", path, key,
                            (long long)t->dims[0], v->n);
                break;
            }
            v->views[k] = vs__malloc(sizeof(float) * (size_t)t->numel);
            if (!v->views[k]) {
                s = vs__err(VS_ERR_NOMEM, "train data: out of memory");
                break;
            }
            memcpy(v->views[k], t->data, sizeof(float) * (size_t)t->numel);
        }
    }
    if (s != VS_OK) { /* leave d empty */
        for (int i = 0; i < d->n; i++) video_free(d, &d->v[i]);
        d->n = 0;
    }
out:
    vs__tf_close(tf);
    return s;
}

vs_status vs_s2vs_data_view_pairs(const vs_s2vs_data *d, int n_per_video, uint64_t seed, float **a, float **b,
                                  long *n) {
    *a = *b = NULL;
    *n = 0;
    if (d->p.mode != VS_S2VS_BANK) return vs__err(VS_ERR_INVALID_ARG, "train data: view pairs need a bank");
    if (n_views(d) < 2) return vs__err(VS_ERR_INVALID_ARG, "train data: a bank of one view per video has no pairs");
    if (n_per_video < 1) return vs__err(VS_ERR_INVALID_ARG, "train data: %d pairs per video", n_per_video);
    long np = 0;
    for (int i = 0; i < d->n; i++)
        if (d->v[i].n > 0 && d->v[i].views) np += n_per_video;
    if (np == 0) return vs__err(VS_ERR_INVALID_ARG, "train data: the bank has no videos");
    const int D = d->D, RD = d->R * d->D;
    float *pa = vs__malloc(sizeof(float) * (size_t)np * D), *pb = vs__malloc(sizeof(float) * (size_t)np * D);
    if (!pa || !pb) {
        vs__free(pa);
        vs__free(pb);
        return vs__err(VS_ERR_NOMEM, "train data: out of memory for %ld pairs", np);
    }
    long k = 0;
    for (int i = 0; i < d->n; i++) {
        const video *v = &d->v[i];
        if (v->n <= 0 || !v->views) continue;
        vs_aug_rng r;
        vs_aug_rng_init(&r, seed, stream((uint64_t)i, S_PAIRS, 0));
        int wmax = v->n / 2 > 1 ? v->n / 2 : 1;
        for (int j = 0; j < n_per_video; j++, k++) {
            int w = 1 + vs_aug_rng_below(&r, wmax);
            int t = vs_aug_rng_below(&r, v->n - w + 1);
            int va = vs_aug_rng_below(&r, n_views(d));
            int vb = vs_aug_rng_below(&r, n_views(d) - 1);
            if (vb >= va) vb++;
            vs_ann_mean_vector(pa + (size_t)k * D, v->views[va] + (size_t)t * RD, (long)w * d->R, D);
            vs_ann_mean_vector(pb + (size_t)k * D, v->views[vb] + (size_t)t * RD, (long)w * d->R, D);
        }
    }
    *a = pa;
    *b = pb;
    *n = k;
    return VS_OK;
}
