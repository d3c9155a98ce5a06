/*
 * holdout.c - the check after training (vs_holdout_compare, train.h): is the trained
 * similarity model better than the training-free ViSiL_f on this user's own videos?
 * Videos held out of training become a small copy-detection benchmark: each one is the
 * reference, and `copies` edited copies of it are the queries (a random contiguous
 * segment of 50-100 % of its frames, then one edit drawn from: mirror, crop, blur, grey,
 * hue, noise, low quality, shrunk onto a border). Every copy is scored against every
 * reference with both models (symmetric: the mean of both directions, as search does),
 * and the two rankings are scored as vidsim eval does (μAP over all pairs with
 * pessimistic ties, mAP over queries) with vs_eval_ap. Deterministic for a seed.
 * Decoding, extraction, edits and scoring use the library's own calls; it prints
 * nothing.
 */
#include "vidsim/train.h"

#include "core/internal.h"

#include "vidsim/augment.h"
#include "vidsim/decode.h"
#include "vidsim/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

vs_holdout_params vs_holdout_default_params(void) {
    vs_holdout_params p;
    memset(&p, 0, sizeof p);
    p.copies = 3;
    p.seed = 1;
    p.max_frames = 60;
    p.n_threads = 1;
    return p;
}

const char *vs_holdout_edit_name(int k) {
    static const char *const names[VS_HOLDOUT_N_EDITS] = {"mirror", "crop", "blur", "grey",
                                                          "hue",    "noise", "low_quality", "border"};
    return k >= 0 && k < VS_HOLDOUT_N_EDITS ? names[k] : "?";
}

/* One edit of kind k on frames [T,S,S,3] in place (scratch: one frame). */
static vs_status apply_edit(int k, uint8_t *fr, int T, int S, uint8_t *scratch, vs_aug_rng *r) {
    size_t fb = (size_t)S * S * 3;
    vs_status s = VS_OK;
    switch (k) {
    case 0:
        for (int t = 0; t < T; t++) vs_aug_hflip(fr + t * fb, S, S);
        break;
    case 1: {
        vs_aug_box b = vs_aug_rrc_box(S, S, 0.4, 0.7, 3.0 / 4, 4.0 / 3, r);
        for (int t = 0; t < T && !s; t++) {
            memcpy(scratch, fr + t * fb, fb);
            s = vs_aug_resized_crop(fr + t * fb, S, S, scratch, S, S, b, true);
        }
        break;
    }
    case 2: {
        double radius = 2 + 3 * vs_aug_rng_uniform(r);
        for (int t = 0; t < T && !s; t++) s = vs_aug_gaussian_blur(fr + t * fb, S, S, radius);
        break;
    }
    case 3: vs_aug_grayscale(fr, T, S, S); break;
    case 4: vs_aug_hue_rotate(fr, T, S, S, 60 + 240 * vs_aug_rng_uniform(r)); break;
    case 5: vs_aug_gaussian_noise(fr, T, S, S, 10 + 15 * vs_aug_rng_uniform(r), r); break;
    case 6: {
        int side = (int)(S * (0.15 + 0.15 * vs_aug_rng_uniform(r)));
        s = vs_aug_low_quality(fr, T, S, S, side < 8 ? 8 : side, side < 8 ? 8 : side);
        break;
    }
    default: {
        int side = (int)(S * (0.55 + 0.25 * vs_aug_rng_uniform(r)));
        vs_aug_box b = {vs_aug_rng_below(r, S - side + 1), vs_aug_rng_below(r, S - side + 1), side, side};
        uint8_t rgb[3] = {(uint8_t)vs_aug_rng_below(r, 256), (uint8_t)vs_aug_rng_below(r, 256),
                          (uint8_t)vs_aug_rng_below(r, 256)};
        s = vs_aug_pad(fr, T, S, S, b, rgb);
        break;
    }
    }
    return s;
}

typedef struct hvid {
    float *x;      /* [T,R,D] features as extracted */
    int T;
    int source;    /* queries: the reference they were made from */
} hvid;

/* Features of frames [T,S,S,3] with st (new buffer). */
static vs_status features_of(vs_extract_state *st, const uint8_t *fr, int T, int R, int D, float **out) {
    *out = vs__malloc(sizeof(float) * (size_t)T * R * D);
    if (!*out) return vs__err(VS_ERR_NOMEM, "held-out benchmark: out of memory");
    vs_status s = vs_extract_frames(st, fr, T, *out);
    if (s) {
        vs__free(*out);
        *out = NULL;
    }
    return s;
}

/* sims [nq * nr] (symmetric) of queries against references under model m. */
static vs_status score_all(const vs_simmodel *m, int n_threads, const hvid *q, int nq, const hvid *ref, int nr,
                           int R, int D, double *sims) {
    vs_simmodel_params sp = vs_simmodel_default_params();
    sp.n_threads = n_threads;
    vs_simmodel_state *st = NULL;
    vs_status s = vs_simmodel_state_create(&st, m, &sp);
    float **xq = vs__calloc((size_t)nq, sizeof *xq), **xr = vs__calloc((size_t)nr, sizeof *xr);
    vs_simvideo *tq = vs__calloc((size_t)nq, sizeof *tq), *tr = vs__calloc((size_t)nr, sizeof *tr);
    float *row = vs__malloc(sizeof(float) * (size_t)(nq > nr ? nq : nr));
    if (!s && (!xq || !xr || !tq || !tr || !row)) s = vs__err(VS_ERR_NOMEM, "held-out benchmark: out of memory");
    for (int i = 0; i < nq && !s; i++) {
        if (!(xq[i] = vs__malloc(sizeof(float) * (size_t)q[i].T * R * D))) s = vs__err(VS_ERR_NOMEM, "out of memory");
        else s = vs_simmodel_index(st, xq[i], NULL, q[i].x, q[i].T, R, D);
        if (!s) tq[i] = (vs_simvideo){xq[i], q[i].T, NULL};
    }
    for (int j = 0; j < nr && !s; j++) {
        if (!(xr[j] = vs__malloc(sizeof(float) * (size_t)ref[j].T * R * D))) s = vs__err(VS_ERR_NOMEM, "out of memory");
        else s = vs_simmodel_index(st, xr[j], NULL, ref[j].x, ref[j].T, R, D);
        if (!s) tr[j] = (vs_simvideo){xr[j], ref[j].T, NULL};
    }
    for (int i = 0; i < nq && !s; i++) { /* query -> references */
        s = vs_simmodel_similarity(st, row, xq[i], q[i].T, tr, nr, R, D);
        for (int j = 0; j < nr && !s; j++) sims[(size_t)i * nr + j] = 0.5 * row[j];
    }
    for (int j = 0; j < nr && !s; j++) { /* reference -> queries */
        s = vs_simmodel_similarity(st, row, xr[j], ref[j].T, tq, nq, R, D);
        for (int i = 0; i < nq && !s; i++) sims[(size_t)i * nr + j] += 0.5 * row[i];
    }
    for (int i = 0; xq && i < nq; i++) vs__free(xq[i]);
    for (int j = 0; xr && j < nr; j++) vs__free(xr[j]);
    vs__free(xq);
    vs__free(xr);
    vs__free(tq);
    vs__free(tr);
    vs__free(row);
    vs_simmodel_state_free(st);
    return s;
}

/* μAP over all pairs and mAP over queries of sims [nq * nr]. */
static vs_status metrics(const double *sims, const hvid *q, int nq, int nr, double *uap, double *map) {
    size_t n = (size_t)nq * nr;
    unsigned char *rel = vs__malloc(n);
    if (!rel) return vs__err(VS_ERR_NOMEM, "held-out benchmark: out of memory");
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nr; j++) rel[(size_t)i * nr + j] = q[i].source == j;
    vs_status s = vs_eval_ap(uap, sims, rel, n, (size_t)nq, VS_EVAL_TIES_PESSIMISTIC);
    double sum = 0;
    for (int i = 0; i < nq && !s; i++) {
        double ap;
        s = vs_eval_ap(&ap, sims + (size_t)i * nr, rel + (size_t)i * nr, (size_t)nr, 1, VS_EVAL_TIES_PESSIMISTIC);
        sum += ap;
    }
    *map = nq ? sum / nq : NAN;
    vs__free(rel);
    return s;
}

vs_status vs_holdout_compare(vs_extract_state *st, int R, int D, const char *const *videos, int n,
                             const vs_simmodel *model, const vs_holdout_params *pp, vs_holdout_report *out) {
    vs_holdout_params p = pp ? *pp : vs_holdout_default_params();
    memset(out, 0, sizeof *out);
    if (!st || R < 1 || D < 1 || !videos || n < 2 || !model || p.copies < 1 || p.max_frames < 2)
        return vs__err(VS_ERR_INVALID_ARG, "held-out benchmark: needs at least 2 videos, a model, copies >= 1 "
                                           "and max_frames >= 2");
    vs_decode_params dp = vs_decode_default_params();
    dp.max_frames = p.max_frames;
    const int S = dp.crop;
    hvid *ref = vs__calloc((size_t)n, sizeof *ref), *q = vs__calloc((size_t)n * p.copies, sizeof *q);
    double *sb = NULL, *sm = NULL;
    uint8_t *scratch = vs__malloc((size_t)S * S * 3), *cp = NULL;
    int nr = 0, nq = 0;
    vs_status s = ref && q && scratch ? VS_OK : vs__err(VS_ERR_NOMEM, "held-out benchmark: out of memory");
    for (int v = 0; v < n && !s; v++) {
        uint8_t *fr = NULL;
        int T = 0;
        vs_status ds = vs_decode_all(videos[v], &dp, &fr, &T, NULL);
        if (ds || T < 2) { /* a video that cannot serve (damaged, one frame) is left out and counted */
            vs_free(fr);
            if (ds == VS_ERR_NOMEM) s = ds;
            out->n_failed++;
            continue;
        }
        s = features_of(st, fr, T, R, D, &ref[nr].x);
        if (!s) {
            ref[nr].T = T;
            ref[nr].source = nr;
        }
        for (int c = 0; c < p.copies && !s; c++) {
            vs_aug_rng r;
            vs_aug_rng_init(&r, p.seed, (uint64_t)v * 1000003u + (uint64_t)c);
            int len = (int)ceil(T * (0.5 + 0.5 * vs_aug_rng_uniform(&r)));
            if (len < 2) len = 2;
            if (len > T) len = T;
            int start = vs_aug_rng_below(&r, T - len + 1);
            int kind = vs_aug_rng_below(&r, VS_HOLDOUT_N_EDITS);
            size_t bytes = (size_t)len * S * S * 3;
            vs__free(cp);
            if (!(cp = vs__malloc(bytes))) {
                s = vs__err(VS_ERR_NOMEM, "held-out benchmark: out of memory");
                break;
            }
            memcpy(cp, fr + (size_t)start * S * S * 3, bytes);
            s = apply_edit(kind, cp, len, S, scratch, &r);
            if (!s) s = features_of(st, cp, len, R, D, &q[nq].x);
            if (!s) {
                q[nq].T = len;
                q[nq].source = nr;
                out->edits[kind]++;
                nq++;
            }
        }
        vs_free(fr);
        if (!s) nr++;
        if (p.progress_fn) p.progress_fn((double)(v + 1), (double)n, p.progress_user);
    }
    if (!s && nr < 2) s = vs__err(VS_ERR_INVALID_ARG, "held-out benchmark: fewer than 2 of the %d held-out videos "
                                                      "could be decoded with 2 frames or more", n);
    if (!s && (!(sb = vs__malloc(sizeof(double) * (size_t)nq * nr)) || !(sm = vs__malloc(sizeof(double) * (size_t)nq * nr))))
        s = vs__err(VS_ERR_NOMEM, "held-out benchmark: out of memory");
    vs_simmodel *base = NULL;
    if (!s) s = vs_simmodel_builtin(&base, "visil_f");
    if (!s) s = score_all(base, p.n_threads, q, nq, ref, nr, R, D, sb);
    if (!s) s = score_all(model, p.n_threads, q, nq, ref, nr, R, D, sm);
    if (!s) s = metrics(sb, q, nq, nr, &out->uap_baseline, &out->map_baseline);
    if (!s) s = metrics(sm, q, nq, nr, &out->uap_model, &out->map_model);
    out->n_videos = nr;
    out->n_queries = nq;
    vs_simmodel_free(base);
    for (int i = 0; ref && i < nr; i++) vs__free(ref[i].x);
    for (int i = 0; q && i < nq; i++) vs__free(q[i].x);
    vs__free(ref);
    vs__free(q);
    vs__free(sb);
    vs__free(sm);
    vs__free(scratch);
    vs__free(cp);
    return s;
}
