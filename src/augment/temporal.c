/*
 * temporal.c - clip sampling and the temporal transformations of S2VS
 * (datasets/augmentations.py random_temporal_crop, transforms/temporal_trans.py), on
 * index lists instead of frames. Replaced TSD frames become VS_AUG_BLACK /
 * VS_AUG_NOISE codes. Semantics follow the reference exactly, including the TSD
 * "0 < sum(codes) < #segments" test on codes {0,1,2}; the random numbers are ours
 * (xoshiro), not numpy's, so the draws differ but their distributions do not.
 */
#include "augment/augment_internal.h"

#include <string.h>

vs_status vs_aug_temporal_crop(int *out, int size, const int *in, int n_in, vs_aug_rng *r) {
    if (!out || !in || n_in < 1 || size < 1)
        return vs__err(VS_ERR_INVALID_ARG, "temporal crop: need n_in >= 1 and size >= 1 (got %d, %d)",
                       n_in, size);
    /* doubling by self-concatenation: position k of the doubled list is in[k % n_in] */
    long len = n_in;
    while (len < size) len *= 2;
    long span = len - size;
    int off = vs_aug_rng_below(r, span > 1 ? (int)span : 1);
    for (int t = 0; t < size; t++) out[t] = in[(off + t) % n_in];
    return VS_OK;
}

vs_status vs_aug_window(int *out, int size, int n_frames, vs_aug_rng *r) {
    if (n_frames < 1) return vs__err(VS_ERR_INVALID_ARG, "window: video has %d frames", n_frames);
    if (size < 1 || size > VS_AUG_WINDOW)
        return vs__err(VS_ERR_INVALID_ARG, "window: size %d outside 1..%d", size, VS_AUG_WINDOW);
    /* loader: more than `size` (64) frames -> start ~ randint(len - size), else all frames;
     * then the doubling crop. Both are the same rule as vs_aug_temporal_crop on 0..n-1. */
    int off = n_frames > size ? vs_aug_rng_below(r, n_frames - size) : 0;
    if (n_frames > size) {
        for (int t = 0; t < size; t++) out[t] = off + t;
        return VS_OK;
    }
    long len = n_frames;
    while (len < size) len *= 2;
    long span = len - size;
    off = vs_aug_rng_below(r, span > 1 ? (int)span : 1);
    for (int t = 0; t < size; t++) out[t] = (off + t) % n_frames;
    return VS_OK;
}

int vs__aug_tsd_apply(int *out, const int *in, int n, int w, const int *order, const int *code,
                      const int *fill) {
    if (n < w) w = n; /* a single segment */
    int n_seg = n / w;
    int sum = 0;
    for (int s = 0; s < n_seg; s++) sum += code[s];
    int drop = sum > 0 && sum < n_seg;
    int m = 0;
    for (int k = 0; k < n_seg; k++) {
        int s = order ? order[k] : k;
        int c = drop ? code[k] : 0; /* codes belong to the (shuffled) row k */
        if (c == 1) continue;
        for (int f = 0; f < w; f++) {
            int pos = s * w + f;
            out[m++] = c == 2 ? fill[pos] : in[pos];
        }
    }
    return m;
}

int vs__aug_fast(int *out, const int *in, int n, int k) {
    int m = 0;
    for (int i = 0; i < n; i += k) out[m++] = in[i];
    return m;
}

int vs__aug_slow(int *out, const int *in, int n) {
    for (int i = 0; i < n; i++) out[2 * i] = out[2 * i + 1] = in[i];
    return 2 * n;
}

int vs__aug_reverse(int *out, const int *in, int n) {
    for (int i = 0; i < n; i++) out[i] = in[n - 1 - i];
    return n;
}

int vs__aug_pause(int *out, const int *in, int n, int start, int dur) {
    /* np.insert(idx, start, [idx[start]] * dur) */
    int m = 0;
    for (int i = 0; i < start; i++) out[m++] = in[i];
    for (int i = 0; i < dur; i++) out[m++] = in[start];
    for (int i = start; i < n; i++) out[m++] = in[i];
    return m;
}

/* TemporalShuffleDropout(window_range (4,16), p_shuffle .5, p_dropout .3, p_content .5). */
static int tsd_random(int *out, const int *in, int n, vs_aug_rng *r) {
    int order[VS_AUG_WINDOW], code[VS_AUG_WINDOW], fill[VS_AUG_WINDOW];
    int w = 4 + vs_aug_rng_below(r, 12); /* randint(4, 16) */
    int ww = n < w ? n : w;
    int n_seg = n / ww;
    for (int s = 0; s < n_seg; s++) order[s] = s;
    if (vs_aug_rng_uniform(r) < 0.5) /* shuffle the segment order (Fisher-Yates) */
        for (int s = n_seg - 1; s > 0; s--) {
            int j = vs_aug_rng_below(r, s + 1), t = order[s];
            order[s] = order[j];
            order[j] = t;
        }
    /* dropout mask: (rand < 0.3) * (1 + (rand > 0.5)); numpy draws all of the first
     * vector, then all of the second */
    for (int s = 0; s < n_seg; s++) code[s] = vs_aug_rng_uniform(r) < 0.3;
    for (int s = 0; s < n_seg; s++) code[s] *= 1 + (vs_aug_rng_uniform(r) > 0.5);
    int sum = 0;
    for (int s = 0; s < n_seg; s++) sum += code[s];
    if (sum > 0 && sum < n_seg) /* content of code-2 segments, frame by frame in row order */
        for (int k = 0; k < n_seg; k++)
            if (code[k] == 2)
                for (int f = 0; f < ww; f++)
                    fill[order[k] * ww + f] = vs_aug_rng_uniform(r) > 0.5 ? VS_AUG_BLACK : VS_AUG_NOISE;
    return vs__aug_tsd_apply(out, in, n, w, order, code, fill);
}

vs_status vs_aug_temporal(int *out, int *n_out, vs_aug_tt *kind, const int *in, int n_in,
                          int clip, vs_aug_rng *r) {
    if (!out || !n_out || !in || !r || n_in < 1 || n_in > VS_AUG_WINDOW || clip < 4 ||
        clip > VS_AUG_CLIP)
        return vs__err(VS_ERR_INVALID_ARG,
                       "temporal transformation: need 1 <= n_in <= %d and 4 <= clip <= %d (got %d, %d)",
                       VS_AUG_WINDOW, VS_AUG_CLIP, n_in, clip);
    /* numpy choice(6, p=[.5,.1,.1,.1,.1,.1]): inverse CDF of one uniform */
    static const double cdf[VS_AUG_TT_COUNT] = {0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
    double u = vs_aug_rng_uniform(r);
    int t = 0;
    while (t < VS_AUG_TT_COUNT - 1 && u >= cdf[t]) t++;
    int m;
    switch ((vs_aug_tt)t) {
    case VS_AUG_TT_TSD: m = tsd_random(out, in, n_in, r); break;
    case VS_AUG_TT_FAST: m = vs__aug_fast(out, in, n_in, 2 + vs_aug_rng_below(r, 2)); break;
    case VS_AUG_TT_SLOW: m = vs__aug_slow(out, in, n_in); break;
    case VS_AUG_TT_REVERSE: m = vs__aug_reverse(out, in, n_in); break;
    case VS_AUG_TT_PAUSE:
        if (n_in < 2) { /* randint(0) raises in the reference; keep the clip as is */
            memcpy(out, in, sizeof(int) * (size_t)n_in);
            m = n_in;
            break;
        }
        {
            int start = vs_aug_rng_below(r, n_in - 1);
            int dur = vs_aug_rng_below(r, clip / 4);
            m = vs__aug_pause(out, in, n_in, start, dur);
        }
        break;
    default:
        memcpy(out, in, sizeof(int) * (size_t)n_in);
        m = n_in;
        break;
    }
    *n_out = m;
    if (kind) *kind = (vs_aug_tt)t;
    return VS_OK;
}
