/*
 * viv.c - video-in-video (S2VS transforms/video_in_video.py) on a batch of strong
 * clips, and the batch label matrix of TrainDataset.collate_fn: labels =
 * (L·Lᵀ > 0) with L = [I_B; L_viv]. Donor and host are always read from the
 * unmixed batch; the donor clip is resized bilinearly (torchvision Resize on the
 * tensor) into the box of a copy of the host.
 */
#include "augment/augment_internal.h"

#include <math.h>
#include <string.h>

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

vs_status vs_aug_viv_plan(vs_aug_viv *plan, int B, int size, double p, uint64_t seed, uint64_t key) {
    if (!plan || B < 1 || size < 1 || !(p >= 0 && p <= 1))
        return vs__err(VS_ERR_INVALID_ARG, "ViV plan: bad arguments (B %d, size %d, p %g)", B, size, p);
    vs_aug_rng r;
    vs_aug_rng_init(&r, seed, key);
    for (int i = 0; i < B; i++) {
        vs_aug_viv *v = &plan[i];
        memset(v, 0, sizeof(*v));
        v->host = -1;
        if (!(vs_aug_rng_uniform(&r) < p) || B < 2) continue;
        int j = vs_aug_rng_below(&r, B - 1); /* random.choice(range(B) - {i}) */
        if (j >= i) j++;
        double lam = 0.3 + 0.4 * vs_aug_rng_uniform(&r);
        double ratio = sqrt(1.0 - lam);
        int cut = (int)(size * ratio);
        int cy = vs_aug_rng_below(&r, size), cx = vs_aug_rng_below(&r, size);
        v->host = j;
        v->lambda = (float)lam;
        v->y0 = clampi(cy - cut / 2, 0, size);
        v->y1 = clampi(cy + cut / 2, 0, size);
        v->x0 = clampi(cx - cut / 2, 0, size);
        v->x1 = clampi(cx + cut / 2, 0, size);
    }
    return VS_OK;
}

vs_status vs_aug_viv_apply(uint8_t *out, const uint8_t *clips, const vs_aug_viv *plan, int B, int T,
                           int S, bool antialias) {
    if (!out || !clips || !plan || B < 1 || T < 1 || S < 1)
        return vs__err(VS_ERR_INVALID_ARG, "ViV: bad arguments");
    const size_t fb = (size_t)S * S * 3, cb = fb * (size_t)T;
    vs_status st = VS_OK;
    uint8_t *box = NULL;
    for (int i = 0; i < B; i++) {
        const vs_aug_viv *v = &plan[i];
        uint8_t *o = out + (size_t)i * cb;
        if (v->host < 0) {
            memcpy(o, clips + (size_t)i * cb, cb);
            continue;
        }
        if (v->host >= B || v->host == i || v->y0 < 0 || v->y1 > S || v->x0 < 0 || v->x1 > S ||
            v->y0 > v->y1 || v->x0 > v->x1) {
            st = vs__err(VS_ERR_INVALID_ARG, "ViV: plan entry %d (host %d, box %d..%d x %d..%d) is invalid",
                         i, v->host, v->y0, v->y1, v->x0, v->x1);
            break;
        }
        memcpy(o, clips + (size_t)v->host * cb, cb);
        const int bh = v->y1 - v->y0, bw = v->x1 - v->x0;
        if (bh < 1 || bw < 1) continue;
        if (!box && !(box = vs__malloc((size_t)S * S * 3))) {
            st = vs__err(VS_ERR_NOMEM, "ViV: out of memory");
            break;
        }
        vs_aug_box full = {0, 0, S, S};
        for (int t = 0; t < T; t++) {
            st = vs_aug_resized_crop(box, bh, bw, clips + (size_t)i * cb + (size_t)t * fb, S, S, full,
                                     antialias);
            if (st != VS_OK) goto out;
            for (int y = 0; y < bh; y++)
                memcpy(o + (size_t)t * fb + ((size_t)(v->y0 + y) * S + v->x0) * 3, box + (size_t)y * bw * 3,
                       (size_t)bw * 3);
        }
    }
out:
    vs__free(box);
    return st;
}

void vs_aug_viv_matrix(float *L_viv, const vs_aug_viv *plan, int B) {
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) L_viv[i * B + j] = i == j ? 1.0f : 0.0f;
    for (int i = 0; i < B; i++)
        if (plan[i].host >= 0 && plan[i].host < B) L_viv[i * B + plan[i].host] = plan[i].lambda;
}

vs_status vs_aug_labels(int32_t *labels, const float *L_viv, int B) {
    if (!labels || !L_viv || B < 1) return vs__err(VS_ERR_INVALID_ARG, "labels: bad arguments");
    const int N = 2 * B;
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) {
            /* row a of L: e_a for a < B (weak), L_viv[a-B] for strong clips */
            double dot = 0;
            for (int k = 0; k < B; k++) {
                double la = a < B ? (a == k) : L_viv[(a - B) * B + k];
                double lb = b < B ? (b == k) : L_viv[(b - B) * B + k];
                dot += la * lb;
            }
            labels[a * N + b] = dot > 0;
        }
    return VS_OK;
}
