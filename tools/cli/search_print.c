/*
 * search_print.c - what `vidsim search` and `vidsim dedup` print around the library's
 * search engine (search.h): result rows (CSV or JSON Lines), segment rows, error rows
 * of failed queries, the notes the engine sends, and the report of skipped damaged
 * entries with its remedy, and vs_search_params_check's refusals in option names. No
 * searching here.
 */
#define _POSIX_C_SOURCE 200809L
#include "search_print.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* vs_search_params_check words its refusals in vs_search_params' field names: the
 * options of `vidsim search` that set them (whole words, longest first). */
static const char *const PARAM_WORDS[][2] = {
    {"first_stage gvec", "--first-stage gvec"}, {"two_stage_k", "--top-k"}, {"gvec_segments", "--gvec-segments"},
    {"gvec_whiten", "--gvec-whiten"},
    {"first_stage", "--first-stage"},           {"store_clip", "--store-gvec"}, {"mode hash_only", "--hash-only"},
    {"mode two_stage", "--two-stage"},          {"mode clip", "--model clip"}, {"mode exhaustive", "exhaustive search"},
    {"sim_precision", "--sim-precision"},       {"segments", "--segments"},     {"threshold", "--threshold"},
    {"top", "--top"}};
enum { N_PARAM_WORDS = sizeof PARAM_WORDS / sizeof *PARAM_WORDS };

static int word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

int cli_search_params_error(const char *cmd, const char *msg) {
    char out[2048];
    size_t o = 0;
    for (const char *m = msg; *m && o + 1 < sizeof out;) {
        int k = N_PARAM_WORDS;
        size_t len = 0;
        if (m == msg || !word_char(m[-1]))
            for (k = 0; k < N_PARAM_WORDS; k++) {
                len = strlen(PARAM_WORDS[k][0]);
                if (!strncmp(m, PARAM_WORDS[k][0], len) && !word_char(m[len])) break;
            }
        if (k == N_PARAM_WORDS) {
            out[o++] = *m++;
            continue;
        }
        int w = snprintf(out + o, sizeof out - o, "%s", PARAM_WORDS[k][1]);
        o = w > 0 && o + (size_t)w < sizeof out ? o + (size_t)w : sizeof out - 1;
        m += len;
    }
    out[o] = 0;
    return cli_usage_error(cmd, "%s", out);
}

void cli_search_note(void *user, const char *msg) {
    fprintf(stderr, "vidsim %s: %s\n", (const char *)user, msg);
}

static int find_model(void *user, const char *name, char *path, size_t n) {
    (void)user;
    return cli_model_path(name, path, n);
}

vs_model_locator cli_models(void) {
    vs_model_locator l = {NULL, find_model, NULL};
    return l;
}

void cli_print_row(int jsonl, const char *q, const char *r, float score) {
    if (jsonl) {
        fputs("{\"query_id\":", stdout);
        cli_json_str(stdout, q);
        fputs(",\"ref_id\":", stdout);
        cli_json_str(stdout, r);
        fputs(",\"score\":", stdout);
        cli_json_num(stdout, "%.6f", score);
        fputs("}\n", stdout);
    } else {
        cli_csv_str(stdout, q);
        fputc(',', stdout);
        cli_csv_str(stdout, r);
        printf(",%.6f\n", score);
    }
}

void cli_print_explained(int jsonl, const char *q, const vs_search_hit *h) {
    if (jsonl) {
        fputs("{\"query_id\":", stdout);
        cli_json_str(stdout, q);
        fputs(",\"ref_id\":", stdout);
        cli_json_str(stdout, h->name);
        fputs(",\"score\":", stdout);
        cli_json_num(stdout, "%.6f", h->score);
        fputs(",\"raw\":", stdout);
        cli_json_num(stdout, "%.6f", h->raw);
        fputs(",\"query_level\":", stdout);
        cli_json_num(stdout, "%.6f", h->query_level);
        fputs(",\"ref_level\":", stdout);
        cli_json_num(stdout, "%.6f", h->ref_level);
        fputs("}\n", stdout);
    } else {
        cli_csv_str(stdout, q);
        fputc(',', stdout);
        cli_csv_str(stdout, h->name);
        printf(",%.6f,%.6f,%.6f,%.6f\n", h->score, h->raw, h->query_level, h->ref_level);
    }
}

static void print_segment(int jsonl, const char *q, const char *r, const vs_segment *g) {
    if (jsonl) {
        fputs("{\"query_id\":", stdout);
        cli_json_str(stdout, q);
        fputs(",\"ref_id\":", stdout);
        cli_json_str(stdout, r);
        printf(",\"query_start\":%.3f,\"query_end\":%.3f,\"ref_start\":%.3f,\"ref_end\":%.3f,\"score\":",
               g->query_start, g->query_end, g->ref_start, g->ref_end);
        cli_json_num(stdout, "%.6f", g->score);
        fputs("}\n", stdout);
    } else {
        cli_csv_str(stdout, q);
        fputc(',', stdout);
        cli_csv_str(stdout, r);
        printf(",%.3f,%.3f,%.3f,%.3f,%.6f\n", g->query_start, g->query_end, g->ref_start, g->ref_end, g->score);
    }
}

void cli_print_result(int jsonl, int segments, const vs_search_result *r) {
    for (long k = 0; k < r->n; k++) {
        const vs_search_hit *h = &r->hits[k];
        if (!segments) {
            cli_print_row(jsonl, r->query_id, h->name, h->score);
            continue;
        }
        if (h->n_segments < 0) continue; /* its localisation failed (noted) */
        if (h->n_segments == 0) {
            /* a pair whose matrix held no signal gets one whole-video box, so that every
             * listed pair keeps its row */
            vs_segment whole;
            memset(&whole, 0, sizeof whole);
            whole.query_end = h->query_duration;
            whole.ref_end = h->ref_duration;
            whole.score = h->score;
            print_segment(jsonl, r->query_id, h->name, &whole);
        }
        for (int g = 0; g < h->n_segments; g++) print_segment(jsonl, r->query_id, h->name, &h->segments[g]);
    }
}

void cli_error_row(const char *name, const char *msg) {
    fputs("{\"query_id\":", stdout);
    cli_json_str(stdout, name);
    fputs(",\"error\":", stdout);
    cli_json_str(stdout, msg && *msg ? msg : "failed");
    fputs("}\n", stdout);
}

int cli_skip_report(const vs_search_skips *l, const char *cmd, vs_index *idx, int jsonl, int allow_partial) {
    return cli_skip_report_files(l, cmd, idx, jsonl, allow_partial, NULL, NULL);
}

int cli_skip_report_files(const vs_search_skips *l, const char *cmd, vs_index *idx, int jsonl, int allow_partial,
                          const char *pca, const char *calib) {
    if (l->n == 0) return 0;
    const char *dir = vs_index_dir(idx);
    /* the add options that give the index's model: backbone, precision and raw (from its
     * model id), and the whitening and int8 calibration files the command was given. An
     * int8 id holds a hash of its calibration, not the file: without calib, say so */
    vs_index_info info;
    vs_model_id id;
    char opts[160 + 2 * PATH_MAX] = "";
    const char *calib_note = "";
    if (vs_index_get_info(idx, &info) == VS_OK && info.model_id[0] && vs_model_id_parse(&id, info.model_id) == VS_OK) {
        int k = snprintf(opts, sizeof opts, " --backbone %s%s%s%s", id.backbone, id.precision ? " --precision " : "",
                         id.precision ? vs_precision_name(id.precision) : "", id.pca ? "" : " --raw");
        if (pca && id.pca && k > 0 && (size_t)k < sizeof opts)
            k += snprintf(opts + k, sizeof opts - (size_t)k, " --pca %s", pca);
        if (calib && id.precision == VS_PRECISION_INT8 && k > 0 && (size_t)k < sizeof opts)
            snprintf(opts + k, sizeof opts - (size_t)k, " --calib %s", calib);
        if (!calib && id.precision == VS_PRECISION_INT8)
            calib_note = "; the index's int8 model id holds a hash of its calibration, not the file: if the index "
                         "was added with --calib FILE, give index add the same --calib FILE";
    }
    if (jsonl)
        for (long i = 0; i < l->n; i++) {
            fputs("{\"ref_id\":", stdout);
            cli_json_str(stdout, l->v[i].name ? l->v[i].name : "");
            fputs(",\"skipped\":", stdout);
            cli_json_str(stdout, l->v[i].path ? l->v[i].path : "");
            fputs(",\"error\":", stdout);
            cli_json_str(stdout, l->v[i].why ? l->v[i].why : "");
            fputs("}\n", stdout);
        }
    fflush(stdout);
    fprintf(stderr, "vidsim %s: %s: %ld indexed video%s left out of the results: %s feature file is damaged%s\n", cmd,
            allow_partial ? "warning" : "results are partial", l->n, l->n == 1 ? " was" : "s were",
            l->n == 1 ? "its" : "their", allow_partial ? " (--allow-partial)" : "");
    for (long i = 0; i < l->n; i++)
        fprintf(stderr, "  skipped %s: %s\n", l->v[i].path ? l->v[i].path : "?", l->v[i].why ? l->v[i].why : "?");
    fprintf(stderr, "vidsim %s: to heal, run `vidsim index add --index %s%s PATH...` on %s (it extracts again "
                    "videos whose feature file is damaged), or `vidsim index verify --index %s --repair` to remove "
                    "them%s%s\n",
            cmd, dir, opts, l->n == 1 ? "that video" : "those videos", dir, calib_note,
            allow_partial ? "" : "; --allow-partial accepts partial results with exit status 0");
    return !allow_partial;
}

int cli_take_flag(int *argc, char **argv, const char *flag) {
    int found = 0, k = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], flag)) found = 1;
        else argv[k++] = argv[i];
    }
    *argc = k;
    argv[k] = NULL;
    return found;
}
