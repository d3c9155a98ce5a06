/*
 * cmd_thumbs.c - `vidsim thumbs VIDEO --at T... -o DIR`: keyframes of a video as PNG
 * files (vs_thumbnail_png: the first frame at or after each time, upright, scaled and
 * centre-cropped to --size), for a person checking a match. Also the helper that
 * `compare --thumbs` uses to write the matched frames of each copied segment.
 * Output: CSV with header "video,t,png", one row per file written.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "vidsim/decode.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: vidsim thumbs VIDEO --at T[,T...] -o DIR [options]\n"
               "  --at T[,T...]   times in seconds (repeatable); each gives the first frame at or\n"
               "                  after T (the last frame when T is past the end)\n"
               "  -o DIR          output folder (created), files STEM_T.png (T with 3 decimals)\n"
               "  --size N        side of the square thumbnail, 16..1024 (default 256)\n"
               "prints CSV: video,t,png (one row per file written); docs/localize.md \"Keyframes\"\n");
}

int cli_write_thumb(const char *cmd, const char *video, double t, int size, const char *png_path) {
    uint8_t *png = NULL;
    size_t n = 0;
    if (vs_thumbnail_png(video, t, size, &png, &n) != VS_OK || vs_write_file_atomic(png_path, png, n) != VS_OK) {
        fprintf(stderr, "vidsim %s: %s\n", cmd, vs_last_error());
        vs_free(png);
        return 1;
    }
    vs_free(png);
    return 0;
}

int cmd_thumbs(int argc, char **argv) {
    static const char *const valopts[] = {"--at", "-o", "--size", NULL};
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        return 0;
    }
    const char *video = NULL, *out = NULL;
    int size = 256, nt = 0, cap = 0;
    double *ts = NULL;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_opt_arg("thumbs", argc, argv, &i, valopts, &v)) goto done;
        if (!strcmp(a, "--at")) {
            char *copy = strdup(v), *save = NULL;
            if (!copy) goto done;
            for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                double t;
                if (cli_parse_double("thumbs", "--at", tok, 0, 1e9, &t)) {
                    free(copy);
                    goto done;
                }
                if (nt == cap) {
                    cap = cap ? 2 * cap : 8;
                    double *g = realloc(ts, sizeof *ts * (size_t)cap);
                    if (!g) {
                        free(copy);
                        goto done;
                    }
                    ts = g;
                }
                ts[nt++] = t;
            }
            free(copy);
        } else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--size")) {
            if (cli_parse_int("thumbs", "--size", v, 16, 1024, &size)) goto done;
        } else if ((a[0] == '-' && a[1]) || video) {
            rc = cli_unknown_option("thumbs", a);
            goto done;
        } else video = a;
    }
    if (!video) {
        rc = cli_usage_error("thumbs", "needs a VIDEO");
        goto done;
    }
    if (!nt) {
        rc = cli_usage_error("thumbs", "needs at least one time (--at T)");
        goto done;
    }
    if (!out) {
        rc = cli_usage_error("thumbs", "needs an output folder (-o DIR)");
        goto done;
    }
    rc = 1;
    if (cli_mkdirs(out)) {
        fprintf(stderr, "vidsim thumbs: %s: cannot create the folder\n", out);
        goto done;
    }
    printf("video,t,png\n");
    char stem[256];
    cli_stem(video, stem, sizeof stem);
    int failed = 0;
    for (int k = 0; k < nt; k++) {
        char path[PATH_MAX + 64];
        if (snprintf(path, sizeof path, "%s/%s_%.3f.png", out, stem, ts[k]) >= (int)sizeof path) {
            fprintf(stderr, "vidsim thumbs: %s: path too long\n", out);
            failed++;
            continue;
        }
        if (cli_write_thumb("thumbs", video, ts[k], size, path)) {
            failed++;
            continue;
        }
        cli_csv_str(stdout, video);
        printf(",%.3f,", ts[k]);
        cli_csv_str(stdout, path);
        putchar('\n');
    }
    rc = failed ? 1 : 0;
done:
    free(ts);
    return rc;
}
