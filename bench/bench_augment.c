/*
 * bench_augment.c - throughput of vs_aug_make_views (weak + strong 224x224 clips of
 * 32 frames from 256x341 input frames, all S2VS ops on, one thread), and of the
 * temporal-only vs_aug_make_indices. Prints one line per configuration; never asserts.
 * Usage: bench_augment [n_videos]
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "vidsim/augment.h"

static double run(vs_aug_state *st, const uint8_t *frames, int n, int H, int W, uint8_t *w, uint8_t *s,
                  int videos) {
    double t0 = bench_now();
    for (int k = 0; k < videos; k++)
        if (vs_aug_make_views(st, w, s, NULL, frames, n, H, W, 1, (uint64_t)k) != VS_OK) {
            fprintf(stderr, "error: %s\n", vs_last_error());
            return -1;
        }
    return bench_now() - t0;
}

int main(int argc, char **argv) {
    int videos = argc > 1 ? atoi(argv[1]) : 8;
    const int n = 80, H = 256, W = 341;
    uint8_t *frames = malloc((size_t)n * H * W * 3);
    for (size_t i = 0; i < (size_t)n * H * W * 3; i++) frames[i] = (uint8_t)((i * 2654435761u) >> 24);
    vs_aug_resources *res;
    if (vs_aug_resources_load(&res, NULL, 0, vs_aug_default_emoji_font()) != VS_OK) {
        fprintf(stderr, "fonts: %s\n", vs_last_error());
        return 1;
    }
    vs_aug_params p = vs_aug_default_params();
    uint8_t *w = malloc(vs_aug_clip_bytes(&p)), *s = malloc(vs_aug_clip_bytes(&p));
    struct { const char *name; double pt, pe, pb; bool global; } cfg[] = {
        {"all_ops", 0.3, 0.3, 0.5, true},
        {"no_frame_ops", 0, 0, 0, true},
        {"crop_flip_only", 0, 0, 0, false},
    };
    for (int c = 0; c < 3; c++) {
        p.p_text = cfg[c].pt;
        p.p_emoji = cfg[c].pe;
        p.p_blur = cfg[c].pb;
        p.global = cfg[c].global;
        vs_aug_state *st;
        if (vs_aug_state_create(&st, res, &p) != VS_OK) return 1;
        run(st, frames, n, H, W, w, s, 1); /* warm-up: faces, scratch */
        double t = run(st, frames, n, H, W, w, s, videos);
        printf("bench_augment %s videos=%d input=%dx%d out_frames/s=%.0f (weak+strong, 1 thread) ms/video=%.1f\n",
               cfg[c].name, videos, W, H, 64.0 * videos / t, 1e3 * t / videos);
        vs_aug_state_free(st);
    }
    double t0 = bench_now();
    vs_aug_views v;
    for (int k = 0; k < 100000; k++) vs_aug_make_indices(&v, &p, 300, 1, (uint64_t)k);
    printf("bench_augment make_indices videos/s=%.0f\n", 100000 / (bench_now() - t0));
    free(w);
    free(s);
    free(frames);
    vs_aug_resources_free(res);
    return 0;
}
