/*
 * cmd_calibrate.c - `vidsim calibrate INPUT... -o FILE`: the int8 calibration of a
 * backbone (activation ranges recorded on real frames, vs_calibrate_videos) from a
 * folder of videos, saved atomically as a small VSTF file that `extract --precision
 * int8 --calib FILE` (or, as models/calib_BACKBONE.vstf, the default) uses.
 * Parsing and printing only.
 */
#include "cli.h"
#include "vidsim/features.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: vidsim calibrate INPUT... -o FILE [options]\n"
            "  INPUT              a video file or a folder (walked recursively for video files)\n"
            "  -o, --out FILE     the calibration file to write (bundled: models/calib_inception_v3.vstf)\n"
            "  --backbone NAME    inception (default) or mobilenet\n"
            "  --frames N         frames recorded, spread over the videos (default 600)\n"
            "  --percentile P     clip each activation at this percentile of |x| (default 100: the\n"
            "                     maximum seen; measured best, docs/backbone.md)\n"
            "  --fps F            frames sampled per second (default 1)\n"
            "  --threads N        backbone threads (default 1)\n"
            "Prints one line: calibrated BACKBONE FRAMES frames from VIDEOS videos (N failed) -> FILE\n");
}

static void on_progress(double done, double total, void *user) {
    cli_progress_update(user, done, total, "");
}

int cmd_calibrate(int argc, char **argv) {
    const char *out = NULL, *backbone = "inception";
    double fps = 1.0, pct = 100;
    int frames = 600, threads = 1;
    char **pos = calloc(argc, sizeof(char *));
    int npos = 0;
    if (!pos) return 1;
    static const char *const valopts[] = {"-o", "--out", "--backbone", "--frames", "--percentile", "--fps",
                                          "--threads", NULL};
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        free(pos);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = cli_opt_arg("calibrate", argc, argv, &i, valopts, &v);
        if (bad) ;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--backbone")) backbone = v;
        else if (!strcmp(a, "--frames")) bad = cli_parse_int("calibrate", "--frames", v, 1, 1000000, &frames);
        else if (!strcmp(a, "--percentile")) {
            bad = cli_parse_double("calibrate", "--percentile", v, 0, 100, &pct);
            if (!bad && !(pct > 0)) bad = cli_usage_error("calibrate", "--percentile must be in (0, 100], got '%s'", v);
        } else if (!strcmp(a, "--fps")) bad = cli_parse_pos_double("calibrate", "--fps", v, &fps);
        else if (!strcmp(a, "--threads")) bad = cli_parse_int("calibrate", "--threads", v, 1, 64, &threads);
        else if (a[0] == '-' && a[1]) bad = cli_unknown_option("calibrate", a);
        else pos[npos++] = argv[i];
        if (bad) {
            free(pos);
            return 2;
        }
    }
    char bb[PATH_MAX];
    int bad = 0;
    if (!out) bad = cli_usage_error("calibrate", "-o FILE is required");
    else if (!npos) bad = cli_usage_error("calibrate", "no INPUT given (video files or folders)");
    else if (cli_backbone_files(backbone, bb, sizeof bb, NULL, 0))
        bad = cli_usage_error("calibrate", "--backbone must be inception or mobilenet, got '%s'", backbone);
    if (bad) {
        free(pos);
        return 2;
    }
    cli_list files;
    memset(&files, 0, sizeof files);
    cli_collect_inputs(&files, pos, npos);
    free(pos);
    vs_calibrate_params p = vs_calibrate_default_params();
    p.decode.fps = fps;
    p.max_frames = frames;
    p.percentile = pct;
    p.n_threads = threads;
    cli_progress prog;
    cli_progress_init(&prog, "videos");
    p.progress_fn = on_progress;
    p.progress_user = &prog;
    long nf = 0;
    int nfail = 0;
    vs_status s = vs_calibrate_videos(bb, (const char *const *)files.v, files.n, &p, out, &nf, &nfail);
    cli_progress_end(&prog);
    if (s) fprintf(stderr, "vidsim calibrate: %s\n", vs_last_error());
    else
        printf("calibrated %s %ld frames from %d videos (%d failed) -> %s\n", backbone, nf, files.n, nfail, out);
    int n = files.n;
    cli_list_free(&files);
    return s || n == 0 ? 1 : 0;
}
