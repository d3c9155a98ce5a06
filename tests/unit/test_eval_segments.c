/*
 * test_eval_segments.c - unit tests of the segment AP (vs_eval_segment_score, the
 * VSC22 matching-track metric of shared/bench/score_segments.py) against answers
 * worked out by hand: an exact box, a box twice as long, a wrong pair, equal
 * scores as one step (and the pair_uAP tie rule), a prediction that touches no gt
 * box, merged predictions and merged gt, per-edit subsets with negative queries;
 * then random inputs against a direct, quadratic transcription of the Python
 * code; bad files refused naming file and line; and an allocation-failure loop
 * (run under ASan to see leaks).
 */
#include "test.h"
#include "vidsim/eval.h"

static const char *write_tmp(const char *name, const char *text) {
    static char path[8][4096];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 4096, "%s/%s", vs_test_tmpdir(), name);
    FILE *f = fopen(p, "wb");
    if (!f) return p;
    fputs(text, f);
    fclose(f);
    return p;
}

#define HDR_GT "query_id,ref_id,query_start,query_end,ref_start,ref_end\n"
#define HDR_PR "query_id,ref_id,query_start,query_end,ref_start,ref_end,score\n"

/* Score gt and pred CSV bodies (headers added); NULL on failure (message printed). */
static vs_eval_segment_report *score_text(const char *gt_rows, const char *pred_rows,
                                          const char *queries_json) {
    static char gbuf[8192], pbuf[8192];
    vs_eval_segments *g = NULL, *p = NULL;
    vs_eval_segment_queries *q = NULL;
    vs_eval_segment_report *r = NULL;
    snprintf(gbuf, sizeof gbuf, HDR_GT "%s", gt_rows);
    snprintf(pbuf, sizeof pbuf, HDR_PR "%s", pred_rows);
    vs_status st = vs_eval_segments_load(&g, write_tmp("seg_gt.csv", gbuf), 0);
    if (st == VS_OK) st = vs_eval_segments_load(&p, write_tmp("seg_pred.csv", pbuf), 1);
    if (st == VS_OK && queries_json)
        st = vs_eval_segment_queries_load(&q, write_tmp("seg_q.json", queries_json));
    if (st == VS_OK) st = vs_eval_segment_score(&r, g, p, q);
    if (st != VS_OK) fprintf(stderr, "score_text: %s\n", vs_last_error());
    vs_eval_segment_queries_free(q);
    vs_eval_segments_free(p);
    vs_eval_segments_free(g);
    return r;
}

/* segment AP and pair uAP of the "all" subset; -1 on failure */
static double seg_ap(const char *gt_rows, const char *pred_rows, double *uap) {
    vs_eval_segment_report *r = score_text(gt_rows, pred_rows, NULL);
    double ap = r ? r->subsets[0].segment_ap : -1;
    if (uap) *uap = r ? r->subsets[0].pair_uap : -1;
    vs_eval_segment_report_free(r);
    return ap;
}

static void test_known_answers(void) {
    const char *g1 = "Q1,R1,0,10,0,10\n";
    double uap;
    /* one exact box: P = R = 1 */
    CHECK_NEAR(seg_ap(g1, "Q1,R1,0,10,0,10,0.7\n", &uap), 100.0, 1e-9);
    CHECK_NEAR(uap, 100.0, 1e-9);
    /* twice the gt length on both axes: Pq = Pr = 1/2, R = 1 -> AP 50 */
    CHECK_NEAR(seg_ap(g1, "Q1,R1,0,20,0,20,1\n", NULL), 50.0, 1e-9);
    /* the same box in the wrong pair counts nothing; the pair is a negative */
    CHECK_NEAR(seg_ap(g1, "Q1,R2,0,10,0,10,1\n", &uap), 0.0, 0);
    CHECK_NEAR(uap, 0.0, 0);
    /* equal scores are one step: exact box + wrong pair together give P = 1/2 at
     * R = 1, in either file order (one at a time would give 100 or 0). */
    CHECK_NEAR(seg_ap(g1, "Q1,R1,0,10,0,10,0.5\nQ1,R2,0,10,0,10,0.5\n", &uap), 50.0, 1e-9);
    /* pair_uAP ties keep the order of first appearance: positive first -> 100 */
    CHECK_NEAR(uap, 100.0, 1e-9);
    CHECK_NEAR(seg_ap(g1, "Q1,R2,0,10,0,10,0.5\nQ1,R1,0,10,0,10,0.5\n", &uap), 50.0, 1e-9);
    CHECK_NEAR(uap, 50.0, 1e-9); /* negative first: hit at rank 2 */
    /* pair_uAP takes the best score per pair: R1's 0.9 beats R2's 0.8 */
    seg_ap(g1, "Q1,R1,0,1,0,1,0.1\nQ1,R2,0,10,0,10,0.8\nQ1,R1,0,1,0,1,0.9\n", &uap);
    CHECK_NEAR(uap, 100.0, 1e-9);
    /* a prediction touching no gt box as a 2-D box does not count the gt, even
     * though its query interval covers the gt's query interval */
    CHECK_NEAR(seg_ap(g1, "Q1,R1,0,10,20,30,1\n", NULL), 0.0, 0);
    /* ... until a later prediction of the pair touches it: step 2 has
     * Iq = |[0,10]| = 10, Ir = |([20,30] u [5,6]) n [0,10]| = 1, |pred|q = 10,
     * |pred|r = 11: R = sqrt(1 * 0.1), P = sqrt(1 * 1/11), AP = 1/sqrt(110). */
    CHECK_NEAR(seg_ap(g1, "Q1,R1,0,10,20,30,1\nQ1,R1,5,6,5,6,0.5\n", NULL), 100.0 / sqrt(110.0),
               1e-9);
    /* boxes that only share an edge do not touch (strict overlap) */
    CHECK_NEAR(seg_ap(g1, "Q1,R1,10,20,0,10,1\n", NULL), 0.0, 0);
    /* overlapping predictions are merged: |pred| = 10, not 12 */
    CHECK_NEAR(seg_ap(g1, "Q1,R1,0,6,0,6,1\nQ1,R1,4,10,4,10,1\n", NULL), 100.0, 1e-9);
    /* in two steps: R .6 at P 1, then R 1 at P 10/12 -> .6 + .4 * 10/12 */
    CHECK_NEAR(seg_ap(g1, "Q1,R1,0,6,0,6,2\nQ1,R1,4,12,4,12,1\n", NULL),
               100.0 * (0.6 + 0.4 * 10.0 / 12.0), 1e-9);
    /* overlapping gt boxes of a pair are merged too: |gt| = 10 per axis, 1 pair */
    vs_eval_segment_report *r =
        score_text("Q1,R1,0,6,0,6\nQ1,R1,4,10,4,10\n", "Q1,R1,0,10,0,10,1\n", NULL);
    CHECK(r && r->n == 1);
    if (r) {
        CHECK_NEAR(r->subsets[0].segment_ap, 100.0, 1e-9);
        CHECK_EQ(r->subsets[0].n_gt_pairs, 1);
        CHECK(strcmp(r->subsets[0].subset, "all") == 0);
    }
    vs_eval_segment_report_free(r);
    /* asymmetric axes: query axis exact, ref axis half covered -> R = sqrt(.5), P = 1 */
    CHECK_NEAR(seg_ap(g1, "Q1,R1,0,10,0,5,1\n", NULL), 100.0 * sqrt(0.5), 1e-9);
    /* two pairs: recall pooled over both (gt 10 + 30 per axis) */
    CHECK_NEAR(seg_ap("Q1,R1,0,10,0,10\nQ2,R2,0,30,0,30\n", "Q2,R2,0,30,0,30,1\nQ1,R1,0,10,0,10,0.5\n",
                      &uap),
               100.0, 1e-9);
    CHECK_NEAR(uap, 100.0, 1e-9);
    CHECK_NEAR(seg_ap("Q1,R1,0,10,0,10\nQ2,R2,0,30,0,30\n", "Q1,R1,0,10,0,10,1\n", NULL), 25.0, 1e-9);
    /* no gt at all: 0, as score_segments.py; zero-length gt likewise */
    CHECK_NEAR(seg_ap("", "Q1,R1,0,10,0,10,1\n", &uap), 0.0, 0);
    CHECK_NEAR(uap, 0.0, 0);
    CHECK_NEAR(seg_ap("Q1,R1,3,3,0,10\n", "Q1,R1,0,10,0,10,1\n", NULL), 0.0, 0);
    /* no prediction: 0 */
    CHECK_NEAR(seg_ap(g1, "", &uap), 0.0, 0);
    CHECK_NEAR(uap, 0.0, 0);
}

/* Per-edit subsets: the rows of the queries carrying the edit (negative queries
 * included), edits with no gt left out, an edit named "all" replacing the overall
 * figures, byte order of names. */
static void test_subsets(void) {
    const char *gt = "Q1,R1,0,10,0,10\nQ2,R2,0,10,0,10\n";
    const char *pr = "Q1,R1,0,10,0,10,0.9\n"  /* exact */
                     "QN,R1,0,10,0,10,0.95\n" /* a false alarm of negative query QN */
                     "Q2,R2,0,5,0,5,0.5\n";   /* half of Q2's copy */
    const char *qs = "[{\"query_id\": \"Q1\", \"ref_id\": \"R1\", \"edits\": [\"crop\", \"crop\"]},\n"
                     " {\"query_id\": \"Q2\", \"ref_id\": \"R2\", \"edits\": [\"blur\"]},\n"
                     " {\"query_id\": \"QN\", \"ref_id\": null, \"edits\": [\"crop\", \"negonly\"]},\n"
                     " {\"query_id\": \"QX\", \"ref_id\": \"R9\", \"edits\": []},\n"
                     " {\"ref_id\": null}]";
    vs_eval_segment_report *r = score_text(gt, pr, qs);
    CHECK(r && r->n == 3);
    if (!r || r->n != 3) {
        vs_eval_segment_report_free(r);
        return;
    }
    CHECK(strcmp(r->subsets[0].subset, "all") == 0);
    CHECK(strcmp(r->subsets[1].subset, "blur") == 0);
    CHECK(strcmp(r->subsets[2].subset, "crop") == 0);
    /* all: step .95: I 0 -> P 0; step .9: I 10/20 per axis, R 1/2, P 1/2;
     * step .5: I 15/20, tot 25, R 3/4, P 3/5 -> AP = .5*.5 + .6*.25 = .4 */
    CHECK_NEAR(r->subsets[0].segment_ap, 40.0, 1e-9);
    CHECK_NEAR(r->subsets[0].pair_uap, 100.0 * (1.0 / 2 + 2.0 / 3) / 2, 1e-9);
    CHECK_EQ(r->subsets[0].n_gt_pairs, 2);
    /* blur = Q2 only: R 1/2 at P 1 */
    CHECK_NEAR(r->subsets[1].segment_ap, 50.0, 1e-9);
    CHECK_NEAR(r->subsets[1].pair_uap, 100.0, 1e-9);
    CHECK_EQ(r->subsets[1].n_gt_pairs, 1);
    /* crop = Q1 + QN: the negative's false alarm comes first: R 1 at P 1/2 */
    CHECK_NEAR(r->subsets[2].segment_ap, 50.0, 1e-9);
    CHECK_NEAR(r->subsets[2].pair_uap, 50.0, 1e-9);
    CHECK_EQ(r->subsets[2].n_gt_pairs, 1);
    vs_eval_segment_report_free(r);
    /* an edit named "all" replaces the overall figures, in first place */
    r = score_text(gt, pr, "[{\"query_id\": \"Q2\", \"edits\": [\"all\", \"zoom\"]}]");
    CHECK(r && r->n == 2);
    if (r && r->n == 2) {
        CHECK(strcmp(r->subsets[0].subset, "all") == 0 && strcmp(r->subsets[1].subset, "zoom") == 0);
        CHECK_NEAR(r->subsets[0].segment_ap, 50.0, 1e-9);
        CHECK_EQ(r->subsets[0].n_gt_pairs, 1);
    }
    vs_eval_segment_report_free(r);
    /* an empty queries.json: only "all" */
    r = score_text(gt, pr, "[]");
    CHECK(r && r->n == 1);
    vs_eval_segment_report_free(r);
}

/* ---- a direct transcription of score_segments.py's segment_ap (quadratic) ---- */

typedef struct row {
    int q, r;
    double b[4], s;
} row;

static int cmp_iv(const void *a, const void *b) {
    const double *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* merged(ivs[n]) in place; returns the number of merged intervals */
static int merge(double *iv, int n) {
    qsort(iv, (size_t)n, 2 * sizeof *iv, cmp_iv);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m && iv[2 * i] <= iv[2 * m - 1]) {
            if (iv[2 * i + 1] > iv[2 * m - 1]) iv[2 * m - 1] = iv[2 * i + 1];
        } else {
            iv[2 * m] = iv[2 * i];
            iv[2 * m + 1] = iv[2 * i + 1];
            m++;
        }
    }
    return m;
}

static double length(const double *iv, int n) {
    double t = 0;
    for (int i = 0; i < n; i++) t += iv[2 * i + 1] - iv[2 * i];
    return t;
}

static double overlap(const double *a, int na, const double *b, int nb) {
    int i = 0, j = 0;
    double tot = 0;
    while (i < na && j < nb) {
        double lo = fmax(a[2 * i], b[2 * j]), hi = fmin(a[2 * i + 1], b[2 * j + 1]);
        if (hi > lo) tot += hi - lo;
        if (a[2 * i + 1] < b[2 * j + 1]) i++;
        else j++;
    }
    return tot;
}

static int touch(const double *p, const double *g) {
    return fmin(p[1], g[1]) > fmax(p[0], g[0]) && fmin(p[3], g[3]) > fmax(p[2], g[2]);
}

static int cmp_row(const void *a, const void *b) {
    const row *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return 0;
}

#define NQ 4
#define NR 4
static double naive_segment_ap(const row *gt, int ng, const row *pred_in, int np) {
    static double tmp[2 * 4096], tmp2[2 * 4096];
    double gl[2] = {0, 0}, inter[2] = {0, 0}, tot[2] = {0, 0}, pi[NQ * NR][2], pt[NQ * NR][2];
    memset(pi, 0, sizeof pi);
    memset(pt, 0, sizeof pt);
    for (int k = 0; k < NQ * NR; k++)
        for (int ax = 0; ax < 2; ax++) {
            int n = 0;
            for (int i = 0; i < ng; i++)
                if (gt[i].q * NR + gt[i].r == k) {
                    tmp[2 * n] = gt[i].b[2 * ax];
                    tmp[2 * n + 1] = gt[i].b[2 * ax + 1];
                    n++;
                }
            gl[ax] += length(tmp, merge(tmp, n));
        }
    if (gl[0] <= 0 || gl[1] <= 0) return 0;
    row *pred = malloc((size_t)(np + 1) * sizeof *pred);
    /* a stable sort: insertion sort by score descending */
    for (int i = 0; i < np; i++) {
        int j = i;
        while (j > 0 && cmp_row(&pred[j - 1], &pred_in[i]) > 0) {
            pred[j] = pred[j - 1];
            j--;
        }
        pred[j] = pred_in[i];
    }
    double ap = 0, recall = 0;
    int i = 0;
    while (i < np) {
        int j = i;
        while (j < np && pred[j].s == pred[i].s) {
            int k = pred[j].q * NR + pred[j].r;
            for (int ax = 0; ax < 2; ax++) {
                int n = 0, m = 0;
                for (int t = 0; t <= j; t++)
                    if (pred[t].q * NR + pred[t].r == k) {
                        tmp[2 * n] = pred[t].b[2 * ax];
                        tmp[2 * n + 1] = pred[t].b[2 * ax + 1];
                        n++;
                    }
                for (int g = 0; g < ng; g++) {
                    if (gt[g].q * NR + gt[g].r != k) continue;
                    int considered = 0;
                    for (int t = 0; t <= j && !considered; t++)
                        considered = pred[t].q * NR + pred[t].r == k && touch(pred[t].b, gt[g].b);
                    if (!considered) continue;
                    tmp2[2 * m] = gt[g].b[2 * ax];
                    tmp2[2 * m + 1] = gt[g].b[2 * ax + 1];
                    m++;
                }
                n = merge(tmp, n);
                m = merge(tmp2, m);
                double ni = overlap(tmp, n, tmp2, m), nt = length(tmp, n);
                inter[ax] += ni - pi[k][ax];
                tot[ax] += nt - pt[k][ax];
                pi[k][ax] = ni;
                pt[k][ax] = nt;
            }
            j++;
        }
        double rq = inter[0] / gl[0], rr = inter[1] / gl[1];
        double pq = tot[0] > 0 ? inter[0] / tot[0] : 0, pr = tot[1] > 0 ? inter[1] / tot[1] : 0;
        double nr = sqrt(fmax(rq, 0) * fmax(rr, 0));
        ap += sqrt(fmax(pq, 0) * fmax(pr, 0)) * (nr - recall);
        recall = nr;
        i = j;
    }
    free(pred);
    return ap;
}

/* a box on a coarse grid (shared edges, nesting, zero lengths) around (c, d) */
static void rand_box(double *b, double c, double d) {
    for (int ax = 0; ax < 2; ax++) {
        double o = ax ? d : c;
        double x = o + floor(vs_test_urand() * 12) - 4, y = o + floor(vs_test_urand() * 12) - 4;
        if (vs_test_urand() < 0.05) y = x;
        b[2 * ax] = fmin(x, y);
        b[2 * ax + 1] = fmax(x, y);
    }
}

static void test_random_vs_naive(void) {
    static row gt[64], pred[400];
    char id[2][16];
    double worst = 0;
    vs_test_seed(2022);
    for (int it = 0; it < 300; it++) {
        int ng = 1 + (int)(vs_test_urand() * 12), np = (int)(vs_test_urand() * 120);
        int ties = (int)(vs_test_urand() * 3); /* scores on 1, 10 or continuous levels */
        vs_eval_segments *g = NULL, *p = NULL;
        vs_eval_segment_report *r = NULL;
        vs_eval_segments_create(&g);
        vs_eval_segments_create(&p);
        for (int i = 0; i < ng; i++) {
            gt[i].q = (int)(vs_test_urand() * 2);
            gt[i].r = (int)(vs_test_urand() * 2);
            rand_box(gt[i].b, 10 * vs_test_urand(), 10 * vs_test_urand());
            snprintf(id[0], 16, "Q%d", gt[i].q);
            snprintf(id[1], 16, "R%d", gt[i].r);
            vs_eval_segments_add(g, id[0], id[1], gt[i].b[0], gt[i].b[1], gt[i].b[2], gt[i].b[3], 1);
        }
        for (int i = 0; i < np; i++) {
            pred[i].q = (int)(vs_test_urand() * 3);
            pred[i].r = (int)(vs_test_urand() * 3);
            const row *near = &gt[(int)(vs_test_urand() * ng)];
            rand_box(pred[i].b, near->b[0], near->b[2]);
            double s = vs_test_urand();
            pred[i].s = ties == 0 ? 0.5 : ties == 1 ? floor(s * 10) / 10 : s;
            snprintf(id[0], 16, "Q%d", pred[i].q);
            snprintf(id[1], 16, "R%d", pred[i].r);
            vs_eval_segments_add(p, id[0], id[1], pred[i].b[0], pred[i].b[1], pred[i].b[2],
                                 pred[i].b[3], pred[i].s);
        }
        CHECK_EQ(vs_eval_segments_count(p), np);
        if (vs_eval_segment_score(&r, g, p, NULL) == VS_OK) {
            double want = 100.0 * naive_segment_ap(gt, ng, pred, np);
            double d = fabs(r->subsets[0].segment_ap - want);
            if (d > worst) worst = d;
            CHECK_MSG(d < 1e-9, "case %d: vidsim %.12g, naive %.12g", it, r->subsets[0].segment_ap,
                      want);
        } else {
            CHECK_MSG(0, "case %d: %s", it, vs_last_error());
        }
        vs_eval_segment_report_free(r);
        vs_eval_segments_free(p);
        vs_eval_segments_free(g);
    }
    printf("random vs naive transcription: max |diff| %.3g\n", worst);
}

/* ------------------------------------------------------------- bad inputs -- */

static void expect_refused(const char *name, const char *text, int need_score, const char *where,
                           const char *what) {
    vs_eval_segments *s = NULL;
    vs_status st = vs_eval_segments_load(&s, write_tmp(name, text), need_score);
    CHECK_MSG(st == VS_ERR_FORMAT && s == NULL, "%s: status %d", name, st);
    CHECK_MSG(strstr(vs_last_error(), where) != NULL, "%s: want '%s' in '%s'", name, where,
              vs_last_error());
    CHECK_MSG(strstr(vs_last_error(), what) != NULL, "%s: want '%s' in '%s'", name, what,
              vs_last_error());
    vs_eval_segments_free(s);
}

static void test_bad_inputs(void) {
    expect_refused("seg_bad_col.csv", "query_id,ref_id,query_start,query_end,ref_start,score\n"
                   "Q1,R1,0,1,0,1\n", 1, "seg_bad_col.csv:1", "ref_end");
    expect_refused("seg_bad_score.csv", HDR_GT "Q1,R1,0,1,0,1\n", 1, "seg_bad_score.csv:1", "score");
    expect_refused("seg_bad_num.csv", HDR_PR "Q1,R1,0,1,0,1,1\nQ1,R1,0,one,0,1,1\n", 1,
                   "seg_bad_num.csv:3", "query_end");
    expect_refused("seg_bad_snum.csv", HDR_PR "Q1,R1,0,1,0,1,high\n", 1, "seg_bad_snum.csv:2",
                   "score");
    expect_refused("seg_bad_empty_field.csv", HDR_PR "Q1,R1,,1,0,1,1\n", 1,
                   "seg_bad_empty_field.csv:2", "not a number");
    expect_refused("seg_bad_order.csv", HDR_PR "Q1,R1,0,1,0,1,1\n\nQ1,R1,0,1,5,4,1\n", 1,
                   "seg_bad_order.csv:4", "ref_end");
    expect_refused("seg_bad_qorder.csv", HDR_GT "Q1,R1,2,1,0,1\n", 0, "seg_bad_qorder.csv:2",
                   "query_end");
    expect_refused("seg_bad_nan.csv", HDR_PR "Q1,R1,0,1,0,1,nan\n", 1, "seg_bad_nan.csv:2", "NaN");
    expect_refused("seg_bad_nan2.csv", HDR_GT "Q1,R1,0,NaN,0,1\n", 0, "seg_bad_nan2.csv:2", "NaN");
    expect_refused("seg_bad_inf.csv", HDR_PR "Q1,R1,0,1,0,inf,1\n", 1, "seg_bad_inf.csv:2",
                   "infinite");
    expect_refused("seg_bad_empty.csv", "", 1, "seg_bad_empty.csv:1", "empty");
    expect_refused("seg_bad_short.csv", HDR_PR "Q1,R1,0,1,0,1,1\nQ1,R1,0,1\n", 1,
                   "seg_bad_short.csv:3", "ref_start");
    /* gt needs no score (and ignores one); extra columns in any order are fine */
    vs_eval_segments *s = NULL;
    CHECK_EQ(vs_eval_segments_load(&s, write_tmp("seg_ok.csv", "x,ref_end,ref_start,query_end,"
                                                 "query_start,ref_id,query_id\n"
                                                 "a,\"2\",1, 4 ,3,R1,Q1\n\n1,2,1,1e1,1_0,R1,Q2\n"),
                                   0),
             VS_OK);
    CHECK_EQ(vs_eval_segments_count(s), 2);
    vs_eval_segments_free(s);
    CHECK_EQ(vs_eval_segments_load(&s, write_tmp("seg_hdr.csv", HDR_GT), 0), VS_OK);
    CHECK_EQ(vs_eval_segments_count(s), 0);
    vs_eval_segments_free(s);
    CHECK_EQ(vs_eval_segments_load(&s, "/nonexistent/seg.csv", 0), VS_ERR_IO);
    CHECK(s == NULL);
    /* the in-memory API refuses the same values */
    CHECK_EQ(vs_eval_segments_create(&s), VS_OK);
    CHECK_EQ(vs_eval_segments_add(s, "Q", "R", 0, 1, 0, 1, NAN), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_eval_segments_add(s, "Q", "R", 0, INFINITY, 0, 1, 1), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_eval_segments_add(s, "Q", "R", 2, 1, 0, 1, 1), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_eval_segments_add(s, "Q", NULL, 0, 1, 0, 1, 1), VS_ERR_INVALID_ARG);
    CHECK_EQ(vs_eval_segments_add(s, "Q", "R", 0, 1, 0, 1, 1), VS_OK);
    CHECK_EQ(vs_eval_segments_count(s), 1);
    vs_eval_segments_free(s);
    /* queries.json */
    vs_eval_segment_queries *q = NULL;
    CHECK_EQ(vs_eval_segment_queries_load(&q, write_tmp("seg_q1.json", "{\"query_id\": \"Q\"}")),
             VS_ERR_FORMAT);
    CHECK_EQ(vs_eval_segment_queries_load(&q, write_tmp("seg_q2.json", "[{\"query_id\": \"Q\", "
                                                        "\"edits\": [\"a\"]},\n {\"query_id\": \"Q2\", "
                                                        "\"edits\": \"a\"}]")),
             VS_ERR_FORMAT);
    CHECK_MSG(strstr(vs_last_error(), "seg_q2.json:2"), "%s", vs_last_error());
    CHECK_EQ(vs_eval_segment_queries_load(&q, write_tmp("seg_q3.json", "[{\"edits\": [\"a\"]}]")),
             VS_ERR_FORMAT);
    CHECK_EQ(vs_eval_segment_queries_load(&q, write_tmp("seg_q4.json", "[{\"query_id\": \"Q\", "
                                                        "\"edits\": [3]}]")),
             VS_ERR_FORMAT);
    CHECK(q == NULL);
    vs_eval_segment_report *r = NULL;
    CHECK_EQ(vs_eval_segment_score(&r, NULL, NULL, NULL), VS_ERR_INVALID_ARG);
    CHECK(r == NULL);
    vs_eval_segment_report_free(NULL);
    vs_eval_segments_free(NULL);
    vs_eval_segment_queries_free(NULL);
}

/* Every allocation of loading and scoring may fail: the call must report
 * VS_ERR_NOMEM and free everything (ASan checks the leaks). */
static void test_alloc_failures(void) {
    const char *gp =
        write_tmp("seg_oom_gt.csv", HDR_GT "Q1,R1,0,10,0,10\nQ1,R1,5,20,5,20\nQ2,R2,0,5,0,5\n");
    const char *pp = write_tmp("seg_oom_pred.csv", HDR_PR "Q1,R1,0,10,0,10,1\nQ1,R1,12,30,12,30,1\n"
                               "Q1,R2,0,1,0,1,0.5\nQ2,R2,0,4,0,4,0.2\nQN,R1,0,3,0,3,0.7\n");
    const char *qp = write_tmp("seg_oom_q.json", "[{\"query_id\": \"Q1\", \"edits\": [\"a\", \"b\"]},"
                               " {\"query_id\": \"Q2\", \"edits\": [\"b\"]},"
                               " {\"query_id\": \"QN\", \"ref_id\": null, \"edits\": [\"a\"]}]");
    int ok_at = -1;
    for (long n = 1; n < 3000 && ok_at < 0; n++) {
        vs_eval_segments *g = NULL, *p = NULL;
        vs_eval_segment_queries *q = NULL;
        vs_eval_segment_report *r = NULL;
        vs_alloc_fail_after(n);
        vs_status st = vs_eval_segments_load(&g, gp, 0);
        if (st == VS_OK) st = vs_eval_segments_load(&p, pp, 1);
        if (st == VS_OK) st = vs_eval_segment_queries_load(&q, qp);
        if (st == VS_OK) st = vs_eval_segment_score(&r, g, p, q);
        vs_alloc_fail_after(0);
        if (st == VS_OK) {
            ok_at = (int)n;
            CHECK_EQ(r->n, 3);
        } else if (st != VS_ERR_NOMEM) {
            CHECK_MSG(0, "allocation %ld: status %d (%s)", n, st, vs_last_error());
        }
        vs_eval_segment_report_free(r);
        vs_eval_segment_queries_free(q);
        vs_eval_segments_free(p);
        vs_eval_segments_free(g);
    }
    CHECK_MSG(ok_at > 10, "succeeded at allocation %d", ok_at);
}

int main(void) {
    test_known_answers();
    test_subsets();
    test_random_vs_naive();
    test_bad_inputs();
    test_alloc_failures();
    return vs_test_done();
}
