/*
 * cmd_pca.c - `vidsim pca`: learn the PCA-whitening of region vectors from a
 * collection, either by extracting raw region vectors from videos (--videos) or
 * from raw feature files made with `vidsim extract --raw` (--features), in parallel
 * through vs_pca_acc_add_files.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "vidsim/batch.h"
#include "vidsim/features.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    cli_list files;
    int n_ok;
    cli_progress prog;
} pca_jobs;

/* A finished file, or a worker that could not start (vs_pca_acc_add_files calls
 * this one at a time). */
static void on_item(const vs_batch_item *it, void *user) {
    pca_jobs *pj = user;
    if (it->i < 0) {
        fprintf(stderr, "vidsim pca: %s\n", it->error);
        return;
    }
    if (it->status && it->dim) fprintf(stderr, "vidsim pca: %s\n", it->error);
    else if (it->status) fprintf(stderr, "vidsim pca: skipping %s\n", it->error);
    cli_progress_update(&pj->prog, it->done, it->total, cli_basename(pj->files.v[it->i]));
}

static void usage(FILE *f) {
    fprintf(f, "usage: vidsim pca (--videos DIR|FILE... | --features DIR|FILE...) -o FILE [options]\n"
               "  --dim D            whitened dimensions (default 256)\n"
               "  --eps E            eigenvalue regulariser (default 1e-7)\n"
               "  --backbone NAME    inception (default) or mobilenet\n"
               "  --layers L         comma-separated taps (default mixed0..mixed5)\n"
               "  -j N               videos in parallel (default: number of cores)\n");
}

int cmd_pca(int argc, char **argv) {
    const char *out = NULL, *backbone = "inception", *layers = NULL;
    int dim = 256, jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), mode = 0;
    double eps = 1e-7;
    char **pos = calloc(argc, sizeof(char *));
    int npos = 0;
    if (!pos) return 1;
    static const char *const valopts[] = {"-o", "--out", "--dim", "--eps", "--backbone", "--layers", "-j", NULL};
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        free(pos);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = cli_opt_arg("pca", argc, argv, &i, valopts, &v);
        if (bad) ;
        else if (!strcmp(a, "--videos")) mode = 1;
        else if (!strcmp(a, "--features")) mode = 2;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--dim")) bad = cli_parse_int("pca", "--dim", v, 1, INT_MAX, &dim);
        else if (!strcmp(a, "--eps")) bad = cli_parse_double("pca", "--eps", v, 0, HUGE_VAL, &eps);
        else if (!strcmp(a, "--backbone")) backbone = v;
        else if (!strcmp(a, "--layers")) layers = v;
        else if (!strcmp(a, "-j")) bad = cli_parse_int("pca", "-j", v, 1, INT_MAX, &jobs);
        else if (a[0] == '-' && a[1]) bad = cli_unknown_option("pca", a);
        else pos[npos++] = argv[i];
        if (bad) {
            free(pos);
            return 2;
        }
    }
    char bb[PATH_MAX];
    int bad = 0;
    if (!out) bad = cli_usage_error("pca", "-o FILE is required");
    else if (!mode) bad = cli_usage_error("pca", "--videos or --features is required");
    else if (!npos) bad = cli_usage_error("pca", "no input given after %s (folders or files)",
                                          mode == 1 ? "--videos" : "--features");
    else if (cli_backbone_files(backbone, bb, sizeof bb, NULL, 0))
        bad = cli_usage_error("pca", "--backbone must be inception or mobilenet, got '%s'", backbone);
    if (bad) {
        free(pos);
        return 2;
    }
    vs_extract_params p = vs_extract_default_params();
    p.layers = layers;
    pca_jobs pj;
    memset(&pj, 0, sizeof pj);
    vs_extractor *ex = NULL;
    if (vs_extractor_load(&ex, bb, NULL, &p) != VS_OK) {
        fprintf(stderr, "vidsim pca: %s\n", vs_last_error());
        free(pos);
        return 1;
    }
    int dim_in = vs_extractor_dim(ex);
    if (mode == 1) cli_collect_inputs(&pj.files, pos, npos);
    else cli_collect_features(&pj.files, pos, npos);
    free(pos);
    vs_pca_acc *acc = NULL;
    if (vs_pca_acc_create(&acc, dim_in) != VS_OK) {
        fprintf(stderr, "vidsim pca: %s\n", vs_last_error());
        vs_extractor_free(ex);
        cli_list_free(&pj.files);
        return 1;
    }
    cli_progress_init(&pj.prog, "videos");
    vs_batch_params bp = vs_batch_default_params();
    bp.n_jobs = jobs;
    bp.on_item = on_item;
    bp.user = &pj;
    vs_pca_acc_add_files(acc, mode == 2 ? NULL : ex, (const char *const *)pj.files.v, pj.files.n, &bp, &pj.n_ok);
    cli_progress_end(&pj.prog);
    char isz[16];
    snprintf(isz, sizeof isz, "%d", p.decode.crop);
    const char *meta[] = {"backbone", vs_extractor_backbone(ex), "layers", vs_extractor_layers(ex),
                          "input_size", isz, NULL};
    int rc = 0;
    if (vs_pca_fit_save(acc, dim, eps, meta, out) != VS_OK) {
        fprintf(stderr, "vidsim pca: %s\n", vs_last_error());
        rc = 1;
    } else {
        fprintf(stderr, "learned a %d -> %d whitening from %ld region vectors of %d videos into %s\n",
                dim_in, dim, vs_pca_acc_count(acc), pj.n_ok, out);
    }
    vs_pca_acc_free(acc);
    vs_extractor_free(ex);
    cli_list_free(&pj.files);
    return rc;
}
