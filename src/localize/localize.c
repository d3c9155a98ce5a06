/*
 * localize.c - copied segments of a pair from its frame-to-frame similarity matrix
 * (localize.h): an adaptive threshold between the matrix's background and its
 * peak (the upper half of its row maxima), then a local alignment (Smith-Waterman-like dynamic programming over
 * diagonal jumps of up to max_step frames on either axis and one-axis pause moves),
 * best path first, its box masked, repeated. Also the pair matrix the CLI aligns
 * (the model's frame-to-frame map, symmetric by default) and the clamping of
 * segment ends to the videos' durations.
 */
#include "vidsim/localize.h"

#include "core/internal.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

vs_localize_params vs_localize_default_params(void) {
    vs_localize_params p;
    memset(&p, 0, sizeof p);
    p.alpha = 0.2f;
    p.min_sim = -1.0f;
    p.max_step = 3;
    p.gap_penalty = 0.1f;
    p.pause_penalty = 0.3f;
    p.max_segments = 4;
    p.min_ratio = 0.3f;
    p.min_cells = 2;
    p.grow_alpha = 0.05f;
    p.grow_tol = 0.1f;
    p.trim_pauses = 3;
    return p;
}

/* k-th smallest of v[0..n) (v is reordered): Hoare's selection. */
static float select_kth(float *v, long n, long k) {
    long lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return v[k];
    }
    return v[k];
}

/* Peak level of a matrix: the mean of the upper half of its row maxima (the rows
 * that hold the copy in a partial copy of at least half the query are all there;
 * a single bright cell does not set it). tmp: T floats of scratch. */
static float row_peak(const float *S, int T, int U, float *tmp) {
    int n = 0;
    for (int i = 0; i < T; i++) {
        float m = -FLT_MAX;
        for (int j = 0; j < U; j++) {
            float v = S[(long)i * U + j];
            if (isfinite(v) && v > m) m = v;
        }
        if (m > -FLT_MAX) tmp[n++] = m;
    }
    if (!n) return NAN;
    int h = (n + 1) / 2;
    double sum = 0;
    for (int k = 0; k < h; k++) sum += select_kth(tmp, n, n - 1 - k);
    return (float)(sum / h);
}

/* End k of a path (cells pi/pj, walked towards `other` in direction d) after
 * dropping a run of one-axis moves there, if that run has at least `min_run` moves
 * (0 = never trim). */
static int trim_run(const int *pi, const int *pj, int k, int other, int d, int min_run) {
    if (min_run < 1) return k;
    int n = 0, m = k;
    if (m != other && pi[m] == pi[m + d])
        while (m != other && pi[m] == pi[m + d]) m += d, n++;
    else if (m != other && pj[m] == pj[m + d])
        while (m != other && pj[m] == pj[m + d]) m += d, n++;
    return n >= min_run ? m : k;
}

#define MASKED (-FLT_MAX)

/* Grow a path's box at both ends along its mean slope while the cell on the line
 * (or a neighbour of it on the ref axis) keeps S above tg, is within tol of its
 * row's maximum (the query frame matches nothing else in the ref better) and is
 * not masked by an earlier segment: copy frames just under the alignment threshold
 * (weak frames at a cut, a fade, a heavily edited stretch) join the box, while
 * unrelated footage, whose best match lies anywhere, stops it. */
static void grow(const float *S, const float *Z, const float *rowmax, float tol, int T, int U, int *q0, int *r0,
                 int *q1, int *r1, float tg, int *cells, double *sum) {
    double slope = (double)(*r1 - *r0 + 1) / (double)(*q1 - *q0 + 1);
    if (slope < 0.25) slope = 0.25;
    if (slope > 4) slope = 4;
    for (int d = -1; d <= 1; d += 2) {
        double j = d > 0 ? *r1 : *r0;
        int i = d > 0 ? *q1 : *q0;
        for (;;) {
            int ni = i + d;
            double nj = j + d * slope;
            if (ni < 0 || ni >= T) break;
            int c = (int)lround(nj), bestj = -1;
            float best = tg;
            for (int jj = c - 1; jj <= c + 1; jj++) {
                if (jj < 0 || jj >= U || Z[(long)ni * U + jj] == MASKED) continue;
                float v = S[(long)ni * U + jj];
                if (isfinite(v) && v > best) {
                    best = v;
                    bestj = jj;
                }
            }
            /* the frame's match must be (near) its best match anywhere in the ref */
            if (bestj < 0 || best < rowmax[ni] - tol) break;
            i = ni;
            j = nj;
            (*cells)++;
            *sum += best;
            if (d > 0) {
                *q1 = i;
                if (bestj > *r1) *r1 = bestj;
            } else {
                *q0 = i;
                if (bestj < *r0) *r0 = bestj;
            }
        }
    }
}


/* One alignment pass over Z (rewards; MASKED cells are unusable). H and P are
 * T*U scratch. Returns the best end cell in *bi,*bj and its score, or -FLT_MAX when
 * no usable cell exists. P[i*U+j] = di*16+dj of the predecessor move, 0 = start. */
static float align(const float *Z, float *H, uint8_t *P, int T, int U, int G, float gap, float pause,
                   int *bi, int *bj) {
    float best = -FLT_MAX;
    *bi = *bj = -1;
    for (int i = 0; i < T; i++) {
        for (int j = 0; j < U; j++) {
            long c = (long)i * U + j;
            float z = Z[c];
            if (z == MASKED) {
                H[c] = MASKED;
                P[c] = 0;
                continue;
            }
            float prev = 0.0f;
            uint8_t mv = 0;
            for (int di = 1; di <= G && di <= i; di++)
                for (int dj = 1; dj <= G && dj <= j; dj++) {
                    float h = H[(long)(i - di) * U + (j - dj)];
                    if (h == MASKED) continue;
                    h -= gap * (float)(di - 1 + dj - 1);
                    if (h > prev) {
                        prev = h;
                        mv = (uint8_t)(di * 16 + dj);
                    }
                }
            if (i > 0) {
                float h = H[c - U];
                if (h != MASKED && h - pause > prev) {
                    prev = h - pause;
                    mv = 1 * 16 + 0;
                }
            }
            if (j > 0) {
                float h = H[c - 1];
                if (h != MASKED && h - pause > prev) {
                    prev = h - pause;
                    mv = 0 * 16 + 1;
                }
            }
            H[c] = z + prev;
            P[c] = mv;
            if (H[c] > best) {
                best = H[c];
                *bi = i;
                *bj = j;
            }
        }
    }
    return best;
}

vs_status vs_localize(vs_segment **segs, int *n, const float *S, int T, int U, const float *q_times,
                      double q_step, const float *r_times, double r_step, const vs_localize_params *pp) {
    if (!segs || !n) return vs__err(VS_ERR_INVALID_ARG, "localize: NULL output");
    *segs = NULL;
    *n = 0;
    if (T < 0 || U < 0) return vs__err(VS_ERR_INVALID_ARG, "localize: negative size %d x %d", T, U);
    if (!(q_step > 0) || !(r_step > 0) || !isfinite(q_step) || !isfinite(r_step))
        return vs__err(VS_ERR_INVALID_ARG, "localize: frame steps must be positive (%g, %g)", q_step, r_step);
    if (T == 0 || U == 0) return VS_OK;
    if (!S) return vs__err(VS_ERR_INVALID_ARG, "localize: NULL matrix");
    vs_localize_params p = pp ? *pp : vs_localize_default_params();
    if (!(p.alpha >= 0 && p.alpha <= 1)) return vs__err(VS_ERR_INVALID_ARG, "localize: alpha %g not in [0,1]", p.alpha);
    if (p.max_step < 1) p.max_step = 1;
    if (p.max_step > 15) p.max_step = 15; /* the move code packs di, dj in 4 bits */
    if (p.max_segments < 1) p.max_segments = 1;
    if (!(p.gap_penalty >= 0)) p.gap_penalty = 0;
    if (!(p.pause_penalty >= 0)) p.pause_penalty = 0;
    const long N = (long)T * U;

    /* background (median of the finite cells) and peak (mean of the upper half of the row maxima) */
    float *Z = vs__malloc(sizeof(float) * (size_t)N);
    float *H = vs__malloc(sizeof(float) * (size_t)N);
    uint8_t *P = vs__malloc((size_t)N);
    vs_segment *out = vs__calloc((size_t)p.max_segments, sizeof *out);
    int *pi = vs__malloc(sizeof(int) * ((size_t)T + U)), *pj = vs__malloc(sizeof(int) * ((size_t)T + U));
    float *rowmax = vs__malloc(sizeof(float) * (size_t)T);
    if (!Z || !H || !P || !out || !pi || !pj || !rowmax) {
        vs__free(rowmax);
        vs__free(pi);
        vs__free(pj);
        vs__free(Z);
        vs__free(H);
        vs__free(P);
        vs__free(out);
        return vs__err(VS_ERR_NOMEM, "localize: out of memory for a %d x %d matrix", T, U);
    }
    long nf = 0;
    for (long c = 0; c < N; c++)
        if (isfinite(S[c])) Z[nf++] = S[c];
    int nseg = 0;
    if (nf > 0) {
        float med = select_kth(Z, nf, nf / 2);
        float peak = row_peak(S, T, U, H);
        float spread = peak - med;
        if (spread > 1e-6f) {
            for (int i = 0; i < T; i++) {
                float m = -FLT_MAX;
                for (int j = 0; j < U; j++) {
                    float v = S[(long)i * U + j];
                    if (isfinite(v) && v > m) m = v;
                }
                rowmax[i] = m;
            }
            float theta = med + p.alpha * spread;
            if (theta < p.min_sim) theta = p.min_sim;
            for (long c = 0; c < N; c++) Z[c] = isfinite(S[c]) ? S[c] - theta : -spread;
            float gap = p.gap_penalty * spread, pause = p.pause_penalty * spread, first = 0.0f;
            /* each pass masks at least one cell; short paths skipped count as tries */
            for (int tries = 0; nseg < p.max_segments && tries < 4 * p.max_segments; tries++) {
                int bi, bj;
                float best = align(Z, H, P, T, U, p.max_step, gap, pause, &bi, &bj);
                if (bi < 0 || !(best > 0.0f)) break;
                if (nseg > 0 && best < p.min_ratio * first) break;
                /* back along the path (cells from its end to its start) */
                int len = 0;
                for (int i = bi, j = bj;;) {
                    pi[len] = i;
                    pj[len++] = j;
                    uint8_t mv = P[(long)i * U + j];
                    if (!mv) break;
                    i -= mv >> 4;
                    j -= mv & 15;
                }
                /* mask the whole path's box, so that no later pass finds it again */
                for (int a = pi[len - 1]; a <= bi; a++)
                    for (int b = pj[len - 1]; b <= bj; b++) Z[(long)a * U + b] = MASKED;
                /* a copy starts and ends where both videos move: trim the run of
                 * one-axis (pause) moves at each end, which in a static scene would
                 * stretch the box along the other video (one run only: a zigzag of
                 * pauses inside the path is diagonal progress and stays) */
                int e = 0, b0 = len - 1;
                e = trim_run(pi, pj, e, b0, +1, p.trim_pauses);
                b0 = trim_run(pi, pj, b0, e, -1, p.trim_pauses);
                int q0 = pi[b0], r0 = pj[b0], q1 = pi[e], r1 = pj[e], cells = b0 - e + 1;
                double sum = 0.0;
                for (int k = e; k <= b0; k++) {
                    float v = S[(long)pi[k] * U + pj[k]];
                    if (isfinite(v)) sum += v;
                }
                if (p.grow_alpha >= 0.0f) {
                    float tg = med + p.grow_alpha * spread;
                    grow(S, Z, rowmax, p.grow_tol * spread, T, U, &q0, &r0, &q1, &r1, tg, &cells, &sum);
                }
                if (nseg > 0 && cells < p.min_cells) continue;
                if (nseg == 0) first = best;
                vs_segment *s = &out[nseg++];
                s->q0 = q0;
                s->q1 = q1;
                s->r0 = r0;
                s->r1 = r1;
                s->n_cells = cells;
                s->strength = best;
                s->mean_sim = (float)(sum / cells);
                float rel = first > 0 ? best / first : 1.0f;
                s->score = s->mean_sim * (rel < 1.0f ? rel : 1.0f);
                s->query_start = q_times ? q_times[q0] : q0 * q_step;
                s->query_end = (q_times ? q_times[q1] : q1 * q_step) + q_step;
                s->ref_start = r_times ? r_times[r0] : r0 * r_step;
                s->ref_end = (r_times ? r_times[r1] : r1 * r_step) + r_step;
            }
        }
    }
    vs__free(Z);
    vs__free(H);
    vs__free(P);
    vs__free(pi);
    vs__free(pj);
    vs__free(rowmax);
    if (nseg == 0) {
        vs__free(out);
        return VS_OK;
    }
    /* hand back a block the caller frees with free() */
    vs_segment *res = malloc(sizeof *res * (size_t)nseg);
    if (!res) {
        vs__free(out);
        return vs__err(VS_ERR_NOMEM, "localize: out of memory");
    }
    memcpy(res, out, sizeof *res * (size_t)nseg);
    vs__free(out);
    *segs = res;
    *n = nseg;
    return VS_OK;
}

void vs_segments_clamp(vs_segment *segs, int n, double q_duration, double r_duration) {
    for (int k = 0; k < n; k++) {
        vs_segment *s = &segs[k];
        if (q_duration > 0 && s->query_end > q_duration) s->query_end = q_duration;
        if (r_duration > 0 && s->ref_end > r_duration) s->ref_end = r_duration;
        if (s->query_end < s->query_start) s->query_end = s->query_start;
        if (s->ref_end < s->ref_start) s->ref_end = s->ref_start;
    }
}

vs_status vs_localize_pair_matrix(vs_simmodel_state *st, float *out, const float *q, int T,
                                  const float *r, int U, int R, int D, int sym) {
    if (!st || !out) return vs__err(VS_ERR_INVALID_ARG, "localize: NULL state or output");
    return sym ? vs_simmodel_f2f_sym(st, out, q, T, r, U, R, D) : vs_simmodel_f2f(st, out, q, T, r, U, R, D);
}

void vs_segments_rescore(vs_segment *segs, int n, float pair_score) {
    if (n < 1) return;
    float first = segs[0].strength;
    for (int k = 0; k < n; k++) {
        float rel = first > 0 && segs[k].strength < first ? segs[k].strength / first : 1.0f;
        segs[k].score = pair_score * rel;
    }
}

/* Segments of a pair's matrix S [q->T, r->T] in seconds: vs_localize with the two
 * videos' sample times and steps, ends clamped to their durations, and (unless
 * pair_score is NaN) rescored by pair_score. */
static vs_status localize_pair(vs_segment **segs, int *n, const float *S, const vs_loc_video *q,
                               const vs_loc_video *r, float pair_score, const vs_localize_params *p) {
    double qs = q->fps > 0 ? 1.0 / q->fps : 1.0, rs = r->fps > 0 ? 1.0 / r->fps : 1.0;
    vs_status s = vs_localize(segs, n, S, q->T, r->T, q->times, qs, r->times, rs, p);
    if (s != VS_OK) return s;
    vs_segments_clamp(*segs, *n, q->duration, r->duration);
    if (pair_score == pair_score) vs_segments_rescore(*segs, *n, pair_score);
    return VS_OK;
}

vs_status vs_localize_videos(vs_segment **segs, int *n, vs_simmodel_state *st, const vs_loc_video *q,
                             const vs_loc_video *r, int R, int D, int sym, float pair_score,
                             const vs_localize_params *p) {
    if (!segs || !n || !q || !r) return vs__err(VS_ERR_INVALID_ARG, "localize: NULL argument");
    *segs = NULL;
    *n = 0;
    if (q->T < 1 || r->T < 1) return VS_OK; /* nothing to align */
    float *S = vs__malloc(sizeof(float) * (size_t)q->T * r->T);
    if (!S) return vs__err(VS_ERR_NOMEM, "localize: out of memory for a %d x %d matrix", q->T, r->T);
    vs_status s = vs_localize_pair_matrix(st, S, q->x, q->T, r->x, r->T, R, D, sym);
    if (s == VS_OK) s = localize_pair(segs, n, S, q, r, pair_score, p);
    vs__free(S);
    return s;
}

vs_status vs_localize_search(vs_simmodel_state *st, const vs_simmodel *m, const vs_loc_video *q,
                             const vs_loc_video *targets, int n, int R, int D, const vs_localize_params *p,
                             float *sims, vs_segment **segs, int *nsegs) {
    if (!st || !m || !q || (n > 0 && (!targets || !sims || !segs || !nsegs)))
        return vs__err(VS_ERR_INVALID_ARG, "localize: NULL argument");
    for (int k = 0; k < n; k++) {
        segs[k] = NULL;
        nsegs[k] = 0;
    }
    if (strcmp(vs_simmodel_kind(m), "visil_f") != 0)
        return vs__err(VS_ERR_UNSUPPORTED, "localize: the fused search path is for visil_f, not %s",
                       vs_simmodel_kind(m));
    if (q->T < 1) return vs__err(VS_ERR_INVALID_ARG, "simmodel: empty query");
    int Umax = 0;
    for (int k = 0; k < n; k++) {
        if (targets[k].T < 1 || !targets[k].x) return vs__err(VS_ERR_INVALID_ARG, "simmodel: target %d is empty", k);
        if (targets[k].T > Umax) Umax = targets[k].T;
    }
    float *A = vs__malloc(sizeof(float) * (size_t)q->T * (Umax ? Umax : 1));
    float *Bt = vs__malloc(sizeof(float) * (size_t)q->T * (Umax ? Umax : 1));
    if (!A || !Bt) {
        vs__free(A);
        vs__free(Bt);
        return vs__err(VS_ERR_NOMEM, "localize: out of memory for %d x %d maps", q->T, Umax);
    }
    vs_status s = VS_OK;
    for (int k = 0; k < n && s == VS_OK; k++) {
        const vs_loc_video *r = &targets[k];
        int U = r->T;
        s = vs_simmodel_f2f_both(st, A, Bt, q->x, q->T, r->x, U, R, D);
        if (s != VS_OK) break;
        sims[k] = 0.5f * (vs_simmodel_state_chamfer(st, A, q->T, U, 0, q->lev, r->lev) +
                          vs_simmodel_state_chamfer(st, Bt, q->T, U, 1, q->lev, r->lev));
        for (long c = 0; c < (long)q->T * U; c++) A[c] = 0.5f * (A[c] + Bt[c]);
        s = localize_pair(&segs[k], &nsegs[k], A, q, r, sims[k], p);
    }
    vs__free(A);
    vs__free(Bt);
    if (s != VS_OK)
        for (int k = 0; k < n; k++) {
            free(segs[k]);
            segs[k] = NULL;
            nsegs[k] = 0;
        }
    return s;
}
