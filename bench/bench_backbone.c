/*
 * bench_backbone.c - frames/s of the backbone forward pass (InceptionV3->mixed5 at 299
 * and 224, MobileNetV2->block_10 at 224; 1 and 2 threads) on fixed synthetic frames,
 * with the achieved conv GFLOP/s put against a cblas_sgemm baseline measured in the
 * same run: the same GEMM shapes (M = batch*OH*OW, N = Cout, K = KH*KW*Cin, one call
 * per conv, whole M, OpenBLAS threads = n_threads) on pre-made operands, i.e. the
 * ceiling for an im2col+GEMM design. Best of N repetitions. Never asserts.
 *
 *   build-backbone/bench/bench_backbone [models_dir] [reps] [batch]
 *   (VS_BENCH_ENGINE=openblas|onednn runs one conv engine only; default both;
 *    VS_BENCH_PRECISION=fp32,int8,bf16 the oneDNN number formats, default all three;
 *    VS_BENCH_MODELS=inception_v3,mobilenet_v2 / VS_BENCH_THREADS=1,2 to narrow;
 *    VS_BENCH_MAX_BATCH=M: a state for M frames running `batch` < M of them, the
 *    partial batches of extraction (the median clip has ~16 sampled frames);
 *    VS_BENCH_FUSE=0: no fused conversions in int8/bf16 (dnnl.c), for A/B runs;
 *    VS_BENCH_NO_SGEMM=1: skip the sgemm baseline, share=0;
 *    VS_BENCH_INPROC=1: in-process A/B of the fused conversions and the partial-batch
 *    primitives, see inproc() - lines bench_backbone_inproc ... variant=old|fused|partial|both)
 * cpu_ms_per_frame: process CPU time (all threads) of the timed forwards per frame, the
 * steadier measure on a loaded machine; create_s: the state's creation.
 *
 * Prints one line per configuration:
 *   bench_backbone model=inception_v3 size=299 threads=1 batch=8 engine=onednn
 *     precision=int8 isa=avx512_core_amx fps=.. conv_gflop_per_frame=.. gflops=..
 *     sgemm_gflops=.. share=..
 * The formats of one configuration run back to back (fp32, int8, bf16), so their fps
 * ratios come from the same minute of a shared machine. INT8 uses the bundled
 * calibration models/calib_NAME.vstf when present, else one recorded on the benchmark's
 * own synthetic frames (calib=synthetic; same speed, the values do not matter here).
 */
#include "bench.h" /* bb_internal.h: also vs__bb_dnnl_set_fusion / _set_partial (A/B switches) */

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { long M; int N, K; } gshape;

/* CPU seconds of the whole process (every thread, OpenMP's included). */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* GEMM shapes of every conv of bb at input S, batch n. Returns the count. */
static int shapes_of(gshape *sh, double *flops, const vs_backbone *bb, int S, int n) {
    bb_geom *g = calloc(bb->n_nodes, sizeof *g);
    int k = 0;
    *flops = 0;
    if (!g || vs__bb_infer(g, bb, S) != VS_OK) {
        free(g);
        return 0;
    }
    for (int i = 0; i < bb->n_nodes; i++) {
        const bb_node *nd = &bb->nodes[i];
        if (nd->op != BB_CONV) continue;
        sh[k].M = (long)n * g[i].h * g[i].w;
        sh[k].N = nd->cout;
        sh[k].K = nd->kh * nd->kw * nd->cin;
        *flops += 2.0 * sh[k].M * sh[k].N * sh[k].K;
        k++;
    }
    free(g);
    return k;
}

/* Best time of `reps` runs of all shapes with OpenBLAS on `threads` threads. */
static double time_sgemm(const gshape *sh, int ns, int threads, int reps) {
    size_t amax = 0, bmax = 0, cmax = 0;
    for (int i = 0; i < ns; i++) {
        if ((size_t)sh[i].M * sh[i].K > amax) amax = (size_t)sh[i].M * sh[i].K;
        if ((size_t)sh[i].K * sh[i].N > bmax) bmax = (size_t)sh[i].K * sh[i].N;
        if ((size_t)sh[i].M * sh[i].N > cmax) cmax = (size_t)sh[i].M * sh[i].N;
    }
    float *A = malloc(amax * 4), *B = malloc(bmax * 4), *C = malloc(cmax * 4);
    for (size_t i = 0; i < amax; i++) A[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    for (size_t i = 0; i < bmax; i++) B[i] = (float)((i * 104729) % 1000) / 1000.f - 0.5f;
    vs_blas_set_threads(threads);
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        double t0 = bench_now();
        for (int i = 0; i < ns; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)sh[i].M, sh[i].N,
                        sh[i].K, 1.f, A, sh[i].K, B, sh[i].N, 0.f, C, sh[i].N);
        double t = bench_now() - t0;
        if (r > 0 && t < best) best = t; /* r = 0 warms up */
    }
    vs_blas_set_threads(1);
    free(A);
    free(B);
    free(C);
    return best;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* VS_BENCH_INPROC=1: one process, four states of the same configuration - neither
 * fused conversions nor partial-batch primitives (the old path), each alone, both
 * (partial-batch primitives forced, also with one thread where the library leaves them
 * out) - run round-robin forward by forward (the order rotating each round), so
 * every variant sees the same minute of a shared machine. Median CPU ms and wall ms per
 * frame over `reps` rounds, and each variant's CPU ratio old/variant. */
static void inproc(const vs_backbone *bb, vs_backbone_params p, const uint8_t *rgb, int batch, int reps,
                   const char *calsrc) {
    static const char *NAME[4] = {"old", "fused", "partial", "both"};
    vs_backbone_state *st[4] = {NULL, NULL, NULL, NULL};
    for (int v = 0; v < 4; v++) {
        vs__bb_dnnl_set_fusion(v & 1);
        vs__bb_dnnl_set_partial(v >> 1 ? 2 : 0); /* 2: also with one thread */
        if (vs_backbone_state_create(&st[v], bb, &p) != VS_OK)
            printf("bench_backbone inproc variant=%s error=\"%s\"\n", NAME[v], vs_last_error());
    }
    vs__bb_dnnl_set_fusion(1);
    vs__bb_dnnl_set_partial(1);
    double *cpu = calloc(4 * (size_t)reps, sizeof(double)), *wall = calloc(4 * (size_t)reps, sizeof(double));
    for (int v = 0; v < 4; v++)
        if (st[v]) vs_backbone_forward(st[v], rgb, batch); /* warm up */
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < 4; k++) {
            int v = (k + r) % 4;
            if (!st[v]) continue;
            double t0 = bench_now(), c0 = cpu_now();
            vs_backbone_forward(st[v], rgb, batch);
            cpu[v * reps + r] = 1e3 * (cpu_now() - c0) / batch;
            wall[v * reps + r] = 1e3 * (bench_now() - t0) / batch;
        }
    double mc[4], mw[4];
    for (int v = 0; v < 4; v++) {
        mc[v] = median(cpu + v * reps, reps);
        mw[v] = median(wall + v * reps, reps);
    }
    for (int v = 0; v < 4; v++)
        if (st[v])
            printf("bench_backbone_inproc model=%s size=%d threads=%d batch=%d max_batch=%d precision=%s calib=%s "
                   "variant=%s rounds=%d cpu_ms_per_frame=%.2f wall_ms_per_frame=%.2f cpu_old_over_variant=%.3f "
                   "wall_old_over_variant=%.3f\n",
                   vs_backbone_name(bb), p.input_size, p.n_threads, batch, p.max_batch, vs_precision_name(p.precision),
                   calsrc, NAME[v], reps, mc[v], mw[v], mc[0] / mc[v], mw[0] / mw[v]);
    fflush(stdout);
    for (int v = 0; v < 4; v++) vs_backbone_state_free(st[v]);
    free(cpu);
    free(wall);
}

static void bench(const char *dir, const char *file, int S, int threads, int reps, int batch,
                  int engine, int prec) {
    char path[1024], cpath[1100];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    vs_backbone *bb = NULL;
    if (vs_backbone_load(&bb, path) != VS_OK) {
        printf("bench_backbone file=%s error=\"%s\"\n", path, vs_last_error());
        return;
    }
    size_t n = (size_t)batch * S * S * 3;
    uint8_t *rgb = malloc(n);
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) { /* smooth-ish synthetic frames */
        s = s * 1664525u + 1013904223u;
        rgb[i] = (uint8_t)(((i / 3) % S + (i / 3 / S) % S + (s >> 28)) & 255);
    }
    vs_backbone_calib *cal = NULL;
    const char *calsrc = "-";
    vs_backbone_params p = vs_backbone_default_params();
    p.input_size = S;
    p.max_batch = batch;
    p.n_threads = threads;
    const int maxb = getenv("VS_BENCH_MAX_BATCH") ? atoi(getenv("VS_BENCH_MAX_BATCH")) : batch;
    const int fuse = !getenv("VS_BENCH_FUSE") || atoi(getenv("VS_BENCH_FUSE")) != 0;
    if (prec == VS_PRECISION_INT8) {
        snprintf(cpath, sizeof cpath, "%s/calib_%s", dir, file);
        calsrc = "bundled";
        if (vs_backbone_calib_load(&cal, bb, cpath) != VS_OK) { /* record one on rgb */
            vs_backbone_state *cs = NULL;
            calsrc = "synthetic";
            if (vs_backbone_state_create(&cs, bb, &p) != VS_OK || vs_backbone_calib_create(&cal, bb) != VS_OK ||
                vs_backbone_calib_forward(cal, cs, rgb, batch) != VS_OK || vs_backbone_calib_finish(cal, 100) != VS_OK)
                printf("bench_backbone file=%s calibration error=\"%s\"\n", path, vs_last_error());
            vs_backbone_state_free(cs);
        }
    }
    p.engine = engine;
    p.precision = prec;
    p.calib = cal;
    p.max_batch = maxb > batch ? maxb : batch;
    if (getenv("VS_BENCH_INPROC") && engine == VS_BACKBONE_ENGINE_DNNL) {
        inproc(bb, p, rgb, batch, reps, calsrc);
        free(rgb);
        vs_backbone_calib_free(cal);
        vs_backbone_free(bb);
        return;
    }
    vs__bb_dnnl_set_fusion(fuse);
    vs_backbone_state *st = NULL;
    double tc = bench_now();
    vs_status cs = vs_backbone_state_create(&st, bb, &p);
    tc = bench_now() - tc;
    vs__bb_dnnl_set_fusion(1);
    if (cs != VS_OK) {
        printf("bench_backbone file=%s engine=%s precision=%s error=\"%s\"\n", path,
               engine == VS_BACKBONE_ENGINE_DNNL ? "onednn" : "openblas", vs_precision_name(prec),
               vs_last_error());
        vs_backbone_calib_free(cal);
        vs_backbone_free(bb);
        free(rgb);
        return;
    }
    double best = 1e30, cpu = 0;
    for (int r = 0; r < reps + 1; r++) {
        double t0 = bench_now(), c0 = cpu_now();
        vs_backbone_forward(st, rgb, batch);
        double t = bench_now() - t0;
        if (r > 0) cpu += cpu_now() - c0;
        if (r > 0 && t < best) best = t;
    }
    gshape sh[256];
    double flops;
    int ns = shapes_of(sh, &flops, bb, S, batch);
    double tg = getenv("VS_BENCH_NO_SGEMM") ? 0 : time_sgemm(sh, ns, threads, reps);
    double gf = flops / best / 1e9, gs = tg > 0 ? flops / tg / 1e9 : 0;
    printf("bench_backbone model=%s size=%d threads=%d batch=%d max_batch=%d fuse=%d engine=%s precision=%s isa=%s "
           "calib=%s fps=%.2f ms_per_frame=%.2f conv_gflop_per_frame=%.3f gflops=%.1f "
           "sgemm_gflops=%.1f share=%.2f create_s=%.2f cpu_ms_per_frame=%.2f\n",
           vs_backbone_name(bb), S, threads, batch, p.max_batch, fuse,
           engine == VS_BACKBONE_ENGINE_DNNL ? "onednn" : "openblas", vs_precision_name(prec),
           engine == VS_BACKBONE_ENGINE_DNNL ? vs_backbone_isa() : "-", calsrc, batch / best,
           1e3 * best / batch,
           flops / batch / 1e9, gf, gs, gs > 0 ? gf / gs : 0, tc, 1e3 * cpu / reps / batch);
    fflush(stdout);
    free(rgb);
    vs_backbone_state_free(st);
    vs_backbone_calib_free(cal);
    vs_backbone_free(bb);
}

/* 1 if name is in the comma-separated list (NULL list: everything). */
static int listed(const char *list, const char *name) {
    if (!list) return 1;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : (getenv("VS_MODELS") ? getenv("VS_MODELS") : "models");
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    int batch = argc > 3 ? atoi(argv[3]) : 8;
    if (reps < 1) reps = 1;
    if (batch < 1) batch = 1;
    const char *only = getenv("VS_BENCH_ENGINE"); /* "openblas" or "onednn": just that one */
    const char *precs = getenv("VS_BENCH_PRECISION"), *models = getenv("VS_BENCH_MODELS");
    const char *threads = getenv("VS_BENCH_THREADS");
    static const struct { const char *model, *file; int size; } CFG[3] = {
        {"inception_v3", "inception_v3.vstf", 299},
        {"inception_v3", "inception_v3.vstf", 224},
        {"mobilenet_v2", "mobilenet_v2.vstf", 224}};
    for (int t = 1; t <= 2; t++) {
        char tn[8];
        snprintf(tn, sizeof tn, "%d", t);
        if (!listed(threads, tn)) continue;
        for (int e = VS_BACKBONE_ENGINE_BLAS; e <= VS_BACKBONE_ENGINE_DNNL; e++) {
            if (only && strcmp(only, e == VS_BACKBONE_ENGINE_DNNL ? "onednn" : "openblas") != 0)
                continue;
            for (int c = 0; c < 3; c++) {
                if (!listed(models, CFG[c].model)) continue;
                for (int pr = 0; pr < (e == VS_BACKBONE_ENGINE_DNNL ? 3 : 1); pr++)
                    if (listed(precs, vs_precision_name(pr)) || (pr == 0 && e != VS_BACKBONE_ENGINE_DNNL))
                        bench(dir, CFG[c].file, CFG[c].size, t, reps, batch, e, pr);
            }
        }
    }
    return 0;
}
