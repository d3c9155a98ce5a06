/*
 * eval_print.c - the output of `vidsim eval` (cmd_eval.c): a benchmark report, a
 * segment report and a dataset's metrics as text (score.py's tables), JSON or CSV.
 * Printing only.
 */
#include "eval_print.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* strict JSON: NaN and infinities (never expected in a metric) as null */
static void json_num(double v) {
    if (!isfinite(v)) printf("null");
    else printf("%.17g", v);
}

static void csv_num(double v) {
    if (isnan(v)) printf("nan");
    else printf("%.17g", v);
}

int cli_eval_print_report(const vs_eval_report *r, const char *format) {
    if (!strcmp(format, "json")) {
        printf("{");
        for (size_t i = 0; i < r->n; i++) {
            const vs_eval_figures *f = &r->subsets[i];
            printf("%s\n ", i ? "," : "");
            cli_json_str(stdout, f->subset);
            printf(": {\"uAP\": ");
            json_num(f->uap);
            printf(", \"mAP\": ");
            json_num(f->map);
            printf(", \"R@1\": ");
            json_num(f->r1);
            printf(", \"queries\": %ld, \"positive_queries\": %ld, \"positive_pairs\": %ld, "
                   "\"predicted_pairs\": %ld}",
                   f->n_queries, f->n_positive_queries, f->n_positive_pairs, f->n_predicted_pairs);
        }
        printf("\n}\n");
    } else if (!strcmp(format, "csv")) {
        printf("subset,uAP,mAP,R@1,queries,positive_queries,positive_pairs,predicted_pairs\n");
        for (size_t i = 0; i < r->n; i++) {
            const vs_eval_figures *f = &r->subsets[i];
            cli_csv_str(stdout, f->subset);
            putchar(',');
            csv_num(f->uap);
            putchar(',');
            csv_num(f->map);
            putchar(',');
            csv_num(f->r1);
            printf(",%ld,%ld,%ld,%ld\n", f->n_queries, f->n_positive_queries, f->n_positive_pairs,
                   f->n_predicted_pairs);
        }
    } else {
        /* score.py's table, byte for byte */
        printf("%-16s %7s %7s %7s %8s\n", "subset", "uAP", "mAP", "R@1", "queries");
        for (size_t i = 0; i < r->n; i++) {
            const vs_eval_figures *f = &r->subsets[i];
            printf("%-16s %7.1f %7.1f %7.1f %8ld\n", f->subset, f->uap, f->map, f->r1,
                   f->n_positive_queries);
        }
    }
    return 0;
}

int cli_eval_print_segment_report(const vs_eval_segment_report *r, const char *format) {
    if (!strcmp(format, "json")) {
        printf("{");
        for (size_t i = 0; i < r->n; i++) {
            const vs_eval_segment_figures *f = &r->subsets[i];
            printf("%s\n ", i ? "," : "");
            cli_json_str(stdout, f->subset);
            printf(": {\"segmentAP\": ");
            json_num(f->segment_ap);
            printf(", \"pair_uAP\": ");
            json_num(f->pair_uap);
            printf(", \"gt_pairs\": %ld}", f->n_gt_pairs);
        }
        printf("\n}\n");
    } else if (!strcmp(format, "csv")) {
        printf("subset,segmentAP,pair_uAP,gt_pairs\n");
        for (size_t i = 0; i < r->n; i++) {
            const vs_eval_segment_figures *f = &r->subsets[i];
            cli_csv_str(stdout, f->subset);
            putchar(',');
            csv_num(f->segment_ap);
            putchar(',');
            csv_num(f->pair_uap);
            printf(",%ld\n", f->n_gt_pairs);
        }
    } else {
        /* score_segments.py's table */
        printf("%-16s%8s%10s%7s\n", "subset", "segAP", "pair_uAP", "pairs");
        for (size_t i = 0; i < r->n; i++) {
            const vs_eval_segment_figures *f = &r->subsets[i];
            printf("%-16s%8.1f%10.1f%7ld\n", f->subset, f->segment_ap, f->pair_uap, f->n_gt_pairs);
        }
    }
    return 0;
}

int cli_eval_print_metrics(const vs_eval_metrics *m, const char *format) {
    if (!strcmp(format, "json")) {
        printf("{");
        for (size_t i = 0; i < m->n; i++) {
            printf("%s\n ", i ? "," : "");
            cli_json_str(stdout, m->m[i].name);
            printf(": ");
            json_num(m->m[i].value);
        }
        printf("%s\n \"missing_queries\": %ld\n}\n", m->n ? "," : "", m->n_missing_queries);
    } else if (!strcmp(format, "csv")) {
        printf("metric,value\n");
        for (size_t i = 0; i < m->n; i++) {
            cli_csv_str(stdout, m->m[i].name);
            putchar(',');
            csv_num(m->m[i].value);
            putchar('\n');
        }
    } else {
        if (m->n_missing_queries)
            printf("warning: %ld queries are missing from the similarities and are ignored\n",
                   m->n_missing_queries);
        for (size_t i = 0; i < m->n; i++) printf("%-12s %.4f\n", m->m[i].name, m->m[i].value);
    }
    return 0;
}

/* Read a list of ids, one per line (blank lines skipped). */
