/*
 * bench_simmodel.c - similarity-network throughput: pairs/s of one query against many
 * targets (T x U = 60 x 60 frames, R = 9, D = 512 by default) with a random-weight
 * ViSiL model, best of N repetitions (the machine is shared and noisy). Also times the
 * parts of one pair (f2f GEMM+reductions, comparator) and the comparator convs as
 * im2col+GEMM versus direct loops. pairs_per_cpu_s divides by process CPU time (all
 * threads), which is robust to other load on a shared machine. Prints machine-readable lines (bench_simmodel ...,
 * bench_simmodel_parts ...); never asserts.
 *
 *   bench_simmodel [--threads N] [--targets N] [--T 60] [--U 60] [--D 512] [--reps 7]
 *                  [--parts 0|1] [--bf16 0|1] [--visil-f 0|1]
 *
 * --bf16 1 runs the f2f products in bfloat16 (vs_simmodel_params.precision);
 * --visil-f 1 times the training-free ViSiL_f (f2f + Chamfer, no comparator: the
 * default search model) instead of the random-weight ViSiL.
 *
 * With --threads > 1 OpenBLAS is set to 1 thread (the library's workers split the
 * targets); with --threads 1 OpenBLAS also runs single-threaded. bench/torch_simmodel.py
 * is the PyTorch counterpart with the same arguments.
 */
#include "bench.h"
#include "vidsim/simmodel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long rng = 0x1234567ULL;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* CPU seconds of the whole process (all threads): on a loaded machine this counts the
 * work done, not the time spent waiting for a core. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *rand_video(int T, int R, int D) {
    float *x = malloc(sizeof(float) * (size_t)T * R * D);
    for (long n = 0; n < (long)T * R; n++) {
        double s = 0;
        for (int d = 0; d < D; d++) {
            x[n * D + d] = frand();
            s += (double)x[n * D + d] * x[n * D + d];
        }
        for (int d = 0; d < D; d++) x[n * D + d] /= (float)sqrt(s);
    }
    return x;
}

int main(int argc, char **argv) {
    int threads = 1, n_targets = 32, T = 60, U = 60, D = 512, R = 9, reps = 7, parts = 1, bf16 = 0, visil_f = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--threads")) threads = v;
        else if (!strcmp(argv[i], "--targets")) n_targets = v;
        else if (!strcmp(argv[i], "--T")) T = v;
        else if (!strcmp(argv[i], "--U")) U = v;
        else if (!strcmp(argv[i], "--D")) D = v;
        else if (!strcmp(argv[i], "--reps")) reps = v;
        else if (!strcmp(argv[i], "--parts")) parts = v; /* 0: skip the per-part timings */
        else if (!strcmp(argv[i], "--bf16")) bf16 = v;
        else if (!strcmp(argv[i], "--visil-f")) visil_f = v;
    }
    if (visil_f) parts = 0; /* the parts below time the comparator */
    vs_blas_set_threads(1);
    vs_simmodel *m;
    if ((visil_f ? vs_simmodel_builtin(&m, "visil_f") : vs_simmodel_create_random(&m, D, 1)) != VS_OK) {
        fprintf(stderr, "%s\n", vs_last_error());
        return 1;
    }
    vs_simmodel_params p = vs_simmodel_default_params();
    p.n_threads = threads;
    p.precision = bf16 ? VS_PRECISION_BF16 : VS_PRECISION_FP32;
    vs_simmodel_state *st;
    if (vs_simmodel_state_create(&st, m, &p) != VS_OK) {
        fprintf(stderr, "%s\n", vs_last_error());
        return 1;
    }
    float *q = rand_video(T, R, D);
    vs_simmodel_index(st, q, NULL, q, T, R, D);
    float **tv = malloc(sizeof(float *) * n_targets);
    vs_simvideo *tg = malloc(sizeof(vs_simvideo) * n_targets);
    for (int k = 0; k < n_targets; k++) {
        tv[k] = rand_video(U, R, D);
        vs_simmodel_index(st, tv[k], NULL, tv[k], U, R, D);
        tg[k] = (vs_simvideo){tv[k], U, NULL};
    }
    float *sims = malloc(sizeof(float) * n_targets);
    double best = 1e30, best_cpu = 1e30;
    vs_simmodel_similarity(st, sims, q, T, tg, n_targets, R, D); /* warm-up, grows scratch */
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now(), c0 = cpu_now();
        vs_simmodel_similarity(st, sims, q, T, tg, n_targets, R, D);
        double dt = bench_now() - t0, dc = cpu_now() - c0;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
    }
    double pairs_s = n_targets / best;

    printf("bench_simmodel model=%s precision=%s T=%d U=%d R=%d D=%d threads=%d targets=%d best_s=%.6f "
           "pairs_per_s=%.2f pairs_per_cpu_s=%.2f sim0=%.6f\n", visil_f ? "visil_f" : "random_visil",
           bf16 ? "bf16" : "fp32", T, U, R, D, threads, n_targets, best, pairs_s, n_targets / best_cpu, sims[0]);
    if (!parts) goto done;
    /* parts of one pair, single thread */
    vs_simmodel_state *s1;
    vs_simmodel_state_create(&s1, m, NULL);
    vs_simmodel_pair_out po = {0};
    vs_simmodel_pair(s1, &po, q, T, tv[0], U, R, D);
    vs__simwork *w = &s1->work[0];
    vs__simacts *a = &w->acts;
    double t_f2f = 1e30, t_cmp = 1e30, t_c2g = 1e30, t_c2d = 1e30, t_c3g = 1e30, t_c3d = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        for (int k = 0; k < 4; k++)
            vs__f2f_forward(0, a->f2f, U, w->gemm, (long)w->gemm_cap, q, T, tv[k % n_targets], U, R, D);
        double t1 = bench_now();
        for (int k = 0; k < 4; k++) vs__comparator_forward(a, w->col, &m->w);
        double t2 = bench_now();
        vs__conv2d_forward(a->conv2, w->col, a->pool1, m->w.c2_w, m->w.c2_b, 32, a->T2, a->U2, 64, 3);
        double t3 = bench_now();
        vs__conv2d_forward_direct(a->conv2, a->pool1, m->w.c2_w, m->w.c2_b, 32, a->T2, a->U2, 64, 3);
        double t4 = bench_now();
        vs__conv2d_forward(a->conv3, w->col, a->pool2, m->w.c3_w, m->w.c3_b, 64, a->T4, a->U4, 128, 3);
        double t5 = bench_now();
        vs__conv2d_forward_direct(a->conv3, a->pool2, m->w.c3_w, m->w.c3_b, 64, a->T4, a->U4, 128, 3);
        double t6 = bench_now();
        t_f2f = fmin(t_f2f, (t1 - t0) / 4);
        t_cmp = fmin(t_cmp, (t2 - t1) / 4);
        t_c2g = fmin(t_c2g, t3 - t2);
        t_c2d = fmin(t_c2d, t4 - t3);
        t_c3g = fmin(t_c3g, t5 - t4);
        t_c3d = fmin(t_c3d, t6 - t5);
    }
    fprintf(stderr, "one pair, 1 thread: f2f %.3f ms, comparator %.3f ms\n", t_f2f * 1e3, t_cmp * 1e3);
    fprintf(stderr, "conv2 [32->64, %dx%d]: im2col+GEMM %.3f ms, direct %.3f ms\n", a->T2, a->U2,
            t_c2g * 1e3, t_c2d * 1e3);
    fprintf(stderr, "conv3 [64->128, %dx%d]: im2col+GEMM %.3f ms, direct %.3f ms\n", a->T4, a->U4,
            t_c3g * 1e3, t_c3d * 1e3);
    printf("bench_simmodel_parts f2f_ms=%.3f comparator_ms=%.3f conv2_gemm_ms=%.3f conv2_direct_ms=%.3f "
           "conv3_gemm_ms=%.3f conv3_direct_ms=%.3f\n", t_f2f * 1e3, t_cmp * 1e3, t_c2g * 1e3,
           t_c2d * 1e3, t_c3g * 1e3, t_c3d * 1e3);
    vs_simmodel_state_free(s1);
done:
    for (int k = 0; k < n_targets; k++) free(tv[k]);
    free(tv); free(tg); free(sims); free(q);
    vs_simmodel_state_free(st);
    vs_simmodel_free(m);
    return 0;
}
