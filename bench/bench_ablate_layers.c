/*
 * bench_ablate_layers.c - layer / whitening / direction ablation of the untrained
 * ViSiL_f similarity on a copy-detection benchmark, from raw feature files
 * (`vidsim extract --raw`: per-layer L2-normalised region vectors of every tap,
 * concatenated). For one configuration it selects layer blocks, re-normalises,
 * learns the PCA-whitening on the reference videos, whitens, scores every query
 * against every reference with region Chamfer then frame Chamfer, and writes
 * query_id,ref_id,score rows (score them with `vidsim eval` or score.py).
 *
 * usage: bench_ablate_layers REFS_DIR QUERIES_DIR OUT.csv --blocks 256,288,... --use 0,1,..
 *                            [--dim 256] [--sym 0|1]
 * This is an experiment driver, not a test; bench/README.md records its results.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "vidsim/features.h"

#include <cblas.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char id[256]; int T; float *x; } vid; /* x [T*9, Dsel] */

static int parse_ints(const char *s, int *v, int max) {
    int n = 0;
    while (*s && n < max) {
        v[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c) break;
        s = c + 1;
    }
    return n;
}

static int load_dir(const char *dir, vid **out, int nblocks, const int *blocks, const int *use,
                    int nuse, int *dsel) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int n = 0, cap = 0;
    vid *v = NULL;
    int off[32];
    off[0] = 0;
    for (int b = 0; b < nblocks; b++) off[b + 1] = off[b] + blocks[b];
    *dsel = 0;
    for (int u = 0; u < nuse; u++) *dsel += blocks[use[u]];
    while ((e = readdir(d))) {
        size_t L = strlen(e->d_name);
        if (L < 5 || strcmp(e->d_name + L - 4, ".vsf")) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        vs_features *f;
        if (vs_features_load(&f, p)) { fprintf(stderr, "%s\n", vs_last_error()); continue; }
        if (f->D != off[nblocks]) { fprintf(stderr, "%s: D=%d, blocks sum to %d\n", p, f->D, off[nblocks]); vs_features_free(f); continue; }
        if (n == cap) { cap = cap ? 2 * cap : 64; v = realloc(v, cap * sizeof *v); }
        vid *w = &v[n++];
        snprintf(w->id, sizeof w->id, "%s", e->d_name);
        w->id[L - 4] = 0;
        char *dot = strrchr(w->id, '.');
        if (dot) *dot = 0;
        w->T = f->T;
        long rows = (long)f->T * f->R;
        w->x = malloc(sizeof(float) * rows * *dsel);
        for (long r = 0; r < rows; r++) {
            float *o = w->x + r * *dsel;
            int k = 0;
            double ss = 0;
            for (int u = 0; u < nuse; u++)
                for (int c = off[use[u]]; c < off[use[u] + 1]; c++) {
                    o[k] = f->data[r * f->D + c];
                    ss += o[k] * o[k];
                    k++;
                }
            float inv = (float)(1 / sqrt(ss > 1e-24 ? ss : 1e-24));
            for (int c = 0; c < k; c++) o[c] *= inv;
        }
        vs_features_free(f);
    }
    closedir(d);
    *out = v;
    return n;
}

static void whiten(vid *v, int n, int din, int dout, const float *mean, const float *P) {
    for (int i = 0; i < n; i++) {
        long rows = (long)v[i].T * 9;
        float *y = malloc(sizeof(float) * rows * dout);
        float *xc = malloc(sizeof(float) * rows * din);
        for (long r = 0; r < rows; r++)
            for (int c = 0; c < din; c++) xc[r * din + c] = v[i].x[r * din + c] - mean[c];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, dout, din, 1, xc, din, P,
                    dout, 0, y, dout);
        for (long r = 0; r < rows; r++) {
            double ss = 0;
            for (int c = 0; c < dout; c++) ss += y[r * dout + c] * y[r * dout + c];
            float inv = (float)(1 / sqrt(ss > 1e-24 ? ss : 1e-24));
            for (int c = 0; c < dout; c++) y[r * dout + c] *= inv;
        }
        free(xc);
        free(v[i].x);
        v[i].x = y;
    }
}

/* ViSiL_f q->t: mean over query frames of max over target frames of
 * (mean over query regions of max over target regions of dot). */
static double chamfer(const vid *q, const vid *t, int d, float *buf) {
    int M = q->T * 9, N = t->T * 9;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, d, 1, q->x, d, t->x, d, 0, buf, N);
    double tot = 0;
    for (int i = 0; i < q->T; i++) {
        double best = -1e30;
        for (int j = 0; j < t->T; j++) {
            double s = 0;
            for (int o = 0; o < 9; o++) {
                const float *row = buf + (long)(i * 9 + o) * N + j * 9;
                float m = row[0];
                for (int p = 1; p < 9; p++) m = row[p] > m ? row[p] : m;
                s += m;
            }
            s /= 9;
            if (s > best) best = s;
        }
        tot += best;
    }
    return tot / q->T;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s REFS_DIR QUERIES_DIR OUT.csv --blocks a,b,.. --use i,j,.. [--dim D] [--sym 0|1]\n", argv[0]);
        return 2;
    }
    int blocks[32], use[32], nb = 0, nu = 0, dim = 256, sym = 1;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--blocks")) nb = parse_ints(argv[i + 1], blocks, 32);
        else if (!strcmp(argv[i], "--use")) nu = parse_ints(argv[i + 1], use, 32);
        else if (!strcmp(argv[i], "--dim")) dim = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sym")) sym = atoi(argv[i + 1]);
    }
    if (!nb || !nu) return 2;
    vid *R, *Q;
    int dsel;
    int nr = load_dir(argv[1], &R, nb, blocks, use, nu, &dsel);
    int nq = load_dir(argv[2], &Q, nb, blocks, use, nu, &dsel);
    if (nr <= 0 || nq <= 0) { fprintf(stderr, "no feature files\n"); return 1; }
    int dout = dsel;
    if (dim > 0) {
        vs_pca_acc *acc;
        vs_pca_acc_create(&acc, dsel);
        for (int i = 0; i < nr; i++) vs_pca_acc_add(acc, R[i].x, (long)R[i].T * 9);
        const char *tmp = "/tmp/ablate_pca.vstf";
        if (vs_pca_fit_save(acc, dim, 1e-7, NULL, tmp)) { fprintf(stderr, "%s\n", vs_last_error()); return 1; }
        vs_pca_acc_free(acc);
        vs__tf *tf;
        vs__tf_open(&tf, tmp);
        const float *mean = vs__tf_find(tf, "pca.mean")->data, *P = vs__tf_find(tf, "pca.proj")->data;
        whiten(R, nr, dsel, dim, mean, P);
        whiten(Q, nq, dsel, dim, mean, P);
        vs__tf_close(tf);
        dout = dim;
    }
    int maxT = 0;
    for (int i = 0; i < nr; i++) maxT = R[i].T > maxT ? R[i].T : maxT;
    for (int i = 0; i < nq; i++) maxT = Q[i].T > maxT ? Q[i].T : maxT;
    float *buf = malloc(sizeof(float) * (size_t)maxT * 9 * maxT * 9);
    FILE *o = fopen(argv[3], "w");
    fprintf(o, "query_id,ref_id,score\n");
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nr; j++) {
            double s = chamfer(&Q[i], &R[j], dout, buf);
            if (sym) s = 0.5 * (s + chamfer(&R[j], &Q[i], dout, buf));
            fprintf(o, "%s,%s,%.6f\n", Q[i].id, R[j].id, s);
        }
    fclose(o);
    fprintf(stderr, "%d queries x %d refs, D %d -> %d\n", nq, nr, dsel, dout);
    return 0;
}
