/*
 * cmd_dedup.c - `vidsim dedup --index DIR`: the options and the output of vs_dedup
 * (search.h): every pair of indexed videos scoring >= S in both directions, best
 * first, then the damaged entries that were left out (exit status 1 unless
 * --allow-partial).
 */
#define _POSIX_C_SOURCE 200809L
#include "search_print.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_dedup(int argc, char **argv) {
    const char *dir = NULL, *format = "csv", *model = "visil_f";
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double thr = 0.5;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: vidsim dedup --index DIR [--threshold S] [--format csv|jsonl] [--model M] [-j N]\n"
                   "                    [--allow-partial]\n"
                   "  every pair of indexed videos scoring >= S (default 0.5) in both directions (the\n"
                   "  score is the mean of the two), best first: query_id,ref_id,score with query_id < ref_id\n"
                   "  in catalogue order. Indexed videos whose feature file is damaged are left out, listed\n"
                   "  after the pairs (stderr; jsonl also gets {\"ref_id\",\"skipped\",\"error\"} rows) and make\n"
                   "  the exit status 1, unless --allow-partial\n");
            return 0;
        }
    const int allow_partial = cli_take_flag(&argc, argv, "--allow-partial");
    int prc = cli_search_parse(argc, argv, "dedup", &dir, NULL, &thr, &format, &model, NULL, &threads, NULL, NULL);
    if (prc) return prc;
    int jsonl = !strcmp(format, "jsonl"), rc = 1;
    vs_index *idx = NULL;
    vs_dedup_result *r = NULL;
    vs_search_params p = vs_search_default_params();
    p.threshold = thr;
    p.model = model;
    p.n_threads = threads;
    p.cmd = "dedup";
    p.note = cli_search_note;
    p.note_user = (void *)"dedup";
    if (vs_index_open(&idx, dir, VS_INDEX_READONLY) != VS_OK || vs_dedup(idx, &p, &r) != VS_OK) {
        fprintf(stderr, "vidsim dedup: %s\n", vs_last_error());
        goto out;
    }
    if (!jsonl) puts("query_id,ref_id,score");
    for (long k = 0; k < r->n; k++) cli_print_row(jsonl, r->pairs[k].a, r->pairs[k].b, r->pairs[k].score);
    rc = cli_skip_report(&r->skipped, "dedup", idx, jsonl, allow_partial);
out:
    vs_dedup_result_free(r);
    vs_index_close(idx);
    return fflush(stdout) ? 1 : rc;
}
