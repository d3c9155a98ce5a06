/*
 * cmd_dedup.c - `vidsim dedup --index DIR`: the options and the output of vs_dedup
 * (search.h): every pair of indexed videos scoring >= S in both directions, best
 * first, then the damaged entries that were left out (exit status 1 unless
 * --allow-partial); --groups prints the connected components of the pairs and
 * --hide-rejected leaves out pairs marked not_duplicate (index verdicts). Under
 * mpirun the similarity rows are split over the ranks and rank 0 prints (docs/mpi.md).
 */
#define _POSIX_C_SOURCE 200809L
#include "search_print.h"
#include "vidsim/dist.h"
#include "vidsim/norm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_dedup(int argc, char **argv) {
    const char *dir = NULL, *format = "csv", *model = "visil_f";
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double thr = 0;
    vs_norm_operating_point(VS_NORM_DEDUP_POINT, &thr); /* docs/search.md "Operating points" */
    int norm = 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: vidsim dedup --index DIR [--threshold S] [--format csv|jsonl] [--model M] [-j N]\n"
                   "                    [--norm on|off] [--temporal W] [--allow-partial] [--groups] [--hide-rejected]\n"
                   "  every pair of indexed videos scoring >= S in both directions (the mean of the two,\n"
                   "  normalised as search's: minus both videos' background levels), best first:\n"
                   "  query_id,ref_id,score,exact with query_id < ref_id in catalogue order; exact is\n"
                   "  same_bytes (identical files, compared in full) or same_frames (identical decoded\n"
                   "  frames: another container or stream copy), found without the network, else empty.\n"
                   "  S defaults to p90 (-0.040: 91 %% pair precision, 88 %% recall on the dev benchmark;\n"
                   "  p95, p99 or a number; docs/search.md \"Operating points\"); with --norm off the raw\n"
                   "  similarity is used and S defaults to 0.5.\n"
                   "  Indexed videos whose feature file is damaged are left out, listed\n"
                   "  after the pairs (stderr; jsonl also gets {\"ref_id\",\"skipped\",\"error\"} rows) and make\n"
                   "  the exit status 1, unless --allow-partial\n"
                   "  --groups          print duplicate groups instead (connected components of the pairs, best\n"
                   "                    first): group,name,best_score, one row per member (jsonl: one object a group)\n"
                   "  --hide-rejected   leave out pairs a reviewer marked not_duplicate (`vidsim serve`)\n"
                   "  --temporal W      0..1: weight of temporal consistency in the ViSiL_f score (default 0.5;\n"
                   "                    0: the published ViSiL_f; as search's)\n");
            return 0;
        }
    const int allow_partial = cli_take_flag(&argc, argv, "--allow-partial");
    const int groups = cli_take_flag(&argc, argv, "--groups");
    const int hide_rejected = cli_take_flag(&argc, argv, "--hide-rejected");
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--norm")) {
            if ((norm = cli_parse_onoff("dedup", "--norm", argv[i + 1])) < 0) return 2;
            for (int j = i; j + 2 <= argc; j++) argv[j] = argv[j + 2];
            argc -= 2;
            break;
        }
    int thr_given = 0;
    for (int i = 1; i < argc; i++) thr_given |= !strcmp(argv[i], "--threshold");
    int prc = cli_search_parse(argc, argv, "dedup", &dir, NULL, &thr, &format, &model, NULL, &threads, NULL, NULL);
    if (!prc && !norm && !thr_given) thr = 0.5;
    if (prc) return prc;
    int jsonl = !strcmp(format, "jsonl"), rc = 1;
    vs_index *idx = NULL;
    vs_dedup_result *r = NULL;
    vs_dedup_groups *g = NULL;
    vs_search_params p = vs_search_default_params();
    p.threshold = thr;
    p.normalize = norm;
    p.model = model;
    p.temporal = cli_search_temporal();
    if (cli_threshold_name() && !vs_search_params_operating_points_hold(&p))
        return cli_usage_error("dedup", "--threshold %s is measured for the normalised visil_f score: not with "
                                        "--norm off, another --model or another --temporal (give a number)",
                               cli_threshold_name());
    p.n_threads = threads;
    p.cmd = "dedup";
    p.note = cli_search_note;
    p.note_user = (void *)"dedup";
    /* vs_dist_dedup: vs_dedup, or its rows split over the MPI ranks (docs/mpi.md) */
    vs_status ost = vs_index_open(&idx, dir, VS_INDEX_READONLY);
    if (ost && vs_dist_size() > 1) {
        fprintf(stderr, "vidsim dedup: %s\n", vs_last_error());
        vs_dist_agree(0); /* the other ranks wait for this one in vs_dist_dedup's first exchange */
        goto out;
    }
    if (ost || vs_dist_dedup(idx, &p, &r) != VS_OK) {
        fprintf(stderr, "vidsim dedup: %s\n", vs_last_error());
        goto out;
    }
    if ((hide_rejected && vs_dedup_hide_rejected(idx, r, NULL) != VS_OK) || (groups && vs_dedup_groups_make(r, &g) != VS_OK)) {
        fprintf(stderr, "vidsim dedup: %s\n", vs_last_error());
        goto out;
    }
    if (groups) {
        if (!jsonl) puts("group,name,best_score");
        for (long i = 0; i < g->n; i++) {
            if (jsonl) {
                printf("{\"group\":%ld,\"n_pairs\":%ld,\"best_score\":", i + 1, g->v[i].n_pairs);
                cli_json_num(stdout, "%.6f", g->v[i].best_score);
                fputs(",\"members\":[", stdout);
            }
            for (long m = 0; m < g->v[i].n_members; m++) {
                if (jsonl) {
                    if (m) putchar(',');
                    cli_json_str(stdout, g->v[i].members[m]);
                } else {
                    printf("%ld,", i + 1);
                    cli_csv_str(stdout, g->v[i].members[m]);
                    printf(",%.6f\n", g->v[i].best_score);
                }
            }
            if (jsonl) puts("]}");
        }
    } else {
        static const char *const exact[] = {"", "same_bytes", "same_frames"};
        if (!jsonl) puts("query_id,ref_id,score,exact");
        for (long k = 0; k < r->n; k++) {
            const vs_dedup_pair *d = &r->pairs[k];
            const char *x = d->exact >= 0 && d->exact <= 2 ? exact[d->exact] : "";
            if (jsonl) {
                fputs("{\"query_id\":", stdout);
                cli_json_str(stdout, d->a);
                fputs(",\"ref_id\":", stdout);
                cli_json_str(stdout, d->b);
                fputs(",\"score\":", stdout);
                cli_json_num(stdout, "%.6f", d->score);
                fputs(",\"exact\":", stdout);
                if (x[0]) cli_json_str(stdout, x);
                else fputs("null", stdout);
                fputs("}\n", stdout);
            } else {
                cli_csv_str(stdout, d->a);
                fputc(',', stdout);
                cli_csv_str(stdout, d->b);
                printf(",%.6f,%s\n", d->score, x);
            }
        }
    }
    rc = vs_dist_rank() == 0 ? cli_skip_report(&r->skipped, "dedup", idx, jsonl, allow_partial) : 0;
out:
    vs_dedup_groups_free(g);
    vs_dedup_result_free(r);
    vs_index_close(idx);
    return fflush(stdout) ? 1 : rc;
}
