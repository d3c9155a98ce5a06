/*
 * cmd_pca.c - `vidsim pca`: learn the PCA-whitening of region vectors from a
 * collection, either by extracting raw region vectors from videos (--videos) or
 * from raw feature files made with `vidsim extract --raw` (--features).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "vidsim/features.h"

#include <limits.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    cli_list files;
    int next, done, n_ok;
    pthread_mutex_t mu;
    const vs_extractor *ex;
    vs_pca_acc *acc;
    int from_features;
    cli_progress prog;
    int dim_in;
} pca_jobs;

static void *worker(void *arg) {
    pca_jobs *pj = arg;
    vs_extract_state *st = NULL;
    if (!pj->from_features && vs_extract_state_create(&st, pj->ex) != VS_OK) {
        fprintf(stderr, "vidsim pca: %s\n", vs_last_error());
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&pj->mu);
        int i = pj->next < pj->files.n ? pj->next++ : -1;
        pthread_mutex_unlock(&pj->mu);
        if (i < 0) break;
        vs_features *f = NULL;
        vs_status s = pj->from_features ? vs_features_load(&f, pj->files.v[i])
                                        : vs_extract_video(st, pj->files.v[i], &f);
        if (!s && f->D != pj->dim_in)
            s = VS_ERR_FORMAT, fprintf(stderr, "vidsim pca: %s: D=%d, expected raw vectors of %d dims (use extract --raw)\n",
                                      pj->files.v[i], f->D, pj->dim_in);
        else if (s) fprintf(stderr, "vidsim pca: skipping %s\n", vs_last_error());
        pthread_mutex_lock(&pj->mu);
        if (!s) {
            vs_pca_acc_add(pj->acc, f->data, (long)f->T * f->R);
            pj->n_ok++;
        }
        pj->done++;
        cli_progress_update(&pj->prog, pj->done, pj->files.n, cli_basename(pj->files.v[i]));
        pthread_mutex_unlock(&pj->mu);
        vs_features_free(f);
    }
    vs_extract_state_free(st);
    return NULL;
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
    pj.ex = ex;
    pj.dim_in = vs_extractor_dim(ex);
    pj.from_features = mode == 2;
    if (mode == 1) cli_collect_inputs(&pj.files, pos, npos);
    else cli_collect_features(&pj.files, pos, npos);
    free(pos);
    if (vs_pca_acc_create(&pj.acc, pj.dim_in) != VS_OK) {
        fprintf(stderr, "vidsim pca: %s\n", vs_last_error());
        vs_extractor_free(ex);
        cli_list_free(&pj.files);
        return 1;
    }
    pthread_mutex_init(&pj.mu, NULL);
    cli_progress_init(&pj.prog, "videos");
    if (jobs > pj.files.n) jobs = pj.files.n > 0 ? pj.files.n : 1;
    pthread_t *th = calloc(jobs, sizeof(pthread_t));
    for (int k = 0; k < jobs; k++) pthread_create(&th[k], NULL, worker, &pj);
    for (int k = 0; k < jobs; k++) pthread_join(th[k], NULL);
    cli_progress_end(&pj.prog);
    free(th);
    char isz[16];
    snprintf(isz, sizeof isz, "%d", p.decode.crop);
    const char *meta[] = {"backbone", vs_extractor_backbone(ex), "layers", vs_extractor_layers(ex),
                          "input_size", isz, NULL};
    int rc = 0;
    if (vs_pca_fit_save(pj.acc, dim, eps, meta, out) != VS_OK) {
        fprintf(stderr, "vidsim pca: %s\n", vs_last_error());
        rc = 1;
    } else {
        fprintf(stderr, "learned a %d -> %d whitening from %ld region vectors of %d videos into %s\n",
                pj.dim_in, dim, vs_pca_acc_count(pj.acc), pj.n_ok, out);
    }
    vs_pca_acc_free(pj.acc);
    vs_extractor_free(ex);
    cli_list_free(&pj.files);
    pthread_mutex_destroy(&pj.mu);
    return rc;
}
