/*
 * search_clip.c - `vidsim search --model clip[:MODEL]`: search an index with 3D-CSL-F clip
 * vectors (clipmodel.h). Reference clip vectors come from the index's extras (kind
 * "clip", model id = vs_clipmodel_id) when stored there, else they are computed from the
 * feature files; --store writes the computed ones into the index for the next search.
 * Each query (indexed name or path, .vsf feature file, or video file extracted with the
 * index's model) is encoded and scored against every reference with the top-k Chamfer
 * similarity (k = 3), both directions averaged by default (--direction q2r: query ->
 * reference only, as 3D-CSL's code). Output as `vidsim search`: query_id,ref_id,score.
 * Not here: an approximate (FAISS / Hamming) first stage; every pair is scored.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "vidsim/clipmodel.h"
#include "vidsim/features.h"
#include "vidsim/index.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float *v;  /* [n, d] clip vectors (owned) */
    int n;
} clipset;

typedef struct { long row; float score; } chit;

static int cmp_chit(const void *a, const void *b) {
    const chit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static void usage(FILE *f) {
    fprintf(f, "usage: vidsim search --index DIR --model clip[:MODEL] QUERY... [options]\n"
               "  clip             the bundled clip model for the index's backbone (models/clip_<backbone>.vstf)\n"
               "  clip:MODEL       a model file from `vidsim train-clip`\n"
               "  clip:mean        training-free: mean of each clip's region features\n"
               "  --top K          best K matches per query (default 10; 0 = all)\n"
               "  --threshold S    only scores >= S\n"
               "  --format F       csv (default) or jsonl\n"
               "  --direction D    sym (default: mean of both directions) or q2r (3D-CSL's)\n"
               "  --pca FILE       whitening file for video queries (default: the bundled one)\n"
               "  --store          write the reference clip vectors into the index (extras, kind\n"
               "                   \"clip\") so later searches do not recompute them\n");
}

/* Encode features into a new clip set. */
static int encode(const vs_clipmodel *m, const vs_features *f, clipset *out) {
    int n = vs_clipmodel_n_clips(m, f->T), d = vs_clipmodel_dim(m);
    out->v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * d);
    out->n = n;
    if (!out->v) return -1;
    if (vs_clipmodel_encode(m, out->v, f->data, f->T, f->R, f->D) != VS_OK) {
        free(out->v);
        out->v = NULL;
        return -1;
    }
    return 0;
}

/* Features of a video file, extracted with the index's model (extractor made on first use). */
static int extract(const char *path, const char *model_id, const char *pca_arg, double fps, vs_extractor **ex,
                   vs_extract_state **st, vs_features **out) {
    if (!*ex) {
        char bbname[64], bb[PATH_MAX], pca[PATH_MAX];
        snprintf(bbname, sizeof bbname, "%s", model_id);
        char *slash = strchr(bbname, '/');
        if (slash) *slash = 0;
        if (cli_backbone_files(bbname, bb, sizeof bb, pca, sizeof pca)) {
            fprintf(stderr, "vidsim search: index model %s: unknown backbone\n", model_id);
            return 1;
        }
        if (pca_arg) snprintf(pca, sizeof pca, "%s", pca_arg);
        vs_extract_params p = vs_extract_default_params();
        p.decode.fps = fps > 0 ? fps : 1.0;
        if (vs_extractor_load(ex, bb, strstr(model_id, "/raw") ? NULL : pca, &p) != VS_OK ||
            vs_extract_state_create(st, *ex) != VS_OK) {
            fprintf(stderr, "vidsim search: %s\n", vs_last_error());
            return 1;
        }
    }
    if (vs_extract_video(*st, path, out) != VS_OK) {
        fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        return 1;
    }
    return 0;
}

static void print_row(int jsonl, const char *q, const char *r, float s) {
    if (jsonl) {
        fputs("{\"query_id\":", stdout);
        cli_json_str(stdout, q);
        fputs(",\"ref_id\":", stdout);
        cli_json_str(stdout, r);
        fputs(",\"score\":", stdout);
        cli_json_num(stdout, "%.6f", s);
        fputs("}\n", stdout);
    } else {
        cli_csv_str(stdout, q);
        fputc(',', stdout);
        cli_csv_str(stdout, r);
        printf(",%.6f\n", s);
    }
}

int cli_search_clip(int argc, char **argv) {
    const char *dir = NULL, *model = NULL, *format = "csv", *pca = NULL;
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int val = !strcmp(a, "--index") || !strcmp(a, "--model") || !strcmp(a, "--top") ||
                  !strcmp(a, "--threshold") || !strcmp(a, "--format") || !strcmp(a, "--pca") ||
                  !strcmp(a, "--direction") || !strcmp(a, "-j");
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
    vs_index_entries *es = NULL;
    vs_index_extras *ex = NULL;
    vs_clipmodel *m = NULL;
    vs_extractor *xt = NULL;
    vs_extract_state *xst = NULL;
    clipset *refs = NULL;
    chit *hits = NULL;
    vs_index_info info;
    if (vs_index_open(&idx, dir, store ? 0 : VS_INDEX_READONLY) != VS_OK || vs_index_get_info(idx, &info) != VS_OK ||
        vs_index_list(idx, NULL, &es) != VS_OK) {
        fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        goto out;
    }
    char mpath[PATH_MAX];
    if (model[4] == ':') {
        snprintf(mpath, sizeof mpath, "%s", model + 5);
    } else {
        char bbname[64], name[96];
        snprintf(bbname, sizeof bbname, "%s", info.model_id);
        char *slash = strchr(bbname, '/');
        if (slash) *slash = 0;
        snprintf(name, sizeof name, "clip_%s.vstf", bbname);
        cli_model_path(name, mpath, sizeof mpath);
    }
    if (!strcmp(model, "clip:mean")) { /* training-free builtin: needs R and D of the index */
        int R = 0, D = 0;
        for (long r = 0; r < es->n && !D; r++) {
            vs_features *f = NULL;
            if (es->v[r].ok && vs_index_load_features(idx, &es->v[r], &f) == VS_OK) R = f->R, D = f->D;
            vs_features_free(f);
        }
        if (!D || vs_clipmodel_builtin(&m, "mean", D, R) != VS_OK) {
            fprintf(stderr, "vidsim search: clip:mean: %s\n", D ? vs_last_error() : "no readable features in the index");
            goto out;
        }
    } else if (vs_clipmodel_load(&m, mpath) != VS_OK) {
        fprintf(stderr, "vidsim search: %s\n", vs_last_error());
        goto out;
    }
    const char *mid = vs_clipmodel_id(m);
    int d = vs_clipmodel_dim(m);
    long n = es->n;
    refs = calloc((size_t)n + 1, sizeof *refs);
    hits = calloc((size_t)n + 1, sizeof *hits);
    if (!refs || !hits) goto out;
    /* stored vectors first */
    if (vs_index_load_extras(idx, "clip", mid, &ex) == VS_OK) {
        for (long k = 0, r = 0; k < ex->n; k++) {
            while (r < n && es->v[r].id < ex->video_ids[k]) r++;
            if (r < n && es->v[r].id == ex->video_ids[k] && ex->v[k].dtype == VS_INDEX_F32 && ex->v[k].n_cols == d) {
                refs[r].n = (int)ex->v[k].n_rows;
                refs[r].v = malloc(sizeof(float) * (size_t)(refs[r].n ? refs[r].n : 1) * d);
                if (!refs[r].v) goto out;
                memcpy(refs[r].v, ex->v[k].data, sizeof(float) * (size_t)refs[r].n * d);
            }
        }
    } else {
        fprintf(stderr, "vidsim search: %s (computing clip vectors from features)\n", vs_last_error());
    }
    for (long r = 0; r < n; r++) {
        if (!es->v[r].ok || refs[r].v) continue;
        vs_features *f = NULL;
        if (vs_index_load_features(idx, &es->v[r], &f) != VS_OK || encode(m, f, &refs[r])) {
            fprintf(stderr, "vidsim search: skipping %s\n", vs_last_error());
            vs_features_free(f);
            continue;
        }
        vs_features_free(f);
        if (store) {
            vs_index_extra x = {VS_INDEX_F32, refs[r].n, d, refs[r].v};
            if (vs_index_put_extra(idx, es->v[r].id, "clip", mid, &x) != VS_OK) {
                fprintf(stderr, "vidsim search: --store: %s\n", vs_last_error());
                goto out;
            }
        }
    }
    if (!jsonl) puts("query_id,ref_id,score");
    int bad = 0;
    for (int qi = 0; qi < npos; qi++) {
        const char *q = pos[qi];
        vs_features *qf = NULL;
        vs_index_entries *qe = NULL;
        char qname[PATH_MAX];
        int64_t self = -1;
        size_t ql = strlen(q);
        cli_stem(q, qname, sizeof qname);
        int fail = 0;
        if (ql > 4 && !strcmp(q + ql - 4, ".vsf")) {
            if (vs_features_load(&qf, q) != VS_OK) fail = 1, fprintf(stderr, "vidsim search: %s\n", vs_last_error());
            char tmp[PATH_MAX];
            snprintf(tmp, sizeof tmp, "%s", qname);
            cli_stem(tmp, qname, sizeof qname); /* a.mp4.vsf -> a */
        } else if (vs_index_list(idx, q, &qe) == VS_OK && qe->n == 1 && qe->v[0].ok) {
            if (vs_index_load_features(idx, &qe->v[0], &qf) != VS_OK)
                fail = 1, fprintf(stderr, "vidsim search: %s\n", vs_last_error());
            snprintf(qname, sizeof qname, "%s", qe->v[0].name);
            self = qe->v[0].id;
        } else if (extract(q, info.model_id, pca, info.fps, &xt, &xst, &qf)) {
            fail = 1;
        }
        vs_index_entries_free(qe);
        clipset qs = {NULL, 0};
        if (!fail && strcmp(qf->model_id, info.model_id) != 0) {
            fprintf(stderr, "vidsim search: %s: features of model %s, the index has %s\n", q, qf->model_id,
                    info.model_id);
            fail = 1;
        }
        if (!fail && encode(m, qf, &qs)) {
            fprintf(stderr, "vidsim search: %s: %s\n", q, vs_last_error());
            fail = 1;
        }
        vs_features_free(qf);
        if (fail) {
            bad++;
            if (jsonl) {
                fputs("{\"query_id\":", stdout);
                cli_json_str(stdout, qname);
                fputs(",\"error\":", stdout);
                cli_json_str(stdout, vs_last_error()[0] ? vs_last_error() : "failed");
                fputs("}\n", stdout);
            }
            continue;
        }
        long nh = 0;
        for (long r = 0; r < n; r++) {
            if (!refs[r].v || es->v[r].id == self) continue;
            float s = vs_clip_similarity(qs.v, qs.n, refs[r].v, refs[r].n, d, VS_CLIP_TOPK);
            if (sym) s = 0.5f * (s + vs_clip_similarity(refs[r].v, refs[r].n, qs.v, qs.n, d, VS_CLIP_TOPK));
            if (s >= thr) hits[nh++] = (chit){r, s};
        }
        free(qs.v);
        qsort(hits, (size_t)nh, sizeof *hits, cmp_chit);
        if (top > 0 && nh > top) nh = top;
        for (long k = 0; k < nh; k++) print_row(jsonl, qname, es->v[hits[k].row].name, hits[k].score);
    }
    rc = bad ? 1 : 0;
out:
    if (refs)
        for (long r = 0; r < (es ? es->n : 0); r++) free(refs[r].v);
    free(refs);
    free(hits);
    vs_extract_state_free(xst);
    vs_extractor_free(xt);
    vs_clipmodel_free(m);
    vs_index_extras_free(ex);
    vs_index_entries_free(es);
    vs_index_close(idx);
    free(pos);
    return fflush(stdout) ? 1 : rc;
}
