/*
 * cmd_search.c - `vidsim search --index DIR QUERY...` and `vidsim dedup --index DIR`:
 * score queries against every ok video of an index (or every indexed video against
 * every other) with a similarity network (default: the builtin ViSiL_f baseline),
 * printing `query_id,ref_id,score` rows best first. A QUERY is an indexed video
 * (name or path), a feature file (.vsf), or a video file, which is extracted with
 * the index's model (backbone and whitening read from the index's model id).
 * By default every pair is scored. With --two-stage a hash stage ranks the index by
 * the Hamming distance between binary codes (stored in the index by `index hash`,
 * computed on the fly for videos that lack one) and only its top K candidates are
 * scored by the similarity network, exactly as the exhaustive search scores them;
 * --hash-only prints the hash stage's ranking (score 1 - d/bits). docs/search.md.
 * Indexed videos whose feature file does not load are left out, listed after the
 * results and make the exit status 1 unless --allow-partial (skip_report;
 * docs/index.md "Damaged entries").
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "hasher.h"
#include "vidsim/features.h"
#include "vidsim/hamming.h"
#include "vidsim/index.h"
#include "vidsim/localize.h"
#include "vidsim/simmodel.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Index entries left out of the results because their feature file could not be
 * loaded (missing, truncated, corrupt): reported after all results, and they make
 * the exit status 1 unless --allow-partial (docs/index.md, "Damaged entries"). */
typedef struct {
    long n, cap;
    char **path, **name, **why; /* [n] each */
} skip_list;

static void skip_free(skip_list *l) {
    for (long i = 0; i < l->n; i++) {
        free(l->path[i]);
        free(l->name[i]);
        free(l->why[i]);
    }
    free(l->path);
    free(l->name);
    free(l->why);
    memset(l, 0, sizeof *l);
}

static void skip_add(skip_list *l, const vs_index_entry *e, const char *why) {
    if (l->n == l->cap) {
        long cap = l->cap ? 2 * l->cap : 8;
        char **p = realloc(l->path, cap * sizeof *p);
        if (p) l->path = p;
        char **n = p ? realloc(l->name, cap * sizeof *n) : NULL;
        if (n) l->name = n;
        char **w = n ? realloc(l->why, cap * sizeof *w) : NULL;
        if (!w) {
            /* out of memory: still say it, so the entry is not dropped silently */
            fprintf(stderr, "vidsim: skipped damaged index entry %s: %s\n", e->path, why);
            return;
        }
        l->why = w;
        l->cap = cap;
    }
    l->path[l->n] = strdup(e->path);
    l->name[l->n] = strdup(e->name);
    l->why[l->n] = strdup(why && *why ? why : "cannot be loaded");
    l->n++;
}

/* Called after the features of e failed to load. A concurrent `index rm` (or an
 * `index add` that replaced the video) deletes the row and then its feature file,
 * so a file that vanished under a row that vanished too is not damage: say what
 * happened and return 1. Returns 0 if the row is still there as it was (the file
 * is damaged). */
static int entry_vanished(vs_index *idx, const char *cmd, const vs_index_entry *e) {
    vs_index_entries *now = NULL;
    if (vs_index_list(idx, e->path, &now) != VS_OK) return 0;
    int still = 0, replaced = 0;
    for (long i = 0; i < now->n; i++) {
        if (now->v[i].id == e->id) still = 1;
        else if (!strcmp(now->v[i].path, e->path)) replaced = 1;
    }
    vs_index_entries_free(now);
    if (still) return 0;
    if (replaced)
        fprintf(stderr, "vidsim %s: %s was re-indexed (replaced) by another process during the %s; left out "
                        "(run the %s again to include it)\n", cmd, e->path, cmd, cmd);
    else
        fprintf(stderr, "vidsim %s: %s was removed from the index during the %s; left out\n", cmd, e->path, cmd);
    return 1;
}

/* After all results: the skipped entries, one {"ref_id","skipped","error"} row each
 * in JSON Lines, and a list on stderr with the remedy. Returns 1 when that makes the
 * exit status 1 (some were skipped and not allow_partial), else 0. */
static int skip_report(const skip_list *l, const char *cmd, vs_index *idx, int jsonl, int allow_partial) {
    if (l->n == 0) return 0;
    const char *dir = vs_index_dir(idx);
    /* the add options that give the index's model: backbone and raw (from its model id) */
    vs_index_info info;
    char opts[160] = "";
    if (vs_index_get_info(idx, &info) == VS_OK && info.model_id[0]) {
        char bb[64];
        snprintf(bb, sizeof bb, "%s", info.model_id);
        char *slash = strchr(bb, '/');
        if (slash) *slash = 0;
        snprintf(opts, sizeof opts, " --backbone %s%s", bb, strstr(info.model_id, "/raw") ? " --raw" : "");
    }
    if (jsonl)
        for (long i = 0; i < l->n; i++) {
            fputs("{\"ref_id\":", stdout);
            cli_json_str(stdout, l->name[i] ? l->name[i] : "");
            fputs(",\"skipped\":", stdout);
            cli_json_str(stdout, l->path[i] ? l->path[i] : "");
            fputs(",\"error\":", stdout);
            cli_json_str(stdout, l->why[i] ? l->why[i] : "");
            fputs("}\n", stdout);
        }
    fflush(stdout);
    fprintf(stderr, "vidsim %s: %s: %ld indexed video%s left out of the results: %s feature file is damaged%s\n", cmd,
            allow_partial ? "warning" : "results are partial", l->n, l->n == 1 ? " was" : "s were",
            l->n == 1 ? "its" : "their", allow_partial ? " (--allow-partial)" : "");
    for (long i = 0; i < l->n; i++)
        fprintf(stderr, "  skipped %s: %s\n", l->path[i] ? l->path[i] : "?", l->why[i] ? l->why[i] : "?");
    fprintf(stderr, "vidsim %s: to heal, run `vidsim index add --index %s%s PATH...` on %s (it extracts again "
                    "videos whose feature file is damaged), or `vidsim index verify --index %s --repair` to remove "
                    "them%s\n",
            cmd, dir, opts, l->n == 1 ? "that video" : "those videos", dir,
            allow_partial ? "" : "; --allow-partial accepts partial results with exit status 0");
    return !allow_partial;
}

/* Remove every --FLAG (no value) from argv; 1 if there was one. */
static int take_flag(int *argc, char **argv, const char *flag) {
    int found = 0, k = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], flag)) found = 1;
        else argv[k++] = argv[i];
    }
    *argc = k;
    argv[k] = NULL;
    return found;
}

typedef struct {
    vs_index *idx;
    vs_index_entries *es;
    vs_features **feats;   /* [n] loaded (mapped) features of ok rows, NULL for failed rows */
    float **xs;            /* [n] indexed features (attention applied), NULL for failed rows */
    vs_simvideo *targets;  /* [n_ok] */
    long *target_row;      /* [n_ok] row of each target */
    long n_ok;
    int R, D;
    vs_simmodel *m;
    vs_simmodel_state *st;
    skip_list skipped;     /* ok rows whose features could not be loaded */
} corpus;

static void corpus_free(corpus *c) {
    if (c->es && c->feats && c->xs) {
        for (long i = 0; i < c->es->n; i++) {
            vs_features_free(c->feats[i]);
            free(c->xs[i]);
        }
    }
    free(c->feats);
    free(c->xs);
    free(c->targets);
    free(c->target_row);
    vs_simmodel_state_free(c->st);
    vs_simmodel_free(c->m);
    vs_index_entries_free(c->es);
    vs_index_close(c->idx);
    skip_free(&c->skipped);
    memset(c, 0, sizeof *c);
}

/* Copy features through the model's indexing step (attention) into a new buffer. */
static float *index_features_st(vs_simmodel_state *st, const vs_features *f) {
    size_t n = (size_t)f->T * f->R * f->D;
    float *x = malloc(n * sizeof(float));
    if (!x) return NULL;
    if (vs_simmodel_index(st, x, NULL, f->data, f->T, f->R, f->D) != VS_OK) {
        free(x);
        return NULL;
    }
    return x;
}

static float *index_features(corpus *c, const vs_features *f) { return index_features_st(c->st, f); }

/* The simmodel named by model ("visil_f" or a file) and a state with n threads. */
static vs_status open_simmodel(vs_simmodel **m, vs_simmodel_state **st, const char *model, int threads) {
    vs_status s = !strcmp(model, "visil_f") ? vs_simmodel_builtin(m, model) : vs_simmodel_load(m, model);
    vs_simmodel_params p = vs_simmodel_default_params();
    p.n_threads = threads;
    if (!s) s = vs_simmodel_state_create(st, *m, &p);
    return s;
}

static int corpus_open(corpus *c, const char *cmd, const char *dir, const char *model, int threads) {
    memset(c, 0, sizeof *c);
    vs_status s = vs_index_open(&c->idx, dir, VS_INDEX_READONLY);
    if (!s) s = vs_index_list(c->idx, NULL, &c->es);
    if (!s) s = open_simmodel(&c->m, &c->st, model, threads);
    if (s) {
        fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
        return 1;
    }
    long n = c->es->n;
    c->feats = calloc(n + 1, sizeof *c->feats);
    c->xs = calloc(n + 1, sizeof *c->xs);
    c->targets = calloc(n + 1, sizeof *c->targets);
    c->target_row = calloc(n + 1, sizeof *c->target_row);
    if (!c->feats || !c->xs || !c->targets || !c->target_row) {
        fprintf(stderr, "vidsim %s: out of memory\n", cmd);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        const vs_index_entry *e = &c->es->v[i];
        if (!e->ok) continue;
        if (vs_index_load_features(c->idx, e, &c->feats[i]) != VS_OK) {
            /* a damaged entry must not take the whole collection down: skip it, report
             * it after the results (skip_report), exit 1 unless --allow-partial */
            char why[2048];
            snprintf(why, sizeof why, "%s", vs_last_error());
            c->feats[i] = NULL;
            if (!entry_vanished(c->idx, cmd, e)) skip_add(&c->skipped, e, why);
            continue;
        }
        const vs_features *f = c->feats[i];
        if (c->n_ok == 0) {
            c->R = f->R;
            c->D = f->D;
        } else if (f->R != c->R || f->D != c->D) {
            fprintf(stderr, "vidsim %s: %s has R=%d D=%d, others R=%d D=%d\n", cmd, e->path, f->R, f->D, c->R, c->D);
            return 1;
        }
        if (!(c->xs[i] = index_features(c, f))) {
            fprintf(stderr, "vidsim %s: %s: %s\n", cmd, e->path, vs_last_error());
            return 1;
        }
        c->targets[c->n_ok] = (vs_simvideo){c->xs[i], f->T};
        c->target_row[c->n_ok++] = i;
    }
    return 0;
}

typedef struct { long row; float score; long k; } hit; /* k: index among the scored targets */

static int cmp_hit(const void *a, const void *b) {
    const hit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static void print_row(int jsonl, const char *q, const char *r, float score) {
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

static const char SEG_HEADER[] = "query_id,ref_id,query_start,query_end,ref_start,ref_end,score";

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

/* Print a pair's segments, best first. A pair whose matrix held no signal
 * (constant or empty) gets one whole-video box, so that every listed pair keeps
 * its row. */
static void print_segs(int jsonl, const char *qname, const char *rname, const vs_segment *g, int n,
                       const vs_loc_video *q, const vs_loc_video *r, float score) {
    if (n == 0) {
        vs_segment whole = {0};
        whole.query_end = q->duration > 0 ? q->duration : q->T / (q->fps > 0 ? q->fps : 1.0);
        whole.ref_end = r->duration > 0 ? r->duration : r->T / (r->fps > 0 ? r->fps : 1.0);
        whole.score = score;
        print_segment(jsonl, qname, rname, &whole);
    }
    for (int k = 0; k < n; k++) print_segment(jsonl, qname, rname, &g[k]);
}

/* The copied segments of one scored pair (--segments). Returns 0, or 1 after
 * printing why. */
static int print_pair_segments(int jsonl, vs_simmodel_state *st, const char *qname, const char *rname,
                               const vs_loc_video *q, const vs_loc_video *r, int R, int D, int sym, float score) {
    vs_segment *g = NULL;
    int n = 0;
    vs_localize_params p = vs_localize_default_params();
    if (vs_localize_videos(&g, &n, st, q, r, R, D, sym, score, &p) != VS_OK) {
        fprintf(stderr, "vidsim search: %s vs %s: %s\n", qname, rname, vs_last_error());
        return 1;
    }
    print_segs(jsonl, qname, rname, g, n, q, r, score);
    free(g);
    return 0;
}

/* --segments with visil_f and the symmetric score: scores and segments of all n
 * targets from one pass (vs_localize_search); segs/nsegs [n] to free with
 * free_segs. Returns 0, or 1 after printing why. */
static int fused_search(const char *qname, vs_simmodel_state *st, const vs_simmodel *m, const vs_loc_video *q,
                        const vs_loc_video *tv, long n, int R, int D, float *sims, vs_segment **segs, int *nsegs) {
    if (vs_localize_search(st, m, q, tv, (int)n, R, D, NULL, sims, segs, nsegs) != VS_OK) {
        fprintf(stderr, "vidsim search: %s: %s\n", qname, vs_last_error());
        return 1;
    }
    return 0;
}

static void free_segs(vs_segment **segs, long n) {
    for (long k = 0; k < n; k++) {
        free(segs[k]);
        segs[k] = NULL;
    }
}

static vs_loc_video loc_video(const float *x, const vs_features *f) {
    return (vs_loc_video){x, f->T, f->times, f->fps, f->duration};
}

/* {"query_id": ..., "error": ...} for a query that could not be searched. */
static void error_row(const char *q, const char *msg) {
    char name[PATH_MAX];
    cli_stem(q, name, sizeof name);
    fputs("{\"query_id\":", stdout);
    cli_json_str(stdout, name);
    fputs(",\"error\":", stdout);
    cli_json_str(stdout, msg && *msg ? msg : "failed");
    fputs("}\n", stdout);
}

/* Features of a query that is neither indexed nor a .vsf: extract it with the
 * index's model. The extractor is loaded on first use. */
static int extract_query(const char *cmd, const char *path, const char *model_id, const char *pca_arg, double fps,
                         vs_extractor **ex, vs_extract_state **st, vs_features **out) {
    if (!*ex) {
        char bbname[64], bb[PATH_MAX], pca[PATH_MAX];
        snprintf(bbname, sizeof bbname, "%s", model_id);
        char *slash = strchr(bbname, '/');
        if (slash) *slash = 0;
        int raw = strstr(model_id, "/raw") != NULL;
        if (cli_backbone_files(bbname, bb, sizeof bb, pca, sizeof pca)) {
            fprintf(stderr, "vidsim %s: index model %s: unknown backbone\n", cmd, model_id);
            return 1;
        }
        if (pca_arg) snprintf(pca, sizeof pca, "%s", pca_arg);
        vs_extract_params p = vs_extract_default_params();
        p.decode.fps = fps > 0 ? fps : 1.0;
        if (vs_extractor_load(ex, bb, raw ? NULL : pca, &p) != VS_OK ||
            vs_extract_state_create(st, *ex) != VS_OK) {
            fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
            return 1;
        }
        if (strcmp(vs_extractor_model_id(*ex), model_id) != 0) {
            fprintf(stderr, "vidsim %s: the index was built with model %s, the bundled files give %s (pass --pca)\n",
                    cmd, model_id, vs_extractor_model_id(*ex));
            return 1;
        }
    }
    if (vs_extract_video(*st, path, out) != VS_OK) {
        fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
        return 1;
    }
    return 0;
}

static void search_usage(FILE *f) {
    fprintf(f, "usage: vidsim search --index DIR QUERY... [options]\n"
               "  QUERY            an indexed video (name or path), a feature file (.vsf) or a video file\n"
               "  --top K          best K matches per query (default 10; 0 = all)\n"
               "  --threshold S    only scores >= S (default: none)\n"
               "  --format F       csv (default, header query_id,ref_id,score) or jsonl (a query that\n"
               "                   fails gets a {\"query_id\",\"error\"} row; with csv errors go to stderr)\n"
               "  --model M        visil_f (default, builtin) or a similarity model file\n"
               "                   (clip[:MODEL]: 3D-CSL-F clip vectors, see --model clip --help)\n"
               "  --pca FILE       whitening file for video queries (default: the bundled one)\n"
               "  --direction D    sym (default: mean of query->ref and ref->query, +17 uAP for\n"
               "                   visil_f on the dev benchmark, docs/features.md) or q2r (S2VS's)\n"
               "  -j N             threads (default: number of cores)\n"
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
               "  --timing         per-stage time per query on stderr\n"
               "localisation (docs/localize.md):\n"
               "  --segments       print where each listed pair matches: one row per copied segment,\n"
               "                   query_id,ref_id,query_start,query_end,ref_start,ref_end,score (seconds;\n"
               "                   the VSC22 matching-track CSV; jsonl has the same fields). The pair's\n"
               "                   best segment carries its score, later ones less. With --two-stage only\n"
               "                   the re-ranked candidates that are listed are localised\n");
}

/* The options search and dedup share. Returns 0, or 2 after a usage error. */
static int parse_common(int argc, char **argv, const char *cmd, const char **dir, int *top, double *thr,
                        const char **format, const char **model, const char **pca, int *threads, char **pos,
                        int *npos) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int val = !strcmp(a, "--index") || (!strcmp(a, "--top") && top) || !strcmp(a, "--threshold") ||
                  !strcmp(a, "--format") || !strcmp(a, "--model") || (!strcmp(a, "--pca") && pca) ||
                  !strcmp(a, "-j");
        if (val && !(v = cli_opt_value(cmd, argc, argv, &i))) return 2;
        if (!strcmp(a, "--index")) *dir = v;
        else if (!strcmp(a, "--top") && top) {
            if (cli_parse_int(cmd, "--top", v, 0, INT_MAX, top)) return 2;
        } else if (!strcmp(a, "--threshold")) {
            if (cli_parse_double(cmd, "--threshold", v, -HUGE_VAL, HUGE_VAL, thr)) return 2;
        } else if (!strcmp(a, "--format")) {
            static const char *const fmts[] = {"csv", "jsonl"};
            if (cli_parse_choice(cmd, "--format", v, fmts, 2) < 0) return 2;
            *format = v;
        } else if (!strcmp(a, "--model")) *model = v;
        else if (!strcmp(a, "--pca") && pca) *pca = v;
        else if (!strcmp(a, "-j")) {
            if (cli_parse_int(cmd, "-j", v, 1, INT_MAX, threads)) return 2;
        } else if ((a[0] == '-' && a[1]) || !pos) return cli_unknown_option(cmd, a);
        else pos[(*npos)++] = argv[i];
    }
    if (!*dir) return cli_usage_error(cmd, "--index DIR is required");
    return 0;
}

/* Features of query q: a feature file (.vsf), an indexed video (name or path: *self
 * gets its row id, so that it does not match itself), or a video file extracted with
 * the index's model. qname gets the query id. Returns 0, or 1 after printing why. */
static int load_query(vs_index *idx, const vs_index_info *info, const char *q, const char *pca, vs_extractor **ex,
                      vs_extract_state **est, vs_features **qf, char *qname, size_t nq, long *self) {
    vs_index_entries *qe = NULL;
    size_t ql = strlen(q);
    *qf = NULL;
    *self = -1;
    cli_stem(q, qname, nq);
    if (ql > 4 && !strcmp(q + ql - 4, ".vsf")) {
        if (vs_features_load(qf, q) != VS_OK) {
            fprintf(stderr, "vidsim search: %s\n", vs_last_error());
            return 1;
        }
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", qname);
        cli_stem(tmp, qname, nq); /* a.mp4.vsf -> a */
    } else if (vs_index_list(idx, q, &qe) == VS_OK && qe->n == 1 && qe->v[0].ok) {
        if (vs_index_load_features(idx, &qe->v[0], qf) != VS_OK) {
            fprintf(stderr, "vidsim search: %s\n", vs_last_error());
            vs_index_entries_free(qe);
            return 1;
        }
        snprintf(qname, nq, "%s", qe->v[0].name);
        *self = (long)qe->v[0].id;
    } else if (extract_query("search", q, info->model_id, pca, info->fps, ex, est, qf)) {
        vs_index_entries_free(qe);
        return 1;
    }
    vs_index_entries_free(qe);
    return 0;
}

typedef struct two_stage_opts {
    int on;                 /* --two-stage or --hash-only */
    int hash_only;
    long K;                 /* --top-k */
    int timing;
    const char *hash_model; /* NULL: the default */
    int segments;           /* --segments */
} two_stage_opts;

static int search_two_stage(const char *dir, char **pos, int npos, int top, double thr, int jsonl, const char *model,
                            const char *pca, int threads, int sym, const two_stage_opts *o, int allow_partial);

/* The message for an index without a single ok row (only failed adds, or none). */
static void no_videos(const char *dir, const vs_index_info *info) {
    if (info->n_failed == 0)
        fprintf(stderr, "vidsim search: %s has no successfully indexed videos (nothing was added yet): nothing to "
                        "search\n", dir);
    else
        fprintf(stderr, "vidsim search: %s has no successfully indexed videos (%ld failed add%s; `vidsim index ls "
                        "--index %s` shows why): nothing to search\n",
                dir, info->n_failed, info->n_failed == 1 ? "" : "s", dir);
}

int cmd_search(int argc, char **argv) {
    /* --model clip[:MODEL]: 3D-CSL-F clip vectors (search_clip.c) */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--model") && !strncmp(argv[i + 1], "clip", 4) &&
            (argv[i + 1][4] == 0 || argv[i + 1][4] == ':'))
            return cli_search_clip(argc, argv);
    const char *dir = NULL, *format = "csv", *model = "visil_f", *pca = NULL;
    int top = 10, threads = (int)sysconf(_SC_NPROCESSORS_ONLN), npos = 0, rc = 1;
    double thr = -1e30;
    int sym = 1;
    two_stage_opts ts = {0, 0, 100, 0, NULL, 0};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            search_usage(stdout);
            return 0;
        }
    const int allow_partial = take_flag(&argc, argv, "--allow-partial");
    for (int i = 1; i < argc; i++) {
        /* options of search only: consumed here (k args) so the common parser does not see them */
        int k = 0;
        const char *a = argv[i];
        if (!strcmp(a, "--direction") || !strcmp(a, "--top-k") || !strcmp(a, "--hash-model")) {
            int j = i;
            const char *v = cli_opt_value("search", argc, argv, &j);
            if (!v) return 2;
            if (!strcmp(a, "--direction")) {
                static const char *const dirs[] = {"sym", "q2r"};
                if ((sym = cli_parse_choice("search", "--direction", v, dirs, 2)) < 0) return 2;
                sym = sym == 0;
            } else if (!strcmp(a, "--top-k")) {
                if (cli_parse_long("search", "--top-k", v, 1, LONG_MAX, &ts.K)) return 2;
            } else ts.hash_model = v;
            k = 2;
        } else if (!strcmp(a, "--two-stage")) {
            ts.on = 1;
            k = 1;
        } else if (!strcmp(a, "--hash-only")) {
            ts.on = ts.hash_only = 1;
            k = 1;
        } else if (!strcmp(a, "--timing")) {
            ts.timing = 1;
            k = 1;
        } else if (!strcmp(a, "--segments")) {
            ts.segments = 1;
            k = 1;
        } else if (!strcmp(a, "--index") || !strcmp(a, "--top") || !strcmp(a, "--threshold") ||
                   !strcmp(a, "--format") || !strcmp(a, "--model") || !strcmp(a, "--pca") || !strcmp(a, "-j"))
            i++; /* an option of parse_common and its value: a value "--two-stage" is not a flag */
        if (k) {
            for (int j = i; j + k <= argc; j++) argv[j] = argv[j + k];
            argc -= k;
            i--;
        }
    }
    char **pos = calloc(argc + 1, sizeof(char *));
    if (!pos) return 1;
    if ((rc = parse_common(argc, argv, "search", &dir, &top, &thr, &format, &model, &pca, &threads, pos, &npos))) {
        free(pos);
        return rc;
    }
    rc = 1;
    if (!npos) {
        free(pos);
        return cli_usage_error("search", "no QUERY given (an indexed video, a feature file or a video file)");
    }
    int jsonl = !strcmp(format, "jsonl");
    if (ts.segments && ts.hash_only) {
        free(pos);
        return cli_usage_error("search", "--segments needs the similarity model's re-ranking, not --hash-only");
    }
    if (ts.on) {
        rc = search_two_stage(dir, pos, npos, top, thr, jsonl, model, pca, threads, sym, &ts, allow_partial);
        free(pos);
        return fflush(stdout) ? 1 : rc;
    }
    corpus c;
    vs_extractor *ex = NULL;
    vs_extract_state *est = NULL;
    hit *hits = NULL;
    float *sims = NULL;
    vs_loc_video *lv = NULL;
    vs_segment **segs = NULL;
    int *nsegs = NULL;
    if (corpus_open(&c, "search", dir, model, threads)) goto out;
    vs_index_info info;
    if (vs_index_get_info(c.idx, &info) != VS_OK) {
        fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        goto out;
    }
    if (info.n_ok == 0) {
        no_videos(dir, &info);
        goto out;
    }
    hits = calloc(c.n_ok + 1, sizeof *hits);
    sims = calloc(c.n_ok + 1, sizeof *sims);
    if (!hits || !sims) goto out;
    /* --segments with visil_f, symmetric: scores and segments from one pass */
    const int fused = ts.segments && sym && !strcmp(model, "visil_f");
    if (fused) {
        lv = calloc(c.n_ok + 1, sizeof *lv);
        segs = calloc(c.n_ok + 1, sizeof *segs);
        nsegs = calloc(c.n_ok + 1, sizeof *nsegs);
        if (!lv || !segs || !nsegs) goto out;
        for (long k = 0; k < c.n_ok; k++) lv[k] = loc_video(c.targets[k].x, c.feats[c.target_row[k]]);
    }
    if (!jsonl) puts(ts.segments ? SEG_HEADER : "query_id,ref_id,score");
    int bad = 0, bad_seen = 0;
    for (int qi = 0; qi <= npos; qi++) {
        /* JSON Lines get an error row for a query that failed in the previous round */
        if (qi > 0 && bad > bad_seen && jsonl) error_row(pos[qi - 1], vs_last_error());
        bad_seen = bad;
        if (qi == npos) break;
        const char *q = pos[qi];
        vs_features *qf = NULL;
        char qname[PATH_MAX];
        long self = -1;
        if (load_query(c.idx, &info, q, pca, &ex, &est, &qf, qname, sizeof qname, &self)) {
            bad++;
            continue;
        }
        if (strcmp(qf->model_id, info.model_id) != 0) {
            fprintf(stderr, "vidsim search: %s: features of model %s, the index has %s\n", q, qf->model_id,
                    info.model_id);
            vs_features_free(qf);
            bad++;
            continue;
        }
        if (c.n_ok > 0 && (qf->R != c.R || qf->D != c.D)) {
            fprintf(stderr, "vidsim search: %s: features of R=%d D=%d, the index has R=%d D=%d\n", q, qf->R, qf->D,
                    c.R, c.D);
            vs_features_free(qf);
            bad++;
            continue;
        }
        if (c.n_ok == 0) { /* every ok row was left out as damaged: nothing to score */
            vs_features_free(qf);
            continue;
        }
        float *qx = index_features(&c, qf);
        if (fused && qx) {
            vs_loc_video fq = loc_video(qx, qf);
            if (fused_search(qname, c.st, c.m, &fq, lv, c.n_ok, c.R, c.D, sims, segs, nsegs)) {
                free(qx);
                vs_features_free(qf);
                bad++;
                continue;
            }
        } else if (!qx || vs_simmodel_similarity(c.st, sims, qx, qf->T, c.targets, (int)c.n_ok, c.R, c.D) != VS_OK) {
            fprintf(stderr, "vidsim search: %s: %s\n", q, vs_last_error());
            free(qx);
            vs_features_free(qf);
            bad++;
            continue;
        }
        if (sym && !fused) {
            /* reverse direction: each target as the query, this query as the only target */
            vs_simvideo qv = {qx, qf->T};
            for (long k = 0; k < c.n_ok; k++) {
                float r;
                if (vs_simmodel_similarity(c.st, &r, c.targets[k].x, c.targets[k].T, &qv, 1, c.R, c.D) != VS_OK) {
                    fprintf(stderr, "vidsim search: %s: %s\n", q, vs_last_error());
                    bad++;
                    r = sims[k];
                }
                sims[k] = 0.5f * (sims[k] + r);
            }
        }
        long nh = 0;
        for (long k = 0; k < c.n_ok; k++) {
            long row = c.target_row[k];
            if ((long)c.es->v[row].id == self || sims[k] < thr) continue;
            hits[nh++] = (hit){row, sims[k], k};
        }
        qsort(hits, nh, sizeof *hits, cmp_hit);
        if (top > 0 && nh > top) nh = top;
        vs_loc_video qv = loc_video(qx, qf);
        for (long k = 0; k < nh; k++) {
            const char *rname = c.es->v[hits[k].row].name;
            if (!ts.segments) {
                print_row(jsonl, qname, rname, hits[k].score);
                continue;
            }
            vs_loc_video rv = loc_video(c.xs[hits[k].row], c.feats[hits[k].row]);
            if (fused)
                print_segs(jsonl, qname, rname, segs[hits[k].k], nsegs[hits[k].k], &qv, &rv, hits[k].score);
            else if (print_pair_segments(jsonl, c.st, qname, rname, &qv, &rv, c.R, c.D, sym, hits[k].score))
                bad++;
        }
        if (fused) free_segs(segs, c.n_ok);
        free(qx);
        vs_features_free(qf);
    }
    rc = bad ? 1 : 0;
    if (skip_report(&c.skipped, "search", c.idx, jsonl, allow_partial)) rc = 1;
out:
    free(hits);
    free(sims);
    free(lv);
    free(segs);
    free(nsegs);
    vs_extract_state_free(est);
    vs_extractor_free(ex);
    corpus_free(&c);
    free(pos);
    return fflush(stdout) ? 1 : rc;
}

/* ------------------------------------------------------------------ two-stage search */

typedef struct ts_corpus {
    vs_index *idx;
    vs_index_entries *es;
    vs_index_info info;
    cli_hasher h;
    int W;
    long n;                 /* codes (rows of es with a code) */
    uint64_t *codes;        /* [n, W] */
    int64_t *row;           /* [n] row of es of each code (ascending) */
    vs_hamming_index *hidx;
    vs_hamming_state *hst;
    vs_simmodel *m;
    vs_simmodel_state *st;  /* threads as asked (the exhaustive search's state) */
    vs_simmodel_state *st1; /* one thread: see stage 2 */
    int threads;
    float **xs;             /* [es->n] indexed features of rows loaded for stage 2 (cache), or NULL */
    int *T;                 /* [es->n] their frame counts; -1 for a row whose features failed to load */
    float **times;          /* [es->n] their sample times (for --segments) */
    double *fps, *dur;      /* [es->n] their sampling rates and durations */
    int R, D;               /* of the first loaded features (0 until then) */
    skip_list skipped;      /* rows whose features could not be loaded (codes or stage 2) */
} ts_corpus;

static void ts_free(ts_corpus *c) {
    if (c->es && c->xs)
        for (long i = 0; i < c->es->n; i++) free(c->xs[i]);
    if (c->es && c->times)
        for (long i = 0; i < c->es->n; i++) free(c->times[i]);
    free(c->times);
    free(c->fps);
    free(c->dur);
    free(c->xs);
    free(c->T);
    free(c->codes);
    free(c->row);
    vs_hamming_state_free(c->hst);
    vs_hamming_index_free(c->hidx);
    vs_simmodel_state_free(c->st);
    vs_simmodel_state_free(c->st1);
    vs_simmodel_free(c->m);
    cli_hasher_close(&c->h);
    vs_index_entries_free(c->es);
    vs_index_close(c->idx);
    skip_free(&c->skipped);
}

/* Codes of every ok row: stored ones, the rest computed from the features. */
static int ts_load_codes(ts_corpus *c, int threads) {
    vs_index_extras *x = NULL;
    if (vs_index_load_extras(c->idx, CLI_HASH_KIND, c->h.id, &x) != VS_OK) {
        fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        return 1;
    }
    long n = c->es->n, k = 0, computed = 0;
    c->codes = calloc((size_t)(n + 1) * c->W, sizeof *c->codes);
    c->row = calloc(n + 1, sizeof *c->row);
    if (!c->codes || !c->row) {
        vs_index_extras_free(x);
        fprintf(stderr, "vidsim search: out of memory\n");
        return 1;
    }
    for (long i = 0; i < n; i++) {
        const vs_index_entry *e = &c->es->v[i];
        if (!e->ok) continue;
        uint64_t *dst = c->codes + (size_t)c->n * c->W;
        while (k < x->n && x->video_ids[k] < e->id) k++;
        if (k < x->n && x->video_ids[k] == e->id && x->v[k].dtype == VS_INDEX_U64 &&
            x->v[k].n_rows * x->v[k].n_cols == c->W) {
            memcpy(dst, x->v[k].data, sizeof(uint64_t) * c->W);
        } else {
            vs_features *f = NULL;
            if (vs_index_load_features(c->idx, e, &f) != VS_OK) {
                char why[2048];
                snprintf(why, sizeof why, "%s", vs_last_error());
                if (!entry_vanished(c->idx, "search", e)) skip_add(&c->skipped, e, why);
                continue;
            }
            vs_status s = cli_hasher_encode(&c->h, dst, f);
            vs_features_free(f);
            if (s) {
                fprintf(stderr, "vidsim search: %s: %s\n", e->path, vs_last_error());
                vs_index_extras_free(x);
                return 1;
            }
            computed++;
        }
        c->row[c->n++] = i;
    }
    if (computed)
        fprintf(stderr, "vidsim search: %ld of %ld videos have no stored %s code; computed them now "
                        "(store them with `vidsim index hash --index %s --hash-model %s`)\n",
                computed, c->n, c->h.id, vs_index_dir(c->idx), c->h.spec);
    if (x->n_bad)
        fprintf(stderr, "vidsim search: %ld stored codes are malformed (run `vidsim index verify --repair`)\n",
                x->n_bad);
    vs_index_extras_free(x);
    vs_hamming_params hp = vs_hamming_default_params();
    hp.n_threads = threads;
    if (vs_hamming_index_create(&c->hidx, c->codes, c->row, c->n, c->h.bits, &hp) != VS_OK ||
        vs_hamming_state_create(&c->hst, c->hidx) != VS_OK) {
        fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        return 1;
    }
    return 0;
}

/* Indexed features of row i for stage 2 (loaded once, then cached); NULL if unreadable. */
static const float *ts_features(ts_corpus *c, long i, int *T) {
    if (c->T[i] < 0) return NULL;
    if (!c->xs[i]) {
        vs_features *f = NULL;
        float *x = NULL;
        char why[2048] = "";
        if (vs_index_load_features(c->idx, &c->es->v[i], &f) != VS_OK) {
            snprintf(why, sizeof why, "%s", vs_last_error());
        } else {
            if (c->D && (f->R != c->R || f->D != c->D)) {
                snprintf(why, sizeof why, "%s has R=%d D=%d, others R=%d D=%d", c->es->v[i].path, f->R, f->D, c->R,
                         c->D);
            } else {
                c->R = f->R;
                c->D = f->D;
                x = index_features_st(c->st, f);
                if (!x) snprintf(why, sizeof why, "%s: %s", c->es->v[i].path, vs_last_error());
                c->T[i] = f->T;
                c->fps[i] = f->fps;
                c->dur[i] = f->duration;
                if (x && f->times && (c->times[i] = malloc(sizeof(float) * (size_t)f->T + 1)))
                    memcpy(c->times[i], f->times, sizeof(float) * (size_t)f->T);
            }
        }
        if (!x) {
            /* a row removed or replaced since the search listed the index is not damage
             * (its file goes after its row); anything else is reported after the results */
            if (f || !entry_vanished(c->idx, "search", &c->es->v[i])) skip_add(&c->skipped, &c->es->v[i], why);
            c->T[i] = -1;
            vs_features_free(f);
            return NULL;
        }
        vs_features_free(f);
        c->xs[i] = x;
    }
    *T = c->T[i];
    return c->xs[i];
}

static int search_two_stage(const char *dir, char **pos, int npos, int top, double thr, int jsonl, const char *model,
                            const char *pca, int threads, int sym, const two_stage_opts *o, int allow_partial) {
    ts_corpus c;
    memset(&c, 0, sizeof c);
    vs_extractor *ex = NULL;
    vs_extract_state *est = NULL;
    vs_hamming_hit *hh = NULL;
    hit *hits = NULL;
    float *sims = NULL;
    vs_simvideo *targets = NULL;
    long *cand = NULL;
    vs_loc_video *lv = NULL;
    vs_segment **segs = NULL;
    int *nsegs = NULL;
    int rc = 1;
    if (vs_index_open(&c.idx, dir, VS_INDEX_READONLY) != VS_OK || vs_index_list(c.idx, NULL, &c.es) != VS_OK ||
        vs_index_get_info(c.idx, &c.info) != VS_OK) {
        fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        goto out;
    }
    if (c.info.n_ok == 0) {
        no_videos(dir, &c.info);
        goto out;
    }
    if (cli_hasher_open(&c.h, "search", o->hash_model, c.idx)) goto out;
    c.W = c.h.bits / 64;
    c.threads = threads;
    if (!o->hash_only) {
        vs_simmodel_params p1 = vs_simmodel_default_params();
        p1.n_threads = 1;
        if (open_simmodel(&c.m, &c.st, model, threads) != VS_OK || vs_simmodel_state_create(&c.st1, c.m, &p1) != VS_OK) {
            fprintf(stderr, "vidsim search: %s\n", vs_last_error());
            goto out;
        }
    }
    if (ts_load_codes(&c, threads)) goto out;
    long N = c.n, K = o->hash_only ? (top > 0 ? top : N) : o->K;
    if (K > N) K = N;
    c.xs = calloc(c.es->n + 1, sizeof *c.xs);
    c.T = calloc(c.es->n + 1, sizeof *c.T);
    c.times = calloc(c.es->n + 1, sizeof *c.times);
    c.fps = calloc(c.es->n + 1, sizeof *c.fps);
    c.dur = calloc(c.es->n + 1, sizeof *c.dur);
    hh = calloc(K + 2, sizeof *hh);
    hits = calloc(K + 1, sizeof *hits);
    sims = calloc(K + 1, sizeof *sims);
    targets = calloc(K + 1, sizeof *targets);
    cand = calloc(K + 1, sizeof *cand);
    lv = calloc(K + 1, sizeof *lv);
    segs = calloc(K + 1, sizeof *segs);
    nsegs = calloc(K + 1, sizeof *nsegs);
    if (!lv || !segs || !nsegs || !c.xs || !c.T || !c.times || !c.fps || !c.dur || !hh || !hits || !sims || !targets || !cand) {
        fprintf(stderr, "vidsim search: out of memory\n");
        goto out;
    }
    if (!jsonl) puts(o->segments ? SEG_HEADER : "query_id,ref_id,score");
    int bad = 0, bad_seen = 0;
    double t_hash = 0, t_rerank = 0, t_loc = 0;
    long n_q = 0;
    uint64_t qcode[VS_HAMMING_MAX_BITS / 64];
    for (int qi = 0; qi <= npos; qi++) {
        if (qi > 0 && bad > bad_seen && jsonl) error_row(pos[qi - 1], vs_last_error());
        bad_seen = bad;
        if (qi == npos) break;
        const char *q = pos[qi];
        vs_features *qf = NULL;
        char qname[PATH_MAX];
        long self = -1;
        if (load_query(c.idx, &c.info, q, pca, &ex, &est, &qf, qname, sizeof qname, &self)) {
            bad++;
            continue;
        }
        if (strcmp(qf->model_id, c.info.model_id) != 0) {
            fprintf(stderr, "vidsim search: %s: features of model %s, the index has %s\n", q, qf->model_id,
                    c.info.model_id);
            vs_features_free(qf);
            bad++;
            continue;
        }
        /* stage 1: the query's code, the K nearest codes (one more if the query is indexed) */
        double t0 = cli_now();
        long nh = 0, nc = 0;
        if (cli_hasher_encode(&c.h, qcode, qf) != VS_OK ||
            (N > 0 && vs_hamming_search(c.hst, hh, &nh, qcode, K + (self >= 0 && K < N)) != VS_OK)) {
            fprintf(stderr, "vidsim search: %s: %s\n", q, vs_last_error());
            vs_features_free(qf);
            bad++;
            continue;
        }
        for (long k = 0; k < nh && nc < K; k++)
            if ((long)c.es->v[hh[k].id].id != self) {
                cand[nc] = (long)hh[k].id;
                sims[nc++] = 1.0f - (float)hh[k].dist / (float)c.h.bits;
            }
        double t1 = cli_now();
        t_hash += t1 - t0;
        if (!o->hash_only) {
            /* stage 2: the candidates, scored exactly as the exhaustive search scores them */
            long nt = 0;
            for (long k = 0; k < nc; k++) {
                int T;
                const float *x = ts_features(&c, cand[k], &T);
                if (!x) continue;
                cand[nt] = cand[k];
                targets[nt++] = (vs_simvideo){x, T};
            }
            nc = nt;
            float *qx = NULL;
            if (nc > 0 && (qf->R != c.R || qf->D != c.D)) {
                fprintf(stderr, "vidsim search: %s: features of R=%d D=%d, the index has R=%d D=%d\n", q, qf->R, qf->D,
                        c.R, c.D);
                vs_features_free(qf);
                bad++;
                continue;
            }
            /* The similarity network splits each pair over all threads when it gets fewer
             * targets than threads, which rounds differently. The exhaustive search scores
             * all N at once, so score the candidates the same way as it: one thread per
             * pair (a one-thread state) unless the exhaustive search would split too. */
            vs_simmodel_state *fst = nc < c.threads && c.n >= c.threads ? c.st1 : c.st;
            /* --segments with visil_f, symmetric: as the exhaustive search, one pass */
            const int fused = o->segments && sym && !strcmp(model, "visil_f");
            if (nc > 0 && !(qx = index_features_st(c.st, qf))) {
                fprintf(stderr, "vidsim search: %s: %s\n", q, vs_last_error());
                vs_features_free(qf);
                bad++;
                continue;
            }
            if (fused && nc > 0) {
                for (long k = 0; k < nc; k++)
                    lv[k] = (vs_loc_video){targets[k].x, targets[k].T, c.times[cand[k]], c.fps[cand[k]],
                                           c.dur[cand[k]]};
                vs_loc_video fq = loc_video(qx, qf);
                if (fused_search(qname, c.st, c.m, &fq, lv, nc, c.R, c.D, sims, segs, nsegs)) {
                    free(qx);
                    vs_features_free(qf);
                    bad++;
                    continue;
                }
            } else if (nc > 0 && vs_simmodel_similarity(fst, sims, qx, qf->T, targets, (int)nc, c.R, c.D) != VS_OK) {
                fprintf(stderr, "vidsim search: %s: %s\n", q, vs_last_error());
                free(qx);
                vs_features_free(qf);
                bad++;
                continue;
            }
            if (sym && nc > 0 && !fused) {
                vs_simvideo qv = {qx, qf->T};
                for (long k = 0; k < nc; k++) {
                    float r;
                    if (vs_simmodel_similarity(c.st, &r, targets[k].x, targets[k].T, &qv, 1, c.R, c.D) != VS_OK) {
                        fprintf(stderr, "vidsim search: %s: %s\n", q, vs_last_error());
                        bad++;
                        r = sims[k];
                    }
                    sims[k] = 0.5f * (sims[k] + r);
                }
            }
            t_rerank += cli_now() - t1;
            /* only the re-ranked candidates that are listed get localised */
            long nk = 0;
            for (long k = 0; k < nc; k++)
                if (sims[k] >= thr) hits[nk++] = (hit){cand[k], sims[k], k};
            qsort(hits, nk, sizeof *hits, cmp_hit);
            if (top > 0 && nk > top) nk = top;
            double t2 = cli_now();
            vs_loc_video qv = loc_video(qx, qf);
            for (long k = 0; k < nk; k++) {
                long row = hits[k].row;
                const char *rname = c.es->v[row].name;
                if (!o->segments) {
                    print_row(jsonl, qname, rname, hits[k].score);
                    continue;
                }
                vs_loc_video rv = {c.xs[row], c.T[row], c.times[row], c.fps[row], c.dur[row]};
                if (fused)
                    print_segs(jsonl, qname, rname, segs[hits[k].k], nsegs[hits[k].k], &qv, &rv, hits[k].score);
                else if (print_pair_segments(jsonl, c.st, qname, rname, &qv, &rv, c.R, c.D, sym, hits[k].score))
                    bad++;
            }
            if (fused) free_segs(segs, nc);
            t_loc += cli_now() - t2;
            free(qx);
            vs_features_free(qf);
            n_q++;
            continue;
        }
        vs_features_free(qf);
        n_q++;
        long nk = 0;
        for (long k = 0; k < nc; k++)
            if (sims[k] >= thr) hits[nk++] = (hit){cand[k], sims[k], k};
        qsort(hits, nk, sizeof *hits, cmp_hit);
        if (top > 0 && nk > top) nk = top;
        for (long k = 0; k < nk; k++) print_row(jsonl, qname, c.es->v[hits[k].row].name, hits[k].score);
    }
    if (o->timing && n_q)
        fprintf(stderr, "two-stage: %ld queries, %ld codes of %d bits (%s, kernel %s): hash stage %.3f ms/query, "
                        "re-rank of %ld candidates %.1f ms/query, localisation %.1f ms/query\n",
                n_q, N, c.h.bits, c.h.id, vs_hamming_kernel_name(), 1e3 * t_hash / n_q, o->hash_only ? 0 : K,
                1e3 * t_rerank / n_q, 1e3 * t_loc / n_q);
    rc = bad ? 1 : 0;
    if (skip_report(&c.skipped, "search", c.idx, jsonl, allow_partial)) rc = 1;
out:
    free(hh);
    free(hits);
    free(sims);
    free(targets);
    free(cand);
    free(lv);
    free(segs);
    free(nsegs);
    vs_extract_state_free(est);
    vs_extractor_free(ex);
    ts_free(&c);
    return rc;
}

typedef struct { long a, b; float score; } pair;

static int cmp_pair(const void *x, const void *y) {
    const pair *p = x, *q = y;
    if (p->score != q->score) return p->score < q->score ? 1 : -1;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

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
    const int allow_partial = take_flag(&argc, argv, "--allow-partial");
    int prc = parse_common(argc, argv, "dedup", &dir, NULL, &thr, &format, &model, NULL, &threads, NULL, NULL);
    if (prc) return prc;
    int jsonl = !strcmp(format, "jsonl"), rc = 1;
    corpus c;
    float *sim = NULL;
    pair *pairs = NULL;
    if (corpus_open(&c, "dedup", dir, model, threads)) goto out;
    long n = c.n_ok;
    sim = calloc((size_t)n * n + 1, sizeof *sim);
    pairs = calloc((size_t)n * (n > 1 ? n - 1 : 1) / 2 + 1, sizeof *pairs);
    if (!sim || !pairs) {
        fprintf(stderr, "vidsim dedup: out of memory for %ld videos\n", n);
        goto out;
    }
    for (long i = 0; i < n; i++)
        if (vs_simmodel_similarity(c.st, sim + i * n, c.targets[i].x, c.targets[i].T, c.targets, (int)n, c.R,
                                   c.D) != VS_OK) {
            fprintf(stderr, "vidsim dedup: %s\n", vs_last_error());
            goto out;
        }
    long np = 0;
    for (long i = 0; i < n; i++)
        for (long j = i + 1; j < n; j++) {
            float s = 0.5f * (sim[i * n + j] + sim[j * n + i]);
            if (s >= thr) pairs[np++] = (pair){i, j, s};
        }
    qsort(pairs, np, sizeof *pairs, cmp_pair);
    if (!jsonl) puts("query_id,ref_id,score");
    for (long k = 0; k < np; k++)
        print_row(jsonl, c.es->v[c.target_row[pairs[k].a]].name, c.es->v[c.target_row[pairs[k].b]].name,
                  pairs[k].score);
    rc = skip_report(&c.skipped, "dedup", c.idx, jsonl, allow_partial);
out:
    free(sim);
    free(pairs);
    corpus_free(&c);
    return fflush(stdout) ? 1 : rc;
}
