/*
 * bench_synth_features.c - writes a synthetic feature file (.vsf) of T frames with the
 * model id, R and D of a real one, for the resource-bound runs (bench/resource_bounds.sh:
 * a 100k-frame query, two one-hour videos in `compare`) without decoding hours of video.
 * Region vectors are deterministic pseudo-random unit vectors (seed from the command
 * line), one per region and frame, at 1 frame per second. Public API only.
 *
 *   bench_synth_features OUT.vsf T LIKE.vsf [SEED]
 */
#include "vidsim/vidsim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s OUT.vsf T LIKE.vsf [SEED]\n", argv[0]);
        return 2;
    }
    long T = atol(argv[2]);
    unsigned long long z = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    vs_features *like = NULL;
    if (T < 1 || T > 10000000 || vs_features_load_header(&like, argv[3]) != VS_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], T < 1 || T > 10000000 ? "T must be 1..1e7" : vs_last_error());
        return 1;
    }
    vs_features f;
    memset(&f, 0, sizeof f);
    f.T = (int)T;
    f.R = like->R;
    f.D = like->D;
    f.fps = 1;
    f.duration = (double)T;
    memcpy(f.model_id, like->model_id, sizeof f.model_id);
    f.source = argv[1];
    size_t n = (size_t)T * (size_t)f.R;
    f.data = malloc(sizeof(float) * n * (size_t)f.D);
    f.times = malloc(sizeof(float) * (size_t)T);
    if (!f.data || !f.times) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        float *v = f.data + i * (size_t)f.D;
        double s = 0;
        for (int d = 0; d < f.D; d++) {
            z = z * 6364136223846793005ull + 1442695040888963407ull;
            v[d] = (float)((z >> 33) % 2001) / 1000.0f - 1.0f;
            s += (double)v[d] * v[d];
        }
        float k = (float)(1.0 / sqrt(s > 0 ? s : 1));
        for (int d = 0; d < f.D; d++) v[d] *= k;
    }
    for (long t = 0; t < T; t++) f.times[t] = (float)t;
    vs_status st = vs_features_save(&f, argv[1]);
    if (st != VS_OK) fprintf(stderr, "%s: %s\n", argv[0], vs_last_error());
    free(f.data);
    free(f.times);
    vs_features_free(like);
    return st == VS_OK ? 0 : 1;
}
