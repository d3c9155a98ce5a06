/*
 * cmd_search.c - `vidsim search --index DIR QUERY...`: the options and the output of
 * the library's search engine (search.h: exhaustive, two-stage, hash-only; clip
 * vectors in search_clip.c). A QUERY is an indexed video (name or path), a feature
 * file (.vsf), or a video file, extracted with the index's model. Rows
 * `query_id,ref_id,score` best first (or segment rows with --segments), CSV or JSON
 * Lines. Indexed videos whose feature file does not load are left out, listed after
 * the results and make the exit status 1 unless --allow-partial (docs/index.md
 * "Damaged entries"). docs/search.md.
 */
#define _POSIX_C_SOURCE 200809L
#include "dist_cli.h"
#include "search_print.h"
#include "vidsim/dist.h"
#include "vidsim/norm.h"
#include "vidsim/hamming.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cli_ts_opts {
    int on;                 /* --two-stage or --hash-only */
    int hash_only;
    long K;                 /* --top-k */
    int timing;
    const char *hash_model; /* NULL: the default */
    int segments;           /* --segments */
    int explain;            /* --explain */
    const char *first_stage; /* --first-stage (NULL: hash) */
    int store_gvec;         /* --store-gvec */
    int gvec_segments;      /* --gvec-segments (0: the library default) */
    const char *gvec_whiten; /* --gvec-whiten (NULL: the library default) */
} cli_ts_opts;

static const char SEG_HEADER[] = "query_id,ref_id,query_start,query_end,ref_start,ref_end,score";

static void search_usage(FILE *f) {
    fprintf(f, "usage: vidsim search --index DIR QUERY... [options]\n"
               "  QUERY            an indexed video (name or path), a feature file (.vsf) or a video file\n"
               "                   (extracted with the index's model: its backbone and precision, e.g. int8)\n"
               "  --top K          best K matches per query (default 10; 0 = all)\n"
               "  --threshold S    only scores >= S (default: none); p90, p95 or p99: the normalised\n"
               "                   ViSiL_f score that kept 90/95/99 %% pair precision on the dev\n"
               "                   benchmark (recall 0.87/0.81/0.70; docs/search.md \"Operating points\")\n"
               "  --format F       csv (default, header query_id,ref_id,score) or jsonl (a query that\n"
               "                   fails gets a {\"query_id\",\"error\"} row; with csv errors go to stderr)\n"
               "  --model M        visil_f (default, builtin) or a similarity model file\n"
               "                   (clip[:MODEL]: 3D-CSL-F clip vectors, see --model clip --help)\n"
               "  --pca FILE       whitening file for video queries (default: the bundled one)\n"
               "  --calib FILE     int8 calibration for video queries of an int8 index, the one it was\n"
               "                   added with (`index add --calib`; default: the bundled\n"
               "                   models/calib_BACKBONE.vstf; not read for an fp32 or bf16 index)\n"
               "  --direction D    sym (default: mean of query->ref and ref->query, +17 uAP for\n"
               "                   visil_f on the dev benchmark, docs/features.md) or q2r (S2VS's)\n"
               "  --explain        print each score with its parts: columns raw,query_level,ref_level\n"
               "                   (score = raw - query_level - ref_level), and how raw was made (stderr)\n"
               "  --norm on|off    on (default): scores normalised against the background, one\n"
               "                   scale for all queries: s - bg(query) - bg(ref) (docs/search.md\n"
               "                   \"Score normalisation\"; unrelated pairs mostly < 0); off: raw similarity\n"
               "  -j N             threads (default: number of cores)\n"
               "  --mirror-view on|off  on (default): also score each video query's mirror image and,\n"
               "                   when it finds a better best match, keep per reference the better\n"
               "                   view (+1.5 uAP on the dev draws; twice\n"
               "                   the query's extraction and scoring). A .vsf query's mirror view is\n"
               "                   its stored mirror block (`extract --mirror-view on`: the same results\n"
               "                   as its video); a .vsf without one and indexed queries have one view\n"
               "  --inset-view on|off  on (default): look for a picture-in-picture inset in each video\n"
               "                   query (a rectangle of persistent edges whose inside moves on its own)\n"
               "                   in the whole video or between two hard cuts, and when one is found\n"
               "                   also score the inset over that time as a view of its own, kept when\n"
               "                   it finds a better best match (docs/hard_copies.md \"The inset view\")\n"
               "  --sim-precision P  bf16 or fp32: the similarity model's frame-to-frame products in\n"
               "                   bfloat16 (AMX / AVX-512 BF16 through oneDNN): about 1.6x the pairs/s\n"
               "                   of ViSiL_f, scores within 1e-4, the same five-draw figures; default\n"
               "                   bf16 where the CPU has it, else fp32 (`vidsim --help` says which)\n"
               "  --temporal W     0..1: weight of temporal consistency in the ViSiL_f score, each frame\n"
               "                   pair mixed with the mean of its diagonal run (default 0.5; 0: the\n"
               "                   published ViSiL_f; docs/hard_copies.md \"Temporal consistency\")\n"
               "  --frame-levels B 0..1: weight of the references' frame levels in the ViSiL_f score\n"
               "                   (with --norm on): each reference frame's level against the index's\n"
               "                   background members, times B, taken off that frame's cells (default\n"
               "                   0.5; 0: none; docs/search.md \"Frame levels\")\n"
               "  --allow-partial  exit 0 even if damaged index entries had to be left out (they are\n"
               "                   still listed on stderr, and as {\"ref_id\",\"skipped\",\"error\"} rows\n"
               "                   in jsonl; without it such a search exits 1 after printing its results)\n"
               "two-stage search (docs/search.md):\n"
               "  --two-stage      rank the index by Hamming distance of binary codes first, then score\n"
               "                   only the --top-k best candidates with the similarity model\n"
               "  --top-k K        candidates re-scored per query (default 100)\n"
               "  --hash-only      print the hash stage's ranking (score = 1 - distance/bits)\n"
               "  --hash-model M   conmh_64.vstf in the models folder (default), a model file, or\n"
               "                   lsh64|lsh128|lsh256 (training-free baseline); codes stored by\n"
               "                   `vidsim index hash` are used, missing ones computed on the fly\n"
               "  --first-stage S  hash (default: the binary codes above) or gvec: global vectors (mean\n"
               "                   region vectors of equal temporal parts, see --gvec-segments) by inner\n"
               "                   product, exact below 50k vectors, else FAISS IVF when built with it;\n"
               "                   gvec:SPEC names the index (gvec:flat, gvec:faiss:HNSW32,\n"
               "                   gvec:faiss:IVF1024,Flat|nprobe=32). Implies --two-stage\n"
               "                   (docs/search.md \"Global-vector first stage\")\n"
               "  --gvec-segments S  vectors per video for gvec: the means of S equal temporal parts, a\n"
               "                   pair scoring its best part pair (default 4; 1 = one mean vector;\n"
               "                   at most 64). S times the vectors, about S^2 times the flat search\n"
               "  --gvec-whiten W  the learned whitening of the gvec vectors: the bundled\n"
               "                   gvec_whiten_<backbone>.vstf (default, when there), a file from\n"
               "                   `vidsim train-gvec`, or off (docs/scale.md)\n"
               "  --store-gvec     store the global vectors computed on the fly in the index\n"
               "  --timing         per-stage time per query on stderr\n"
               "localisation (docs/localize.md):\n"
               "  --segments       print where each listed pair matches: one row per copied segment,\n"
               "                   query_id,ref_id,query_start,query_end,ref_start,ref_end,score (seconds;\n"
               "                   the VSC22 matching-track CSV; jsonl has the same fields). The pair's\n"
               "                   best segment carries its score, later ones less. With --two-stage only\n"
               "                   the re-ranked candidates that are listed are localised\n");
}

/* The --threshold last parsed when it named an operating point (vs_norm_operating_point). */
static const char *named_threshold;

const char *cli_threshold_name(void) { return named_threshold; }

/* The --temporal last parsed (VS_TEMPORAL_DEFAULT when not given). */
static float temporal_opt = VS_TEMPORAL_DEFAULT;

float cli_search_temporal(void) { return temporal_opt; }

void cli_explain_note(const vs_search_params *sp) {
    if (sp->mode == VS_SEARCH_HASH_ONLY) {
        fprintf(stderr, "vidsim search: score = 1 - Hamming distance / bits of the %s codes\n",
                sp->hash_model ? sp->hash_model : VS_HASH_DEFAULT);
        return;
    }
    const int fl = sp->normalize && sp->frame_levels > 0.0f && (!sp->model || !strcmp(sp->model, "visil_f"));
    char fls[96] = "";
    if (fl)
        snprintf(fls, sizeof fls, ", the references' frame levels x %g taken off their frames", (double)sp->frame_levels);
    fprintf(stderr, "vidsim search: score = %s; raw = %s similarity of the region features (%s%s)%s\n",
            sp->normalize ? "raw - query_level - ref_level" : "raw (--norm off)", sp->model ? sp->model : "visil_f",
            sp->symmetric ? "mean of query->ref and ref->query" : "query->ref", fls,
            sp->normalize ? "; each level = the mean of that video's scores ranked 2..11 against the index "
                            "(docs/search.md \"Score normalisation\")"
                          : "");
}

/* The options search and dedup share. Returns 0, or 2 after a usage error. */
int cli_search_parse(int argc, char **argv, const char *cmd, const char **dir, int *top, double *thr,
                        const char **format, const char **model, const char **pca, int *threads, char **pos,
                        int *npos) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int val = !strcmp(a, "--index") || (!strcmp(a, "--top") && top) || !strcmp(a, "--threshold") ||
                  !strcmp(a, "--format") || !strcmp(a, "--model") || (!strcmp(a, "--pca") && pca) ||
                  !strcmp(a, "-j") || !strcmp(a, "--temporal");
        if (val && !(v = cli_opt_value(cmd, argc, argv, &i))) return 2;
        if (!strcmp(a, "--index")) *dir = v;
        else if (!strcmp(a, "--top") && top) {
            if (cli_parse_int(cmd, "--top", v, 0, INT_MAX, top)) return 2;
        } else if (!strcmp(a, "--threshold")) {
            named_threshold = vs_norm_operating_point(v, thr) ? v : NULL;
            if (!named_threshold && cli_parse_double(cmd, "--threshold", v, -HUGE_VAL, HUGE_VAL, thr)) return 2;
        } else if (!strcmp(a, "--format")) {
            static const char *const fmts[] = {"csv", "jsonl"};
            if (cli_parse_choice(cmd, "--format", v, fmts, 2) < 0) return 2;
            *format = v;
        } else if (!strcmp(a, "--model")) *model = v;
        else if (!strcmp(a, "--temporal")) {
            if (cli_parse_float(cmd, "--temporal", v, 0.0, 1.0, &temporal_opt)) return 2;
        } else if (!strcmp(a, "--pca") && pca) *pca = v;
        else if (!strcmp(a, "-j")) {
            if (cli_parse_int(cmd, "-j", v, 1, INT_MAX, threads)) return 2;
        } else if ((a[0] == '-' && a[1]) || !pos) return cli_unknown_option(cmd, a);
        else pos[(*npos)++] = argv[i];
    }
    if (!*dir) return cli_usage_error(cmd, "--index DIR is required");
    return 0;
}

/* Search every query and print; returns the exit status. */
static int run_search(const char *dir, char **pos, int npos, vs_search_params *sp, const cli_ts_opts *ts, int jsonl,
                      int allow_partial) {
    vs_index *idx = NULL;
    vs_searcher *s = NULL;
    int rc = 1;
    if (vs_index_open(&idx, dir, ts->store_gvec ? 0 : VS_INDEX_READONLY) != VS_OK ||
        (ts->store_gvec && vs_index_check_writable(idx) != VS_OK) || vs_searcher_create(&s, idx, sp) != VS_OK) {
        /* the library names its fields (first_stage: a bad gvec:SPEC); the CLI its options */
        const char *e = vs_last_error();
        int fs = !strncmp(e, "first_stage", 11), gs = !strncmp(e, "gvec_segments", 13);
        int gw = !strncmp(e, "gvec_whiten", 11);
        fprintf(stderr, "vidsim search: %s%s\n", fs ? "--first-stage" : gs ? "--gvec-segments" : gw ? "--gvec-whiten" : "",
                fs ? e + 11 : gs ? e + 13 : gw ? e + 11 : e);
        goto out;
    }
    if (!jsonl) puts(ts->segments ? SEG_HEADER : ts->explain ? "query_id,ref_id,score,raw,query_level,ref_level" : "query_id,ref_id,score");
    if (ts->explain) cli_explain_note(sp);
    int bad = 0;
    for (int qi = 0; qi < npos; qi++) {
        vs_search_result *r = NULL;
        int failed = vs_searcher_query(s, pos[qi], &r) != VS_OK;
        if (r && ts->explain) {
            for (long k = 0; k < r->n; k++) cli_print_explained(jsonl, r->query_id, &r->hits[k]);
            failed = r->n_failed > 0;
            vs_search_result_free(r);
        } else if (r) {
            cli_print_result(jsonl, ts->segments, r);
            failed = r->n_failed > 0;
            vs_search_result_free(r);
        }
        if (failed) {
            /* JSON Lines get an error row for a query that failed, after its rows */
            bad++;
            char name[PATH_MAX];
            cli_stem(pos[qi], name, sizeof name);
            if (jsonl) cli_error_row(name, vs_last_error());
        }
    }
    vs_search_timing t;
    vs_searcher_timing(s, &t);
    if (ts->timing && t.n_queries && ts->first_stage && !strncmp(ts->first_stage, "gvec", 4))
        fprintf(stderr, "two-stage: %ld queries, %ld videos' global vectors (%s): first stage %.3f ms/query, re-rank of %ld "
                        "candidates %.1f ms/query, localisation %.1f ms/query\n",
                t.n_queries, t.n_codes, t.hash_id, 1e3 * t.hash_s / t.n_queries, ts->hash_only ? 0 : t.k,
                1e3 * t.rerank_s / t.n_queries, 1e3 * t.localize_s / t.n_queries);
    else if (ts->timing && t.n_queries)
        fprintf(stderr, "two-stage: %ld queries, %ld codes of %d bits (%s, kernel %s): hash stage %.3f ms/query, "
                        "re-rank of %ld candidates %.1f ms/query, localisation %.1f ms/query\n",
                t.n_queries, t.n_codes, t.bits, t.hash_id, vs_hamming_kernel_name(), 1e3 * t.hash_s / t.n_queries,
                ts->hash_only ? 0 : t.k, 1e3 * t.rerank_s / t.n_queries, 1e3 * t.localize_s / t.n_queries);
    rc = bad ? 1 : 0;
    if (cli_skip_report_files(vs_searcher_skipped(s), "search", idx, jsonl, allow_partial, sp->pca, sp->calib)) rc = 1;
out:
    vs_searcher_free(s);
    vs_index_close(idx);
    return rc;
}

int cmd_search(int argc, char **argv) {
    /* --model clip[:MODEL]: 3D-CSL-F clip vectors (search_clip.c) */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--model") && !strncmp(argv[i + 1], "clip", 4) &&
            (argv[i + 1][4] == 0 || argv[i + 1][4] == ':')) {
            if (vs_dist_size() > 1) {
                if (vs_dist_rank() == 0)
                    fprintf(stderr, "vidsim search: --model clip does not run over several MPI ranks (docs/mpi.md)\n");
                return 2;
            }
            return cli_search_clip(argc, argv);
        }
    const char *dir = NULL, *format = "csv", *model = "visil_f", *pca = NULL;
    int top = 10, threads = (int)sysconf(_SC_NPROCESSORS_ONLN), npos = 0, rc = 1;
    double thr = -1e30;
    int sym = 1, norm = 1;
    cli_ts_opts ts = {0, 0, 100, 0, NULL, 0, 0, NULL, 0, 0, NULL};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            search_usage(stdout);
            return 0;
        }
    const int allow_partial = cli_take_flag(&argc, argv, "--allow-partial");
    int sim_prec = -1; /* --sim-precision (-1: the default, vs_simmodel_default_precision) */
    int mirror_view = 1; /* --mirror-view on|off */
    int inset_view = 1;  /* --inset-view on|off */
    float frame_levels = VS_FRAME_LEVELS_DEFAULT; /* --frame-levels B */
    const char *calib = NULL; /* --calib FILE */
    for (int i = 1; i < argc; i++) {
        /* options of search only: consumed here (k args) so the common parser does not see them */
        int k = 0;
        const char *a = argv[i];
        if (!strcmp(a, "--direction") || !strcmp(a, "--top-k") || !strcmp(a, "--hash-model") ||
            !strcmp(a, "--norm") || !strcmp(a, "--first-stage") || !strcmp(a, "--gvec-segments") ||
            !strcmp(a, "--gvec-whiten") ||
            !strcmp(a, "--sim-precision") || !strcmp(a, "--mirror-view") || !strcmp(a, "--inset-view") ||
            !strcmp(a, "--calib") || !strcmp(a, "--frame-levels")) {
            int j = i;
            const char *v = cli_opt_value("search", argc, argv, &j);
            if (!v) return 2;
            if (!strcmp(a, "--direction")) {
                static const char *const dirs[] = {"sym", "q2r"};
                if ((sym = cli_parse_choice("search", "--direction", v, dirs, 2)) < 0) return 2;
                sym = sym == 0;
            } else if (!strcmp(a, "--calib")) {
                calib = v;
            } else if (!strcmp(a, "--frame-levels")) {
                if (cli_parse_float("search", "--frame-levels", v, 0.0, 1.0, &frame_levels)) return 2;
            } else if (!strcmp(a, "--norm")) {
                if ((norm = cli_parse_onoff("search", "--norm", v)) < 0) return 2;
            } else if (!strcmp(a, "--mirror-view")) {
                if ((mirror_view = cli_parse_onoff("search", "--mirror-view", v)) < 0) return 2;
            } else if (!strcmp(a, "--inset-view")) {
                if ((inset_view = cli_parse_onoff("search", "--inset-view", v)) < 0) return 2;
            } else if (!strcmp(a, "--sim-precision")) {
                static const char *const precs[] = {"fp32", "bf16"};
                if ((sim_prec = cli_parse_choice("search", "--sim-precision", v, precs, 2)) < 0) return 2;
                sim_prec = sim_prec ? VS_PRECISION_BF16 : VS_PRECISION_FP32;
            } else if (!strcmp(a, "--top-k")) {
                if (cli_parse_long("search", "--top-k", v, 1, LONG_MAX, &ts.K)) return 2;
            } else if (!strcmp(a, "--first-stage")) { /* its values: vs_search_params_check */
                ts.first_stage = v;
                ts.on = 1;
            } else if (!strcmp(a, "--gvec-whiten")) { /* a file or off: the library reads it */
                ts.gvec_whiten = v;
            } else if (!strcmp(a, "--gvec-segments")) { /* 1 up (0: not given); the maximum: the library's */
                if (cli_parse_int("search", "--gvec-segments", v, 1, INT_MAX, &ts.gvec_segments)) return 2;
            } else ts.hash_model = v;
            k = 2;
        } else if (!strcmp(a, "--two-stage")) {
            ts.on = 1;
            k = 1;
        } else if (!strcmp(a, "--hash-only")) {
            ts.on = ts.hash_only = 1;
            k = 1;
        } else if (!strcmp(a, "--store-gvec")) {
            ts.store_gvec = 1;
            k = 1;
        } else if (!strcmp(a, "--timing")) {
            ts.timing = 1;
            k = 1;
        } else if (!strcmp(a, "--segments")) {
            ts.segments = 1;
            k = 1;
        } else if (!strcmp(a, "--explain")) {
            ts.explain = 1;
            k = 1;
        } else if (!strcmp(a, "--index") || !strcmp(a, "--top") || !strcmp(a, "--threshold") ||
                   !strcmp(a, "--format") || !strcmp(a, "--model") || !strcmp(a, "--pca") || !strcmp(a, "-j"))
            i++; /* an option of cli_search_parse and its value: a value "--two-stage" is not a flag */
        if (k) {
            for (int j = i; j + k <= argc; j++) argv[j] = argv[j + k];
            argc -= k;
            i--;
        }
    }
    char **pos = calloc(argc + 1, sizeof(char *));
    if (!pos) return 1;
    if ((rc = cli_search_parse(argc, argv, "search", &dir, &top, &thr, &format, &model, &pca, &threads, pos, &npos))) {
        free(pos);
        return rc;
    }
    if (!npos) {
        free(pos);
        return cli_usage_error("search", "no QUERY given (an indexed video, a feature file or a video file)");
    }
    if (ts.explain && ts.segments) {
        free(pos);
        return cli_usage_error("search", "--explain prints each pair's score and its parts, not --segments rows");
    }
    vs_search_params sp = vs_search_default_params();
    sp.mode = !ts.on ? VS_SEARCH_EXHAUSTIVE : ts.hash_only ? VS_SEARCH_HASH_ONLY : VS_SEARCH_TWO_STAGE;
    sp.top = top;
    sp.threshold = thr;
    sp.symmetric = sym;
    sp.normalize = norm;
    sp.model = model;
    sp.two_stage_k = ts.K;
    sp.hash_model = ts.hash_model;
    sp.first_stage = ts.first_stage;
    sp.store_clip = ts.store_gvec;
    sp.gvec_segments = ts.gvec_segments; /* 0: not given */
    sp.gvec_whiten = ts.gvec_whiten;
    sp.n_threads = threads;
    if (sim_prec >= 0) sp.sim_precision = sim_prec;
    sp.temporal = cli_search_temporal();
    sp.frame_levels = frame_levels;
    if (cli_threshold_name() && !vs_search_params_operating_points_hold(&sp)) {
        free(pos);
        return cli_usage_error("search", "--threshold %s is measured for the normalised visil_f score in both "
                                         "directions: not with --norm off, --direction q2r, another --model, "
                                         "another --temporal, another --frame-levels or --hash-only (give a number)",
                               cli_threshold_name());
    }
    sp.mirror_view = mirror_view;
    sp.inset_view = inset_view;
    sp.segments = ts.segments;
    sp.pca = pca;
    sp.calib = calib;
    sp.cmd = "search";
    sp.models = cli_models();
    sp.note = cli_search_note;
    sp.note_user = (void *)"search";
    /* which options go together (--segments not with --hash-only, --gvec-segments and
     * --store-gvec with --first-stage gvec, ...): the library's rules, in option names */
    if (vs_search_params_check(&sp) != VS_OK) {
        free(pos);
        return cli_search_params_error("search", vs_last_error());
    }
    if (vs_dist_size() > 1) /* mpirun -np N: the references split over the ranks (docs/mpi.md) */
        rc = cli_search_dist(dir, pos, npos, &sp, !strcmp(format, "jsonl"), ts.segments, ts.explain, allow_partial);
    else
        rc = run_search(dir, pos, npos, &sp, &ts, !strcmp(format, "jsonl"), allow_partial);
    free(pos);
    return fflush(stdout) ? 1 : rc;
}
