/*
 * cmd_eval.c - `vidsim eval`: score predictions against a benchmark's gt.csv (the
 * figures of shared/bench/score.py: muAP, mAP, R@1, overall and per edit), its
 * copied segments (--segments: the segment AP of shared/bench/score_segments.py),
 * or against a published dataset's converted annotations (FIVR, VCDB, EVVE,
 * CC_WEB_VIDEO). A thin user of include/vidsim/eval.h; prints text, JSON or CSV.
 */
#include "cli.h"
#include "eval_print.h"
#include "vidsim/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: vidsim eval --gt GT.csv --pred PRED.csv [--queries QUERIES.json]\n"
            "                   [--format text|json|csv]\n"
            "       vidsim eval --segments --gt GT.csv --pred PRED.csv [--queries QUERIES.json]\n"
            "                   [--format text|json|csv]\n"
            "       vidsim eval --dataset ANNOTATION.json --pred SIMS.csv [--all-db IDS.txt]\n"
            "                   [--fivr-version 200k|5k] [--fivr-audio] [--distractors]\n"
            "                   [--ties input|pessimistic] [--format text|json|csv]\n"
            "\n"
            "Benchmark mode computes what shared/bench/score.py computes, in percent:\n"
            "  uAP  all predicted pairs of all queries ranked together by score; positives\n"
            "       never predicted count as missed\n"
            "  mAP  mean over queries with a copy of the AP of the query's own ranking\n"
            "  R@1  share of queries with a copy whose top-ranked ref is a true one\n"
            "Ties rank negatives first. PRED.csv has a header with query_id,ref_id,score\n"
            "(more columns are ignored); a pair listed twice keeps its highest score.\n"
            "With --queries, figures per edit follow, each over the positive queries with\n"
            "that edit plus every negative query.\n"
            "\n"
            "Segment mode (--segments) computes what shared/bench/score_segments.py computes:\n"
            "the VSC22 matching-track segment AP. GT.csv and PRED.csv have a header with\n"
            "query_id,ref_id,query_start,query_end,ref_start,ref_end (seconds), PRED.csv\n"
            "also score. Predictions are taken by score, descending, equal scores as one\n"
            "step; per (query, ref) pair the predicted boxes are projected on each axis and\n"
            "merged, and a gt box counts once a prediction of its pair overlaps it in both\n"
            "axes. Per axis recall = |pred & gt| / |gt|, precision = |pred & gt| / |pred|;\n"
            "R = sqrt(Rq*Rr), P = sqrt(Pq*Pr), segmentAP = sum of P * dR, in percent.\n"
            "pair_uAP is the uAP of the best score per pair (equal scores in order of first\n"
            "appearance in PRED.csv); gt_pairs counts the gt pairs. With --queries, figures\n"
            "per edit follow, over the gt and predictions of the queries with that edit\n"
            "(negative ones included; edits with no gt row are left out).\n"
            "\n"
            "Dataset mode runs the S2VS evaluation protocol of the dataset named in the\n"
            "annotation file (made by reference/python/convert_annotations.py); SIMS.csv\n"
            "holds query_id,ref_id,score similarities; figures are fractions in [0, 1].\n"
            "--all-db lists (one per line) the videos that could be obtained; others are\n"
            "removed from the ground truth. --fivr-audio: the duplicate-audio tasks (DAVR,\n"
            "DAVD); --distractors: VCDB with its background videos (VCDB-DIST).\n"
            "\n"
            "Text output is score.py's table (score_segments.py's with --segments); json and\n"
            "csv give every figure in full precision (NaN, an undefined figure, is null in\n"
            "JSON and nan in CSV).\n");
}

static int run_segments(const char *gt_path, const char *pred_path, const char *q_path,
                        const char *format) {
    vs_eval_segments *gt = NULL, *pred = NULL;
    vs_eval_segment_queries *qs = NULL;
    vs_eval_segment_report *rep = NULL;
    int rc = 1;
    if (vs_eval_segments_load(&gt, gt_path, 0) != VS_OK ||
        vs_eval_segments_load(&pred, pred_path, 1) != VS_OK ||
        (q_path && vs_eval_segment_queries_load(&qs, q_path) != VS_OK) ||
        vs_eval_segment_score(&rep, gt, pred, qs) != VS_OK) {
        fprintf(stderr, "vidsim eval: %s\n", vs_last_error());
        goto out;
    }
    rc = cli_eval_print_segment_report(rep, format);
out:
    vs_eval_segment_report_free(rep);
    vs_eval_segment_queries_free(qs);
    vs_eval_segments_free(pred);
    vs_eval_segments_free(gt);
    return rc;
}

static int read_ids(const char *path, char ***ids, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vidsim eval: %s: cannot open\n", path);
        return -1;
    }
    char line[4096];
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        size_t l = strcspn(line, "\r\n");
        line[l] = 0;
        if (!l) continue;
        char *copy = strdup(line);
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **ni = realloc(*ids, cap * sizeof *ni);
            if (ni) *ids = ni;
            else cap = *n;
        }
        if (!copy || *n == cap) {
            free(copy);
            fclose(f);
            fprintf(stderr, "vidsim eval: %s: out of memory\n", path);
            return -1;
        }
        (*ids)[(*n)++] = copy;
    }
    fclose(f);
    return 0;
}

static int run_dataset(const char *ds_path, const char *pred_path, const char *all_db_path,
                       const vs_eval_dataset_params *prm, const char *format) {
    vs_eval_dataset *ds = NULL;
    vs_eval_pred *pred = NULL;
    vs_eval_metrics *m = NULL;
    char **ids = NULL;
    size_t n_ids = 0;
    int rc = 1;
    if (vs_eval_dataset_load(&ds, ds_path) != VS_OK || vs_eval_pred_load(&pred, pred_path) != VS_OK) {
        fprintf(stderr, "vidsim eval: %s\n", vs_last_error());
        goto out;
    }
    if (all_db_path && read_ids(all_db_path, &ids, &n_ids) != 0) goto out;
    if (vs_eval_dataset_evaluate(&m, ds, pred, (const char *const *)ids, n_ids, prm) != VS_OK) {
        fprintf(stderr, "vidsim eval: %s\n", vs_last_error());
        goto out;
    }
    rc = cli_eval_print_metrics(m, format);
out:
    for (size_t i = 0; i < n_ids; i++) free(ids[i]);
    free(ids);
    vs_eval_metrics_free(m);
    vs_eval_pred_free(pred);
    vs_eval_dataset_free(ds);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    const char *gt_path = NULL, *pred_path = NULL, *q_path = NULL, *format = "text";
    const char *ds_path = NULL, *all_db = NULL;
    vs_eval_dataset_params prm = vs_eval_dataset_default_params();
    int segments = 0;
    static const char *const valopts[] = {"--gt", "--pred", "--queries", "--format", "--dataset", "--all-db",
                                          "--fivr-version", "--ties", NULL};
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--gt")             ? &gt_path
                           : !strcmp(a, "--pred")         ? &pred_path
                           : !strcmp(a, "--queries")      ? &q_path
                           : !strcmp(a, "--format")       ? &format
                           : !strcmp(a, "--dataset")      ? &ds_path
                           : !strcmp(a, "--all-db")       ? &all_db
                           : !strcmp(a, "--fivr-version") ? &prm.fivr_version
                                                          : NULL;
        if (dst) {
            if (!(*dst = cli_opt_value("eval", argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--segments")) {
            segments = 1;
        } else if (!strcmp(a, "--distractors")) {
            prm.vcdb_distractors = true;
        } else if (!strcmp(a, "--fivr-audio")) {
            prm.fivr_audio = true;
        } else if (!strcmp(a, "--ties")) {
            static const char *const ties[] = {"input", "pessimistic"};
            const char *v = cli_opt_value("eval", argc, argv, &i);
            int t = v ? cli_parse_choice("eval", "--ties", v, ties, 2) : -1;
            if (t < 0) return 2;
            prm.ties = t == 0 ? VS_EVAL_TIES_INPUT_ORDER : VS_EVAL_TIES_PESSIMISTIC;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else return cli_unknown_option("eval", a);
    }
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "csv")) {
        return cli_usage_error("eval", "--format must be text, json or csv, got '%s'", format);
    }
    if (!pred_path || (!gt_path == !ds_path)) {
        if (!pred_path) return cli_usage_error("eval", "--pred FILE is required");
        if (gt_path) return cli_usage_error("eval", "give one of --gt or --dataset, not both");
        return cli_usage_error("eval", "--gt FILE or --dataset DIR is required");
    }
    if (segments) {
        if (ds_path) {
            return cli_usage_error("eval", "--segments scores a benchmark's gt.csv, not --dataset");
        }
        return run_segments(gt_path, pred_path, q_path, format);
    }
    if (ds_path) return run_dataset(ds_path, pred_path, all_db, &prm, format);

    vs_eval_gt *gt = NULL;
    vs_eval_pred *pred = NULL;
    vs_eval_queries *qs = NULL;
    vs_eval_report *rep = NULL;
    int rc = 1;
    if (vs_eval_gt_load(&gt, gt_path) != VS_OK || vs_eval_pred_load(&pred, pred_path) != VS_OK ||
        (q_path && vs_eval_queries_load(&qs, q_path) != VS_OK) ||
        vs_eval_score(&rep, gt, pred, qs) != VS_OK) {
        fprintf(stderr, "vidsim eval: %s\n", vs_last_error());
        goto out;
    }
    rc = cli_eval_print_report(rep, format);
out:
    vs_eval_report_free(rep);
    vs_eval_queries_free(qs);
    vs_eval_pred_free(pred);
    vs_eval_gt_free(gt);
    return rc;
}
