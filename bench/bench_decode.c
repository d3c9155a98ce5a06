/*
 * bench_decode.c - decoder throughput (seconds of video decoded per wall second)
 * over a folder of videos, for the configurations whose gains we claim, all in one
 * run so that the ratios compare like with like:
 *   naive      1 thread, every frame decoded and converted to RGB
 *   lazy       1 thread, only sampled frames converted (the default rule)
 *   skip       lazy + AVDISCARD_NONREF on frames that cannot be sampled
 *   gop        skip + packets dropped unsent before closed-GOP keyframes (the default)
 *   thr<N>     gop + N codec threads (frame threading); also thr<N>-noskip (neither skip)
 *   cli        (with --cli) the ffmpeg command line of the reference recipe, 1 thread
 * Usage: bench_decode [--dir DIR] [--reps R] [--threads N] [--cli] [--max-files K]
 * DIR defaults to $VS_SHARED/data/videos (../shared/data/videos). Videos are read in
 * place, never copied.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "vidsim/decode.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FILES 1024

typedef struct cfg {
    const char *name;
    int threads, skip, convert_all, cli; /* skip: 0 none, 1 non-reference frames, 2 + closed-GOP packets */
    double wall, video_s;
    long decoded, sampled, errors;
} cfg;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Decodes one file under one configuration; returns 0 on success. */
static int run_one(cfg *c, const char *path, double *dur) {
    if (c->cli) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -nostdin -loglevel quiet -threads 1 -filter_threads 1 -i '%s' -vf \"fps=1,"
                 "scale=w='2*ceil(iw*256/min(iw,ih)/2)':h='2*ceil(ih*256/min(iw,ih)/2)',"
                 "crop=224:224\" -pix_fmt rgb24 -f rawvideo -y /dev/null",
                 path);
        double t0 = now();
        int r = system(cmd);
        c->wall += now() - t0;
        c->video_s += *dur;
        return r == 0 ? 0 : -1;
    }
    vs_decode_params p = vs_decode_default_params();
    p.n_threads = c->threads;
    p.skip_nonref = c->skip >= 1;
    p.skip_closed_gop = c->skip >= 2;
    double t0 = now();
    vs_decoder *d;
    if (vs_decode_open(&d, path, &p) != VS_OK) return -1;
    vs__decode_set_convert_all(d, c->convert_all);
    const uint8_t *rgb;
    vs_status st;
    while ((st = vs_decode_next(d, &rgb, NULL)) == VS_OK && rgb) {}
    const vs_decode_info *info = vs_decode_get_info(d);
    c->wall += now() - t0;
    *dur = info->duration;
    c->video_s += info->duration;
    c->decoded += info->n_decoded;
    c->sampled += info->n_sampled;
    vs_decode_close(d);
    return st == VS_OK ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    int reps = 1, threads = 2, use_cli = 0, max_files = MAX_FILES;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-files") && i + 1 < argc) max_files = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cli")) use_cli = 1;
        else {
            fprintf(stderr, "usage: %s [--dir DIR] [--reps R] [--threads N] [--cli] [--max-files K]\n",
                    argv[0]);
            return 2;
        }
    }
    char dbuf[4096];
    if (!dir) {
        const char *sh = getenv("VS_SHARED");
        snprintf(dbuf, sizeof dbuf, "%s/data/videos", sh && *sh ? sh : "../shared");
        dir = dbuf;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        fprintf(stderr, "bench_decode: cannot open %s\n", dir);
        return 1;
    }
    char *files[MAX_FILES];
    int nf = 0;
    struct dirent *e;
    while ((e = readdir(dh)) && nf < MAX_FILES) {
        const char *x = strrchr(e->d_name, '.');
        if (e->d_name[0] == '.' || !x || !strcmp(x, ".md") || !strcmp(x, ".txt")) continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        files[nf] = malloc(n);
        if (!files[nf]) return 1;
        snprintf(files[nf], n, "%s/%s", dir, e->d_name);
        nf++;
    }
    closedir(dh);
    qsort(files, (size_t)nf, sizeof *files, cmp_str);
    if (nf > max_files) nf = max_files;

    char thr_name[32], thr_noskip[40];
    snprintf(thr_name, sizeof thr_name, "thr%d", threads);
    snprintf(thr_noskip, sizeof thr_noskip, "thr%d-noskip", threads);
    cfg cfgs[] = {
        {"naive", 1, 0, 1, 0, 0, 0, 0, 0, 0},
        {"lazy", 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {"skip", 1, 1, 0, 0, 0, 0, 0, 0, 0},
        {"gop", 1, 2, 0, 0, 0, 0, 0, 0, 0},
        {thr_noskip, threads, 0, 0, 0, 0, 0, 0, 0, 0},
        {thr_name, threads, 2, 0, 0, 0, 0, 0, 0, 0},
        {"cli", 1, 0, 0, 1, 0, 0, 0, 0, 0},
    };
    int nc = (int)(sizeof cfgs / sizeof cfgs[0]) - (use_cli ? 0 : 1);
    double *dur = calloc((size_t)nf, sizeof *dur);
    if (!dur) return 1;
    /* Warm the page cache and learn durations. */
    for (int f = 0; f < nf; f++) {
        cfg w = {"warm", 1, 1, 0, 0, 0, 0, 0, 0, 0};
        run_one(&w, files[f], &dur[f]);
    }
    /* Interleave configurations per file so that drift hits all of them alike. */
    for (int r = 0; r < reps; r++)
        for (int f = 0; f < nf; f++)
            for (int c = 0; c < nc; c++) {
                double d = dur[f];
                if (run_one(&cfgs[c], files[f], &d) != 0 && r == 0) cfgs[c].errors++;
            }
    /* One machine-readable line per configuration (bench/README.md). */
    printf("# bench_decode: %d files in %s, %d rep(s), fps=1 resize=256 crop=224\n", nf, dir, reps);
    double base = cfgs[0].video_s / cfgs[0].wall;
    for (int c = 0; c < nc; c++) {
        double sp = cfgs[c].video_s / cfgs[c].wall;
        printf("bench=decode config=%s threads=%d skip=%d convert_all=%d video_s=%.1f wall_s=%.2f "
               "x_realtime=%.1f vs_naive=%.2f decoded=%ld sampled=%ld errors=%ld\n",
               cfgs[c].name, cfgs[c].threads, cfgs[c].skip, cfgs[c].convert_all, cfgs[c].video_s,
               cfgs[c].wall, sp, sp / base, cfgs[c].decoded, cfgs[c].sampled, cfgs[c].errors);
    }
    for (int f = 0; f < nf; f++) free(files[f]);
    free(dur);
    return 0;
}
