/*
 * losses.c - the 3D-CSL-F losses and similarity, forward and backward:
 *   - PredMAE: mean (1 - cos) or MSE between predicted and frozen region features;
 *   - row-wise L2 normalisation (the clip vector);
 *   - top-k Chamfer similarity of two clip sets (3D-CSL's `--topk-cs`, k = 3), also the
 *     public vs_clip_similarity;
 *   - the FCS loss (reconstruction, docs/clip.md): a triplet hinge on top-k Chamfer
 *     similarities of multi-clip segments with the hardest in-batch negative, plus the
 *     same hinge on single clips.
 * Hinges and maxima are piecewise linear: the gradient is the one of the active piece
 * (ties go to the first index), which is what autograd does.
 */
#include "clip/clip_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ PredMAE */

double vs__predmae_loss(float *dpred, const float *pred, const float *tgt, long n, int D,
                        int mse) {
    if (n <= 0) return 0.0;
    double L = 0;
    if (mse) {
        double sc = 1.0 / ((double)n * D);
        for (long i = 0; i < n * D; i++) {
            double e = (double)pred[i] - tgt[i];
            L += e * e;
            if (dpred) dpred[i] += (float)(2.0 * e * sc);
        }
        return L * sc;
    }
    for (long i = 0; i < n; i++) {
        const float *p = pred + i * D, *t = tgt + i * D;
        double pp = 0, tt = 0, pt = 0;
        for (int k = 0; k < D; k++) {
            pp += (double)p[k] * p[k];
            tt += (double)t[k] * t[k];
            pt += (double)p[k] * t[k];
        }
        double np = sqrt(pp) + 1e-12, nt = sqrt(tt) + 1e-12;
        double cs = pt / (np * nt);
        L += 1.0 - cs;
        if (dpred) {
            /* d(-cos)/dp = -(t / (|p||t|) - cos * p / |p|^2) / n */
            double a = 1.0 / (np * nt * (double)n), b = cs / (np * np * (double)n);
            float *dp = dpred + i * D;
            for (int k = 0; k < D; k++) dp[k] += (float)(-(a * t[k]) + b * p[k]);
        }
    }
    return L / (double)n;
}

/* ------------------------------------------------------------------ L2 normalisation */

void vs__l2norm_forward(float *out, float *norms, const float *x, long n, int d) {
    for (long i = 0; i < n; i++) {
        double ss = 0;
        for (int k = 0; k < d; k++) ss += (double)x[i * d + k] * x[i * d + k];
        double nr = sqrt(ss) + 1e-12;
        norms[i] = (float)nr;
        for (int k = 0; k < d; k++) out[i * d + k] = (float)(x[i * d + k] / nr);
    }
}

void vs__l2norm_backward(float *dx, const float *dout, const float *out, const float *norms,
                         long n, int d) {
    for (long i = 0; i < n; i++) {
        const float *o = out + i * d, *g = dout + i * d;
        double dot = 0;
        for (int k = 0; k < d; k++) dot += (double)o[k] * g[k];
        double inv = 1.0 / norms[i];
        for (int k = 0; k < d; k++) dx[i * d + k] += (float)((g[k] - o[k] * dot) * inv);
    }
}

/* ------------------------------------------------------------------ top-k Chamfer */

static float dotf(const float *a, const float *b, int d) {
    float s = 0;
    for (int k = 0; k < d; k++) s += a[k] * b[k];
    return s;
}

/* Row maxima m[i] = max_j <q_i, t_j> and their argmax (ties: lower index).
 * Returns k' = min(k, nq). */
#define TOPK_MAX 64
static int chamfer_rows(float *m, int *arg, const float *q, int nq, const float *t, int nt,
                        int d, int k) {
    for (int i = 0; i < nq; i++) {
        float best = -FLT_MAX;
        int bj = 0;
        for (int j = 0; j < nt; j++) {
            float s = dotf(q + (size_t)i * d, t + (size_t)j * d, d);
            if (s > best) best = s, bj = j;
        }
        m[i] = best;
        arg[i] = bj;
    }
    return k < nq ? k : nq;
}

/* Indices of the kk largest of m[0..n) into top (selection, O(n kk); ties: lower index). */
static void select_top(int *top, const float *m, int n, int kk) {
    for (int s = 0; s < kk; s++) {
        int bi = -1;
        for (int i = 0; i < n; i++) {
            int used = 0;
            for (int u = 0; u < s; u++) used |= top[u] == i;
            if (used) continue;
            if (bi < 0 || m[i] > m[bi]) bi = i;
        }
        top[s] = bi;
    }
}

float vs__topk_chamfer(const float *q, int nq, const float *t, int nt, int d, int k) {
    if (nq <= 0 || nt <= 0 || k <= 0) return 0.0f;
    if (k > TOPK_MAX) k = TOPK_MAX;
    int kk = k < nq ? k : nq;
    /* keep the kk best row maxima in a small sorted list */
    float best[TOPK_MAX];
    int nb = 0;
    for (int i = 0; i < nq; i++) {
        const float *qi = q + (size_t)i * d;
        float mx = -FLT_MAX;
        for (int j = 0; j < nt; j++) {
            float s = dotf(qi, t + (size_t)j * d, d);
            if (s > mx) mx = s;
        }
        if (nb < kk) {
            int p = nb++;
            while (p > 0 && best[p - 1] < mx) best[p] = best[p - 1], p--;
            best[p] = mx;
        } else if (mx > best[kk - 1]) {
            int p = kk - 1;
            while (p > 0 && best[p - 1] < mx) best[p] = best[p - 1], p--;
            best[p] = mx;
        }
    }
    double s = 0;
    for (int i = 0; i < kk; i++) s += best[i];
    return (float)(s / kk);
}

void vs__topk_chamfer_backward(float *dq, float *dt, float g, const float *q, int nq,
                               const float *t, int nt, int d, int k) {
    if (nq <= 0 || nt <= 0 || k <= 0) return;
    if (k > TOPK_MAX) k = TOPK_MAX;
    float mbuf[256];
    int abuf[256];
    float *m = nq <= 256 ? mbuf : vs__malloc(sizeof(float) * (size_t)nq);
    int *arg = nq <= 256 ? abuf : vs__malloc(sizeof(int) * (size_t)nq);
    if (!m || !arg) { /* training batches never get here (nq <= 256) */
        if (m != mbuf) vs__free(m);
        if (arg != abuf) vs__free(arg);
        return;
    }
    int top[TOPK_MAX];
    int kk = chamfer_rows(m, arg, q, nq, t, nt, d, k);
    select_top(top, m, nq, kk);
    float w = g / (float)kk;
    for (int s = 0; s < kk; s++) {
        int i = top[s], j = arg[i];
        for (int c = 0; c < d; c++) {
            if (dq) dq[(size_t)i * d + c] += w * t[(size_t)j * d + c];
            if (dt) dt[(size_t)j * d + c] += w * q[(size_t)i * d + c];
        }
    }
    if (m != mbuf) vs__free(m);
    if (arg != abuf) vs__free(arg);
}

float vs_clip_similarity(const float *q, int nq, const float *t, int nt, int d, int k) {
    return vs__topk_chamfer(q, nq, t, nt, d, k);
}

/* ------------------------------------------------------------------ FCS */

double vs__fcs_loss(float *dV, const float *V, const int *off, const int *vid, int K, int d,
                    float margin, float clip_weight, double *seg_loss, double *clip_loss) {
    const int k = VS_CLIP_TOPK;
    double Ls = 0, Lc = 0;
    /* segment term */
    for (int i = 0; i < K; i++) {
        const float *A = V + (size_t)off[i] * d, *P = V + (size_t)off[K + i] * d;
        int na = off[i + 1] - off[i], np = off[K + i + 1] - off[K + i];
        float sp = vs__topk_chamfer(A, na, P, np, d, k);
        int sn = -1;
        float best = -FLT_MAX;
        for (int s = 0; s < 2 * K; s++) {
            if (vid[s] == vid[i]) continue;
            float v = vs__topk_chamfer(A, na, V + (size_t)off[s] * d, off[s + 1] - off[s], d, k);
            if (v > best) best = v, sn = s;
        }
        if (sn < 0) continue;
        double l = margin + best - sp;
        if (l <= 0) continue;
        Ls += l;
        if (dV) {
            float g = 1.0f / (float)K;
            vs__topk_chamfer_backward(dV + (size_t)off[i] * d, dV + (size_t)off[sn] * d, g, A, na,
                                      V + (size_t)off[sn] * d, off[sn + 1] - off[sn], d, k);
            vs__topk_chamfer_backward(dV + (size_t)off[i] * d, dV + (size_t)off[K + i] * d, -g, A,
                                      na, P, np, d, k);
        }
    }
    Ls /= K > 0 ? K : 1;
    /* single-clip term */
    long nA = off[K] - off[0];
    for (int i = 0; i < K && nA > 0; i++) {
        for (int c = off[i]; c < off[i + 1]; c++) {
            const float *a = V + (size_t)c * d;
            int pc = off[K + i] + (c - off[i]);
            float sp = dotf(a, V + (size_t)pc * d, d);
            float best = -FLT_MAX;
            int bn = -1;
            for (int s = 0; s < 2 * K; s++) {
                if (vid[s] == vid[i]) continue;
                for (int r = off[s]; r < off[s + 1]; r++) {
                    float v = dotf(a, V + (size_t)r * d, d);
                    if (v > best) best = v, bn = r;
                }
            }
            if (bn < 0) continue;
            double l = margin + best - sp;
            if (l <= 0) continue;
            Lc += l;
            if (dV && clip_weight != 0) {
                float g = clip_weight / (float)nA;
                const float *p = V + (size_t)pc * d, *nv = V + (size_t)bn * d;
                float *da = dV + (size_t)c * d, *dp = dV + (size_t)pc * d, *dn = dV + (size_t)bn * d;
                for (int q = 0; q < d; q++) {
                    da[q] += g * (nv[q] - p[q]);
                    dn[q] += g * a[q];
                    dp[q] -= g * a[q];
                }
            }
        }
    }
    Lc /= nA > 0 ? (double)nA : 1.0;
    if (seg_loss) *seg_loss = Ls;
    if (clip_loss) *clip_loss = Lc;
    return Ls + clip_weight * Lc;
}
