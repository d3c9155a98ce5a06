/*
 * cmd_extract.c - `vidsim extract INPUT... -o OUTDIR`: region features of every
 * video into OUTDIR/<name>.vsf, in parallel (vs_extract_files: -j workers, each
 * with its own extraction state over one shared model), skipping inputs whose
 * feature file is up to date, with a progress line on a terminal. Exits 1 listing
 * every failure. --precision fp32|int8|bf16 runs the backbone in that number format;
 * without it, vs_backbone_default_precision: int8 for inception on a CPU with VNNI/AMX,
 * else fp32 (the same rule as a new index; `index add` to an existing index and
 * `search` follow the index's model id instead). --timing prints the per-stage
 * breakdown (vs_extract_stats of every extracted video, summed). --mirror-view on also
 * stores the features of the mirrored frames (vs_extract_params.mirror_view), the mirror
 * view `search` gives a .vsf query; off by default (references never use it, and it
 * doubles the extraction time). --inset-view on also probes each video for a
 * picture-in-picture inset and stores the probe's result and the inset's features
 * (vs_extract_params.inset_view), the inset view `search` gives a .vsf query; off by default.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "vidsim/batch.h"
#include "vidsim/features.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    cli_list files;
    char **outs;
    char **errors;
    int *skipped;
    long *frames;
    long frames_total;
    vs_extract_stats timing; /* summed over the extracted videos (--timing) */
    long n_timed;
    cli_progress prog;
} job_set;

/* One finished video (vs_extract_files calls this one at a time). */
static void on_item(const vs_batch_item *it, void *user) {
    job_set *js = user;
    js->skipped[it->i] = it->skipped;
    js->frames[it->i] = it->n_frames;
    if (it->error[0]) js->errors[it->i] = strdup(it->error);
    js->frames_total += it->n_frames;
    if (it->stats) {
        vs_extract_stats_add(&js->timing, it->stats);
        js->n_timed++;
    }
    cli_progress_update(&js->prog, it->done, it->total, cli_basename(js->files.v[it->i]));
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: vidsim extract INPUT... -o OUTDIR [options]\n"
            "  INPUT              a video file or a folder (walked recursively for video files)\n"
            "  -o, --out DIR      where the feature files go (DIR/<file name>.vsf)\n"
            "  --fps F            frames sampled per second (default 1)\n"
            "  --min-frame-std S  leave out sampled frames whose luma standard deviation is below S\n"
            "                     (0..255; default 2: black, white and one-colour frames; 0 keeps all)\n"
            "  --backbone NAME    inception (default) or mobilenet\n"
            "  --precision P      fp32, int8 or bf16: number format of the backbone's convolutions (part of\n"
            "                     the model id: features of different precisions never compare); default\n"
            "                     int8 for inception on a CPU with VNNI/AMX (`vidsim --help` says which),\n"
            "                     else fp32; fp32 for mobilenet. Match the index the features are for\n"
            "  --calib FILE       int8 calibration (default: the bundled models/calib_BACKBONE.vstf;\n"
            "                     `vidsim calibrate` makes one)\n"
            "  --pca FILE         whitening file (default: the bundled one for the backbone)\n"
            "  --layers L         comma-separated backbone taps (default: those of the whitening file)\n"
            "  --raw              write un-whitened region vectors (input of `vidsim pca --features`)\n"
            "  -j N               videos in parallel (default: number of cores)\n"
            "  --threads N        backbone threads per video (default 1)\n"
            "  --mirror-view on|off  on: also store the features of every frame mirrored left-right (the\n"
            "                     file's mirror block; the backbone runs twice, the file is twice the\n"
            "                     size): on for query features, which `vidsim search` then scores as\n"
            "                     their mirror image too, as it does a video query (the same results).\n"
            "                     off (default): for references, pca and training, which use the\n"
            "                     normal view only. With on, a file without the block is re-extracted\n"
            "  --inset-view on|off   on: also look for a picture-in-picture inset in every video and,\n"
            "                     when one is found, store the features of the inset rectangle at full\n"
            "                     resolution (the file's inset block; a second pass over such videos):\n"
            "                     on for query features, which `vidsim search` then scores as their\n"
            "                     inset view too, as it does a video query (the same results). off\n"
            "                     (default): for references, which never use it. With on, a file\n"
            "                     without the block is re-extracted\n"
            "  --force            re-extract even if the feature file is up to date\n"
            "  --timing           where the time went on stderr: decode+convert, preprocess, backbone,\n"
            "                     pool+pca, write (seconds, share) and seconds of video per wall second\n");
}

/* NAME may carry a precision suffix as in model ids ("inception-int8"): ignored here. */
int cli_backbone_files(const char *full, char *bb, size_t nbb, char *pca, size_t npca) {
    char name[64];
    snprintf(name, sizeof name, "%s", full);
    char *dash = strrchr(name, '-');
    if (dash && vs_precision_parse(dash + 1) >= 0) *dash = 0;
    const char *base = !strcmp(name, "mobilenet") || !strcmp(name, "mobilenet_v2") ? "mobilenet_v2"
                       : !strcmp(name, "inception") || !strcmp(name, "inception_v3") ? "inception_v3"
                                                                                       : NULL;
    if (!base) return -1;
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s.vstf", base);
    snprintf(n2, sizeof n2, "pca_%s.vstf", base);
    cli_model_path(n1, bb, nbb);
    if (pca) cli_model_path(n2, pca, npca);
    return 0;
}

int cmd_extract(int argc, char **argv) {
    const char *outdir = NULL, *backbone = "inception", *pca_arg = NULL, *layers = NULL, *calib = NULL;
    int precision = -1;
    double fps = 1.0, min_std = -1;
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), threads = 1, raw = 0, force = 0, timing = 0, mirror = 0,
        inset = 0;
    char **pos = calloc(argc, sizeof(char *));
    int npos = 0;
    if (!pos) return 1;
    static const char *const valopts[] = {"-o", "--out", "--fps", "--backbone", "--pca", "--layers", "-j",
                                          "--threads", "--min-frame-std", "--precision", "--calib",
                                          "--mirror-view", "--inset-view", NULL};
    if (cli_wants_help(argc, argv, valopts)) {
        usage(stdout);
        free(pos);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = cli_opt_arg("extract", argc, argv, &i, valopts, &v);
        if (bad) ;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) outdir = v;
        else if (!strcmp(a, "--fps")) bad = cli_parse_pos_double("extract", "--fps", v, &fps);
        else if (!strcmp(a, "--min-frame-std")) bad = cli_parse_double("extract", "--min-frame-std", v, 0, 255, &min_std);
        else if (!strcmp(a, "--backbone")) backbone = v;
        else if (!strcmp(a, "--pca")) pca_arg = v;
        else if (!strcmp(a, "--precision")) {
            static const char *const precs[] = {"fp32", "int8", "bf16"};
            if ((precision = cli_parse_choice("extract", "--precision", v, precs, 3)) < 0) bad = 2;
        } else if (!strcmp(a, "--calib")) calib = v;
        else if (!strcmp(a, "--mirror-view")) {
            if ((mirror = cli_parse_onoff("extract", "--mirror-view", v)) < 0) bad = 2;
        } else if (!strcmp(a, "--inset-view")) {
            if ((inset = cli_parse_onoff("extract", "--inset-view", v)) < 0) bad = 2;
        }
        else if (!strcmp(a, "--layers")) layers = v;
        else if (!strcmp(a, "--raw")) raw = 1;
        else if (!strcmp(a, "--force")) force = 1;
        else if (!strcmp(a, "--timing")) timing = 1;
        else if (!strcmp(a, "-j")) bad = cli_parse_int("extract", "-j", v, 1, INT_MAX, &jobs);
        else if (!strcmp(a, "--threads")) bad = cli_parse_int("extract", "--threads", v, 1, INT_MAX, &threads);
        else if (a[0] == '-' && a[1]) bad = cli_unknown_option("extract", a);
        else pos[npos++] = argv[i];
        if (bad) {
            free(pos);
            return 2;
        }
    }
    char bb[PATH_MAX], pca[PATH_MAX];
    int bad = 0;
    if (!outdir) bad = cli_usage_error("extract", "-o OUTDIR is required");
    else if (!npos) bad = cli_usage_error("extract", "no INPUT given (video files or folders)");
    else if (cli_backbone_files(backbone, bb, sizeof bb, pca, sizeof pca))
        bad = cli_usage_error("extract", "--backbone must be inception or mobilenet, got '%s'", backbone);
    if (bad) {
        free(pos);
        return 2;
    }
    if (pca_arg) snprintf(pca, sizeof pca, "%s", pca_arg);
    vs_extract_params p = vs_extract_default_params();
    p.decode.fps = fps;
    p.n_threads = threads;
    p.layers = layers;
    char base[64];
    snprintf(base, sizeof base, "%s", backbone);
    char *dash = strrchr(base, '-');
    if (dash && vs_precision_parse(dash + 1) >= 0) {
        if (precision < 0) precision = vs_precision_parse(dash + 1); /* "inception-int8", as in model ids */
        *dash = 0;
    }
    const int defaulted = precision < 0;
    p.precision = precision >= 0 ? precision : vs_backbone_default_precision(base);
    p.calib_path = calib;
    p.mirror_view = mirror;
    p.inset_view = inset;
    if (min_std >= 0) p.min_frame_std = (float)min_std;
    vs_extractor *ex;
    if (vs_extractor_load(&ex, bb, raw ? NULL : pca, &p) != VS_OK) {
        fprintf(stderr, "vidsim extract: %s%s\n", vs_last_error(),
                defaulted && p.precision == VS_PRECISION_INT8 && strstr(vs_last_error(), "calibration")
                    ? " (int8 is the default for inception on this CPU; --precision fp32 needs no calibration)"
                    : "");
        free(pos);
        return 1;
    }
    if (cli_mkdirs(outdir) != 0) {
        fprintf(stderr, "vidsim extract: cannot create %s\n", outdir);
        vs_extractor_free(ex);
        free(pos);
        return 1;
    }
    job_set js;
    memset(&js, 0, sizeof js);
    cli_collect_inputs(&js.files, pos, npos);
    free(pos);
    int n = js.files.n;
    js.outs = calloc(n + 1, sizeof(char *));
    js.errors = calloc(n + 1, sizeof(char *));
    js.skipped = calloc(n + 1, sizeof(int));
    js.frames = calloc(n + 1, sizeof(long));
    for (int i = 0; i < n; i++) {
        char o[PATH_MAX];
        snprintf(o, sizeof o, "%s/%s.vsf", outdir, cli_basename(js.files.v[i]));
        js.outs[i] = strdup(o);
    }
    cli_progress_init(&js.prog, "videos");
    vs_batch_params bp = vs_batch_default_params();
    bp.n_jobs = jobs;
    bp.on_item = on_item;
    bp.user = &js;
    double t0 = cli_now();
    vs_extract_files(ex, (const char *const *)js.files.v, (const char *const *)js.outs, n, force, &bp);
    double dt = cli_now() - t0;
    cli_progress_end(&js.prog);
    int nfail = 0, nskip = 0;
    for (int i = 0; i < n; i++) {
        if (js.errors[i]) nfail++;
        nskip += js.skipped[i];
    }
    fprintf(stderr, "extracted %d of %d videos (%d up to date, %d failed), %ld frames in %.1f s\n",
            n - nfail - nskip, n, nskip, nfail, js.frames_total, dt);
    if (timing) cli_print_extract_timing(stderr, "extract", &js.timing, js.n_timed, dt, n < jobs ? n : jobs);
    if (nfail) {
        fprintf(stderr, "failed:\n");
        for (int i = 0; i < n; i++)
            if (js.errors[i]) fprintf(stderr, "  %s\n", js.errors[i]);
    }
    for (int i = 0; i < n; i++) {
        free(js.outs[i]);
        free(js.errors[i]);
    }
    free(js.outs);
    free(js.errors);
    free(js.skipped);
    free(js.frames);
    cli_list_free(&js.files);
    vs_extractor_free(ex);
    return nfail || n == 0 ? 1 : 0;
}
