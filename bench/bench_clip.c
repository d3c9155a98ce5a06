/*
 * bench_clip.c - 3D-CSL-F speed and storage against the ViSiL_f baseline, measured in the
 * same run on the same random videos (T = U = 60 frames at 1 fps, R = 9, D = 256 by
 * default; single thread, OpenBLAS set to 1 thread):
 *   - clip similarity pairs/s: vs_clip_similarity (top-3 Chamfer) of one query's clip
 *     vectors against many targets' (both directions, as `vidsim search` scores), versus
 *     ViSiL_f pairs/s (vs_simmodel_similarity with the builtin baseline, both directions);
 *   - encoding: clips/s and seconds of video per second of vs_clipmodel_encode;
 *   - storage per video: clip vectors (float32) versus region features (float32).
 * Best of N repetitions in CPU time of the process (the machine is shared). Prints one
 * machine-readable line `bench_clip ...`; never asserts.
 *
 *   bench_clip [--model FILE] [--T 60] [--targets 200] [--reps 5]
 */
#include "vidsim/clipmodel.h"
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
    const char *model = NULL;
    int T = 60, n_t = 200, reps = 5, R = 9, D = 256;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--T")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--targets")) n_t = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
    }
    vs_blas_set_threads(1);
    vs_clipmodel *m = NULL;
    vs_status st = model ? vs_clipmodel_load(&m, model) : vs_clipmodel_create(&m, NULL, 1);
    if (st != VS_OK) {
        fprintf(stderr, "%s\n", vs_last_error());
        return 1;
    }
    int d = vs_clipmodel_dim(m), nc = vs_clipmodel_n_clips(m, T);
    float *q = rand_video(T, R, D);
    float **tx = malloc(sizeof(float *) * (size_t)n_t);
    float **tv = malloc(sizeof(float *) * (size_t)n_t);
    float *qv = malloc(sizeof(float) * (size_t)nc * d);
    for (int i = 0; i < n_t; i++) {
        tx[i] = rand_video(T, R, D);
        tv[i] = malloc(sizeof(float) * (size_t)nc * d);
    }
    /* encoding */
    double best_enc = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        for (int i = 0; i < 10; i++) vs_clipmodel_encode(m, tv[i % n_t], tx[i % n_t], T, R, D);
        double t = (cpu_now() - t0) / 10;
        if (t < best_enc) best_enc = t;
    }
    for (int i = 0; i < n_t; i++) vs_clipmodel_encode(m, tv[i], tx[i], T, R, D);
    vs_clipmodel_encode(m, qv, q, T, R, D);
    /* clip similarity, both directions */
    volatile float sink = 0;
    double best_clip = 1e30;
    int rounds = 50;
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        for (int k = 0; k < rounds; k++)
            for (int i = 0; i < n_t; i++)
                sink += 0.5f * (vs_clip_similarity(qv, nc, tv[i], nc, d, VS_CLIP_TOPK) +
                                vs_clip_similarity(tv[i], nc, qv, nc, d, VS_CLIP_TOPK));
        double t = (cpu_now() - t0) / ((double)rounds * n_t);
        if (t < best_clip) best_clip = t;
    }
    /* ViSiL_f baseline, both directions */
    vs_simmodel *sm;
    vs_simmodel_state *ss;
    if (vs_simmodel_builtin(&sm, "visil_f") != VS_OK || vs_simmodel_state_create(&ss, sm, NULL) != VS_OK) {
        fprintf(stderr, "%s\n", vs_last_error());
        return 1;
    }
    vs_simvideo *targets = malloc(sizeof *targets * (size_t)n_t);
    float *sims = malloc(sizeof(float) * (size_t)n_t);
    for (int i = 0; i < n_t; i++) targets[i] = (vs_simvideo){tx[i], T, NULL};
    vs_simvideo qvid = {q, T, NULL};
    double best_visil = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        vs_simmodel_similarity(ss, sims, q, T, targets, n_t, R, D);
        for (int i = 0; i < n_t; i++) {
            float s;
            vs_simmodel_similarity(ss, &s, tx[i], T, &qvid, 1, R, D);
            sink += s + sims[i];
        }
        double t = (cpu_now() - t0) / n_t;
        if (t < best_visil) best_visil = t;
    }
    long bytes_clip = (long)nc * d * 4, bytes_feat = (long)T * R * D * 4;
    fprintf(stderr, "T=%d s at 1 fps: %d clips of %d dims\n", T, nc, d);
    fprintf(stderr, "clip similarity: %.0f pairs/s; ViSiL_f: %.0f pairs/s (x%.0f)\n", 1 / best_clip,
            1 / best_visil, best_visil / best_clip);
    fprintf(stderr, "encoding: %.1f clips/s = %.0f s of video per s\n", nc / best_enc, T / best_enc);
    fprintf(stderr, "storage per video: %ld B of clip vectors vs %ld B of region features (x%.0f)\n",
            bytes_clip, bytes_feat, (double)bytes_feat / bytes_clip);
    printf("bench_clip T=%d clips=%d d=%d threads=1 clip_pairs_per_s=%.1f visil_f_pairs_per_s=%.1f "
           "speedup=%.1f encode_clips_per_s=%.1f encode_video_s_per_s=%.1f bytes_clip=%ld bytes_features=%ld\n",
           T, nc, d, 1 / best_clip, 1 / best_visil, best_visil / best_clip, nc / best_enc, T / best_enc,
           bytes_clip, bytes_feat);
    (void)sink;
    for (int i = 0; i < n_t; i++) free(tx[i]), free(tv[i]);
    free(tx), free(tv), free(qv), free(q), free(targets), free(sims);
    vs_simmodel_state_free(ss);
    vs_simmodel_free(sm);
    vs_clipmodel_free(m);
    return 0;
}
