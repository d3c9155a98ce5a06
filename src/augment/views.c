/*
 * views.c - the weak and strong views of one training video (S2VS WeakAugmentations
 * / StrongAugmentations.forward without ViV): window -> temporal crops (+ TT) ->
 * RandomResizedCrop + flip -> RandAugment -> copy edits (edits.c, p_edit > 0 only) ->
 * per-frame text, emoji, blur. Each group
 * of draws has its own RNG stream (augment_internal.h), so the index lists of
 * vs_aug_make_indices equal those of vs_aug_make_views for the same seed and key.
 */
#include "augment/augment_internal.h"

#include <string.h>

void vs__aug_state_ft_free(vs_aug_state *st); /* overlay.c */

vs_aug_params vs_aug_default_params(void) {
    vs_aug_params p;
    memset(&p, 0, sizeof(p));
    p.size = 224;
    p.clip = VS_AUG_CLIP;
    p.weak_scale_min = 0.8;
    p.strong_scale_min = 0.5;
    p.temporal = true;
    p.global = true;
    p.ra_num_ops = 2;
    p.ra_magnitude = 9;
    p.p_text = 0.3;
    p.p_emoji = 0.3;
    p.p_blur = 0.5;
    p.antialias = false;
    return p;
}

size_t vs_aug_clip_bytes(const vs_aug_params *p) {
    int s = p ? p->size : 224;
    int c = p ? p->clip : VS_AUG_CLIP;
    return (size_t)c * s * s * 3;
}

static vs_status check_params(const vs_aug_params *p) {
    if (p->size < 1 || p->size > 8192 || p->clip < 4 || p->clip > VS_AUG_CLIP ||
        !(p->weak_scale_min > 0 && p->weak_scale_min <= 1) ||
        !(p->strong_scale_min > 0 && p->strong_scale_min <= 1) || p->ra_num_ops < 0 ||
        p->ra_num_ops > VS_AUG_RA_MAX_OPS || p->ra_magnitude < 0 || p->ra_magnitude > 30 ||
        !(p->p_text >= 0 && p->p_text <= 1) || !(p->p_emoji >= 0 && p->p_emoji <= 1) ||
        !(p->p_blur >= 0 && p->p_blur <= 1) || !(p->p_edit >= 0 && p->p_edit <= 1))
        return vs__err(VS_ERR_INVALID_ARG,
                       "augment params out of range (size %d, clip %d of 4..%d, scales %g/%g, RandAugment "
                       "%d ops magnitude %d, p_text %g, p_emoji %g, p_blur %g, p_edit %g)",
                       p->size, p->clip, VS_AUG_CLIP, p->weak_scale_min, p->strong_scale_min, p->ra_num_ops, p->ra_magnitude,
                       p->p_text, p->p_emoji, p->p_blur, p->p_edit);
    return VS_OK;
}

vs_status vs_aug_state_create(vs_aug_state **out, const vs_aug_resources *res, const vs_aug_params *p) {
    if (!out) return vs__err(VS_ERR_INVALID_ARG, "vs_aug_state_create: out is NULL");
    *out = NULL;
    vs_aug_params pp = p ? *p : vs_aug_default_params();
    vs_status st = check_params(&pp);
    if (st != VS_OK) return st;
    if (pp.p_text > 0 && vs_aug_resources_n_fonts(res) < 1)
        return vs__err(VS_ERR_INVALID_ARG,
                       "text overlay has p_text %g but no fonts are loaded (set p_text = 0 to train without it)",
                       pp.p_text);
    if (pp.p_emoji > 0 && vs_aug_resources_n_emoji(res) < 1)
        return vs__err(VS_ERR_INVALID_ARG,
                       "emoji overlay has p_emoji %g but no emoji font is loaded (set p_emoji = 0 to train without it)",
                       pp.p_emoji);
    vs_aug_state *s = vs__calloc(1, sizeof(*s));
    if (!s) return vs__err(VS_ERR_NOMEM, "augment state: out of memory");
    s->p = pp;
    s->res = res;
    *out = s;
    return VS_OK;
}

void vs_aug_state_free(vs_aug_state *st) {
    if (!st) return;
    vs__aug_state_ft_free(st);
    vs__free(st->scratch);
    vs__free(st);
}

static vs_status indices(vs_aug_views *v, const vs_aug_params *p, int n_frames, uint64_t seed,
                         uint64_t key) {
    vs_aug_rng r;
    vs_aug_rng_init(&r, seed, key * VS__AUG_STREAMS + VS__AUG_S_TEMPORAL);
    const int C = p->clip, W = 2 * p->clip;
    vs_status st = vs_aug_window(v->window, W, n_frames, &r);
    if (st != VS_OK) return st;
    if ((st = vs_aug_temporal_crop(v->weak, C, v->window, W, &r)) != VS_OK) return st;
    if (p->temporal) {
        int tt[VS_AUG_MAX_TT], n;
        if ((st = vs_aug_temporal(tt, &n, &v->tt, v->window, W, C, &r)) != VS_OK) return st;
        return vs_aug_temporal_crop(v->strong, C, tt, n, &r);
    }
    v->tt = VS_AUG_TT_NONE;
    return vs_aug_temporal_crop(v->strong, C, v->window, W, &r);
}

vs_status vs_aug_make_indices(vs_aug_views *v, const vs_aug_params *p, int n_frames, uint64_t seed,
                              uint64_t key) {
    if (!v) return vs__err(VS_ERR_INVALID_ARG, "vs_aug_make_indices: v is NULL");
    vs_aug_params pp = p ? *p : vs_aug_default_params();
    vs_status st = check_params(&pp);
    if (st != VS_OK) return st;
    memset(v, 0, sizeof(*v));
    return indices(v, &pp, n_frames, seed, key);
}

static vs_status scratch(vs_aug_state *st, size_t bytes) {
    if (st->scratch_bytes >= bytes) return VS_OK;
    uint8_t *b = vs__realloc(st->scratch, bytes);
    if (!b) return vs__err(VS_ERR_NOMEM, "augment: out of memory for a %zu-byte frame", bytes);
    st->scratch = b;
    st->scratch_bytes = bytes;
    return VS_OK;
}

vs_status vs_aug_make_views(vs_aug_state *st, uint8_t *weak, uint8_t *strong, vs_aug_views *v,
                            const uint8_t *frames, int n_frames, int H, int W, uint64_t seed,
                            uint64_t key) {
    if (!st || !weak || !strong || !frames || n_frames < 1 || H < 1 || W < 1)
        return vs__err(VS_ERR_INVALID_ARG, "vs_aug_make_views: bad arguments (%d frames of %dx%d)",
                       n_frames, H, W);
    vs_aug_views local;
    if (!v) v = &local;
    memset(v, 0, sizeof(*v));
    const vs_aug_params *p = &st->p;
    const int S = p->size;
    const size_t in_bytes = (size_t)H * W * 3, out_bytes = (size_t)S * S * 3;
    vs_status s = indices(v, p, n_frames, seed, key);
    if (s != VS_OK) return s;

    /* weak view: one box and flip for the clip */
    vs_aug_rng r;
    vs_aug_rng_init(&r, seed, key * VS__AUG_STREAMS + VS__AUG_S_WEAK);
    v->weak_box = vs_aug_rrc_box(H, W, p->weak_scale_min, 1.0, 3.0 / 4.0, 4.0 / 3.0, &r);
    v->weak_flip = vs_aug_rng_uniform(&r) < 0.5;
    for (int t = 0; t < p->clip; t++) {
        uint8_t *o = weak + (size_t)t * out_bytes;
        s = vs_aug_resized_crop(o, S, S, frames + (size_t)v->weak[t] * in_bytes, H, W, v->weak_box,
                                p->antialias);
        if (s != VS_OK) return s;
        if (v->weak_flip) vs_aug_hflip(o, S, S);
    }

    /* strong view */
    vs_aug_rng_init(&r, seed, key * VS__AUG_STREAMS + VS__AUG_S_STRONG);
    v->strong_box = vs_aug_rrc_box(H, W, p->strong_scale_min, 1.0, 3.0 / 4.0, 4.0 / 3.0, &r);
    v->strong_flip = vs_aug_rng_uniform(&r) < 0.5;
    if (p->global) vs_aug_ra_draw(&v->ra, p->ra_num_ops, p->ra_magnitude, S, S, &r);
    vs_aug_rng noise;
    vs_aug_rng_init(&noise, seed, key * VS__AUG_STREAMS + VS__AUG_S_NOISE);
    for (int t = 0; t < p->clip; t++) {
        const uint8_t *src;
        int idx = v->strong[t];
        if (idx >= 0) {
            src = frames + (size_t)idx * in_bytes;
        } else {
            if ((s = scratch(st, in_bytes)) != VS_OK) return s;
            if (idx == VS_AUG_BLACK) {
                memset(st->scratch, 0, in_bytes);
            } else { /* np.random.rand(H, W, C) * 255 stored into uint8 (truncation) */
                for (size_t i = 0; i < in_bytes; i++)
                    st->scratch[i] = (uint8_t)(vs_aug_rng_uniform(&noise) * 255.0);
            }
            src = st->scratch;
        }
        uint8_t *o = strong + (size_t)t * out_bytes;
        s = vs_aug_resized_crop(o, S, S, src, H, W, v->strong_box, p->antialias);
        if (s != VS_OK) return s;
        if (v->strong_flip) vs_aug_hflip(o, S, S);
    }
    for (int k = 0; k < v->ra.n_ops; k++)
        if ((s = vs_aug_ra_apply(strong, p->clip, S, S, v->ra.op[k], v->ra.magnitude[k])) != VS_OK)
            return s;
    if (p->p_edit > 0) {
        vs_aug_rng_init(&r, seed, key * VS__AUG_STREAMS + VS__AUG_S_EDIT);
        if ((s = vs_aug_copy_edits(strong, p->clip, S, S, p->p_edit, &r, &v->edits)) != VS_OK) return s;
    }

    /* frame transformations: new draws for every frame */
    vs_aug_rng_init(&r, seed, key * VS__AUG_STREAMS + VS__AUG_S_FRAME);
    for (int t = 0; t < p->clip; t++) {
        uint8_t *o = strong + (size_t)t * out_bytes;
        if (vs_aug_rng_uniform(&r) < p->p_text) {
            if ((s = vs_aug_text_overlay(st, o, S, S, &r)) != VS_OK) return s;
            v->text[t] = 1;
        }
        if (vs_aug_rng_uniform(&r) < p->p_emoji) {
            if ((s = vs_aug_emoji_overlay(st, o, S, S, &r)) != VS_OK) return s;
            v->emoji[t] = 1;
        }
        if (vs_aug_rng_uniform(&r) < p->p_blur) {
            double radius = 0.1 + 1.9 * vs_aug_rng_uniform(&r);
            if ((s = vs_aug_gaussian_blur(o, S, S, radius)) != VS_OK) return s;
            v->blur[t] = (float)radius;
        }
    }
    return VS_OK;
}
