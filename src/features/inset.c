/*
 * inset.c - picture-in-picture detection on grey probe pictures (include/vidsim/inset.h).
 *
 * 1. Persistent edges. At every pixel, the step across a vertical boundary is the
 *    2-pixel difference |p(x+1) - p(x-1)| (horizontal boundaries likewise); the pixel is
 *    an edge pixel when that step is at least edge_min in at least `persist` of the
 *    pictures (the (1 - persist) quantile over time), then widened by one pixel across
 *    the boundary (a scaled inset's border falls between pixels). With colour pictures
 *    (vs_inset_detect_rgb, colour_edges), the step is the largest of the grey one and
 *    those of R, G and B: a pasted video's border is a step in colour as often as in
 *    brightness (a grey copy in a colour host, two scenes of one brightness). By default
 *    (colour_edges 1) that is a later stage: steps 1-4 run again with colour steps only
 *    when they found no inset with grey ones, so that no grey inset is replaced, and
 *    with a stricter step 3: the correlation below colour_corr_max, and no still-host
 *    exception (colour steps are everywhere in natural footage, and a still outside is
 *    no evidence of another video: it is also the picture inside a pad).
 * 2. The rectangle. Every axis-aligned rectangle whose sides lie inside the picture and
 *    whose width and height are size_min..size_max of the picture's is scored by its
 *    weakest side: the fraction of that side's pixels that are edge pixels (prefix sums
 *    along each boundary line make each score O(1)). The best is the largest of the
 *    highest (nested rectangles tie: a border's two edges, the inset's own content
 *    boxes; the outermost is the inset), the first in raster order among equal areas.
 *    The search skips only rectangles that have a side (a column's coverage, the best
 *    top or bottom side starting at the left side's column) below the best so far, so
 *    it gives what the exhaustive search gives (vs__inset_rect, held to it by the tests);
 *    step 1's counts are taken once per stretch between segment ends and summed for
 *    each range of step 4 (about 4x faster than scoring every rectangle of every range).
 * 3. Independent change. An inset is another video: the mean absolute frame-to-frame
 *    change inside the rectangle and outside it are correlated below corr_max over
 *    time; with the pictures' times at uneven intervals, the partial correlation given the
 *    interval's length (probe pictures come at uneven intervals where the decoder skips
 *    frames that the sampling does not need, and a longer interval holds more change on
 *    both sides: a pattern the two share that says nothing about the content). Static
 *    structure of the host (a window, a screen, a caption box) moves and cuts with the
 *    host, and fails here. A still host passes too: when the outside
 *    changes on average at most static_max of what the inside changes, what it does
 *    change is coding noise, and that follows the inset (an encoder spends its bits
 *    where the picture moves), so its correlation says nothing. And the inside must move
 *    at all: its mean change at least inside_min grey levels a picture. A box whose
 *    inside stands still (a caption panel, a logo, a still picture, a whole still video)
 *    changes by nothing or by coding noise, its correlation with anything comes out
 *    near 0, and without this it passed as "independent".
 * 4. Part of the video (vs_inset_params.segments). When the whole video has no inset,
 *    the same three steps run on each segment between two segment ends (its start, its
 *    end and its strongest hard cuts: mean absolute picture change >= cut_min, ranked
 *    by how far the change stands above both neighbouring changes, so that the many
 *    large changes of fast motion do not crowd out the cuts; cut_prominence 0: by the
 *    change) that is at least seg_min of the video: an inset shown between two cuts (a
 *    picture-in-picture clip cut into other footage). The best side wins, then the
 *    longer segment; the view is then extracted from that span only (vs_inset.t0, t1).
 *
 * Prototyped in numpy on the dev draws; docs/hard_copies.md "The inset view" has the
 * measurements and what was tried instead (time windows, the least correlated of all
 * candidate rectangles: both found more rectangles in videos without an inset).
 */
#include "core/internal.h"
#include "vidsim/inset.h"
#include "features/inset_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

vs_inset_params vs_inset_default_params(void) {
    vs_inset_params p;
    memset(&p, 0, sizeof p);
    p.edge_min = 10;
    p.persist = 0.75f;
    p.side_min = 0.9f;
    p.size_min = 0.25f;
    p.size_max = 0.85f;
    p.corr_max = 0.6f;
    p.static_max = 0.2f;
    p.inside_min = 0.3f;
    p.min_pictures = 5;
    p.segments = 1;
    p.seg_cuts = 8;
    p.cut_min = 20;
    p.cut_prominence = 1;
    p.seg_min = 0.2f;
    p.seg_min_pictures = 10;
    p.colour_edges = 1;
    p.colour_corr_max = 0.4f;
    return p;
}

/* 1 when the steps from RGB pixel a to RGB pixel b are all below thr. */
static int rgb_below(const uint8_t *a, const uint8_t *b, int thr) {
    return abs(b[0] - a[0]) < thr && abs(b[1] - a[1]) < thr && abs(b[2] - a[2]) < thr;
}

/* Step 1's counts: adds to cv[y * (w-2) + j] (the vertical boundary at x = j + 1) and
 * ch[i * w + x] (the horizontal boundary at y = i + 1) the number of pictures [t0, t1)
 * where the step is below edge_min (in grey, and in R, G and B when rgb is not NULL). */
static void count_below(const uint8_t *pic, const uint8_t *rgb, int t0, int t1, int w, int h,
                        const vs_inset_params *p, int *cv, int *ch) {
    const int wv = w - 2, hh = h - 2;
    const int thr = (int)ceilf(p->edge_min);
    for (int t = t0; t < t1; t++) {
        const uint8_t *f = pic + (size_t)t * w * h, *c = rgb ? rgb + (size_t)t * w * h * 3 : NULL;
        for (int y = 0; y < h; y++)
            for (int j = 0; j < wv; j++) {
                int below = abs(f[y * w + j + 2] - f[y * w + j]) < thr;
                if (c && below) below = rgb_below(c + ((size_t)y * w + j) * 3, c + ((size_t)y * w + j + 2) * 3, thr);
                cv[y * wv + j] += below;
            }
        for (int i = 0; i < hh; i++)
            for (int x = 0; x < w; x++) {
                int below = abs(f[(i + 2) * w + x] - f[i * w + x]) < thr;
                if (c && below) below = rgb_below(c + ((size_t)i * w + x) * 3, c + ((size_t)(i + 2) * w + x) * 3, thr);
                ch[i * w + x] += below;
            }
    }
}

/* Edge maps of n pictures from their counts: ev[y * (w-2) + j], eh[i * w + x] are 1
 * where the step is persistent (widened by one across the boundary). */
static void edge_maps(const int *cv, const int *ch, int n, int w, int h, const vs_inset_params *p, uint8_t *ev,
                      uint8_t *eh) {
    const int wv = w - 2, hh = h - 2;
    /* The (1 - persist) quantile is >= thr when at most k values are below it. */
    const int k = (int)floor((1.0 - p->persist) * (n - 1));
    for (int y = 0; y < h; y++)
        for (int j = 0; j < wv; j++) {
            int on = 0;
            for (int d = -1; d <= 1 && !on; d++)
                if (j + d >= 0 && j + d < wv) on = cv[y * wv + j + d] <= k;
            ev[y * wv + j] = (uint8_t)on;
        }
    for (int i = 0; i < hh; i++)
        for (int x = 0; x < w; x++) {
            int on = 0;
            for (int d = -1; d <= 1 && !on; d++)
                if (i + d >= 0 && i + d < hh) on = ch[(i + d) * w + x] <= k;
            eh[i * w + x] = (uint8_t)on;
        }
}

/* Pearson correlation over the n - 1 frame-to-frame changes of the mean absolute change
 * inside [x0+1, x1-1) x [y0+1, y1-1) against the rest of the picture; 0 when either is
 * constant. With the pictures' times at uneven intervals (a decoder that skips frames the
 * sampling does not need, a variable frame rate; intervals that differ by a millisecond or
 * more), the partial correlation given the interval: what each change has in common with
 * the interval's length (a longer one holds more motion inside and outside alike; coding
 * noise does not grow with it) is taken out of both first, by least squares, so that
 * neither the one nor the other reads as change the two share. *still: the outside's mean
 * change over the inside's (-1 when the inside never changes); *moves: the inside's mean
 * change a picture. */
static float change_corr(const uint8_t *pic, const double *times, int n, int w, int h, int x0, int y0, int x1,
                         int y1, double *still, double *moves) {
    const int ix0 = x0 + 1, ix1 = x1 - 1, iy0 = y0 + 1, iy1 = y1 - 1;
    const double area = (double)(ix1 - ix0) * (iy1 - iy0), rest = (double)w * h - area;
    *still = -1;
    *moves = 0;
    if (area <= 0 || rest <= 0 || n < 3) return 0;
    double lo = INFINITY, hi = 0;
    for (int t = 1; times && t < n; t++) {
        const double dt = times[t] - times[t - 1];
        if (!(dt > 0)) times = NULL; /* not rising: no intervals to go by */
        lo = dt < lo ? dt : lo;
        hi = dt > hi ? dt : hi;
    }
    if (times && hi - lo < 1e-3) times = NULL; /* even: the plain correlation */
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, sd = 0, sdd = 0, sad = 0, sbd = 0;
    for (int t = 1; t < n; t++) {
        const uint8_t *f = pic + (size_t)t * w * h, *g = f - (size_t)w * h;
        long all = 0, in = 0;
        for (int y = 0; y < h; y++) {
            long row = 0, rin = 0;
            for (int x = 0; x < w; x++) {
                int d = abs(f[y * w + x] - g[y * w + x]);
                row += d;
                if (x >= ix0 && x < ix1) rin += d;
            }
            all += row;
            if (y >= iy0 && y < iy1) in += rin;
        }
        const double a = in / area, b = (all - in) / rest, dt = times ? times[t] - times[t - 1] : 0;
        sa += a;
        sb += b;
        saa += a * a;
        sbb += b * b;
        sab += a * b;
        sd += dt;
        sdd += dt * dt;
        sad += a * dt;
        sbd += b * dt;
    }
    if (sa > 0) *still = sb / sa;
    *moves = sa / (n - 1);
    const double m = n - 1;
    double va = saa - sa * sa / m, vb = sbb - sb * sb / m, cab = sab - sa * sb / m;
    const double vd = sdd - sd * sd / m;
    if (times && vd > 0) { /* the residuals of both after their least-squares line in dt */
        const double cad = sad - sa * sd / m, cbd = sbd - sb * sd / m, va0 = va, vb0 = vb;
        va -= cad * cad / vd;
        vb -= cbd * cbd / vd;
        cab -= cad * cbd / vd;
        if (va <= 1e-9 * va0 || vb <= 1e-9 * vb0) return 0; /* all in the intervals */
    }
    if (va <= 1e-9 * m || vb <= 1e-9 * m) return 0;
    return (float)(cab / sqrt(va * vb));
}

/* Step 2 on the edge maps ev, eh of w x h pictures (edge_maps): the best rectangle's
 * boundaries in r[0..3] (x0, y0, x1, y1: x in 1..w-2 is the vertical boundary of edge
 * column x-1, y in 1..h-2 the horizontal one of edge row y-1) and its weakest side's
 * coverage in *side; *side 0 and r zeros when no rectangle has edges on all four sides.
 * exhaustive 1 scores every rectangle (the reference); 0 skips only those with a side
 * that cannot reach the best so far, which gives the same result, ties and order
 * included (tests/unit/test_inset.c holds the two to each other). VS_ERR_NOMEM. */
vs_status vs__inset_rect(const uint8_t *ev, const uint8_t *eh, int w, int h, const vs_inset_params *p, int exhaustive,
                         int r[4], double *side) {
    const int wv = w - 2, hh = h - 2;
    r[0] = r[1] = r[2] = r[3] = 0;
    *side = 0;
    /* prefix sums: pv[(y) * wv + j] = edges in column j above row y; ph[i * (w+1) + x] likewise along row i */
    int *pv = vs__malloc(sizeof *pv * (size_t)(h + 1) * wv), *ph = vs__malloc(sizeof *ph * (size_t)hh * (w + 1));
    /* rb[i * w + x0]: the best coverage of any top or bottom side on boundary row i that
       starts at x0 (an upper bound; the same arithmetic as the score); cx, cs: the
       candidate columns of one pair of rows and their coverage */
    double *rb = vs__malloc(sizeof *rb * (size_t)hh * w), *cs = vs__malloc(sizeof *cs * (size_t)w);
    int *cx = vs__malloc(sizeof *cx * (size_t)w);
    if (!pv || !ph || !rb || !cs || !cx) {
        vs__free(pv), vs__free(ph), vs__free(rb), vs__free(cs), vs__free(cx);
        return vs__err(VS_ERR_NOMEM, "vs_inset_detect: out of memory for %dx%d pictures", w, h);
    }
    for (int j = 0; j < wv; j++) pv[j] = 0;
    for (int y = 0; y < h; y++)
        for (int j = 0; j < wv; j++) pv[(y + 1) * wv + j] = pv[y * wv + j] + ev[y * wv + j];
    for (int i = 0; i < hh; i++) {
        ph[i * (w + 1)] = 0;
        for (int x = 0; x < w; x++) ph[i * (w + 1) + x + 1] = ph[i * (w + 1) + x] + eh[i * w + x];
    }
    const double wmin = p->size_min * (double)w, wmax = p->size_max * (double)w;
    const double hmin = p->size_min * (double)h, hmax = p->size_max * (double)h;
    const double eps = 1e-9;
    for (int i = 0; i < hh && !exhaustive; i++) {
        const int *row = ph + i * (w + 1);
        for (int x0 = 0; x0 < w; x0++) {
            double m = 0;
            for (int x1 = x0 + 1; x1 <= w - 2; x1++) {
                const int bw = x1 - x0;
                if (bw < wmin) continue;
                if (bw > wmax) break;
                const double c = (double)(row[x1] - row[x0]) / bw;
                if (c > m) m = c;
            }
            rb[i * w + x0] = m;
        }
    }
    double best = 0;
    int barea = 0;
    for (int y0 = 1; y0 <= h - 2; y0++)
        for (int y1 = 1; y1 <= h - 2; y1++) {
            const int bh = y1 - y0;
            if (bh < hmin || bh > hmax) continue;
            const int *top = ph + (y0 - 1) * (w + 1), *bot = ph + (y1 - 1) * (w + 1);
            const double *rt = rb + (y0 - 1) * w, *rbo = rb + (y1 - 1) * w;
            /* The columns that can still be a left or right side: coverage above 0 and not
               below best (which only grows); every column when exhaustive. */
            int nc = 0;
            for (int x = 1; x <= w - 2; x++) {
                const double c = (double)(pv[y1 * wv + x - 1] - pv[y0 * wv + x - 1]) / bh;
                if (exhaustive || (c > 0 && c >= best - eps)) cx[nc] = x, cs[nc++] = c;
            }
            for (int a = 0; a < nc; a++) {
                const int x0 = cx[a];
                const double left = cs[a];
                if (!exhaustive && (left < best - eps || rt[x0] < best - eps || rbo[x0] < best - eps)) continue;
                for (int b = a + 1; b < nc; b++) {
                    const int x1 = cx[b], bw = x1 - x0;
                    if (bw < wmin) continue;
                    if (bw > wmax) break;
                    double sc = left;
                    if (cs[b] < sc) sc = cs[b];
                    if (sc < best - eps && !exhaustive) continue;
                    const double t = (double)(top[x1] - top[x0]) / bw, bo = (double)(bot[x1] - bot[x0]) / bw;
                    if (t < sc) sc = t;
                    if (bo < sc) sc = bo;
                    if (sc > best + eps || (sc >= best - eps && sc > 0 && bw * bh > barea)) {
                        best = sc;
                        r[0] = x0, r[1] = y0, r[2] = x1, r[3] = y1, barea = bw * bh;
                    }
                }
            }
        }
    vs__free(pv), vs__free(ph), vs__free(rb), vs__free(cs), vs__free(cx);
    *side = best;
    return VS_OK;
}

/* The whole-range detector on pictures [0, n), given their step 1 counts cv, ch
 * (count_below) and their times (NULL: none): *out as vs_inset_detect says, p0 = 0, p1 = n. */
static vs_status detect_range(const uint8_t *pic, const double *times, const int *cv, const int *ch, int n, int w,
                              int h, const vs_inset_params p, vs_inset *out) {
    memset(out, 0, sizeof *out);
    out->p1 = n;
    if (n < p.min_pictures || n < 2) return VS_OK;
    uint8_t *ev = vs__malloc((size_t)h * (w - 2)), *eh = vs__malloc((size_t)(h - 2) * w);
    if (!ev || !eh) {
        vs__free(ev), vs__free(eh);
        return vs__err(VS_ERR_NOMEM, "vs_inset_detect: out of memory for %dx%d pictures", w, h);
    }
    edge_maps(cv, ch, n, w, h, &p, ev, eh);
    int r[4];
    double best;
    vs_status s = vs__inset_rect(ev, eh, w, h, &p, 0, r, &best);
    vs__free(ev), vs__free(eh);
    if (s || best <= 0) return s;
    out->x0 = (float)((r[0] + 0.5) / w);
    out->y0 = (float)((r[1] + 0.5) / h);
    out->x1 = (float)((r[2] - 0.5) / w);
    out->y1 = (float)((r[3] - 0.5) / h);
    out->side = (float)best;
    double still, moves;
    out->corr = change_corr(pic, times, n, w, h, r[0], r[1], r[2], r[3], &still, &moves);
    out->moves = (float)moves;
    out->found = out->side >= p.side_min && moves >= p.inside_min &&
                 (out->corr < p.corr_max || (still >= 0 && still <= p.static_max));
    return VS_OK;
}

/* Segment ends: 0, n and the seg_cuts strongest picture changes of at least cut_min
 * (mean absolute grey difference to the previous picture), ascending; *nb of them. With
 * cut_prominence, a change's strength is how far it stands above the larger of its two
 * neighbouring changes (a hard cut is a spike; fast motion changes a lot at every
 * picture), and one that does not stand above both is no cut. */
static int segment_ends(const uint8_t *pic, int n, int w, int h, const vs_inset_params *p, int *ends, double *chg) {
    const size_t sz = (size_t)w * h;
    chg[0] = -1;
    for (int t = 1; t < n; t++) {
        long sum = 0;
        const uint8_t *f = pic + (size_t)t * sz, *g = f - sz;
        for (size_t i = 0; i < sz; i++) sum += abs(f[i] - g[i]);
        chg[t] = (double)sum / (double)sz;
    }
    double prev = 0; /* chg[t - 1] before it was replaced by its strength */
    for (int t = 1; t < n; t++) { /* strength, or -1: no cut */
        const double c = chg[t], left = t >= 2 ? prev : 0, right = t + 1 < n ? chg[t + 1] : 0;
        const double nb_max = left > right ? left : right;
        prev = c;
        chg[t] = !(c >= p->cut_min) ? -1 : !p->cut_prominence ? c : c > nb_max ? c - nb_max : -1;
    }
    int nb = 0;
    ends[nb++] = 0;
    for (int k = 0; k < p->seg_cuts; k++) { /* the strongest remaining cut, earliest of equals */
        int bi = -1;
        for (int t = 1; t < n; t++)
            if (chg[t] >= 0 && (bi < 0 || chg[t] > chg[bi])) bi = t;
        if (bi < 0) break;
        chg[bi] = -1;
        ends[nb++] = bi;
    }
    ends[nb++] = n;
    for (int i = 1; i < nb; i++) /* insertion sort: at most seg_cuts + 2 */
        for (int j = i; j > 0 && ends[j] < ends[j - 1]; j--) {
            int x = ends[j];
            ends[j] = ends[j - 1];
            ends[j - 1] = x;
        }
    return nb;
}

/* Steps 1-4 on the whole video, then on its segments between the nb segment ends (0 and
 * n alone when p.segments is off); edges from rgb too when it is not NULL. Step 1's
 * counts are taken once for each stretch between two consecutive ends, and a range's
 * counts are the sum of its stretches'. n >= 2. */
static vs_status detect_all(const uint8_t *pic, const uint8_t *rgb, const double *times, int n, int w, int h,
                            const vs_inset_params p, const int *ends, int nb, vs_inset *out) {
    const size_t nv = (size_t)h * (w - 2), nh = (size_t)(h - 2) * w;
    /* cnt: the counts of stretch k at cnt + k * (nv + nh) (vertical boundaries, then horizontal) */
    int *cnt = vs__calloc((size_t)(nb - 1) * (nv + nh), sizeof *cnt), *cv = vs__malloc(sizeof *cv * (nv + nh));
    vs_status s = VS_OK;
    if (!cnt || !cv) {
        vs__free(cnt), vs__free(cv);
        return vs__err(VS_ERR_NOMEM, "vs_inset_detect: out of memory for %d pictures of %dx%d", n, w, h);
    }
    for (int k = 0; k + 1 < nb; k++) {
        int *c = cnt + (size_t)k * (nv + nh);
        count_below(pic, rgb, ends[k], ends[k + 1], w, h, &p, c, c + nv);
    }
    memset(cv, 0, sizeof *cv * (nv + nh));
    for (int k = 0; k + 1 < nb; k++)
        for (size_t i = 0; i < nv + nh; i++) cv[i] += cnt[(size_t)k * (nv + nh) + i];
    s = detect_range(pic, times, cv, cv + nv, n, w, h, p, out);
    if (s || out->found || nb <= 2) goto done;
    /* An inset shown for part of the video only: the same tests on every segment between
     * two segment ends that is long enough; the best side wins, then the longest. */
    vs_inset best;
    memset(&best, 0, sizeof best);
    for (int i = 0; i < nb && !s; i++) {
        memset(cv, 0, sizeof *cv * (nv + nh));
        for (int j = i + 1; j < nb && !s; j++) {
            for (size_t q = 0; q < nv + nh; q++) cv[q] += cnt[(size_t)(j - 1) * (nv + nh) + q];
            const int a = ends[i], len = ends[j] - a;
            if (len >= n || len < p.seg_min_pictures || len < p.seg_min * n) continue;
            vs_inset r;
            s = detect_range(pic + (size_t)a * w * h, times ? times + a : NULL, cv, cv + nv, len, w, h, p, &r);
            if (s || !r.found) continue;
            if (!best.found || r.side > best.side || (r.side == best.side && len > best.p1 - best.p0)) {
                best = r;
                best.p0 = a;
                best.p1 = a + len;
            }
        }
    }
    if (s) goto done;
    if (best.found) *out = best;
    if (out->found && times && (out->p0 > 0 || out->p1 < n)) {
        out->t0 = (float)times[out->p0];
        if (out->p1 < n) out->t1 = (float)times[out->p1];
        else /* the end: the last picture plus the mean picture interval */
            out->t1 = (float)(times[n - 1] + (times[n - 1] - times[0]) / (n - 1));
    }
done:
    vs__free(cnt), vs__free(cv);
    return s;
}

vs_status vs_inset_detect_rgb(const uint8_t *pic, const uint8_t *rgb, const double *times, int n, int w, int h,
                              const vs_inset_params *pp, vs_inset *out) {
    if (!out) return vs__err(VS_ERR_INVALID_ARG, "vs_inset_detect: out is NULL");
    memset(out, 0, sizeof *out);
    if (!pic && n > 0) return vs__err(VS_ERR_INVALID_ARG, "vs_inset_detect: pictures is NULL");
    if (n < 0 || w < 8 || h < 8 || w > 512 || h > 512)
        return vs__err(VS_ERR_INVALID_ARG, "vs_inset_detect: %d pictures of %dx%d (sides must be 8..512)", n, w, h);
    const vs_inset_params p = pp ? *pp : vs_inset_default_params();
    if (p.seg_cuts < 0 || p.seg_cuts > 64)
        return vs__err(VS_ERR_INVALID_ARG, "vs_inset_detect: seg_cuts %d (must be 0..64)", p.seg_cuts);
    if (p.colour_edges < 0 || p.colour_edges > 2)
        return vs__err(VS_ERR_INVALID_ARG, "vs_inset_detect: colour_edges %d (must be 0, 1 or 2)", p.colour_edges);
    out->p1 = n;
    if (n < p.min_pictures || n < 2) return VS_OK;
    /* The segment ends, on the grey pictures: the same for both stages. */
    int *ends = vs__malloc(sizeof *ends * (size_t)(p.seg_cuts + 2)), nb = 2;
    double *chg = vs__malloc(sizeof *chg * (size_t)n);
    if (!ends || !chg) {
        vs__free(ends), vs__free(chg);
        return vs__err(VS_ERR_NOMEM, "vs_inset_detect: out of memory for %d pictures", n);
    }
    ends[0] = 0, ends[1] = n;
    if (p.segments) nb = segment_ends(pic, n, w, h, &p, ends, chg);
    vs__free(chg);
    vs_status s = detect_all(pic, p.colour_edges == 2 ? rgb : NULL, times, n, w, h, p, ends, nb, out);
    if (!s && !out->found && rgb && p.colour_edges == 1) {
        vs_inset c; /* the later stage: colour steps, when grey ones found nothing, and a stricter
                       independence test (colour_corr_max, no still-host exception) */
        vs_inset_params pc = p;
        pc.corr_max = p.colour_corr_max;
        pc.static_max = 0;
        s = detect_all(pic, rgb, times, n, w, h, pc, ends, nb, &c);
        if (!s && c.found) *out = c;
    }
    vs__free(ends);
    return s;
}

vs_status vs_inset_detect_times(const uint8_t *pic, const double *times, int n, int w, int h,
                                const vs_inset_params *pp, vs_inset *out) {
    return vs_inset_detect_rgb(pic, NULL, times, n, w, h, pp, out);
}

vs_status vs_inset_detect(const uint8_t *pic, int n, int w, int h, const vs_inset_params *pp, vs_inset *out) {
    return vs_inset_detect_rgb(pic, NULL, NULL, n, w, h, pp, out);
}
