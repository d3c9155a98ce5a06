/*
 * search_clip.c - `vidsim search --model clip[:MODEL]`: the options and the output of
 * the library's clip-vector search (search.h, VS_SEARCH_CLIP: 3D-CSL-F clip vectors,
 * top-k Chamfer similarity, both directions averaged by default; reference vectors
 * from the index's extras or computed, --store writes them). Video queries are
 * extracted with the index's model, --pca and --calib as in the normal search. Output
 * as `vidsim search`: query_id,ref_id,score.
 */
#define _POSIX_C_SOURCE 200809L
#include "search_print.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: vidsim search --index DIR --model clip[:MODEL] QUERY... [options]\n"
               "  clip, clip:mean  training-free: mean of each clip's region features (the default: the\n"
               "                   bundled trained model scores below it, docs/hard_copies.md)\n"
               "  clip:bundled     the bundled clip model for the index's backbone (models/clip_<backbone>.vstf)\n"
               "  clip:MODEL       a model file from `vidsim train-clip`\n"
               "  --top K          best K matches per query (default 10; 0 = all)\n"
               "  --threshold S    only scores >= S\n"
               "  --format F       csv (default) or jsonl\n"
               "  --direction D    sym (default: mean of both directions) or q2r (3D-CSL's)\n"
               "  --pca FILE       whitening file for video queries (default: the bundled one)\n"
               "  --calib FILE     int8 calibration for video queries of an int8 index, the one it was\n"
               "                   added with (`index add --calib`; default: the bundled one)\n"
               "  --store          write the reference clip vectors into the index (extras, kind\n"
               "                   \"clip\") so later searches do not recompute them\n"
               "  --allow-partial  exit 0 even if damaged index entries had to be left out (listed)\n");
}

int cli_search_clip(int argc, char **argv) {
    const char *dir = NULL, *model = NULL, *format = "csv", *pca = NULL, *calib = NULL;
    int top = 10, sym = 1, store = 0, npos = 0, rc = 1;
    double thr = -1e30;
    char **pos = calloc((size_t)argc + 1, sizeof(char *));
    if (!pos) return 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(pos);
            return 0;
        }
    const int allow_partial = cli_take_flag(&argc, argv, "--allow-partial");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int val = !strcmp(a, "--index") || !strcmp(a, "--model") || !strcmp(a, "--top") ||
                  !strcmp(a, "--threshold") || !strcmp(a, "--format") || !strcmp(a, "--pca") ||
                  !strcmp(a, "--calib") || !strcmp(a, "--direction") || !strcmp(a, "-j");
        if (val && !(v = cli_opt_value("search", argc, argv, &i))) goto usage_error;
        if (!strcmp(a, "--index")) dir = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--top")) {
            if (cli_parse_int("search", "--top", v, 0, INT_MAX, &top)) goto usage_error;
        } else if (!strcmp(a, "--threshold")) {
            if (cli_parse_double("search", "--threshold", v, -HUGE_VAL, HUGE_VAL, &thr)) goto usage_error;
        } else if (!strcmp(a, "--format")) {
            static const char *const fmts[] = {"csv", "jsonl"};
            if (cli_parse_choice("search", "--format", v, fmts, 2) < 0) goto usage_error;
            format = v;
        } else if (!strcmp(a, "--pca")) pca = v;
        else if (!strcmp(a, "--calib")) calib = v;
        else if (!strcmp(a, "--direction")) {
            static const char *const dirs[] = {"sym", "q2r"};
            int d = cli_parse_choice("search", "--direction", v, dirs, 2);
            if (d < 0) goto usage_error;
            sym = d == 0;
        } else if (!strcmp(a, "-j")) { /* encoding is cheap: single-threaded, but the value is checked */
            int j;
            if (cli_parse_int("search", "-j", v, 1, INT_MAX, &j)) goto usage_error;
        } else if (!strcmp(a, "--store")) store = 1;
        else if (a[0] == '-' && a[1]) {
            cli_unknown_option("search", a);
            goto usage_error;
        } else pos[npos++] = argv[i];
    }
    if (!dir) {
        cli_usage_error("search", "--index DIR is required");
        goto usage_error;
    }
    if (!model || strncmp(model, "clip", 4) || (model[4] && model[4] != ':')) {
        cli_usage_error("search", "--model must be clip or clip:MODEL here, got '%s'", model ? model : "");
        goto usage_error;
    }
    if (!npos) {
        cli_usage_error("search", "no QUERY given (an indexed video, a feature file or a video file)");
        goto usage_error;
    }
    if (0) {
    usage_error:
        free(pos);
        return 2;
    }
    int jsonl = !strcmp(format, "jsonl");
    vs_index *idx = NULL;
    vs_searcher *s = NULL;
    vs_search_params sp = vs_search_default_params();
    sp.mode = VS_SEARCH_CLIP;
    sp.top = top;
    sp.threshold = thr;
    sp.symmetric = sym;
    sp.model = model;
    sp.pca = pca;
    sp.calib = calib;
    sp.store_clip = store;
    sp.models = cli_models();
    sp.note = cli_search_note;
    sp.note_user = (void *)"search";
    if (vs_search_params_check(&sp) != VS_OK) {
        free(pos);
        return cli_search_params_error("search", vs_last_error());
    }
    if (vs_index_open(&idx, dir, store ? 0 : VS_INDEX_READONLY) != VS_OK || vs_searcher_create(&s, idx, &sp) != VS_OK) {
        fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        goto out;
    }
    if (!jsonl) puts("query_id,ref_id,score");
    int bad = 0;
    for (int qi = 0; qi < npos; qi++) {
        vs_search_result *r = NULL;
        if (vs_searcher_query(s, pos[qi], &r) != VS_OK) {
            bad++;
            if (jsonl) cli_error_row(vs_searcher_query_name(s), vs_last_error());
            continue;
        }
        cli_print_result(jsonl, 0, r);
        vs_search_result_free(r);
    }
    rc = bad ? 1 : 0;
    if (cli_skip_report(vs_searcher_skipped(s), "search", idx, jsonl, allow_partial)) rc = 1;
out:
    vs_searcher_free(s);
    vs_index_close(idx);
    free(pos);
    return fflush(stdout) ? 1 : rc;
}
