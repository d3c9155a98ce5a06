/*
 * eval.h - evaluation of near-duplicate detection and retrieval.
 *
 * (1) The project benchmark: read gt.csv, a predictions CSV (query_id,ref_id,score)
 *     and optionally queries.json, and compute muAP, mAP and R@1 overall and per
 *     edit exactly as shared/bench/score.py does (pessimistic ties, unlisted pairs
 *     are never predicted, duplicate prediction rows keep the highest score,
 *     negative queries count in every per-edit subset). docs/eval.md has the rules.
 * (2) Building blocks: AP of one ranking, the hashing literature's mAP@K (divided
 *     by K), EVVE's trapezoidal AP.
 * (3) Published dataset protocols (FIVR-200K/5K, VCDB, EVVE, CC_WEB_VIDEO) on their
 *     annotations converted to JSON by reference/python/convert_annotations.py.
 * (4) Copied-segment localisation: the VSC22 matching-track segment AP and the
 *     pairwise uAP of shared/bench/score_segments.py, overall and per edit.
 *
 * Percentages: the benchmark figures (vs_eval_figures) are in [0, 100] like
 * score.py; vs_eval_ap*, vs_eval_map_at_k and the dataset metrics are fractions in
 * [0, 1] like the original Python code. NaN marks an undefined figure (no positive).
 *
 * Thread safety: loaded objects are read-only after loading and may be shared by
 * threads; vs_eval_pred_add must not run concurrently with readers of that object.
 *
 * Example (compiled and run by tests/unit/test_eval.c):
 *     vs_eval_gt *gt = NULL; vs_eval_pred *pr = NULL; vs_eval_report *rep = NULL;
 *     if (vs_eval_gt_load(&gt, "gt.csv") == VS_OK && vs_eval_pred_load(&pr, "pred.csv") == VS_OK &&
 *         vs_eval_score(&rep, gt, pr, NULL) == VS_OK)
 *         printf("uAP %.2f mAP %.2f R@1 %.2f\n", rep->subsets[0].uap, rep->subsets[0].map,
 *                rep->subsets[0].r1);
 *     else
 *         fprintf(stderr, "%s\n", vs_last_error());
 *     vs_eval_report_free(rep); vs_eval_pred_free(pr); vs_eval_gt_free(gt);
 */
#ifndef VIDSIM_EVAL_H
#define VIDSIM_EVAL_H

#include "vidsim/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- benchmark -- */

typedef struct vs_eval_gt vs_eval_gt;           /* positive (query, ref) pairs */
typedef struct vs_eval_pred vs_eval_pred;       /* scored (query, ref) pairs */
typedef struct vs_eval_queries vs_eval_queries; /* queries.json: edits per query */

/* Read gt.csv: a header naming query_id and ref_id (other columns ignored), one
 * row per copied segment; repeated pairs count once. An empty file is an empty
 * ground truth. Errors name the file and line. Caller frees with vs_eval_gt_free. */
VS_API vs_status vs_eval_gt_load(vs_eval_gt **out, const char *path);
VS_API void vs_eval_gt_free(vs_eval_gt *gt);
/* Number of distinct positive pairs. */
VS_API size_t vs_eval_gt_count(const vs_eval_gt *gt);

/* Read predictions: a header naming query_id, ref_id and score (others ignored).
 * Scores use Python float() syntax ("1e-3", " 2 ", "inf", "1_000"); NaN is an
 * error. A pair listed twice keeps its highest score. */
VS_API vs_status vs_eval_pred_load(vs_eval_pred **out, const char *path);
/* An empty prediction set, to fill with vs_eval_pred_add. */
VS_API vs_status vs_eval_pred_create(vs_eval_pred **out);
/* Add one scored pair (strings are copied); a repeated pair keeps the max score.
 * NaN gives VS_ERR_INVALID_ARG. */
VS_API vs_status vs_eval_pred_add(vs_eval_pred *p, const char *query_id, const char *ref_id,
                                  double score);
VS_API void vs_eval_pred_free(vs_eval_pred *p);
/* Number of distinct predicted pairs. */
VS_API size_t vs_eval_pred_count(const vs_eval_pred *p);

/* Read queries.json: an array of objects with "query_id" (string), "ref_id"
 * (null or empty for a negative query) and, for positive queries, "edits" (array
 * of strings; an empty array means the edit "none"). */
VS_API vs_status vs_eval_queries_load(vs_eval_queries **out, const char *path);
VS_API void vs_eval_queries_free(vs_eval_queries *q);

/* Figures of one subset of queries, in percent. */
typedef struct vs_eval_figures {
    const char *subset;      /* "all" or an edit name; owned by the report */
    double uap;              /* micro AP over all pairs pooled; NaN if no positive pair */
    double map;              /* mean AP over queries with a positive; NaN if none */
    double r1;               /* share of those queries whose top ref is a copy; NaN if none */
    long n_queries;          /* distinct queries in the subset ("queries" of score.py --json) */
    long n_positive_queries; /* queries with >= 1 positive pair ("positive_queries") */
    long n_positive_pairs;   /* positive pairs of the subset (the muAP denominator) */
    long n_predicted_pairs;  /* predicted pairs of the subset's queries */
} vs_eval_figures;

typedef struct vs_eval_report {
    size_t n;                  /* number of subsets */
    vs_eval_figures *subsets;  /* [n]: "all" first, then one per edit in byte order */
} vs_eval_report;

/* Score pred against gt. Without queries the query set is every query id of gt
 * and pred, and the report has only "all". With queries the query set is the
 * queries of queries.json (predictions and positives of other queries are
 * ignored), and one subset per edit follows: the positive queries with that edit
 * plus every negative query. Caller frees *out with vs_eval_report_free. */
VS_API vs_status vs_eval_score(vs_eval_report **out, const vs_eval_gt *gt,
                               const vs_eval_pred *pred, const vs_eval_queries *queries);
VS_API void vs_eval_report_free(vs_eval_report *r);

/* ---------------------------------------------------------- building blocks -- */

typedef enum {
    VS_EVAL_TIES_PESSIMISTIC = 0, /* among equal scores negatives rank first (score.py) */
    VS_EVAL_TIES_INPUT_ORDER = 1  /* equal scores keep the input order (Python sorted) */
} vs_eval_ties;

/* Non-interpolated AP of one ranking in [0, 1]: scores[n] with rel[n] (0 or 1),
 * sorted by score descending; AP = sum over relevant ranks k of P@k / n_pos.
 * n_pos counts positives never scored too (they add 0), so it must be >= the
 * number of rel[i] != 0. *ap is NaN when n_pos == 0. Allocates n indices. */
VS_API vs_status vs_eval_ap(double *ap, const double *scores, const unsigned char *rel, size_t n,
                            size_t n_pos, vs_eval_ties ties);

/* The hashing papers' mAP@K (SSVH, BTH, ConMH): rel is n_queries x n_ranked,
 * row-major, each row the relevance of one query's ranked list (best first);
 * AP@K(q) = (1/K) sum_{r<=K} rel(r) * P@r, divided by K and not by the number of
 * relevant items; a row shorter than K counts the missing ranks as not relevant.
 * Returns the mean over queries, or NaN if n_queries or k is 0. */
VS_API double vs_eval_map_at_k(const unsigned char *rel, size_t n_queries, size_t n_ranked,
                               size_t k);

/* EVVE's score_ap_from_ranks_1: ranks[n_ranks] are the 0-based ranks of the
 * retrieved positives in increasing order, n_pos all positives; trapezoidal AP
 * sum_k ((k/r_k or 1 if r_k == 0) + (k+1)/(r_k+1)) / 2 / n_pos. 0 if n_pos == 0 or
 * n_ranks == 0. */
VS_API double vs_eval_ap_trapezoid(const double *ranks, size_t n_ranks, size_t n_pos);

/* ------------------------------------------------------- dataset protocols -- */

typedef struct vs_eval_dataset vs_eval_dataset; /* converted annotation file */

typedef enum {
    VS_EVAL_FIVR = 1,
    VS_EVAL_VCDB = 2,
    VS_EVAL_EVVE = 3,
    VS_EVAL_CC_WEB_VIDEO = 4
} vs_eval_dataset_kind;

typedef struct vs_eval_dataset_params {
    const char *fivr_version; /* "200k" (default) or "5k" */
    bool fivr_audio;          /* FIVR duplicate-audio variant: DAVR, DAVD (default false) */
    bool vcdb_distractors;    /* VCDB database = core + distractors (default false) */
    vs_eval_ties ties;        /* order of equal scores (default VS_EVAL_TIES_INPUT_ORDER) */
} vs_eval_dataset_params;

VS_API vs_eval_dataset_params vs_eval_dataset_default_params(void);

/* Read a JSON file written by reference/python/convert_annotations.py; its
 * "dataset" member says which protocol applies. */
VS_API vs_status vs_eval_dataset_load(vs_eval_dataset **out, const char *path);
VS_API vs_eval_dataset_kind vs_eval_dataset_kind_of(const vs_eval_dataset *ds);
VS_API void vs_eval_dataset_free(vs_eval_dataset *ds);

typedef struct vs_eval_metric {
    const char *name; /* e.g. "DSVR", "DSVD_h", "VCDB_uAP", "mAP_c_star"; owned */
    double value;     /* fraction in [0, 1]; NaN if undefined */
} vs_eval_metric;

typedef struct vs_eval_metrics {
    size_t n;
    vs_eval_metric *m;      /* [n] in the order the original code prints them */
    long n_missing_queries; /* protocol queries absent from the similarities */
} vs_eval_metrics;

/* Evaluate similarities sims (query_id, target_id, score) under ds's protocol
 * (s2vs evaluation code, see docs/eval.md). all_db[n_all_db] lists the videos that
 * could be obtained (queries and database); NULL means all of them. Caller frees
 * *out with vs_eval_metrics_free. */
VS_API vs_status vs_eval_dataset_evaluate(vs_eval_metrics **out, const vs_eval_dataset *ds,
                                          const vs_eval_pred *sims, const char *const *all_db,
                                          size_t n_all_db, const vs_eval_dataset_params *p);
VS_API void vs_eval_metrics_free(vs_eval_metrics *m);

/* ---------------------------------------------------------- copied segments -- */

/* The VSC22 matching-track segment AP, as shared/bench/score_segments.py defines
 * it (docs/eval.md, "Segment mode"). A segment row is (query_id, ref_id, box,
 * score) with box = (query_start, query_end, ref_start, ref_end) in seconds.
 * Predictions are taken by score, descending, equal scores as one step. Per
 * (query, ref) pair the predicted boxes are projected on each axis and merged; a
 * gt box of the pair counts towards the intersection once a prediction of that
 * pair overlaps it as a 2-D box (strictly: positive overlap on both axes). Per
 * axis, with I the length of (merged predictions AND counted gt), recall = I / |gt|
 * and precision = I / |pred|, lengths summed over pairs; R = sqrt(Rq Rr),
 * P = sqrt(Pq Pr), AP = sum over steps of P * (R - R_before). */
typedef struct vs_eval_segments vs_eval_segments;               /* segment rows */
typedef struct vs_eval_segment_queries vs_eval_segment_queries; /* queries.json edits */

/* Read a segment CSV: a header naming query_id, ref_id, query_start, query_end,
 * ref_start, ref_end and, when need_score is nonzero, score (any order; more
 * columns ignored; without need_score a score column is ignored too). Numbers
 * use Python float() syntax. Refused with VS_ERR_FORMAT and a message naming the
 * file and line: a missing column, an empty file, a row with too few fields, a
 * value that is not a number or not finite (NaN, inf), an end before its start.
 * Rows are kept in file order, repeated rows included. Caller frees *out with
 * vs_eval_segments_free. */
VS_API vs_status vs_eval_segments_load(vs_eval_segments **out, const char *path, int need_score);
/* An empty set of rows, to fill with vs_eval_segments_add. */
VS_API vs_status vs_eval_segments_create(vs_eval_segments **out);
/* Append one row (strings are copied). Non-finite values or an end before its
 * start give VS_ERR_INVALID_ARG. For ground truth the score is ignored. */
VS_API vs_status vs_eval_segments_add(vs_eval_segments *s, const char *query_id,
                                      const char *ref_id, double query_start, double query_end,
                                      double ref_start, double ref_end, double score);
/* Number of rows. */
VS_API size_t vs_eval_segments_count(const vs_eval_segments *s);
VS_API void vs_eval_segments_free(vs_eval_segments *s);

/* Read queries.json for the per-edit subsets of score_segments.py: every entry
 * (positive or negative query) adds its query_id to the subset of each edit in
 * its "edits" array; an absent or empty array adds it to none (there is no edit
 * "none" here, unlike vs_eval_queries_load). Entries must be objects, "edits" an
 * array of strings and, when it is not empty, "query_id" a string. */
VS_API vs_status vs_eval_segment_queries_load(vs_eval_segment_queries **out, const char *path);
VS_API void vs_eval_segment_queries_free(vs_eval_segment_queries *q);

/* Figures of one subset, in percent. */
typedef struct vs_eval_segment_figures {
    const char *subset; /* "all" or an edit name; owned by the report */
    double segment_ap;  /* segment AP in [0, 100]; 0 when the gt has no length */
    double pair_uap;    /* uAP of the best score per pair against the gt pairs; 0 if none */
    long n_gt_pairs;    /* distinct (query, ref) pairs of the subset's gt */
} vs_eval_segment_figures;

typedef struct vs_eval_segment_report {
    size_t n;                         /* number of subsets */
    vs_eval_segment_figures *subsets; /* [n]: "all" first, then edits in byte order */
} vs_eval_segment_report;

/* Score pred against gt. "all" uses every row of both files (with or without
 * queries). With queries, one subset per edit follows, restricted to the rows of
 * the queries carrying that edit; an edit whose subset has no gt row is left out,
 * and an edit named "all" replaces the overall figures (score_segments.py's dict).
 * Equal pair scores in pair_uap keep the order in which the pairs first appear in
 * pred (Python's stable sort of a dict). Time O(P log P + subsets * (P + G)) for
 * P predictions and G gt rows, with per-pair incremental state. Caller frees *out
 * with vs_eval_segment_report_free. */
VS_API vs_status vs_eval_segment_score(vs_eval_segment_report **out, const vs_eval_segments *gt,
                                       const vs_eval_segments *pred,
                                       const vs_eval_segment_queries *queries);
VS_API void vs_eval_segment_report_free(vs_eval_segment_report *r);

#ifdef __cplusplus
}
#endif

#endif /* VIDSIM_EVAL_H */
