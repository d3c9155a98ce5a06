/*
 * cmd_search.c - `vidsim search --index DIR QUERY...` and `vidsim dedup --index DIR`:
 * score queries against every ok video of an index (or every indexed video against
 * every other) with a similarity network (default: the builtin ViSiL_f baseline),
 * printing `query_id,ref_id,score` rows best first. A QUERY is an indexed video
 * (name or path), a feature file (.vsf), or a video file, which is extracted with
 * the index's model (backbone and whitening read from the index's model id).
 * Does not build an approximate search structure: every pair is scored.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "vidsim/features.h"
#include "vidsim/index.h"
#include "vidsim/simmodel.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    memset(c, 0, sizeof *c);
}

/* Copy features through the model's indexing step (attention) into a new buffer. */
static float *index_features(corpus *c, const vs_features *f) {
    size_t n = (size_t)f->T * f->R * f->D;
    float *x = malloc(n * sizeof(float));
    if (!x) return NULL;
    if (vs_simmodel_index(c->st, x, NULL, f->data, f->T, f->R, f->D) != VS_OK) {
        free(x);
        return NULL;
    }
    return x;
}

static int corpus_open(corpus *c, const char *cmd, const char *dir, const char *model, int threads) {
    memset(c, 0, sizeof *c);
    vs_status s = vs_index_open(&c->idx, dir, VS_INDEX_READONLY);
    if (!s) s = vs_index_list(c->idx, NULL, &c->es);
    if (!s) s = !strcmp(model, "visil_f") ? vs_simmodel_builtin(&c->m, model) : vs_simmodel_load(&c->m, model);
    vs_simmodel_params p = vs_simmodel_default_params();
    p.n_threads = threads;
    if (!s) s = vs_simmodel_state_create(&c->st, c->m, &p);
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
            /* a damaged entry must not take the whole collection down: report, skip */
            fprintf(stderr, "vidsim %s: skipping %s (run `vidsim index verify --repair`)\n", cmd,
                    vs_last_error());
            c->feats[i] = NULL;
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

typedef struct { long row; float score; } hit;

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
        printf(",\"score\":%.6f}\n", score);
    } else {
        cli_csv_str(stdout, q);
        fputc(',', stdout);
        cli_csv_str(stdout, r);
        printf(",%.6f\n", score);
    }
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
               "  --pca FILE       whitening file for video queries (default: the bundled one)\n"
               "  --direction D    sym (default: mean of query->ref and ref->query, +17 uAP for\n"
               "                   visil_f on the dev benchmark, docs/features.md) or q2r (S2VS's)\n"
               "  -j N             threads (default: number of cores)\n");
}

static int parse_common(int argc, char **argv, const char *cmd, const char **dir, int *top, double *thr,
                        const char **format, const char **model, const char **pca, int *threads, char **pos,
                        int *npos) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--index") && more) *dir = argv[++i];
        else if (!strcmp(a, "--top") && more && top) *top = atoi(argv[++i]);
        else if (!strcmp(a, "--threshold") && more) *thr = atof(argv[++i]);
        else if (!strcmp(a, "--format") && more) *format = argv[++i];
        else if (!strcmp(a, "--model") && more) *model = argv[++i];
        else if (!strcmp(a, "--pca") && more && pca) *pca = argv[++i];
        else if (!strcmp(a, "-j") && more) *threads = atoi(argv[++i]);
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "vidsim %s: unknown option %s\n", cmd, a);
            return -1;
        } else if (pos) pos[(*npos)++] = argv[i];
        else {
            fprintf(stderr, "vidsim %s: unexpected argument %s\n", cmd, a);
            return -1;
        }
    }
    if (!*dir || *threads < 1 || (strcmp(*format, "csv") && strcmp(*format, "jsonl"))) return -1;
    return 0;
}

int cmd_search(int argc, char **argv) {
    const char *dir = NULL, *format = "csv", *model = "visil_f", *pca = NULL;
    int top = 10, threads = (int)sysconf(_SC_NPROCESSORS_ONLN), npos = 0, rc = 1;
    double thr = -1e30;
    int sym = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            search_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--direction") && i + 1 < argc) {
            const char *d = argv[i + 1];
            if (strcmp(d, "sym") && strcmp(d, "q2r")) {
                fprintf(stderr, "vidsim search: --direction must be sym or q2r\n");
                return 2;
            }
            sym = !strcmp(d, "sym");
            /* drop the pair so the common parser does not see it */
            for (int k = i; k + 2 <= argc; k++) argv[k] = argv[k + 2];
            argc -= 2;
            i--;
        }
    }
    char **pos = calloc(argc + 1, sizeof(char *));
    if (!pos) return 1;
    if (parse_common(argc, argv, "search", &dir, &top, &thr, &format, &model, &pca, &threads, pos, &npos) || !npos) {
        search_usage(stderr);
        free(pos);
        return 2;
    }
    int jsonl = !strcmp(format, "jsonl");
    corpus c;
    vs_extractor *ex = NULL;
    vs_extract_state *est = NULL;
    hit *hits = NULL;
    float *sims = NULL;
    if (corpus_open(&c, "search", dir, model, threads)) goto out;
    vs_index_info info;
    if (vs_index_get_info(c.idx, &info) != VS_OK) {
        fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        goto out;
    }
    hits = calloc(c.n_ok + 1, sizeof *hits);
    sims = calloc(c.n_ok + 1, sizeof *sims);
    if (!hits || !sims) goto out;
    if (!jsonl) puts("query_id,ref_id,score");
    int bad = 0, bad_seen = 0;
    for (int qi = 0; qi <= npos; qi++) {
        /* JSON Lines get an error row for a query that failed in the previous round */
        if (qi > 0 && bad > bad_seen && jsonl) error_row(pos[qi - 1], vs_last_error());
        bad_seen = bad;
        if (qi == npos) break;
        const char *q = pos[qi];
        vs_features *qf = NULL;
        vs_index_entries *qe = NULL;
        char qname[PATH_MAX];
        long self = -1;
        size_t ql = strlen(q);
        cli_stem(q, qname, sizeof qname);
        if (ql > 4 && !strcmp(q + ql - 4, ".vsf")) {
            if (vs_features_load(&qf, q) != VS_OK) {
                fprintf(stderr, "vidsim search: %s\n", vs_last_error());
                bad++;
                continue;
            }
            char tmp[PATH_MAX];
            snprintf(tmp, sizeof tmp, "%s", qname);
            cli_stem(tmp, qname, sizeof qname); /* a.mp4.vsf -> a */
        } else if (vs_index_list(c.idx, q, &qe) == VS_OK && qe->n == 1 && qe->v[0].ok) {
            if (vs_index_load_features(c.idx, &qe->v[0], &qf) != VS_OK) {
                fprintf(stderr, "vidsim search: %s\n", vs_last_error());
                bad++;
                vs_index_entries_free(qe);
                continue;
            }
            snprintf(qname, sizeof qname, "%s", qe->v[0].name);
            self = (long)qe->v[0].id;
        } else if (extract_query("search", q, info.model_id, pca, info.fps, &ex, &est, &qf)) {
            bad++;
            vs_index_entries_free(qe);
            continue;
        }
        vs_index_entries_free(qe);
        if (strcmp(qf->model_id, info.model_id) != 0 || qf->R != c.R || qf->D != c.D) {
            fprintf(stderr, "vidsim search: %s: features of model %s, the index has %s\n", q, qf->model_id,
                    info.model_id);
            vs_features_free(qf);
            bad++;
            continue;
        }
        float *qx = index_features(&c, qf);
        if (!qx || vs_simmodel_similarity(c.st, sims, qx, qf->T, c.targets, (int)c.n_ok, c.R, c.D) != VS_OK) {
            fprintf(stderr, "vidsim search: %s: %s\n", q, vs_last_error());
            free(qx);
            vs_features_free(qf);
            bad++;
            continue;
        }
        if (sym) {
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
        free(qx);
        vs_features_free(qf);
        long nh = 0;
        for (long k = 0; k < c.n_ok; k++) {
            long row = c.target_row[k];
            if ((long)c.es->v[row].id == self || sims[k] < thr) continue;
            hits[nh++] = (hit){row, sims[k]};
        }
        qsort(hits, nh, sizeof *hits, cmp_hit);
        if (top > 0 && nh > top) nh = top;
        for (long k = 0; k < nh; k++) print_row(jsonl, qname, c.es->v[hits[k].row].name, hits[k].score);
    }
    rc = bad ? 1 : 0;
out:
    free(hits);
    free(sims);
    vs_extract_state_free(est);
    vs_extractor_free(ex);
    corpus_free(&c);
    free(pos);
    return fflush(stdout) ? 1 : rc;
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
                   "  every pair of indexed videos scoring >= S (default 0.5) in both directions (the\n"
                   "  score is the mean of the two), best first: query_id,ref_id,score with query_id < ref_id\n"
                   "  in catalogue order\n");
            return 0;
        }
    if (parse_common(argc, argv, "dedup", &dir, NULL, &thr, &format, &model, NULL, &threads, NULL, NULL)) {
        fprintf(stderr, "usage: vidsim dedup --index DIR [--threshold S] [--format csv|jsonl] [--model M] [-j N]\n");
        return 2;
    }
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
    rc = 0;
out:
    free(sim);
    free(pairs);
    corpus_free(&c);
    return fflush(stdout) ? 1 : rc;
}
